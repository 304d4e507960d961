# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
"""Sandboxed, limited, autoscaled workers, through a real qinling-server.

Every hostile function must be contained, and the platform healthy right
after it: a normal execution on the same runtime succeeds.
"""

from concurrent import futures
import io
import json
import os
import signal
import time
import zipfile

import pytest

from qinling.orchestrator.local import cgroup_plan
from qinling.orchestrator.local import sandbox
from tests.functional import api as api_client
from tests.functional import deployments

pytestmark = pytest.mark.skipif(sandbox.find_bwrap() is None,
                                reason="bubblewrap is not installed")

TIMEOUT_MESSAGE = "Function execution timeout."
RESOURCE_MESSAGE = ("Function execution failed because of too much "
                    "resource consumption")
MIB = 1024 * 1024
CANARY = "QINLING_TEST_CANARY_SECRET"


def _pids_cgroup_available():
    try:
        with open("/proc/self/mountinfo") as f:
            mounts = cgroup_plan.parse_mountinfo(f.read())
        with open("/proc/self/cgroup") as f:
            membership = cgroup_plan.parse_membership(f.read())
    except OSError:
        return False
    return any("pids" in h.controllers and os.access(h.parent, os.W_OK)
               for h in cgroup_plan.plan(mounts, membership))


class SandboxedServer(deployments.Deployment):
    """An all-in-one qinling-server with its own [local]/[engine] options."""

    def __init__(self, workdir, local=None, engine=None):
        super().__init__("all-in-one", workdir)
        self._local, self._engine = local or {}, engine or {}
        self.state_path = os.path.join(workdir, "state")

    def _base_config(self):
        config = super()._base_config()
        config["local"].update(self._local)
        config.setdefault("engine", {}).update(self._engine)
        return config


def _start(tmp_path_factory, name, **options):
    server = SandboxedServer(str(tmp_path_factory.mktemp(name)), **options)
    os.environ[CANARY] = "do-not-leak"
    try:
        server.start()
    finally:
        del os.environ[CANARY]
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    started = _start(tmp_path_factory, "isolated",
                     local={"pool_size": 2, "sandbox": "on",
                            "network": "none", "max_file_size": 8 * MIB})
    yield started
    started.stop()


@pytest.fixture(scope="module")
def api(server):
    return api_client.Api(server.url)


def _runtime(api, image, trusted=False):
    resp = api.post("/v1/runtimes", json={"image": image, "name": image,
                                          "trusted": trusted})
    assert resp.status_code == 201, resp.text
    runtime = api.wait_runtime(resp.json()["id"])
    assert runtime["status"] == "available", runtime
    return runtime


@pytest.fixture(scope="module")
def python3(api):
    return _runtime(api, "openstackqinling/python3-runtime")


@pytest.fixture(scope="module")
def nodejs(api):
    return _runtime(api, "openstackqinling/nodejs-runtime")


def _function(api, runtime, sample, **fields):
    return api.create_function(runtime["id"], api_client.sample_zip(sample),
                               **fields)


def _run(api, function, **kwargs):
    execution = api.execute(function["id"], input=json.dumps(kwargs))
    execution["output"] = json.loads(execution["result"])["output"]
    return execution


def _healthy(api, runtime):
    """A normal execution on the runtime succeeds."""
    hello = _function(api, runtime, "hello_world")
    execution = api.execute(hello["id"], input='{"name": "after"}')
    assert execution["status"] == "success", execution
    assert json.loads(execution["result"])["output"] == "Hello, after"


def _workers(api, function_id):
    resp = api.get("/v1/functions/%s/workers" % function_id)
    if resp.status_code in (404, 405):
        pytest.skip("the workers API is not available")
    assert resp.status_code == 200, resp.text
    return resp.json()["workers"]


def _wait(predicate, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.1)


# --- the sandbox ------------------------------------------------------------

def test_an_untrusted_runtime_runs_sandboxed_without_notice(python3):
    assert python3["trusted"] is False
    assert python3["status_reason"] is None


def test_a_function_cannot_read_the_services_files_or_other_packages(
        api, python3, server):
    other = _function(api, python3, "hello_world")
    assert api.execute(other["id"])["status"] == "success"
    worker = _workers(api, other["id"])[0]["worker_name"]
    worker_package = os.path.join(server.state_path, "workers", worker,
                                  "packages", other["id"], "main.py")
    stored = [os.path.join(root, name) for root, _, names in os.walk(
        os.path.join(server.state_path, "packages")) for name in names
        if name.startswith(other["id"])]
    paths = [server.config_file,
             os.path.join(server.state_path, "qinling.sqlite"),
             worker_package, stored[0],
             "/var/qinling/packages/%s/main.py" % other["id"],
             "/etc/shadow"]
    assert os.path.exists(worker_package) and os.path.exists(stored[0])
    snoop = _function(api, python3, "hostile_read")

    execution = _run(api, snoop, paths=paths)

    assert execution["status"] == "success", execution
    assert "read" not in execution["output"].values(), execution["output"]
    _healthy(api, python3)


def test_a_function_can_write_only_to_tmp_and_its_own_directory(api,
                                                                python3):
    writer = _function(api, python3, "hostile_write")

    execution = _run(api, writer)

    assert execution["status"] == "success", execution
    written = {path for path, outcome in execution["output"].items()
               if outcome == "written"}
    own = written - {"/tmp/fine"}
    assert "/tmp/fine" in written and len(own) == 1, execution["output"]
    assert own.pop().startswith("/tmp/qinling-exec-")
    _healthy(api, python3)


def test_upstreams_file_limit_function_hits_the_open_files_limit(api,
                                                                 python3):
    limiter = _function(api, python3, "file_limit")

    execution = _run(api, limiter, number=2000)

    assert execution["status"] == "failed"
    assert "Too many open files" in execution["output"], execution
    _healthy(api, python3)


def _descendants(pids):
    children = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/stat" % entry) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo += children.get(pid, [])
    return found - set(pids)


def _host_uid(pid):
    with open("/proc/%d/status" % pid) as f:
        return [int(line.split()[1]) for line in f
                if line.startswith("Uid:")][0]


def test_a_function_runs_as_an_unprivileged_user_inside_and_on_the_host(
        api, python3, server):
    snoop = _function(api, python3, "snoop")

    execution = _run(api, snoop)
    worker = _workers(api, snoop["id"])[0]["worker_name"]

    inside = execution["output"]["uid"]
    on_host = {_host_uid(pid) for pid in _descendants(
        _worker_processes(server, worker))}
    assert inside != 0 and 0 not in on_host, (inside, on_host)
    if os.geteuid() == 0:
        # Never root mapped into the sandbox: the runtime server and its
        # children are nobody on the host, and inside.
        assert inside == 65534 and on_host == {65534}


def test_a_function_sees_no_host_environment_processes_network_or_caps(
        api, python3, server):
    snoop = _function(api, python3, "snoop")

    execution = _run(api, snoop, port=server.port)

    found = execution["output"]
    assert execution["status"] == "success", execution
    assert CANARY not in found["environ"]
    assert set(found["environ"]) <= {
        "PATH", "LANG", "HOME", "TMPDIR", "PWD", "LC_CTYPE",
        "PYTHONDONTWRITEBYTECODE"}, found["environ"]
    assert CANARY not in found["environ_of_1"]
    assert found["uid"] != 0 and found["cap_eff"] == "0000000000000000"
    assert found["api"] == "ConnectionRefusedError"
    assert os.getpid() not in found["processes"]
    assert len(found["processes"]) <= 3, found["processes"]
    _healthy(api, python3)


def test_signalling_its_parent_leaves_the_worker_serving(api, python3):
    killer = _function(api, python3, "kill_parent")

    first = _run(api, killer)
    again = _run(api, killer)

    assert first["status"] == "success", first
    assert first["output"].startswith("still here")
    assert again["status"] == "success", again
    _healthy(api, python3)


# --- limits and accounting ------------------------------------------------

def test_memory_past_memory_size_fails_and_the_worker_survives(api,
                                                               python3):
    hog = _function(api, python3, "memory_hog", memory_size=32 * MIB)

    execution = _run(api, hog, mb=64)
    small = _run(api, hog, mb=4)

    assert execution["status"] == "failed"
    assert execution["output"] == RESOURCE_MESSAGE
    assert small["status"] == "success", small
    _healthy(api, python3)


def test_memory_peak_is_recorded(api, python3):
    hog = _function(api, python3, "memory_hog", memory_size=64 * MIB)

    execution = _run(api, hog, mb=40)

    assert execution["status"] == "success", execution
    assert execution["memory_peak"] >= 40 * MIB


def test_cpu_time_of_a_half_second_spin_is_about_half_a_second(api,
                                                               python3):
    spin = _function(api, python3, "cpu_spin", cpu=300, timeout=20)

    execution = _run(api, spin, seconds=0.5)

    assert execution["status"] == "success", execution
    assert 0.45 <= execution["cpu_time"] <= 1.0, execution["cpu_time"]
    assert json.loads(execution["result"]).keys() == {"output", "duration"}


def test_a_cpu_spin_past_the_timeout_fails_with_upstreams_message(
        api, python3):
    spin = _function(api, python3, "cpu_spin", timeout=1)

    execution = _run(api, spin)

    assert execution["status"] == "failed"
    assert execution["output"] == TIMEOUT_MESSAGE
    _healthy(api, python3)


@pytest.mark.skipif(not _pids_cgroup_available(),
                    reason="no pids cgroup to contain a fork bomb")
def test_a_fork_bomb_is_contained(api, python3):
    bomb = _function(api, python3, "fork_bomb", timeout=5)

    execution = _run(api, bomb)

    if execution["status"] == "success":
        assert execution["output"].startswith("fork failed after")
    else:
        assert execution["output"] in (RESOURCE_MESSAGE, TIMEOUT_MESSAGE)
    _healthy(api, python3)


@pytest.mark.skipif(not _pids_cgroup_available(),
                    reason="no pids cgroup to contain a fork bomb")
def test_a_fork_bombs_children_are_gone_when_its_execution_ends(
        api, python3, server):
    bomb = _function(api, python3, "fork_bomb", timeout=10,
                     memory_size=128 * MIB)

    execution = _run(api, bomb)
    worker = _workers(api, bomb["id"])[0]["worker_name"]
    left = _descendants(_worker_processes(server, worker))

    # Its children share its memory limit, which may stop it first.
    if execution["status"] == "success":
        assert execution["output"].startswith("fork failed after")
        assert int(execution["output"].split()[3]) < 128
    else:
        assert execution["output"] == RESOURCE_MESSAGE
    # The runtime server, its spare child and the execution's own child
    # (killed, maybe not reaped yet): none of the function's children.
    assert len(left) <= 3, left
    _healthy(api, python3)


@pytest.mark.parametrize("both", [False, True])
def test_a_function_closing_stdout_fails_with_the_real_error(api, python3,
                                                             both):
    closer = _function(api, python3, "close_stdout")

    execution = _run(api, closer, both=both)

    assert execution["status"] == "failed"
    assert execution["output"] == "[Errno 9] Bad file descriptor"
    _healthy(api, python3)


def test_a_result_over_the_limit_fails_and_is_not_stored(api, python3):
    big = _function(api, python3, "big_result", memory_size=128 * MIB)

    execution = _run(api, big, mb=20)
    small = _run(api, big, mb=1)

    assert execution["status"] == "failed"
    assert execution["output"] == (
        "The function's result exceeded the limit of 5242880 bytes.")
    assert len(execution["result"]) < 1024
    assert small["status"] == "success"
    assert len(small["output"]) == MIB


def test_a_functions_own_code_may_use_integers_of_any_length(api, python3):
    numbers = _function(api, python3, "big_integers")

    execution = _run(api, numbers, digits=10000)

    assert execution["status"] == "success", execution
    assert execution["output"] == 10001  # 77...7 * 3 = 233...31


def _zip_bomb(mib):
    """A small zip that unpacks to ``mib`` MiB of zeros."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("main.py", "def main():\n    return 1\n")
        with archive.open("zeros.bin", "w") as member:
            chunk = b"\0" * MIB
            for _ in range(mib):
                member.write(chunk)
    return buf.getvalue()


def _stored_packages(server):
    root = os.path.join(server.state_path, "packages")
    return sorted(os.path.join(d, n) for d, _, names in os.walk(root)
                  for n in names)


def test_a_zip_bomb_is_refused_and_leaves_nothing_behind(api, python3,
                                                         server):
    bomb = _zip_bomb(200)
    before = (api.get("/v1/functions").json()["functions"],
              _stored_packages(server))

    resp = api.post("/v1/functions", data={
        "runtime_id": python3["id"], "entry": "main.main",
        "code": json.dumps({"source": "package"})},
        files={"package": ("package.zip", bomb)})

    assert len(bomb) < 1024 * 1024
    assert resp.status_code == 400, resp.text
    assert resp.json()["faultstring"] == (
        "Package unpacks to 209715225 bytes, more than the limit of "
        "104857600 bytes ([storage]max_package_unpacked_size).")
    assert (api.get("/v1/functions").json()["functions"],
            _stored_packages(server)) == before


def test_a_zip_bomb_is_refused_on_update_and_the_function_keeps_its_code(
        api, python3, server):
    function = _function(api, python3, "hello_world")
    before = _stored_packages(server)

    resp = api.http.put(
        api.url + "/v1/functions/%s" % function["id"],
        files={"package": ("package.zip", _zip_bomb(200))})

    assert resp.status_code == 400, resp.text
    assert "([storage]max_package_unpacked_size)" in resp.json()[
        "faultstring"]
    assert _stored_packages(server) == before
    assert api.get("/v1/functions/%s" % function["id"]).json()[
        "code"] == function["code"]
    execution = api.execute(function["id"], input='{"name": "kept"}')
    assert json.loads(execution["result"])["output"] == "Hello, kept"


def test_open_files_and_file_size_are_limited(api, python3):
    probe = _function(api, python3, "limits", memory_size=64 * MIB)

    execution = _run(api, probe, files=2000, file_mb=16)

    found = execution["output"]
    assert execution["status"] == "success", execution
    assert found["open_error"] == "OSError" and found["opened"] < 1024
    assert found["write_error"] == "OSError" and found["written_mb"] == 8


# --- autoscaling ------------------------------------------------------------

def _concurrently(api, function, count, seconds):
    def one(_):
        return api_client.Api(api.url).execute(
            function["id"], input=json.dumps({"seconds": seconds}))
    with futures.ThreadPoolExecutor(count) as pool:
        results = list(pool.map(one, range(count)))
    assert [r["status"] for r in results] == ["success"] * count


@pytest.mark.parametrize("calls,workers", [(3, 1), (6, 2)])
def test_concurrent_calls_on_a_fresh_function_scale_like_upstream(
        api, python3, calls, workers):
    function = _function(api, python3, "sleepy", timeout=30)

    _concurrently(api, function, calls, 2)

    assert len(_workers(api, function["id"])) == workers


def test_claimed_workers_are_replaced_in_the_free_pool(api, python3):
    function = _function(api, python3, "hello_world")
    assert api.execute(function["id"])["status"] == "success"

    def refilled():
        pool = api.get("/v1/runtimes/%s/pool" % python3["id"])
        if pool.status_code in (404, 405):
            pytest.skip("the runtime pool API is not available")
        return pool.json()["capacity"]["available"] == 2
    _wait(refilled, "the free pool to be refilled")


def test_scale_up_scale_down_and_detach_change_real_workers(api, python3):
    function = _function(api, python3, "hello_world")
    assert api.execute(function["id"])["status"] == "success"
    path = "/v1/functions/%s" % function["id"]

    resp = api.post(path + "/scale_up", json={"count": 2})
    assert resp.status_code == 202, resp.text
    _wait(lambda: len(_workers(api, function["id"])) == 3, "3 workers")
    assert api.post(path + "/scale_down",
                    json={"count": 5}).status_code == 202
    _wait(lambda: len(_workers(api, function["id"])) == 1, "1 worker")
    assert api.execute(function["id"])["status"] == "success"
    assert api.post(path + "/detach").status_code == 202
    _wait(lambda: not _workers(api, function["id"]), "no worker")
    assert api.execute(function["id"])["status"] == "success"


def _update_image(api, runtime_id, image):
    resp = api.http.put(api.url + "/v1/runtimes/%s" % runtime_id,
                        json={"image": image})
    assert resp.status_code == 200, resp.text

    def settled():
        return api.get("/v1/runtimes/%s" % runtime_id).json()[
            "status"] == "available"
    _wait(settled, "the runtime to be available again")
    return api.get("/v1/runtimes/%s" % runtime_id).json()


def test_a_runtime_image_update_restarts_its_pool(api):
    runtime = _runtime(api, "python3", trusted=True)
    function = _function(api, runtime, "hello_world")
    assert api.execute(function["id"])["status"] == "success"

    updated = _update_image(api, runtime["id"],
                            "openstackqinling/python3-runtime:2.0")
    refused = _update_image(api, runtime["id"], "example.com/nope:1")

    assert updated["image"] == "openstackqinling/python3-runtime:2.0"
    assert refused["image"] == "openstackqinling/python3-runtime:2.0"
    assert "example.com/nope:1" in refused["status_reason"]
    assert api.execute(function["id"])["status"] == "success"


def _worker_processes(server, worker_name):
    """PIDs of our server's sandbox processes for one worker."""
    marker = os.path.join(server.state_path, "workers", worker_name)
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                if marker.encode() in f.read():
                    pids.append(int(entry))
        except OSError:
            continue
    return pids


def test_a_crashed_worker_fails_its_execution_and_is_replaced(
        api, python3, server):
    function = _function(api, python3, "sleepy", timeout=30)
    assert _run(api, function, seconds=0)["status"] == "success"
    worker = _workers(api, function["id"])[0]["worker_name"]

    with futures.ThreadPoolExecutor(1) as pool:
        running = pool.submit(_run, api, function, seconds=20)
        _wait(lambda: api.get("/v1/executions", params={
            "function_id": function["id"], "status": "running"}).json()[
                "executions"], "the execution to start")
        time.sleep(0.5)  # let the request reach the worker
        for pid in _worker_processes(server, worker):
            os.kill(pid, signal.SIGKILL)
        crashed = running.result(timeout=60)

    assert crashed["status"] == "failed", crashed
    assert crashed["output"] == (
        "The worker running the execution died unexpectedly.")
    assert _run(api, function, seconds=0)["status"] == "success"
    assert [w["worker_name"] for w in _workers(api, function["id"])] != [
        worker]


def test_idle_workers_are_released_after_the_expiration(tmp_path_factory):
    expiring = _start(tmp_path_factory, "expiring",
                      local={"pool_size": 1},
                      engine={"function_service_expiration": 2,
                              "function_service_check_interval": 1})
    try:
        api = api_client.Api(expiring.url)
        runtime = _runtime(api, "python3", trusted=True)
        function = _function(api, runtime, "hello_world")
        assert api.execute(function["id"])["status"] == "success"
        assert len(_workers(api, function["id"])) == 1

        _wait(lambda: not _workers(api, function["id"]),
              "the idle worker to be released")
        assert api.execute(function["id"])["status"] == "success"
    finally:
        expiring.stop()


# --- Node.js ----------------------------------------------------------------

def _node_function(api, runtime, entry, **fields):
    with open(os.path.join(api_client.FUNCTIONS_DIR, "nodejs",
                           "hello.js")) as f:
        package = api_client.make_zip({"hello.js": f.read()})
    return api.create_function(runtime["id"], package, entry=entry, **fields)


@pytest.mark.parametrize("image", ["nodejs",
                                   "openstackqinling/nodejs-runtime"])
def test_nodejs_runs_upstreams_handler_with_context_and_input(api, image):
    runtime = _runtime(api, image)
    function = _node_function(api, runtime, "hello.main")

    execution = api.execute(function["id"], input='{"name": "Node"}')

    assert execution["status"] == "success", execution
    assert json.loads(execution["result"])["output"] == {
        "greeting": "Hello, Node", "context": {}}
    log = api.get("/v1/executions/%s/log" % execution["id"]).text
    assert "Hello, Node" in log and "to stderr" in log
    assert execution["cpu_time"] is not None
    assert execution["memory_peak"] > 0


def test_a_nodejs_exception_fails_with_its_message_and_stack(api, nodejs):
    function = _node_function(api, nodejs, "hello.failing")

    execution = api.execute(function["id"])

    assert execution["status"] == "failed"
    assert json.loads(execution["result"])["output"] == (
        "this function always fails")
    log = api.get("/v1/executions/%s/log" % execution["id"]).text
    assert "about to fail" in log and "Error: this function" in log


def test_a_nodejs_timeout_fails_and_the_runtime_serves_again(api, nodejs):
    function = _node_function(api, nodejs, "hello.sleepy", timeout=1)

    execution = api.execute(function["id"], input='{"seconds": 5}')
    again = api.execute(function["id"], input='{"seconds": 0}')

    assert execution["status"] == "failed"
    assert json.loads(execution["result"])["output"] == TIMEOUT_MESSAGE
    assert again["status"] == "success", again


def test_nodejs_memory_past_memory_size_fails(api, nodejs):
    function = _node_function(api, nodejs, "hello.memoryHog",
                              memory_size=32 * MIB)

    execution = api.execute(function["id"], input='{"mb": 128}')
    small = api.execute(function["id"], input='{"mb": 2}')

    assert execution["status"] == "failed"
    assert json.loads(execution["result"])["output"] == RESOURCE_MESSAGE
    assert small["status"] == "success", small


def test_nodejs_is_sandboxed_too(api, nodejs):
    function = _node_function(api, nodejs, "hello.snoop")

    execution = api.execute(function["id"])

    found = json.loads(execution["result"])["output"]
    assert execution["status"] == "success", execution
    assert CANARY not in found["env"]
    assert (found["etc"], found["tmp"]) == ("EROFS", "written")
    assert found["uid"] != 0

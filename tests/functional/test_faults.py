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
"""Crashes and floods: nothing accepted is lost, nothing runs twice.

Each test starts its own deployment (a private RabbitMQ node when it has
a message bus), puts load on it, breaks a process with ``kill -9`` (or
stops the RabbitMQ node) in the middle, brings it back, and then checks
every execution it was answered 201 for:

* it ended: ``success``, or ``error`` with a true reason (it never
  started, or the engine stopped while it ran); none stays ``running``;
* it ran at most once: the function appends the execution's token to a
  file the test gives it (workers run unsandboxed here for that), and a
  success ran exactly once;
* no request got a 5xx but the documented 503 (a sync execution no
  engine could take) and 429 (a full queue).

Every load is bounded in count, every wait in time.
"""

import collections
import json
import os
import shutil
import tempfile
import threading
import time

import pytest
import requests

from tests.functional import api as api_client
from tests.functional import deployments

INTERRUPTED = "The engine stopped while the execution ran."
NEVER_STARTED = "The execution never started"
#: the queue's timings, short so the tests stay short.
FAST_QUEUE = {
    "engine": {"execution_lease": "3", "claim_interval": "0.5",
               "sync_handoff_timeout": "5", "rpc_timeout_margin": "10",
               "runtime_reconcile_interval": "2"},
    "local": {"sandbox": "off", "pool_size": "2"},
}
WAIT = 180


def _config(*more):
    config = json.loads(json.dumps(FAST_QUEUE))
    for extra in more:
        for section, options in extra.items():
            config.setdefault(section, {}).update(options)
    return config


@pytest.fixture
def rabbit(workdir):
    node = deployments.PrivateRabbit(os.path.join(workdir, "rabbit"))
    try:
        node.start()
    except deployments.Unavailable as e:
        pytest.skip("no private RabbitMQ node: %s" % e)
    yield node
    node.kill()


@pytest.fixture
def workdir():
    """A short directory (worker socket paths must stay short)."""
    path = tempfile.mkdtemp(prefix="qf-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def deploy(workdir):
    """Start a deployment; stopped at the test's end, its logs printed
    (pytest shows them when the test failed)."""
    started = []

    def start(kind, **kwargs):
        path = os.path.join(workdir, "d%d" % len(started))
        os.mkdir(path)
        deployment = deployments.Deployment(kind, path, **kwargs)
        try:
            deployment.start()
        except deployments.Unavailable as e:
            pytest.skip("%s unavailable: %s" % (kind, e))
        started.append(deployment)
        return deployment
    yield start
    for deployment in reversed(started):
        print(deployment.logs())
        deployment.stop()


class Load:
    """Executions of the recorder function, and what became of them."""

    def __init__(self, api, function_id, runs_dir):
        self.api = api
        self.function_id = function_id
        self.runs_dir = runs_dir
        self.accepted = {}  # execution id -> token
        self.answers = collections.Counter()
        self.server_errors = []
        self._lock = threading.Lock()
        self._count = 0

    def _token(self):
        with self._lock:
            self._count += 1
            return "t%05d" % self._count

    def execute(self, sync=False, seconds=0.3, url=None):
        """Create one execution; a refused connection counts as no
        answer (the API process is down), not as an error."""
        token = self._token()
        body = {"function_id": self.function_id, "sync": sync,
                "input": json.dumps({"dir": self.runs_dir, "token": token,
                                     "seconds": seconds})}
        try:
            resp = requests.post((url or self.api.url) + "/v1/executions",
                                 json=body, timeout=120,
                                 headers={"Accept": "application/json"})
        except requests.ConnectionError:
            with self._lock:
                self.answers["no connection"] += 1
            return None
        with self._lock:
            self.answers[resp.status_code] += 1
            if resp.status_code >= 500 and resp.status_code != 503:
                self.server_errors.append((resp.status_code, resp.text))
            if resp.status_code == 503:
                assert NEVER_STARTED in resp.json()["faultstring"], resp.text
            if resp.status_code == 429:
                assert resp.headers.get("Retry-After"), resp.headers
            if resp.status_code == 201:
                self.accepted[resp.json()["id"]] = token
        return resp

    def runs(self):
        path = os.path.join(self.runs_dir, "runs")
        if not os.path.exists(path):
            return collections.Counter()
        with open(path) as f:
            return collections.Counter(f.read().split())

    def wait_final(self, api=None, timeout=WAIT):
        """Every accepted execution, once none is running any more."""
        api = api or self.api
        deadline = time.monotonic() + timeout
        final = {}
        while time.monotonic() < deadline:
            for execution_id in set(self.accepted) - set(final):
                resp = api.get("/v1/executions/%s" % execution_id)
                if resp.status_code == 200 and \
                        resp.json()["status"] != "running":
                    final[execution_id] = resp.json()
            if len(final) == len(self.accepted):
                return final
            time.sleep(0.5)
        running = sorted(set(self.accepted) - set(final))
        raise AssertionError("%d execution(s) still running after %ss: %s"
                             % (len(running), timeout, running[:5]))

    def check(self, api=None):
        """The assertions of the module docstring; returns the final
        statuses counted."""
        final = self.wait_final(api)
        runs = self.runs()
        assert not self.server_errors, self.server_errors[:3]
        outcomes = collections.Counter()
        for execution_id, execution in final.items():
            token = self.accepted[execution_id]
            output = json.loads(execution["result"] or "{}").get("output")
            assert runs[token] <= 1, ("ran twice", execution)
            if execution["status"] == "success":
                assert runs[token] == 1, execution
                assert output == token, execution
                outcomes["success"] += 1
            elif output == INTERRUPTED:
                outcomes["interrupted"] += 1
            else:
                assert execution["status"] == "error", execution
                assert output.startswith(NEVER_STARTED), execution
                assert runs[token] == 0, execution
                outcomes["never started"] += 1
        print("outcomes:", dict(outcomes), "answers:", dict(self.answers))
        return outcomes


def _recorder(api, tmp_path):
    runtime = api.create_runtime()
    assert runtime["status"] == "available", runtime
    function = api.create_function(runtime["id"],
                                   api_client.sample_zip("recorder"))
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir(exist_ok=True)
    return Load(api, function["id"], str(runs_dir))


class _Pool(list):
    """Threads of a load, and the first error one of them raised."""

    error = None


def _in_threads(count, func, threads=4):
    """Call ``func()`` ``count`` times from a few threads."""
    left = collections.deque(range(count))
    lock = threading.Lock()
    pool = _Pool()

    def work():
        while True:
            with lock:
                if not left or pool.error is not None:
                    return
                left.popleft()
            try:
                func()
            except BaseException as e:
                pool.error = e
                return
    pool.extend(threading.Thread(target=work) for _ in range(threads))
    for thread in pool:
        thread.start()
    return pool


def _join(pool, timeout=WAIT):
    for thread in pool:
        thread.join(timeout)
        assert not thread.is_alive(), "a load thread did not finish"
    if pool.error is not None:
        raise pool.error


def _wait_runs(load, count, timeout=60):
    """Until ``count`` executions started (so the fault hits mid-load)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(load.runs().values()) >= count:
            return
        time.sleep(0.1)


def test_engine_killed_mid_load_loses_nothing(deploy, rabbit, tmp_path):
    deployment = deploy("rabbit-mariadb", transport_url=rabbit.url,
                        extra_config=_config())
    load = _recorder(api_client.Api(deployment.url), tmp_path)
    _join(_in_threads(60, load.execute))
    _wait_runs(load, 5)

    engine = deployment.process("qinling-engine")
    engine.kill()
    time.sleep(1)
    engine.start()

    outcomes = load.check()
    assert load.answers[201] == 60, load.answers
    assert outcomes["success"] >= 1, outcomes


def test_broker_stopped_mid_load_loses_nothing(deploy, rabbit, tmp_path):
    deployment = deploy("rabbit-mariadb", transport_url=rabbit.url,
                        extra_config=_config())
    load = _recorder(api_client.Api(deployment.url), tmp_path)
    _join(_in_threads(20, load.execute))
    _wait_runs(load, 3)

    rabbit.kill()
    # Accepted while the broker is down: async at once, sync 503.
    _join(_in_threads(20, load.execute))
    _join(_in_threads(3, lambda: load.execute(sync=True)))
    rabbit.start()

    outcomes = load.check()
    assert load.answers[201] >= 40, load.answers
    assert outcomes["success"] >= 40, outcomes


def test_api_killed_during_sync_executions_loses_nothing(deploy, rabbit,
                                                         tmp_path):
    deployment = deploy("rabbit-mariadb", transport_url=rabbit.url,
                        extra_config=_config())
    load = _recorder(api_client.Api(deployment.url), tmp_path)
    pool = _in_threads(12, lambda: load.execute(sync=True, seconds=1),
                       threads=6)
    _wait_runs(load, 3)

    api = deployment.process("qinling-api")
    api.kill()
    _join(pool)
    api.start()
    deployments.wait_ready(deployment.url, deployment.processes)

    # The rows of calls cut off are found through the list.
    listed = load.api.get("/v1/executions", params={
        "function_id": load.function_id}).json()["executions"]
    tokens = {v: k for k, v in load.accepted.items()}
    for execution in listed:
        token = json.loads(execution["input"])["token"]
        if token not in tokens:
            load.accepted[execution["id"]] = token
    load.check()


def test_all_in_one_killed_mid_load_loses_nothing(deploy, tmp_path):
    deployment = deploy("all-in-one", extra_config=_config())
    load = _recorder(api_client.Api(deployment.url), tmp_path)
    _join(_in_threads(40, load.execute))
    _wait_runs(load, 5)

    server = deployment.process("qinling-server")
    server.kill()
    server.start()
    deployments.wait_ready(deployment.url, deployment.processes)

    outcomes = load.check()
    assert load.answers[201] == 40, load.answers
    assert outcomes["success"] >= 1, outcomes


@pytest.mark.parametrize("kind", ["rabbit-mariadb", "rabbit-postgresql"])
def test_two_engines_and_two_apis_serve_a_new_runtime(deploy, rabbit,
                                                      tmp_path, kind):
    deployment = deploy(kind, transport_url=rabbit.url, engines=2, apis=2,
                        extra_config=_config())
    load = _recorder(api_client.Api(deployment.url), tmp_path)
    second = deployment.urls[1]

    _join(_in_threads(10, lambda: load.execute(sync=True, url=second)))
    _join(_in_threads(30, lambda: load.execute(seconds=0.1)))

    outcomes = load.check()
    assert load.answers[201] == 40, load.answers
    assert outcomes == {"success": 40}, outcomes


def test_a_flood_is_bounded_and_other_callers_are_still_answered(
        deploy, tmp_path):
    deployment = deploy("all-in-one", extra_config=_config({
        "executions": {"max_pending_per_function": "40",
                       "max_pending_per_project": "1000"}}))
    api = api_client.Api(deployment.url)
    flood = _recorder(api, tmp_path)
    other = Load(api, api.create_function(
        flood.api.get("/v1/functions/%s" % flood.function_id).json()[
            "runtime_id"], api_client.sample_zip("recorder"))["id"],
        flood.runs_dir)
    other._count = 10 ** 4  # tokens of their own

    pool = _in_threads(300, lambda: flood.execute(seconds=0.05))
    _join(_in_threads(20, lambda: other.execute(sync=True, seconds=0),
                      threads=2))
    _join(pool)

    assert other.answers == {201: 20}, other.answers
    assert flood.answers[429] > 0, flood.answers
    assert set(flood.answers) <= {201, 429}, flood.answers
    assert other.check() == {"success": 20}
    assert flood.check()["success"] == flood.answers[201]


def test_a_sync_execution_with_no_engine_running_is_refused_with_503(
        deploy, rabbit, tmp_path):
    deployment = deploy("rabbit-mariadb", transport_url=rabbit.url,
                        extra_config=_config())
    load = _recorder(api_client.Api(deployment.url), tmp_path)
    deployment.process("qinling-engine").kill()

    # Until its heartbeat is older than the lease (3 s), the engine counts
    # as running and a call waits for its timeout, then gets 503 "no
    # engine took it": let the heartbeat age, and retry, bounded.
    time.sleep(4)
    resp = None
    for _ in range(5):
        resp = load.execute(sync=True, seconds=0)
        if "no engine is running" in resp.text:
            break
    async_resp = load.execute(sync=False, seconds=0)

    assert resp.status_code == 503, resp.text
    assert resp.json()["faultstring"] == \
        "The execution never started: no engine is running."
    assert async_resp.status_code == 201, async_resp.text
    ended = load.api.get("/v1/executions", params={
        "function_id": load.function_id, "status": "error"}).json()
    assert any(json.loads(e["result"])["output"] ==
               resp.json()["faultstring"] for e in ended["executions"])

    deployment.process("qinling-engine").start()
    outcomes = load.check()
    assert outcomes["success"] >= 1, outcomes

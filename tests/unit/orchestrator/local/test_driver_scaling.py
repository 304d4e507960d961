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
"""The local driver's scaling, limits, accounting and sandbox policy, with
real (sandboxed where possible) workers."""

import os
import pwd
import shutil
import tempfile
import threading

import pytest

from qinling import exceptions
from qinling.orchestrator import base
from qinling.orchestrator.local import driver as local_driver
from qinling.orchestrator.local import sandbox

RUNTIME = "5d0c3f0e-1111-4a5e-9c1c-3f1b2a7d9e01"
NODE_RUNTIME = "5d0c3f0e-2222-4a5e-9c1c-3f1b2a7d9e01"
FUNCTION = "9a4e2b7c-3333-4f6a-8d2e-1c5b7a9e0f12"
MIB = 1024 * 1024
RESOURCE_MESSAGE = ("Function execution failed because of too much "
                    "resource consumption")
HOG = ("def main(mb):\n    block = bytearray(mb * 1024 * 1024)\n"
       "    for i in range(0, len(block), 4096):\n        block[i] = 1\n"
       "    return mb\n")


@pytest.fixture
def make_driver(conf):
    drivers = []

    def make(pool_size=1, **local):
        conf.set_override("pool_size", pool_size, group="local")
        for key, value in local.items():
            conf.set_override(key, value, group="local")
        drv = local_driver.LocalOrchestrator(conf)
        drivers.append(drv)
        return drv

    yield make
    for drv in drivers:
        drv.stop()


@pytest.fixture
def spec(make_zip):
    def make(code="def main():\n    return 'hi'\n", module="main.py",
             entry="main.main", runtime=RUNTIME, **fields):
        values = dict(function_id=FUNCTION, function_version=0,
                      runtime_id=runtime, project_id="p", entry=entry,
                      timeout=10, cpu=100, memory_size=32 * MIB,
                      package_path=make_zip({module: code},
                                            name=f"{len(code)}.zip"),
                      package_md5=f"md5-{len(code)}")
        values.update(fields)
        return base.FunctionSpec(**values)
    return make


def run(drv, function, fn_input=None):
    worker = drv.prepare_execution(function)
    return drv.run_execution(worker, function, base.ExecutionRequest(
        execution_id="e1", input=fn_input))


def test_scale_up_claims_free_workers_and_refills_the_pool(make_driver,
                                                           spec):
    drv = make_driver(pool_size=2)
    drv.create_pool(RUNTIME, "python3", trusted=True)

    added = drv.scaleup_function(spec(), 3)

    assert len({w.name for w in added}) == 3
    assert {w.name for w in drv.list_workers(FUNCTION)} == {
        w.name for w in added}
    assert run(drv, spec()).output == "hi"
    assert drv.get_pool(RUNTIME).total >= 3


def test_scale_down_releases_idle_workers_newest_first(make_driver, spec):
    drv = make_driver(pool_size=0)
    drv.create_pool(RUNTIME, "python3", trusted=True)
    first, second, third = drv.scaleup_function(spec(), 3)

    released = drv.scaledown_function(FUNCTION, 0, 2)

    assert [w.name for w in released] == [third.name, second.name]
    assert drv.list_workers(FUNCTION) == [first]


def test_concurrent_prepares_wait_for_the_worker_being_loaded(make_driver,
                                                              spec):
    drv = make_driver(pool_size=3)
    drv.create_pool(RUNTIME, "python3", trusted=True)
    function = spec()
    names = []

    def prepare():
        names.append(drv.prepare_execution(function).name)

    threads = [threading.Thread(target=prepare) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(names)) == 1
    assert len(drv.list_workers(FUNCTION)) == 1


def test_memory_past_memory_size_fails_and_accounting_is_reported(
        make_driver, spec):
    drv = make_driver()
    drv.create_pool(RUNTIME, "python3", trusted=True)
    function = spec(HOG)

    too_much = run(drv, function, {"mb": 64})
    fine = run(drv, function, {"mb": 8})

    assert (too_much.success, too_much.output) == (False, RESOURCE_MESSAGE)
    assert (fine.success, fine.output) == (True, 8)
    assert fine.memory_peak >= 8 * MIB and fine.cpu_time >= 0


def test_memory_is_limited_by_rlimits_without_cgroups(make_driver, spec):
    drv = make_driver(use_cgroups=False)
    drv.create_pool(RUNTIME, "python3", trusted=True)

    result = run(drv, spec(HOG), {"mb": 64})

    assert (result.success, result.output) == (False, RESOURCE_MESSAGE)


def test_cpu_time_of_a_spin_is_accounted(make_driver, spec):
    drv = make_driver()
    drv.create_pool(RUNTIME, "python3", trusted=True)
    function = spec("import time\n\ndef main():\n"
                    "    while time.process_time() < 0.3:\n        pass\n",
                    cpu=1000)

    result = run(drv, function)

    assert result.success, result.output
    assert 0.25 <= result.cpu_time <= 0.8


def test_without_a_sandbox_untrusted_runtimes_are_refused(make_driver):
    drv = make_driver(bwrap_path="/nonexistent/bwrap")

    with pytest.raises(exceptions.OrchestratorException) as caught:
        drv.create_pool(RUNTIME, "python3", trusted=False)
    status = drv.create_pool(RUNTIME, "python3", trusted=True)

    assert str(caught.value).startswith(
        "Untrusted runtimes need a sandbox and this host cannot sandbox "
        "workers: /nonexistent/bwrap cannot run")
    assert not status.isolated
    assert status.notice.startswith("Workers run without a sandbox: ")


def test_with_the_sandbox_off_untrusted_runtimes_run_with_a_notice(
        make_driver, spec):
    drv = make_driver(sandbox="off")

    status = drv.create_pool(RUNTIME, "python3", trusted=False)

    assert status == base.PoolStatus(
        isolated=False,
        notice="Workers run without a sandbox ([local]sandbox = off).")
    assert run(drv, spec()).output == "hi"


needs_root_and_bwrap = pytest.mark.skipif(
    os.geteuid() != 0 or sandbox.find_bwrap() is None,
    reason="needs root and bubblewrap")


@needs_root_and_bwrap
def test_workers_can_run_as_an_unprivileged_host_user(make_driver, spec):
    nobody = pwd.getpwnam("nobody")
    work_dir = tempfile.mkdtemp(prefix="qtn-", dir="/tmp")
    os.chmod(work_dir, 0o711)
    try:
        drv = make_driver(worker_user="nobody", work_dir=work_dir,
                          python_interpreter="/usr/bin/python3")
        status = drv.create_pool(RUNTIME, "python3", trusted=False)

        result = run(drv, spec())

        assert status.isolated and result.success, result.output
        # bubblewrap itself sets the sandbox up as root; the runtime
        # servers and their children run as nobody.
        assert server_owners(work_dir) == {nobody.pw_uid}
    finally:
        drv.stop()
        shutil.rmtree(work_dir, ignore_errors=True)


def test_a_root_service_runs_workers_as_nobody_by_default(make_driver,
                                                          spec, conf):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    nobody = pwd.getpwnam("nobody")
    drv = make_driver()
    try:
        status = drv.create_pool(RUNTIME, "python3", trusted=False)

        result = run(drv, spec("import os\n\ndef main():\n"
                               "    return os.getuid()\n"))

        assert status.isolated and result.success, result.output
        assert result.output == nobody.pw_uid
        assert server_owners(conf.local.work_dir) == {nobody.pw_uid}
    finally:
        drv.stop()


def server_owners(work_dir):
    """Host uids of the runtime servers (and their children) started by
    the sandboxes of ``work_dir``."""
    sandboxes = [int(p) for p in processes_mentioning(work_dir)]
    owners = set()
    for pid in descendants(sandboxes):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            # (setpriv is still root while it starts a new server)
            if sandbox.RUNTIME_DIR.encode() in b" ".join(argv) and \
                    not argv[0].endswith((b"setpriv", b"bwrap")):
                owners.add(os.stat(f"/proc/{pid}").st_uid)
        except OSError:
            continue
    return owners


def descendants(pids):
    """``pids`` and every process below them."""
    children = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
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
    return found


def processes_mentioning(text):
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if entry.isdigit() and text.encode() in f.read():
                    pids.append(entry)
        except OSError:
            continue
    return pids


@pytest.mark.skipif(sandbox.find_bwrap() is None
                    or not os.path.exists("/usr/bin/node"),
                    reason="needs bubblewrap and Node.js")
def test_a_nodejs_function_runs_in_a_sandboxed_worker(make_driver, spec):
    drv = make_driver()
    status = drv.create_pool(NODE_RUNTIME, "nodejs", trusted=False)
    function = spec("exports.main = (context, input) => "
                    "({input, context, uid: process.getuid()});\n",
                    module="hello.js", entry="hello.main",
                    runtime=NODE_RUNTIME)

    result = run(drv, function, {"a": 1})

    assert status.isolated
    # A root service runs its workers as nobody, never as a user mapped to
    # root.
    uid = sandbox.SANDBOX_UID if os.geteuid() else sandbox.NOBODY
    assert (result.success, result.output) == (True, {
        "input": {"a": 1}, "context": {}, "uid": uid})
    assert "Start execution: e1" in result.logs


def test_update_pool_moves_free_and_assigned_workers_to_the_new_image(
        make_driver, spec):
    drv = make_driver(pool_size=2)
    drv.create_pool(RUNTIME, "python3", trusted=True)
    old = drv.prepare_execution(spec())

    status = drv.update_pool(RUNTIME, "openstackqinling/python3-runtime:2")

    assert status.notice is None or "sandbox" in status.notice
    assert drv.list_workers(FUNCTION) == []
    assert drv.get_pool(RUNTIME) == base.PoolCapacity(total=2, available=2)
    new = drv.prepare_execution(spec())
    assert new.name != old.name
    assert drv.run_execution(new, spec(), base.ExecutionRequest(
        execution_id="e2", input=None)).output == "hi"


def test_update_pool_to_an_unknown_image_changes_nothing(make_driver,
                                                         spec):
    drv = make_driver(pool_size=1)
    drv.create_pool(RUNTIME, "python3", trusted=True)
    worker = drv.prepare_execution(spec())

    with pytest.raises(exceptions.OrchestratorException) as caught:
        drv.update_pool(RUNTIME, "example.com/unknown:1")

    assert "not supported by the local orchestrator" in str(caught.value)
    assert drv.list_workers(FUNCTION) == [worker]

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
"""The local orchestrator with real worker processes."""

import os
import signal
import threading
import time

import pytest

from qinling import exceptions
from qinling.orchestrator import base
from qinling.orchestrator.local import driver as local_driver

RUNTIME = "8c1fa9a2-0b1d-4e0c-9d6c-6c8f5b3a2e11"
IMAGE = "openstackqinling/python3-runtime:0.0.2"
FUNCTION = "4b1e6e0c-7d0a-4f0e-8a51-2f0f5c1f9a77"
HELLO = "def main(name='world'):\n    return 'hello ' + name\n"


@pytest.fixture
def make_driver(conf):
    """Return a factory of drivers with a given pool size; stops them."""
    drivers = []

    def make(pool_size=1):
        conf.set_override("pool_size", pool_size, group="local")
        drv = local_driver.LocalOrchestrator(conf)
        drivers.append(drv)
        return drv

    yield make
    for drv in drivers:
        drv.stop()


@pytest.fixture
def driver(make_driver):
    drv = make_driver(pool_size=1)
    drv.create_pool(RUNTIME, IMAGE, trusted=True)
    return drv


@pytest.fixture
def spec(make_zip):
    """Return a factory of FunctionSpecs whose package holds main.py."""
    def make(code=HELLO, md5="md5-1", function_id=FUNCTION, version=0,
             timeout=5):
        path = make_zip({"main.py": code}, name=f"{function_id}-{md5}.zip")
        return base.FunctionSpec(
            function_id=function_id, function_version=version,
            runtime_id=RUNTIME, project_id="project", entry="main.main",
            timeout=timeout, cpu=100, memory_size=32 * 1024 * 1024,
            package_path=path, package_md5=md5)
    return make


def request(fn_input=None):
    return base.ExecutionRequest(execution_id="exec-1", input=fn_input)


def processes_under(path):
    """PIDs of live processes whose command line mentions path."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().decode(errors="replace")
        except OSError:
            continue
        if path in cmdline:
            pids.append(int(entry))
    return pids


def process_tree(path):
    """PIDs of the processes under path and all their descendants."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1]
                                              .split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree = set(processes_under(path))
    grew = True
    while grew:
        children = {p for p, parent in parents.items() if parent in tree}
        grew = not children <= tree
        tree |= children
    return tree


def wait_for(predicate, what):
    """Wait until predicate() is true; fail after 30 s."""
    deadline = time.monotonic() + 30
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting for {what}")
        time.sleep(0.02)


def test_create_pool_starts_pool_size_workers(make_driver):
    drv = make_driver(pool_size=2)
    drv.create_pool(RUNTIME, IMAGE, trusted=True)
    assert drv.get_pool(RUNTIME) == base.PoolCapacity(total=2, available=2)


def test_create_pool_again_is_a_no_op(driver, conf):
    driver.create_pool(RUNTIME, IMAGE, trusted=True)
    assert driver.get_pool(RUNTIME) == base.PoolCapacity(1, 1)
    assert len(os.listdir(conf.local.work_dir)) == 1


def test_unknown_image_is_refused_with_the_supported_images(make_driver):
    drv = make_driver()
    with pytest.raises(exceptions.OrchestratorException) as caught:
        drv.create_pool(RUNTIME, "foo/bar:1", trusted=True)
    assert str(caught.value) == (
        'Image "foo/bar:1" is not supported by the local orchestrator; '
        "supported images: nodejs, openstackqinling/nodejs-runtime, "
        "openstackqinling/python3-runtime, python3.")
    with pytest.raises(exceptions.OrchestratorException):
        drv.get_pool(RUNTIME)


def test_get_pool_of_an_unknown_runtime_raises(make_driver):
    with pytest.raises(exceptions.OrchestratorException) as caught:
        make_driver().get_pool("nope")
    assert str(caught.value) == "Runtime nope has no worker pool."


def test_prepare_for_a_runtime_without_pool_is_unavailable(make_driver,
                                                           spec):
    with pytest.raises(exceptions.WorkerUnavailable) as caught:
        make_driver().prepare_execution(spec())
    assert str(caught.value) == f"Runtime {RUNTIME} has no worker pool."


def test_prepare_and_run_returns_the_function_output(driver, spec):
    function = spec()
    worker = driver.prepare_execution(function)
    result = driver.run_execution(worker, function, request({"name": "x"}))
    assert (result.success, result.output) == (True, "hello x")
    assert "Start execution: exec-1" in result.logs
    assert worker.function_id == FUNCTION
    assert driver.list_workers(FUNCTION) == [worker]


def test_a_failing_function_is_a_failed_result(driver, spec):
    function = spec("def main():\n    raise RuntimeError('boom')\n")
    worker = driver.prepare_execution(function)
    result = driver.run_execution(worker, function, request())
    assert (result.success, result.output) == (False, "boom")
    assert "RuntimeError: boom" in result.logs


def test_second_prepare_for_the_same_function_reuses_the_worker(driver,
                                                                spec):
    first = driver.prepare_execution(spec())
    second = driver.prepare_execution(spec())
    assert first == second


def test_the_pool_is_refilled_after_a_worker_is_claimed(make_driver, spec):
    drv = make_driver(pool_size=2)
    drv.create_pool(RUNTIME, IMAGE, trusted=True)
    drv.prepare_execution(spec())
    wait_for(lambda: drv.get_pool(RUNTIME).available == 2, "the refill")
    assert drv.get_pool(RUNTIME) == base.PoolCapacity(total=3, available=2)


def test_a_new_package_gets_a_fresh_worker_and_the_old_is_released(driver,
                                                                   spec):
    old = driver.prepare_execution(spec(md5="md5-1"))
    new_function = spec("def main():\n    return 'v2'\n", md5="md5-2")
    new = driver.prepare_execution(new_function)
    assert new.name != old.name
    assert driver.list_workers(FUNCTION) == [new]
    result = driver.run_execution(new, new_function, request())
    assert result.output == "v2"


def test_delete_function_releases_its_workers(driver, spec, conf):
    worker = driver.prepare_execution(spec())
    driver.delete_function(FUNCTION)
    assert driver.list_workers(FUNCTION) == []
    assert not os.path.exists(os.path.join(conf.local.work_dir, worker.name))
    with pytest.raises(exceptions.OrchestratorException):
        driver.run_execution(worker, spec(), request())


def test_a_killed_worker_fails_clearly_and_a_new_prepare_works(driver, spec,
                                                               conf):
    function = spec()
    worker = driver.prepare_execution(function)
    worker_dir = os.path.join(conf.local.work_dir, worker.name) + os.sep
    for pid in processes_under(worker_dir):
        os.kill(pid, signal.SIGKILL)
    result = driver.run_execution(worker, function, request())
    assert (result.success, result.output) == (
        False, "The worker running the execution died unexpectedly.")
    replacement = driver.prepare_execution(function)
    assert replacement.name != worker.name
    result = driver.run_execution(replacement, function, request())
    assert (result.success, result.output) == (True, "hello world")


def test_an_empty_pool_spawns_a_worker_on_demand(make_driver, spec):
    drv = make_driver(pool_size=0)
    drv.create_pool(RUNTIME, IMAGE, trusted=True)
    assert drv.get_pool(RUNTIME) == base.PoolCapacity(0, 0)
    function = spec()
    worker = drv.prepare_execution(function)
    assert drv.run_execution(worker, function, request()).output == (
        "hello world")


def test_a_package_that_is_not_a_zip_is_refused(driver, spec, tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_text("not a zip")
    function = spec()
    function = base.FunctionSpec(**{**function.__dict__,
                                    "package_path": str(bad)})
    with pytest.raises(exceptions.WorkerUnavailable) as caught:
        driver.prepare_execution(function)
    assert str(caught.value).startswith(
        f"The package of function {FUNCTION} cannot be loaded: the package "
        "is not a valid zip file")
    assert driver.list_workers(FUNCTION) == []


def test_a_package_escaping_its_directory_is_refused(driver, make_zip,
                                                     spec, conf):
    function = base.FunctionSpec(**{
        **spec().__dict__,
        "package_path": make_zip({"../../evil.py": "x = 1\n"}, "evil.zip")})
    with pytest.raises(exceptions.WorkerUnavailable) as caught:
        driver.prepare_execution(function)
    assert str(caught.value) == (
        f"The package of function {FUNCTION} cannot be loaded: the package "
        "member '../../evil.py' is outside the package.")
    assert not os.path.exists(os.path.join(conf.local.work_dir, "evil.py"))


def test_concurrent_executions_of_one_function_all_succeed(driver, spec):
    function = spec("import time\n\ndef main(n):\n"
                    "    time.sleep(0.2)\n    return n\n")
    results = {}

    def run(n):
        worker = driver.prepare_execution(function)
        results[n] = driver.run_execution(worker, function,
                                          request({"n": n})).output

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {n: n for n in range(4)}


def test_delete_pool_stops_its_workers(driver, conf):
    driver.delete_pool(RUNTIME)
    assert processes_under(conf.local.work_dir) == []
    with pytest.raises(exceptions.OrchestratorException):
        driver.get_pool(RUNTIME)


def test_stop_leaves_no_process_or_worker_directory_behind(make_driver,
                                                           spec, conf):
    drv = make_driver(pool_size=2)
    drv.create_pool(RUNTIME, IMAGE, trusted=True)
    function = spec("import time\n\ndef main():\n    time.sleep(60)\n",
                    timeout=60)
    worker = drv.prepare_execution(function)
    outcome = []

    def run():
        try:
            outcome.append(drv.run_execution(worker, function,
                                             request()).output)
        except exceptions.OrchestratorException as e:
            outcome.append(str(e))

    idle = len(process_tree(conf.local.work_dir))
    running = threading.Thread(target=run)
    running.start()
    wait_for(lambda: len(process_tree(conf.local.work_dir)) > idle,
             "the execution to start")
    drv.stop()
    running.join()
    assert outcome == [("The worker running the execution was stopped "
                        "before the execution finished.")]
    assert processes_under(conf.local.work_dir) == []
    assert os.listdir(conf.local.work_dir) == []

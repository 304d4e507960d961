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
"""The engine owns worker assignment: its load tracker, its scaling of
concurrent executions, scale-down and idle expiry, against a recording
orchestrator (the local driver has its own tests with real workers)."""

import threading

import pytest

from qinling.engine import endpoint as engine_endpoint
from qinling.engine import load as engine_load
from qinling.engine import runner as engine_runner
from qinling.orchestrator import base

SPEC = base.FunctionSpec(
    function_id="f1", function_version=0, runtime_id="rt", project_id="p",
    entry="main.main", timeout=5, cpu=100, memory_size=32 * 1024 * 1024,
    package_path="/nonexistent.zip", package_md5="m1")


class RecordingOrchestrator:
    """Counts workers per function version; records what it was told."""

    def __init__(self):
        self.lock = threading.Lock()
        self.workers = {}
        self.deleted = []

    def list_workers(self, function_id, version=0):
        with self.lock:
            names = self.workers.get((function_id, version), [])
            return [base.WorkerInfo(n, function_id, version) for n in names]

    def scaleup_function(self, function, count):
        key = (function.function_id, function.function_version)
        with self.lock:
            names = self.workers.setdefault(key, [])
            added = [f"w{len(names) + i}" for i in range(count)]
            names.extend(added)
        return [base.WorkerInfo(n, *key) for n in added]

    def scaledown_function(self, function_id, version, count):
        with self.lock:
            names = self.workers.get((function_id, version), [])
            released, names[:] = names[-count:], names[:-count]
        return [base.WorkerInfo(n, function_id, version) for n in released]

    def delete_function(self, function_id, version=0):
        with self.lock:
            self.workers.pop((function_id, version), None)
            self.deleted.append((function_id, version))


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def orchestrator():
    return RecordingOrchestrator()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def load(clock):
    return engine_load.LoadTracker(clock)


@pytest.fixture
def runner(conf, orchestrator, load):
    return engine_runner.ExecutionRunner(conf, orchestrator, None, load)


@pytest.fixture
def endpoint(conf, orchestrator, load):
    return engine_endpoint.EngineEndpoint(conf, orchestrator, None, load)


def run_concurrently(runner, load, calls):
    """``calls`` executions all running at once, each deciding on scale."""
    started = threading.Barrier(calls)
    done = threading.Barrier(calls)

    def execution():
        with load.running(("f1", 0)):
            started.wait()
            runner.scale_if_needed(SPEC)
            done.wait()

    threads = [threading.Thread(target=execution) for _ in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.parametrize("calls,workers", [(1, 1), (3, 1), (4, 2), (6, 2),
                                           (7, 3), (12, 4)])
def test_concurrent_executions_of_a_fresh_function_get_upstreams_workers(
        runner, load, orchestrator, calls, workers):
    run_concurrently(runner, load, calls)

    assert len(orchestrator.list_workers("f1")) == workers
    assert load.count(("f1", 0)) == 0


def test_executions_arriving_one_by_one_scale_the_same_way(
        runner, load, orchestrator):
    blocks = []
    for _ in range(6):
        block = load.running(("f1", 0))
        block.__enter__()
        blocks.append(block)
        runner.scale_if_needed(SPEC)
    for block in blocks:
        block.__exit__(None, None, None)

    assert len(orchestrator.list_workers("f1")) == 2


def test_scale_down_keeps_the_last_worker(endpoint, orchestrator):
    orchestrator.scaleup_function(SPEC, 3)

    released = endpoint.scaledown_function(None, "f1", 0, count=5)

    assert [w["worker_name"] for w in released] == ["w1", "w2"]
    assert endpoint.list_workers(None, "f1", 0) == [
        {"function_id": "f1", "function_version": 0, "worker_name": "w0"}]
    assert endpoint.scaledown_function(None, "f1", 0, count=1) == []


def test_idle_workers_are_released_after_the_expiration(
        endpoint, orchestrator, load, clock, conf):
    conf.set_override("function_service_expiration", 60, group="engine")
    with load.running(("f1", 0)):
        clock.now += 120
        assert endpoint.expire_idle_workers() == []   # still running
    clock.now += 59
    assert endpoint.expire_idle_workers() == []
    clock.now += 1

    assert endpoint.expire_idle_workers() == [("f1", 0)]
    assert orchestrator.deleted == [("f1", 0)]
    assert endpoint.expire_idle_workers() == []       # forgotten


def test_scale_up_resets_the_idle_clock(endpoint, orchestrator, load, clock,
                                        conf, monkeypatch):
    conf.set_override("function_service_expiration", 60, group="engine")
    monkeypatch.setattr(engine_runner.ExecutionRunner, "load_spec",
                        lambda self, ctx, fid, version: SPEC)
    endpoint.scaleup_function(None, "f1", 0, count=2)
    clock.now += 30
    with load.running(("f1", 0)):
        pass
    clock.now += 59

    assert endpoint.expire_idle_workers() == []
    assert len(endpoint.list_workers(None, "f1", 0)) == 2

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
"""What the engine's metrics count around an orchestrator driver."""

import pytest

from qinling import metrics
from qinling.engine import instrumentation
from qinling.orchestrator import base


class Driver:
    """Workers per (function, version), as the engine asks for them."""

    def __init__(self, workers=0):
        self.workers = workers
        self.seen_running = None

    def list_workers(self, function_id, version=0):
        return [base.WorkerInfo("w%d" % i, function_id, version)
                for i in range(self.workers)]

    def prepare_execution(self, function):
        self.workers = max(self.workers, 1)
        return self.list_workers(function.function_id)[0]

    def run_execution(self, worker, function, request):
        self.seen_running = metrics.RUNNING.labels(
            function.runtime_id)._value.get()
        return base.ExecutionResult(True, "ok", 0.1)

    def scaleup_function(self, function, count):
        self.workers += count
        return self.list_workers(function.function_id)[-count:]


def _spec(runtime_id):
    return base.FunctionSpec("fn", 0, runtime_id, "proj", "main.main", 5,
                             100, 1, "/p.zip", "md5")


def _cold(runtime_id):
    return metrics.COLD_STARTS.labels(runtime_id)._value.get()


@pytest.mark.parametrize("workers, cold", [(0, 1), (1, 0), (3, 0)])
def test_an_execution_is_a_cold_start_when_no_worker_served_it(
        workers, cold):
    runtime_id = "rt-prepare-%d" % workers
    orchestrator = instrumentation.InstrumentedOrchestrator(Driver(workers))

    orchestrator.prepare_execution(_spec(runtime_id))

    assert _cold(runtime_id) == cold


def test_each_worker_a_scale_up_loads_is_a_cold_start():
    orchestrator = instrumentation.InstrumentedOrchestrator(Driver(1))

    orchestrator.scaleup_function(_spec("rt-scale"), 2)

    assert _cold("rt-scale") == 2


def test_an_execution_counts_as_running_while_it_runs():
    driver = Driver(1)
    orchestrator = instrumentation.InstrumentedOrchestrator(driver)
    spec = _spec("rt-run")

    orchestrator.run_execution(orchestrator.prepare_execution(spec), spec,
                               None)

    assert driver.seen_running == 1
    assert metrics.RUNNING.labels("rt-run")._value.get() == 0

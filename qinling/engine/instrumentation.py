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
"""The engine's metrics, taken around the orchestrator driver.

:class:`InstrumentedOrchestrator` passes every call to the driver and
counts what the engine's metrics need (running executions, cold starts);
:func:`pool_counter` gives :class:`qinling.metrics.WorkersCollector` the
workers of every runtime at scrape time. Any driver gets these metrics
without knowing about them.
"""

import contextlib

from qinling import context as qinling_context
from qinling import exceptions
from qinling import metrics
from qinling.db import api as db_api
from qinling.orchestrator import base


class InstrumentedOrchestrator(base.Orchestrator):
    """An orchestrator driver, measured.

    :param driver: the :class:`qinling.orchestrator.base.Orchestrator`.
    """

    def __init__(self, driver):
        self.driver = driver

    def __getattr__(self, name):
        # A driver's optional capabilities and attributes pass through.
        return getattr(self.driver, name)

    def create_pool(self, runtime_id, image, trusted):
        return self.driver.create_pool(runtime_id, image, trusted)

    def update_pool(self, runtime_id, image):
        return self.driver.update_pool(runtime_id, image)

    def delete_pool(self, runtime_id):
        return self.driver.delete_pool(runtime_id)

    def get_pool(self, runtime_id):
        return self.driver.get_pool(runtime_id)

    def _cold(self, function):
        return not self.driver.list_workers(function.function_id,
                                            function.function_version)

    def prepare_execution(self, function):
        cold = self._cold(function)
        worker = self.driver.prepare_execution(function)
        if cold:
            metrics.COLD_STARTS.labels(function.runtime_id).inc()
        return worker

    def run_execution(self, worker, function, request):
        with _running(function.runtime_id):
            return self.driver.run_execution(worker, function, request)

    def scaleup_function(self, function, count):
        added = self.driver.scaleup_function(function, count)
        if added:
            metrics.COLD_STARTS.labels(function.runtime_id).inc(len(added))
        return added

    def scaledown_function(self, function_id, version, count):
        return self.driver.scaledown_function(function_id, version, count)

    def delete_function(self, function_id, version=0):
        return self.driver.delete_function(function_id, version)

    def list_workers(self, function_id, version=0):
        return self.driver.list_workers(function_id, version)

    def stop(self):
        return self.driver.stop()


@contextlib.contextmanager
def _running(runtime_id):
    gauge = metrics.RUNNING.labels(runtime_id)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


def pool_counter(orchestrator):
    """A callable giving ``{runtime_id: (total, free)}`` of every runtime
    this engine has a pool for."""
    def pools():
        result = {}
        admin = qinling_context.admin_context()
        for runtime in db_api.runtime_list_by_engine(admin):
            try:
                capacity = orchestrator.get_pool(runtime.id)
            except exceptions.OrchestratorException:
                continue
            result[runtime.id] = (capacity.total, capacity.available)
        return result
    return pools

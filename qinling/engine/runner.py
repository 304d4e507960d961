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
"""Runs one execution on a worker and writes its final status, once.

Every path ends the execution: a result from the worker gives ``success``
or ``failed``; a worker that cannot be had or reached gives ``error`` with
the reason as the output. The row is only written while it is still
``running``, so a late or repeated answer never overwrites a final one.

Before an execution runs, the runner makes the autoscaling decision of its
function version (:mod:`qinling.engine.scaling`) with the running counts of
:class:`qinling.engine.load.LoadTracker`, and asks the orchestrator for one
more worker when the decision says so.
"""

import time

from oslo_log import log as logging

from qinling import context as qinling_context
from qinling import exceptions
from qinling import metrics
from qinling import notifications
from qinling import states
from qinling.db import api as db_api
from qinling.engine import scaling
from qinling.orchestrator import base as orchestrator_base
from qinling.storage import swift_objects

LOG = logging.getLogger(__name__)


class ExecutionRunner:
    """Runs executions and keeps their functions' workers scaled.

    :param load: the engine's LoadTracker.
    """

    def __init__(self, conf, orchestrator, storage, load, keystone=None):
        self._conf = conf
        self._orchestrator = orchestrator
        self._storage = storage
        self._load = load
        #: with auth on: trust-scoped tokens for the functions' owners.
        self._keystone = keystone
        #: with auth on: functions whose code is a user's Swift object.
        self._swift = (swift_objects.SwiftObjects(conf, keystone)
                       if keystone is not None else None)

    def function_spec(self, function, version=None):
        """The worker-side description of a function or one version.

        A Swift function's object is asked for its etag at every call
        and fetched when that is new; the etag stands for the package's
        md5, so a replaced object runs on fresh workers.

        :param version: a function version row; None for the function.
        :raises StorageNotFoundException: the package or object is gone.
        """
        source = version or function
        number = version.version_number if version else 0
        if source.code.get("source") == "swift":
            path, md5 = self._swift_package(function)
        else:
            md5 = source.code["md5sum"]
            path = self._storage.local_path(function.project_id,
                                            function.id, md5, number)
        return orchestrator_base.FunctionSpec(
            function_id=function.id,
            function_version=number,
            runtime_id=function.runtime_id,
            project_id=function.project_id,
            entry=source.entry,
            timeout=source.timeout,
            cpu=source.cpu,
            memory_size=source.memory_size,
            package_path=path,
            package_md5=md5,
        )

    def forget_function(self, function_id):
        """Drop what this host keeps for a function between executions
        (a Swift function's fetched object)."""
        if self._swift is not None:
            self._swift.forget(function_id)

    def _swift_package(self, function):
        """``(path, etag)`` of a Swift function's object, fetched through
        the function's trust."""
        if self._swift is None or not function.trust_id:
            raise exceptions.StorageProviderException(
                "The function's code is a Swift object, which needs "
                "Keystone auth ([pecan]auth_enable).")
        info = function.code["swift"]
        return self._swift.fetch(
            self._keystone.trust_token(function.trust_id),
            function.project_id, function.id, info["container"],
            info["object"])

    def load_spec(self, ctx, function_id, version=0):
        """The FunctionSpec of a function (version 0) or one of its versions.

        :raises DBEntityNotFoundError: no such function or version.
        """
        function = db_api.function_get_by_engine(ctx, function_id)
        row = None
        if version:
            row = db_api.version_get_by_engine(ctx, function.id, version)
        return self.function_spec(function, row)

    def scale_if_needed(self, spec):
        """Add a worker to the function version if its load asks for one.

        Called with the execution already counted as running; the decision
        and the scale-up happen under the key's lock, so concurrent
        executions see each other's workers.

        :raises OrchestratorException: the worker could not be added.
        """
        key = (spec.function_id, spec.function_version)
        with self._load.decision_lock(key):
            workers = len(self._orchestrator.list_workers(*key))
            running = self._load.count(key)
            if scaling.needs_worker(running, workers,
                                    self._conf.engine.function_concurrency):
                LOG.debug("Function %s version %s: %d running on %d "
                          "worker(s); adding one", key[0], key[1], running,
                          workers)
                self._orchestrator.scaleup_function(spec, 1)

    def run(self, ctx, execution_id):
        """Run the execution ``execution_id`` if it is still running.

        :returns: the columns written when this call ended the execution
            (see ``db_api.execution_finish_by_engine``), else None.
        """
        admin = qinling_context.admin_context()
        try:
            loaded = db_api.execution_to_run_by_engine(
                qinling_context.Context(project_id=ctx.project_id),
                execution_id)
        except exceptions.DBEntityNotFoundError:
            LOG.info("Execution %s was deleted before it ran", execution_id)
            return None
        if loaded.execution.status != states.RUNNING:
            return None
        start = time.monotonic()
        usage = {}
        try:
            status, result, logs, usage = self._run(ctx, loaded)
        except exceptions.QinlingException as e:
            status, result, logs = states.ERROR, {"output": e.message}, ""
        except Exception:
            LOG.exception("Execution %s failed in the engine", execution_id)
            status, result, logs = (
                states.ERROR, {"output": "Function execution failed."}, "")
        result.setdefault("duration", round(time.monotonic() - start, 3))
        final = db_api.execution_finish_by_engine(
            admin, execution_id, status, result, logs,
            cpu_time=usage.get("cpu_time"),
            memory_peak=usage.get("memory_peak"))
        if final is None:
            LOG.info("Execution %s had already ended", execution_id)
        else:
            metrics.execution_ended(loaded, final)
            notifications.execution_ended(ctx, loaded, final)
        return final

    def _run(self, ctx, loaded):
        """:param loaded: the ExecutionToRun."""
        if loaded.missing is not None:
            raise loaded.missing
        execution, function, version = (loaded.execution, loaded.function,
                                        loaded.version)
        spec = self.function_spec(function, version)
        auth = None
        if self._keystone is not None and function.trust_id:
            auth = self._keystone.trust_token(function.trust_id)
        request = orchestrator_base.ExecutionRequest(
            execution_id=execution.id,
            input=execution.input,
            request_id=ctx.request_id,
            auth=auth,
        )
        with self._load.running((spec.function_id, spec.function_version)):
            self.scale_if_needed(spec)
            worker = self._orchestrator.prepare_execution(spec)
            result = self._orchestrator.run_execution(worker, spec, request)
        status = states.SUCCESS if result.success else states.FAILED
        usage = {"cpu_time": result.cpu_time,
                 "memory_peak": result.memory_peak}
        return (status, {"output": result.output,
                         "duration": result.duration}, result.logs, usage)

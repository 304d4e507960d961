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
"""Runs one attempt of an execution on a worker and writes its outcome,
once.

Every path ends the attempt: a result from the worker gives ``success``
or ``failed``; a worker that cannot be had or reached gives ``error`` with
the reason as the output. A failed attempt of an asynchronous execution
goes back to the queue while its function's ``retry_attempts`` allow
(:mod:`qinling.engine.retries`); its final failure goes to the function's
``on_failure`` destination. The row is only written while this engine's
claim on it holds, so a late or repeated answer never overwrites a final
one.

Before an execution runs, the runner makes the autoscaling decision of its
function version (:mod:`qinling.engine.scaling`) with the running counts of
:class:`qinling.engine.load.LoadTracker`, and asks the orchestrator for one
more worker when the decision says so.
"""

import time

from oslo_log import log as logging
from oslo_utils import timeutils

from qinling import context as qinling_context
from qinling import exceptions
from qinling import metrics
from qinling import notifications
from qinling import states
from qinling import zaqar
from qinling.db import api as db_api
from qinling.engine import retries
from qinling.engine import scaling
from qinling.orchestrator import base as orchestrator_base
from qinling.storage import swift_objects

LOG = logging.getLogger(__name__)


class ClaimLost(Exception):
    """This engine's claim on an execution lapsed before it started."""


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
        #: called with (ctx, execution id) when this runner queues an
        #: execution (an on_failure destination's); set by the engine.
        self.on_queued = None
        #: this engine's RuntimePools; set by the engine.
        self.pools = None
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

    def run(self, ctx, loaded, engine_id):
        """Run one attempt of an execution ``engine_id`` claimed, and
        record how it went: the final status, or, for an asynchronous
        execution whose function allows another attempt, a retry.

        :param loaded: the ExecutionToRun the claim read.
        :returns: the columns written when this call ended the execution
            (see ``db_api.execution_finish_by_engine``), else None.
        """
        admin = qinling_context.admin_context()
        execution, function = loaded.execution, loaded.function
        now = timeutils.utcnow()
        if function is not None and retries.too_old(
                execution.sync, execution.attempts, execution.created_at,
                function.max_event_age, now):
            return self._finish(ctx, loaded, engine_id, states.ERROR, {
                "output": retries.TOO_OLD % function.max_event_age,
                "duration": 0}, "", {})
        start = time.monotonic()
        usage = {}
        try:
            status, result, logs, usage = self._run(ctx, loaded, engine_id)
        except ClaimLost:
            LOG.warning("Execution %s: this engine's lease lapsed before it "
                        "started; left to the engine that has it",
                        execution.id)
            return None
        except exceptions.QinlingException as e:
            status, result, logs = states.ERROR, {"output": e.message}, ""
        except Exception:
            LOG.exception("Execution %s failed in the engine", execution.id)
            status, result, logs = (
                states.ERROR, {"output": "Function execution failed."}, "")
        result.setdefault("duration", round(time.monotonic() - start, 3))
        if status != states.SUCCESS and function is not None:
            at = retries.next_attempt(
                execution.sync, execution.attempts, function.retry_attempts,
                execution.created_at, function.max_event_age,
                timeutils.utcnow(), self._conf.executions.retry_backoff)
            if at is not None:
                LOG.info("Execution %s attempt %d ended %s; retrying from "
                         "%s", execution.id, execution.attempts, status, at)
                db_api.execution_requeue_by_engine(
                    admin, execution.id, engine_id, at, result)
                return None
        return self._finish(ctx, loaded, engine_id, status, result, logs,
                            usage)

    def _finish(self, ctx, loaded, engine_id, status, result, logs,
                usage):
        execution = loaded.execution
        final = db_api.execution_finish_by_engine(
            qinling_context.admin_context(), execution.id, status, result,
            logs,
            cpu_time=usage.get("cpu_time"),
            memory_peak=usage.get("memory_peak"), engine_id=engine_id)
        if final is None:
            LOG.info("Execution %s had already ended, or another engine "
                     "has it", execution.id)
            return None
        final["attempts"] = execution.attempts
        metrics.execution_ended(loaded, final)
        notifications.execution_ended(ctx, loaded, final)
        if status != states.SUCCESS and not execution.sync:
            self._report_failure(execution, loaded.function, status, result)
        return final

    def _post_failure(self, execution, function, event):
        """Post a final failure to the function's Zaqar queue, as a
        message of the function's project (through its trust with auth
        on)."""
        queue = function.on_failure[len(zaqar.DESTINATION_PREFIX):]
        base = zaqar.endpoint(self._conf, self._keystone)
        try:
            if base is None:
                raise exceptions.BadGatewayException(
                    "no Zaqar endpoint is configured")
            token = None
            if self._keystone is not None and function.trust_id:
                token = self._keystone.trust_token(function.trust_id)
            zaqar.post_message(self._conf, base, execution.project_id,
                               queue, event, token=token)
        except Exception as e:  # a destination's failure ends here
            LOG.warning("Execution %s failed and its failure cannot be "
                        "posted to the Zaqar queue %s: %s", execution.id,
                        queue, getattr(e, "message", e))
            return
        LOG.info("Execution %s failed; its failure was posted to the Zaqar "
                 "queue %s", execution.id, queue)

    def report_lapsed(self, execution_id, final):
        """Count and notify the end of an execution whose engine's lease
        lapsed, as :meth:`run` does for the executions it ends."""
        admin = qinling_context.admin_context()
        try:
            project_id = db_api.execution_get(admin, execution_id).project_id
            loaded = db_api.execution_to_run_by_engine(
                qinling_context.Context(project_id=project_id), execution_id)
        except exceptions.DBEntityNotFoundError:
            return
        metrics.execution_ended(loaded, final)
        notifications.execution_ended(admin, loaded, final)

    def report_failure(self, execution_id, status, result):
        """Hand an asynchronous execution's final failure to its function's
        ``on_failure`` destination, if it has one."""
        admin = qinling_context.admin_context()
        try:
            execution = db_api.execution_get(admin, execution_id)
            function = db_api.function_get_by_engine(
                admin, execution.function_id)
        except exceptions.DBEntityNotFoundError:
            return
        self._report_failure(execution, function, status, result)

    def _report_failure(self, execution, function, status, result):
        if function is None or not function.on_failure:
            return
        if (execution.description or "").startswith(ON_FAILURE_PREFIX):
            # A failure's delivery failed: handing it on could loop.
            LOG.warning("Execution %s (%s) failed", execution.id,
                        execution.description)
            return
        event = {
            "execution_id": execution.id,
            "function_id": execution.function_id,
            "function_version": execution.function_version,
            "status": status,
            "result": result,
            "attempts": execution.attempts,
            "input": _original_input(execution.input),
        }
        owner = qinling_context.Context(project_id=execution.project_id)
        if function.on_failure.startswith(zaqar.DESTINATION_PREFIX):
            self._post_failure(execution, function, event)
            return
        try:
            failure, _target = db_api.execution_create_resolved(owner, {
                "function_id": function.on_failure,
                "description": ON_FAILURE_PREFIX + execution.id,
                "sync": False,
                "input": event,
                "status": states.RUNNING,
            }, check=_runtime_available)
        except exceptions.QinlingException as e:
            LOG.warning("Execution %s failed and its on_failure function "
                        "%s cannot be run: %s", execution.id,
                        function.on_failure, e.message)
            return
        LOG.info("Execution %s failed; execution %s of function %s has its "
                 "failure", execution.id, failure.id, function.on_failure)
        if self.on_queued is not None:
            self.on_queued(owner, failure.id)

    def _run(self, ctx, loaded, engine_id):
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
            environment=(version or function).environment,
        )
        with self._load.running((spec.function_id, spec.function_version)):
            if self.pools is not None:
                self.pools.ensure(spec.runtime_id)
            self.scale_if_needed(spec)
            worker = self._orchestrator.prepare_execution(spec)
            if not execution.sync and not \
                    db_api.execution_mark_started_by_engine(
                        qinling_context.admin_context(), execution.id,
                        engine_id):
                # Our lease lapsed and the execution went back to the
                # queue: another engine runs it.
                raise ClaimLost()
            # From here a lapsed lease may mean it ran; before, it surely
            # did not (sync executions are not recorded: never retried).
            result = self._orchestrator.run_execution(worker, spec, request)
        status = states.SUCCESS if result.success else states.FAILED
        usage = {"cpu_time": result.cpu_time,
                 "memory_peak": result.memory_peak}
        return (status, {"output": result.output,
                         "duration": result.duration}, result.logs, usage)


#: the description of an execution that delivers another's failure.
ON_FAILURE_PREFIX = "on_failure of execution "
#: the worker protocol's key for an input that is not a JSON object (see
#: ``ExecutionRequest.input``).
RAW_INPUT_KEY = "__function_input"


def _original_input(stored):
    """The input an execution was given, as its caller wrote it: a JSON
    object, or the raw text."""
    if isinstance(stored, dict) and set(stored) == {RAW_INPUT_KEY}:
        return stored[RAW_INPUT_KEY]
    return stored


def _runtime_available(target):
    if target.runtime.status != states.AVAILABLE:
        raise exceptions.RuntimeNotAvailableException(
            "Runtime %s is not available." % target.runtime.id)

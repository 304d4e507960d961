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
"""The engine's RPC endpoint: one method per :class:`qinling.rpc.EngineClient`
call, plus :meth:`EngineEndpoint.expire_idle_workers` for the engine's own
periodic task."""

from oslo_log import log as logging
import oslo_messaging as messaging

from qinling import context as qinling_context
from qinling import exceptions
from qinling import rpc
from qinling import states
from qinling.db import api as db_api
from qinling.engine import dispatcher
from qinling.engine import load as engine_load
from qinling.engine import pools as engine_pools
from qinling.engine import runner
from qinling.engine import scaling

LOG = logging.getLogger(__name__)


class EngineEndpoint:

    target = messaging.Target(version=rpc.API_VERSION)

    def __init__(self, conf, orchestrator, storage, load=None,
                 keystone=None):
        self._conf = conf
        self._orchestrator = orchestrator
        self._load = load or engine_load.LoadTracker()
        self._runner = runner.ExecutionRunner(conf, orchestrator, storage,
                                              self._load, keystone)
        self.pools = engine_pools.RuntimePools(orchestrator)
        self.dispatcher = dispatcher.Dispatcher(conf, self._runner)
        self._runner.pools = self.pools
        self._runner.on_queued = self.dispatcher.offer

    def create_runtime(self, ctx, runtime_id):
        """Build this engine's pool of a new runtime (a fanout: every
        engine builds one)."""
        admin = qinling_context.admin_context()
        try:
            runtime = db_api.runtime_get_by_engine(admin, runtime_id)
        except exceptions.DBEntityNotFoundError:
            return
        self.pools.build(runtime)

    def update_runtime(self, ctx, runtime_id, image, pre_image):
        """Move a runtime (status ``upgrading``) to a new image.

        On failure the runtime keeps ``pre_image``; either way it ends
        ``available``, with the reason of a failure in ``status_reason``.
        A fanout: an engine with no pool of the runtime has nothing to
        move (it builds one from the runtimes table when it needs it),
        and leaves the outcome to the engines that have one.
        """
        if not self.pools.has(runtime_id):
            LOG.info("Runtime %s moves to image %s; this engine has no "
                     "pool of it", runtime_id, image)
            return
        admin = qinling_context.admin_context()
        try:
            pool = self._orchestrator.update_pool(runtime_id, image)
            values = {"status": states.AVAILABLE,
                      "status_reason": pool.notice}
        except exceptions.OrchestratorException as e:
            LOG.warning("Runtime %s cannot move to image %s: %s",
                        runtime_id, image, e.message)
            try:
                self._orchestrator.update_pool(runtime_id, pre_image)
            except exceptions.OrchestratorException as again:
                LOG.error("Runtime %s cannot go back to image %s: %s",
                          runtime_id, pre_image, again.message)
            values = {"status": states.AVAILABLE, "image": pre_image,
                      "status_reason": f"The image {image} could not be "
                                       f"used: {e.message}"}
        self.pools.updated(runtime_id, values.get("image", image))
        db_api.runtime_update_by_engine(admin, runtime_id, values,
                                        expected_status=states.UPGRADING)

    def get_runtime_pool(self, ctx, runtime_id):
        """:returns: ``{"total": N, "available": M}`` (zeros without a
        pool)."""
        try:
            capacity = self._orchestrator.get_pool(runtime_id)
        except exceptions.OrchestratorException:
            return {"total": 0, "available": 0}
        return {"total": capacity.total, "available": capacity.available}

    def delete_runtime(self, ctx, runtime_id):
        self.pools.delete(runtime_id)
        db_api.runtime_delete_by_engine(qinling_context.admin_context(),
                                        runtime_id)

    @messaging.expected_exceptions(exceptions.QinlingException)
    def create_execution(self, ctx, execution_id):
        """Claim a synchronous execution and run it.

        :returns: the final columns if this call ended it (see
            ``EngineClient.create_execution``), else None.
        """
        final = self.dispatcher.run_sync(ctx, execution_id)
        if final is None:
            return None
        return dict(final, updated_at=final["updated_at"].isoformat())

    def queue_execution(self, ctx, execution_id):
        """An asynchronous execution was queued: claim and start it if
        this engine has room, else leave it to the engines' claim loops."""
        self.dispatcher.offer(ctx, execution_id)

    def delete_function(self, ctx, function_id, function_version=0):
        """Release every worker of a function version (delete, detach)."""
        self._orchestrator.delete_function(function_id, function_version)
        self._load.forget((function_id, function_version))
        if not function_version:
            self._runner.forget_function(function_id)

    @messaging.expected_exceptions(exceptions.QinlingException)
    def scaleup_function(self, ctx, function_id, function_version=0,
                         count=1):
        """Give a function version ``count`` more workers.

        :returns: the workers added, as :meth:`list_workers` shows them.
        :raises NotFoundException: no such function or version.
        :raises OrchestratorException: no worker could be added.
        """
        admin = qinling_context.admin_context()
        spec = self._runner.load_spec(admin, function_id, function_version)
        key = (function_id, function_version)
        with self._load.decision_lock(key):
            added = self._orchestrator.scaleup_function(spec, count)
        self._load.touch(key)
        return [_worker_dict(w) for w in added]

    def scaledown_function(self, ctx, function_id, function_version=0,
                           count=1):
        """Release up to ``count`` workers of a function version, always
        keeping one (upstream's rule).

        :returns: the workers released, as :meth:`list_workers` shows them.
        """
        key = (function_id, function_version)
        with self._load.decision_lock(key):
            workers = self._orchestrator.list_workers(*key)
            release = scaling.scale_down_count(len(workers), count)
            released = (self._orchestrator.scaledown_function(
                function_id, function_version, release) if release else [])
        return [_worker_dict(w) for w in released]

    def list_workers(self, ctx, function_id, function_version=0):
        """The workers of a function version.

        :returns: ``[{"function_id", "function_version", "worker_name"}]``.
        """
        return [_worker_dict(w) for w in self._orchestrator.list_workers(
            function_id, function_version)]

    def expire_idle_workers(self):
        """Release the workers of function versions idle for
        ``[engine]function_service_expiration`` seconds.

        :returns: the (function_id, version) keys released.
        """
        expiration = self._conf.engine.function_service_expiration
        released = []
        for key in self._load.idle(expiration):
            with self._load.decision_lock(key):
                if key not in self._load.idle(expiration):
                    continue  # an execution started meanwhile
                LOG.info("Releasing the idle workers of function %s "
                         "version %s", *key)
                self._orchestrator.delete_function(*key)
                self._load.forget(key)
            released.append(key)
        return released

    def recover(self):
        """Rebuild what this engine holds in memory after a start.

        Pools of runtimes are (re)created, those in ``error`` too;
        runtimes left ``deleting`` are finished off. Executions are not
        touched: those this engine held in a former life come back
        through their leases (see :mod:`qinling.engine.dispatcher`).
        """
        self.pools.reconcile(retry_errors=True)


def _worker_dict(worker):
    return {"function_id": worker.function_id,
            "function_version": worker.function_version,
            "worker_name": worker.name}

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
"""The local orchestrator: warm pools of sandboxed runtime servers.

Pool decisions are pure functions in :mod:`.pool`; this module applies them
under one lock, and :mod:`.launcher` does the side effects (start, unzip,
limit, stop) outside it. The engine decides when a function gets more or
fewer workers; this driver decides which ones.
"""

import time

from oslo_log import log as logging

from qinling import exceptions
from qinling import metrics
from qinling.orchestrator import base
from qinling.orchestrator import worker_client
from qinling.orchestrator.local import background
from qinling.orchestrator.local import launcher as local_launcher
from qinling.orchestrator.local import package
from qinling.orchestrator.local import pool
from qinling.orchestrator.local import state

LOG = logging.getLogger(__name__)

#: Seconds to wait for a worker that failed a request to be seen as dead.
DEATH_GRACE = 1.0
#: Seconds a scale-up waits before it refills the free pool.
REFILL_DELAY = 0.5
DIED_MESSAGE = "The worker running the execution died unexpectedly."
STOPPED_MESSAGE = ("The worker running the execution was stopped before the "
                   "execution finished.")


class LocalOrchestrator(base.Orchestrator):
    """Runs each runtime's workers as local, sandboxed processes.

    :param conf: the service's oslo.config ConfigOpts (``[local]`` and
        ``[DEFAULT]state_path`` are read).
    :raises OrchestratorException: ``[local]`` names a worker user that
        does not exist.
    """

    def __init__(self, conf):
        self._conf = conf
        #: every record, and the state changes on them (under its lock).
        self._t = state.WorkerTable(conf)
        self._tasks = background.Tasks()
        self._launcher = local_launcher.Launcher(conf)

    # --- the contract -----------------------------------------------------

    def create_pool(self, runtime_id, image, trusted):
        """Start [local]pool_size free workers for a runtime.

        The workers start in parallel; this returns once all answer ping.
        A no-op when the runtime already has a pool (the engine calls this
        for every runtime at start-up).

        :param runtime_id: the runtime's id.
        :param image: the runtime's image; its name without the tag must be
            a key of [local]runtime_images.
        :param trusted: False to refuse the runtime unless its workers can
            be sandboxed (or the operator turned the sandbox off).
        :returns: PoolStatus; its notice says when workers run unsandboxed.
        :raises OrchestratorException: the image is not supported, its
            interpreter is missing, it needs a sandbox this host cannot
            give, or a worker did not start (none is left running then).
        """
        runtime, notice = self._launcher.runtime(image, trusted)
        status = base.PoolStatus(isolated=self._launcher.sandbox.enabled,
                                 notice=notice)
        with self._t.lock:
            self._t.check_running()
            if runtime_id in self._t.runtimes:
                return status
            self._t.runtimes[runtime_id] = runtime
            names = self._t.new_workers(
                runtime_id, self._conf.local.pool_size, "spawn")
        errors = [e for e in self._start_workers(names) if e]
        if errors:
            self.delete_pool(runtime_id)
            raise errors[0]
        LOG.info("Pool of runtime %s ready with %d workers (%s)",
                 runtime_id, len(names), runtime.kind)
        return status

    def update_pool(self, runtime_id, image):
        """Move a runtime's pool to a new image.

        Free workers stop now, busy ones after their running executions;
        [local]pool_size new free workers start with the new image, and
        this returns once they answer.

        :param runtime_id: the runtime's id.
        :param image: the new image, as for :meth:`create_pool`.
        :returns: PoolStatus of the new image.
        :raises OrchestratorException: the runtime has no pool, or the new
            image cannot run here (nothing changes then), or its workers
            did not start.
        """
        with self._t.lock:
            self._t.check_pool(runtime_id,
                               exceptions.OrchestratorException)
            trusted = self._t.runtimes[runtime_id].trusted
        runtime, notice = self._launcher.runtime(image, trusted)
        with self._t.lock:
            self._t.check_pool(runtime_id,
                               exceptions.OrchestratorException)
            self._t.runtimes[runtime_id] = runtime
            old = [w.name for w in self._t.runtime_workers(runtime_id)]
            procs = self._t.release(old)
            names = self._t.refill(runtime_id)
        background.stop_all(procs)
        errors = [e for e in self._start_workers(names) if e]
        if errors:
            raise errors[0]
        LOG.info("Pool of runtime %s moved to image %s", runtime_id, image)
        return base.PoolStatus(isolated=self._launcher.sandbox.enabled,
                               notice=notice)

    def delete_pool(self, runtime_id):
        """Stop every worker of a runtime, busy or not, and forget the pool.

        :param runtime_id: the runtime's id; unknown runtimes are ignored.
        """
        with self._t.lock:
            self._t.runtimes.pop(runtime_id, None)
            names = [w.name for w in self._t.workers.values()
                     if w.runtime_id == runtime_id]
            procs = self._t.release(names, drain=False)
        background.stop_all(procs)

    def get_pool(self, runtime_id):
        """Count a runtime's workers; dead ones are replaced on the way.

        :param runtime_id: the runtime's id.
        :returns: PoolCapacity: total = free and assigned workers,
            available = free workers.
        :raises OrchestratorException: the runtime has no pool.
        """
        with self._t.lock:
            self._t.check_pool(runtime_id,
                               exceptions.OrchestratorException)
            dead, refill = self._t.heal(runtime_id)
            workers = self._t.runtime_workers(runtime_id)
            total, available = pool.capacity(workers)
        self._tasks.run(background.stop_all, dead)
        self._tasks.run(self._start_workers, refill)
        return base.PoolCapacity(total=total, available=available)

    def prepare_execution(self, function):
        """Return a worker ready to run the function version.

        Reuses the least busy worker serving the same function, version and
        package md5, or waits for one that is being loaded; otherwise
        claims the oldest free worker (or starts one when none is free)
        and loads the package into it. Workers holding an older package of
        the function version are released, and the free pool is refilled
        in the background.

        :param function: the function version to serve.
        :returns: the WorkerInfo to pass to :meth:`run_execution`.
        :raises WorkerUnavailable: the runtime has no pool, the package
            cannot be loaded, or no worker could be started.
        """
        base.check_function_id(function.function_id)
        with self._t.lock:
            dead, decision = self._t.decide(function)
            stale = self._t.release(decision.release)
            name = decision.reuse or self._t.assign(
                function, decision.claim)
            refill = self._t.refill(function.runtime_id)
        self._tasks.run(background.stop_all, dead + stale)
        self._tasks.run(self._start_workers, refill)
        if not decision.reuse:
            self._load(name, function, spawn=decision.spawn)
        return base.WorkerInfo.of(name, function)

    def scaleup_function(self, function, count):
        """Give a function version ``count`` more workers.

        Claims the oldest free workers (starting new ones when too few are
        free), loads the package into all of them in parallel and refills
        the free pool in the background.

        :param function: the function version to serve.
        :param count: how many workers to add, at least 1.
        :returns: WorkerInfo of the workers added.
        :raises WorkerUnavailable: the runtime has no pool, or not one
            worker could be added.
        """
        base.check_function_id(function.function_id)
        with self._t.lock:
            self._t.check_pool(function.runtime_id,
                               exceptions.WorkerUnavailable)
            dead, _ = self._t.heal(function.runtime_id, refill=False)
            claim, spawn = pool.scale_up_plan(
                self._t.runtime_workers(function.runtime_id), count)
            names = [(self._t.assign(function, n), False)
                     for n in claim]
            names += [(self._t.assign(function, None), True)
                      for _ in range(spawn)]
            refill = self._t.refill(function.runtime_id)
        self._tasks.run(background.stop_all, dead)
        # Starting an interpreter takes the CPU a first execution on the
        # claimed workers needs; the free pool can wait for that.
        self._tasks.run(self._start_workers, refill, delay=REFILL_DELAY)
        errors = background.in_parallel(
            lambda item: self._load(item[0], function, spawn=item[1]),
            names)
        added = [base.WorkerInfo.of(n, function)
                 for (n, _), e in zip(names, errors, strict=True) if not e]
        if not added:
            raise next(e for e in errors if e)
        LOG.info("Function %s version %s got %d more worker(s)",
                 function.function_id, function.function_version, len(added))
        return added

    def scaledown_function(self, function_id, version, count):
        """Release ``count`` workers of a function version.

        Idle workers go first, the newest first; busy ones finish their
        running executions and take no new ones.

        :param function_id: the function's id.
        :param version: the version number, 0 for the function itself.
        :param count: how many workers to release.
        :returns: WorkerInfo of the workers released.
        """
        with self._t.lock:
            names = pool.scale_down_choice(self._t.workers.values(),
                                           function_id, version, count)
            procs = self._t.release(names)
        background.stop_all(procs)
        return [base.WorkerInfo(name=n, function_id=function_id,
                                function_version=version) for n in names]

    def run_execution(self, worker, function, request):
        """Run one execution on a worker and wait for its result.

        :param worker: a worker from :meth:`prepare_execution`.
        :param function: the function version the worker serves; its
            limits are applied to the worker's execution cgroups first.
        :param request: the execution.
        :returns: the ExecutionResult; a failure of the function itself
            (exception, timeout, limit) or a worker that died under it has
            ``success=False``.
        :raises OrchestratorException: the worker is no longer available,
            was stopped during the execution, did not answer, or cannot
            be given the function's limits.
        """
        with self._t.lock:
            record = self._t.workers.get(worker.name)
            proc = self._t.procs.get(worker.name)
            if (record is None or proc is None
                    or record.state not in (pool.ASSIGNED, pool.DRAINING)):
                raise exceptions.OrchestratorException(
                    f"Worker {worker.name} is no longer available.")
            record.in_flight += 1
        start = time.monotonic()
        try:
            self._launcher.limit(proc, function)
            try:
                answer = proc.client.execute(
                    worker_client.request_body(function, request),
                    function.timeout)
            except exceptions.OrchestratorException:
                if not self._died(worker.name, proc):
                    raise
                return base.ExecutionResult(
                    success=False, output=DIED_MESSAGE,
                    duration=round(time.monotonic() - start, 3))
        finally:
            self._execution_done(record)
        return worker_client.result(answer)

    def delete_function(self, function_id, version=0):
        """Release every worker serving a function version.

        Idle workers stop now; busy ones finish their running executions
        first and take no new ones.

        :param function_id: the function's id.
        :param version: the version number, 0 for the function itself.
        """
        with self._t.lock:
            names = [w.name for w in self._t.workers.values()
                     if pool.serves(w, function_id, version)]
            procs = self._t.release(names)
        background.stop_all(procs)

    def list_workers(self, function_id, version=0):
        """List the live workers loading or serving a function version.

        :param function_id: the function's id.
        :param version: the version number, 0 for the function itself.
        :returns: WorkerInfo of each, oldest first; possibly none.
        """
        with self._t.lock:
            return [base.WorkerInfo(name=w.name, function_id=function_id,
                                    function_version=version)
                    for w in sorted(self._t.workers.values(),
                                    key=lambda w: w.seq)
                    if pool.serves(w, function_id, version)
                    and self._t.alive(w.name)]

    def stop(self):
        """Stop every worker and wait for background starts and stops.

        The driver refuses new work afterwards. Used at shutdown and by
        tests.
        """
        with self._t.lock:
            self._t.stopped = True
            self._t.runtimes.clear()
            procs = self._t.release(list(self._t.workers), drain=False)
        background.stop_all(procs)
        self._tasks.wait()
        self._launcher.stop()

    # --- side effects (no lock held) --------------------------------------

    def _start_workers(self, names):
        """Start workers in parallel; returns one error (or None) each."""
        return background.in_parallel(self._start_worker, names)

    def _start_worker(self, name):
        """Start the process of a STARTING or LOADING worker record."""
        with self._t.lock:
            record = self._t.workers.get(name)
            runtime = (self._t.runtimes.get(record.runtime_id)
                       if record else None)
        if runtime is None:
            raise exceptions.OrchestratorException(
                f"Worker {name} was released while starting.")
        started = time.monotonic()
        try:
            proc = self._launcher.start(name, runtime)
        except BaseException:
            with self._t.lock:
                if self._t.workers.get(name) is record:
                    self._t.forget(name, "fail")
            raise
        with self._t.lock:
            keep = (not self._t.stopped and self._t.workers.get(name) is record
                    and record.state in (pool.STARTING, pool.LOADING))
            if keep:
                self._t.procs[name] = proc
                if record.state == pool.STARTING:
                    pool.advance(record, "ready")
                    metrics.POOL_REFILL.labels(record.runtime_id).observe(
                        time.monotonic() - started)
        if not keep:
            background.stop_all([proc])
            raise exceptions.OrchestratorException(
                f"Worker {name} was released while starting.")

    def _load(self, name, function, spawn):
        """Start (if needed) a claimed worker and unzip the package in it.

        :raises WorkerUnavailable: the worker cannot serve the function.
        """
        try:
            if spawn:
                self._start_worker(name)
            with self._t.lock:
                proc = self._t.procs[name]
            self._launcher.load(proc, function)
        except (package.BadPackage, OSError, KeyError,
                exceptions.OrchestratorException) as e:
            if self._discard(name):
                raise exceptions.WorkerUnavailable(
                    _load_error(function, e)) from e
        else:
            with self._t.lock:
                record = self._t.workers.get(name)
                if record is not None and record.state == pool.LOADING:
                    pool.advance(record, "loaded")
                    self._t.changed.notify_all()
                    return
        raise exceptions.WorkerUnavailable(
            f"The worker of function {function.function_id} was released "
            "while it was being prepared.")

    def _discard(self, name):
        """Discard a LOADING worker; returns False if it was released."""
        with self._t.lock:
            record = self._t.workers.get(name)
            if record is None or record.state != pool.LOADING:
                return False
            procs = self._t.forget(name, "fail")
        background.stop_all(procs)
        return True

    def _died(self, name, proc):
        """Whether a failed request means the worker died (it is then
        forgotten and will be replaced).

        :raises OrchestratorException: the worker was stopped (released).
        """
        with self._t.lock:
            record = self._t.workers.get(name)
            released = record is None or record.state == pool.STOPPING
        if released:
            raise exceptions.OrchestratorException(STOPPED_MESSAGE)
        if not proc.wait_dead(DEATH_GRACE):
            return False
        LOG.warning("Worker %s died during an execution", name)
        with self._t.lock:
            procs = (self._t.forget(name, "died")
                     if self._t.workers.get(name) is record else [])
        background.stop_all(procs)
        return True

    def _execution_done(self, record):
        with self._t.lock:
            record.in_flight -= 1
            procs = []
            if (record.state == pool.DRAINING and record.in_flight == 0
                    and self._t.workers.get(record.name) is record):
                procs = self._t.forget(record.name, "idle")
        background.stop_all(procs)



def _load_error(function, error):
    fid = function.function_id
    if isinstance(error, package.BadPackage):
        return f"The package of function {fid} cannot be loaded: {error}."
    if isinstance(error, exceptions.OrchestratorException):
        return f"No worker could be started for function {fid}: {error}"
    LOG.error("Cannot load function %s into a worker: %r", fid, error)
    return f"No worker could be prepared for function {fid}."

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
"""The local orchestrator: warm pools of runtime servers on this host.

Pool decisions are pure functions in :mod:`.pool`; this module applies them
under one lock and does the side effects (start, stop, unzip) outside it.
"""

import dataclasses
import itertools
import os
import secrets
import threading

from oslo_log import log as logging

from qinling import exceptions
from qinling.orchestrator import base
from qinling.orchestrator.local import images
from qinling.orchestrator.local import package
from qinling.orchestrator.local import pool
from qinling.orchestrator.local import process
from qinling.orchestrator.local import sandbox

LOG = logging.getLogger(__name__)

#: Seconds to wait for a worker that failed a request to be seen as dead.
DEATH_GRACE = 1.0


@dataclasses.dataclass(frozen=True)
class _Runtime:
    image: str
    kind: str
    server_path: str
    trusted: bool


class LocalOrchestrator(base.Orchestrator):
    """Runs each runtime's workers as local processes.

    :param conf: the service's oslo.config ConfigOpts (``[local]`` and
        ``[DEFAULT]state_path`` are read).
    """

    def __init__(self, conf):
        self._conf = conf
        self._lock = threading.Lock()
        self._runtimes = {}   # runtime_id -> _Runtime
        self._workers = {}    # name -> pool.Worker
        self._procs = {}      # name -> process.WorkerProcess
        self._seq = itertools.count()
        self._threads = set()
        self._stopped = False

    # --- the contract -----------------------------------------------------

    def create_pool(self, runtime_id, image, trusted):
        """Start [local]pool_size free workers for a runtime.

        The workers start in parallel; this returns once all answer ping.
        A no-op when the runtime already has a pool (the engine calls this
        for every runtime at start-up).

        :param runtime_id: the runtime's id.
        :param image: the runtime's image; its name without the tag must be
            a key of [local]runtime_images.
        :param trusted: kept for the sandbox; not used yet.
        :raises OrchestratorException: the image is not supported, or a
            worker did not start (no worker is left running then).
        """
        kind = images.runtime_kind(image, self._conf.local.runtime_images)
        runtime = _Runtime(image, kind, images.server_path(image, kind),
                           trusted)
        with self._lock:
            self._check_running_locked()
            if runtime_id in self._runtimes:
                return
            self._runtimes[runtime_id] = runtime
            names = self._new_workers_locked(
                runtime_id, self._conf.local.pool_size, "spawn")
        errors = [e for e in self._start_workers(names) if e]
        if errors:
            self.delete_pool(runtime_id)
            raise errors[0]
        LOG.info("Pool of runtime %s ready with %d workers (%s)",
                 runtime_id, len(names), kind)

    def delete_pool(self, runtime_id):
        """Stop every worker of a runtime, busy or not, and forget the pool.

        :param runtime_id: the runtime's id; unknown runtimes are ignored.
        """
        with self._lock:
            self._runtimes.pop(runtime_id, None)
            names = [w.name for w in self._workers.values()
                     if w.runtime_id == runtime_id]
            procs = self._release_locked(names, drain=False)
        self._stop(procs)

    def get_pool(self, runtime_id):
        """Count a runtime's workers; dead ones are replaced on the way.

        :param runtime_id: the runtime's id.
        :returns: PoolCapacity: total = free and assigned workers,
            available = free workers.
        :raises OrchestratorException: the runtime has no pool.
        """
        with self._lock:
            self._check_pool_locked(runtime_id,
                                    exceptions.OrchestratorException)
            dead, refill = self._heal_locked(runtime_id)
            workers = self._runtime_workers_locked(runtime_id)
            total, available = pool.capacity(workers)
        self._in_background(self._stop, dead)
        self._in_background(self._start_workers, refill)
        return base.PoolCapacity(total=total, available=available)

    def prepare_execution(self, function):
        """Return a worker ready to run the function version.

        Reuses the least busy worker serving the same function, version and
        package md5; otherwise claims the oldest free worker (or starts one
        when none is free) and unzips the package into it. Workers holding
        an older package of the function version are released, and the
        free pool is refilled in the background.

        :param function: the function version to serve.
        :returns: the WorkerInfo to pass to :meth:`run_execution`.
        :raises WorkerUnavailable: the runtime has no pool, the package
            cannot be loaded, or no worker could be started.
        """
        fid, version = function.function_id, function.function_version
        _check_function_id(fid)
        with self._lock:
            self._check_pool_locked(function.runtime_id,
                                    exceptions.WorkerUnavailable)
            dead, _ = self._heal_locked(function.runtime_id, refill=False)
            decision = pool.choose(
                self._runtime_workers_locked(function.runtime_id),
                fid, version, function.package_md5)
            stale = self._release_locked(decision.release)
            name = self._take_locked(function, decision)
            refill = self._refill_locked(function.runtime_id)
        self._in_background(self._stop, dead + stale)
        self._in_background(self._start_workers, refill)
        if not decision.reuse:
            self._load(name, function, spawn=decision.spawn)
        return base.WorkerInfo(name=name, function_id=fid,
                               function_version=version)

    def run_execution(self, worker, function, request):
        """Run one execution on a worker and wait for its result.

        :param worker: a worker from :meth:`prepare_execution`.
        :param function: the function version the worker serves.
        :param request: the execution.
        :returns: the ExecutionResult; a failure of the function itself
            (exception, timeout, limit) has ``success=False``.
        :raises OrchestratorException: the worker is no longer available,
            was stopped or died during the execution, or did not answer.
        """
        with self._lock:
            record = self._workers.get(worker.name)
            proc = self._procs.get(worker.name)
            if (record is None or proc is None
                    or record.state not in (pool.ASSIGNED, pool.DRAINING)):
                raise exceptions.OrchestratorException(
                    f"Worker {worker.name} is no longer available.")
            record.in_flight += 1
        try:
            answer = proc.client.execute(_request_body(function, request),
                                         function.timeout)
        except exceptions.OrchestratorException:
            self._explain_failure(worker.name, proc)
            raise
        finally:
            self._execution_done(record)
        return _result(answer)

    def delete_function(self, function_id, version=0):
        """Release every worker serving a function version.

        Idle workers stop now; busy ones finish their running executions
        first and take no new ones.

        :param function_id: the function's id.
        :param version: the version number, 0 for the function itself.
        """
        with self._lock:
            names = [w.name for w in self._workers.values()
                     if pool.serves(w, function_id, version)]
            procs = self._release_locked(names)
        self._stop(procs)

    def list_workers(self, function_id, version=0):
        """List the workers loading or serving a function version.

        :param function_id: the function's id.
        :param version: the version number, 0 for the function itself.
        :returns: WorkerInfo of each, oldest first; possibly none.
        """
        with self._lock:
            return [base.WorkerInfo(name=w.name, function_id=function_id,
                                    function_version=version)
                    for w in sorted(self._workers.values(),
                                    key=lambda w: w.seq)
                    if pool.serves(w, function_id, version)]

    def stop(self):
        """Stop every worker and wait for background starts and stops.

        The driver refuses new work afterwards. Used at shutdown and by
        tests.
        """
        with self._lock:
            self._stopped = True
            self._runtimes.clear()
            procs = self._release_locked(list(self._workers), drain=False)
        self._stop(procs)
        while True:
            with self._lock:
                threads = [t for t in self._threads
                           if t is not threading.current_thread()]
            if not threads:
                break
            for thread in threads:
                thread.join()

    # --- state changes (callers hold the lock) ---------------------------

    def _check_running_locked(self):
        if self._stopped:
            raise exceptions.OrchestratorException(
                "The local orchestrator is stopped.")

    def _check_pool_locked(self, runtime_id, error):
        self._check_running_locked()
        if runtime_id not in self._runtimes:
            raise error(f"Runtime {runtime_id} has no worker pool.")

    def _runtime_workers_locked(self, runtime_id):
        return [w for w in self._workers.values()
                if w.runtime_id == runtime_id]

    def _new_workers_locked(self, runtime_id, count, event):
        names = []
        for _ in range(count):
            name = f"{runtime_id[:8]}-{secrets.token_hex(4)}"
            record = pool.Worker(name=name, runtime_id=runtime_id,
                                 seq=next(self._seq))
            pool.advance(record, event)
            self._workers[name] = record
            names.append(name)
        return names

    def _take_locked(self, function, decision):
        """Apply a reuse/claim/spawn decision; returns the worker's name."""
        if decision.reuse:
            return decision.reuse
        if decision.claim:
            record = self._workers[decision.claim]
            pool.advance(record, "claim")
        else:
            name, = self._new_workers_locked(function.runtime_id, 1,
                                             "spawn_claimed")
            record = self._workers[name]
        record.function_id = function.function_id
        record.function_version = function.function_version
        record.package_md5 = function.package_md5
        return record.name

    def _refill_locked(self, runtime_id):
        count = pool.refill_count(self._conf.local.pool_size,
                                  self._runtime_workers_locked(runtime_id))
        return self._new_workers_locked(runtime_id, count, "spawn")

    def _heal_locked(self, runtime_id, refill=True):
        """Forget dead workers; returns (their processes, workers to start)."""
        dead = [w.name for w in self._runtime_workers_locked(runtime_id)
                if w.name in self._procs
                and not self._procs[w.name].is_alive()]
        procs = []
        for name in dead:
            LOG.warning("Worker %s of runtime %s died", name, runtime_id)
            procs += self._forget_locked(name, "died")
        return procs, self._refill_locked(runtime_id) if refill else []

    def _release_locked(self, names, drain=True):
        """Release workers; returns the processes to stop now."""
        procs = []
        for name in names:
            record = self._workers.get(name)
            if record is None or record.state == pool.STOPPING:
                continue
            event = pool.release_event(record) if drain else "release"
            procs += self._forget_locked(name, event)
        return procs

    def _forget_locked(self, name, event):
        record = self._workers[name]
        pool.advance(record, event)
        if record.state != pool.STOPPING:
            return []
        del self._workers[name]
        proc = self._procs.pop(name, None)
        return [proc] if proc else []

    # --- side effects (no lock held) --------------------------------------

    def _start_workers(self, names):
        """Start workers in parallel; returns one error (or None) each."""
        errors = [None] * len(names)

        def start(index, name):
            try:
                self._start_worker(name)
            except exceptions.OrchestratorException as e:
                LOG.warning("Worker %s not started: %s", name, e)
                errors[index] = e
            except Exception as e:
                LOG.exception("Cannot start worker %s", name)
                errors[index] = exceptions.OrchestratorException(
                    f"Worker {name} cannot be started: {e}")

        threads = [threading.Thread(target=start, args=(i, n), daemon=True)
                   for i, n in enumerate(names)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return errors

    def _start_worker(self, name):
        """Start the process of a STARTING or LOADING worker record."""
        with self._lock:
            record = self._workers.get(name)
            runtime = self._runtimes.get(record.runtime_id) if record else None
        if runtime is None:
            raise exceptions.OrchestratorException(
                f"Worker {name} was released while starting.")
        worker_dir = os.path.join(self._conf.local.work_dir, name)
        command = sandbox.worker_command(runtime.kind, worker_dir,
                                         runtime.server_path)
        try:
            proc = process.start(name, process.paths(worker_dir), command,
                                 self._conf.local.worker_start_timeout)
        except BaseException:
            with self._lock:
                if self._workers.get(name) is record:
                    self._forget_locked(name, "fail")
            raise
        with self._lock:
            keep = (not self._stopped and self._workers.get(name) is record
                    and record.state in (pool.STARTING, pool.LOADING))
            if keep:
                self._procs[name] = proc
                if record.state == pool.STARTING:
                    pool.advance(record, "ready")
        if not keep:
            process.stop(proc)
            raise exceptions.OrchestratorException(
                f"Worker {name} was released while starting.")

    def _load(self, name, function, spawn):
        """Start (if needed) a claimed worker and unzip the package in it.

        :raises WorkerUnavailable: the worker cannot serve the function.
        """
        try:
            if spawn:
                self._start_worker(name)
            if function.package_path:
                with self._lock:
                    proc = self._procs[name]
                package.unzip(function.package_path, os.path.join(
                    proc.paths.packages, function.function_id))
        except (package.BadPackage, OSError, KeyError,
                exceptions.OrchestratorException) as e:
            if self._discard(name):
                raise exceptions.WorkerUnavailable(
                    _load_error(function, e)) from e
        else:
            with self._lock:
                record = self._workers.get(name)
                if record is not None and record.state == pool.LOADING:
                    pool.advance(record, "loaded")
                    return
        raise exceptions.WorkerUnavailable(
            f"The worker of function {function.function_id} was released "
            "while it was being prepared.")

    def _discard(self, name):
        """Discard a LOADING worker; returns False if it was released."""
        with self._lock:
            record = self._workers.get(name)
            if record is None or record.state != pool.LOADING:
                return False
            procs = self._forget_locked(name, "fail")
        self._stop(procs)
        return True

    def _explain_failure(self, name, proc):
        """Turn a failed request into the user's reason, if there is one.

        :raises OrchestratorException: the worker was stopped or died.
        """
        with self._lock:
            record = self._workers.get(name)
            released = record is None or record.state == pool.STOPPING
        if released:
            raise exceptions.OrchestratorException(
                "The worker running the execution was stopped before the "
                "execution finished.")
        if proc.wait_dead(DEATH_GRACE):
            LOG.warning("Worker %s died during an execution", name)
            with self._lock:
                procs = (self._forget_locked(name, "died")
                         if self._workers.get(name) is record else [])
            self._stop(procs)
            raise exceptions.OrchestratorException(
                "The worker running the execution died unexpectedly.")

    def _execution_done(self, record):
        with self._lock:
            record.in_flight -= 1
            procs = []
            if (record.state == pool.DRAINING and record.in_flight == 0
                    and self._workers.get(record.name) is record):
                procs = self._forget_locked(record.name, "idle")
        self._stop(procs)

    def _stop(self, procs):
        """Stop worker processes, in parallel."""
        threads = [threading.Thread(target=process.stop, args=(p,),
                                    daemon=True) for p in procs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _in_background(self, target, items):
        """Run ``target(items)`` in a thread that stop() waits for."""
        if not items:
            return

        def run():
            try:
                target(items)
            except Exception:
                LOG.exception("Background pool work failed")
            finally:
                with self._lock:
                    self._threads.discard(thread)

        thread = threading.Thread(target=run, daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()


def _check_function_id(function_id):
    if (not function_id or function_id in (".", "..")
            or "/" in function_id or "\0" in function_id):
        raise exceptions.WorkerUnavailable(
            f"Invalid function id {function_id!r}.")


def _load_error(function, error):
    fid = function.function_id
    if isinstance(error, package.BadPackage):
        return f"The package of function {fid} cannot be loaded: {error}."
    if isinstance(error, exceptions.OrchestratorException):
        return f"No worker could be started for function {fid}: {error}"
    LOG.error("Cannot load function %s into a worker: %r", fid, error)
    return f"No worker could be prepared for function {fid}."


def _request_body(function, request):
    return {
        "execution_id": request.execution_id,
        "function_id": function.function_id,
        "function_version": function.function_version,
        "entry": function.entry,
        "input": request.input,
        "timeout": function.timeout,
        "cpu": function.cpu,
        "memory_size": function.memory_size,
        "download_url": request.download_url,
        "request_id": request.request_id,
    }


def _result(answer):
    try:
        duration = float(answer.get("duration") or 0)
    except (TypeError, ValueError):
        duration = 0.0
    logs = answer.get("logs") or ""
    return base.ExecutionResult(
        success=answer.get("success") is True,
        output=answer.get("output"),
        duration=duration,
        logs=logs if isinstance(logs, str) else str(logs))

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
"""The local driver's worker records, and the state changes on them.

One :class:`WorkerTable` per driver holds every record under one lock; its
methods apply the pure decisions of :mod:`.pool` and must be called with
``lock`` held. They return what the caller must do afterwards (processes to
stop, workers to start), never doing it themselves.
"""

import itertools
import secrets
import threading
import time

from oslo_log import log as logging

from qinling import exceptions
from qinling.orchestrator.local import pool

LOG = logging.getLogger(__name__)


class WorkerTable:
    """The records of a driver's runtimes, workers and processes.

    :param conf: the service's ConfigOpts (``[local]``).
    """

    def __init__(self, conf):
        self._conf = conf
        self.lock = threading.Lock()
        #: notified whenever a worker's state changes.
        self.changed = threading.Condition(self.lock)
        self.runtimes = {}   # runtime_id -> launcher.Runtime
        self.workers = {}    # name -> pool.Worker
        self.procs = {}      # name -> process.WorkerProcess
        self.stopped = False
        self._seq = itertools.count()

    def check_running(self):
        if self.stopped:
            raise exceptions.OrchestratorException(
                "The local orchestrator is stopped.")

    def check_pool(self, runtime_id, error):
        self.check_running()
        if runtime_id not in self.runtimes:
            raise error(f"Runtime {runtime_id} has no worker pool.")

    def runtime_workers(self, runtime_id):
        return [w for w in self.workers.values()
                if w.runtime_id == runtime_id]

    def alive(self, name):
        proc = self.procs.get(name)
        return proc is None or proc.is_alive()

    def decide(self, function):
        """Choose a worker, waiting while one is loaded for the function.

        :returns: (dead processes to stop, the pool's Decision).
        """
        deadline = time.monotonic() + self._conf.local.worker_start_timeout
        dead = []
        while True:
            self.check_pool(function.runtime_id,
                            exceptions.WorkerUnavailable)
            dead += self.heal(function.runtime_id, refill=False)[0]
            decision = pool.choose(
                self.runtime_workers(function.runtime_id),
                function.function_id, function.function_version,
                function.package_md5)
            remaining = deadline - time.monotonic()
            if decision.wait is None:
                return dead, decision
            if remaining <= 0:
                raise exceptions.WorkerUnavailable(
                    f"The worker of function {function.function_id} is "
                    "still being prepared.")
            self.changed.wait(remaining)

    def new_workers(self, runtime_id, count, event):
        names = []
        for _ in range(count):
            name = f"{runtime_id[:8]}-{secrets.token_hex(4)}"
            record = pool.Worker(name=name, runtime_id=runtime_id,
                                 seq=next(self._seq))
            pool.advance(record, event)
            self.workers[name] = record
            names.append(name)
        return names

    def assign(self, function, free_name):
        """Claim a free worker (or a new one if None) for a function."""
        if free_name:
            record = self.workers[free_name]
            pool.advance(record, "claim")
        else:
            name, = self.new_workers(function.runtime_id, 1,
                                     "spawn_claimed")
            record = self.workers[name]
        record.function_id = function.function_id
        record.function_version = function.function_version
        record.package_md5 = function.package_md5
        return record.name

    def refill(self, runtime_id):
        count = pool.refill_count(self._conf.local.pool_size,
                                  self.runtime_workers(runtime_id))
        return self.new_workers(runtime_id, count, "spawn")

    def heal(self, runtime_id, refill=True):
        """Forget dead workers; returns (their processes, workers to start)."""
        dead = [w.name for w in self.runtime_workers(runtime_id)
                if not self.alive(w.name)]
        procs = []
        for name in dead:
            LOG.warning("Worker %s of runtime %s died", name, runtime_id)
            procs += self.forget(name, "died")
        return procs, self.refill(runtime_id) if refill else []

    def release(self, names, drain=True):
        """Release workers; returns the processes to stop now."""
        procs = []
        for name in names:
            record = self.workers.get(name)
            if record is None or record.state == pool.STOPPING:
                continue
            event = pool.release_event(record) if drain else "release"
            procs += self.forget(name, event)
        return procs

    def forget(self, name, event):
        record = self.workers[name]
        pool.advance(record, event)
        self.changed.notify_all()
        if record.state != pool.STOPPING:
            return []
        del self.workers[name]
        proc = self.procs.pop(name, None)
        return [proc] if proc else []

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
"""The execution queue, as one engine takes from it.

An accepted execution is a committed row that no engine holds (queued).
An engine runs it only after claiming it by compare-and-swap
(:func:`qinling.db.api.execution_claim_by_engine`), which also counts the
attempt and gives the engine a lease of ``[engine]execution_lease``
seconds; the engine renews its leases every third of that while its
executions run, along with its heartbeat. So:

* RPC only wakes engines up. A synchronous execution is claimed and run by
  the engine the API's call reaches; an asynchronous one by the engine a
  cast reaches, if it has one of its ``[engine]async_concurrency`` slots
  free. Whatever is left queued (no slot, a cast lost while the message
  bus was down, every engine down when it was accepted) is claimed by the
  claim loop every ``[engine]claim_interval`` seconds, oldest first and
  fairly across projects, and as soon as a slot frees.
* An engine that stops renewing loses its claims when their lease lapses:
  any engine then queues an asynchronous execution that had not reached
  a worker again, retries one that had while its function's
  ``retry_attempts`` allow, or ends it as ``error``, saying the engine
  stopped while it ran. A late answer of the stopped engine cannot
  overwrite that: it only ends an execution while its claim holds.
"""

import datetime
import os
import socket
import threading

from oslo_log import log as logging
from oslo_utils import timeutils
from oslo_utils import uuidutils

from qinling import context as qinling_context
from qinling import states
from qinling.db import api as db_api
from qinling.engine import retries

LOG = logging.getLogger(__name__)


def engine_id(conf):
    """The name this engine claims executions under (see
    ``[engine]engine_id``)."""
    if conf.engine.engine_id:
        return conf.engine.engine_id
    return "%s:%d:%s" % (socket.gethostname(), os.getpid(),
                         uuidutils.generate_uuid()[:8])


class Dispatcher:
    """Claims executions for one engine and keeps its leases.

    :param runner: the engine's ExecutionRunner.
    """

    def __init__(self, conf, runner):
        self._conf = conf
        self._runner = runner
        self.engine_id = engine_id(conf)
        self._lease = conf.engine.execution_lease
        self._slots_lock = threading.Lock()
        self._free = conf.engine.async_concurrency
        #: set when there may be queued work this engine could not take.
        self._backlog = False
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads = []

    # Taking work

    def run_sync(self, ctx, execution_id):
        """Claim a synchronous execution and run it in this thread.

        :returns: the final columns if this call ended it, else None (it
            was not queued any more: ended, or claimed by another).
        """
        loaded = db_api.execution_claim_by_engine(
            qinling_context.admin_context(), execution_id, self.engine_id,
            self._lease)
        if loaded is None:
            LOG.info("Execution %s is not queued any more", execution_id)
            return None
        return self._runner.run(ctx, loaded, self.engine_id)

    def offer(self, ctx, execution_id):
        """An asynchronous execution was queued: start it if a slot is
        free, else leave it to the claim loop."""
        if not self._take_slot():
            self._backlog = True
            return
        if not self._start(ctx, execution_id):
            self._give_slot()

    def wake(self):
        """Look at the queue now (work was queued for this engine)."""
        self._wake.set()

    def _take_slot(self):
        with self._slots_lock:
            if self._free <= 0:
                return False
            self._free -= 1
            return True

    def _give_slot(self):
        with self._slots_lock:
            self._free += 1

    def _free_slots(self):
        with self._slots_lock:
            return self._free

    def _start(self, ctx, execution_id):
        """Claim an execution and run it on a thread of its own.

        :returns: whether this engine claimed it.
        """
        loaded = db_api.execution_claim_by_engine(
            qinling_context.admin_context(), execution_id, self.engine_id,
            self._lease)
        if loaded is None:
            return False
        if ctx is None:
            ctx = qinling_context.Context(
                project_id=loaded.execution.project_id)
        threading.Thread(target=self._run_async, args=(ctx, loaded),
                         name="execution-%s" % execution_id[:8],
                         daemon=True).start()
        return True

    def _run_async(self, ctx, loaded):
        try:
            self._runner.run(ctx, loaded, self.engine_id)
        except Exception:
            LOG.exception("Execution %s failed in the engine",
                          loaded.execution.id)
        finally:
            self._give_slot()
            if self._backlog:
                self._wake.set()

    def claim_queued(self):
        """Claim queued executions while this engine has free slots.

        :returns: how many this call started.
        """
        admin = qinling_context.admin_context()
        started = 0
        while not self._stopping.is_set():
            free = self._free_slots()
            if free <= 0:
                self._backlog = True
                return started
            self._backlog = False
            sync_before = timeutils.utcnow() - datetime.timedelta(
                seconds=self._conf.engine.sync_handoff_timeout)
            ids = db_api.execution_queued_by_engine(admin, free, sync_before)
            took = 0
            for execution_id in ids:
                if not self._take_slot():
                    self._backlog = True
                    return started + took
                if self._start(None, execution_id):
                    took += 1
                else:
                    self._give_slot()
            started += took
            if len(ids) < free or not took:
                return started
        return started

    # Leases

    def keep_leases(self):
        """Renew this engine's leases and heartbeat, and settle the claims
        of engines whose leases lapsed.

        :returns: how many lapsed claims were settled.
        """
        admin = qinling_context.admin_context()
        db_api.execution_renew_leases_by_engine(admin, self.engine_id,
                                                self._lease)
        db_api.engine_forget_stale_by_engine(admin, 10 * self._lease)
        settled = 0
        for claim in db_api.execution_lapsed_claims_by_engine(admin):
            if self._settle(admin, claim):
                settled += 1
        return settled

    def _settle(self, admin, claim):
        """Retry or end an execution whose engine's lease lapsed (see
        :func:`qinling.engine.retries.after_lapse`)."""
        at, output = retries.after_lapse(
            claim.sync, claim.started, claim.attempts, claim.retry_attempts,
            claim.created_at, claim.max_event_age, timeutils.utcnow(),
            self._conf.executions.retry_backoff)
        result = {"output": output, "duration": 0}
        if at is not None:
            LOG.warning("Engine %s stopped while it held execution %s; "
                        "queueing it again", claim.engine_id, claim.id)
            requeued = db_api.execution_requeue_by_engine(
                admin, claim.id, claim.engine_id, at, result)
            if requeued:
                self._wake.set()
            return requeued
        LOG.warning("Engine %s stopped while it held execution %s; ending "
                    "it: %s", claim.engine_id, claim.id, output)
        final = db_api.execution_finish_by_engine(
            admin, claim.id, states.ERROR, result, "",
            engine_id=claim.engine_id)
        if final is None:
            return False
        self._runner.report_lapsed(claim.id, final)
        if not claim.sync:
            self._runner.report_failure(claim.id, states.ERROR, result)
        return True

    # Threads

    def start(self):
        """Take back this engine's own claims of a former life (with a
        fixed ``[engine]engine_id``), then start the claim and lease
        loops."""
        admin = qinling_context.admin_context()
        if self._conf.engine.engine_id:
            lapsed = db_api.execution_lapse_leases_by_engine(
                admin, self.engine_id)
            if lapsed:
                LOG.warning("Engine %s held %d execution(s) when it last "
                            "stopped", self.engine_id, lapsed)
        # The heartbeat first: APIs refuse sync executions without one.
        self.keep_leases()
        self._loop("execution-claims", self._conf.engine.claim_interval,
                   self.claim_queued, wake=self._wake)
        self._loop("execution-leases", self._lease / 3.0, self.keep_leases)
        self._wake.set()

    def _loop(self, name, interval, func, wake=None):
        def run():
            while not self._stopping.is_set():
                if wake is not None:
                    wake.wait(interval)
                    wake.clear()
                else:
                    self._stopping.wait(interval)
                if self._stopping.is_set():
                    return
                try:
                    func()
                except Exception:
                    LOG.exception("%s failed", name)
        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self):
        """Stop claiming; the executions running go on until the process
        ends (their leases lapse if it does first)."""
        self._stopping.set()
        self._wake.set()
        for thread in self._threads:
            thread.join()
        try:
            db_api.engine_forget_by_engine(qinling_context.admin_context(),
                                           self.engine_id)
        except Exception:
            LOG.exception("Cannot remove the heartbeat of engine %s",
                          self.engine_id)

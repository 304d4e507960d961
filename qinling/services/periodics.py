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
"""Background tasks that keep the platform's promises.

* Orphan recovery: an execution whose engine died never stays ``running``:
  past the longest time any execution may take it is ended as ``error``.
"""

import datetime
import threading

from oslo_log import log as logging
from oslo_utils import timeutils

from qinling import context as qinling_context
from qinling import states
from qinling.db import api as db_api

LOG = logging.getLogger(__name__)

ORPHAN_MESSAGE = "The engine stopped before the execution ended."


def recover_orphans(conf, all_running=False):
    """End executions no engine can still be running.

    :param all_running: end every running execution (at the start of an
        all-in-one process, whose engine held them all in memory).
    :returns: the number of executions ended.
    """
    admin = qinling_context.admin_context()
    before = None
    if not all_running:
        before = timeutils.utcnow() - datetime.timedelta(
            seconds=conf.resource_limits.max_timeout
            + conf.engine.rpc_timeout_margin + 60)
    ended = 0
    for execution_id in db_api.execution_ids_running_by_engine(
            admin, created_before=before):
        if db_api.execution_finish_by_engine(
                admin, execution_id, states.ERROR,
                {"output": ORPHAN_MESSAGE, "duration": 0}, ""):
            ended += 1
    if ended:
        LOG.warning("Ended %d orphaned execution(s)", ended)
    return ended


class PeriodicTask(threading.Thread):
    """Call ``func`` every ``interval`` seconds until stopped."""

    def __init__(self, name, interval, func):
        super().__init__(name=name, daemon=True)
        self._interval = interval
        self._func = func
        self._stopped = threading.Event()

    def run(self):
        while not self._stopped.wait(self._interval):
            try:
                self._func()
            except Exception:
                LOG.exception("Periodic task %s failed", self.name)

    def stop(self):
        self._stopped.set()


def start_engine_tasks(conf):
    """Start the periodic tasks an engine process runs; return them."""
    tasks = [PeriodicTask("orphan-recovery", 60,
                          lambda: recover_orphans(conf))]
    for task in tasks:
        task.start()
    return tasks

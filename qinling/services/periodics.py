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
"""Background tasks of the API processes.

(An execution whose engine died never stays ``running``: engines hold
leases on what they run, and settle each other's lapsed claims; see
:mod:`qinling.engine.dispatcher`.)

* The job scheduler (API processes): fires each due job run exactly once,
  even with several schedulers on one database, by claiming the run with a
  compare-and-swap on the job row before creating its execution.
"""

import datetime
import threading

from oslo_log import log as logging
from oslo_utils import timeutils

from qinling import context as qinling_context
from qinling.db import api as db_api
from qinling.services import jobs as job_service

LOG = logging.getLogger(__name__)

#: due jobs handled per scheduler run, at most (the rest wait a period).
JOB_BATCH = 100
JOB_BATCHES_PER_RUN = 10
#: how late a job's run must be for its missed runs to be logged.
LATE = datetime.timedelta(seconds=60)

def _claim(admin, job, now):
    """Claim the due run of ``job``; False if another scheduler did."""
    expected, values = job_service.plan_run(job, now)
    # A pattern more frequent than the scheduler skips runs all the time;
    # only a scheduler outage is worth a warning.
    if now - job.next_execution_time > LATE and \
            job_service.missed_runs(job, now):
        LOG.warning("Job %s missed runs since %s; firing it once now",
                    job.id, job.next_execution_time)
    return db_api.job_compare_and_swap_by_engine(admin, job.id, expected,
                                                 values)


def fire_due_jobs(executions, now=None):
    """Fire every job whose next run is due, once each.

    :param executions: the ExecutionService runs are created with.
    :returns: the number of runs this call fired.
    """
    admin = qinling_context.admin_context()
    now = now or timeutils.utcnow()
    fired = 0
    for _batch in range(JOB_BATCHES_PER_RUN):
        due = db_api.jobs_due_by_engine(admin, now, limit=JOB_BATCH)
        for job in due:
            try:
                claimed = _claim(admin, job, now)
            except Exception:
                LOG.exception("Cannot claim the run of job %s", job.id)
                continue
            if claimed:
                LOG.info("Firing job %s (run due at %s)", job.id,
                         job.next_execution_time)
                job_service.run(executions, job)
                fired += 1
        if len(due) < JOB_BATCH:
            break
    return fired


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


def start_api_tasks(conf, services):
    """Start the periodic tasks an API process runs; return them.

    :param services: the API's services (see qinling.api.app).
    """
    tasks = []
    if conf.api.enable_job_handler:
        tasks.append(PeriodicTask(
            "job-handler", conf.api.job_handler_interval,
            lambda: fire_due_jobs(services.executions)))
    for task in tasks:
        task.start()
    return tasks

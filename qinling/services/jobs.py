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
"""Jobs: run a function on a cron pattern, or once at a given time.

The schedule arithmetic is in pure functions (:func:`plan_create`,
:func:`plan_update`, :func:`plan_run`) tested with decision tables; the
service applies them to rows. All times are naive UTC without
microseconds, and cron patterns are evaluated in UTC.

Upstream's rules and messages, with these differences:

* ``first_execution_time`` with a UTC offset is converted to UTC (upstream
  dropped the offset), and with a pattern the first run is the first time
  matching the pattern at or after it (upstream could run up to a minute
  before it).
* ``count`` must be positive; a new ``pattern`` moves the next run to the
  pattern's next time (upstream kept the old next time); a field that
  cannot be updated is refused instead of ignored.
* A recurring job that fell behind (the service was down) fires once for
  the runs it missed, then follows its pattern from now, instead of firing
  every missed run in a burst.
"""

import datetime

import croniter
from oslo_log import log as logging
from oslo_utils import timeutils

from qinling import context
from qinling import exceptions
from qinling import notifications
from qinling import states
from qinling.db import api as db_api
from qinling.services import executions as execution_service
from qinling.services import targets

LOG = logging.getLogger(__name__)

EXECUTION_DESCRIPTION = "Created by Job %s"
MIN_DELAY = datetime.timedelta(seconds=60)
CREATE_FIELDS = frozenset((
    "name", "function_id", "function_alias", "function_version",
    "function_input", "pattern", "count", "first_execution_time"))
UPDATE_FIELDS = frozenset((
    "name", "function_input", "status", "pattern", "next_execution_time"))
USER_STATUSES = (states.JOB_RUNNING, states.JOB_PAUSED,
                 states.JOB_CANCELLED)
MAX_LENGTHS = {"name": 255, "pattern": 255, "function_alias": 255,
               "function_input": 65535}


def parse_time(value):
    """A time as given by a user → naive UTC, whole seconds.

    Accepts ISO 8601 (``2030-01-31T12:00:00Z``, ``2030-01-31 12:00:00``,
    ``2030-01-31T13:00:00+01:00``); a time without an offset is UTC.
    """
    if isinstance(value, datetime.datetime):
        parsed = value
    else:
        try:
            parsed = datetime.datetime.fromisoformat(str(value).strip())
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(datetime.timezone.utc)
        except (ValueError, OverflowError):
            raise exceptions.InputException(
                "Invalid time %s: expected an ISO 8601 time such as "
                "2030-01-31T12:00:00Z." % value)
    return parsed.replace(tzinfo=None, microsecond=0)


def parse_future_time(value, now):
    """:func:`parse_time`, refusing a time less than a minute ahead."""
    when = parse_time(value)
    if when < now + MIN_DELAY:
        raise exceptions.InputException(
            "Execution time must be at least 1 minute in the future.")
    return when


def validate_pattern(pattern):
    if not croniter.croniter.is_valid(pattern):
        raise exceptions.InputException(
            "The specified pattern is not valid: %s" % pattern)


def next_time(pattern, base):
    """The first time after ``base`` matching ``pattern``, or None."""
    try:
        return croniter.croniter(pattern, base).get_next(
            datetime.datetime).replace(microsecond=0)
    except croniter.CroniterBadDateError:
        return None


def _next_or_refuse(pattern, base):
    when = next_time(pattern, base)
    if when is None:
        raise exceptions.InputException(
            "The pattern %s matches no time after %s." % (
                pattern, base.strftime("%Y-%m-%dT%H:%M:%SZ")))
    return when


def plan_create(values, now):
    """The schedule of a new job.

    :param values: pattern, first_execution_time and count as given.
    :returns: pattern, first_execution_time, next_execution_time, count.
    """
    first = values.get("first_execution_time")
    pattern = values.get("pattern") or None
    count = values.get("count")
    if not (first or pattern):
        raise exceptions.InputException(
            "pattern or first_execution_time must be specified.")
    if count is not None and count < 1:
        raise exceptions.InputException(
            "count must be a positive integer.")
    if first:
        first = parse_future_time(first, now)
        if not pattern and count and count > 1:
            raise exceptions.InputException(
                "pattern must be provided if count is greater than 1.")
    if pattern:
        validate_pattern(pattern)
        base = first - datetime.timedelta(seconds=1) if first else now
        first = _next_or_refuse(pattern, base)
    else:
        count = 1
    return {"pattern": pattern, "first_execution_time": first,
            "next_execution_time": first, "count": count}


def _check_type_kept(job, pattern):
    if (pattern and not job.pattern) or (pattern == "" and job.pattern):
        raise exceptions.InputException("Can not change job type.")


def plan_update(job, changes, now):
    """The values a job update writes.

    :param job: the job as it is (status, pattern, next_execution_time).
    :param changes: the non-null fields of the request.
    """
    unknown = sorted(set(changes) - UPDATE_FIELDS)
    if unknown:
        raise exceptions.InputException(
            "Can not update field(s): %s." % ", ".join(unknown))
    if job.status in states.JOB_FINAL:
        raise exceptions.InputException("Can not update a finished job.")
    pattern = changes.get("pattern")
    _check_type_kept(job, pattern)
    status = changes.get("status")
    if status is not None and status not in USER_STATUSES:
        raise exceptions.InputException("Invalid status.")
    values = {k: changes[k] for k in ("name", "function_input")
              if k in changes}
    if pattern:
        validate_pattern(pattern)
        values["pattern"] = pattern
    if status and status != job.status:
        states.check_transition(states.JOB_TRANSITIONS, job.status, status)
        values["status"] = status
    resuming = job.status == states.JOB_PAUSED and \
        status == states.JOB_RUNNING
    if changes.get("next_execution_time"):
        values["next_execution_time"] = parse_future_time(
            changes["next_execution_time"], now)
    elif job.pattern and (resuming or values.get("pattern", job.pattern)
                          != job.pattern):
        values["next_execution_time"] = _next_or_refuse(
            values.get("pattern", job.pattern), now)
    elif resuming:
        # A one-shot job resumes only if its time is still ahead.
        parse_future_time(job.next_execution_time, now)
    return values


def plan_run(job, now):
    """How the scheduler claims a due run of ``job``.

    :returns: (expected, values) for a compare-and-swap of the row: the
        columns as read, and what they become once this run is claimed.
    """
    expected = {"status": states.JOB_RUNNING,
                "next_execution_time": job.next_execution_time,
                "count": job.count}
    count = None if job.count is None else job.count - 1
    if not job.pattern or (count is not None and count <= 0):
        return expected, {"status": states.JOB_DONE, "count": 0}
    # Missed runs (the scheduler was down) are not repeated: the next run
    # is the pattern's next time after now.
    following = next_time(job.pattern, max(job.next_execution_time, now))
    if following is None:
        return expected, {"status": states.JOB_DONE, "count": count}
    return expected, {"next_execution_time": following, "count": count}


def missed_runs(job, now):
    """Whether runs of ``job`` before now will not fire (for the log)."""
    if not job.pattern:
        return False
    following = next_time(job.pattern, job.next_execution_time)
    return following is not None and following <= now


def _check_lengths(values):
    for key, limit in MAX_LENGTHS.items():
        value = values.get(key)
        if isinstance(value, str) and len(value.encode()) > limit:
            raise exceptions.InputException(
                "%s is longer than %d bytes." % (key, limit))


def _input_text(value):
    """function_input is kept as the text an execution's input takes."""
    if value is None or isinstance(value, str):
        return value
    return execution_service.render_input(execution_service.parse_input(
        value))


class JobService:

    def create(self, ctx, values):
        """:param values: the request's non-null fields."""
        unknown = sorted(set(values) - CREATE_FIELDS)
        if unknown:
            raise exceptions.InputException(
                "Can not set field(s) when creating a job: %s."
                % ", ".join(unknown))
        values = dict(values, function_input=_input_text(
            values.get("function_input")))
        _check_lengths(values)
        schedule = plan_create(values, timeutils.utcnow())
        function_id, alias, version = targets.check(ctx, values)
        job = db_api.job_create(ctx, dict(
            schedule, name=values.get("name"), function_id=function_id,
            function_alias=alias, function_version=version or 0,
            function_input=values["function_input"],
            status=states.JOB_RUNNING))
        notifications.resource_changed(ctx, "job", "create", job)
        return job

    def get(self, ctx, job_id):
        return db_api.job_get(ctx, job_id)

    def list(self, ctx, list_query):
        return db_api.job_list(ctx, list_query)

    def update(self, ctx, job_id, changes):
        """Apply an update, unless the scheduler fired the job meanwhile.

        :raises ConflictException: the job changed while this ran.
        """
        job = db_api.job_get(ctx, job_id)
        if "function_input" in changes:
            changes = dict(changes, function_input=_input_text(
                changes["function_input"]))
        _check_lengths(changes)
        values = plan_update(job, changes, timeutils.utcnow())
        expected = {"status": job.status,
                    "next_execution_time": job.next_execution_time,
                    "count": job.count}
        if values and not db_api.job_compare_and_swap_by_engine(
                ctx, job.id, expected, values):
            raise exceptions.ConflictException(
                "Job %s changed meanwhile; try again." % job.id)
        job = db_api.job_get(ctx, job_id)
        notifications.resource_changed(ctx, "job", "update", job)
        return job

    def delete(self, ctx, job_id):
        job = db_api.job_get(ctx, job_id)
        db_api.job_delete(ctx, job_id)
        notifications.resource_changed(ctx, "job", "delete", job)


def run(executions, job):
    """Create the async execution of a claimed run of ``job``.

    A run that cannot start (its function or alias is gone, its runtime is
    unavailable) is recorded as an execution in ``error`` with the reason,
    so the owner sees it; later runs are not affected.

    :returns: the execution row, or None if not even that was possible.
    """
    ctx = context.Context(project_id=job.project_id)
    params = dict(targets.execution_params(job), input=job.function_input,
                  sync=False, description=EXECUTION_DESCRIPTION % job.id)
    try:
        return executions.create(ctx, params)
    except exceptions.QinlingException as e:
        reason = e.message
        LOG.warning("Run of job %s failed to start: %s", job.id, reason)
    except Exception:
        reason = "Internal server error."
        LOG.exception("Run of job %s failed to start", job.id)
    try:
        return db_api.execution_create(ctx, {
            "function_id": job.function_id,
            "function_version": job.function_version or 0,
            "function_alias": job.function_alias,
            "description": params["description"], "sync": False,
            "input": execution_service.parse_input(job.function_input),
            "status": states.ERROR,
            "result": {"output": "The job's run could not start: %s"
                       % reason, "duration": 0}})
    except Exception:
        LOG.exception("Cannot record the failed run of job %s", job.id)
        return None

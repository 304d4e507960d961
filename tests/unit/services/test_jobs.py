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
"""Job schedules: parsing, cron arithmetic and the update rules."""

import datetime
import types

import pytest

from qinling import exceptions
from qinling.services import jobs

NOW = datetime.datetime(2030, 1, 1, 12, 0, 30, 250000)


def at(text):
    return datetime.datetime.fromisoformat(text)


@pytest.mark.parametrize("given, parsed", [
    ("2030-01-31T12:00:00Z", at("2030-01-31T12:00:00")),
    ("2030-01-31 12:00:00", at("2030-01-31T12:00:00")),
    ("2030-01-31T13:30:00+01:30", at("2030-01-31T12:00:00")),
    ("2030-01-31T07:00:00-05:00", at("2030-01-31T12:00:00")),
    ("2030-01-31T12:00:00.999", at("2030-01-31T12:00:00")),
    (" 2030-01-31T12:00 ", at("2030-01-31T12:00:00")),
    ("2030-01-31", at("2030-01-31T00:00:00")),
])
def test_times_are_read_as_utc_whole_seconds(given, parsed):
    assert jobs.parse_time(given) == parsed


@pytest.mark.parametrize("given", [
    "tomorrow", "2030-13-01T00:00:00Z", "", "0001-01-01T00:00:00+01:00"])
def test_unreadable_times_are_refused(given):
    with pytest.raises(exceptions.InputException,
                       match="expected an ISO 8601 time"):
        jobs.parse_time(given)


@pytest.mark.parametrize("pattern, base, expected", [
    ("* * * * *", NOW, at("2030-01-01T12:01:00")),
    ("*/5 * * * *", NOW, at("2030-01-01T12:05:00")),
    ("0 0 * * *", NOW, at("2030-01-02T00:00:00")),
    ("@hourly", NOW, at("2030-01-01T13:00:00")),
    ("* * * * * */10", NOW, at("2030-01-01T12:00:40")),
    ("0 0 31 2 *", NOW, None),
])
def test_next_time_follows_the_pattern_in_utc(pattern, base, expected):
    assert jobs.next_time(pattern, base) == expected


@pytest.mark.parametrize("values, expected", [
    # one-shot: runs once at the given time
    ({"first_execution_time": "2030-01-01T13:00:00Z"},
     (None, at("2030-01-01T13:00:00"), at("2030-01-01T13:00:00"), 1)),
    ({"first_execution_time": "2030-01-01T13:00:00Z", "count": 1},
     (None, at("2030-01-01T13:00:00"), at("2030-01-01T13:00:00"), 1)),
    # recurring from now; count null means unlimited
    ({"pattern": "*/5 * * * *"},
     ("*/5 * * * *", at("2030-01-01T12:05:00"), at("2030-01-01T12:05:00"),
      None)),
    ({"pattern": "*/5 * * * *", "count": 3},
     ("*/5 * * * *", at("2030-01-01T12:05:00"), at("2030-01-01T12:05:00"),
      3)),
    # recurring from the first time matching at or after first time
    ({"pattern": "0 * * * *", "first_execution_time": "2030-01-01T14:00:00"},
     ("0 * * * *", at("2030-01-01T14:00:00"), at("2030-01-01T14:00:00"),
      None)),
    ({"pattern": "0 * * * *", "first_execution_time": "2030-01-01T14:00:01"},
     ("0 * * * *", at("2030-01-01T15:00:00"), at("2030-01-01T15:00:00"),
      None)),
    # an empty pattern is no pattern
    ({"pattern": "", "first_execution_time": "2030-01-01T13:00:00Z"},
     (None, at("2030-01-01T13:00:00"), at("2030-01-01T13:00:00"), 1)),
])
def test_a_new_jobs_schedule(values, expected):
    plan = jobs.plan_create(values, NOW)

    assert (plan["pattern"], plan["first_execution_time"],
            plan["next_execution_time"], plan["count"]) == expected


@pytest.mark.parametrize("values, message", [
    ({}, "pattern or first_execution_time must be specified."),
    ({"pattern": ""}, "pattern or first_execution_time must be specified."),
    ({"first_execution_time": "2030-01-01T12:01:00Z"},
     "Execution time must be at least 1 minute in the future."),
    ({"first_execution_time": "2029-12-31T23:00:00Z"},
     "Execution time must be at least 1 minute in the future."),
    ({"first_execution_time": "2030-01-01T12:02:00+01:00"},
     "Execution time must be at least 1 minute in the future."),
    ({"first_execution_time": "2030-01-01T13:00:00Z", "count": 2},
     "pattern must be provided if count is greater than 1."),
    ({"pattern": "* * *"}, "The specified pattern is not valid: * * *"),
    ({"pattern": "61 * * * *"},
     "The specified pattern is not valid: 61 * * * *"),
    ({"pattern": "0 0 31 2 *"}, "The pattern 0 0 31 2 * matches no time"),
    ({"pattern": "* * * * *", "count": 0},
     "count must be a positive integer."),
    ({"pattern": "* * * * *", "count": -1},
     "count must be a positive integer."),
    ({"first_execution_time": "soon"}, "Invalid time soon"),
])
def test_a_bad_schedule_is_refused(values, message):
    with pytest.raises(exceptions.InputException) as raised:
        jobs.plan_create(values, NOW)

    assert message in str(raised.value)


def job(status="running", pattern=None, next_time="2030-01-01T13:00:00",
        count=None):
    return types.SimpleNamespace(
        id="j", status=status, pattern=pattern,
        next_execution_time=at(next_time), count=count)


ONE_SHOT = dict(pattern=None, count=1)
HOURLY = dict(pattern="0 * * * *")


@pytest.mark.parametrize("current, changes, expected", [
    # plain fields
    (job(**ONE_SHOT), {"name": "n", "function_input": "x"},
     {"name": "n", "function_input": "x"}),
    # pause, resume, cancel
    (job(**HOURLY), {"status": "paused"}, {"status": "paused"}),
    (job(**HOURLY), {"status": "running"}, {}),
    (job(status="paused", **HOURLY), {"status": "running"},
     {"status": "running", "next_execution_time": at("2030-01-01T13:00:00")}),
    (job(status="paused", next_time="2030-01-01T12:10:00", **ONE_SHOT),
     {"status": "running"}, {"status": "running"}),
    (job(**ONE_SHOT), {"status": "cancelled"}, {"status": "cancelled"}),
    (job(status="paused", **ONE_SHOT), {"status": "cancelled"},
     {"status": "cancelled"}),
    # a new pattern moves the next run
    (job(**HOURLY), {"pattern": "*/10 * * * *"},
     {"pattern": "*/10 * * * *",
      "next_execution_time": at("2030-01-01T12:10:00")}),
    (job(**HOURLY), {"pattern": "0 * * * *"}, {"pattern": "0 * * * *"}),
    (job(**ONE_SHOT), {"pattern": ""}, {}),
    # a given next time wins
    (job(status="paused", **HOURLY),
     {"status": "running", "next_execution_time": "2030-01-02T00:00:00Z"},
     {"status": "running", "next_execution_time": at("2030-01-02T00:00:00")}),
    (job(**ONE_SHOT), {"next_execution_time": "2030-01-01T14:00:00+01:00"},
     {"next_execution_time": at("2030-01-01T13:00:00")}),
])
def test_job_updates(current, changes, expected):
    assert jobs.plan_update(current, changes, NOW) == expected


@pytest.mark.parametrize("current, changes, message", [
    (job(status="done", **ONE_SHOT), {"name": "n"},
     "Can not update a finished job."),
    (job(status="cancelled", **HOURLY), {"status": "running"},
     "Can not update a finished job."),
    (job(**ONE_SHOT), {"pattern": "* * * * *"}, "Can not change job type."),
    (job(**HOURLY), {"pattern": ""}, "Can not change job type."),
    (job(**HOURLY), {"pattern": "nope"},
     "The specified pattern is not valid: nope"),
    (job(**HOURLY), {"status": "done"}, "Invalid status."),
    (job(**HOURLY), {"status": "sleeping"}, "Invalid status."),
    (job(**HOURLY), {"next_execution_time": "2030-01-01T12:00:59Z"},
     "Execution time must be at least 1 minute in the future."),
    (job(status="paused", next_time="2030-01-01T12:01:00", **ONE_SHOT),
     {"status": "running"},
     "Execution time must be at least 1 minute in the future."),
    (job(**HOURLY), {"count": 3}, "Can not update field(s): count."),
    (job(**HOURLY), {"function_id": "f", "first_execution_time": "x"},
     "Can not update field(s): first_execution_time, function_id."),
])
def test_bad_job_updates_are_refused(current, changes, message):
    with pytest.raises(exceptions.InputException) as raised:
        jobs.plan_update(current, changes, NOW)

    assert str(raised.value) == message


DUE = "2030-01-01T12:00:00"


@pytest.mark.parametrize("current, values", [
    # one-shot: its only run ends it
    (job(next_time=DUE, **ONE_SHOT), {"status": "done", "count": 0}),
    (job(next_time=DUE, pattern=None, count=None),
     {"status": "done", "count": 0}),
    # unlimited recurring: the next time after the one due
    (job(next_time=DUE, pattern="* * * * *"),
     {"next_execution_time": at("2030-01-01T12:01:00"), "count": None}),
    # limited recurring: count down, done at zero
    (job(next_time=DUE, pattern="* * * * *", count=3),
     {"next_execution_time": at("2030-01-01T12:01:00"), "count": 2}),
    (job(next_time=DUE, pattern="* * * * *", count=1),
     {"status": "done", "count": 0}),
    # behind by hours: fired once, the next run is after now
    (job(next_time="2030-01-01T03:00:00", pattern="0 * * * *", count=5),
     {"next_execution_time": at("2030-01-01T13:00:00"), "count": 4}),
    # a pattern with no later time ends the job
    (job(next_time=DUE, pattern="0 12 1 1 * 0 2030"),
     {"status": "done", "count": None}),
])
def test_a_due_run_is_claimed_by_compare_and_swap(current, values):
    expected, planned = jobs.plan_run(current, NOW)

    assert expected == {"status": "running",
                        "next_execution_time": current.next_execution_time,
                        "count": current.count}
    assert planned == values


@pytest.mark.parametrize("current, missed", [
    (job(next_time=DUE, **ONE_SHOT), False),
    (job(next_time=DUE, pattern="* * * * *"), False),
    (job(next_time="2030-01-01T11:58:00", pattern="* * * * *"), True),
    (job(next_time="2030-01-01T03:00:00", pattern="0 * * * *"), True),
])
def test_missed_runs_are_noticed(current, missed):
    assert jobs.missed_runs(current, NOW) is missed

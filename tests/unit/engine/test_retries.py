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
"""When a failed asynchronous execution runs again: a decision table."""

import datetime

import pytest

from qinling.engine import retries

NOW = datetime.datetime(2026, 12, 6, 12, 0, 0)
S = datetime.timedelta(seconds=1)


@pytest.mark.parametrize(
    "sync, attempts, retry_attempts, age, max_event_age, expected", [
        # Synchronous executions are never retried.
        (True, 1, 2, 0, None, None),
        # Default: no retry.
        (False, 1, 0, 0, None, None),
        # First retry after the back-off, second after twice as long.
        (False, 1, 2, 0, None, 2),
        (False, 2, 2, 0, None, 4),
        # Retries used up.
        (False, 3, 2, 0, None, None),
        # Never past max_event_age.
        (False, 1, 2, 0, 10, 2),
        (False, 1, 2, 9, 10, None),
    ])
def test_next_attempt(sync, attempts, retry_attempts, age, max_event_age,
                      expected):
    at = retries.next_attempt(sync, attempts, retry_attempts, NOW - age * S,
                              max_event_age, NOW, backoff=2)
    assert at == (None if expected is None else NOW + expected * S)


@pytest.mark.parametrize("sync, attempts, age, max_event_age, expected", [
    (False, 1, 61, 60, True),
    (False, 1, 59, 60, False),
    (False, 1, 3600, None, False),
    # A retry already started once; a sync caller waits for it.
    (False, 2, 61, 60, False),
    (True, 1, 61, 60, False),
])
def test_too_old(sync, attempts, age, max_event_age, expected):
    assert retries.too_old(sync, attempts, NOW - age * S, max_event_age,
                           NOW) is expected


@pytest.mark.parametrize(
    "sync, started, attempts, retry_attempts, expected_at, expected", [
        # Async, never reached a worker: queued again at once...
        (False, False, 1, 0, 0, retries.INTERRUPTED_RETRY),
        (False, False, 2, 0, 0, retries.INTERRUPTED_RETRY),
        # ...up to MAX_UNSTARTED_CLAIMS claims.
        (False, False, 3, 0, None, retries.UNCLAIMED % 3),
        (False, False, 3, 1, 0, retries.INTERRUPTED_RETRY),
        # Async, it ran: retried only as the function allows.
        (False, True, 1, 0, None, retries.INTERRUPTED),
        (False, True, 1, 1, 2, retries.INTERRUPTED_RETRY),
        # Sync: never again.
        (True, False, 1, 2, None, retries.INTERRUPTED),
    ])
def test_after_lapse(sync, started, attempts, retry_attempts, expected_at,
                     expected):
    at, output = retries.after_lapse(sync, started, attempts,
                                     retry_attempts, NOW, None, NOW,
                                     backoff=2)
    assert at == (None if expected_at is None else NOW + expected_at * S)
    assert output == expected

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
"""Decision tables for the engine's scaling decisions."""

import pytest

from qinling.engine import scaling

NEEDS_WORKER_TABLE = [
    # (running incl. this one, workers, concurrency, add a worker?)
    (1, 0, 3, True),     # a fresh function always gets its first worker
    (5, 0, 3, True),
    (1, 1, 3, False),
    (3, 1, 3, False),    # 3/1 is not > 3: tempest's 3 calls on 1 worker
    (4, 1, 3, True),     # the 4th running execution adds the second
    (6, 2, 3, False),    # 6/2 = 3: tempest's 6 calls end on 2 workers
    (7, 2, 3, True),
    (2, 1, 1, True),
    (1, 1, 1, False),
    (100, 40, 3, False),
]


@pytest.mark.parametrize("running,workers,concurrency,expected",
                         NEEDS_WORKER_TABLE)
def test_a_worker_is_added_when_running_per_worker_exceeds_concurrency(
        running, workers, concurrency, expected):
    assert scaling.needs_worker(running, workers, concurrency) is expected


SCALE_DOWN_TABLE = [
    # (workers, requested, released)
    (0, 1, 0),
    (1, 1, 0),      # the last worker always stays
    (2, 1, 1),
    (3, 5, 2),      # asking for more keeps one
    (3, 2, 2),
    (4, 0, 0),
    (4, -1, 0),
]


@pytest.mark.parametrize("workers,requested,expected", SCALE_DOWN_TABLE)
def test_scale_down_never_releases_the_last_worker(workers, requested,
                                                   expected):
    assert scaling.scale_down_count(workers, requested) == expected


IDLE_TABLE = [
    # (running, last used, now, expiration, idle?)
    (0, 100.0, 200.0, 100, True),
    (0, 100.0, 199.9, 100, False),
    (1, 0.0, 1000.0, 100, False),   # a running execution is never idle
    (0, 0.0, 3600.0, 3600, True),
]


@pytest.mark.parametrize("running,last_used,now,expiration,expected",
                         IDLE_TABLE)
def test_workers_are_idle_after_the_expiration_without_executions(
        running, last_used, now, expiration, expected):
    assert scaling.is_idle(running, last_used, now, expiration) is expected

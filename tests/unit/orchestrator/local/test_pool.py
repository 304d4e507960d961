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
"""Decision tables for the pure pool functions."""

import pytest

from qinling.orchestrator.local import pool

F, G = "func-f", "func-g"


def worker(name, state, function_id=None, version=0, md5=None, in_flight=0,
           seq=None):
    return pool.Worker(name=name, runtime_id="rt", state=state,
                       seq=seq if seq is not None else int(name[1:]),
                       function_id=function_id,
                       function_version=version if function_id else None,
                       package_md5=md5, in_flight=in_flight)


def free(name):
    return worker(name, pool.FREE)


def assigned(name, function_id=F, version=0, md5="m1", in_flight=0):
    return worker(name, pool.ASSIGNED, function_id, version, md5, in_flight)


# --- choose -------------------------------------------------------------

CHOOSE_TABLE = [
    # (case, workers, expected decision for (F, version 0, md5 m1))
    ("nothing at all: spawn one",
     [], pool.Decision(spawn=True)),
    ("only free workers: claim the oldest",
     [free("w2"), free("w1")], pool.Decision(claim="w1")),
    ("a worker serves the function: reuse it",
     [free("w1"), assigned("w2")], pool.Decision(reuse="w2")),
    ("several serve it: reuse the least busy",
     [assigned("w1", in_flight=3), assigned("w2", in_flight=1),
      assigned("w3", in_flight=2)], pool.Decision(reuse="w2")),
    ("equally busy: reuse the oldest",
     [assigned("w3"), assigned("w2")], pool.Decision(reuse="w2")),
    ("another function's worker is never reused",
     [assigned("w1", function_id=G), free("w2")], pool.Decision(claim="w2")),
    ("another version's worker is never reused",
     [assigned("w1", version=1), free("w2")], pool.Decision(claim="w2")),
    ("old md5: claim a free worker and release the old one",
     [assigned("w1", md5="old"), free("w2")],
     pool.Decision(claim="w2", release=("w1",))),
    ("old md5 and no free worker: spawn and release",
     [assigned("w1", md5="old")],
     pool.Decision(spawn=True, release=("w1",))),
    ("another version with another md5 is not released",
     [assigned("w1", version=1, md5="old")], pool.Decision(spawn=True)),
    ("a worker loading the same package: wait for it, claim nothing",
     [worker("w1", pool.LOADING, F, 0, "m1"), free("w2")],
     pool.Decision(wait="w1")),
    ("several loading it: wait for the oldest",
     [worker("w3", pool.LOADING, F, 0, "m1"),
      worker("w2", pool.LOADING, F, 0, "m1")], pool.Decision(wait="w2")),
    ("a served worker wins over a loading one",
     [worker("w1", pool.LOADING, F, 0, "m1"), assigned("w2")],
     pool.Decision(reuse="w2")),
    ("a worker loading another md5 is not waited for",
     [worker("w1", pool.LOADING, F, 0, "old"), free("w2")],
     pool.Decision(claim="w2")),
    ("a worker loading another function is not waited for",
     [worker("w1", pool.LOADING, G, 0, "m1")], pool.Decision(spawn=True)),
    ("a starting worker is not claimed yet",
     [worker("w1", pool.STARTING)], pool.Decision(spawn=True)),
    ("a draining worker is not reused",
     [worker("w1", pool.DRAINING, F, 0, "m1"), free("w2")],
     pool.Decision(claim="w2")),
]


@pytest.mark.parametrize("case,workers,expected", CHOOSE_TABLE,
                         ids=[row[0] for row in CHOOSE_TABLE])
def test_choose_picks_the_worker_for_a_function(case, workers, expected):
    assert pool.choose(workers, F, 0, "m1") == expected


# --- is_reusable ----------------------------------------------------------

REUSABLE_TABLE = [
    (assigned("w1"), True),
    (assigned("w1", md5="other"), False),
    (assigned("w1", version=2), False),
    (assigned("w1", function_id=G), False),
    (worker("w1", pool.LOADING, F, 0, "m1"), False),
    (worker("w1", pool.DRAINING, F, 0, "m1"), False),
    (free("w1"), False),
]


@pytest.mark.parametrize("candidate,expected", REUSABLE_TABLE)
def test_only_same_function_version_and_md5_is_reusable(candidate, expected):
    assert pool.is_reusable(candidate, F, 0, "m1") is expected


# --- refill_count ---------------------------------------------------------

REFILL_TABLE = [
    # (pool size, states of the runtime's workers, workers to start)
    (3, [], 3),
    (3, [pool.FREE] * 3, 0),
    (3, [pool.FREE, pool.FREE, pool.ASSIGNED], 1),
    (3, [pool.FREE, pool.STARTING, pool.LOADING], 1),
    (3, [pool.STARTING] * 3, 0),
    (2, [pool.FREE] * 4, 0),
    (0, [pool.ASSIGNED], 0),
    (2, [pool.ASSIGNED, pool.DRAINING, pool.LOADING], 2),
]


@pytest.mark.parametrize("size,states,expected", REFILL_TABLE)
def test_refill_brings_free_and_starting_workers_back_to_pool_size(
        size, states, expected):
    workers = [worker(f"w{i}", state) for i, state in enumerate(states)]
    assert pool.refill_count(size, workers) == expected


# --- scale_up_plan --------------------------------------------------------

SCALE_UP_TABLE = [
    # (case, workers, count, (claimed, started))
    ("enough free workers: claim the oldest",
     [free("w3"), free("w1"), free("w2")], 2, (("w1", "w2"), 0)),
    ("too few free workers: claim them all and start the rest",
     [free("w2"), assigned("w1")], 3, (("w2",), 2)),
    ("no free worker: start them all",
     [assigned("w1"), worker("w2", pool.STARTING)], 2, ((), 2)),
    ("loading and draining workers are not free",
     [worker("w1", pool.LOADING, G, 0, "m"),
      worker("w2", pool.DRAINING, F, 0, "m1"), free("w3")], 1,
     (("w3",), 0)),
]


@pytest.mark.parametrize("case,workers,count,expected", SCALE_UP_TABLE,
                         ids=[row[0] for row in SCALE_UP_TABLE])
def test_scale_up_claims_the_oldest_free_workers_then_starts_more(
        case, workers, count, expected):
    assert pool.scale_up_plan(workers, count) == expected


# --- scale_down_choice ----------------------------------------------------

SCALE_DOWN_TABLE = [
    # (case, workers, count, released)
    ("idle workers go before busy ones",
     [assigned("w1", in_flight=0), assigned("w2", in_flight=2),
      assigned("w3", in_flight=0)], 2, ("w3", "w1")),
    ("among equally busy ones the newest goes",
     [assigned("w1", in_flight=1), assigned("w2", in_flight=1)], 1,
     ("w2",)),
    ("only the function version's workers go",
     [assigned("w1", function_id=G), assigned("w2", version=1),
      free("w3"), assigned("w4")], 5, ("w4",)),
    ("a worker still loading the function may go",
     [worker("w1", pool.LOADING, F, 0, "m1"), assigned("w2", in_flight=1)],
     1, ("w1",)),
    ("zero releases nothing",
     [assigned("w1")], 0, ()),
]


@pytest.mark.parametrize("case,workers,count,expected", SCALE_DOWN_TABLE,
                         ids=[row[0] for row in SCALE_DOWN_TABLE])
def test_scale_down_releases_idle_then_newest_workers_of_the_function(
        case, workers, count, expected):
    assert pool.scale_down_choice(workers, F, 0, count) == expected


# --- least_busy, release_event, capacity ----------------------------------

def test_least_busy_of_no_workers_is_none():
    assert pool.least_busy([]) is None


RELEASE_TABLE = [
    (assigned("w1", in_flight=0), "release"),
    (assigned("w1", in_flight=2), "drain"),
    (free("w1"), "release"),
    (worker("w1", pool.LOADING, F, 0, "m1"), "release"),
]


@pytest.mark.parametrize("candidate,expected", RELEASE_TABLE)
def test_busy_assigned_workers_drain_before_they_stop(candidate, expected):
    assert pool.release_event(candidate) == expected


def test_capacity_counts_live_workers_and_free_ones():
    workers = [worker(f"w{i}", state) for i, state in enumerate(
        [pool.STARTING, pool.FREE, pool.FREE, pool.LOADING, pool.ASSIGNED,
         pool.DRAINING, pool.STOPPING])]
    assert pool.capacity(workers) == (5, 2)


# --- transitions ----------------------------------------------------------

TRANSITION_TABLE = [
    (None, "spawn", pool.STARTING),
    (None, "spawn_claimed", pool.LOADING),
    (pool.STARTING, "ready", pool.FREE),
    (pool.FREE, "claim", pool.LOADING),
    (pool.LOADING, "loaded", pool.ASSIGNED),
    (pool.LOADING, "fail", pool.STOPPING),
    (pool.ASSIGNED, "drain", pool.DRAINING),
    (pool.DRAINING, "idle", pool.STOPPING),
    (pool.ASSIGNED, "died", pool.STOPPING),
    (pool.FREE, "release", pool.STOPPING),
]


@pytest.mark.parametrize("state,event,expected", TRANSITION_TABLE)
def test_transitions_follow_the_table(state, event, expected):
    assert pool.next_state(state, event) == expected


@pytest.mark.parametrize("state,event", [
    (pool.ASSIGNED, "claim"),
    (pool.STOPPING, "ready"),
    (pool.FREE, "loaded"),
    (pool.STARTING, "claim"),
    (pool.STOPPING, "release"),
])
def test_events_not_in_the_table_are_refused(state, event):
    with pytest.raises(pool.InvalidTransition):
        pool.next_state(state, event)

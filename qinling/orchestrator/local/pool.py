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
"""The local worker pool: states, transitions and pure decisions.

Nothing here has a side effect. The driver keeps one :class:`Worker` record
per worker, asks the functions below what to do, applies the transitions
with :func:`advance` under its lock, and does the spawning, unzipping and
killing itself, outside the lock.
"""

import dataclasses

# Worker states.
STARTING = "starting"  # process being started for the free pool
FREE = "free"          # answers ping, serves no function yet
LOADING = "loading"    # claimed for a function, package being unzipped
ASSIGNED = "assigned"  # serves one (function, version, package md5)
DRAINING = "draining"  # released while busy; stops after its executions
STOPPING = "stopping"  # being stopped; forgotten once stopped

#: (state, event) -> next state, with what triggers each event. A new
#: record's state is None.
TRANSITIONS = {
    # create_pool or a refill starts a worker for the free pool.
    (None, "spawn"): STARTING,
    # prepare_execution found no free worker and starts one for itself.
    (None, "spawn_claimed"): LOADING,
    # the new worker answered its first ping.
    (STARTING, "ready"): FREE,
    # prepare_execution claimed the worker for a function.
    (FREE, "claim"): LOADING,
    # the function's package is in the worker.
    (LOADING, "loaded"): ASSIGNED,
    # a bad package, or the worker did not start: discard it.
    (LOADING, "fail"): STOPPING,
    (STARTING, "fail"): STOPPING,
    # delete_function, a new package md5, delete_pool or stop; a busy
    # assigned worker drains first (see release_event).
    (FREE, "release"): STOPPING,
    (STARTING, "release"): STOPPING,
    (LOADING, "release"): STOPPING,
    (ASSIGNED, "release"): STOPPING,
    (ASSIGNED, "drain"): DRAINING,
    (DRAINING, "release"): STOPPING,
    # the last execution of a draining worker finished.
    (DRAINING, "idle"): STOPPING,
    # the worker's process is gone.
    (FREE, "died"): STOPPING,
    (LOADING, "died"): STOPPING,
    (ASSIGNED, "died"): STOPPING,
    (DRAINING, "died"): STOPPING,
}

#: States of a worker that is up and counts in the pool's capacity.
LIVE = (FREE, LOADING, ASSIGNED, DRAINING)


class InvalidTransition(Exception):
    """An event that the worker's state does not allow (a driver bug)."""


@dataclasses.dataclass
class Worker:
    """What the pool knows about one worker."""

    name: str
    runtime_id: str
    #: creation order; older free workers are claimed first.
    seq: int
    state: str | None = None
    function_id: str | None = None
    function_version: int | None = None
    package_md5: str | None = None
    #: executions running on the worker right now.
    in_flight: int = 0


@dataclasses.dataclass(frozen=True)
class Decision:
    """What prepare_execution should do for a function."""

    #: an assigned worker to reuse, or None.
    reuse: str | None = None
    #: a worker loading the same package: wait for it, then decide again.
    wait: str | None = None
    #: a free worker to claim and load, or None.
    claim: str | None = None
    #: start a worker for this function (no reusable or free worker).
    spawn: bool = False
    #: workers serving an older package of the function, to release.
    release: tuple[str, ...] = ()


def next_state(state, event):
    """Return the state that ``event`` leads to from ``state``.

    :raises InvalidTransition: the event is not allowed in that state.
    """
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise InvalidTransition(f"{state} cannot {event}")


def advance(worker, event):
    """Apply ``event`` to ``worker`` (the only place that sets a state)."""
    worker.state = next_state(worker.state, event)


def serves(worker, function_id, version):
    """Whether the worker is loading or serving the function version."""
    return (worker.state in (LOADING, ASSIGNED)
            and worker.function_id == function_id
            and worker.function_version == version)


def is_reusable(worker, function_id, version, package_md5):
    """Whether an execution of the function version may run on ``worker``.

    Only an assigned worker with the same function, version and package
    md5 is reusable.
    """
    return (worker.state == ASSIGNED
            and worker.function_id == function_id
            and worker.function_version == version
            and worker.package_md5 == package_md5)


def least_busy(workers):
    """Return the worker with the fewest executions in flight, or None.

    Ties go to the oldest worker, so that the choice is deterministic.
    """
    return min(workers, key=lambda w: (w.in_flight, w.seq), default=None)


def choose(workers, function_id, version, package_md5):
    """Decide how to get a worker for a function version.

    :param workers: the records of the runtime's workers.
    :returns: a :class:`Decision`.
    """
    stale = tuple(w.name for w in workers
                  if w.state == ASSIGNED and w.function_id == function_id
                  and w.function_version == version
                  and w.package_md5 != package_md5)
    reusable = [w for w in workers
                if is_reusable(w, function_id, version, package_md5)]
    if reusable:
        return Decision(reuse=least_busy(reusable).name, release=stale)
    loading = [w for w in workers
               if w.state == LOADING and w.function_id == function_id
               and w.function_version == version
               and w.package_md5 == package_md5]
    if loading:
        oldest = min(loading, key=lambda w: w.seq)
        return Decision(wait=oldest.name, release=stale)
    free = [w for w in workers if w.state == FREE]
    if free:
        oldest = min(free, key=lambda w: w.seq)
        return Decision(claim=oldest.name, release=stale)
    return Decision(spawn=True, release=stale)


def scale_up_plan(workers, count):
    """Decide which workers give a function ``count`` more workers.

    The oldest free workers are claimed; the rest are started.

    :param workers: the records of the runtime's workers.
    :returns: (names of free workers to claim, number to start).
    """
    free = sorted((w for w in workers if w.state == FREE),
                  key=lambda w: w.seq)
    claim = tuple(w.name for w in free[:count])
    return claim, count - len(claim)


def scale_down_choice(workers, function_id, version, count):
    """Choose ``count`` workers of a function version to release.

    Idle workers go first, then the least busy; among equals the newest,
    so that the oldest (warmest) workers stay.

    :param workers: the records of the runtime's (or all) workers.
    :returns: the names to release, possibly fewer than ``count``.
    """
    serving = [w for w in workers if serves(w, function_id, version)]
    serving.sort(key=lambda w: (w.in_flight, -w.seq))
    return tuple(w.name for w in serving[:max(0, count)])


def refill_count(pool_size, workers):
    """How many workers to start so the free pool gets back to its size.

    Workers already starting count as free.
    """
    waiting = sum(1 for w in workers if w.state in (FREE, STARTING))
    return max(0, pool_size - waiting)


def release_event(worker):
    """The event that releases ``worker``: drain if busy, else release."""
    if worker.state == ASSIGNED and worker.in_flight > 0:
        return "drain"
    return "release"


def capacity(workers):
    """Return (total, available): live workers and free workers."""
    total = sum(1 for w in workers if w.state in LIVE)
    available = sum(1 for w in workers if w.state == FREE)
    return total, available

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
"""The execution queue's claims and leases, on a migrated SQLite file.

Every test works in its own projects and under its own engine names, so
they share whichever database the process configured first (see
test_queries.py).
"""

import datetime
import threading
import time
import uuid

from oslo_utils import timeutils
import pytest

from qinling import context
from qinling import exceptions
from qinling import states
from qinling.db import api as db_api
from qinling.db import migration


@pytest.fixture
def ctx(conf, tmp_path):
    conf.set_override("connection", "sqlite:///%s" % (tmp_path / "q.db"),
                      group="database")
    db_api.configure(conf)
    migration.upgrade("head")
    return context.Context(project_id=uuid.uuid4().hex)


ADMIN = context.admin_context()


def _function(ctx, **values):
    runtime = db_api.runtime_create(ctx, {
        "image": "python3", "status": states.AVAILABLE, "is_public": False})
    return db_api.function_create(ctx, dict({
        "runtime_id": runtime.id, "cpu": 100, "memory_size": 1 << 25,
        "timeout": 5, "code": {"source": "package", "md5sum": "x"},
        "count": 0, "latest_version": 0}, **values))


def _queue(ctx, function, sync=False):
    execution, _target = db_api.execution_create_resolved(ctx, {
        "function_id": function.id, "sync": sync,
        "status": states.RUNNING})
    return execution


def _engine():
    return "engine-%s" % uuid.uuid4().hex[:8]


def _later():
    return timeutils.utcnow() + datetime.timedelta(seconds=60)


def test_a_queued_execution_is_claimed_once_and_counts_an_attempt(ctx):
    execution = _queue(ctx, _function(ctx))
    first, second = _engine(), _engine()

    loaded = db_api.execution_claim_by_engine(ADMIN, execution.id, first, 10)
    again = db_api.execution_claim_by_engine(ADMIN, execution.id, second, 10)

    assert loaded.execution.id == execution.id
    assert loaded.execution.engine_id == first
    assert loaded.execution.attempts == 1
    assert again is None


def test_of_engines_claiming_one_execution_at_once_exactly_one_wins(ctx):
    execution = _queue(ctx, _function(ctx))
    wins = []

    def claim():
        if db_api.execution_claim_by_engine(ADMIN, execution.id, _engine(),
                                            10) is not None:
            wins.append(1)
    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(wins) == 1


def test_only_the_engine_holding_the_claim_ends_the_execution(ctx):
    execution = _queue(ctx, _function(ctx))
    holder = _engine()
    db_api.execution_claim_by_engine(ADMIN, execution.id, holder, 10)
    result = {"output": "ok", "duration": 0.1}

    by_other = db_api.execution_finish_by_engine(
        ADMIN, execution.id, states.SUCCESS, result, "", engine_id=_engine())
    unclaimed = db_api.execution_finish_by_engine(
        ADMIN, execution.id, states.ERROR, result, "")
    by_holder = db_api.execution_finish_by_engine(
        ADMIN, execution.id, states.SUCCESS, result, "", engine_id=holder)

    assert by_other is None and unclaimed is None
    assert by_holder["status"] == states.SUCCESS
    assert db_api.execution_get(ctx, execution.id).status == states.SUCCESS


def test_a_lease_that_is_not_renewed_lapses_and_a_renewed_one_holds(ctx):
    function = _function(ctx)
    kept, lost = _queue(ctx, function), _queue(ctx, function)
    keeper, dead = _engine(), _engine()
    db_api.execution_claim_by_engine(ADMIN, kept.id, keeper, 1)
    db_api.execution_claim_by_engine(ADMIN, lost.id, dead, 1)

    deadline = time.monotonic() + 10
    lapsed = []
    while time.monotonic() < deadline:
        db_api.execution_renew_leases_by_engine(ADMIN, keeper, 1)
        lapsed = [c.id for c in db_api.execution_lapsed_claims_by_engine(
            ADMIN, limit=1000) if c.id in (kept.id, lost.id)]
        if lapsed:
            break
        time.sleep(0.2)

    assert lapsed == [lost.id]


def test_a_restarted_engine_lapses_only_its_own_leases(ctx):
    function = _function(ctx)
    mine, theirs = _queue(ctx, function), _queue(ctx, function)
    me, other = _engine(), _engine()
    db_api.execution_claim_by_engine(ADMIN, mine.id, me, 60)
    db_api.execution_claim_by_engine(ADMIN, theirs.id, other, 60)

    assert db_api.execution_lapse_leases_by_engine(ADMIN, me) == 1
    lapsed = {c.id for c in db_api.execution_lapsed_claims_by_engine(
        ADMIN, limit=1000)}
    assert mine.id in lapsed and theirs.id not in lapsed


def test_a_requeued_execution_waits_for_its_back_off_then_is_claimed_again(
        ctx):
    execution = _queue(ctx, _function(ctx))
    first = _engine()
    db_api.execution_claim_by_engine(ADMIN, execution.id, first, 10)

    assert db_api.execution_requeue_by_engine(
        ADMIN, execution.id, first, _later(), {"output": "boom"})
    assert not db_api.execution_requeue_by_engine(
        ADMIN, execution.id, first, _later())
    assert db_api.execution_claim_by_engine(
        ADMIN, execution.id, _engine(), 10) is None

    row = db_api.execution_get(ctx, execution.id)
    assert (row.status, row.engine_id, row.attempts) == (
        states.RUNNING, None, 1)
    assert row.result == {"output": "boom"}


def test_the_queue_lists_each_projects_oldest_first(ctx):
    flooder = ctx
    other = context.Context(project_id=uuid.uuid4().hex)
    flood = [_queue(flooder, _function(flooder)) for _ in range(5)]
    late = _queue(other, _function(other))

    ids = db_api.execution_queued_by_engine(ADMIN, 1000, _later())
    ours = [i for i in ids if i in {e.id for e in flood} | {late.id}]

    # Rank 1 of each project comes before rank 2 of any.
    assert set(ours[:2]) == {flood[0].id, late.id}
    assert ours[2:] == [e.id for e in flood[1:]]


def test_a_sync_execution_is_left_to_the_api_until_its_hand_off_timeout(
        ctx):
    execution = _queue(ctx, _function(ctx), sync=True)
    long_ago = timeutils.utcnow() - datetime.timedelta(seconds=60)

    assert execution.id not in db_api.execution_queued_by_engine(
        ADMIN, 1000, long_ago)
    assert execution.id in db_api.execution_queued_by_engine(
        ADMIN, 1000, _later())


def test_a_full_backlog_is_refused_with_429_and_retry_after(ctx):
    function = _function(ctx)
    backlog = db_api.Backlog(per_function=2, per_project=10, retry_after=7)
    for _ in range(2):
        db_api.execution_create_resolved(ctx, {
            "function_id": function.id, "status": states.RUNNING},
            backlog=backlog)

    with pytest.raises(exceptions.TooManyRequests) as refused:
        db_api.execution_create_resolved(ctx, {
            "function_id": function.id, "status": states.RUNNING},
            backlog=backlog)

    assert refused.value.http_code == 429
    assert refused.value.retry_after == 7
    assert "2 executions queued or running" in refused.value.message


def test_an_engine_heartbeat_counts_it_alive(ctx):
    engine = _engine()
    before = db_api.engines_alive_by_engine(ADMIN, 30)
    db_api.execution_renew_leases_by_engine(ADMIN, engine, 10)
    assert db_api.engines_alive_by_engine(ADMIN, 30) == before + 1
    db_api.engine_forget_by_engine(ADMIN, engine)
    assert db_api.engines_alive_by_engine(ADMIN, 30) == before

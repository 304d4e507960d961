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
"""The dispatcher's claims and leases, with a runner that only records
what it was given (no workers), on a migrated SQLite file."""

import datetime
import threading
import time
import uuid

from oslo_utils import timeutils
import pytest

from qinling import context
from qinling import metrics
from qinling import states
from qinling.db import api as db_api
from qinling.db import migration
from qinling.engine import dispatcher as engine_dispatcher
from qinling.engine import load as engine_load
from qinling.engine import retries
from qinling.engine import runner as engine_runner

ADMIN = context.admin_context()


class RecordingRunner:
    """Ends each execution it is given as a success, once released."""

    def __init__(self):
        self.ran = []
        self.lapsed = []
        self.release = threading.Event()
        self.release.set()

    def run(self, ctx, loaded, engine_id):
        self.ran.append(loaded.execution.id)
        self.release.wait(30)
        return db_api.execution_finish_by_engine(
            ADMIN, loaded.execution.id, states.SUCCESS,
            {"output": "ok", "duration": 0}, "", engine_id=engine_id)

    def report_lapsed(self, execution_id, final):
        self.lapsed.append((execution_id, final["status"]))

    def report_failure(self, execution_id, status, result):
        pass


@pytest.fixture
def ctx(conf, tmp_path):
    conf.set_override("connection", "sqlite:///%s" % (tmp_path / "q.db"),
                      group="database")
    conf.set_override("async_concurrency", 2, group="engine")
    db_api.configure(conf)
    migration.upgrade("head")
    # The database may be another test module's (configured once per
    # process): end what it left queued, which the dispatchers here would
    # otherwise claim first (oldest first).
    later = timeutils.utcnow() + datetime.timedelta(days=1)
    for execution_id in db_api.execution_queued_by_engine(ADMIN, 100000,
                                                          later):
        db_api.execution_finish_by_engine(
            ADMIN, execution_id, states.ERROR, {"output": "left over"}, "")
    return context.Context(project_id=uuid.uuid4().hex)


def _function(ctx, **values):
    runtime = db_api.runtime_create(ctx, {
        "image": "python3", "status": states.AVAILABLE, "is_public": False})
    return db_api.function_create(ctx, dict({
        "runtime_id": runtime.id, "cpu": 100, "memory_size": 1 << 25,
        "timeout": 5, "code": {"source": "package", "md5sum": "x"},
        "count": 0, "latest_version": 0}, **values))


def _queue(ctx, function, sync=False):
    execution, _ = db_api.execution_create_resolved(ctx, {
        "function_id": function.id, "sync": sync, "status": states.RUNNING})
    return execution


def _wait_status(ctx, execution_id, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution = db_api.execution_get(ctx, execution_id)
        if execution.status != states.RUNNING:
            return execution
        time.sleep(0.05)
    return db_api.execution_get(ctx, execution_id)


def test_queued_executions_run_once_within_the_engines_slots(conf, ctx):
    function = _function(ctx)
    queued = [_queue(ctx, function) for _ in range(3)]
    runner = RecordingRunner()
    runner.release.clear()
    dispatcher = engine_dispatcher.Dispatcher(conf, runner)

    started = dispatcher.claim_queued()
    again = dispatcher.claim_queued()
    runner.release.set()
    ended = [_wait_status(ctx, e.id) for e in queued[:2]]

    assert (started, again) == (2, 0)
    assert [e.status for e in ended] == [states.SUCCESS] * 2
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(runner.ran) < 3:
        dispatcher.claim_queued()
        time.sleep(0.05)
    assert sorted(runner.ran) == sorted(e.id for e in queued)
    assert _wait_status(ctx, queued[2].id).status == states.SUCCESS


def test_an_offered_execution_is_not_run_by_a_second_engine(conf, ctx):
    execution = _queue(ctx, _function(ctx))
    first, second = RecordingRunner(), RecordingRunner()

    engine_dispatcher.Dispatcher(conf, first).offer(None, execution.id)
    engine_dispatcher.Dispatcher(conf, second).offer(None, execution.id)

    assert _wait_status(ctx, execution.id).status == states.SUCCESS
    assert (first.ran, second.ran) == ([execution.id], [])


@pytest.mark.parametrize("sync, started, status, output", [
    (False, False, states.RUNNING, retries.INTERRUPTED_RETRY),
    (False, True, states.ERROR, retries.INTERRUPTED),
    (True, False, states.ERROR, retries.INTERRUPTED),
])
def test_a_dead_engines_claim_is_settled_by_another(conf, ctx, sync,
                                                    started, status, output):
    execution = _queue(ctx, _function(ctx), sync=sync)
    dead = "dead-%s" % uuid.uuid4().hex[:8]
    db_api.execution_claim_by_engine(ADMIN, execution.id, dead, 1)
    if started:
        db_api.execution_mark_started_by_engine(ADMIN, execution.id, dead)
    runner = RecordingRunner()
    alive = engine_dispatcher.Dispatcher(conf, runner)

    deadline = time.monotonic() + 10
    row = db_api.execution_get(ctx, execution.id)
    while time.monotonic() < deadline and row.engine_id == dead and \
            row.status == states.RUNNING:
        alive.keep_leases()
        time.sleep(0.2)
        row = db_api.execution_get(ctx, execution.id)

    assert (row.status, row.result["output"], row.engine_id) == (
        status, output, None if status == states.RUNNING else dead)
    # An ended execution's end is reported (counted, notified) once.
    assert runner.lapsed == ([] if status == states.RUNNING
                             else [(execution.id, states.ERROR)])


def test_the_end_of_a_dead_engines_execution_is_counted(conf, ctx):
    function = _function(ctx)
    execution = _queue(ctx, function, sync=True)
    dead = "dead-%s" % uuid.uuid4().hex[:8]
    db_api.execution_claim_by_engine(ADMIN, execution.id, dead, 1)
    ended = metrics.EXECUTIONS.labels(function.id, states.ERROR)
    before = ended._value.get()
    alive = engine_dispatcher.Dispatcher(conf, engine_runner.ExecutionRunner(
        conf, None, None, engine_load.LoadTracker()))

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and db_api.execution_get(
            ctx, execution.id).status == states.RUNNING:
        alive.keep_leases()
        time.sleep(0.2)

    assert db_api.execution_get(ctx, execution.id).status == states.ERROR
    assert ended._value.get() == before + 1

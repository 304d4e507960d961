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
"""The execution queries of the hot path, on a migrated SQLite file.

The DB API is configured once per process: these tests use whatever
database is configured already (test_migrations.py, which runs first,
configures one), else their own; every test works in its own project.
"""

import threading
import uuid

import pytest
import sqlalchemy as sa

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


def _function(ctx, runtime_status=states.AVAILABLE, timeout=7):
    runtime = db_api.runtime_create(ctx, {
        "image": "python3", "status": runtime_status, "is_public": False})
    return db_api.function_create(ctx, {
        "runtime_id": runtime.id, "cpu": 100, "memory_size": 1 << 25,
        "timeout": timeout, "code": {"source": "package", "md5sum": "x"},
        "count": 0, "latest_version": 0})


def _version(ctx, function, timeout=3):
    return db_api.version_create(ctx, function.id, {
        "code": function.code, "entry": "main.main", "cpu": 100,
        "memory_size": 1 << 25, "timeout": timeout})


def _values(**values):
    return dict({"sync": True, "status": states.RUNNING}, **values)


def test_an_execution_of_a_function_is_recorded_and_counted(ctx):
    function = _function(ctx)

    execution, target = db_api.execution_create_resolved(
        ctx, _values(function_id=function.id))

    assert (execution.function_id, execution.function_version) == (
        function.id, 0)
    assert (target.function.id, target.version, target.timeout) == (
        function.id, None, 7)
    assert db_api.function_get(ctx, function.id).count == 1
    assert db_api.execution_get(ctx, execution.id).status == states.RUNNING


def test_an_alias_is_resolved_to_its_version_when_the_execution_is_made(
        ctx):
    function = _function(ctx)
    _version(ctx, function, timeout=3)
    db_api.alias_create(ctx, {"name": "live", "function_id": function.id,
                              "function_version": 1})

    execution, target = db_api.execution_create_resolved(
        ctx, _values(function_alias="live", function_id="ignored"))

    assert (execution.function_id, execution.function_version) == (
        function.id, 1)
    assert (target.version.version_number, target.timeout) == (1, 3)
    assert db_api.version_get(ctx, function.id, 1).count == 1
    assert db_api.function_get(ctx, function.id).count == 0


def test_a_refused_execution_writes_nothing(ctx):
    function = _function(ctx, runtime_status=states.ERROR)

    def check(target):
        assert target.runtime.status == states.ERROR
        raise exceptions.RuntimeNotAvailableException("no")

    with pytest.raises(exceptions.RuntimeNotAvailableException):
        db_api.execution_create_resolved(
            ctx, _values(function_id=function.id), check=check)

    assert db_api.execution_list(ctx) == []
    assert db_api.function_get(ctx, function.id).count == 0


@pytest.mark.parametrize("values, error", [
    ({}, exceptions.InputException),
    ({"function_id": "missing"}, exceptions.DBEntityNotFoundError),
    ({"function_alias": "missing"}, exceptions.DBEntityNotFoundError),
])
def test_an_execution_of_nothing_is_refused(ctx, values, error):
    with pytest.raises(error):
        db_api.execution_create_resolved(ctx, _values(**values))
    assert db_api.execution_list(ctx) == []


def test_another_projects_function_cannot_be_run(ctx):
    function = _function(ctx)
    other = context.Context(project_id=uuid.uuid4().hex)

    with pytest.raises(exceptions.DBEntityNotFoundError):
        db_api.execution_create_resolved(
            other, _values(function_id=function.id))


def test_a_function_whose_runtime_is_hidden_cannot_be_run(ctx):
    other = context.Context(project_id=uuid.uuid4().hex)
    hidden = db_api.runtime_create(other, {
        "image": "python3", "status": states.AVAILABLE, "is_public": False})
    function = db_api.function_create(ctx, {
        "runtime_id": hidden.id, "cpu": 100, "memory_size": 1 << 25,
        "timeout": 5, "code": {"source": "package", "md5sum": "x"},
        "count": 0, "latest_version": 0})

    with pytest.raises(exceptions.DBEntityNotFoundError,
                       match="Runtime not found \\[id=%s\\]" % hidden.id):
        db_api.execution_create_resolved(ctx, _values(
            function_id=function.id))
    assert db_api.function_get(ctx, function.id).count == 0


def test_the_engine_reads_an_execution_with_its_function_version(ctx):
    function = _function(ctx)
    _version(ctx, function)
    execution, _ = db_api.execution_create_resolved(
        ctx, _values(function_id=function.id, function_version=1))

    loaded = db_api.execution_to_run_by_engine(ctx, execution.id)

    assert loaded.execution.id == execution.id
    assert loaded.function.id == function.id
    assert loaded.version.version_number == 1
    assert loaded.missing is None


def test_the_engine_learns_that_the_function_is_gone(ctx):
    function = _function(ctx)
    execution, _ = db_api.execution_create_resolved(
        ctx, _values(function_id=function.id))
    db_api.function_delete(ctx, function.id)

    loaded = db_api.execution_to_run_by_engine(ctx, execution.id)

    assert loaded.function is None
    assert str(loaded.missing) == (
        "Function not found [id=%s]" % function.id)


def test_the_engine_does_not_read_another_projects_execution(ctx):
    function = _function(ctx)
    execution, _ = db_api.execution_create_resolved(
        ctx, _values(function_id=function.id))
    other = context.Context(project_id=uuid.uuid4().hex)

    with pytest.raises(exceptions.DBEntityNotFoundError):
        db_api.execution_to_run_by_engine(other, execution.id)


def test_finishing_returns_what_was_written_and_only_once(ctx):
    function = _function(ctx)
    execution, _ = db_api.execution_create_resolved(
        ctx, _values(function_id=function.id))
    admin = context.admin_context()

    final = db_api.execution_finish_by_engine(
        admin, execution.id, states.SUCCESS, {"output": 1, "duration": 0.1},
        "logs", cpu_time=0.01, memory_peak=1024)
    again = db_api.execution_finish_by_engine(
        admin, execution.id, states.ERROR, {"output": 2}, "")

    row = db_api.execution_get(ctx, execution.id)
    assert again is None
    assert final == {"status": row.status, "result": row.result,
                     "logs": row.logs, "cpu_time": row.cpu_time,
                     "memory_peak": row.memory_peak,
                     "updated_at": row.updated_at}
    assert row.status == states.SUCCESS


def test_listed_executions_leave_their_logs_unloaded(ctx):
    function = _function(ctx)
    execution, _ = db_api.execution_create_resolved(
        ctx, _values(function_id=function.id))
    db_api.execution_finish_by_engine(
        context.admin_context(), execution.id, states.SUCCESS,
        {"output": None}, "many logs")

    [listed] = db_api.execution_list(ctx)

    assert listed.status == states.SUCCESS
    assert "logs" not in sa.inspect(listed).dict
    assert db_api.execution_get(ctx, execution.id).logs == "many logs"


def test_a_writer_that_reads_first_waits_for_another_writer(ctx):
    """Without BEGIN IMMEDIATE, the other writer commits between the read
    and the write and the update fails with "database is locked"."""
    function = _function(ctx)
    other_started, errors = threading.Event(), []

    def other_writer():
        other_started.set()
        try:
            db_api.execution_create_resolved(
                ctx, _values(function_id=function.id))
        except Exception as e:  # reported below
            errors.append(e)

    thread = threading.Thread(target=other_writer)

    def check(session, row):
        thread.start()
        other_started.wait(10)
        # Give the other writer the chance to commit, if it can.
        thread.join(0.5)

    db_api.function_update(ctx, function.id, {"description": "new"},
                           check=check)
    thread.join(10)

    assert errors == []
    assert db_api.function_get(ctx, function.id).description == "new"
    assert db_api.function_get(ctx, function.id).count == 1


def test_a_runtime_being_deleted_can_be_marked_deleting_again(ctx):
    runtime = db_api.runtime_create(ctx, {
        "image": "python3", "status": states.AVAILABLE, "is_public": False})

    db_api.runtime_mark_deleting(ctx, runtime.id)
    again = db_api.runtime_mark_deleting(ctx, runtime.id)

    assert again.status == states.DELETING
    db_api.runtime_delete_by_engine(ctx, runtime.id)
    with pytest.raises(exceptions.DBEntityNotFoundError):
        db_api.runtime_mark_deleting(ctx, runtime.id)

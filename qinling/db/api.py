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
"""The database API: every query the services and the engine make.

Functions take the request context first. Lookups on behalf of a user are
scoped to the user's project (runtimes: also public ones); the engine's
own bookkeeping uses the unscoped functions named ``*_by_engine``. No
business rules live here.
"""

import threading

from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import enginefacade
from oslo_utils import timeutils
import sqlalchemy as sa

from qinling import exceptions
from qinling import states
from qinling.db.sqlalchemy import models

_TXN = enginefacade.transaction_context()
_CONFIGURED = threading.Lock()
_configured = False


def configure(conf):
    """Point the DB API at ``[database]``; call once per process."""
    global _configured
    with _CONFIGURED:
        if _configured:
            return
        _TXN.configure(**dict(conf.database.items()))
        engine = _TXN.writer.get_engine()
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        _configured = True


def _sqlite_pragmas(dbapi_connection, connection_record):
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; NORMAL is durable
    # across process crashes, which is what the all-in-one needs.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def get_engine():
    return _TXN.writer.get_engine()


def _not_found(model, **keys):
    detail = ", ".join("%s=%s" % kv for kv in sorted(keys.items()))
    return exceptions.DBEntityNotFoundError(
        "%s not found [%s]" % (model.__name__, detail))


def _scope(query, model, ctx):
    if model is models.Runtime:
        return query.filter(sa.or_(model.project_id == ctx.project_id,
                                   model.is_public.is_(True)))
    return query.filter(model.project_id == ctx.project_id)


def _get(session, ctx, model, id):
    query = session.query(model).filter(model.id == id)
    if ctx is not None:
        query = _scope(query, model, ctx)
    obj = query.one_or_none()
    if obj is None:
        raise _not_found(model, id=id)
    return obj


def _list(session, ctx, model, filters):
    query = _scope(session.query(model), model, ctx)
    for key, value in (filters or {}).items():
        query = query.filter(getattr(model, key) == value)
    return query.order_by(model.created_at, model.id).all()


def _create(session, ctx, model, values):
    obj = model(**values)
    obj.project_id = ctx.project_id
    try:
        session.add(obj)
        session.flush()
    except db_exc.DBDuplicateEntry as e:
        raise exceptions.DBError(
            "Duplicate entry for %s: %s" % (model.__tablename__, e.columns))
    return obj


# Runtimes

@_TXN.writer
def runtime_create(ctx, values):
    return _create(ctx.session, ctx, models.Runtime, values)


@_TXN.reader
def runtime_get(ctx, id):
    return _get(ctx.session, ctx, models.Runtime, id)


@_TXN.reader
def runtime_list(ctx):
    return _list(ctx.session, ctx, models.Runtime, None)


@_TXN.reader
def runtime_get_by_engine(ctx, id):
    return _get(ctx.session, None, models.Runtime, id)


@_TXN.reader
def runtime_list_by_engine(ctx):
    return ctx.session.query(models.Runtime).order_by(
        models.Runtime.created_at).all()


@_TXN.writer
def runtime_update_by_engine(ctx, id, values, expected_status=None):
    """Update a runtime; with ``expected_status``, only from that status.

    :returns: True if the row was updated.
    """
    query = ctx.session.query(models.Runtime).filter_by(id=id)
    if expected_status is not None:
        query = query.filter_by(status=expected_status)
    values = dict(values, updated_at=timeutils.utcnow())
    return query.update(values, synchronize_session=False) == 1


@_TXN.writer
def runtime_delete_by_engine(ctx, id):
    ctx.session.query(models.Runtime).filter_by(id=id).delete(
        synchronize_session=False)


@_TXN.writer
def runtime_mark_deleting(ctx, id):
    """Mark a runtime of the caller's project as deleting.

    :raises DBEntityNotFoundError: not the caller's runtime.
    :raises NotAllowedException: functions still use it.
    """
    runtime = _get(ctx.session, ctx, models.Runtime, id)
    in_use = ctx.session.query(models.Function.id).filter_by(
        runtime_id=id).first()
    if in_use is not None:
        raise exceptions.NotAllowedException(
            "Runtime %s is still in use." % id)
    states.check_transition(states.RUNTIME_TRANSITIONS, runtime.status,
                            states.DELETING)
    runtime.status = states.DELETING
    return runtime


# Functions

@_TXN.writer
def function_create(ctx, values):
    return _create(ctx.session, ctx, models.Function, values)


@_TXN.reader
def function_get(ctx, id):
    return _get(ctx.session, ctx, models.Function, id)


@_TXN.reader
def function_get_by_engine(ctx, id):
    return _get(ctx.session, None, models.Function, id)


@_TXN.reader
def function_list(ctx):
    return _list(ctx.session, ctx, models.Function, None)


@_TXN.writer
def function_delete(ctx, id):
    """Delete a function of the caller's project and return the old row."""
    function = _get(ctx.session, ctx, models.Function, id)
    ctx.session.delete(function)
    return function


# Executions

@_TXN.writer
def execution_create(ctx, values):
    """Insert an execution and count it on its function, atomically."""
    execution = _create(ctx.session, ctx, models.Execution, values)
    ctx.session.query(models.Function).filter_by(
        id=values["function_id"]).update(
        {"count": models.Function.count + 1}, synchronize_session=False)
    return execution


@_TXN.reader
def execution_get(ctx, id):
    return _get(ctx.session, ctx, models.Execution, id)


@_TXN.reader
def execution_list(ctx, filters=None):
    return _list(ctx.session, ctx, models.Execution, filters)


@_TXN.writer
def execution_delete(ctx, id):
    ctx.session.delete(_get(ctx.session, ctx, models.Execution, id))


@_TXN.writer
def execution_finish_by_engine(ctx, id, status, result, logs):
    """Write an execution's final status once; a second write is refused.

    :returns: True if this call ended the execution, False if it had
        already ended (or was deleted).
    """
    states.check_transition(states.EXECUTION_TRANSITIONS, states.RUNNING,
                            status)
    count = ctx.session.query(models.Execution).filter_by(
        id=id, status=states.RUNNING).update(
        {"status": status, "result": result, "logs": logs,
         "updated_at": timeutils.utcnow()},
        synchronize_session=False)
    return count == 1


@_TXN.reader
def execution_ids_running_by_engine(ctx, created_before=None):
    query = ctx.session.query(models.Execution.id).filter_by(
        status=states.RUNNING)
    if created_before is not None:
        query = query.filter(models.Execution.created_at < created_before)
    return [row.id for row in query]

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
"""The DB API's plumbing: the transaction context, the SQLite tuning, and
the query helpers every resource's module shares (scoping to a project,
lookups by id, listing with filters and pages, inserts)."""

import contextvars
import dataclasses
import functools
import sys
import threading
import typing

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import utils as db_utils
import sqlalchemy as sa

from qinling import exceptions
from qinling.db.sqlalchemy import models

_TXN = enginefacade.transaction_context()
SQLITE_BUSY_TIMEOUT_MS = 30000
_CONFIGURED = threading.Lock()
_configured = False
#: set while a writer transaction starts (see _sqlite_begin).
_WRITING = contextvars.ContextVar("qinling_db_writing", default=False)


def _writer(func):
    """``@_TXN.writer``, whose SQLite transaction takes the write lock as
    it begins.

    A SQLite (WAL) transaction that read first and writes later fails at
    once with "database is locked" if another writer committed in
    between; one that begins IMMEDIATE waits for the lock instead (up to
    the busy timeout), as one that writes first does.

    A transaction that fails on a deadlock (MySQL, PostgreSQL) or on a
    SQLite lock still held after the busy timeout is run again, a few
    times, so that contention never reaches a caller as an error.
    """
    transactional = _TXN.writer(func)

    @functools.wraps(func)
    @oslo_db_api.wrap_db_retry(max_retries=5, retry_interval=0.05,
                               inc_retry_interval=True,
                               max_retry_interval=1, retry_on_deadlock=True,
                               exception_checker=_sqlite_locked)
    def wrapper(*args, **kwargs):
        token = _WRITING.set(True)
        try:
            return transactional(*args, **kwargs)
        finally:
            _WRITING.reset(token)
    return wrapper


def _sqlite_locked(error):
    """Whether ``error`` is SQLite's "database is locked"."""
    return isinstance(error, (db_exc.DBError, sa.exc.OperationalError)) \
        and "database is locked" in str(error)


def configure(conf):
    """Point the DB API at ``[database]``; call once per process."""
    global _configured
    with _CONFIGURED:
        if _configured:
            return
        _TXN.configure(**dict(conf.database.items(),
                              thread_checkin=_green_threads()))
        engine = _TXN.writer.get_engine()
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
            _replace_listeners(engine, "begin", _sqlite_begin)
            _pool_sqlite(engine)
        _configured = True


def _green_threads():
    """Whether eventlet monkey-patched this process's threads.

    oslo.db then yields (``time.sleep(0)``) each time a connection goes
    back to the pool, so other green threads get to run. With native
    threads that yield only hands the GIL away: taking it back waits for
    the running thread's switch interval (5 ms), several times per
    request, so it stays off.
    """
    patcher = sys.modules.get("eventlet.patcher")
    return patcher is not None and patcher.is_monkey_patched("thread")


def _pool_sqlite(engine):
    """Keep SQLite connections open between transactions.

    oslo.db gives a SQLite file a NullPool: every transaction would open a
    connection, run the pragmas and, closing the last one, checkpoint the
    WAL, which costs milliseconds per transaction.
    """
    old = engine.pool
    if isinstance(old, sa.pool.NullPool):
        engine.pool = sa.pool.QueuePool(
            old._creator, pool_size=8, max_overflow=56,
            _dispatch=old.dispatch, dialect=old._dialect)


def _sqlite_pragmas(dbapi_connection, connection_record):
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; NORMAL is durable
    # across process crashes, which is what the all-in-one needs.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # A writer waits this long (ms) for the lock before "database is
    # locked"; back-pressure bounds how many writers there are.
    cursor.execute("PRAGMA busy_timeout=%d" % SQLITE_BUSY_TIMEOUT_MS)
    cursor.close()


def _replace_listeners(engine, event, listener):
    for old in list(getattr(engine.dispatch, event)):
        sa.event.remove(engine, event, old)
    sa.event.listen(engine, event, listener)


def _sqlite_begin(conn):
    """oslo.db's BEGIN for SQLite (pysqlite's own is off), IMMEDIATE for a
    writer (see :func:`_writer`)."""
    if "in_transaction" not in conn.info:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _WRITING.get()
                             else "BEGIN")
        # oslo.db's marker, which its commit and rollback listeners clear.
        conn.info["in_transaction"] = True


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


def _get(session, ctx, model, id, owner_only=False):
    """One row by id, as ``ctx`` may see it.

    Admins see every project's rows (upstream's admin read-through) unless
    ``owner_only``; runtimes are never read through (upstream). ``ctx``
    None means the engine's unscoped lookup.
    """
    query = session.query(model).filter(model.id == id)
    read_through = (ctx is not None and ctx.is_admin and not owner_only
                    and model is not models.Runtime)
    if ctx is not None and not read_through:
        query = _scope(query, model, ctx)
    obj = query.one_or_none()
    if obj is None:
        raise _not_found(model, id=id)
    return obj


@dataclasses.dataclass(frozen=True)
class ListQuery:
    """Which rows of a collection to list, and in which order.

    ``filters`` holds ``(column, operator, value)`` triples, the operators
    being those of :data:`OPERATORS`; ``in`` and ``nin`` take a list.
    """

    filters: tuple = ()
    limit: typing.Optional[int] = None
    marker: typing.Optional[str] = None
    sort_key: str = "created_at"
    sort_dir: str = "asc"
    #: list every project's rows (the caller checked the policy).
    all_projects: bool = False
    #: with all_projects, only this project's rows.
    project_id: typing.Optional[str] = None


OPERATORS = {
    "eq": lambda col, v: col == v,
    "neq": lambda col, v: col != v,
    "gt": lambda col, v: col > v,
    "gte": lambda col, v: col >= v,
    "lt": lambda col, v: col < v,
    "lte": lambda col, v: col <= v,
    "in": lambda col, v: col.in_(v),
    "nin": lambda col, v: col.not_in(v),
    "has": lambda col, v: col.contains(v, autoescape=True),
}


def _filter_value(column, op, value):
    """A filter's text as its column's type: an integer column compared
    with text is an error on PostgreSQL, so that is a 400 here."""
    if not isinstance(column.type, sa.Integer):
        return value
    if op == "has":
        raise exceptions.InputException(
            "Invalid filter %s=has:%s: has: applies to text only."
            % (column.name, value))
    try:
        typed = ([int(v) for v in value] if isinstance(value, list)
                 else int(value))
    except ValueError:
        typed = None
    limit = 2 ** 63 if isinstance(column.type, sa.BigInteger) else 2 ** 31
    if typed is None or any(not -limit <= v < limit for v in (
            typed if isinstance(typed, list) else [typed])):
        raise exceptions.InputException(
            "Invalid filter %s=%s: expected an integer." % (
                column.name, ",".join(value) if isinstance(value, list)
                else value))
    return typed


def _list(session, ctx, model, list_query=None, base=None):
    list_query = list_query or ListQuery()
    query = session.query(model) if base is None else base
    if not list_query.all_projects:
        query = _scope(query, model, ctx)
    elif list_query.project_id:
        query = query.filter(model.project_id == list_query.project_id)
    columns = model.__table__.columns
    for key, op, value in list_query.filters:
        query = query.filter(OPERATORS[op](
            columns[key], _filter_value(columns[key], op, value)))
    if list_query.sort_key not in columns:
        raise exceptions.InputException(
            "Invalid sort_key %s: expected one of %s." % (
                list_query.sort_key, ", ".join(sorted(columns.keys()))))
    marker = None
    if list_query.marker:
        marker = session.query(model).filter_by(
            id=list_query.marker).one_or_none()
        if marker is None:
            raise exceptions.InputException(
                "Marker %s not found." % list_query.marker)
    sort_keys = [list_query.sort_key]
    if list_query.sort_key != "id":
        sort_keys.append("id")
    query = db_utils.paginate_query(
        query, model, list_query.limit, sort_keys, marker=marker,
        sort_dir=list_query.sort_dir)
    return query.all()


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

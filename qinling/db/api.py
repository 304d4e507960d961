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

import contextvars
import dataclasses
import functools
import sys
import threading
import typing

from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import utils as db_utils
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa
from sqlalchemy import orm

from qinling import exceptions
from qinling import states
from qinling.db.sqlalchemy import models

_TXN = enginefacade.transaction_context()
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
    """
    transactional = _TXN.writer(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        token = _WRITING.set(True)
        try:
            return transactional(*args, **kwargs)
        finally:
            _WRITING.reset(token)
    return wrapper


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


def _list(session, ctx, model, list_query=None, base=None):
    list_query = list_query or ListQuery()
    query = session.query(model) if base is None else base
    if not list_query.all_projects:
        query = _scope(query, model, ctx)
    elif list_query.project_id:
        query = query.filter(model.project_id == list_query.project_id)
    columns = model.__table__.columns
    for key, op, value in list_query.filters:
        query = query.filter(OPERATORS[op](columns[key], value))
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


# Runtimes

@_writer
def runtime_create(ctx, values):
    return _create(ctx.session, ctx, models.Runtime, values)


@_TXN.reader
def runtime_get(ctx, id):
    return _get(ctx.session, ctx, models.Runtime, id)


@_TXN.reader
def runtime_list(ctx, list_query=None):
    return _list(ctx.session, ctx, models.Runtime, list_query)


@_TXN.reader
def runtime_get_by_engine(ctx, id):
    return _get(ctx.session, None, models.Runtime, id)


@_TXN.reader
def runtime_list_by_engine(ctx):
    return ctx.session.query(models.Runtime).order_by(
        models.Runtime.created_at).all()


@_writer
def runtime_update_by_engine(ctx, id, values, expected_status=None):
    """Update a runtime; with ``expected_status``, only from that status.

    :returns: True if the row was updated.
    """
    query = ctx.session.query(models.Runtime).filter_by(id=id)
    if expected_status is not None:
        query = query.filter_by(status=expected_status)
    values = dict(values, updated_at=timeutils.utcnow())
    return query.update(values, synchronize_session=False) == 1


@_writer
def runtime_delete_by_engine(ctx, id):
    ctx.session.query(models.Runtime).filter_by(id=id).delete(
        synchronize_session=False)


@_writer
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

@_writer
def function_create(ctx, values):
    return _create(ctx.session, ctx, models.Function, values)


@_TXN.reader
def function_get(ctx, id):
    return _get(ctx.session, ctx, models.Function, id)


@_TXN.reader
def function_get_by_engine(ctx, id):
    return _get(ctx.session, None, models.Function, id)


@_TXN.reader
def function_list(ctx, list_query=None):
    return _list(ctx.session, ctx, models.Function, list_query)


@_writer
def function_update(ctx, id, values, check=None):
    """Update a function of the caller's project and return it.

    :param check: called with (session, function) inside the transaction
        before the update; it may raise to refuse the update.
    """
    function = _get(ctx.session, ctx, models.Function, id)
    if check is not None:
        check(ctx.session, function)
    function.update(values)
    ctx.session.flush()
    return function


def function_usage(session, function_id, version=None):
    """What refers to a function (or one version): for refusals.

    :returns: a list of what uses it: "job(s)", "webhook(s)", "function
        alias(es)".
    """
    active_jobs = session.query(models.Job.id).filter(
        models.Job.function_id == function_id,
        models.Job.status.not_in(states.JOB_FINAL))
    webhooks = session.query(models.Webhook.id).filter(
        models.Webhook.function_id == function_id)
    aliases = session.query(models.FunctionAlias.id).filter(
        models.FunctionAlias.function_id == function_id)
    if version is not None:
        active_jobs = active_jobs.filter(
            models.Job.function_version == version)
        webhooks = webhooks.filter(
            sa.func.coalesce(models.Webhook.function_version, 0) == version)
        aliases = aliases.filter(
            models.FunctionAlias.function_version == version)
    return [name for name, query in (
        ("running job(s)", active_jobs), ("webhook(s)", webhooks),
        ("function alias(es)", aliases)) if query.first() is not None]


@_writer
def function_delete(ctx, id, check=None):
    """Delete a function of the caller's project and its versions.

    :param check: called with (session, function) before the delete; it
        may raise to refuse it.
    :returns: (the old function row, its old version rows).
    """
    function = _get(ctx.session, ctx, models.Function, id)
    if function.project_id != ctx.project_id:
        raise exceptions.NotAllowedException(
            "Function can only be deleted by its owner.")
    if check is not None:
        check(ctx.session, function)
    versions = ctx.session.query(models.FunctionVersion).filter_by(
        function_id=id).all()
    for version in versions:
        ctx.session.delete(version)
    ctx.session.query(models.Job).filter_by(function_id=id).update(
        {"function_id": None}, synchronize_session=False)
    ctx.session.flush()
    ctx.session.delete(function)
    return function, versions


# Function versions

def _version_query(session, ctx, function_id, owner_only=False):
    query = session.query(models.FunctionVersion).filter_by(
        function_id=function_id)
    if ctx is None or (ctx.is_admin and not owner_only):
        return query
    return _scope(query, models.FunctionVersion, ctx)


@_writer
def version_create(ctx, function_id, values, check=None):
    """Snapshot a function as its next version, atomically.

    Version numbers only ever grow, so a deleted version's number is never
    given again.

    :param check: called with (session, function) first; may raise.
    :returns: the new version row.
    """
    function = _get(ctx.session, ctx, models.Function, function_id,
                    owner_only=True)
    if check is not None:
        check(ctx.session, function)
    number = function.latest_version + 1
    updated = ctx.session.query(models.Function).filter_by(
        id=function_id, latest_version=function.latest_version).update(
        {"latest_version": number}, synchronize_session=False)
    if updated != 1:
        raise exceptions.ConflictException(
            "Function %s got a new version meanwhile; try again."
            % function_id)
    return _create(ctx.session, ctx, models.FunctionVersion, dict(
        values, function_id=function_id, version_number=number, count=0))


def _version(session, ctx, function_id, number, owner_only=False):
    version = _version_query(session, ctx, function_id,
                             owner_only).filter_by(
        version_number=number).one_or_none()
    if version is None:
        raise exceptions.DBEntityNotFoundError(
            "FunctionVersion not found [function_id=%s, version_number=%s]"
            % (function_id, number))
    return version


@_TXN.reader
def version_get(ctx, function_id, number):
    return _version(ctx.session, ctx, function_id, number)


@_TXN.reader
def version_get_by_engine(ctx, function_id, number):
    return _version(ctx.session, None, function_id, number)


@_TXN.reader
def version_list(ctx, function_id, list_query=None):
    base = ctx.session.query(models.FunctionVersion).filter_by(
        function_id=function_id)
    list_query = list_query or ListQuery(sort_key="version_number")
    return _list(ctx.session, ctx, models.FunctionVersion, list_query,
                 base=base)


@_writer
def version_delete(ctx, function_id, number, check=None):
    version = _version(ctx.session, ctx, function_id, number,
                       owner_only=True)
    if check is not None:
        check(ctx.session, version)
    ctx.session.delete(version)
    return version


# Function aliases

@_writer
def alias_create(ctx, values):
    return _create(ctx.session, ctx, models.FunctionAlias, values)


def _alias(session, ctx, name):
    query = session.query(models.FunctionAlias).filter_by(name=name)
    alias = _scope(query, models.FunctionAlias, ctx).one_or_none()
    if alias is None:
        raise _not_found(models.FunctionAlias, name=name)
    return alias


@_TXN.reader
def alias_get(ctx, name):
    return _alias(ctx.session, ctx, name)


@_TXN.reader
def alias_list(ctx, list_query=None):
    return _list(ctx.session, ctx, models.FunctionAlias, list_query)


@_writer
def alias_update(ctx, name, values):
    alias = _alias(ctx.session, ctx, name)
    alias.update(values)
    ctx.session.flush()
    return alias


@_writer
def alias_delete(ctx, name, check=None):
    alias = _alias(ctx.session, ctx, name)
    if check is not None:
        check(ctx.session, alias)
    ctx.session.delete(alias)
    return alias


def alias_usage(session, project_id, name):
    """What refers to an alias: for refusals (see function_usage)."""
    jobs = session.query(models.Job.id).filter(
        models.Job.project_id == project_id,
        models.Job.function_alias == name,
        models.Job.status.not_in(states.JOB_FINAL))
    webhooks = session.query(models.Webhook.id).filter(
        models.Webhook.project_id == project_id,
        models.Webhook.function_alias == name)
    return [what for what, query in (("running job(s)", jobs),
                                     ("webhook(s)", webhooks))
            if query.first() is not None]


# Jobs

@_writer
def job_create(ctx, values):
    return _create(ctx.session, ctx, models.Job, values)


@_TXN.reader
def job_get(ctx, id):
    return _get(ctx.session, ctx, models.Job, id)


@_TXN.reader
def job_list(ctx, list_query=None):
    return _list(ctx.session, ctx, models.Job, list_query)


@_writer
def job_update(ctx, id, values):
    job = _get(ctx.session, ctx, models.Job, id)
    job.update(values)
    ctx.session.flush()
    return job


@_writer
def job_delete(ctx, id):
    ctx.session.delete(_get(ctx.session, ctx, models.Job, id))


@_TXN.reader
def jobs_due_by_engine(ctx, before, limit=100):
    """Running jobs whose next run is before ``before``, soonest first."""
    return ctx.session.query(models.Job).filter(
        models.Job.status == states.JOB_RUNNING,
        models.Job.next_execution_time < before).order_by(
        models.Job.next_execution_time).limit(limit).all()


@_writer
def job_compare_and_swap_by_engine(ctx, id, expected, values):
    """Update a job only if its columns still hold ``expected``.

    The one way the scheduler claims a job run: of several schedulers
    seeing the same due job, exactly one swap succeeds.

    :returns: True if this call updated the row.
    """
    query = ctx.session.query(models.Job).filter_by(id=id, **expected)
    values = dict(values, updated_at=timeutils.utcnow())
    return query.update(values, synchronize_session=False) == 1


# Webhooks

@_writer
def webhook_create(ctx, values):
    return _create(ctx.session, ctx, models.Webhook, values)


@_TXN.reader
def webhook_get(ctx, id):
    return _get(ctx.session, ctx, models.Webhook, id)


@_TXN.reader
def webhook_get_by_engine(ctx, id):
    return _get(ctx.session, None, models.Webhook, id)


@_TXN.reader
def webhook_list(ctx, list_query=None):
    return _list(ctx.session, ctx, models.Webhook, list_query)


@_writer
def webhook_update(ctx, id, values):
    webhook = _get(ctx.session, ctx, models.Webhook, id)
    webhook.update(values)
    ctx.session.flush()
    return webhook


@_writer
def webhook_delete(ctx, id):
    ctx.session.delete(_get(ctx.session, ctx, models.Webhook, id))


# Executions
#
# Every execution creates, reads and ends a row: those statements are built
# once, in SQLAlchemy Core, and run on the session's connection. Building
# ORM queries cost most of the service's CPU per execution. Rows come back
# as transient model instances, as the ORM would give them.

_EXECUTIONS = models.Execution.__table__
_FUNCTIONS = models.Function.__table__
_RUNTIMES = models.Runtime.__table__
_VERSIONS = models.FunctionVersion.__table__


def _prefixed(table, prefix):
    return [column.label(prefix + column.name) for column in table.c]


def _instance(model, row, prefix=""):
    """A transient ``model`` instance from the ``prefix``-ed columns of a
    Core row."""
    mapping = row._mapping
    return model(**{column.name: mapping[prefix + column.name]
                    for column in model.__table__.c})


def _select_function_and_runtime(read_through):
    """A function by id (scoped unless ``read_through``) with its runtime
    if ``ctx`` may see that (its project's, or public)."""
    runtime_visible = sa.and_(
        _RUNTIMES.c.id == _FUNCTIONS.c.runtime_id,
        sa.or_(_RUNTIMES.c.project_id == sa.bindparam("b_project"),
               _RUNTIMES.c.is_public.is_(True)))
    query = sa.select(*_prefixed(_FUNCTIONS, "f_"),
                      *_prefixed(_RUNTIMES, "r_")).select_from(
        _FUNCTIONS.outerjoin(_RUNTIMES, runtime_visible)).where(
        _FUNCTIONS.c.id == sa.bindparam("b_function"))
    if not read_through:
        query = query.where(
            _FUNCTIONS.c.project_id == sa.bindparam("b_project"))
    return query


_FUNCTION_AND_RUNTIME = {
    False: _select_function_and_runtime(False),
    True: _select_function_and_runtime(True)}
_INSERT_EXECUTION = sa.insert(_EXECUTIONS)
_COUNT_ON_FUNCTION = sa.update(_FUNCTIONS).where(
    _FUNCTIONS.c.id == sa.bindparam("b_function")).values(
    count=_FUNCTIONS.c.count + 1, updated_at=sa.bindparam("b_now"))
_COUNT_ON_VERSION = sa.update(_VERSIONS).where(
    _VERSIONS.c.function_id == sa.bindparam("b_function"),
    _VERSIONS.c.version_number == sa.bindparam("b_version")).values(
    count=_VERSIONS.c.count + 1, updated_at=sa.bindparam("b_now"))
_RUNNING_OF_FUNCTION = sa.select(sa.func.count()).select_from(
    _EXECUTIONS).where(_EXECUTIONS.c.function_id == sa.bindparam(
        "b_function"), _EXECUTIONS.c.status == states.RUNNING)
_EXECUTION_AND_FUNCTION = sa.select(
    *_prefixed(_EXECUTIONS, "e_"), *_prefixed(_FUNCTIONS, "f_")).select_from(
    _EXECUTIONS.outerjoin(
        _FUNCTIONS, _FUNCTIONS.c.id == _EXECUTIONS.c.function_id)).where(
    _EXECUTIONS.c.id == sa.bindparam("b_execution"),
    _EXECUTIONS.c.project_id == sa.bindparam("b_project"))
_FINISH_EXECUTION = sa.update(_EXECUTIONS).where(
    _EXECUTIONS.c.id == sa.bindparam("b_execution"),
    _EXECUTIONS.c.status == states.RUNNING).values(
    status=sa.bindparam("b_status"),
    result=sa.bindparam("b_result", type_=_EXECUTIONS.c.result.type),
    logs=sa.bindparam("b_logs", type_=_EXECUTIONS.c.logs.type),
    cpu_time=sa.bindparam("b_cpu_time"),
    memory_peak=sa.bindparam("b_memory_peak"),
    updated_at=sa.bindparam("b_now"))


def _default(column):
    """A column's scalar Python default, or None."""
    default = column.default
    return default.arg if default is not None and default.is_scalar else None


def _count_execution(session, function_id, version):
    """Count one more execution on a function (version 0) or a version."""
    params = {"b_function": function_id, "b_now": timeutils.utcnow()}
    if version:
        session.connection().execute(_COUNT_ON_VERSION,
                                     dict(params, b_version=version))
    else:
        session.connection().execute(_COUNT_ON_FUNCTION, params)


@_writer
def execution_create(ctx, values):
    """Insert an execution and count it on its function (or version),
    atomically."""
    execution = _create(ctx.session, ctx, models.Execution, values)
    _count_execution(ctx.session, values["function_id"],
                     values.get("function_version"))
    return execution


@dataclasses.dataclass(frozen=True)
class ExecutionTarget:
    """What an execution runs, as resolved when it was created."""

    function: models.Function
    #: the function version row; None for the function itself.
    version: typing.Optional[models.FunctionVersion]
    runtime: models.Runtime

    @property
    def timeout(self):
        return (self.version or self.function).timeout


def _running_executions(session, function_id):
    """How many executions of a function (any version) are running."""
    return session.connection().execute(
        _RUNNING_OF_FUNCTION, {"b_function": function_id}).scalar()


@_writer
def execution_create_resolved(ctx, values, check=None, max_running=None):
    """Resolve what an execution runs, insert it and count it, atomically.

    One transaction instead of a read per row: the alias (if
    ``values["function_alias"]`` is set, resolved now, so repointing it
    later does not change this execution), the function, the version and
    the runtime are read as ``ctx`` may see them (as :func:`alias_get`,
    :func:`function_get`, :func:`version_get` and :func:`runtime_get`
    do, in that order).

    :param values: the execution's columns; ``function_id`` and
        ``function_version`` are taken from the alias when it is given.
    :param check: called with the :class:`ExecutionTarget` before the
        insert; it may raise to refuse the execution (nothing is written).
    :param max_running: refuse the execution while this many executions
        of the function are running. On SQLite writers take turns, so
        the bound is exact; elsewhere concurrent requests may pass it by
        as many as they are.
    :returns: (the execution row, its ExecutionTarget).
    :raises TooManyRequests: ``max_running`` executions are running.
    :raises DBEntityNotFoundError: the alias, function, version or
        runtime is not visible to ``ctx``.
    :raises InputException: neither an alias nor a function is named.
    """
    session = ctx.session
    values = dict(values)
    if values.get("function_alias"):
        alias = _alias(session, ctx, values["function_alias"])
        values["function_id"] = alias.function_id
        values["function_version"] = alias.function_version
    if not values.get("function_id"):
        raise exceptions.InputException(
            "Either function_alias or function_id must be provided.")
    values["function_version"] = values.get("function_version") or 0
    # The function with its runtime, read as _get reads each of them.
    row = session.connection().execute(
        _FUNCTION_AND_RUNTIME[bool(ctx.is_admin)],
        {"b_function": values["function_id"],
         "b_project": ctx.project_id}).first()
    if row is None:
        raise _not_found(models.Function, id=values["function_id"])
    function = _instance(models.Function, row, "f_")
    version = None
    if values["function_version"]:
        version = _version(session, ctx, function.id,
                           values["function_version"])
    if row.r_id is None:
        raise _not_found(models.Runtime, id=function.runtime_id)
    target = ExecutionTarget(function=function, version=version,
                             runtime=_instance(models.Runtime, row, "r_"))
    if check is not None:
        check(target)
    if max_running is not None and \
            _running_executions(session, function.id) >= max_running:
        raise exceptions.TooManyRequests(
            "Function %s has %d executions running, its limit for "
            "webhook invocations; try again later." % (function.id,
                                                      max_running))
    row = {column.name: values.get(column.name, _default(column))
           for column in _EXECUTIONS.c}
    row.update(id=row["id"] or uuidutils.generate_uuid(),
               project_id=ctx.project_id, created_at=timeutils.utcnow())
    session.connection().execute(_INSERT_EXECUTION, row)
    _count_execution(session, function.id, values["function_version"])
    return models.Execution(**row), target


@_TXN.reader
def execution_get(ctx, id):
    return _get(ctx.session, ctx, models.Execution, id)


@dataclasses.dataclass(frozen=True)
class ExecutionToRun:
    """An execution and the function (version) it runs, read together."""

    execution: models.Execution
    #: None when ``missing`` is set.
    function: typing.Optional[models.Function]
    #: the version row; None for the function itself.
    version: typing.Optional[models.FunctionVersion]
    #: the DBEntityNotFoundError of a function or version deleted since
    #: the execution was created, or None.
    missing: typing.Optional[exceptions.DBEntityNotFoundError] = None


@_TXN.reader
def execution_to_run_by_engine(ctx, id):
    """An execution of ``ctx``'s project and what it runs, in one read.

    The function and version are read unscoped, as
    :func:`function_get_by_engine` and :func:`version_get_by_engine` do.

    :returns: an :class:`ExecutionToRun`.
    :raises DBEntityNotFoundError: no such execution in the project.
    """
    row = ctx.session.connection().execute(
        _EXECUTION_AND_FUNCTION,
        {"b_execution": id, "b_project": ctx.project_id}).first()
    if row is None:
        raise _not_found(models.Execution, id=id)
    execution = _instance(models.Execution, row, "e_")
    try:
        if row.f_id is None:
            raise _not_found(models.Function, id=execution.function_id)
        function = _instance(models.Function, row, "f_")
        version = None
        if execution.function_version:
            version = _version(ctx.session, None, function.id,
                               execution.function_version)
    except exceptions.DBEntityNotFoundError as e:
        return ExecutionToRun(execution, None, None, missing=e)
    return ExecutionToRun(execution, function, version)


@_TXN.reader
def execution_list(ctx, list_query=None):
    """Executions without their logs, which a list never shows (reading
    ``logs`` of a listed row raises DetachedInstanceError)."""
    base = ctx.session.query(models.Execution).options(
        orm.defer(models.Execution.logs))
    return _list(ctx.session, ctx, models.Execution, list_query, base=base)


@_writer
def execution_delete(ctx, id):
    ctx.session.delete(_get(ctx.session, ctx, models.Execution, id))


@_writer
def execution_finish_by_engine(ctx, id, status, result, logs, cpu_time=None,
                               memory_peak=None):
    """Write an execution's final status once; a second write is refused.

    :returns: the columns this call wrote (``status``, ``result``,
        ``logs``, ``cpu_time``, ``memory_peak``, ``updated_at``), so that
        a caller waiting for the execution needs not read it again; None
        if it had already ended (or was deleted).
    """
    states.check_transition(states.EXECUTION_TRANSITIONS, states.RUNNING,
                            status)
    values = {"status": status, "result": result, "logs": logs,
              "cpu_time": cpu_time, "memory_peak": memory_peak,
              "updated_at": timeutils.utcnow()}
    count = ctx.session.connection().execute(_FINISH_EXECUTION, {
        "b_execution": id, "b_status": status, "b_result": result,
        "b_logs": logs, "b_cpu_time": cpu_time,
        "b_memory_peak": memory_peak,
        "b_now": values["updated_at"]}).rowcount
    return values if count == 1 else None


@_TXN.reader
def execution_ids_running_by_engine(ctx, created_before=None):
    query = ctx.session.query(models.Execution.id).filter_by(
        status=states.RUNNING)
    if created_before is not None:
        query = query.filter(models.Execution.created_at < created_before)
    return [row.id for row in query]


@_TXN.reader
def execution_usage(ctx, project_id, start, end):
    """The ended executions of a project created in ``[start, end)``, with
    the memory limit they ran with.

    :returns: ``(function_id, function_version, cpu_time, result,
        memory_size)`` tuples; ``memory_size`` is None for an execution
        whose function (version) is gone.
    """
    e, f, v = models.Execution, models.Function, models.FunctionVersion
    query = ctx.session.query(
        e.function_id, e.function_version, e.cpu_time, e.result,
        sa.func.coalesce(v.memory_size, f.memory_size)).outerjoin(
        f, f.id == e.function_id).outerjoin(
        v, sa.and_(v.function_id == e.function_id,
                   v.version_number == e.function_version)).filter(
        e.project_id == project_id, e.created_at >= start,
        e.created_at < end, e.status != states.RUNNING)
    return [tuple(row) for row in query]

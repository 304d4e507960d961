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
"""Executions."""

import dataclasses
import datetime
import typing

from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa
from sqlalchemy import orm

from qinling import exceptions
from qinling import states
from qinling.db.api.base import _TXN
from qinling.db.api.base import _create
from qinling.db.api.base import _get
from qinling.db.api.base import _list
from qinling.db.api.base import _not_found
from qinling.db.api.base import _writer
from qinling.db.api.functions import _alias
from qinling.db.api.functions import _version
from qinling.db.sqlalchemy import models

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
_RUNNING_OF_PROJECT = sa.select(sa.func.count()).select_from(
    _EXECUTIONS).where(_EXECUTIONS.c.project_id == sa.bindparam(
        "b_project"), _EXECUTIONS.c.status == states.RUNNING)


def _finish(claimed):
    """The UPDATE that ends a running execution: the one an engine claimed
    (``claimed``), or one no engine claimed."""
    holder = (_EXECUTIONS.c.engine_id == sa.bindparam("b_engine") if claimed
              else _EXECUTIONS.c.engine_id.is_(None))
    return sa.update(_EXECUTIONS).where(
        _EXECUTIONS.c.id == sa.bindparam("b_execution"),
        _EXECUTIONS.c.status == states.RUNNING, holder).values(
        status=sa.bindparam("b_status"),
        result=sa.bindparam("b_result", type_=_EXECUTIONS.c.result.type),
        logs=sa.bindparam("b_logs", type_=_EXECUTIONS.c.logs.type),
        cpu_time=sa.bindparam("b_cpu_time"),
        memory_peak=sa.bindparam("b_memory_peak"),
        lease_expires_at=None,
        updated_at=sa.bindparam("b_now"))


_FINISH_EXECUTION = {True: _finish(True), False: _finish(False)}
_QUEUED = sa.and_(
    _EXECUTIONS.c.status == states.RUNNING,
    _EXECUTIONS.c.engine_id.is_(None),
    sa.or_(_EXECUTIONS.c.available_at.is_(None),
           _EXECUTIONS.c.available_at <= sa.bindparam("b_now")))
_CLAIM_EXECUTION = sa.update(_EXECUTIONS).where(
    _EXECUTIONS.c.id == sa.bindparam("b_execution"), _QUEUED).values(
    engine_id=sa.bindparam("b_engine"),
    lease_expires_at=sa.bindparam("b_lease"),
    attempts=_EXECUTIONS.c.attempts + 1,
    updated_at=sa.bindparam("b_now"))
_CLAIMED_AND_FUNCTION = sa.select(
    *_prefixed(_EXECUTIONS, "e_"), *_prefixed(_FUNCTIONS, "f_")).select_from(
    _EXECUTIONS.outerjoin(
        _FUNCTIONS, _FUNCTIONS.c.id == _EXECUTIONS.c.function_id)).where(
    _EXECUTIONS.c.id == sa.bindparam("b_execution"))
_RENEW_LEASES = sa.update(_EXECUTIONS).where(
    _EXECUTIONS.c.engine_id == sa.bindparam("b_engine"),
    _EXECUTIONS.c.status == states.RUNNING).values(
    lease_expires_at=sa.bindparam("b_lease"))
_ENGINES = models.engines


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


@dataclasses.dataclass(frozen=True)
class Backlog:
    """How many unfinished (queued or running) executions a function and a
    project may have; None: no bound."""

    per_function: typing.Optional[int] = None
    per_project: typing.Optional[int] = None
    #: the seconds a refused caller is told to wait.
    retry_after: int = 1


def _check_backlog(session, project_id, function, backlog):
    """:raises TooManyRequests: a bound of ``backlog`` is reached."""
    if backlog.per_function is not None and _running_executions(
            session, function.id) >= backlog.per_function:
        raise exceptions.TooManyRequests(
            "Function %s has %d executions queued or running, its limit; "
            "try again later." % (function.id, backlog.per_function),
            retry_after=backlog.retry_after)
    if backlog.per_project is not None and session.connection().execute(
            _RUNNING_OF_PROJECT,
            {"b_project": project_id}).scalar() >= backlog.per_project:
        raise exceptions.TooManyRequests(
            "Project %s has %d executions queued or running, its limit; "
            "try again later." % (project_id, backlog.per_project),
            retry_after=backlog.retry_after)


@_writer
def execution_create_resolved(ctx, values, check=None, max_running=None,
                              backlog=None):
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
    :param backlog: a :class:`Backlog` bounding the function's and its
        project's unfinished executions (the same caveat holds).
    :returns: (the execution row, its ExecutionTarget).
    :raises TooManyRequests: ``max_running`` executions are running, or a
        bound of ``backlog`` is reached.
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
    if backlog is not None:
        _check_backlog(session, ctx.project_id, function, backlog)
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


def _to_run(session, row):
    """The ExecutionToRun of an execution-and-function row."""
    execution = _instance(models.Execution, row, "e_")
    try:
        if row.f_id is None:
            raise _not_found(models.Function, id=execution.function_id)
        function = _instance(models.Function, row, "f_")
        version = None
        if execution.function_version:
            version = _version(session, None, function.id,
                               execution.function_version)
    except exceptions.DBEntityNotFoundError as e:
        return ExecutionToRun(execution, None, None, missing=e)
    return ExecutionToRun(execution, function, version)


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
    return _to_run(ctx.session, row)


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
                               memory_peak=None, engine_id=None):
    """Write an execution's final status once; a second write is refused.

    :param engine_id: the engine whose claim this ends; None to end an
        execution no engine claimed (it never started). Either way the
        row is only written while that still holds, so an engine whose
        lease lapsed cannot overwrite what happened since.
    :returns: the columns this call wrote (``status``, ``result``,
        ``logs``, ``cpu_time``, ``memory_peak``, ``updated_at``), so that
        a caller waiting for the execution needs not read it again; None
        if it had already ended (or was deleted, or claimed by another).
    """
    states.check_transition(states.EXECUTION_TRANSITIONS, states.RUNNING,
                            status)
    values = {"status": status, "result": result, "logs": logs,
              "cpu_time": cpu_time, "memory_peak": memory_peak,
              "updated_at": timeutils.utcnow()}
    count = ctx.session.connection().execute(
        _FINISH_EXECUTION[engine_id is not None], {
            "b_execution": id, "b_engine": engine_id, "b_status": status,
            "b_result": result, "b_logs": logs, "b_cpu_time": cpu_time,
            "b_memory_peak": memory_peak,
            "b_now": values["updated_at"]}).rowcount
    return values if count == 1 else None


# The queue: an execution is queued while it is running with no engine;
# an engine claims it by compare-and-swap and holds it for a lease.

def _lease(seconds, now):
    return now + datetime.timedelta(seconds=seconds)


@_writer
def execution_claim_by_engine(ctx, id, engine_id, lease_seconds):
    """Claim a queued execution for ``engine_id`` and read what it runs.

    Of several engines claiming one execution, exactly one succeeds; the
    claim counts one more attempt and holds for ``lease_seconds`` unless
    renewed (:func:`execution_renew_leases_by_engine`).

    :returns: an :class:`ExecutionToRun`, or None if the execution is not
        queued (another engine has it, it ended, it waits for a retry, or
        it is gone).
    """
    session = ctx.session
    now = timeutils.utcnow()
    claimed = session.connection().execute(_CLAIM_EXECUTION, {
        "b_execution": id, "b_engine": engine_id, "b_now": now,
        "b_lease": _lease(lease_seconds, now)}).rowcount
    if claimed != 1:
        return None
    row = session.connection().execute(
        _CLAIMED_AND_FUNCTION, {"b_execution": id}).first()
    return _to_run(session, row)


@_TXN.reader
def execution_queued_by_engine(ctx, limit, sync_created_before):
    """Queued executions an engine may claim now, fairly across projects.

    The oldest of each project come first, then each project's second
    oldest, and so on, so that one project's backlog does not hold back
    another's executions.

    :param sync_created_before: synchronous executions are only listed
        when created before this time (until then the API is handing
        them to an engine itself).
    :returns: up to ``limit`` execution ids.
    """
    now = timeutils.utcnow()
    rank = sa.func.row_number().over(
        partition_by=_EXECUTIONS.c.project_id,
        order_by=(_EXECUTIONS.c.created_at, _EXECUTIONS.c.id)).label("rank")
    queued = sa.select(_EXECUTIONS.c.id, _EXECUTIONS.c.created_at,
                       rank).where(
        _QUEUED, sa.or_(
            _EXECUTIONS.c.sync.is_(False),
            _EXECUTIONS.c.created_at < sa.bindparam("b_sync_before"))
    ).subquery()
    query = sa.select(queued.c.id).order_by(
        queued.c.rank, queued.c.created_at).limit(limit)
    return list(ctx.session.connection().execute(query, {
        "b_now": now, "b_sync_before": sync_created_before}).scalars())


@_writer
def execution_renew_leases_by_engine(ctx, engine_id, lease_seconds):
    """Renew the leases of every execution ``engine_id`` runs, and its
    heartbeat.

    :returns: how many leases were renewed.
    """
    now = timeutils.utcnow()
    conn = ctx.session.connection()
    renewed = conn.execute(_RENEW_LEASES, {
        "b_engine": engine_id,
        "b_lease": _lease(lease_seconds, now)}).rowcount
    beat = conn.execute(sa.update(_ENGINES).where(
        _ENGINES.c.id == engine_id).values(heartbeat_at=now)).rowcount
    if not beat:
        conn.execute(sa.insert(_ENGINES).values(id=engine_id,
                                                heartbeat_at=now))
    return renewed


@_writer
def engine_forget_by_engine(ctx, engine_id):
    """Remove an engine's heartbeat (it stops)."""
    ctx.session.connection().execute(
        sa.delete(_ENGINES).where(_ENGINES.c.id == engine_id))


@_TXN.reader
def engines_alive_by_engine(ctx, seconds):
    """How many engines wrote a heartbeat in the last ``seconds``."""
    since = timeutils.utcnow() - datetime.timedelta(seconds=seconds)
    return ctx.session.connection().execute(
        sa.select(sa.func.count()).select_from(_ENGINES).where(
            _ENGINES.c.heartbeat_at >= since)).scalar()


@_writer
def engine_forget_stale_by_engine(ctx, seconds):
    """Remove the heartbeats older than ``seconds``."""
    before = timeutils.utcnow() - datetime.timedelta(seconds=seconds)
    ctx.session.connection().execute(
        sa.delete(_ENGINES).where(_ENGINES.c.heartbeat_at < before))


@dataclasses.dataclass(frozen=True)
class LapsedClaim:
    """A running execution whose engine stopped renewing its lease."""

    id: str
    engine_id: str
    sync: bool
    attempts: int
    created_at: typing.Any
    #: whether the attempt reached a worker (recorded for asynchronous
    #: executions only).
    started: bool
    #: the function's retry settings (0 and None when it is gone).
    retry_attempts: int
    max_event_age: typing.Optional[int]


@_TXN.reader
def execution_lapsed_claims_by_engine(ctx, limit=100):
    """Running executions whose lease has lapsed, oldest lease first.

    :returns: a list of :class:`LapsedClaim`.
    """
    rows = ctx.session.connection().execute(sa.select(
        _EXECUTIONS.c.id, _EXECUTIONS.c.engine_id, _EXECUTIONS.c.sync,
        _EXECUTIONS.c.attempts, _EXECUTIONS.c.created_at,
        _EXECUTIONS.c.started_at, _FUNCTIONS.c.retry_attempts,
        _FUNCTIONS.c.max_event_age).select_from(
        _EXECUTIONS.outerjoin(
            _FUNCTIONS, _FUNCTIONS.c.id == _EXECUTIONS.c.function_id)).where(
        _EXECUTIONS.c.status == states.RUNNING,
        _EXECUTIONS.c.engine_id.is_not(None),
        _EXECUTIONS.c.lease_expires_at < timeutils.utcnow()).order_by(
        _EXECUTIONS.c.lease_expires_at).limit(limit))
    return [LapsedClaim(id=r.id, engine_id=r.engine_id, sync=r.sync,
                        attempts=r.attempts, created_at=r.created_at,
                        started=r.started_at is not None,
                        retry_attempts=r.retry_attempts or 0,
                        max_event_age=r.max_event_age) for r in rows]


@_writer
def execution_requeue_by_engine(ctx, id, engine_id, available_at,
                                result=None):
    """Put an execution ``engine_id`` claimed back in the queue, to be
    claimed again from ``available_at`` on (a retry).

    :param result: the failed attempt's result, shown until the next ends.
    :returns: True if the claim still held and the row was requeued.
    """
    values = {"engine_id": None, "lease_expires_at": None,
              "available_at": available_at, "started_at": None,
              "updated_at": timeutils.utcnow()}
    if result is not None:
        values["result"] = result
    return ctx.session.connection().execute(
        sa.update(_EXECUTIONS).where(
            _EXECUTIONS.c.id == id, _EXECUTIONS.c.engine_id == engine_id,
            _EXECUTIONS.c.status == states.RUNNING).values(
            **values)).rowcount == 1


@_writer
def execution_mark_started_by_engine(ctx, id, engine_id):
    """Record that the attempt ``engine_id`` holds reached a worker.

    :returns: True if the claim still held.
    """
    return ctx.session.connection().execute(
        sa.update(_EXECUTIONS).where(
            _EXECUTIONS.c.id == id, _EXECUTIONS.c.engine_id == engine_id,
            _EXECUTIONS.c.status == states.RUNNING).values(
            started_at=timeutils.utcnow())).rowcount == 1


@_writer
def execution_lapse_leases_by_engine(ctx, engine_id):
    """End the leases ``engine_id`` holds now (it restarted under the same
    id, so it runs none of them any more).

    :returns: how many leases were ended.
    """
    return ctx.session.connection().execute(
        sa.update(_EXECUTIONS).where(
            _EXECUTIONS.c.engine_id == engine_id,
            _EXECUTIONS.c.status == states.RUNNING).values(
            lease_expires_at=timeutils.utcnow()
            - datetime.timedelta(seconds=1))).rowcount


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

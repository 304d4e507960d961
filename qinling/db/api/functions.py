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
"""Functions, their versions and their aliases."""

import sqlalchemy as sa

from qinling import exceptions
from qinling import states
from qinling.db.api.base import _TXN
from qinling.db.api.base import ListQuery
from qinling.db.api.base import _create
from qinling.db.api.base import _get
from qinling.db.api.base import _list
from qinling.db.api.base import _not_found
from qinling.db.api.base import _scope
from qinling.db.api.base import _writer
from qinling.db.sqlalchemy import models

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

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
"""Runtimes."""

from oslo_utils import timeutils

from qinling import exceptions
from qinling import states
from qinling.db.api.base import _TXN
from qinling.db.api.base import _create
from qinling.db.api.base import _get
from qinling.db.api.base import _list
from qinling.db.api.base import _writer
from qinling.db.sqlalchemy import models


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
    """Mark a runtime of the caller's project as deleting; one already
    deleting stays so (a repeated delete is not a conflict).

    :raises DBEntityNotFoundError: not the caller's runtime.
    :raises NotAllowedException: functions still use it.
    """
    runtime = _get(ctx.session, ctx, models.Runtime, id)
    if runtime.status == states.DELETING:
        return runtime
    in_use = ctx.session.query(models.Function.id).filter_by(
        runtime_id=id).first()
    if in_use is not None:
        raise exceptions.NotAllowedException(
            "Runtime %s is still in use." % id)
    states.check_transition(states.RUNTIME_TRANSITIONS, runtime.status,
                            states.DELETING)
    runtime.status = states.DELETING
    return runtime

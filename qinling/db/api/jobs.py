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
"""Jobs and webhooks: what starts executions on a user's behalf."""

from oslo_utils import timeutils

from qinling import states
from qinling.db.api.base import _TXN
from qinling.db.api.base import _create
from qinling.db.api.base import _get
from qinling.db.api.base import _list
from qinling.db.api.base import _writer
from qinling.db.sqlalchemy import models

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

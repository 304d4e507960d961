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
"""Webhooks: a URL that anyone holding it can call to run a function.

Invoking needs no credentials (the webhook's id is the secret); the
execution runs asynchronously in the webhook's project and is described
``Created by Webhook <id>``.
"""

from oslo_log import log as logging

from qinling import context
from qinling import exceptions
from qinling.db import api as db_api
from qinling.services import targets

LOG = logging.getLogger(__name__)

EXECUTION_DESCRIPTION = "Created by Webhook %s"
FIELDS = frozenset(("function_id", "function_alias", "function_version",
                    "description"))
MAX_LENGTHS = {"description": 255, "function_alias": 255}


def _check_fields(values):
    unknown = sorted(set(values) - FIELDS)
    if unknown:
        raise exceptions.InputException(
            "Can not set field(s) of a webhook: %s." % ", ".join(unknown))
    for key, limit in MAX_LENGTHS.items():
        value = values.get(key)
        if isinstance(value, str) and len(value.encode()) > limit:
            raise exceptions.InputException(
                "%s is longer than %d bytes." % (key, limit))


def plan_target(webhook, changes):
    """The new target an update asks for, or None if it keeps the old one.

    A new alias replaces the function id and version; a new function id or
    version replaces the alias. A new function id without a version means
    version 0.
    """
    if changes.get("function_alias"):
        return {k: changes.get(k) for k in (
            "function_alias", "function_id", "function_version")}
    if "function_id" not in changes and "function_version" not in changes:
        return None
    function_id = changes.get("function_id", webhook.function_id)
    if "function_version" in changes:
        version = changes["function_version"]
    elif function_id == webhook.function_id:
        version = webhook.function_version
    else:
        version = 0
    return {"function_id": function_id, "function_version": version}


class WebhookService:

    def __init__(self, executions):
        self._executions = executions

    def create(self, ctx, values):
        """:param values: the request's non-null fields."""
        _check_fields(values)
        function_id, alias, version = targets.check(ctx, values)
        return db_api.webhook_create(ctx, {
            "function_id": function_id, "function_alias": alias,
            "function_version": version,
            "description": values.get("description")})

    def get(self, ctx, webhook_id):
        return db_api.webhook_get(ctx, webhook_id)

    def list(self, ctx, list_query):
        return db_api.webhook_list(ctx, list_query)

    def update(self, ctx, webhook_id, changes):
        _check_fields(changes)
        webhook = db_api.webhook_get(ctx, webhook_id)
        values = {k: v for k, v in changes.items() if k == "description"}
        target = plan_target(webhook, changes)
        if target is not None:
            function_id, alias, version = targets.check(ctx, target)
            values.update(function_id=function_id, function_alias=alias,
                          function_version=version)
        return db_api.webhook_update(ctx, webhook_id, values)

    def delete(self, ctx, webhook_id):
        db_api.webhook_delete(ctx, webhook_id)

    def invoke(self, webhook_id, fn_input, request_id=None):
        """Start an async execution of the webhook's function.

        :param fn_input: the execution input (see ExecutionService.create).
        :returns: the execution row.
        """
        webhook = db_api.webhook_get_by_engine(context.admin_context(),
                                               webhook_id)
        ctx = context.Context(project_id=webhook.project_id,
                              request_id=request_id)
        LOG.info("Webhook %s invoked", webhook.id)
        return self._executions.create(ctx, dict(
            targets.execution_params(webhook), input=fn_input, sync=False,
            description=EXECUTION_DESCRIPTION % webhook.id))

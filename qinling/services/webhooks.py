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

What a caller delivers (a :class:`Delivery`) becomes the execution's
input as the webhook's ``event_format`` says: ``raw``, the body as sent
(upstream's behaviour), or ``cloudevents``, the delivery described as a
CloudEvent (:mod:`qinling.services.cloudevents`). An event the caller sent
as a CloudEvent is handed over as such in both formats. A Zaqar
subscription confirmation never runs the function: the webhook confirms
it when its ``confirm_subscriptions`` is set, and ignores it otherwise.

While ``[webhooks]max_running_executions`` executions of the function are
running, an invocation is refused with 429 before anything is written, so
a burst of deliveries can never queue unbounded work.
"""

import dataclasses
import re
import typing
import uuid

from oslo_log import log as logging
import requests

from qinling import context
from qinling import exceptions
from qinling import metrics
from qinling import notifications
from qinling import zaqar
from qinling.db import api as db_api
from qinling.services import cloudevents
from qinling.services import targets

LOG = logging.getLogger(__name__)

EXECUTION_DESCRIPTION = "Created by Webhook %s"
FIELDS = frozenset(("function_id", "function_alias", "function_version",
                    "description", "confirm_subscriptions", "event_format"))
MAX_LENGTHS = {"description": 255, "function_alias": 255}
EVENT_FORMATS = ("raw", "cloudevents")

CONFIRMATION = "SubscriptionConfirmation"
#: the only path a Zaqar confirmation may be sent to.
CONFIRM_PATH = re.compile(
    r"^/v2/queues/[A-Za-z0-9_-]{1,64}/subscriptions/[A-Za-z0-9-]{1,64}"
    r"/confirm$")
#: the signed-URL fields of a confirmation, sent back as headers.
SIGNED_URL_FIELDS = ("URL-Signature", "URL-Methods", "URL-Paths",
                     "URL-Expires")


@dataclasses.dataclass(frozen=True)
class Delivery:
    """What a caller delivered to a webhook."""

    #: the execution input in ``raw`` format (keyword arguments, or the
    #: raw text under ``executions.RAW_INPUT_KEY``).
    input: typing.Optional[dict] = None
    #: the body parsed as JSON, if it was JSON; None otherwise.
    body: typing.Any = None
    #: the CloudEvent the caller sent (binary or structured mode), if any.
    event: typing.Optional[dict] = None
    content_type: typing.Optional[str] = None
    #: the caller's X-OpenStack-Request-ID.
    request_id: typing.Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Invocation:
    """What an invocation did: started an execution, or answered."""

    execution_id: typing.Optional[str] = None
    #: the answer when no execution was started.
    answer: typing.Optional[dict] = None


def _is_confirmation(value):
    return isinstance(value, dict) and \
        value.get("Message_Type") == CONFIRMATION


def confirmation(body):
    """The Zaqar subscription confirmation a body is, or holds, or None.

    Zaqar shapes the confirmation with the subscription's ``post_data``
    template as it does messages, so the document may be the value of
    one of the body's keys (``{"input": "$zaqar_message$"}``).
    """
    if _is_confirmation(body):
        return body
    if isinstance(body, dict):
        for value in body.values():
            if _is_confirmation(value):
                return value
    return None


def execution_input(webhook, delivery):
    """The input an execution of ``webhook`` gets for ``delivery``."""
    if delivery.event is not None:
        return delivery.event
    if webhook.event_format == "cloudevents":
        return cloudevents.from_delivery(
            webhook.id, delivery.body, delivery.input,
            content_type=delivery.content_type,
            request_id=delivery.request_id)
    return delivery.input


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
    if "event_format" in values and \
            values["event_format"] not in EVENT_FORMATS:
        raise exceptions.InputException(
            "event_format must be one of: %s." % ", ".join(EVENT_FORMATS))
    if "confirm_subscriptions" in values and \
            not isinstance(values["confirm_subscriptions"], bool):
        raise exceptions.InputException(
            "confirm_subscriptions must be true or false.")


class SubscriptionConfirmer:
    """Confirms Zaqar subscriptions for the webhooks that ask for it.

    The confirmation goes to the Zaqar the operator configured
    (``[webhooks]zaqar_url``, else the Keystone catalog), on the one path
    a confirmation may have: a caller can make us confirm a subscription
    only with the signature Zaqar made for it.
    """

    def __init__(self, conf, keystone=None):
        self._conf = conf
        self._keystone = keystone

    def _zaqar_url(self):
        return zaqar.endpoint(self._conf, self._keystone)

    def confirm(self, webhook, document):
        """Confirm the subscription ``document`` is about.

        :returns: the answer for the caller.
        :raises InputException: the document is not a valid confirmation.
        :raises BadGatewayException: Zaqar refused or did not answer.
        """
        fields = {name: document.get(name) for name in SIGNED_URL_FIELDS}
        if not all(isinstance(v, str) and v for v in fields.values()) or \
                not CONFIRM_PATH.match(fields["URL-Paths"]) or \
                fields["URL-Methods"] != "PUT":
            raise exceptions.InputException(
                "Not a Zaqar subscription confirmation: it needs the "
                "fields %s, for a PUT to /v2/queues/<queue>/subscriptions/"
                "<id>/confirm." % ", ".join(SIGNED_URL_FIELDS))
        base = self._zaqar_url()
        if base is None:
            raise exceptions.ConflictException(
                "The subscription cannot be confirmed: no Zaqar endpoint "
                "is configured ([webhooks]zaqar_url).")
        headers = dict(fields, **{
            "Client-ID": str(uuid.uuid4()),
            "X-Project-ID": str(document.get("X-Project-ID") or
                                webhook.project_id)})
        body = document.get("SubscribeBody")
        if not isinstance(body, dict):
            body = {"confirmed": True}
        try:
            response = requests.put(
                base + fields["URL-Paths"], json=body, headers=headers,
                timeout=self._conf.webhooks.zaqar_timeout)
        except requests.RequestException as e:
            LOG.warning("Webhook %s: confirming %s failed: %s", webhook.id,
                        fields["URL-Paths"], e)
            raise exceptions.BadGatewayException(
                "Zaqar did not answer the subscription confirmation.")
        if response.status_code >= 300:
            LOG.warning("Webhook %s: Zaqar refused to confirm %s: HTTP %s "
                        "%s", webhook.id, fields["URL-Paths"],
                        response.status_code, response.text[:500])
            raise exceptions.BadGatewayException(
                "Zaqar refused the subscription confirmation (HTTP %s)."
                % response.status_code)
        LOG.info("Webhook %s confirmed the Zaqar subscription %s",
                 webhook.id, fields["URL-Paths"])
        return {"confirmed": True,
                "queue_name": document.get("queue_name")}


def _refusal(exc):
    """The ``reason`` label of a refused delivery."""
    return {404: "target_not_found", 409: "target_unavailable"}.get(
        exc.http_code, "bad_request" if exc.http_code < 500 else "error")


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

    def __init__(self, conf, executions, keystone=None):
        self._conf = conf
        self._executions = executions
        self._confirmer = SubscriptionConfirmer(conf, keystone)

    def create(self, ctx, values):
        """:param values: the request's non-null fields."""
        _check_fields(values)
        function_id, alias, version = targets.check(ctx, values)
        webhook = db_api.webhook_create(ctx, {
            "function_id": function_id, "function_alias": alias,
            "function_version": version,
            "description": values.get("description"),
            "confirm_subscriptions": values.get("confirm_subscriptions",
                                                False),
            "event_format": values.get("event_format", "raw")})
        notifications.resource_changed(ctx, "webhook", "create", webhook)
        return webhook

    def get(self, ctx, webhook_id):
        return db_api.webhook_get(ctx, webhook_id)

    def list(self, ctx, list_query):
        return db_api.webhook_list(ctx, list_query)

    def update(self, ctx, webhook_id, changes):
        _check_fields(changes)
        webhook = db_api.webhook_get(ctx, webhook_id)
        values = {k: v for k, v in changes.items() if k in (
            "description", "confirm_subscriptions", "event_format")}
        target = plan_target(webhook, changes)
        if target is not None:
            function_id, alias, version = targets.check(ctx, target)
            values.update(function_id=function_id, function_alias=alias,
                          function_version=version)
        webhook = db_api.webhook_update(ctx, webhook_id, values)
        notifications.resource_changed(ctx, "webhook", "update", webhook)
        return webhook

    def delete(self, ctx, webhook_id):
        webhook = db_api.webhook_get(ctx, webhook_id)
        db_api.webhook_delete(ctx, webhook_id)
        notifications.resource_changed(ctx, "webhook", "delete", webhook)

    def invoke(self, webhook_id, delivery, request_id=None):
        """Run the webhook's function on a delivery, asynchronously.

        :param delivery: a :class:`Delivery`.
        :returns: an :class:`Invocation`.
        :raises TooManyRequests: too many executions of the function are
            running.
        """
        webhook = db_api.webhook_get_by_engine(context.admin_context(),
                                               webhook_id)
        document = None if delivery.event else confirmation(delivery.body)
        if document is not None:
            return Invocation(answer=self._confirmation(webhook, document))
        ctx = context.Context(project_id=webhook.project_id,
                              request_id=request_id)
        try:
            execution = self._executions.create(ctx, dict(
                targets.execution_params(webhook),
                input=execution_input(webhook, delivery), sync=False,
                description=EXECUTION_DESCRIPTION % webhook.id),
                max_running=self._conf.webhooks.max_running_executions)
        except exceptions.TooManyRequests:
            metrics.WEBHOOK_REFUSED.labels("too_many_running").inc()
            raise
        except exceptions.QinlingException as e:
            metrics.WEBHOOK_REFUSED.labels(_refusal(e)).inc()
            raise
        LOG.info("Webhook %s invoked: execution %s", webhook.id,
                 execution.id)
        return Invocation(execution_id=execution.id)

    def _confirmation(self, webhook, document):
        if not webhook.confirm_subscriptions:
            LOG.info("Webhook %s ignored a Zaqar subscription confirmation "
                     "(confirm_subscriptions is off)", webhook.id)
            return {"confirmed": False,
                    "message": "This webhook does not confirm "
                               "subscriptions; set confirm_subscriptions "
                               "to have it do so."}
        return self._confirmer.confirm(webhook, document)

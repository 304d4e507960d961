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
"""``/v1/webhooks`` and the unauthenticated ``/v1/webhooks/{id}/invoke``.

How an invocation's request becomes the execution's input (the
Content-Type decides, whatever the body looks like):

* ``application/json`` (or ``...+json``) with an object: the object's
  keys, over the query parameters, become the function's keyword
  arguments. Malformed JSON is a 400.
* A form (``application/x-www-form-urlencoded`` or ``multipart/form-data``
  without files): its fields over the query parameters, likewise.
* Any other body, a JSON array, string, number, boolean or null included:
  the body's text, exactly as sent, is the function's one positional
  argument; the query parameters are not passed.
* No body: the query parameters alone (none: no arguments).

A repeated query parameter or form field becomes a list.

A CloudEvent (binary mode: ``ce-*`` headers; structured mode:
``application/cloudevents+json``) is read as such whatever the webhook's
``event_format``; the service decides the rest (see
:mod:`qinling.services.webhooks`).
"""

import base64
import json

import pecan
from pecan import rest
from wsme import types as wtypes

from qinling import exceptions
from qinling.api import acl
from qinling.api import errors
from qinling.api.controllers.v1 import listing
from qinling.api.controllers.v1 import resources
from qinling.api.controllers.v1 import responses
from qinling.api.controllers.v1 import types
from qinling.services import cloudevents
from qinling.services import executions
from qinling.services import webhooks

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _is_json(content_type):
    return content_type == "application/json" or \
        content_type.endswith("+json")


def _form_fields(req):
    for key, value in req.POST.items():
        if hasattr(value, "file"):
            raise exceptions.InputException(
                "Webhook input cannot contain files (field %r)." % key)
    return req.POST.mixed()


def _raw_text(req):
    try:
        return req.body.decode(req.charset or "utf-8")
    except (UnicodeDecodeError, LookupError):
        raise exceptions.InputException(
            "The request body is not text in its charset (%s)."
            % (req.charset or "utf-8"))


def _json_body(req):
    try:
        return json.loads(req.body)
    except (ValueError, RecursionError) as e:
        raise exceptions.InputException("Malformed JSON body: %s" % e)


def invocation_input(req, body=None):
    """The execution input of an invocation (see the module docstring).

    :param body: the JSON body, if the request has one and it was parsed.
    """
    kwargs = req.GET.mixed()
    if not req.body:
        return kwargs
    content_type = (req.content_type or "").lower()
    if _is_json(content_type):
        value = body if body is not None else _json_body(req)
        if not isinstance(value, dict):
            return {executions.RAW_INPUT_KEY: _raw_text(req)}
    elif content_type in FORM_TYPES:
        value = _form_fields(req)
    else:
        return {executions.RAW_INPUT_KEY: _raw_text(req)}
    kwargs.update(value)
    return kwargs


def _binary_event(req):
    data = data_base64 = None
    if req.body:
        if _is_json((req.content_type or "").lower()):
            data = _json_body(req)
        else:
            try:
                data = req.body.decode(req.charset or "utf-8")
            except (UnicodeDecodeError, LookupError):
                data_base64 = base64.b64encode(req.body).decode()
    event = cloudevents.from_binary(req.headers, req.content_type or None,
                                    data)
    if data_base64 is not None:
        event["data_base64"] = data_base64
    return event


def delivery(req):
    """What the caller of an invocation delivered."""
    content_type = (req.content_type or "").lower()
    if content_type == cloudevents.BATCH_TYPE:
        raise exceptions.InputException(
            "A batch of CloudEvents is not supported: send one event per "
            "request.")
    if cloudevents.is_binary(req.headers):
        return webhooks.Delivery(event=_binary_event(req))
    if content_type == cloudevents.STRUCTURED_TYPE:
        return webhooks.Delivery(
            event=cloudevents.from_structured(_json_body(req)))
    body = None
    if req.body and _is_json(content_type):
        body = _json_body(req)
    return webhooks.Delivery(
        input=invocation_input(req, body), body=body,
        content_type=req.content_type or None,
        request_id=req.headers.get("X-OpenStack-Request-ID"))


def _base_url():
    req = pecan.request
    return (req.conf.qinling_endpoint or req.application_url).rstrip("/")


def _render(row):
    return resources.Webhook.from_row(row, _base_url())


class WebhooksController(rest.RestController):

    _custom_actions = {"invoke": ["POST"]}

    @errors.wsexpose(resources.Webhook, body=resources.Webhook,
                     status_code=201)
    def post(self, webhook):
        acl.enforce("webhook:create")
        req = pecan.request
        return _render(req.services.webhooks.create(req.context,
                                                    webhook.to_values()))

    @errors.wsexpose(resources.Webhooks, wtypes.text, wtypes.text,
                     wtypes.text, types.int32, wtypes.text, wtypes.text,
                     wtypes.text, bool, wtypes.text)
    def get_all(self, function_id=None, function_alias=None,
                description=None, limit=None, marker=None, sort_key=None,
                sort_dir=None, all_projects=False, project_id=None):
        acl.enforce("webhook:get_all")
        req = pecan.request
        query = listing.build(
            {"function_id": function_id, "function_alias": function_alias,
             "description": description},
            limit, marker, sort_key, sort_dir, all_projects, project_id,
            policy="webhook")
        rows = req.services.webhooks.list(req.context, query)
        return resources.Webhooks(webhooks=[_render(w) for w in rows],
                                  next=listing.next_link(rows, query))

    @errors.wsexpose(resources.Webhook, types.uuid)
    def get_one(self, id):
        acl.enforce("webhook:get")
        req = pecan.request
        return _render(req.services.webhooks.get(req.context, id))

    @errors.wsexpose(resources.Webhook, types.uuid, body=resources.Webhook)
    def put(self, id, webhook):
        acl.enforce("webhook:update")
        req = pecan.request
        return _render(req.services.webhooks.update(req.context, id,
                                                    webhook.to_values()))

    @errors.wsexpose(None, types.uuid, status_code=204)
    def delete(self, id):
        acl.enforce("webhook:delete")
        req = pecan.request
        req.services.webhooks.delete(req.context, id)

    @errors.expose_pecan(responses.JSON)
    def invoke(self, id, **kwargs):
        """Run the webhook's function; no credentials needed."""
        req = pecan.request
        outcome = req.services.webhooks.invoke(id, delivery(req),
                                               req.context.request_id)
        if outcome.execution_id is None:
            return responses.json(outcome.answer, 200)
        return responses.json({"execution_id": outcome.execution_id}, 202)

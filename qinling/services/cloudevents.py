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
"""CloudEvents 1.0 as webhook input, and deliveries turned into them.

An event is handed to the function in the structured JSON form (its
attributes and ``data`` as one object), which becomes the function's
keyword arguments as any JSON object does.

* :func:`from_binary` and :func:`from_structured` read an event that a
  caller sent in the HTTP binding's binary or structured mode.
* :func:`from_delivery` describes any other delivery as an event, for
  webhooks whose ``event_format`` is ``cloudevents``: an Aodh alarm
  notification, a Zaqar message notification, or anything else.

Everything here is a pure function of its arguments (``now`` and
``new_id`` aside).
"""

import datetime
import urllib.parse
import uuid

from qinling import exceptions
from qinling.services import executions

SPECVERSION = "1.0"
STRUCTURED_TYPE = "application/cloudevents+json"
BATCH_TYPE = "application/cloudevents-batch+json"
REQUIRED = ("specversion", "id", "source", "type")
HEADER_PREFIX = "ce-"

AODH_TYPE = "org.openstack.aodh.alarm"
ZAQAR_TYPE = "org.openstack.zaqar.message"
WEBHOOK_TYPE = "org.openstack.qinling.webhook"
#: the keys of every notification Aodh's http notifier sends.
AODH_KEYS = frozenset(("alarm_name", "alarm_id", "severity", "previous",
                       "current", "reason", "reason_data"))


def now():
    """The current time as a CloudEvents ``time`` (RFC 3339, UTC)."""
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")


def new_id():
    return str(uuid.uuid4())


def _check(event):
    if not isinstance(event, dict):
        raise exceptions.InputException(
            "A structured CloudEvent must be a JSON object.")
    missing = [name for name in REQUIRED
               if not isinstance(event.get(name), str) or not event[name]]
    if missing:
        raise exceptions.InputException(
            "The CloudEvent lacks the attribute(s): %s."
            % ", ".join(missing))
    if event["specversion"] != SPECVERSION:
        raise exceptions.InputException(
            "CloudEvents specversion %r is not supported; use %s."
            % (event["specversion"], SPECVERSION))
    return event


def is_binary(headers):
    """Whether a request carries an event in binary mode."""
    return (HEADER_PREFIX + "specversion") in headers


def from_binary(headers, content_type, data):
    """The event of a binary-mode request.

    :param headers: the request's headers (case-insensitive mapping).
    :param content_type: the request's Content-Type, the event's
        ``datacontenttype``; None without a body.
    :param data: the body, parsed as the content type says (JSON, text),
        or None.
    """
    event = {}
    for name, value in headers.items():
        name = name.lower()
        if name.startswith(HEADER_PREFIX) and len(name) > len(HEADER_PREFIX):
            event[name[len(HEADER_PREFIX):]] = urllib.parse.unquote(value)
    if content_type:
        event["datacontenttype"] = content_type
    if data is not None:
        event["data"] = data
    return _check(event)


def from_structured(value):
    """The event of a structured-mode request (its body, parsed)."""
    return _check(value)


def _event(type_, source, data, event_id=None, subject=None):
    event = {"specversion": SPECVERSION, "id": event_id or new_id(),
             "source": source, "type": type_, "time": now(),
             "datacontenttype": "application/json"}
    if subject is not None:
        event["subject"] = subject
    event["data"] = data
    return event


def is_aodh_alarm(body):
    return isinstance(body, dict) and AODH_KEYS <= set(body)


def is_zaqar_notification(body):
    return isinstance(body, dict) and \
        body.get("Message_Type") == "Notification" and "queue_name" in body


def from_delivery(webhook_id, body, fn_input, content_type=None,
                  request_id=None):
    """Describe a webhook delivery as a CloudEvent.

    :param body: the request's JSON body, parsed; None if it had none or
        it was not JSON.
    :param fn_input: the input the delivery gives in ``raw`` format (the
        keyword arguments, or the raw text under ``RAW_INPUT_KEY``).
    :param content_type: the request's Content-Type.
    :param request_id: the caller's ``X-OpenStack-Request-ID``, if any:
        Aodh sends a new one with every notification, which makes it the
        event's id.
    """
    if is_aodh_alarm(body):
        return _event(AODH_TYPE, "/aodh/alarms/%s" % body["alarm_id"], body,
                      event_id=request_id, subject=body["current"])
    if is_zaqar_notification(body):
        return _event(ZAQAR_TYPE, "/zaqar/queues/%s" % body["queue_name"],
                      body.get("body"))
    event = _event(WEBHOOK_TYPE, "/v1/webhooks/%s" % webhook_id, None)
    if body is not None:
        event["data"] = body
    elif isinstance(fn_input, dict) and set(fn_input) == {
            executions.RAW_INPUT_KEY}:
        event["data"] = fn_input[executions.RAW_INPUT_KEY]
        event["datacontenttype"] = content_type or "text/plain"
    else:
        # Form fields or query parameters.
        event["data"] = fn_input or {}
    return event

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
"""Deliveries as CloudEvents, and which input a webhook's function gets."""

import types

import pytest

from qinling import exceptions
from qinling.services import cloudevents
from qinling.services import executions
from qinling.services import webhooks

ALARM = {"alarm_name": "a", "alarm_id": "42", "severity": "low",
         "previous": "ok", "current": "insufficient data", "reason": "r",
         "reason_data": {}}
NOTIFICATION = {"ttl": 300, "body": ["x"], "Message_Type": "Notification",
                "queue_name": "q"}
RAW = {executions.RAW_INPUT_KEY: "text"}


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(cloudevents, "now", lambda: "T")
    monkeypatch.setattr(cloudevents, "new_id", lambda: "new")


def event(type_, source, data, content_type="application/json", **extra):
    return dict({"specversion": "1.0", "id": "new", "source": source,
                 "type": type_, "time": "T",
                 "datacontenttype": content_type, "data": data}, **extra)


@pytest.mark.parametrize(
        "body, fn_input, content_type, request_id, expected", [
    (ALARM, dict(ALARM, state="x"), "application/json", "req-1",
     event("org.openstack.aodh.alarm", "/aodh/alarms/42", ALARM,
           id="req-1", subject="insufficient data")),
    (ALARM, ALARM, "application/json", None,
     event("org.openstack.aodh.alarm", "/aodh/alarms/42", ALARM,
           subject="insufficient data")),
    (NOTIFICATION, NOTIFICATION, "application/json", None,
     event("org.openstack.zaqar.message", "/zaqar/queues/q", ["x"])),
    ({"Message_Type": "Notification"}, {}, "application/json", None,
     event("org.openstack.qinling.webhook", "/v1/webhooks/w",
           {"Message_Type": "Notification"})),
    ([1], {executions.RAW_INPUT_KEY: "[1]"}, "application/json", None,
     event("org.openstack.qinling.webhook", "/v1/webhooks/w", [1])),
    (None, RAW, "text/csv", None,
     event("org.openstack.qinling.webhook", "/v1/webhooks/w", "text",
           content_type="text/csv")),
    (None, RAW, None, None,
     event("org.openstack.qinling.webhook", "/v1/webhooks/w", "text",
           content_type="text/plain")),
    (None, {"q": "1"}, None, None,
     event("org.openstack.qinling.webhook", "/v1/webhooks/w", {"q": "1"})),
    (None, {}, None, None,
     event("org.openstack.qinling.webhook", "/v1/webhooks/w", {})),
])
def test_delivery_as_an_event(body, fn_input, content_type, request_id,
                              expected):
    got = cloudevents.from_delivery("w", body, fn_input,
                                    content_type=content_type,
                                    request_id=request_id)

    assert got == expected


def test_binary_mode_attributes_come_from_ce_headers():
    headers = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s",
               "CE-Type": "t", "ce-note": "a%2Fb", "ce-": "empty name",
               "X-Other": "y"}

    assert cloudevents.from_binary(headers, "text/plain", "d") == {
        "specversion": "1.0", "id": "1", "source": "/s", "type": "t",
        "note": "a/b", "datacontenttype": "text/plain", "data": "d"}
    assert "data" not in cloudevents.from_binary(headers, None, None)


@pytest.mark.parametrize("value, message", [
    ({"specversion": "1.0", "id": "1", "source": "/s"}, "type"),
    ({"specversion": "1.0", "id": "", "source": "/s", "type": "t"}, "id"),
    ({"specversion": "1.0", "id": 1, "source": "/s", "type": "t"}, "id"),
    ({"specversion": "0.3", "id": "1", "source": "/s", "type": "t"},
     "specversion '0.3'"),
    ("text", "must be a JSON object"),
])
def test_invalid_structured_event(value, message):
    with pytest.raises(exceptions.InputException, match=message):
        cloudevents.from_structured(value)


def webhook(event_format):
    return types.SimpleNamespace(id="w", event_format=event_format)


SENT_EVENT = {"specversion": "1.0", "id": "1", "source": "/s", "type": "t"}


@pytest.mark.parametrize("event_format, delivery, expected", [
    ("raw", webhooks.Delivery(input={"a": 1}, body={"a": 1}), {"a": 1}),
    ("raw", webhooks.Delivery(event=SENT_EVENT), SENT_EVENT),
    ("cloudevents", webhooks.Delivery(event=SENT_EVENT), SENT_EVENT),
    ("cloudevents", webhooks.Delivery(input=RAW, content_type="text/x"),
     event("org.openstack.qinling.webhook", "/v1/webhooks/w", "text",
           content_type="text/x")),
])
def test_which_input_the_function_gets(event_format, delivery, expected):
    assert webhooks.execution_input(webhook(event_format), delivery) == \
        expected


CONFIRMATION = {"Message_Type": "SubscriptionConfirmation"}


@pytest.mark.parametrize("body, expected", [
    (CONFIRMATION, CONFIRMATION),
    ({"Message_Type": "Notification"}, None),
    # Shaped by a post_data template.
    ({"input": CONFIRMATION, "note": "n"}, CONFIRMATION),
    ({"a": {"input": CONFIRMATION}}, None),
    ([CONFIRMATION], None),
    ("SubscriptionConfirmation", None),
    (None, None),
])
def test_what_is_a_subscription_confirmation(body, expected):
    assert webhooks.confirmation(body) == expected

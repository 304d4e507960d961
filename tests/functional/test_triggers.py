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
"""Webhooks called by a real Zaqar (subscriptions) and a real Aodh (alarm
actions): the function runs with what they deliver as its input."""

import json
import time
import uuid

import pytest

from tests.functional import api as api_client
from tests.functional import trigger_services
from tests.functional.trigger_fixtures import WAIT
from tests.functional.trigger_fixtures import create_webhook
from tests.functional.trigger_fixtures import executions_of
from tests.functional.trigger_fixtures import output
from tests.functional.trigger_fixtures import wait_executions

# The function every test here runs: its keyword arguments, as they came.
KWARGS = '''
def main(**kwargs):
    kwargs.pop("context", None)
    return kwargs
'''

BACKUP = {"event": "BackupStarted", "backup_id": "c378813c-3f0b-11e2-ad92"}


@pytest.fixture(scope="module")
def function(api, runtime):
    return api.create_function(runtime["id"],
                               api_client.make_zip({"main.py": KWARGS}))


def wait_until(predicate, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %ss" % (what, timeout))
        time.sleep(0.2)


# -- Zaqar ------------------------------------------------------------------

def test_zaqar_message_runs_the_function_with_its_envelope(api, function,
                                                           zaqar):
    webhook = create_webhook(api, function["id"])
    queue = zaqar.create_queue()
    zaqar.subscribe(queue, webhook["webhook_url"])

    zaqar.post_messages(queue, [{"ttl": 300, "body": BACKUP}])

    [execution] = wait_executions(api, webhook, 1)
    assert output(execution) == {"ttl": 300, "body": BACKUP,
                                 "Message_Type": "Notification",
                                 "queue_name": queue}


def test_each_zaqar_message_is_one_execution_whatever_its_body(
        api, function, zaqar):
    webhook = create_webhook(api, function["id"])
    queue = zaqar.create_queue()
    zaqar.subscribe(queue, webhook["webhook_url"])
    bodies = [{"n": 1}, "plain string", [1, 2, 3]]

    zaqar.post_messages(queue, [{"ttl": 60, "body": b} for b in bodies])

    executions = wait_executions(api, webhook, 3)
    received = [output(e) for e in executions]
    assert len(executions) == 3
    # Zaqar posts each message from its own thread: in any order.
    assert sorted(json.dumps(r["body"]) for r in received) == \
        sorted(json.dumps(b) for b in bodies)
    assert all(r["Message_Type"] == "Notification" and
               r["queue_name"] == queue for r in received)


def test_zaqar_post_data_template_shapes_the_input(api, function, zaqar):
    webhook = create_webhook(api, function["id"])
    queue = zaqar.create_queue()
    zaqar.subscribe(queue, webhook["webhook_url"], options={
        "post_data": '{"input": "$zaqar_message$", "note": "via zaqar"}',
        "post_headers": {"X-Custom": "abc"}})

    zaqar.post_messages(queue, [{"ttl": 300, "body": {"x": "y"}}])

    [execution] = wait_executions(api, webhook, 1)
    assert output(execution) == {
        "note": "via zaqar",
        "input": {"ttl": 300, "body": {"x": "y"},
                  "Message_Type": "Notification", "queue_name": queue}}


def test_zaqar_message_as_a_cloudevent(api, function, zaqar):
    webhook = create_webhook(api, function["id"],
                             event_format="cloudevents")
    assert webhook["event_format"] == "cloudevents"
    queue = zaqar.create_queue()
    zaqar.subscribe(queue, webhook["webhook_url"])

    zaqar.post_messages(queue, [{"ttl": 300, "body": BACKUP}])

    [execution] = wait_executions(api, webhook, 1)
    event = output(execution)
    assert {k: event.get(k) for k in (
        "specversion", "type", "source", "data")} == {
        "specversion": "1.0", "type": "org.openstack.zaqar.message",
        "source": "/zaqar/queues/%s" % queue, "data": BACKUP}
    assert isinstance(event.get("id"), str) and event["id"]


# -- Zaqar with subscriptions to confirm --

@pytest.fixture(scope="module")
def confirming_api(confirming_server):
    return api_client.Api(confirming_server.url)


@pytest.fixture(scope="module")
def confirming_function(confirming_api):
    runtime = confirming_api.create_runtime()
    assert runtime["status"] == "available", runtime
    return confirming_api.create_function(
        runtime["id"], api_client.make_zip({"main.py": KWARGS}))


def test_a_confirming_webhook_confirms_its_subscription_then_runs_messages(
        confirming_api, confirming_function, confirming_zaqar):
    api, zaqar = confirming_api, confirming_zaqar
    webhook = create_webhook(api, confirming_function["id"],
                             confirm_subscriptions=True)
    assert webhook["confirm_subscriptions"] is True
    queue = zaqar.create_queue()

    subscription_id = zaqar.subscribe(queue, webhook["webhook_url"])

    wait_until(lambda: zaqar.subscription(queue, subscription_id)[
        "confirmed"] is True, "Zaqar shows the subscription confirmed")
    zaqar.post_messages(queue, [{"ttl": 300, "body": BACKUP}])
    [execution] = wait_executions(api, webhook, 1)
    assert output(execution) == {"ttl": 300, "body": BACKUP,
                                 "Message_Type": "Notification",
                                 "queue_name": queue}
    # The confirmation came (and was answered) before the subscription
    # was confirmed: it would be listed by now had it run the function.
    assert [e["id"] for e in executions_of(api, webhook)] == \
        [execution["id"]]


def test_a_webhook_that_does_not_confirm_never_runs_for_a_confirmation(
        confirming_api, confirming_function, confirming_zaqar):
    api, zaqar = confirming_api, confirming_zaqar
    webhook = create_webhook(api, confirming_function["id"])
    assert webhook["confirm_subscriptions"] is False
    queue = zaqar.create_queue()

    # Through a tap, to know when Qinling has answered the confirmation.
    with trigger_services.Tap(api.url) as tap:
        subscription_id = zaqar.subscribe(
            queue, tap.url_for(webhook["webhook_url"]))
        call = tap.wait_for(lambda c: json.loads(c["body"] or "{}").get(
            "Message_Type") == "SubscriptionConfirmation")

    assert call["status"] < 500, call
    assert executions_of(api, webhook) == []
    assert zaqar.subscription(queue, subscription_id)["confirmed"] is False


def test_a_confirmation_shaped_by_post_data_is_still_a_confirmation(
        confirming_api, confirming_function, confirming_zaqar):
    api, zaqar = confirming_api, confirming_zaqar
    webhook = create_webhook(api, confirming_function["id"],
                             confirm_subscriptions=True)
    queue = zaqar.create_queue()

    with trigger_services.Tap(api.url) as tap:
        subscription_id = zaqar.subscribe(
            queue, tap.url_for(webhook["webhook_url"]),
            options={"post_data": '{"input": "$zaqar_message$"}'})
        tap.wait_for(lambda c: "SubscriptionConfirmation" in c["body"])

    assert executions_of(api, webhook) == []
    assert zaqar.subscription(queue, subscription_id)["confirmed"] is True


# -- Aodh -------------------------------------------------------------------

def event_alarm(name, webhook_url, event_type, **fields):
    return dict({"name": name, "type": "event", "severity": "moderate",
                 "event_rule": {"event_type": event_type},
                 "alarm_actions": [webhook_url]}, **fields)


def instance_query(instance):
    return [{"field": "traits.instance_id", "op": "eq", "value": instance,
             "type": "string"}]


def test_aodh_event_alarm_runs_the_function_with_the_alarm(api, function,
                                                           aodh):
    webhook = create_webhook(api, function["id"])
    project, instance = uuid.uuid4().hex, "inst-%s" % uuid.uuid4().hex[:8]
    alarm = aodh.create_alarm(project, event_alarm(
        "fn-trigger-event", webhook["webhook_url"] + "?state=alarm",
        "compute.instance.update",
        event_rule={"event_type": "compute.instance.update",
                    "query": instance_query(instance)}))

    event = aodh.send_event("compute.instance.update", {
        "instance_id": instance, "project_id": project, "state": "active"})

    [execution] = wait_executions(api, webhook, 1)
    received = output(execution)
    assert received.pop("reason").startswith(
        "Event <id=%s,event_type=compute.instance.update> hits the query"
        % event["message_id"])
    assert received == {
        "state": "alarm", "alarm_name": "fn-trigger-event",
        "alarm_id": alarm["alarm_id"], "severity": "moderate",
        "previous": "insufficient data", "current": "alarm",
        "reason_data": {"type": "event", "event": event}}
    assert aodh.alarm(project, alarm["alarm_id"])["state"] == "alarm"


def test_aodh_alarm_repeating_its_actions_runs_the_function_each_time(
        api, function, aodh):
    webhook = create_webhook(api, function["id"])
    project = uuid.uuid4().hex
    aodh.create_alarm(project, event_alarm(
        "fn-trigger-repeat", webhook["webhook_url"], "backup.*",
        repeat_actions=True))

    sent = [aodh.send_event(event_type, {"project_id": project})
            for event_type in ("backup.start", "backup.end")]

    executions = wait_executions(api, webhook, 2)
    received = [output(e) for e in executions]
    assert len(executions) == 2
    assert sorted(r["reason_data"]["event"]["message_id"]
                  for r in received) == \
        sorted(e["message_id"] for e in sent)
    assert sorted((r["previous"], r["current"]) for r in received) == [
        ("alarm", "alarm"), ("insufficient data", "alarm")]


def test_aodh_alarm_as_a_cloudevent(api, function, aodh):
    webhook = create_webhook(api, function["id"],
                             event_format="cloudevents")
    assert webhook["event_format"] == "cloudevents"
    project = uuid.uuid4().hex
    alarm = aodh.create_alarm(project, event_alarm(
        "fn-trigger-cloudevent", webhook["webhook_url"], "volume.create.*"))

    event = aodh.send_event("volume.create.end", {"project_id": project})

    [execution] = wait_executions(api, webhook, 1)
    cloudevent = output(execution)
    expected = {
        "specversion": "1.0", "type": "org.openstack.aodh.alarm",
        "source": "/aodh/alarms/%s" % alarm["alarm_id"],
        "subject": "alarm", "datacontenttype": "application/json"}
    assert {k: cloudevent.get(k) for k in expected} == expected
    # Aodh sends a fresh request ID with each notification.
    assert cloudevent["id"].startswith("req-"), cloudevent
    assert cloudevent["time"], cloudevent
    data = cloudevent["data"]
    assert data.pop("reason").startswith("Event <id=%s," % event[
        "message_id"])
    assert data == {
        "alarm_name": "fn-trigger-cloudevent", "alarm_id": alarm["alarm_id"],
        "severity": "moderate", "previous": "insufficient data",
        "current": "alarm",
        "reason_data": {"type": "event", "event": event}}

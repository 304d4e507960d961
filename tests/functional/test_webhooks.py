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
"""Webhooks over HTTP: CRUD, and invocations shaped as real callers send
them (Aodh alarm actions, Zaqar subscriptions, forms, raw text)."""

import json
import os
import sqlite3

import pytest
import requests

from tests.functional import api as api_client

UNKNOWN_ID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"

# Captured from a real Aodh 23.0.0 and Zaqar 23.0.1 (see the triggers notes).
AODH_HEADERS = {
    "User-Agent": "python-requests/2.34.2",
    "x-openstack-request-id": "req-c025015b-23da-4ce0-961a-3f7e97e8c17d",
    "content-type": "application/json",
}
AODH_EVENT_ALARM = {
    "alarm_name": "fn-trigger-event",
    "alarm_id": "2b3e82a0-5961-40fa-84f6-d3c525007469",
    "severity": "moderate", "previous": "insufficient data",
    "current": "alarm",
    "reason": "Event <id=f07c2d05-ee3c-48f8-aadb-266e55542c32,event_type="
              "compute.instance.update> hits the query <query=[{\"field\": "
              "\"traits.instance_id\", \"op\": \"eq\", \"type\": \"string\", "
              "\"value\": \"inst-1\"}]>.",
    "reason_data": {"type": "event", "event": {
        "message_id": "f07c2d05-ee3c-48f8-aadb-266e55542c32",
        "event_type": "compute.instance.update",
        "generated": "2026-11-23T13:42:21.674312",
        "traits": [["instance_id", 1, "inst-1"],
                   ["project_id", 1, "demo-project"],
                   ["state", 1, "active"]],
        "raw": {}}},
}
AODH_THRESHOLD_ALARM = {
    "alarm_name": "fn-trigger-prom",
    "alarm_id": "27831cab-7080-4b75-9ab1-47324ac1e4ed",
    "severity": "critical", "previous": "insufficient data",
    "current": "alarm",
    "reason": "Transition to alarm due to 1 samples outside threshold, "
              "most recent: 1.0",
    "reason_data": {"type": "threshold", "disposition": "outside",
                    "count": 1, "most_recent": 1.0},
}
ZAQAR_HEADERS = {"User-Agent": "python-requests/2.34.2",
                 "Content-Type": "application/json"}
ZAQAR_NOTIFICATION = (
    '{"ttl": 300, "body": {"event": "BackupStarted", "backup_id": '
    '"c378813c-3f0b-11e2-ad92"}, "Message_Type": "Notification", '
    '"queue_name": "fnq"}')
ZAQAR_POST_DATA = (
    '{"input": {"ttl": 300, "body": {"x": "y"}, "Message_Type": '
    '"Notification", "queue_name": "q2"}, "note": "via zaqar"}')


@pytest.fixture(scope="module")
def echo(api, runtime):
    """A function returning its positional and keyword arguments."""
    return api.create_function(runtime["id"], api_client.sample_zip("echo"))


@pytest.fixture
def webhook(api, echo):
    resp = api.post("/v1/webhooks", json={"function_id": echo["id"]})
    assert resp.status_code == 201, resp.text
    return resp.json()


@pytest.fixture
def nothing_left_behind(api):
    def snapshot():
        return {kind: sorted(r["id"] for r in api.get(
            "/v1/" + kind).json()[kind])
            for kind in ("webhooks", "executions")}

    before = snapshot()
    yield
    assert snapshot() == before


def assert_fault(resp, status, text):
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    assert text in resp.json()["faultstring"], resp.json()


def invoke(api, webhook, **kwargs):
    """POST to the webhook's URL without credentials; the final execution.
    """
    resp = requests.post(webhook["webhook_url"], **kwargs)
    assert resp.status_code == 202, resp.text
    assert list(resp.json()) == ["execution_id"]
    execution = api.wait_execution(resp.json()["execution_id"])
    assert execution["status"] == "success", execution
    assert execution["description"] == "Created by Webhook %s" % webhook["id"]
    assert execution["sync"] is False
    return execution


def output(execution):
    return json.loads(execution["result"])["output"]


def test_webhook_is_created_shown_listed_updated_and_deleted(api, echo):
    resp = api.post("/v1/webhooks", json={"function_id": echo["id"],
                                          "description": "for aodh"})

    assert resp.status_code == 201, resp.text
    webhook = resp.json()
    assert webhook["webhook_url"] == "%s/v1/webhooks/%s/invoke" % (
        api.url, webhook["id"])
    assert webhook["function_version"] == 0
    assert webhook["function_alias"] is None
    assert webhook["project_id"] == "default"
    assert webhook["created_at"].endswith("Z")
    assert api.get("/v1/webhooks/%s" % webhook["id"]).json() == webhook
    listed = api.get("/v1/webhooks",
                     params={"description": "has:aodh"}).json()["webhooks"]
    assert webhook["id"] in [w["id"] for w in listed]

    resp = api.http.put(api.url + "/v1/webhooks/%s" % webhook["id"],
                        json={"description": "for zaqar"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["description"] == "for zaqar"
    assert resp.json()["updated_at"] is not None

    assert api.delete("/v1/webhooks/%s" % webhook["id"]).status_code == 204
    assert_fault(api.get("/v1/webhooks/%s" % webhook["id"]), 404,
                 "Webhook not found [id=%s]" % webhook["id"])
    assert_fault(requests.post(webhook["webhook_url"]), 404,
                 "Webhook not found")


def test_webhook_url_follows_the_host_the_client_used(api, webhook):
    shown = api.get("/v1/webhooks/%s" % webhook["id"],
                    headers={"Host": "qinling.example.com:7070"}).json()

    assert shown["webhook_url"] == \
        "http://qinling.example.com:7070/v1/webhooks/%s/invoke" % webhook[
            "id"]


def test_json_object_and_query_become_keyword_arguments(api, webhook):
    execution = invoke(api, webhook, params={"state": "alarm"},
                       json={"name": "qinling", "n": 1})

    assert output(execution) == {
        "args": [], "kwargs": {"state": "alarm", "name": "qinling", "n": 1}}
    assert json.loads(execution["input"]) == {"state": "alarm",
                                              "name": "qinling", "n": 1}


def test_form_fields_and_query_become_keyword_arguments(api, webhook):
    execution = invoke(api, webhook, params={"src": "form"},
                       data={"name": "qinling"})

    assert output(execution) == {"args": [], "kwargs": {"src": "form",
                                                        "name": "qinling"}}


def test_body_keys_win_over_query_parameters(api, webhook):
    execution = invoke(api, webhook, params={"name": "query"},
                       json={"name": "body"})

    assert output(execution)["kwargs"] == {"name": "body"}


def test_repeated_query_parameter_becomes_a_list(api, webhook):
    execution = invoke(api, webhook, params=[("tag", "a"), ("tag", "b")])

    assert output(execution)["kwargs"] == {"tag": ["a", "b"]}


@pytest.mark.parametrize("body, content_type", [
    ("plain text", "text/plain"),
    ('{"looks": "like json"}', "text/plain"),
    ("no content type", None),
    ("[1, 2, 3]", "application/json"),
    ('"a JSON string"', "application/json"),
    ("42", "application/json"),
    ("héllo", "text/plain; charset=utf-8"),
])
def test_other_bodies_are_one_positional_string(api, webhook, body,
                                                content_type):
    headers = {"Content-Type": content_type} if content_type else {}

    execution = invoke(api, webhook, data=body.encode(), headers=headers,
                       params={"ignored": "with a raw body"})

    assert output(execution) == {"args": [body], "kwargs": {}}
    assert execution["input"] == body


def test_empty_body_runs_the_function_with_the_query_only(api, webhook):
    assert output(invoke(api, webhook)) == {"args": [], "kwargs": {}}
    assert output(invoke(api, webhook, params={"a": "1"})) == {
        "args": [], "kwargs": {"a": "1"}}


@pytest.mark.parametrize("alarm", [AODH_EVENT_ALARM, AODH_THRESHOLD_ALARM])
def test_aodh_alarm_action_passes_the_alarm_as_keyword_arguments(
        api, webhook, alarm):
    execution = invoke(api, webhook, params={"state": "alarm"},
                       data=json.dumps(alarm), headers=AODH_HEADERS)

    assert output(execution) == {"args": [],
                                 "kwargs": dict(alarm, state="alarm")}


def test_zaqar_notification_passes_the_message_as_keyword_arguments(
        api, webhook):
    execution = invoke(api, webhook, data=ZAQAR_NOTIFICATION,
                       headers=ZAQAR_HEADERS)

    assert output(execution)["kwargs"] == {
        "ttl": 300, "Message_Type": "Notification", "queue_name": "fnq",
        "body": {"event": "BackupStarted",
                 "backup_id": "c378813c-3f0b-11e2-ad92"}}


def test_zaqar_post_data_template_shapes_the_arguments(api, webhook):
    execution = invoke(api, webhook, data=ZAQAR_POST_DATA,
                       headers=dict(ZAQAR_HEADERS, **{"X-Custom": "abc"}))

    assert output(execution)["kwargs"] == {
        "note": "via zaqar",
        "input": {"ttl": 300, "body": {"x": "y"},
                  "Message_Type": "Notification", "queue_name": "q2"}}


# Zaqar subscription confirmations, as Zaqar 23 with require_confirmation
# posts them.
ZAQAR_CONFIRMATION = {
    "Message_Type": "SubscriptionConfirmation",
    "Message": "You have chosen to subscribe to the queue: qc",
    "URL-Signature": "2fe4cd21", "URL-Methods": "PUT",
    "URL-Paths": "/v2/queues/qc/subscriptions/"
                 "d345cee0-cbed-4236-8bec-7256bbfbcb99/confirm",
    "X-Project-ID": "demo-project", "URL-Expires": "2026-11-23T14:40:22",
    "SubscribeBody": {"confirmed": True},
    "UnsubscribeBody": {"confirmed": False}, "queue_name": "qc"}


def test_zaqar_confirmation_never_runs_the_function(api, webhook,
                                                    nothing_left_behind):
    resp = requests.post(webhook["webhook_url"],
                         data=json.dumps(ZAQAR_CONFIRMATION),
                         headers=ZAQAR_HEADERS)

    assert resp.status_code == 200, resp.text
    assert resp.json()["confirmed"] is False
    assert "confirm_subscriptions" in resp.json()["message"]


def test_confirming_without_a_zaqar_endpoint_is_refused(
        api, echo, nothing_left_behind):
    webhook = api.post("/v1/webhooks", json={
        "function_id": echo["id"], "confirm_subscriptions": True}).json()
    try:
        assert_fault(requests.post(webhook["webhook_url"],
                                   json=ZAQAR_CONFIRMATION), 409,
                     "no Zaqar endpoint is configured")
        forged = dict(ZAQAR_CONFIRMATION, **{
            "URL-Paths": "/v2/queues/qc/messages"})
        assert_fault(requests.post(webhook["webhook_url"], json=forged),
                     400, "Not a Zaqar subscription confirmation")
    finally:
        api.delete("/v1/webhooks/%s" % webhook["id"])


@pytest.fixture
def ce_webhook(api, echo):
    resp = api.post("/v1/webhooks", json={"function_id": echo["id"],
                                          "event_format": "cloudevents"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["event_format"] == "cloudevents"
    assert resp.json()["confirm_subscriptions"] is False
    yield resp.json()
    api.delete("/v1/webhooks/%s" % resp.json()["id"])


def _event(execution):
    event = output(execution)["kwargs"]
    assert event["specversion"] == "1.0"
    assert event["id"] and event["time"].endswith("Z")
    return event


def test_cloudevents_format_describes_an_aodh_alarm(api, ce_webhook):
    event = _event(invoke(api, ce_webhook, params={"state": "alarm"},
                          data=json.dumps(AODH_EVENT_ALARM),
                          headers=AODH_HEADERS))

    assert event["type"] == "org.openstack.aodh.alarm"
    assert event["source"] == "/aodh/alarms/%s" % AODH_EVENT_ALARM[
        "alarm_id"]
    assert event["subject"] == "alarm"
    assert event["id"] == AODH_HEADERS["x-openstack-request-id"]
    assert event["datacontenttype"] == "application/json"
    assert event["data"] == AODH_EVENT_ALARM


def test_cloudevents_format_describes_a_zaqar_message(api, ce_webhook):
    event = _event(invoke(api, ce_webhook, data=ZAQAR_NOTIFICATION,
                          headers=ZAQAR_HEADERS))

    assert event["type"] == "org.openstack.zaqar.message"
    assert event["source"] == "/zaqar/queues/fnq"
    assert event["data"] == {"event": "BackupStarted",
                             "backup_id": "c378813c-3f0b-11e2-ad92"}


@pytest.mark.parametrize("kwargs, data, content_type", [
    ({"json": [1, 2]}, [1, 2], "application/json"),
    ({"data": "plain", "headers": {"Content-Type": "text/plain"}}, "plain",
     "text/plain"),
    ({"data": {"field": "v"}}, {"field": "v"}, "application/json"),
    ({"params": {"q": "1"}}, {"q": "1"}, "application/json"),
])
def test_cloudevents_format_describes_any_other_delivery(
        api, ce_webhook, kwargs, data, content_type):
    event = _event(invoke(api, ce_webhook, **kwargs))

    assert event["type"] == "org.openstack.qinling.webhook"
    assert event["source"] == "/v1/webhooks/%s" % ce_webhook["id"]
    assert event["data"] == data
    assert event["datacontenttype"] == content_type


BINARY_HEADERS = {"ce-specversion": "1.0", "ce-id": "A234-1234-1234",
                  "ce-source": "/mycontext", "ce-type": "com.example.thing",
                  "ce-time": "2018-04-05T17:31:00Z",
                  "ce-comexampleextension1": "value%20one"}


@pytest.mark.parametrize("event_format", ["raw", "cloudevents"])
def test_a_binary_mode_cloudevent_is_handed_over_as_an_event(
        api, echo, event_format):
    webhook = api.post("/v1/webhooks", json={
        "function_id": echo["id"], "event_format": event_format}).json()

    execution = invoke(api, webhook, json={"n": 1}, params={"q": "x"},
                       headers=BINARY_HEADERS)

    assert output(execution) == {"args": [], "kwargs": {
        "specversion": "1.0", "id": "A234-1234-1234",
        "source": "/mycontext", "type": "com.example.thing",
        "time": "2018-04-05T17:31:00Z", "comexampleextension1": "value one",
        "datacontenttype": "application/json", "data": {"n": 1}}}
    api.delete("/v1/webhooks/%s" % webhook["id"])


def test_a_structured_mode_cloudevent_is_handed_over_as_an_event(
        api, ce_webhook):
    event = {"specversion": "1.0", "id": "e-1", "source": "/s",
             "type": "t", "data": {"k": [1]}}

    execution = invoke(api, ce_webhook, data=json.dumps(event),
                       headers={"Content-Type":
                                "application/cloudevents+json"})

    assert output(execution)["kwargs"] == event


def test_binary_cloudevent_data_that_is_not_text_is_base64(api,
                                                           ce_webhook):
    execution = invoke(api, ce_webhook, data=b"\xff\x00",
                       headers=dict(BINARY_HEADERS, **{
                           "Content-Type": "application/octet-stream"}))

    assert output(execution)["kwargs"]["data_base64"] == "/wA="


@pytest.mark.parametrize("kwargs, message", [
    ({"headers": {"ce-specversion": "1.0", "ce-id": "x"}},
     "The CloudEvent lacks the attribute(s): source, type."),
    ({"headers": dict(BINARY_HEADERS, **{"ce-specversion": "0.3"})},
     "CloudEvents specversion '0.3' is not supported; use 1.0."),
    ({"data": "[]", "headers": {
        "Content-Type": "application/cloudevents+json"}},
     "A structured CloudEvent must be a JSON object."),
    ({"data": "{", "headers": {
        "Content-Type": "application/cloudevents+json"}},
     "Malformed JSON body"),
    ({"data": "[]", "headers": {
        "Content-Type": "application/cloudevents-batch+json"}},
     "A batch of CloudEvents is not supported"),
])
def test_bad_cloudevent_is_refused(api, ce_webhook, kwargs, message,
                                   nothing_left_behind):
    assert_fault(requests.post(ce_webhook["webhook_url"], **kwargs), 400,
                 message)


@pytest.mark.parametrize("body, message", [
    ({"event_format": "xml"}, "event_format must be one of: raw, "
                              "cloudevents."),
    ({"confirm_subscriptions": "maybe"}, "confirm_subscriptions"),
])
def test_bad_delivery_options_are_refused(api, echo, webhook, body, message,
                                          nothing_left_behind):
    assert_fault(api.post("/v1/webhooks", json=dict(
        body, function_id=echo["id"])), 400, message)
    assert_fault(api.http.put(api.url + "/v1/webhooks/%s" % webhook["id"],
                              json=body), 400, message)


def test_delivery_options_are_updated(api, webhook):
    url = api.url + "/v1/webhooks/%s" % webhook["id"]

    resp = api.http.put(url, json={"event_format": "cloudevents",
                                   "confirm_subscriptions": True})

    assert resp.status_code == 200, resp.text
    assert resp.json()["event_format"] == "cloudevents"
    assert resp.json()["confirm_subscriptions"] is True
    assert webhook["event_format"] == "raw"
    assert webhook["confirm_subscriptions"] is False


def test_a_burst_is_refused_with_429_once_the_function_is_busy(
        bounded_server):
    api = api_client.Api(bounded_server.url)
    runtime = api.create_runtime()
    sleepy = api.create_function(runtime["id"],
                                 api_client.sample_zip("sleepy"))
    webhook = api.post("/v1/webhooks", json={
        "function_id": sleepy["id"]}).json()

    answers = [requests.post(webhook["webhook_url"], json={"seconds": 3},
                             timeout=30) for _ in range(4)]

    assert [r.status_code for r in answers] == [202, 202, 429, 429]
    assert answers[2].headers["Retry-After"] == "1"
    assert_fault(answers[3], 429, "Function %s has 2 executions running"
                 % sleepy["id"])
    executions = api.get("/v1/executions", params={
        "description": "has:%s" % webhook["id"]}).json()["executions"]
    assert len(executions) == 2
    for answer in answers[:2]:
        assert api.wait_execution(answer.json()["execution_id"])[
            "status"] == "success"
    assert requests.post(webhook["webhook_url"], json={"seconds": 0},
                         timeout=30).status_code == 202


def _sqlite(server):
    return sqlite3.connect(
        os.path.join(server.workdir, "state", "qinling.sqlite"), timeout=10)


def test_webhook_without_a_version_runs_version_zero(api, server, webhook):
    # Upstream stored NULL when function_version was left out, then
    # crashed on invoke (its bug 9); such rows still run version 0.
    with _sqlite(server) as db:
        db.execute("UPDATE webhooks SET function_version = NULL "
                   "WHERE id = ?", (webhook["id"],))
    assert api.get("/v1/webhooks/%s" % webhook["id"]).json()[
        "function_version"] is None

    execution = invoke(api, webhook, json={"a": 1})

    assert execution["function_version"] == 0
    assert output(execution)["kwargs"] == {"a": 1}


def test_webhook_on_an_alias_runs_what_the_alias_points_to(api, echo):
    alias = api.post("/v1/aliases", json={
        "name": "webhook-alias", "function_id": echo["id"]}).json()
    resp = api.post("/v1/webhooks", json={"function_alias": alias["name"]})
    assert resp.status_code == 201, resp.text
    webhook = resp.json()
    assert (webhook["function_id"], webhook["function_version"],
            webhook["function_alias"]) == (None, None, "webhook-alias")

    # A description-only update keeps the alias (upstream answered 404).
    resp = api.http.put(api.url + "/v1/webhooks/%s" % webhook["id"],
                        json={"description": "via alias"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["function_alias"] == "webhook-alias"

    execution = invoke(api, webhook, json={"x": 1})

    assert execution["function_alias"] == "webhook-alias"
    assert execution["function_id"] == echo["id"]
    api.delete("/v1/webhooks/%s" % webhook["id"])
    api.delete("/v1/aliases/webhook-alias")


def test_updating_the_function_moves_the_webhook(api, runtime, webhook):
    other = api.create_function(runtime["id"], api_client.sample_zip("echo"))

    resp = api.http.put(api.url + "/v1/webhooks/%s" % webhook["id"],
                        json={"function_id": other["id"]})

    assert resp.status_code == 200, resp.text
    assert resp.json()["function_id"] == other["id"]
    assert invoke(api, webhook)["function_id"] == other["id"]


def test_webhooks_are_paged_with_a_next_link(api, echo):
    made = [api.post("/v1/webhooks", json={
        "function_id": echo["id"], "description": "paged-%d" % i}).json()
        for i in range(3)]

    first = api.get("/v1/webhooks", params={
        "description": "has:paged-", "limit": 2, "sort_key": "description",
        "sort_dir": "desc"}).json()
    assert [w["description"] for w in first["webhooks"]] == [
        "paged-2", "paged-1"]
    second = api.http.get(first["next"]).json()
    assert [w["description"] for w in second["webhooks"]] == ["paged-0"]
    assert "next" not in second
    for webhook in made:
        api.delete("/v1/webhooks/%s" % webhook["id"])


def test_admin_lists_by_project(api, webhook):
    # With auth off every caller is an admin of the project "default".
    everywhere = api.get("/v1/webhooks", params={"all_projects": "true"})
    elsewhere = api.get("/v1/webhooks", params={"project_id": "other"})

    assert webhook["id"] in [w["id"] for w in everywhere.json()["webhooks"]]
    assert elsewhere.json()["webhooks"] == []


@pytest.mark.parametrize("body, status, message", [
    ({}, 400, "Either function_alias or function_id must be provided."),
    ({"description": "x"}, 400,
     "Either function_alias or function_id must be provided."),
    ({"function_id": UNKNOWN_ID}, 404,
     "Function not found [id=%s]" % UNKNOWN_ID),
    ({"function_alias": "no-such-alias"}, 404,
     "FunctionAlias not found [name=no-such-alias]"),
    ({"function_id": "ECHO", "function_version": 7}, 404,
     "FunctionVersion not found"),
    ({"function_id": "ECHO", "function_version": -1}, 400,
     "function_version must be 0 or a positive integer."),
    ({"function_id": "ECHO", "function_alias": "a"}, 400,
     "Give either function_alias or function_id"),
    ({"function_id": "ECHO", "description": "d" * 256}, 400,
     "description is longer than 255 bytes."),
    ({"function_id": "ECHO", "colour": "blue"}, 400, "colour"),
    ({"function_id": "ECHO", "webhook_url": "http://x"}, 400, "read only"),
])
def test_bad_webhook_is_refused(api, echo, body, status, message,
                                nothing_left_behind):
    body = {k: echo["id"] if v == "ECHO" else v for k, v in body.items()}

    assert_fault(api.post("/v1/webhooks", json=body), status, message)


def test_bad_webhook_update_is_refused(api, webhook, nothing_left_behind):
    url = api.url + "/v1/webhooks/%s" % webhook["id"]

    assert_fault(api.http.put(url, json={"function_id": UNKNOWN_ID}), 404,
                 "Function not found")
    assert_fault(api.http.put(url, json={"function_version": 3}), 404,
                 "FunctionVersion not found")
    assert_fault(api.http.put(url + "x", json={}), 400,
                 "Expected a uuid")
    assert_fault(api.http.put(api.url + "/v1/webhooks/%s" % UNKNOWN_ID,
                              json={"description": "x"}), 404,
                 "Webhook not found")
    assert api.get("/v1/webhooks/%s" % webhook["id"]).json() == webhook


@pytest.mark.parametrize("kwargs, status, message", [
    ({"data": "{not json", "headers": {"Content-Type": "application/json"}},
     400, "Malformed JSON body"),
    ({"data": "[" * 100000, "headers": {"Content-Type": "application/json"}},
     400, "Malformed JSON body: nested too deeply."),
    ({"data": b"\xff\xfe", "headers": {"Content-Type": "text/plain"}},
     400, "The request body is not text in its charset (UTF-8)."),
    ({"files": {"f": ("a.txt", b"abc")}}, 400,
     "Webhook input cannot contain files (field 'f')."),
    ({"data": b"x" * (1024 * 1024 + 1),
      "headers": {"Content-Type": "text/plain"}}, 413,
     "The request body is larger than the limit of 1048576 bytes."),
    ({"data": iter([b"x" * 1024] * 1025),
      "headers": {"Content-Type": "text/plain"}}, 413,
     "The request body is larger than the limit of 1048576 bytes."),
])
def test_bad_invocation_is_refused(api, webhook, kwargs, status, message,
                                   nothing_left_behind):
    assert_fault(requests.post(webhook["webhook_url"], **kwargs), status,
                 message)


def test_invoking_an_unknown_webhook_is_404(api, nothing_left_behind):
    for webhook_id in (UNKNOWN_ID, "not-a-uuid"):
        assert_fault(api.post("/v1/webhooks/%s/invoke" % webhook_id,
                              json={"a": 1}), 404,
                     "Webhook not found [id=%s]" % webhook_id)


def test_invoking_a_webhook_whose_function_is_gone_is_404(
        api, server, nothing_left_behind, webhook):
    with _sqlite(server) as db:
        db.execute("UPDATE webhooks SET function_id = ? WHERE id = ?",
                   (UNKNOWN_ID, webhook["id"]))

    assert_fault(requests.post(webhook["webhook_url"], json={}), 404,
                 "Function not found [id=%s]" % UNKNOWN_ID)
    api.delete("/v1/webhooks/%s" % webhook["id"])


def test_invocation_answers_before_the_function_ends(api, runtime):
    sleepy = api.create_function(runtime["id"],
                                 api_client.sample_zip("sleepy"))
    webhook = api.post("/v1/webhooks", json={
        "function_id": sleepy["id"]}).json()

    resp = requests.post(webhook["webhook_url"], json={"seconds": 3})

    assert resp.status_code == 202
    execution = api.get("/v1/executions/%s" % resp.json()[
        "execution_id"]).json()
    assert execution["status"] == "running"
    assert api.wait_execution(execution["id"])["status"] == "success"


# With Keystone auth on: webhooks are their project's, invoking needs no
# token.

class Caller:
    """Requests to the API as one user (no token: anonymous)."""

    def __init__(self, url, token=None):
        self.url = url
        self.http = requests.Session()
        if token:
            self.http.headers["X-Auth-Token"] = token

    def __call__(self, method, path, **kwargs):
        return self.http.request(method, self.url + path, timeout=60,
                                 **kwargs)


@pytest.fixture(scope="module")
def users(auth_server, keystone):
    return {name: Caller(auth_server.url, keystone.token(name))
            for name in ("user-a", "user-b", "admin")}


@pytest.fixture(scope="module")
def owned_function(users):
    """A runtime (made by admin) and a function of user-a's project."""
    admin, owner = users["admin"], users["user-a"]
    resp = admin("POST", "/v1/runtimes", json={"image": "python3"})
    assert resp.status_code == 201, resp.text
    waiter = api_client.Api(admin.url)
    waiter.http = admin.http
    assert waiter.wait_runtime(resp.json()["id"])["status"] == "available"
    resp = owner("POST", "/v1/functions", data={
        "runtime_id": resp.json()["id"], "entry": "main.main",
        "code": json.dumps({"source": "package"})},
        files={"package": ("p.zip", api_client.sample_zip("echo"))})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_with_auth_a_webhook_is_its_projects_and_needs_no_token_to_run(
        users, owned_function, keystone):
    owner, other, admin = users["user-a"], users["user-b"], users["admin"]
    resp = owner("POST", "/v1/webhooks",
                 json={"function_id": owned_function["id"]})
    assert resp.status_code == 201, resp.text
    webhook = resp.json()
    path = "/v1/webhooks/%s" % webhook["id"]
    assert webhook["project_id"] == keystone.projects["project-a"]

    assert Caller(owner.url)("GET", "/v1/webhooks").status_code == 401
    assert other("GET", path).status_code == 404
    assert other("PUT", path, json={"description": "x"}).status_code == 404
    assert other("DELETE", path).status_code == 404
    assert other("POST", "/v1/webhooks", json={
        "function_id": owned_function["id"]}).status_code == 404
    assert webhook["id"] not in [w["id"] for w in other(
        "GET", "/v1/webhooks").json()["webhooks"]]
    assert other("GET", "/v1/webhooks",
                 params={"all_projects": "true"}).status_code == 403
    assert webhook["id"] in [w["id"] for w in admin(
        "GET", "/v1/webhooks", params={"all_projects": "true"}).json()[
        "webhooks"]]

    resp = requests.post(webhook["webhook_url"], json={"who": "anyone"},
                         timeout=60)

    assert resp.status_code == 202, resp.text
    waiter = api_client.Api(owner.url)
    waiter.http = owner.http
    execution = waiter.wait_execution(resp.json()["execution_id"])
    assert execution["status"] == "success", execution
    assert execution["project_id"] == keystone.projects["project-a"]
    assert output(execution)["kwargs"] == {"who": "anyone"}

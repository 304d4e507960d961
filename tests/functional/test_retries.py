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
"""Async retries and the on_failure destination, through the API.

(Function show and update are sent without an Accept header, as
python-qinlingclient sends them.)
"""

import json
import time
import uuid

import requests

from tests.functional import api as api_client

JSON = {"Accept": "application/json"}


def _function(api, runtime, sample, **fields):
    return api.create_function(runtime["id"], api_client.sample_zip(sample),
                               **fields)


def _executions_of(api, function_id, timeout=90):
    """The ended executions of a function, once there is one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ended = [e for e in api.get("/v1/executions", params={
            "function_id": function_id}, headers=JSON).json()["executions"]
            if e["status"] != "running"]
        if ended:
            return ended
        time.sleep(0.2)
    raise AssertionError("no execution of %s ended" % function_id)


def test_a_failing_async_execution_is_retried_then_handed_to_on_failure(
        api, runtime):
    destination = _function(api, runtime, "echo")
    failing = _function(api, runtime, "failing", retry_attempts=2,
                        on_failure=destination["id"])
    assert (failing["retry_attempts"], failing["on_failure"]) == (
        2, destination["id"])

    execution = api.execute(failing["id"], input='{"order": 42}',
                            sync=False)
    final = api.wait_execution(execution["id"], timeout=90)

    assert final["status"] == "failed", final
    assert final["attempts"] == 3, final
    [delivered] = _executions_of(api, destination["id"])
    assert delivered["status"] == "success", delivered
    event = json.loads(delivered["result"])["output"]["kwargs"]
    assert event["execution_id"] == execution["id"]
    assert event["function_id"] == failing["id"]
    assert event["status"] == "failed"
    assert event["attempts"] == 3
    assert event["input"] == {"order": 42}
    assert "this function always fails" in event["result"]["output"]


def test_a_sync_execution_is_never_retried(api, runtime):
    failing = _function(api, runtime, "failing", retry_attempts=2)

    final = api.execute(failing["id"], sync=True)

    assert (final["status"], final["attempts"]) == ("failed", 1), final


def test_retry_settings_are_shown_and_updated(api, runtime):
    destination = _function(api, runtime, "echo")
    function = _function(api, runtime, "echo", max_event_age=600)

    resp = api.http.put(api.url + "/v1/functions/%s" % function["id"],
                        data={"retry_attempts": "1",
                              "on_failure": destination["id"]})
    assert resp.status_code == 200, resp.text
    shown = api.get("/v1/functions/%s" % function["id"]).json()

    assert (shown["retry_attempts"], shown["max_event_age"],
            shown["on_failure"]) == (1, 600, destination["id"])


def test_bad_retry_settings_are_refused_with_the_field_named(api, runtime):
    function = _function(api, runtime, "echo")
    cases = [
        ({"retry_attempts": "3"},
         "Invalid retry_attempts: expected an integer from 0 to 2."),
        ({"max_event_age": "10"},
         "Invalid max_event_age: expected an integer from 60 to 21600."),
        ({"on_failure": "not-a-function"},
         "Invalid on_failure 'not-a-function': expected the id of a "
         "function, or zaqar:<queue name>."),
        ({"on_failure": "zaqar:bad queue"},
         "Invalid on_failure 'zaqar:bad queue': a Zaqar queue name has 1 "
         "to 64 letters, digits, '-' or '_'."),
        ({"on_failure": "zaqar:failures"},
         "Invalid on_failure: no Zaqar endpoint is configured "
         "([webhooks]zaqar_url)."),
        ({"on_failure": "0b8e4cb6-6f47-4a7b-9c52-0e0cbc7b9a10"},
         "Invalid on_failure: function "
         "0b8e4cb6-6f47-4a7b-9c52-0e0cbc7b9a10 not found."),
        ({"on_failure": function["id"]},
         "Invalid on_failure: a function cannot receive its own failures."),
    ]
    for fields, message in cases:
        resp = api.http.put(api.url + "/v1/functions/%s" % function["id"],
                            data=fields)
        assert resp.status_code == 400, (fields, resp.text)
        assert resp.json()["faultstring"] == message


def test_a_final_failure_can_go_to_a_zaqar_queue(zaqar, zaqar_server):
    api = api_client.Api(zaqar_server.url)
    runtime = api.create_runtime()
    queue = "failures-%s" % uuid.uuid4().hex[:8]
    failing = _function(api, runtime, "failing",
                        on_failure="zaqar:" + queue)

    execution = api.execute(failing["id"], input='{"order": 7}', sync=False)
    final = api.wait_execution(execution["id"], timeout=60)

    assert final["status"] == "failed", final
    # Without auth the function's project is "default".
    headers = {"Client-ID": str(uuid.uuid4()), "X-Project-ID": "default"}
    deadline = time.monotonic() + 30
    messages = []
    while time.monotonic() < deadline and not messages:
        resp = requests.get("%s/v2/queues/%s/messages" % (zaqar.url, queue),
                            headers=headers, params={"echo": "true"},
                            timeout=10)
        if resp.status_code == 200:
            messages = resp.json()["messages"]
        time.sleep(0.2)
    [message] = messages
    assert message["body"]["execution_id"] == execution["id"]
    assert message["body"]["input"] == {"order": 7}
    assert message["body"]["status"] == "failed"

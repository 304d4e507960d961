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
"""Requests as other clients send them: the Accept headers of tempest's
REST client and of SDKs, and the repeated DELETEs of test clean-ups."""

import json
import time

import pytest

from tests.functional import api as api_client

JSON = {"Accept": "application/json"}
TEXT = {"Accept": "text/plain"}


@pytest.fixture(scope="module")
def echo(api, runtime):
    return api.create_function(runtime["id"], api_client.sample_zip("echo"))


@pytest.mark.parametrize("accept", [
    "application/json",
    "*/*",
    "application/json, text/plain, */*",
    "application/json;q=0.9, */*;q=0.1",
    "text/html, application/json;q=0.5",
])
def test_function_create_show_and_update_honour_accept(api, runtime,
                                                       accept):
    headers = {"Accept": accept}
    resp = api.post("/v1/functions", headers=headers, data={
        "runtime_id": runtime["id"],
        "code": json.dumps({"source": "package"})},
        files={"package": ("p.zip", api_client.sample_zip("echo"))})
    assert resp.status_code == 201, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    function_id = resp.json()["id"]

    shown = api.get("/v1/functions/%s" % function_id, headers=headers)
    updated = api.http.put(api.url + "/v1/functions/%s" % function_id,
                           headers=headers, data={"name": "renamed"})

    assert shown.status_code == 200, shown.text
    assert shown.json()["id"] == function_id
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "renamed"
    assert api.delete("/v1/functions/%s" % function_id,
                      headers=headers).status_code == 204


def test_function_download_answers_a_zip_to_any_accept(api, echo):
    for headers in ({"Accept": "application/zip"}, {"Accept": "*/*"}):
        resp = api.get("/v1/functions/%s?download=true" % echo["id"],
                       headers=headers)

        assert resp.status_code == 200, resp.text
        assert resp.headers["Content-Type"] == "application/zip"
        assert resp.content[:2] == b"PK"


@pytest.mark.parametrize("accept", ["text/plain", "*/*",
                                    "text/plain, */*;q=0.5"])
def test_execution_log_honours_accept_text_plain(api, echo, accept):
    execution = api.execute(echo["id"])

    resp = api.get("/v1/executions/%s/log" % execution["id"],
                   headers={"Accept": accept})

    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert "Finished execution: %s" % execution["id"] in resp.text


def test_version_show_honours_accept_json(api, echo):
    created = api.post("/v1/functions/%s/versions" % echo["id"], json={},
                       headers=JSON)
    assert created.status_code == 201, created.text
    number = created.json()["version_number"]

    resp = api.get("/v1/functions/%s/versions/%d" % (echo["id"], number),
                   headers=JSON)

    assert resp.status_code == 200, resp.text
    assert resp.json()["version_number"] == number


def test_webhook_invocation_honours_accept_json(api, echo):
    webhook = api.post("/v1/webhooks", json={"function_id": echo["id"]},
                       headers=JSON).json()

    resp = api.post("/v1/webhooks/%s/invoke" % webhook["id"],
                    json={"name": "x"}, headers=JSON)

    assert resp.status_code == 202, resp.text
    assert resp.json()["execution_id"]


def test_errors_of_plain_endpoints_are_json_faults_for_json_clients(api):
    resp = api.get("/v1/functions/3f2504e0-4f89-11d3-9a0c-0305e82c3301",
                   headers=JSON)

    assert resp.status_code == 404
    assert resp.json()["faultstring"].startswith("Function not found")


def test_an_accept_nothing_matches_is_a_json_406(api, echo):
    resp = api.get("/v1/executions", headers=TEXT)

    assert resp.status_code == 406
    assert resp.headers["Content-Type"].startswith("application/json")
    assert resp.json()["faultstring"] == "Not Acceptable"


def _delete_twice(api, path):
    first = api.delete(path, headers=JSON)
    second = api.delete(path, headers=JSON)
    return first, second


def test_a_runtime_deleted_twice_answers_204_then_204_or_404(api):
    runtime = api.create_runtime()
    path = "/v1/runtimes/%s" % runtime["id"]

    first, second = _delete_twice(api, path)

    assert first.status_code == 204, first.text
    # 204 while the engine is still deleting it, 404 once it is gone.
    assert second.status_code in (204, 404), second.text
    deadline = time.monotonic() + 60
    while api.get(path).status_code != 404 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert api.delete(path).status_code == 404


@pytest.mark.parametrize("create, path", [
    (lambda api, fid: api.post("/v1/executions",
                               json={"function_id": fid}).json()["id"],
     "/v1/executions/%s"),
    (lambda api, fid: api.post("/v1/jobs", json={
        "function_id": fid, "pattern": "0 0 1 1 *"}).json()["id"],
     "/v1/jobs/%s"),
    (lambda api, fid: api.post("/v1/webhooks",
                               json={"function_id": fid}).json()["id"],
     "/v1/webhooks/%s"),
    (lambda api, fid: api.post("/v1/aliases", json={
        "name": "twice", "function_id": fid}).json()["name"],
     "/v1/aliases/%s"),
])
def test_other_resources_deleted_twice_answer_204_then_404(api, echo,
                                                           create, path):
    path = path % create(api, echo["id"])

    first, second = _delete_twice(api, path)

    assert first.status_code == 204, first.text
    assert second.status_code == 404, second.text
    assert second.json()["faultstring"]


def test_a_function_deleted_twice_answers_204_then_404(api, runtime):
    function = api.create_function(runtime["id"],
                                   api_client.sample_zip("echo"))

    first, second = _delete_twice(api, "/v1/functions/%s" % function["id"])

    assert first.status_code == 204, first.text
    assert second.status_code == 404, second.text

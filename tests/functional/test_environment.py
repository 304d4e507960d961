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
"""A function's environment variables: set, seen, changed and snapshotted
through the API, seen by that function's executions and no other's."""

import json
import os
import uuid

import pytest

from tests.functional import api as api_client

JSON = {"Accept": "application/json"}
NAMES = ["GREETING", "DB_HOST"]


def _seen(api, function_id, version=0, names=NAMES):
    resp = api.post("/v1/executions", headers=JSON, json={
        "function_id": function_id, "function_version": version,
        "input": json.dumps({"names": names})})
    assert resp.status_code == 201, resp.text
    execution = resp.json()
    assert execution["status"] == "success", execution
    return json.loads(execution["result"])["output"]


def _create(api, runtime, package, expect=201, entry="main.main", **fields):
    data = {"runtime_id": runtime["id"], "entry": entry,
            "code": json.dumps({"source": "package"})}
    data.update(fields)
    resp = api.post("/v1/functions", headers=JSON, data=data,
                    files={"package": ("package.zip", package)})
    assert resp.status_code == expect, resp.text
    return resp.json()


def _update(api, function_id, **fields):
    return api.http.put(api.url + "/v1/functions/%s" % function_id,
                        headers=JSON, json=fields)


def test_a_function_sees_its_environment_and_no_other_function_does(
        api, runtime):
    package = api_client.sample_zip("environment")
    function = _create(api, runtime, package, environment=json.dumps(
        {"GREETING": "hello", "DB_HOST": "db.example.org"}))
    other = _create(api, runtime, package)

    assert function["environment"] == {"GREETING": "hello",
                                       "DB_HOST": "db.example.org"}
    assert other["environment"] == {}
    shown = api.get("/v1/functions/%s" % function["id"], headers=JSON).json()
    assert shown["environment"] == function["environment"]
    listed = api.get("/v1/functions", headers=JSON).json()["functions"]
    assert [f["environment"] for f in listed
            if f["id"] == function["id"]] == [function["environment"]]

    assert _seen(api, function["id"]) == {"GREETING": "hello",
                                          "DB_HOST": "db.example.org"}
    # Neither the other function nor a later execution of it inherits
    # anything from the first function's executions.
    assert _seen(api, other["id"]) == {"GREETING": None, "DB_HOST": None}
    assert _seen(api, function["id"]) == {"GREETING": "hello",
                                          "DB_HOST": "db.example.org"}
    assert _seen(api, other["id"]) == {"GREETING": None, "DB_HOST": None}


def test_an_update_changes_the_environment_and_a_version_keeps_its_own(
        api, runtime):
    function = _create(api, runtime, api_client.sample_zip("environment"),
                       environment=json.dumps({"GREETING": "v1"}))
    resp = api.post("/v1/functions/%s/versions" % function["id"],
                    headers=JSON, json={"description": "first"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["environment"] == {"GREETING": "v1"}

    resp = _update(api, function["id"],
                   environment={"GREETING": "v2", "DB_HOST": "h"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["environment"] == {"GREETING": "v2", "DB_HOST": "h"}

    assert _seen(api, function["id"]) == {"GREETING": "v2", "DB_HOST": "h"}
    assert _seen(api, function["id"], version=1) == {"GREETING": "v1",
                                                     "DB_HOST": None}
    version = api.get("/v1/functions/%s/versions/1" % function["id"],
                      headers=JSON).json()
    assert version["environment"] == {"GREETING": "v1"}

    # A multipart update takes it as a JSON string; "{}" clears it.
    resp = api.http.put(api.url + "/v1/functions/%s" % function["id"],
                        headers=JSON, data={"environment": "{}"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["environment"] == {}
    assert _seen(api, function["id"]) == {"GREETING": None, "DB_HOST": None}


@pytest.mark.parametrize("environment, message", [
    ({"1ABC": "x"}, "Invalid environment variable name '1ABC'"),
    ({"A-B": "x"}, "Invalid environment variable name 'A-B'"),
    ({"PATH": "/tmp"}, "Invalid environment variable name 'PATH': the "
                       "name is reserved"),
    ({"LD_PRELOAD": "x.so"}, "'LD_PRELOAD': the name is reserved"),
    ({"QINLING_SLOT_FDS": "3"}, "'QINLING_SLOT_FDS': the name is reserved"),
    ({"A": 1}, "Invalid value of environment variable A: expected a "
               "string."),
    ({"A": "x" * 4096}, "The environment takes 4097 bytes, more than the "
                        "limit of 4096 bytes"),
    (["A"], "Invalid environment: expected a JSON object"),
    ("not json", "Invalid environment: expected a JSON object"),
])
def test_a_bad_environment_is_refused_and_leaves_nothing_behind(
        api, runtime, environment, message):
    name = "env-" + uuid.uuid4().hex
    raw = environment if isinstance(environment, str) else \
        json.dumps(environment)
    resp = api.post("/v1/functions", headers=JSON, data={
        "runtime_id": runtime["id"], "name": name, "environment": raw,
        "code": json.dumps({"source": "package"})},
        files={"package": ("p.zip", api_client.sample_zip("environment"))})
    assert resp.status_code == 400, resp.text
    assert message in resp.json()["faultstring"]
    listed = api.get("/v1/functions", headers=JSON,
                     params={"name": name}).json()["functions"]
    assert listed == []

    # An update is refused the same way and changes nothing.
    function = _create(api, runtime, api_client.sample_zip("environment"),
                       environment=json.dumps({"GREETING": "kept"}))
    if not isinstance(environment, str):
        resp = _update(api, function["id"], environment=environment)
        assert resp.status_code == 400, resp.text
        # A JSON body's field of the wrong JSON type is named as such.
        assert (message if isinstance(environment, dict) else
                "Invalid input for field environment: expected a string or "
                "an object, got an array.") in resp.json()["faultstring"]
    resp = api.http.put(api.url + "/v1/functions/%s" % function["id"],
                        headers=JSON, data={"environment": raw})
    assert resp.status_code == 400, resp.text
    assert message in resp.json()["faultstring"]
    shown = api.get("/v1/functions/%s" % function["id"], headers=JSON).json()
    assert shown["environment"] == {"GREETING": "kept"}
    api.delete("/v1/functions/%s" % function["id"])


@pytest.fixture(scope="module")
def nodejs(api):
    resp = api.post("/v1/runtimes", headers=JSON, json={
        "image": "openstackqinling/nodejs-runtime", "name": "nodejs"})
    assert resp.status_code == 201, resp.text
    runtime = api.wait_runtime(resp.json()["id"])
    assert runtime["status"] == "available", runtime
    return runtime


def test_a_nodejs_function_sees_its_environment_in_process_env(api, nodejs):
    with open(os.path.join(api_client.FUNCTIONS_DIR, "nodejs",
                           "environment.js")) as f:
        package = api_client.make_zip({"environment.js": f.read()})
    function = _create(api, nodejs, package, entry="environment.main",
                       environment=json.dumps({"GREETING": "from node"}))
    other = _create(api, nodejs, package, entry="environment.main")

    assert _seen(api, function["id"]) == {"GREETING": "from node",
                                          "DB_HOST": None}
    assert _seen(api, other["id"]) == {"GREETING": None, "DB_HOST": None}

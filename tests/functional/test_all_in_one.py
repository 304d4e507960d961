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
"""The all-in-one server: the resources' wire format and behaviour."""

import json
import time

from tests.functional import api as api_client


def test_root_lists_version_one(api):
    resp = api.get("/")

    assert resp.status_code == 200
    assert resp.json() == {"versions": [{
        "id": "v1.0", "status": "CURRENT",
        "links": [{"href": api.url + "/v1", "target": "v1",
                   "rel": "self"}]}]}
    assert api.get("/v1/").json() == {"uri": api.url + "/v1"}


def test_runtime_is_listed_shown_and_deleted(api):
    runtime = api.create_runtime()

    listed = api.get("/v1/runtimes").json()["runtimes"]
    assert runtime["id"] in [r["id"] for r in listed]
    shown = api.get("/v1/runtimes/%s" % runtime["id"]).json()
    assert shown["image"] == "openstackqinling/python3-runtime"
    assert shown["is_public"] is True and shown["trusted"] is True
    assert shown["project_id"] == "default"
    assert shown["created_at"].endswith("Z") and "T" in shown["created_at"]

    assert api.delete("/v1/runtimes/%s" % runtime["id"]).status_code == 204
    deadline = time.monotonic() + 30
    while api.get("/v1/runtimes/%s" % runtime["id"]).status_code != 404:
        assert time.monotonic() < deadline, "runtime never went away"
        time.sleep(0.05)


def test_runtime_with_unknown_image_goes_to_error_with_the_reason(api):
    runtime = api.create_runtime(image="example.com/unknown:1.0")

    assert runtime["status"] == "error"
    assert "example.com/unknown:1.0" in runtime["status_reason"]
    assert "not supported" in runtime["status_reason"]


def test_function_is_shown_listed_downloaded_and_deleted(api, runtime):
    package = api_client.sample_zip("hello_world")
    function = api.create_function(runtime["id"], package, name="hello",
                                   description="says hello", timeout=7)

    assert function["code"]["source"] == "package"
    assert len(function["code"]["md5sum"]) == 32
    assert function["entry"] == "main.main"
    assert function["timeout"] == 7
    assert function["cpu"] == 100 and function["memory_size"] == 33554432
    shown = api.get("/v1/functions/%s" % function["id"]).json()
    assert shown["code"] == function["code"]
    listed = api.get("/v1/functions").json()["functions"]
    in_list = [f for f in listed if f["id"] == function["id"]][0]
    assert json.loads(in_list["code"]) == function["code"]

    download = api.get("/v1/functions/%s?download=true" % function["id"])
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/zip"
    assert download.content == package

    assert api.delete("/v1/functions/%s" % function["id"]).status_code == 204
    assert api.get("/v1/functions/%s" % function["id"]).status_code == 404


def test_runtime_in_use_cannot_be_deleted(api, runtime):
    api.create_function(runtime["id"], api_client.sample_zip("hello_world"))

    resp = api.delete("/v1/runtimes/%s" % runtime["id"])

    assert resp.status_code == 403
    assert resp.json()["faultstring"] == \
        "Runtime %s is still in use." % runtime["id"]


def test_input_kinds_reach_the_function_as_upstream_defines(api, runtime):
    function = api.create_function(runtime["id"],
                                   api_client.sample_zip("echo"))

    def output(input):
        execution = api.execute(function["id"], input=input)
        assert execution["status"] == "success", execution
        return json.loads(execution["result"])["output"]

    assert output('{"a": 1, "b": "x"}') == {"args": [],
                                           "kwargs": {"a": 1, "b": "x"}}
    assert output("plain text") == {"args": ["plain text"], "kwargs": {}}
    assert output("[1, 2]") == {"args": ["[1, 2]"], "kwargs": {}}
    assert output("1.5") == {"args": ["1.5"], "kwargs": {}}
    assert output({"a": 2}) == {"args": [], "kwargs": {"a": 2}}


def test_execution_input_is_shown_as_sent(api, runtime):
    function = api.create_function(runtime["id"],
                                   api_client.sample_zip("echo"))

    raw = api.execute(function["id"], input="plain text")
    obj = api.execute(function["id"], input='{"a": 1}')

    assert raw["input"] == "plain text"
    assert json.loads(obj["input"]) == {"a": 1}


def test_logs_hold_stdout_and_stderr(api, runtime):
    function = api.create_function(runtime["id"],
                                   api_client.sample_zip("echo"))

    execution = api.execute(function["id"], input="x")

    log = api.get("/v1/executions/%s/log" % execution["id"]).text
    assert "args=('x',)" in log
    assert "to stderr" in log


def test_executions_are_listed_filtered_and_deleted(api, runtime):
    function = api.create_function(runtime["id"],
                                   api_client.sample_zip("hello_world"))
    first = api.execute(function["id"])
    api.execute(function["id"])

    listed = api.get("/v1/executions",
                     params={"function_id": function["id"]}).json()
    assert len(listed["executions"]) == 2
    assert api.get("/v1/functions/%s" % function["id"]).json()["count"] == 2

    assert api.delete("/v1/executions/%s" % first["id"]).status_code == 204
    assert api.get("/v1/executions/%s" % first["id"]).status_code == 404
    listed = api.get("/v1/executions",
                     params={"function_id": function["id"]}).json()
    assert len(listed["executions"]) == 1


def test_concurrent_sync_executions_all_succeed(api, runtime):
    from concurrent import futures
    function = api.create_function(runtime["id"],
                                   api_client.sample_zip("sleepy"))

    with futures.ThreadPoolExecutor(6) as pool:
        results = list(pool.map(
            lambda i: api_client.Api(api.url).execute(
                function["id"], input='{"seconds": 0.3}'), range(6)))

    assert [r["status"] for r in results] == ["success"] * 6

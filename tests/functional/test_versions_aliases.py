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
"""Function updates, versions and aliases through the API."""

import json

from tests.functional import api as api_client


def _code(text):
    return api_client.make_zip({"main.py": text})


def _returning(value):
    return _code("def main(**kwargs):\n    return %r\n" % value)


def _update(api, function_id, package=None, **fields):
    files = {"package": ("p.zip", package)} if package else None
    return api.http.put(api.url + "/v1/functions/%s" % function_id,
                        data={k: str(v) for k, v in fields.items()},
                        files=files)


def _output(execution):
    assert execution["status"] == "success", execution
    return json.loads(execution["result"])["output"]


def _execute_version(api, function_id, version):
    resp = api.post("/v1/executions", json={
        "function_id": function_id, "function_version": version})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_updating_name_and_timeout_keeps_the_package(api, runtime):
    function = api.create_function(runtime["id"], _returning("one"))

    resp = _update(api, function["id"], name="renamed", timeout=9)

    assert resp.status_code == 200, resp.text
    assert resp.json()["name"] == "renamed"
    assert resp.json()["timeout"] == 9
    assert resp.json()["code"] == function["code"]
    assert _output(api.execute(function["id"])) == "one"


def test_a_new_package_runs_on_the_next_execution(api, runtime):
    function = api.create_function(runtime["id"], _returning("one"))
    assert _output(api.execute(function["id"])) == "one"

    two = _returning("two")
    resp = _update(api, function["id"], package=two)

    assert resp.status_code == 200, resp.text
    assert resp.json()["code"]["md5sum"] != function["code"]["md5sum"]
    assert _output(api.execute(function["id"])) == "two"
    download = api.get("/v1/functions/%s?download=true" % function["id"])
    assert download.content == two


def test_update_rejects_bad_fields(api, runtime):
    function = api.create_function(runtime["id"], _returning("one"))

    for fields, message in (
            ({"runtime_id": runtime["id"]}, "cannot be changed"),
            ({"timeout": "0"}, "timeout resource limitation"),
            ({"colour": "red"}, "Unknown field(s): colour"),
            ({"entry": "nodot"}, "Invalid entry")):
        resp = _update(api, function["id"], **fields)
        assert resp.status_code == 400, (fields, resp.text)
        assert message in resp.json()["faultstring"]


def test_versions_snapshot_package_entry_and_limits(api, runtime):
    v1_package = _returning("v1")
    function = api.create_function(runtime["id"], v1_package)
    resp = api.post("/v1/functions/%s/versions" % function["id"],
                    json={"description": "first"})
    assert resp.status_code == 201, resp.text
    v1 = resp.json()
    assert v1["version_number"] == 1 and v1["description"] == "first"

    _update(api, function["id"], package=_code(
        "def other(**kwargs):\n    return 'v2'\n"), entry="main.other")
    v2 = api.post("/v1/functions/%s/versions" % function["id"],
                  json={}).json()

    assert v2["version_number"] == 2
    assert _output(_execute_version(api, function["id"], 1)) == "v1"
    assert _output(_execute_version(api, function["id"], 2)) == "v2"
    assert _output(api.execute(function["id"])) == "v2"
    listed = api.get("/v1/functions/%s/versions" % function["id"]).json()
    assert [v["version_number"] for v in listed["function_versions"]] == \
        [1, 2]
    shown = api.get("/v1/functions/%s/versions/1" % function["id"]).json()
    assert shown["entry"] == "main.main"
    download = api.get(
        "/v1/functions/%s/versions/1?download=true" % function["id"])
    assert download.content == v1_package
    version_count = api.get(
        "/v1/functions/%s/versions/1" % function["id"]).json()["count"]
    assert version_count == 1


def test_version_needs_a_changed_package_and_numbers_are_never_reused(
        api, runtime):
    function = api.create_function(runtime["id"], _returning("a"))
    path = "/v1/functions/%s/versions" % function["id"]
    assert api.post(path, json={}).status_code == 201

    again = api.post(path, json={})

    assert again.status_code == 403
    assert again.json()["faultstring"] == \
        "Function package not changed since the latest version 1."
    assert api.delete(path + "/1").status_code == 204
    _update(api, function["id"], package=_returning("b"))
    assert api.post(path, json={}).json()["version_number"] == 2
    assert api.get(path + "/1").status_code == 404


def test_executing_a_missing_version_is_404(api, runtime):
    function = api.create_function(runtime["id"], _returning("a"))

    resp = api.post("/v1/executions", json={"function_id": function["id"],
                                            "function_version": 3})

    assert resp.status_code == 404
    assert "FunctionVersion not found" in resp.json()["faultstring"]


def test_alias_is_resolved_when_used_and_can_be_repointed(api, runtime):
    function = api.create_function(runtime["id"], _returning("v1"))
    path = "/v1/functions/%s/versions" % function["id"]
    api.post(path, json={})
    _update(api, function["id"], package=_returning("v2"))
    api.post(path, json={})
    name = "alias-%s" % function["id"][:8]
    resp = api.post("/v1/aliases", json={
        "name": name, "function_id": function["id"], "function_version": 1})
    assert resp.status_code == 201, resp.text

    first = api.post("/v1/executions", json={"function_alias": name})
    resp = api.http.put(api.url + "/v1/aliases/" + name,
                        json={"function_version": 2})
    assert resp.status_code == 200, resp.text
    second = api.post("/v1/executions", json={"function_alias": name})

    assert _output(first.json()) == "v1"
    assert _output(second.json()) == "v2"
    assert second.json()["function_alias"] == name
    assert second.json()["function_version"] == 2
    assert api.get("/v1/aliases/" + name).json()["function_version"] == 2
    names = [a["name"] for a in
             api.get("/v1/aliases").json()["function_aliases"]]
    assert name in names


def test_alias_must_point_at_something_that_exists(api, runtime):
    function = api.create_function(runtime["id"], _returning("a"))

    bad_version = api.post("/v1/aliases", json={
        "name": "nope", "function_id": function["id"],
        "function_version": 5})
    missing = api.post("/v1/aliases", json={"name": "x"})

    assert bad_version.status_code == 404
    assert missing.status_code == 400
    assert "Required param is missing" in missing.json()["faultstring"]
    assert api.get("/v1/aliases/nope").status_code == 404


def test_function_used_by_an_alias_cannot_be_deleted(api, runtime):
    function = api.create_function(runtime["id"], _returning("a"))
    name = "keep-%s" % function["id"][:8]
    api.post("/v1/aliases", json={"name": name,
                                  "function_id": function["id"]})

    resp = api.delete("/v1/functions/%s" % function["id"])

    assert resp.status_code == 403
    assert resp.json()["faultstring"] == \
        "The function is still associated with function alias(es)."
    assert api.delete("/v1/aliases/" + name).status_code == 204
    assert api.delete("/v1/functions/%s" % function["id"]).status_code == 204


def test_lists_are_paged_with_a_next_link(api, runtime):
    function = api.create_function(runtime["id"], _returning("a"))
    for _ in range(3):
        api.execute(function["id"])

    first = api.get("/v1/executions", params={
        "function_id": function["id"], "limit": 2}).json()
    second = api.http.get(first["next"]).json()

    assert len(first["executions"]) == 2
    assert len(second["executions"]) == 1
    seen = {e["id"] for e in first["executions"] + second["executions"]}
    assert len(seen) == 3
    assert "next" not in second


def test_execution_filters_use_upstream_operators(api, runtime):
    function = api.create_function(runtime["id"], _returning("a"))
    api.post("/v1/executions", json={"function_id": function["id"],
                                     "description": "tagged-xyz-1"})
    api.post("/v1/executions", json={"function_id": function["id"],
                                     "description": "other"})

    has = api.get("/v1/executions",
                  params={"description": "has:xyz"}).json()["executions"]
    neq = api.get("/v1/executions", params={
        "function_id": function["id"],
        "description": "neq:other"}).json()["executions"]
    in_ = api.get("/v1/executions", params={
        "function_id": function["id"],
        "status": "in:success,failed"}).json()["executions"]

    assert [e["description"] for e in has] == ["tagged-xyz-1"]
    assert [e["description"] for e in neq] == ["tagged-xyz-1"]
    assert len(in_) == 2


def test_bad_list_arguments_are_400(api):
    for params, message in (({"limit": "0"}, "Invalid limit"),
                            ({"sort_key": "nope"}, "Invalid sort_key"),
                            ({"sort_dir": "up"}, "Invalid sort_dir"),
                            ({"marker": "x"}, "Marker x not found.")):
        resp = api.get("/v1/executions", params=params)
        assert resp.status_code == 400, (params, resp.text)
        assert message in resp.json()["faultstring"]


def test_duplicate_alias_name_is_refused(api, runtime):
    function = api.create_function(runtime["id"], _returning("a"))
    name = "dup-%s" % function["id"][:8]
    body = {"name": name, "function_id": function["id"]}
    assert api.post("/v1/aliases", json=body).status_code == 201

    again = api.post("/v1/aliases", json=body)

    assert again.status_code == 400
    assert "Duplicate entry for function_aliases" in \
        again.json()["faultstring"]
    names = [a["name"] for a in
             api.get("/v1/aliases").json()["function_aliases"]]
    assert names.count(name) == 1


def test_more_than_ten_versions_are_refused(api, runtime):
    function = api.create_function(runtime["id"], _returning(0))
    path = "/v1/functions/%s/versions" % function["id"]
    for number in range(1, 11):
        _update(api, function["id"], package=_returning(number))
        assert api.post(path, json={}).status_code == 201
    _update(api, function["id"], package=_returning(11))

    resp = api.post(path, json={})

    assert resp.status_code == 403
    assert resp.json()["faultstring"] == \
        "Can not exceed maximum number(10) of versions"
    assert len(api.get(path).json()["function_versions"]) == 10

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
"""Bad requests get a 4xx with a JSON faultstring and leave nothing behind."""

import json
import os

import pytest

from tests.functional import api as api_client

UNKNOWN_ID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


@pytest.fixture
def nothing_left_behind(api, server):
    """Assert that the test left no function, execution or package."""
    packages = os.path.join(server.workdir, "state", "packages")

    def snapshot():
        files = []
        for root, _dirs, names in os.walk(packages):
            files += [os.path.join(root, n) for n in names]
        return (
            sorted(f["id"] for f in api.get("/v1/functions").json()[
                "functions"]),
            sorted(e["id"] for e in api.get("/v1/executions").json()[
                "executions"]),
            sorted(files))

    before = snapshot()
    yield
    assert snapshot() == before


def assert_fault(resp, status, text):
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    assert text in resp.json()["faultstring"], resp.json()


def create(api, runtime_id, package=None, **fields):
    data = {"runtime_id": runtime_id,
            "code": json.dumps({"source": "package"})}
    data.update(fields)
    data = {key: value for key, value in data.items() if value is not None}
    files = None
    if package is not None:
        files = {"package": ("package.zip", package)}
    return api.post("/v1/functions", data=data, files=files)


def test_malformed_json_body_is_rejected(api, nothing_left_behind):
    resp = api.post("/v1/executions", data="{not json",
                    headers={"Content-Type": "application/json"})

    assert resp.status_code == 400
    assert resp.json()["faultstring"]


def test_unknown_field_in_a_runtime_is_rejected(api, nothing_left_behind):
    resp = api.post("/v1/runtimes", json={"image": "python3", "colour": 1})

    assert_fault(resp, 400, "colour")


def test_runtime_without_image_is_rejected(api, nothing_left_behind):
    resp = api.post("/v1/runtimes", json={"name": "x"})

    assert_fault(resp, 400, "Required param is missing. Required: {'image'}")


def test_read_only_field_cannot_be_set(api, nothing_left_behind):
    resp = api.post("/v1/runtimes", json={"image": "python3",
                                          "status": "available"})

    assert_fault(resp, 400, "read only")


def test_id_that_is_not_a_uuid_is_rejected(api, nothing_left_behind):
    assert_fault(api.get("/v1/runtimes/not-a-uuid"), 400,
                 "Expected a uuid but received not-a-uuid.")
    assert_fault(api.get("/v1/executions/not-a-uuid"), 400,
                 "Expected a uuid but received not-a-uuid.")
    assert_fault(api.get("/v1/functions/not-a-uuid"), 404,
                 "Function not found")


def test_unknown_ids_are_404(api, runtime, nothing_left_behind):
    assert_fault(api.get("/v1/runtimes/%s" % UNKNOWN_ID), 404,
                 "Runtime not found [id=%s]" % UNKNOWN_ID)
    assert_fault(api.get("/v1/functions/%s" % UNKNOWN_ID), 404,
                 "Function not found [id=%s]" % UNKNOWN_ID)
    assert_fault(api.get("/v1/executions/%s" % UNKNOWN_ID), 404,
                 "Execution not found [id=%s]" % UNKNOWN_ID)
    assert_fault(api.get("/v1/executions/%s/log" % UNKNOWN_ID), 404,
                 "Execution not found")
    assert_fault(api.delete("/v1/functions/%s" % UNKNOWN_ID), 404,
                 "Function not found")
    assert_fault(api.post("/v1/executions",
                          json={"function_id": UNKNOWN_ID}), 404,
                 "Function not found [id=%s]" % UNKNOWN_ID)
    assert_fault(create(api, UNKNOWN_ID, api_client.sample_zip("echo")), 404,
                 "Runtime not found")


def test_unknown_path_is_a_json_404(api):
    assert_fault(api.get("/v1/nothing-here"), 404, "Not Found")


def test_execution_without_function_is_rejected(api, nothing_left_behind):
    assert_fault(api.post("/v1/executions", json={}), 400,
                 "Either function_alias or function_id must be provided.")


def test_package_that_is_not_a_zip_is_rejected(api, runtime,
                                               nothing_left_behind):
    resp = create(api, runtime["id"], b"this is not a zip file")

    assert_fault(resp, 400, "Package is not a valid ZIP package.")


def test_package_escaping_its_directory_is_rejected(api, runtime,
                                                    nothing_left_behind):
    package = api_client.make_zip({"main.py": "def main(): pass",
                                   "../evil.py": "x = 1"})

    resp = create(api, runtime["id"], package)

    assert_fault(resp, 400, "escapes the package directory")


def test_package_over_the_size_limit_is_rejected(api, runtime,
                                                 nothing_left_behind):
    package = b"0" * (50 * 1024 * 1024 + 1)

    resp = create(api, runtime["id"], package)

    assert_fault(resp, 413, "larger than the limit")


def test_package_md5_mismatch_is_rejected(api, runtime,
                                          nothing_left_behind):
    resp = create(api, runtime["id"], api_client.sample_zip("echo"),
                  code=json.dumps({"source": "package", "md5sum": "0" * 32}))

    assert_fault(resp, 400, "Package md5 mismatch.")


def test_function_without_package_is_rejected(api, runtime,
                                              nothing_left_behind):
    assert_fault(create(api, runtime["id"]), 400, "Package is required")


@pytest.mark.parametrize("fields, message", [
    ({"code": "not json"}, "Invalid input, code must be a JSON object"),
    ({"code": json.dumps({"source": "ftp"})}, "Invalid code source"),
    ({"timeout": "abc"}, "Invalid timeout resource specified."),
    ({"timeout": "301"}, "timeout resource limitation not within the "
                         "allowable range: 1 ~ 300(seconds)"),
    ({"cpu": "50"}, "cpu resource limitation not within"),
    ({"memory_size": "1"}, "memory resource limitation not within"),
    ({"entry": "main"}, "Invalid entry"),
    ({"colour": "blue"}, "Unknown field(s): colour"),
    ({"runtime_id": ""}, '"runtime_id" must be specified.'),
    ({"runtime_id": "nope"}, "Invalid runtime_id"),
])
def test_invalid_function_fields_are_rejected(api, runtime, fields, message,
                                              nothing_left_behind):
    fields = dict({"runtime_id": runtime["id"]}, **fields)

    resp = create(api, package=api_client.sample_zip("echo"), **fields)

    assert_fault(resp, 400, message)


def test_function_on_a_runtime_in_error_is_rejected(api,
                                                    nothing_left_behind):
    broken = api.create_runtime(image="example.com/unknown:1.0")

    resp = create(api, broken["id"], api_client.sample_zip("echo"))

    assert_fault(resp, 400, "Runtime %s is not available." % broken["id"])


def test_input_the_function_does_not_accept_fails_the_execution(api,
                                                                runtime):
    hello = api.create_function(
        runtime["id"], api_client.make_zip(
            {"main.py": "def main(name):\n    return name\n"}))

    execution = api.execute(hello["id"], input='{"name": "x", "nom": "y"}')

    assert execution["status"] == "failed"
    assert "nom" in json.loads(execution["result"])["output"]


def test_json_nested_too_deeply_is_a_400(api, nothing_left_behind):
    body = "[" * 100000 + "]" * 100000

    resp = api.post("/v1/executions", data=body,
                    headers={"Content-Type": "application/json"})

    assert_fault(resp, 400, "nested too deeply")


@pytest.fixture(scope="module")
def echo(api, runtime):
    return api.create_function(runtime["id"], api_client.sample_zip("echo"))


# Every create or update that takes a JSON object.
OBJECT_BODIES = [
    ("POST", "/v1/runtimes"),
    ("PUT", "/v1/runtimes/{runtime}"),
    ("POST", "/v1/functions"),
    ("PUT", "/v1/functions/{function}"),
    ("POST", "/v1/functions/{function}/versions"),
    ("POST", "/v1/functions/{function}/scale_up"),
    ("POST", "/v1/functions/{function}/scale_down"),
    ("POST", "/v1/executions"),
    ("POST", "/v1/aliases"),
    ("PUT", "/v1/aliases/any"),
    ("POST", "/v1/jobs"),
    ("PUT", "/v1/jobs/%s" % UNKNOWN_ID),
    ("POST", "/v1/webhooks"),
    ("PUT", "/v1/webhooks/%s" % UNKNOWN_ID),
]


@pytest.mark.parametrize("method, path", OBJECT_BODIES)
@pytest.mark.parametrize("body", ["null", "[]", "1", '"x"'])
def test_a_body_that_is_not_a_json_object_is_a_400(api, runtime, echo,
                                                   method, path, body):
    path = path.format(runtime=runtime["id"], function=echo["id"])

    resp = api.http.request(method, api.url + path, data=body,
                            headers={"Content-Type": "application/json"})

    assert_fault(resp, 400, "The body must be a JSON object.")


@pytest.mark.parametrize("text, reason", [
    ("\\ud800", "contains a lone UTF-16 surrogate"),
    ("a\\udfffb", "contains a lone UTF-16 surrogate"),
    ("a\\u0000b", "contains a NUL character"),
])
@pytest.mark.parametrize("path, template", [
    ("/v1/runtimes", '{"image": "python3", "name": "%s"}'),
    ("/v1/executions", '{"function_id": "%s"}'),
    ("/v1/jobs", '{"function_id": "' + UNKNOWN_ID + '", "name": "%s"}'),
    ("/v1/functions", '{"runtime_id": "x", "name": "%s"}'),
    ("/v1/executions", '{"function_id": "x", "input": {"%s": 1}}'),
])
def test_strings_with_surrogates_or_nul_are_rejected(
        api, path, template, text, reason, nothing_left_behind):
    resp = api.post(path, data=template % text,
                    headers={"Content-Type": "application/json"})

    assert_fault(resp, 400, reason)
    assert "field" in resp.json()["faultstring"]


def test_nul_in_a_query_parameter_is_rejected(api):
    assert_fault(api.get("/v1/functions?name=a%00b"), 400,
                 "Invalid query parameter name: it contains a NUL")


def test_query_string_that_is_not_utf8_is_a_400(api):
    # %ED%A0%80 would be the UTF-8 of the surrogate U+D800.
    resp = api.get("/v1/functions?name=%ED%A0%80")

    assert_fault(resp, 400,
                 "The request path and query string must be UTF-8.")


BIG = 2 ** 63 + 1


@pytest.mark.parametrize("method, path, body, field", [
    ("POST", "/v1/aliases", {"name": "big", "function_id": "{function}",
                             "function_version": BIG}, "function_version"),
    ("POST", "/v1/jobs", {"function_id": "{function}",
                          "pattern": "0 0 1 1 *", "count": BIG}, "count"),
    ("POST", "/v1/executions", {"function_id": "{function}",
                                "function_version": BIG},
     "function_version"),
    ("POST", "/v1/webhooks", {"function_id": "{function}",
                              "function_version": BIG}, "function_version"),
    ("POST", "/v1/functions/{function}/scale_down", {"count": BIG},
     "count"),
])
def test_integers_beyond_their_column_are_rejected(api, echo, method, path,
                                                   body, field):
    body = {key: value.format(function=echo["id"])
            if isinstance(value, str) else value
            for key, value in body.items()}

    resp = api.http.request(method, api.url + path.format(
        function=echo["id"]), json=body)

    assert_fault(resp, 400, "field/attribute %s" % field)
    assert "Value should be lower or equal to 2147483647" in \
        resp.json()["faultstring"]


@pytest.mark.parametrize("path", [
    "/v1/functions/{function}/versions/%d" % BIG,
    "/v1/functions/{function}/versions/%d?download=true" % BIG,
])
def test_version_numbers_beyond_their_column_are_rejected(api, echo, path):
    resp = api.get(path.format(function=echo["id"]))

    assert_fault(resp, 400, "Invalid version %d" % BIG)


@pytest.mark.parametrize("path", [
    "/v1/aliases?function_version=%d" % BIG,
    "/v1/functions?limit=%d" % BIG,
    "/v1/functions/{function}/workers?function_version=%d" % BIG,
])
def test_query_integers_beyond_their_column_are_rejected(api, echo, path):
    resp = api.get(path.format(function=echo["id"]))

    assert_fault(resp, 400, "Value should be lower or equal to 2147483647")


@pytest.mark.parametrize("field, value, message", [
    ("name", 1, "Invalid input for field name: expected a string, got an "
                "integer."),
    ("entry", 1, "Invalid input for field entry: expected a string"),
    ("description", ["x"], "field description: expected a string, got an "
                           "array"),
    ("runtime_id", True, "Invalid input for field runtime_id: expected a "
                         "string, got a boolean."),
    ("timeout", 1.5, "field timeout: expected a string or an integer, got "
                     "a number"),
    ("cpu", {}, "field cpu: expected a string or an integer, got an "
                "object"),
])
def test_wrong_json_types_in_a_function_are_rejected(
        api, runtime, field, value, message, nothing_left_behind):
    body = {"runtime_id": runtime["id"], "code": {"source": "package"},
            field: value}

    assert_fault(api.post("/v1/functions", json=body), 400, message)


@pytest.mark.parametrize("path, field", [
    ("/v1/executions", "function_id"),
    ("/v1/jobs", "function_id"),
    ("/v1/webhooks", "function_id"),
    ("/v1/aliases", "function_id"),
])
@pytest.mark.parametrize("value", [True, False])
def test_boolean_ids_are_rejected(api, path, field, value,
                                  nothing_left_behind):
    body = {field: value}
    if path in ("/v1/jobs", "/v1/aliases"):
        body["name"] = "b"

    resp = api.post(path, json=body)

    assert_fault(resp, 400, "field/attribute %s" % field)


@pytest.mark.parametrize("field, value, expected", [
    ("sync", {}, "Expected a boolean, got an object."),
    ("function_version", [], "Expected an integer, got an array."),
    ("function_version", 1.5, "Expected an integer, got a number."),
])
def test_wrong_json_types_in_an_execution_are_rejected(
        api, echo, field, value, expected, nothing_left_behind):
    resp = api.post("/v1/executions",
                    json={"function_id": echo["id"], field: value})

    assert_fault(resp, 400, expected)


@pytest.mark.parametrize("method, path, status", [
    ("PUT", "/v1/functions/", 405),
    ("PUT", "/v1/functions", 405),
    ("DELETE", "/v1/functions/", 405),
    ("DELETE", "/v1/runtimes", 405),
    ("PUT", "/v1/jobs/", 405),
    ("DELETE", "/v1/webhooks/", 405),
    ("POST", "/v1/webhooks//invoke", 404),
    ("GET", "/v1/functions//versions", 404),
    ("POST", "/v1/functions//scale_up", 404),
])
def test_empty_ids_in_the_path_are_a_404_or_405(api, method, path, status):
    resp = api.http.request(method, api.url + path, json={})

    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    assert resp.json()["faultstring"]


@pytest.mark.parametrize("method, path", [
    ("POST", "/v1/functions"),
    ("PUT", "/v1/functions/%s" % UNKNOWN_ID),
    ("POST", "/v1/runtimes"),
    ("POST", "/v1/executions"),
    ("DELETE", "/v1/functions/%s" % UNKNOWN_ID),
    ("POST", "/v1/webhooks/%s/invoke" % UNKNOWN_ID),
])
def test_json_sent_as_multipart_is_a_400(api, method, path,
                                         nothing_left_behind):
    resp = api.http.request(
        method, api.url + path, data='{"runtime_id": "x", "image": "y"}',
        headers={"Content-Type": "multipart/form-data"})

    assert_fault(resp, 400, "Malformed multipart/form-data body")


def test_function_in_an_unsupported_content_type_is_a_415(
        api, runtime, nothing_left_behind):
    resp = api.post("/v1/functions", data="runtime_id=%s" % runtime["id"],
                    headers={"Content-Type": "text/plain"})

    assert_fault(resp, 415, "Unsupported Content-Type 'text/plain'")


def test_runtime_in_an_unsupported_content_type_is_a_415(
        api, nothing_left_behind):
    resp = api.post("/v1/runtimes", data="<runtime/>",
                    headers={"Content-Type": "text/plain"})

    assert_fault(resp, 415, "Unknown mimetype: text/plain")


def test_scale_up_above_the_configured_maximum_is_a_400(api, echo):
    resp = api.post("/v1/functions/%s/scale_up" % echo["id"],
                    json={"count": 1000000})

    assert_fault(resp, 400, "Invalid count 1000000: one scale_up adds at "
                            "most 10 workers ([api]max_scale_up_count).")
    workers = api.get("/v1/functions/%s/workers" % echo["id"]).json()
    assert len(workers["workers"]) <= 1


def test_scale_up_without_count_is_a_400(api, echo):
    for body in ({}, {"count": None}):
        resp = api.post("/v1/functions/%s/scale_up" % echo["id"], json=body)

        assert resp.status_code == 400, resp.text
        assert "count" in resp.json()["faultstring"]


@pytest.mark.parametrize("depth", [500, 900, 2000])
def test_json_nested_deeply_on_an_object_body_is_answered(
        api, depth, nothing_left_behind):
    body = '{"function_id": "x", "input": %s%s}' % (
        '{"a": ' * depth, "1" + "}" * depth)

    resp = api.post("/v1/executions", data=body,
                    headers={"Content-Type": "application/json"})

    assert 400 <= resp.status_code < 500, resp.text
    assert resp.json()["faultstring"]


@pytest.mark.parametrize("query, message", [
    ("function_version=abc", "Invalid filter function_version=abc: "
                             "expected an integer."),
    ("function_version=%d" % BIG, "expected an integer"),
    ("function_version=in:1,x", "Invalid filter function_version=1,x"),
    ("function_version=has:1", "has: applies to text only."),
])
def test_integer_filters_that_are_not_integers_are_rejected(any_api, query,
                                                            message):
    assert_fault(any_api.get("/v1/executions?" + query), 400, message)


def test_integer_filters_select_by_number(api, echo):
    execution = api.execute(echo["id"])

    for query in ("function_version=0", "function_version=in:0,1",
                  "function_version=lt:1"):
        listed = api.get("/v1/executions?function_id=%s&%s" % (
            echo["id"], query)).json()["executions"]

        assert execution["id"] in [e["id"] for e in listed], query

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

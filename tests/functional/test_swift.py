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
"""Swift against a real Swift and Keystone on loopback.

Functions whose code is an object in the user's own Swift account (auth
on), and the ``swift`` package storage provider (packages kept in the
service's account).
"""

import hashlib
import importlib.metadata
import io
import json
import os
import time
import zipfile

import pytest

from tests.functional import api as api_client
from tests.functional import deployments

CONTAINER = "functions"
PACKAGE_CONTAINER = "qinling-test-packages"
INVALID = "Failed to validate object in Swift."


def _package(text):
    """A package returning ``text``: the same bytes at every call."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("main.py", (2026, 1, 1, 0, 0, 0)),
                    "def main(**kwargs):\n    return %r\n" % text)
    return buf.getvalue()


def _swift_code(container=CONTAINER, obj="hello.zip"):
    return json.dumps({"source": "swift",
                       "swift": {"container": container, "object": obj}})


class Caller(api_client.Api):
    """The API as one Keystone user."""

    def __init__(self, url, token):
        super().__init__(url)
        self.http.headers["X-Auth-Token"] = token

    def put(self, path, **kwargs):
        return self.http.put(self.url + path, **kwargs)

    def output(self, function_id):
        execution = self.execute(function_id)
        assert execution["status"] == "success", execution
        return json.loads(execution["result"])["output"]

    def function_ids(self):
        resp = self.get("/v1/functions")
        assert resp.status_code == 200, resp.text
        return {f["id"] for f in resp.json()["functions"]}


def _runtime(admin):
    resp = admin.post("/v1/runtimes", json={"image": "python3"})
    assert resp.status_code == 201, resp.text
    runtime = admin.wait_runtime(resp.json()["id"])
    assert runtime["status"] == "available", runtime
    return runtime


@pytest.fixture(scope="module")
def owner(auth_server, keystone):
    return Caller(auth_server.url, keystone.token("user-a"))


@pytest.fixture(scope="module")
def runtime_id(auth_server, keystone):
    return _runtime(Caller(auth_server.url, keystone.token("admin")))["id"]


@pytest.fixture(scope="module")
def user_a_swift(swift):
    conn = swift.connection("user-a")
    conn.put_container(CONTAINER)
    return conn


@pytest.fixture
def swift_function(owner, runtime_id, user_a_swift):
    """user-a's function from the object functions/hello.zip."""
    user_a_swift.put_object(CONTAINER, "hello.zip", _package("v1"))
    resp = owner.post("/v1/functions", data={
        "runtime_id": runtime_id, "code": _swift_code()})
    assert resp.status_code == 201, resp.text
    function = resp.json()
    yield function
    owner.delete("/v1/functions/%s" % function["id"])


def test_a_function_from_a_swift_object_runs_it(owner, swift_function):
    data = _package("v1")

    assert swift_function["code"] == {
        "source": "swift", "etag": hashlib.md5(data).hexdigest(),
        "swift": {"container": CONTAINER, "object": "hello.zip"}}
    assert owner.output(swift_function["id"]) == "v1"


def _cached(server, function_id):
    """The files the engine keeps for a function's Swift object."""
    cache = os.path.join(server.workdir, "state", "package-cache")
    return [n for _root, _dirs, names in os.walk(cache)
            for n in names if function_id in n]


def test_a_replaced_object_changes_the_next_execution(
        owner, swift_function, user_a_swift, auth_server):
    assert owner.output(swift_function["id"]) == "v1"

    user_a_swift.put_object(CONTAINER, "hello.zip", _package("v2"))

    assert owner.output(swift_function["id"]) == "v2"
    etag = hashlib.md5(_package("v2")).hexdigest()
    assert _cached(auth_server, swift_function["id"]) == [
        "%s_%s.zip" % (swift_function["id"], etag)]


def test_download_streams_the_object(owner, swift_function, user_a_swift):
    data = _package("download me")
    user_a_swift.put_object(CONTAINER, "hello.zip", data)

    resp = owner.get("/v1/functions/%s?download=true" % swift_function["id"])

    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"] == "application/zip"
    assert resp.content == data


def test_update_to_another_object_validates_and_runs_it(owner, swift_function,
                                                        user_a_swift):
    user_a_swift.put_object(CONTAINER, "other.zip", _package("other"))
    path = "/v1/functions/%s" % swift_function["id"]

    missing = owner.put(path, data={"code": _swift_code(obj="nope.zip")})
    empty = owner.put(path, data={"code": json.dumps(
        {"source": "swift", "swift": {}})})
    resp = owner.put(path, data={"code": _swift_code(obj="other.zip")})

    assert (missing.status_code, missing.json()["faultstring"]) == \
        (400, INVALID)
    assert (empty.status_code, empty.json()["faultstring"]) == (
        400, "Either container or object must be provided for swift type "
             "function update.")
    assert resp.status_code == 200, resp.text
    assert resp.json()["code"]["swift"] == {"container": CONTAINER,
                                            "object": "other.zip"}
    assert owner.output(swift_function["id"]) == "other"


def test_deleting_the_function_leaves_the_object(owner, runtime_id,
                                                 user_a_swift, auth_server):
    user_a_swift.put_object(CONTAINER, "kept.zip", _package("kept"))
    resp = owner.post("/v1/functions", data={
        "runtime_id": runtime_id, "code": _swift_code(obj="kept.zip")})
    assert resp.status_code == 201, resp.text
    function_id = resp.json()["id"]
    assert owner.output(function_id) == "kept"
    assert _cached(auth_server, function_id)

    deleted = owner.delete("/v1/functions/%s" % function_id)

    assert deleted.status_code == 204, deleted.text
    # The engine releases the function's workers after the answer.
    deadline = time.monotonic() + 30
    while _cached(auth_server, function_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _cached(auth_server, function_id) == []
    headers = user_a_swift.head_object(CONTAINER, "kept.zip")
    assert headers["etag"] == hashlib.md5(_package("kept")).hexdigest()


@pytest.mark.parametrize("code, message", [
    (_swift_code(obj="missing.zip"), INVALID),
    (_swift_code(container="no-such-container"), INVALID),
    (json.dumps({"source": "swift", "swift": {"container": CONTAINER}}),
     "Both container and object must be provided for swift type "
     "function."),
])
def test_an_unusable_object_is_refused_and_leaves_nothing(
        owner, runtime_id, user_a_swift, code, message):
    before = owner.function_ids()

    resp = owner.post("/v1/functions", data={"runtime_id": runtime_id,
                                             "code": code})

    assert resp.status_code == 400, resp.text
    assert resp.json()["faultstring"] == message
    assert owner.function_ids() == before


def test_another_users_object_cannot_be_used(owner, runtime_id, swift,
                                             user_a_swift):
    conn_b = swift.connection("user-b")
    conn_b.put_container("b-private")
    conn_b.put_object("b-private", "hello.zip", _package("b"))

    resp = owner.post("/v1/functions", data={
        "runtime_id": runtime_id,
        "code": _swift_code(container="b-private")})

    assert resp.status_code == 400, resp.text
    assert resp.json()["faultstring"] == INVALID


def test_an_object_over_the_limit_is_refused(owner, runtime_id,
                                             user_a_swift):
    # Swift reports the size; the object need not be a real zip for the
    # check to refuse it.
    user_a_swift.put_object(CONTAINER, "big.zip",
                            b"\0" * (51 * 1024 * 1024 + 1))

    resp = owner.post("/v1/functions", data={
        "runtime_id": runtime_id, "code": _swift_code(obj="big.zip")})

    assert resp.status_code == 400, resp.text
    assert resp.json()["faultstring"] == INVALID


def test_swift_objects_need_auth(api, runtime):
    resp = api.post("/v1/functions", data={"runtime_id": runtime["id"],
                                           "code": _swift_code()})

    assert resp.status_code == 400, resp.text
    assert resp.json()["faultstring"] == "Swift object not supported."


# -- the swift package storage provider --

def _swift_provider_installed():
    return any(ep.name == "swift" for ep in importlib.metadata.entry_points(
        group="qinling.storage.provider"))


@pytest.fixture(scope="module")
def swift_store(keystone, swift, tmp_path_factory):
    """A second all-in-one (auth on) keeping packages in Swift."""
    if not _swift_provider_installed():
        pytest.skip("the swift storage provider is not installed: add "
                    "'swift = qinling.storage.swift:SwiftStorage' to "
                    "setup.cfg's qinling.storage.provider and reinstall")
    deployment = deployments.Deployment(
        "all-in-one-keystone", str(tmp_path_factory.mktemp("swift-store")), {
            "pecan": {"auth_enable": "true"},
            "keystone_authtoken": keystone.authtoken_options(),
            "local": {"network": "host"},
            "storage": {"provider": "swift",
                        "swift_container": PACKAGE_CONTAINER},
        })
    try:
        deployment.start()
    except deployments.Unavailable as e:
        pytest.skip("deployment unavailable: %s" % e)
    yield deployment
    deployment.stop()


@pytest.fixture(scope="module")
def store_owner(swift_store, keystone):
    """user-a on the swift-provider server, and a runtime there."""
    owner = Caller(swift_store.url, keystone.token("user-a"))
    owner.runtime_id = _runtime(
        Caller(swift_store.url, keystone.token("admin")))["id"]
    return owner


def _package_objects(conn, function_id):
    try:
        _headers, listing = conn.get_container(PACKAGE_CONTAINER)
    except Exception as e:
        if getattr(e, "http_status", None) == 404:
            return []
        raise
    return sorted(o["name"] for o in listing if function_id in o["name"])


def test_the_swift_provider_keeps_packages_in_the_service_account(
        swift_store, store_owner, keystone, swift):
    owner = store_owner
    data = _package("stored in swift")
    md5 = hashlib.md5(data).hexdigest()
    service = swift.connection("qinling")
    project = keystone.projects["project-a"]

    function = owner.create_function(owner.runtime_id, data)
    fid = function["id"]
    output = owner.output(fid)
    version = owner.post("/v1/functions/%s/versions" % fid, json={})
    download = owner.get("/v1/functions/%s?download=true" % fid)
    stored = _package_objects(service, fid)
    deleted = owner.delete("/v1/functions/%s" % fid)

    assert function["code"] == {"source": "package", "md5sum": md5}
    assert output == "stored in swift"
    assert version.status_code == 201, version.text
    assert download.content == data
    assert set(stored) == {"%s/%s_1_%s.zip" % (project, fid, md5),
                           "%s/%s_%s.zip" % (project, fid, md5)}
    assert deleted.status_code == 204, deleted.text
    assert _package_objects(service, fid) == []
    cache = os.path.join(swift_store.workdir, "state", "package-cache")
    assert not [n for _root, _dirs, names in os.walk(cache)
                for n in names if fid in n]


def test_the_swift_provider_refuses_a_bad_package_and_keeps_nothing(
        store_owner, swift):
    owner = store_owner
    service = swift.connection("qinling")
    before = owner.function_ids()
    stored_before = _package_objects(service, "")

    resp = owner.post("/v1/functions", data={
        "runtime_id": owner.runtime_id,
        "code": json.dumps({"source": "package"})},
        files={"package": ("p.zip", b"not a zip")})

    assert resp.status_code == 400, resp.text
    assert resp.json()["faultstring"] == "Package is not a valid ZIP package."
    assert owner.function_ids() == before
    assert _package_objects(service, "") == stored_before

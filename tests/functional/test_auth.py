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
"""Keystone auth, policy and tenancy against a real Keystone.

user-a (member of project-a) owns the resources; user-b is a member of
project-b; admin has the admin role. Every endpoint answers each of them
as policy says, and no list shows another project's data.
"""

import json

import pytest
import requests

from tests.functional import api as api_client

# Asks Keystone, through the os_session it is given, which project its
# token is scoped to; and shows what the worker's environment holds.
WHO_AM_I = """
import os


def main(context, **kwargs):
    sess = context["os_session"]
    if sess is None:
        return {"project": None}
    # Keystone answers only for a project the token is scoped to.
    project_id = sess.get_project_id()
    resp = sess.get("/projects/%s" % project_id,
                    endpoint_filter={"service_type": "identity",
                                     "interface": "public"})
    try:
        with open("/proc/1/environ", "rb") as f:
            server_env = f.read().decode("utf-8", "replace")
    except OSError as e:
        server_env = "unreadable: %s" % e
    return {"project": resp.json()["project"]["id"],
            "user": sess.get_user_id(),
            "trust": sess.auth.auth_ref.trust_scoped,
            "env": dict(os.environ), "server_env": server_env}
"""


class Caller:
    """Requests to the API with one user's token."""

    def __init__(self, url, token):
        self.url = url
        self.http = requests.Session()
        if token:
            self.http.headers["X-Auth-Token"] = token

    def request(self, method, path, **kwargs):
        return self.http.request(method, self.url + path, timeout=60,
                                 **kwargs)


@pytest.fixture(scope="module")
def callers(auth_server, keystone):
    return {
        "owner": Caller(auth_server.url, keystone.token("user-a")),
        "other": Caller(auth_server.url, keystone.token("user-b")),
        "admin": Caller(auth_server.url, keystone.token("admin")),
        "anonymous": Caller(auth_server.url, None),
    }


@pytest.fixture(scope="module")
def owned(callers):
    """A runtime (by admin) and user-a's function, version, alias and
    execution."""
    admin, owner = callers["admin"], callers["owner"]
    resp = admin.request("POST", "/v1/runtimes", json={"image": "python3"})
    assert resp.status_code == 201, resp.text
    runtime = api_client.Api(admin.url)
    runtime.http = admin.http
    runtime_row = runtime.wait_runtime(resp.json()["id"])
    assert runtime_row["status"] == "available", runtime_row
    package = api_client.make_zip({"main.py": WHO_AM_I})
    resp = owner.request(
        "POST", "/v1/functions",
        data={"runtime_id": runtime_row["id"], "entry": "main.main",
              "code": json.dumps({"source": "package"})},
        files={"package": ("p.zip", package)})
    assert resp.status_code == 201, resp.text
    function = resp.json()
    version = owner.request("POST", "/v1/functions/%s/versions"
                            % function["id"], json={}).json()
    alias = owner.request("POST", "/v1/aliases", json={
        "name": "owned-alias", "function_id": function["id"]}).json()
    execution = owner.request("POST", "/v1/executions", json={
        "function_id": function["id"]}).json()
    return {"runtime": runtime_row, "function": function,
            "version": version, "alias": alias, "execution": execution}


def _path(template, owned):
    return template.format(
        runtime=owned["runtime"]["id"], function=owned["function"]["id"],
        execution=owned["execution"]["id"], alias=owned["alias"]["name"])


# (method, path, body, {caller: expected status})
MATRIX = [
    ("GET", "/v1/functions/{function}", None,
     {"owner": 200, "other": 404, "admin": 200, "anonymous": 401}),
    ("GET", "/v1/functions/{function}?download=true", None,
     {"owner": 200, "other": 404, "admin": 200, "anonymous": 401}),
    ("PUT", "/v1/functions/{function}", {"description": "x"},
     {"owner": 200, "other": 404, "admin": 200, "anonymous": 401}),
    ("DELETE", "/v1/functions/{function}", None,
     {"other": 404, "admin": 403, "anonymous": 401}),
    ("POST", "/v1/functions/{function}/scale_up", {"count": 1},
     {"owner": 403, "other": 403, "admin": 202}),
    ("POST", "/v1/functions/{function}/scale_down", {"count": 1},
     {"owner": 403, "other": 403, "admin": 202}),
    ("GET", "/v1/functions/{function}/workers", None,
     {"owner": 403, "other": 403, "admin": 200}),
    ("POST", "/v1/functions/{function}/detach", None,
     {"owner": 403, "other": 403, "admin": 202}),
    ("GET", "/v1/functions/{function}/versions", None,
     {"owner": 200, "other": 404, "admin": 200, "anonymous": 401}),
    ("GET", "/v1/functions/{function}/versions/1", None,
     {"owner": 200, "other": 404, "admin": 200}),
    ("POST", "/v1/functions/{function}/versions", {},
     {"other": 404, "admin": 404}),
    ("DELETE", "/v1/functions/{function}/versions/1", None,
     {"other": 404, "admin": 404}),
    ("POST", "/v1/functions/{function}/versions/1/detach", None,
     {"owner": 403, "other": 403, "admin": 202}),
    ("GET", "/v1/aliases/{alias}", None,
     {"owner": 200, "other": 404, "anonymous": 401}),
    ("GET", "/v1/executions/{execution}", None,
     {"owner": 200, "other": 404, "admin": 200, "anonymous": 401}),
    ("GET", "/v1/executions/{execution}/log", None,
     {"owner": 200, "other": 404, "admin": 200, "anonymous": 401}),
    ("POST", "/v1/executions", {"function_id": "{function}"},
     {"other": 404, "anonymous": 401}),
    ("GET", "/v1/runtimes/{runtime}", None,
     {"owner": 200, "other": 200, "admin": 200, "anonymous": 401}),
    ("GET", "/v1/runtimes/{runtime}/pool", None,
     {"owner": 403, "other": 403, "admin": 200}),
    ("PUT", "/v1/runtimes/{runtime}", {"description": "x"},
     {"owner": 403, "other": 403, "admin": 200}),
    ("DELETE", "/v1/runtimes/{runtime}", None,
     {"owner": 403, "other": 403, "admin": 403}),
    ("POST", "/v1/runtimes", {"image": "python3"},
     {"owner": 403, "other": 403, "anonymous": 401}),
    ("GET", "/", None, {"anonymous": 200}),
    ("GET", "/v1/", None, {"anonymous": 200}),
]


@pytest.mark.parametrize("method, template, body, expected", MATRIX,
                         ids=["%s %s" % (m[0], m[1]) for m in MATRIX])
def test_each_endpoint_answers_each_caller_as_policy_says(
        callers, owned, method, template, body, expected):
    path = _path(template, owned)
    if isinstance(body, dict):
        body = {k: _path(v, owned) if isinstance(v, str) else v
                for k, v in body.items()}
    for who, status in expected.items():
        resp = callers[who].request(method, path, json=body)
        assert resp.status_code == status, (who, method, path, resp.text)
        if status >= 400:
            assert resp.json()["faultstring"], (who, resp.text)


@pytest.mark.parametrize("collection, key", [
    ("/v1/functions", "functions"),
    ("/v1/executions", "executions"),
    ("/v1/aliases", "function_aliases"),
])
def test_lists_never_show_another_projects_data(callers, owned, collection,
                                                key):
    def ids(who, **params):
        resp = callers[who].request("GET", collection, params=params)
        assert resp.status_code == 200, resp.text
        return {item.get("id") for item in resp.json()[key]}

    mine = ids("owner")
    assert mine
    assert not mine & ids("other")
    assert not mine & ids("other", project_id=owned["function"][
        "project_id"])
    assert not mine & ids("admin")
    assert mine <= ids("admin", all_projects="true")
    refused = callers["other"].request("GET", collection,
                                       params={"all_projects": "true"})
    assert refused.status_code == 403
    assert refused.json()["faultstring"] == "Operation not allowed"


def test_function_is_owned_by_the_callers_project(owned, keystone):
    assert owned["function"]["project_id"] == keystone.projects["project-a"]
    assert owned["execution"]["status"] == "success", owned["execution"]


def test_function_acts_as_its_owner_through_a_trust(owned, keystone):
    output = json.loads(owned["execution"]["result"])["output"]

    assert output["project"] == keystone.projects["project-a"]
    assert output["user"] == keystone.users["user-a"].user_id
    assert output["trust"] is True


def test_worker_holds_no_service_credentials(owned, keystone):
    output = json.loads(owned["execution"]["result"])["output"]
    password = keystone.service.password

    assert password not in json.dumps(output["env"])
    assert password not in output["server_env"]
    assert "keystone_authtoken" not in json.dumps(output)


def test_a_bad_token_is_refused(auth_server):
    resp = requests.get(auth_server.url + "/v1/functions",
                        headers={"X-Auth-Token": "not-a-token"}, timeout=30)

    assert resp.status_code == 401
    assert resp.json()["faultstring"]


def test_webhook_invoked_without_a_token_runs_as_the_owner(callers, owned,
                                                           keystone):
    owner = callers["owner"]
    resp = owner.request("POST", "/v1/webhooks", json={
        "function_id": owned["function"]["id"]})
    assert resp.status_code == 201, resp.text
    webhook = resp.json()

    invoked = callers["anonymous"].request(
        "POST", "/v1/webhooks/%s/invoke" % webhook["id"], json={})
    assert invoked.status_code == 202, invoked.text
    execution_id = invoked.json()["execution_id"]
    api = api_client.Api(owner.url)
    api.http = owner.http
    execution = api.wait_execution(execution_id)

    assert execution["status"] == "success", execution
    output = json.loads(execution["result"])["output"]
    assert output["project"] == keystone.projects["project-a"]
    assert output["user"] == keystone.users["user-a"].user_id
    assert callers["other"].request(
        "GET", "/v1/executions/%s" % execution_id).status_code == 404


def test_job_created_by_a_member_runs_as_that_member(callers, owned,
                                                    auth_server, keystone):
    from tests.functional import test_jobs
    owner = callers["owner"]
    api = api_client.Api(owner.url)
    api.http = owner.http
    job = test_jobs.create_job(api, function_id=owned["function"]["id"],
                               first_execution_time=test_jobs.in_a_while())

    test_jobs.make_due(auth_server, job["id"])
    test_jobs.wait_done(api, job["id"])

    runs = test_jobs.runs(api, job["id"])
    assert len(runs) == 1
    execution = api.wait_execution(runs[0]["id"])
    assert execution["status"] == "success", execution
    output = json.loads(execution["result"])["output"]
    assert output["project"] == keystone.projects["project-a"]
    assert output["user"] == keystone.users["user-a"].user_id


# Sleeps 4 of its default 5 seconds, at the default CPU, then uses its
# os_session: keystoneauth1 is imported once per worker, not in the slot.
SLEEPS_THEN_CALLS_KEYSTONE = """
import time


def main(context, **kwargs):
    time.sleep(4)
    sess = context["os_session"]
    project_id = sess.get_project_id()
    resp = sess.get("/projects/%s" % project_id,
                    endpoint_filter={"service_type": "identity",
                                     "interface": "public"})
    return resp.json()["project"]["id"]
"""


def test_a_function_with_an_os_session_keeps_its_whole_timeout(
        callers, owned, keystone):
    owner = callers["owner"]
    package = api_client.make_zip({"main.py": SLEEPS_THEN_CALLS_KEYSTONE})
    resp = owner.request(
        "POST", "/v1/functions",
        data={"runtime_id": owned["runtime"]["id"], "entry": "main.main",
              "code": json.dumps({"source": "package"})},
        files={"package": ("p.zip", package)})
    assert resp.status_code == 201, resp.text
    function = resp.json()
    assert (function["timeout"], function["cpu"]) == (5, 100)

    for _ in range(2):  # a fresh worker, then a warm one
        execution = owner.request("POST", "/v1/executions", json={
            "function_id": function["id"]}).json()

        assert execution["status"] == "success", execution
        assert json.loads(execution["result"])["output"] == (
            keystone.projects["project-a"])

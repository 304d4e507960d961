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
"""Secure RBAC against a real Keystone, with the old and the new defaults.

One server runs with ``[oslo_policy]enforce_new_defaults`` off (the
default: the deprecated rules still allow), another with it on. reader-a
has only the ``reader`` role in project-a, whose member user-a owns the
resources.
"""

import json

import pytest

from tests.functional import api as api_client
from tests.functional import conftest
from tests.functional import test_auth

# ``owned`` (user-a's runtime, function, version, alias and execution)
# uses this module's ``callers``.
from tests.functional.test_auth import owned  # noqa: F401


def _server(keystone, tmp_path_factory, enforce_new_defaults):
    # A short name: the workers' unix sockets live under its directory.
    return conftest._deployment(
        "all-in-one-rbac-%s" % enforce_new_defaults,
        tmp_path_factory, {
            "pecan": {"auth_enable": "true"},
            "keystone_authtoken": keystone.authtoken_options(),
            "oslo_policy": {"enforce_new_defaults": enforce_new_defaults},
            # Functions call Keystone on loopback through their os_session.
            "local": {"network": "host"},
        })


@pytest.fixture(scope="module", params=["old-defaults", "new-defaults"])
def server_kind(request):
    return request.param


@pytest.fixture(scope="module")
def rbac_server(server_kind, keystone, tmp_path_factory):
    """A server of its own for each setting, so that the resources these
    tests make meet no others."""
    return _server(keystone, tmp_path_factory,
                   "true" if server_kind == "new-defaults" else "false")


@pytest.fixture(scope="module")
def callers(rbac_server, keystone):
    if "reader-a" not in keystone.users:
        keystone.create_user("reader-a", "project-a", roles=("reader",))
    url = rbac_server.url
    return {
        "owner": test_auth.Caller(url, keystone.token("user-a")),
        "reader": test_auth.Caller(url, keystone.token("reader-a")),
        "other": test_auth.Caller(url, keystone.token("user-b")),
        "admin": test_auth.Caller(url, keystone.token("admin")),
        "anonymous": test_auth.Caller(url, None),
    }


def _request(callers, owned, who, method, template, body=None):  # noqa: F811
    path = test_auth._path(template, owned)
    if isinstance(body, dict):
        body = {k: test_auth._path(v, owned) if isinstance(v, str) else v
                for k, v in body.items()}
    return callers[who].request(method, path, json=body)


# (method, path, body, status with old defaults, with new defaults)
READER = [
    ("GET", "/v1/functions", None, 200, 200),
    ("GET", "/v1/functions/{function}", None, 200, 200),
    ("GET", "/v1/functions/{function}/versions", None, 200, 200),
    ("GET", "/v1/executions/{execution}", None, 200, 200),
    ("GET", "/v1/executions/{execution}/log", None, 200, 200),
    ("GET", "/v1/aliases/{alias}", None, 200, 200),
    ("GET", "/v1/runtimes/{runtime}", None, 200, 200),
    ("GET", "/v1/usage", None, 200, 200),
    ("POST", "/v1/executions", {"function_id": "{function}"}, 201, 403),
    ("PUT", "/v1/functions/{function}", {"description": "by a reader"},
     200, 403),
    ("POST", "/v1/webhooks", {"function_id": "{function}"}, 201, 403),
    ("POST", "/v1/jobs", {"function_id": "{function}",
                          "pattern": "0 0 1 1 *"}, 201, 403),
    ("POST", "/v1/functions/{function}/versions", {}, None, 403),
    ("DELETE", "/v1/aliases/{alias}", None, None, 403),
    ("DELETE", "/v1/functions/{function}", None, None, 403),
    ("GET", "/v1/runtimes/{runtime}/pool", None, 403, 403),
    ("GET", "/metrics", None, 403, 403),
]


@pytest.mark.parametrize("method, template, body, old, new", READER,
                         ids=["%s %s" % (m[0], m[1]) for m in READER])
def test_a_reader_reads_and_writes_only_under_the_old_defaults(
        callers, owned, server_kind, method, template, body, old,  # noqa: F811
        new):
    expected = old if server_kind == "old-defaults" else new
    if expected is None:
        pytest.skip("would change the owner's resources under the old "
                    "defaults")

    resp = _request(callers, owned, "reader", method, template, body)

    assert resp.status_code == expected, (method, template, resp.text)
    if expected == 403:
        assert resp.json()["faultstring"]


@pytest.mark.parametrize("method, template, body, expected",
                         test_auth.MATRIX,
                         ids=["%s %s" % (m[0], m[1])
                              for m in test_auth.MATRIX])
def test_members_and_admins_keep_their_rights_under_both_defaults(
        callers, owned, method, template, body, expected):  # noqa: F811
    for who, status in expected.items():
        resp = _request(callers, owned, who, method, template, body)
        assert resp.status_code == status, (who, method, template,
                                            resp.text)


def test_a_reader_sees_the_owners_execution_result(callers, owned):  # noqa
    resp = _request(callers, owned, "reader", "GET",
                    "/v1/executions/{execution}")

    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "success"
    assert json.loads(resp.json()["result"])["output"]["project"] == \
        owned["function"]["project_id"]


def test_a_reader_lists_the_projects_functions(callers, owned):  # noqa
    api = api_client.Api(callers["reader"].url)
    api.http = callers["reader"].http

    listed = api.get("/v1/functions").json()["functions"]

    assert owned["function"]["id"] in {f["id"] for f in listed}

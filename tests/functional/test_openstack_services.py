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
"""The real Keystone and Swift fixtures work as the Qinling tests need."""

import time

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client as ks_client
import pytest
import requests
from swiftclient import client as swift_client

from tests.functional import openstack_services
from tests.functional.openstack_fixtures import keystone  # noqa: F401
from tests.functional.openstack_fixtures import swift  # noqa: F401


def _access(sess):
    return sess.auth.get_access(sess)


def test_member_token_is_scoped_to_its_project(keystone):  # noqa: F811
    access = _access(keystone.session("user-a"))
    assert access.user_id == keystone.users["user-a"].user_id
    assert access.project_id == keystone.projects["project-a"]
    assert access.project_name == "project-a"
    assert "member" in access.role_names
    assert "admin" not in access.role_names

    # Keystone itself vouches for the token, as auth_token would see it.
    token = keystone.token("user-a")
    resp = keystone.admin_session().get(
        keystone.auth_url + "/auth/tokens",
        headers={"X-Subject-Token": token})
    body = resp.json()["token"]
    assert body["project"]["id"] == keystone.projects["project-a"]
    assert body["user"]["name"] == "user-a"


def test_bad_password_is_refused(keystone):  # noqa: F811
    resp = requests.post(keystone.auth_url + "/auth/tokens", json={
        "auth": {"identity": {"methods": ["password"], "password": {
            "user": {"name": "user-a", "domain": {"name": "Default"},
                     "password": "wrong"}}}}}, timeout=30)
    assert resp.status_code == 401


def test_service_user_is_admin_of_service_project(keystone):  # noqa: F811
    access = _access(keystone.session(keystone.service.username))
    assert keystone.service.username == "qinling"
    assert access.project_name == "service"
    assert "admin" in access.role_names


def test_catalog_lists_function_engine(keystone):  # noqa: F811
    keystone.register_qinling_endpoint("http://127.0.0.1:1/")
    url = "http://127.0.0.1:7070"
    keystone.register_qinling_endpoint(url)   # moves it

    catalog = _access(keystone.session("user-a")).service_catalog
    for interface in ("public", "internal", "admin"):
        assert catalog.url_for(service_type="function-engine",
                               interface=interface) == url
    services = {s["type"]: s for s in catalog.catalog}
    assert services["function-engine"]["name"] == "qinling"
    assert len(services["function-engine"]["endpoints"]) == 3


def test_trust_gives_service_user_a_project_token(keystone):  # noqa: F811
    user_a = keystone.users["user-a"]
    client = ks_client.Client(session=keystone.session("user-a"))
    trust = client.trusts.create(
        trustor_user=user_a.user_id, trustee_user=keystone.service.user_id,
        project=keystone.projects["project-a"], role_names=["member"],
        impersonation=True)

    # What Qinling does: authenticate as itself, scoped by the trust.
    auth = v3.Password(auth_url=keystone.auth_url,
                       username=keystone.service.username,
                       password=keystone.service.password,
                       user_domain_name="Default", trust_id=trust.id)
    sess = ks_session.Session(auth=auth)
    access = _access(sess)
    assert access.trust_scoped
    assert access.trust_id == trust.id
    assert access.project_id == keystone.projects["project-a"]
    assert access.user_id == user_a.user_id     # impersonation
    # The delegated role and the one it implies, nothing more.
    assert sorted(access.role_names) == ["member", "reader"]

    # keystone.session() does the same.
    access = _access(keystone.session("qinling", trust_id=trust.id))
    assert access.project_id == keystone.projects["project-a"]

    # Only user-a can delegate its roles on project-a.
    with pytest.raises(ks_exceptions.Forbidden):
        ks_client.Client(session=keystone.session("user-b")).trusts.create(
            trustor_user=user_a.user_id,
            trustee_user=keystone.service.user_id,
            project=keystone.projects["project-a"], role_names=["member"])


def test_user_puts_and_gets_object_in_own_account(keystone, swift):  # noqa: F811,E501
    conn = swift.connection("user-a")
    conn.put_container("functions")
    conn.put_object("functions", "package.zip", b"PK\x03\x04 hello")
    headers, body = conn.get_object("functions", "package.zip")
    assert body == b"PK\x03\x04 hello"
    assert conn.url == "%s/v1/AUTH_%s" % (swift.url,
                                          keystone.projects["project-a"])
    names = [o["name"] for o in conn.get_container("functions")[1]]
    assert names == ["package.zip"]

    # The catalog points at the same account.
    catalog = _access(keystone.session("user-a")).service_catalog
    assert catalog.url_for(service_type="object-store",
                           interface="public") == conn.url


def test_other_project_cannot_read_container(keystone, swift):  # noqa: F811
    swift.connection("user-a").put_container("private")
    swift.connection("user-a").put_object("private", "secret", b"a's")

    intruder = swift.connection("user-b", project="project-a")
    with pytest.raises(swift_client.ClientException) as e:
        intruder.get_object("private", "secret")
    assert e.value.http_status == 403
    with pytest.raises(swift_client.ClientException) as e:
        intruder.get_container("private")
    assert e.value.http_status == 403

    # user-b's own account works.
    own = swift.connection("user-b")
    own.put_container("mine")
    assert own.head_container("mine") is not None


def test_no_token_is_refused(keystone, swift):  # noqa: F811
    resp = requests.get(swift.storage_url("project-a"), timeout=30)
    assert resp.status_code == 401


def test_trust_token_reaches_trustor_account(keystone, swift):  # noqa: F811
    user_a = keystone.users["user-a"]
    trust = ks_client.Client(session=keystone.session("user-a")).trusts.create(
        trustor_user=user_a.user_id, trustee_user=keystone.service.user_id,
        project=keystone.projects["project-a"], role_names=["member"],
        impersonation=True)
    swift.connection("user-a").put_container("packages")
    swift.connection("user-a").put_object("packages", "f1", b"code")

    conn = swift.connection(
        "qinling", project="project-a",
        session=keystone.session("qinling", trust_id=trust.id))
    assert conn.get_object("packages", "f1")[1] == b"code"


def _wait_for_pids(path, count):
    for _ in range(100):
        try:
            with open(path) as f:
                pids = [int(p) for p in f.read().split()]
            if len(pids) == count:
                return pids
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    raise AssertionError("no PIDs in %s" % path)


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


@pytest.mark.parametrize("script", [
    # A child that outlives its parent's exit.
    "sleep 60 & echo $! > {pids}; echo $$ >> {pids}; wait",
    # Processes that ignore SIGTERM.
    "trap '' TERM; sleep 60 & echo $! > {pids}; echo $$ >> {pids}; wait",
])
def test_stop_ends_the_whole_process_group(tmp_path, script):
    pids_file = tmp_path / "pids"
    proc = openstack_services.Process(
        "sh", ["sh", "-c", script.format(pids=pids_file)],
        str(tmp_path / "sh.log"))
    pids = _wait_for_pids(pids_file, 2)
    assert proc.pid in pids
    proc.stop(timeout=0.5)
    assert proc.popen.returncode is not None
    assert not [pid for pid in pids if _alive(pid)]

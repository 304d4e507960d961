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
"""Upstream's command-line client drives the service unchanged.

``openstack`` (python-openstackclient with python-qinlingclient) runs
against the all-in-one server with ``--os-auth-type none``, and against
the one with Keystone auth through the real Keystone's catalog.
"""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from tests.functional import api as api_client

OPENSTACK = os.path.join(os.path.dirname(sys.executable), "openstack")

pytestmark = pytest.mark.skipif(
    not os.path.exists(OPENSTACK) and not shutil.which("openstack"),
    reason="python-openstackclient is not installed "
           "(pip install -r test-requirements.txt)")


def _auth_args(request):
    """How the client reaches the service: no auth, or through Keystone's
    catalog as the admin (who may also manage runtimes and scale)."""
    if request.param == "noauth":
        server = request.getfixturevalue("server")
        return ["--os-auth-type", "none", "--os-endpoint", server.url]
    keystone = request.getfixturevalue("keystone")
    request.getfixturevalue("auth_server")
    admin = keystone.admin
    return ["--os-auth-url", keystone.auth_url,
            "--os-identity-api-version", "3",
            "--os-username", admin.username,
            "--os-password", admin.password,
            "--os-project-name", admin.project_name,
            "--os-user-domain-name", admin.user_domain_name,
            "--os-project-domain-name", admin.project_domain_name]


@pytest.fixture(scope="module", params=["noauth", "keystone"])
def cli(request, tmp_path_factory):
    home = tmp_path_factory.mktemp("cli-home")
    auth_args = _auth_args(request)

    def run(*args, json_output=True, expect_ok=True):
        cmd = [OPENSTACK] + auth_args + list(args)
        if json_output:
            cmd += ["-f", "json"]
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=120, cwd=str(home),
                              env=dict(os.environ, HOME=str(home)))
        if expect_ok:
            assert proc.returncode == 0, (cmd, proc.stdout, proc.stderr)
        else:
            assert proc.returncode != 0, (cmd, proc.stdout)
            return proc.stderr
        return json.loads(proc.stdout) if json_output else proc.stdout
    return run


@pytest.fixture(scope="module")
def cli_runtime(cli):
    runtime = cli("runtime", "create", "--name", "cli-python",
                  "openstackqinling/python3-runtime:0.0.2")
    deadline = time.monotonic() + 60
    while runtime["status"] == "creating":
        assert time.monotonic() < deadline, runtime
        time.sleep(0.5)
        runtime = cli("runtime", "show", runtime["id"])
    assert runtime["status"] == "available", runtime
    return runtime


def test_runtime_commands(cli, cli_runtime):
    shown = cli("runtime", "show", cli_runtime["id"])
    listed = cli("runtime", "list")

    assert shown["name"] == "cli-python"
    assert shown["status"] == "available"
    assert cli_runtime["id"] in [r["Id"] for r in listed]


def test_function_from_a_file_runs_and_logs(cli, cli_runtime, tmp_path):
    source = tmp_path / "hello.py"
    source.write_text("def main(name='World', **kwargs):\n"
                      "    print('saying hello')\n"
                      "    return 'Hello, %s' % name\n")

    function = cli("function", "create", "--runtime", cli_runtime["id"],
                   "--name", "cli-hello", "--entry", "hello.main",
                   "--file", str(source))
    execution = cli("function", "execution", "create", "--function",
                    function["id"], "--input", '{"name": "CLI"}')
    log = cli("function", "execution", "log", "show", execution["id"],
              json_output=False)

    assert execution["status"] == "success"
    assert json.loads(execution["result"])["output"] == "Hello, CLI"
    assert "saying hello" in log
    shown = cli("function", "execution", "show", execution["id"])
    assert shown["id"] == execution["id"]
    listed = cli("function", "execution", "list")
    assert execution["id"] in [e["Id"] for e in listed]
    cli("function", "execution", "delete", "--execution", execution["id"],
        json_output=False)
    assert "not found" in cli("function", "execution", "show",
                              execution["id"], expect_ok=False).lower()


def test_function_from_a_package_is_updated_downloaded_and_deleted(
        cli, cli_runtime, tmp_path):
    package = tmp_path / "pkg.zip"
    package.write_bytes(api_client.make_zip(
        {"main.py": "def main(**kwargs):\n    return 'one'\n"}))
    function = cli("function", "create", "--runtime", cli_runtime["id"],
                   "--entry", "main.main", "--package", str(package))

    updated = cli("function", "update", function["id"], "--name", "renamed",
                  "--timeout", "10")
    assert updated["name"] == "renamed" and updated["timeout"] == 10
    package.write_bytes(api_client.make_zip(
        {"main.py": "def main(**kwargs):\n    return 'two'\n"}))
    cli("function", "update", function["id"], "--package", str(package))
    execution = cli("function", "execution", "create", "--function",
                    function["id"])
    assert json.loads(execution["result"])["output"] == "two"

    target = tmp_path / "downloaded.zip"
    cli("function", "download", function["id"], "-o", str(target),
        json_output=False)
    assert target.read_bytes() == package.read_bytes()
    assert function["id"] in [f["Id"] for f in cli("function", "list")]
    assert cli("function", "show", function["id"])["name"] == "renamed"

    cli("function", "delete", function["id"], json_output=False)
    assert "not found" in cli("function", "show", function["id"],
                              expect_ok=False).lower()


def test_version_and_alias_commands(cli, cli_runtime, tmp_path):
    package = tmp_path / "v.zip"
    package.write_bytes(api_client.make_zip(
        {"main.py": "def main(**kwargs):\n    return 'v1'\n"}))
    function = cli("function", "create", "--runtime", cli_runtime["id"],
                   "--entry", "main.main", "--package", str(package))

    version = cli("function", "version", "create", function["id"],
                  "--description", "first")
    assert version["version_number"] == 1
    shown = cli("function", "version", "show", function["id"], "1")
    assert shown["description"] == "first"
    assert [v["Version_number"] for v in
            cli("function", "version", "list", function["id"])] == [1]

    name = "cli-alias-%s" % function["id"][:8]
    alias = cli("function", "alias", "create", name, "--function",
                function["id"], "--function-version", "1")
    assert alias["function_version"] == 1
    execution = cli("function", "execution", "create", "--function-alias",
                    name)
    assert json.loads(execution["result"])["output"] == "v1"
    updated = cli("function", "alias", "update", name, "--description", "d")
    assert updated["description"] == "d"
    assert name in [a["Name"] for a in cli("function", "alias", "list")]
    assert cli("function", "alias", "show", name)["name"] == name

    cli("function", "alias", "delete", name, json_output=False)
    cli("function", "version", "delete", function["id"], "1",
        json_output=False)
    assert cli("function", "version", "list", function["id"]) == []


def _function(cli, runtime, tmp_path, text="def main(**kwargs):\n"
              "    return 'ok'\n"):
    package = tmp_path / "f.zip"
    package.write_bytes(api_client.make_zip({"main.py": text}))
    return cli("function", "create", "--runtime", runtime["id"],
               "--entry", "main.main", "--package", str(package))


def test_scale_worker_and_pool_commands(cli, cli_runtime, tmp_path):
    function = _function(cli, cli_runtime, tmp_path)
    cli("function", "execution", "create", "--function", function["id"])
    workers = cli("function", "worker", "list", function["id"])
    assert len(workers) == 1

    cli("function", "scaleup", function["id"], "--count", "1",
        json_output=False)
    assert len(cli("function", "worker", "list", function["id"])) == 2
    cli("function", "scaledown", function["id"], "--count", "1",
        json_output=False)
    assert len(cli("function", "worker", "list", function["id"])) == 1
    pool = cli("runtime", "pool", "show", cli_runtime["id"])
    assert pool["capacity"]["total"] >= pool["capacity"]["available"] >= 0

    cli("function", "detach", function["id"], json_output=False)
    assert cli("function", "worker", "list", function["id"]) == []
    cli("function", "version", "create", function["id"])
    cli("function", "version", "detach", function["id"], "1",
        json_output=False)


def test_job_and_webhook_commands(cli, cli_runtime, tmp_path):
    function = _function(cli, cli_runtime, tmp_path)

    job = cli("job", "create", "--function", function["id"], "--name",
              "nightly", "--pattern", "0 3 * * *", "--function-input",
              '{"a": 1}')
    assert job["status"] == "running" and job["pattern"] == "0 3 * * *"
    assert cli("job", "show", job["id"])["name"] == "nightly"
    assert job["id"] in [j["Id"] for j in cli("job", "list")]
    paused = cli("job", "update", job["id"], "--status", "paused")
    assert paused["status"] == "paused"
    cli("job", "delete", job["id"], json_output=False)

    webhook = cli("webhook", "create", "--function", function["id"],
                  "--description", "hook")
    assert webhook["webhook_url"].endswith(
        "/v1/webhooks/%s/invoke" % webhook["id"])
    assert cli("webhook", "show", webhook["id"])["description"] == "hook"
    assert webhook["id"] in [w["Id"] for w in cli("webhook", "list")]
    updated = cli("webhook", "update", webhook["id"], "--description", "h2")
    assert updated["description"] == "h2"
    cli("webhook", "delete", webhook["id"], json_output=False)

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
"""``qinling-status upgrade check`` on a deployment that is ready and on
one that is not."""

import os
import subprocess

import pytest

from tests.functional import deployments


def _config(workdir, **sections):
    os.makedirs(os.path.join(workdir, "state"), exist_ok=True)
    config = {
        "DEFAULT": {"state_path": os.path.join(workdir, "state")},
        "local": {"work_dir": os.path.join(workdir, "workers")},
    }
    for section, options in sections.items():
        config.setdefault(section, {}).update(options)
    path = os.path.join(workdir, "qinling.conf")
    deployments.write_config(path, config)
    return path


def _run(*argv):
    done = subprocess.run(
        [os.path.join(deployments.BIN, argv[0])] + list(argv[1:]),
        capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr


def _check(config_file):
    return _run("qinling-status", "--config-file", config_file,
                "upgrade", "check")


def _results(output):
    """``{check name: (result, details)}`` of oslo.upgradecheck's table."""
    results, name, result = {}, None, None
    for line in output.splitlines():
        if not line.startswith("|"):
            continue
        text = line.strip("| ").strip()
        if text.startswith("Check: "):
            name = text[len("Check: "):]
        elif text.startswith("Result: "):
            result = text[len("Result: "):]
            results[name] = [result, ""]
        elif name and text and not text.startswith("+"):
            details = text[len("Details: "):] if text.startswith(
                "Details: ") else text
            results[name][1] = (results[name][1] + " " + details).strip()
    return {k: tuple(v) for k, v in results.items()}


def _migrate(config_file):
    code, output = _run("qinling-db-manage", "--config-file", config_file,
                        "upgrade", "head")
    assert code == 0, output


def test_a_ready_all_in_one_passes_every_check(tmp_path):
    config_file = _config(str(tmp_path))
    _migrate(config_file)

    code, output = _check(config_file)

    assert code == 0, output
    results = _results(output)
    assert results["Database schema"][0] == "Success"
    assert "head revision" in results["Database schema"][1]
    assert results["Orchestrator"][0] == "Success"
    assert "bubblewrap sandbox" in results["Orchestrator"][1]
    assert results["Package storage"][0] == "Success"
    assert results["Keystone"][0] == "Success"


def test_a_broken_deployment_fails_each_check_with_what_to_do(tmp_path):
    workdir = str(tmp_path)
    blocker = os.path.join(workdir, "blocker")
    with open(blocker, "w") as f:
        f.write("a file where a directory should be")
    policy_file = os.path.join(workdir, "policy.yaml")
    with open(policy_file, "w") as f:
        f.write('"function:frobnicate": "rule:admin_or_owner"\n'
                '"function:get": "rule:admin_or_owner"\n')
    config_file = _config(
        workdir,
        engine={"orchestrator": "nonexistent"},
        storage={"file_system_dir": os.path.join(blocker, "packages")},
        oslo_policy={"policy_file": policy_file},
        pecan={"auth_enable": "true"},
        keystone_authtoken={
            "auth_url": "http://127.0.0.1:%d/v3" % deployments.free_port(),
            "auth_type": "password", "username": "qinling",
            "password": "wrong", "project_name": "service",
            "user_domain_name": "Default",
            "project_domain_name": "Default"})

    code, output = _check(config_file)

    assert code == 2, output
    results = _results(output)
    assert results["Database schema"] == (
        "Failure", "The database has no Qinling schema. Run "
        "'qinling-db-manage upgrade head'.")
    assert results["Policy file"][0] == "Failure"
    assert "function:frobnicate" in results["Policy file"][1]
    assert "function:get" not in results["Policy file"][1]
    assert results["Orchestrator"][0] == "Failure"
    assert "nonexistent, which is not installed" in \
        results["Orchestrator"][1]
    assert "local" in results["Orchestrator"][1]
    assert results["Package storage"][0] == "Failure"
    assert "Create the directory" in results["Package storage"][1]
    assert results["Keystone"][0] == "Failure"
    assert "cannot get a token" in results["Keystone"][1]


def test_an_old_schema_is_told_to_upgrade(tmp_path):
    config_file = _config(str(tmp_path))
    code, output = _run("qinling-db-manage", "--config-file", config_file,
                        "upgrade", "003")
    assert code == 0, output

    code, output = _check(config_file)

    assert code == 2, output
    result, details = _results(output)["Database schema"]
    assert result == "Failure"
    assert "at revision 003" in details
    assert "qinling-db-manage upgrade head" in details


def test_a_policy_file_that_does_not_parse_fails(tmp_path):
    policy_file = os.path.join(str(tmp_path), "policy.yaml")
    with open(policy_file, "w") as f:
        f.write('"function:get": [unclosed\n')
    config_file = _config(str(tmp_path),
                          oslo_policy={"policy_file": policy_file})
    _migrate(config_file)

    code, output = _check(config_file)

    result, details = _results(output)["Policy file"]
    assert result == "Failure", output
    assert "cannot be read" in details


def test_kubernetes_without_its_driver_is_a_warning(tmp_path):
    from stevedore import extension
    names = extension.ExtensionManager("qinling.orchestrator").names()
    if "kubernetes" in names:
        pytest.skip("the kubernetes driver is installed here")
    config_file = _config(str(tmp_path),
                          engine={"orchestrator": "kubernetes"})
    _migrate(config_file)

    code, output = _check(config_file)

    assert code == 1, output
    result, details = _results(output)["Orchestrator"]
    assert result == "Warning"
    assert "kubernetes" in details and "not installed" in details


def test_auth_on_with_a_real_keystone_passes(tmp_path, keystone):
    config_file = _config(str(tmp_path), pecan={"auth_enable": "true"},
                          keystone_authtoken=keystone.authtoken_options())
    _migrate(config_file)

    code, output = _check(config_file)

    assert code == 0, output
    assert _results(output)["Keystone"] == (
        "Success", "The service user gets tokens and can use trusts.")

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
"""The devstack plugin, sourced by a harness that stands in for devstack.

devstack itself cannot run here. The harness defines the devstack
functions the plugin calls: those that would change the host (packages,
Keystone, processes) record their arguments, while ``iniset`` writes the
file for real. The real ``oslo-config-generator`` and ``qinling-db-manage``
then run on the plugin's configuration.
"""

import configparser
import os
import shlex
import subprocess
import sys

import pytest

from qinling.db import migration

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)

HARNESS = r'''
set -e
record() { printf '%s\n' "$*" >> "$RECORD"; }
trueorfalse() {
    local v=${!2:-$1}
    [[ "$v" =~ ^(True|true|1|yes)$ ]] && echo True || echo False
}
get_python_exec_prefix() { echo "$FAKE_BIN"; }
enable_service() { record enable_service "$@"; }
is_service_enabled() { return 0; }
echo_summary() { record echo_summary "$@"; }
die() { record die "$@"; exit 1; }
install_package() { record install_package "$@"; }
setup_develop() { record setup_develop "$@"; }
use_library_from_git() { return 1; }
pip_install_gr() { record pip_install_gr "$@"; }
create_service_user() { record create_service_user "$@"; }
get_or_create_service() { record get_or_create_service "$@"; echo svc-id; }
get_or_create_endpoint() { record get_or_create_endpoint "$@"; }
get_or_add_user_project_role() { record get_or_add_user_project_role "$@"; }
database_connection_url() { echo "sqlite:///$WORK/$1.sqlite"; }
recreate_database() { record recreate_database "$@"; rm -f "$WORK/$1.sqlite"; }
iniset_rpc_backend() {
    record iniset_rpc_backend "$@"
    iniset "$2" "$3" transport_url "rabbit://stackrabbit:secret@127.0.0.1:5672/"
}
configure_keystone_authtoken_middleware() {
    record configure_keystone_authtoken_middleware "$@"
    iniset "$1" keystone_authtoken auth_type password
    iniset "$1" keystone_authtoken auth_url "$KEYSTONE_SERVICE_URI"
    iniset "$1" keystone_authtoken username "$2"
    iniset "$1" keystone_authtoken password secret
}
iniset() { "$PYTHON" "$WORK/iniset.py" "$@"; }
run_process() { record run_process "$@"; }
stop_process() { record stop_process "$@"; }
wait_for_service() { record wait_for_service "$@"; }
openstack() { record openstack "$@"; }
sudo() { "$@"; }

source "$QINLING_DIR/devstack/settings"
for phase in "stack install" "stack post-config" "stack extra" unstack clean
do
    if [ "$phase" == clean ] && [ -n "$KEEP_FILES" ]; then
        continue
    fi
    source "$QINLING_DIR/devstack/plugin.sh" $phase
done
'''

INISET = r'''
import configparser, sys
path, section, key, value = sys.argv[1:5]
parser = configparser.ConfigParser(interpolation=None, strict=False)
parser.optionxform = str
parser.read(path)
if section != "DEFAULT" and not parser.has_section(section):
    parser.add_section(section)
parser.set(section, key, value)
with open(path, "w") as f:
    parser.write(f)
'''


def _run_plugin(tmp_path, keep_files=True, **settings):
    work = str(tmp_path)
    with open(os.path.join(work, "iniset.py"), "w") as f:
        f.write(INISET)
    record = os.path.join(work, "record")
    env = dict(
        os.environ, PATH=BIN + os.pathsep + os.environ["PATH"],
        PYTHON=sys.executable, WORK=work, RECORD=record, FAKE_BIN=BIN,
        QINLING_DIR=REPO, DEST=work, DATA_DIR=os.path.join(work, "data"),
        GIT_BASE="https://opendev.org", SERVICE_HOST="192.0.2.10",
        SERVICE_PROTOCOL="http", REGION_NAME="RegionOne",
        KEYSTONE_SERVICE_URI="http://192.0.2.10/identity",
        SERVICE_TIMEOUT="60", STACK_USER=_user(),
        QINLING_CONF_DIR=os.path.join(work, "etc"),
        QINLING_FUNCTION_STORAGE_DIR=os.path.join(work, "packages"),
        KEEP_FILES="1" if keep_files else "", **settings)
    done = subprocess.run(["bash", "-c", "declare -A GITREPO GITBRANCH "
                           "GITDIR; " + HARNESS], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with open(record) as f:
        calls = [shlex.split(line) if "'" not in line else line.split()
                 for line in f.read().splitlines()]
    return work, calls


def _user():
    import pwd
    return pwd.getpwuid(os.getuid()).pw_name


def _config(work):
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read(os.path.join(work, "etc", "qinling.conf"))
    return parser


def test_plugin_registers_the_service_and_writes_the_config(tmp_path):
    work, calls = _run_plugin(tmp_path)

    assert ["create_service_user", "qinling", "admin"] in calls
    assert ["get_or_create_service", "qinling", "function-engine",
            "Function", "Service"] in calls
    url = "http://192.0.2.10:7070"
    assert ["get_or_create_endpoint", "svc-id", "RegionOne", url, url,
            url] in calls
    conf = _config(work)
    assert conf["database"]["connection"] == "sqlite:///%s/qinling.sqlite" \
        % work
    assert conf["DEFAULT"]["transport_url"] == \
        "rabbit://stackrabbit:secret@127.0.0.1:5672/"
    assert conf["keystone_authtoken"]["www_authenticate_uri"] == \
        "http://192.0.2.10/identity"
    assert conf["keystone_authtoken"]["username"] == "qinling"
    assert conf["pecan"]["auth_enable"] == "True"
    assert conf["engine"]["orchestrator"] == "local"
    assert conf["local"]["pool_size"] == "2"
    assert conf["api"]["port"] == "7070"
    assert conf["oslo_policy"]["policy_file"] == os.path.join(
        work, "etc", "policy.yaml")
    assert os.path.isfile(os.path.join(work, "etc", "policy.yaml"))
    # The generated sample has a [kubernetes] header, all of it commented.
    assert not conf.has_section("kubernetes") or \
        set(conf["kubernetes"]) <= set(conf.defaults())


def test_plugin_migrates_the_database_and_starts_both_services(tmp_path):
    work, calls = _run_plugin(tmp_path)

    assert ["recreate_database", "qinling", "utf8"] in calls
    conf_file = os.path.join(work, "etc", "qinling.conf")
    current = subprocess.run(
        [os.path.join(BIN, "qinling-db-manage"), "--config-file",
         conf_file, "current"], capture_output=True, text=True, timeout=60)
    assert current.stdout.strip().splitlines()[-1] == \
        migration.head_revision(), current.stderr
    started = [c[1] for c in calls if c[0] == "run_process"]
    assert started == ["qinling-engine", "qinling-api"]
    assert ["run_process", "qinling-api",
            "%s/qinling-api --config-file %s" % (BIN, conf_file)] in \
        [c[:2] + [" ".join(c[2:])] for c in calls if c[0] == "run_process"]
    assert ["wait_for_service", "60", "http://192.0.2.10:7070/healthcheck"] \
        in calls


def test_plugin_registers_the_python3_and_nodejs_runtimes(tmp_path):
    _, calls = _run_plugin(tmp_path)

    created = [c for c in calls if c[:4] == [
        "openstack", "--os-cloud", "devstack-admin", "runtime"]
        and c[4] == "create"]
    assert created == [
        ["openstack", "--os-cloud", "devstack-admin", "runtime", "create",
         "--name", "python3", "openstackqinling/python3-runtime"],
        ["openstack", "--os-cloud", "devstack-admin", "runtime", "create",
         "--name", "nodejs", "openstackqinling/nodejs-runtime"]]


def test_plugin_installs_bubblewrap_and_node_for_the_local_driver(tmp_path):
    _, calls = _run_plugin(tmp_path)

    assert ["install_package", "bubblewrap", "nodejs"] in calls
    assert ["setup_develop", REPO] in calls
    assert ["pip_install_gr", "python-qinlingclient"] in calls


def test_plugin_writes_the_kubernetes_settings_when_chosen(tmp_path):
    work, calls = _run_plugin(tmp_path, QINLING_ORCHESTRATOR="kubernetes",
                              QINLING_K8S_API_HOST="https://10.0.0.5:6443")

    conf = _config(work)
    assert conf["engine"]["orchestrator"] == "kubernetes"
    assert conf["kubernetes"]["kube_host"] == "https://10.0.0.5:6443"
    assert conf["kubernetes"]["namespace"] == "qinling"
    assert conf["kubernetes"]["replicas"] == "5"
    assert conf["kubernetes"]["use_api_certificate"] == "True"
    assert conf["kubernetes"]["ssl_ca_cert"] == os.path.join(
        work, "etc", "pki", "kubernetes", "ca.crt")
    assert not conf.has_option("local", "pool_size")
    assert not [c for c in calls if c[0] == "install_package"]


def test_unstack_stops_and_clean_removes_what_stack_made(tmp_path):
    work, calls = _run_plugin(tmp_path, keep_files=False)

    assert ["stop_process", "qinling-api"] in calls
    assert ["stop_process", "qinling-engine"] in calls
    assert not os.path.exists(os.path.join(work, "etc"))
    assert not os.path.exists(os.path.join(work, "packages"))


def test_plugin_passes_bashate():
    bashate = os.path.join(BIN, "bashate")
    if not os.path.exists(bashate):
        pytest.skip("bashate is not installed (test-requirements.txt)")
    done = subprocess.run(
        [bashate, "-i", "E006", os.path.join(REPO, "devstack", "plugin.sh"),
         os.path.join(REPO, "devstack", "settings")],
        capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stdout + done.stderr

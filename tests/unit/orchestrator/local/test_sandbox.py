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
"""The command a worker is started with."""

import os

from qinling.orchestrator.local import sandbox


def test_worker_gets_a_minimal_environment_not_the_services(monkeypatch):
    monkeypatch.setenv("QINLING_DB_PASSWORD", "secret")
    command = sandbox.worker_command("python3", "/w/rt-1", "/srv/server.py")
    assert command.env == {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/w/rt-1",
        "TMPDIR": os.path.join("/w/rt-1", "tmp"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def test_worker_listens_on_a_socket_in_its_own_directory():
    command = sandbox.worker_command("python3", "/w/rt-1", "/srv/server.py")
    assert command.argv[1:] == (
        "/srv/server.py", "--socket", "/w/rt-1/worker.sock",
        "--packages", "/w/rt-1/packages")

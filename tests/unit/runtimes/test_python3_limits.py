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
"""The Python 3 runtime's rlimits, inherited socket and slot parsing."""

import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from qinling.orchestrator import worker_client
from qinling.orchestrator.local import images

SERVER = images.server_files("python3", "python3")[0]
RESOURCE_MESSAGE = ("Function execution failed because of too much "
                    "resource consumption")


@pytest.fixture
def start(short_tmp_dir):
    """Start a server with extra arguments on an inherited socket."""
    started = []

    def run(*args):
        packages = os.path.join(short_tmp_dir, "packages")
        os.makedirs(packages, exist_ok=True)
        path = os.path.join(short_tmp_dir, f"s{len(started)}.sock")
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(path)
        listener.listen()
        try:
            process = subprocess.Popen(
                [sys.executable, SERVER, "--socket-fd",
                 str(listener.fileno()), "--packages", packages, *args],
                pass_fds=[listener.fileno()], start_new_session=True,
                env={"PATH": "/usr/bin:/bin", "TMPDIR": short_tmp_dir})
        finally:
            listener.close()
        started.append(process)
        client = worker_client.WorkerClient(path)
        deadline = time.monotonic() + 30
        while not client.ping(timeout=1):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.02)
        return client, packages

    yield run
    for process in started:
        process.terminate()
        process.wait(10)


def deploy(packages, code, module="main"):
    function_id = uuid.uuid4().hex
    os.makedirs(os.path.join(packages, function_id))
    with open(os.path.join(packages, function_id, module + ".py"), "w") as f:
        f.write(textwrap.dedent(code))
    return function_id


def execute(client, function_id, fn_input=None, timeout=10, **extra):
    body = {"execution_id": "e-1", "function_id": function_id,
            "entry": "main.main", "input": fn_input, "timeout": timeout,
            "memory_size": 32 * 1024 * 1024}
    body.update(extra)
    return client.execute(body, timeout)


def test_an_inherited_socket_is_served(start):
    client, packages = start()
    fid = deploy(packages, "def main():\n    return 'hi'\n")

    assert execute(client, fid)["output"] == "hi"


def test_memory_past_memory_size_fails_under_the_address_space_rlimit(
        start):
    client, packages = start("--rlimit-memory")
    fid = deploy(packages, """
        def main(mb):
            block = bytearray(mb * 1024 * 1024)
            return len(block)
    """)

    too_much = execute(client, fid, {"mb": 64})
    fine = execute(client, fid, {"mb": 4})

    assert (too_much["success"], too_much["output"]) == (False,
                                                         RESOURCE_MESSAGE)
    assert "MemoryError" in too_much["logs"]
    assert fine["output"] == 4 * 1024 * 1024


def test_open_files_are_limited(start):
    client, packages = start("--max-open-files", "64")
    fid = deploy(packages, """
        import os

        def main():
            files = []
            try:
                while True:
                    files.append(open(os.devnull))
            except OSError:
                return len(files)
    """)

    assert execute(client, fid)["output"] < 64


def test_a_users_module_may_share_a_name_with_the_runtimes(start):
    client, packages = start()
    fid = deploy(packages, "def main():\n    import helper\n"
                           "    return helper.VALUE\n")
    with open(os.path.join(packages, fid, "runtime_limits.py"), "w") as f:
        f.write("VALUE = 'mine'\n")
    with open(os.path.join(packages, fid, "helper.py"), "w") as f:
        f.write("from runtime_limits import VALUE\n")

    assert execute(client, fid)["output"] == "mine"


def test_the_execution_reports_cpu_time_and_memory_peak(start):
    client, packages = start()
    fid = deploy(packages, """
        import time

        def main():
            while time.process_time() < 0.2:
                pass
    """)

    answer = execute(client, fid)

    assert 0.15 <= answer["cpu_time"] <= 0.6
    assert answer["memory_peak"] > 1024 * 1024

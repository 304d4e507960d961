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
"""The Node.js runtime server, started for real on a unix socket."""

import os
import shutil
import signal
import subprocess
import tempfile
import textwrap
import threading
import time
import uuid

import pytest

from qinling.orchestrator import worker_client
from qinling.orchestrator.local import images

NODE = shutil.which("node")
SERVER = images.server_files("nodejs", "nodejs")[0]
TIMEOUT_MESSAGE = "Function execution timeout."
RESOURCE_MESSAGE = ("Function execution failed because of too much "
                    "resource consumption")

pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is missing")


class NodeRuntime:
    """A running server.js, its packages directory and a client."""

    def __init__(self, root, *args):
        self.packages = os.path.join(root, "packages")
        self.socket = os.path.join(root, "n.sock")
        os.makedirs(self.packages)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
               "HOME": root, "TMPDIR": root}
        with open(os.path.join(root, "server.log"), "wb") as log:
            self.process = subprocess.Popen(
                [NODE, SERVER, "--socket", self.socket, "--packages",
                 self.packages, *args], env=env, cwd=root, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        self.client = worker_client.WorkerClient(self.socket)
        deadline = time.monotonic() + 30
        while not self.client.ping(timeout=1):
            if self.process.poll() is not None or \
                    time.monotonic() > deadline:
                self.stop()
                pytest.fail("The Node.js runtime server did not start")
            time.sleep(0.02)

    def deploy(self, code, module="main"):
        function_id = uuid.uuid4().hex
        func_dir = os.path.join(self.packages, function_id)
        os.makedirs(func_dir)
        with open(os.path.join(func_dir, module + ".js"), "w") as f:
            f.write(textwrap.dedent(code))
        return function_id

    def execute(self, function_id, fn_input=None, entry="main.main",
                timeout=5, **extra):
        body = {"execution_id": str(uuid.uuid4()), "function_id": function_id,
                "function_version": 0, "entry": entry, "input": fn_input,
                "timeout": timeout, "cpu": 100,
                "memory_size": 32 * 1024 * 1024}
        body.update(extra)
        return self.client.execute(body, timeout)

    def post(self, path, raw_body):
        conn = worker_client.UnixHTTPConnection(self.socket, timeout=10)
        try:
            conn.request("POST", path, body=raw_body)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def stop(self):
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture(scope="module")
def runtime():
    root = tempfile.mkdtemp(prefix="qtn-", dir="/tmp")
    server = NodeRuntime(root)
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


def test_ping_answers_pong(runtime):
    conn = worker_client.UnixHTTPConnection(runtime.socket, timeout=5)
    conn.request("GET", "/ping")
    resp = conn.getresponse()
    assert (resp.status, resp.read()) == (200, b"pong")
    conn.close()


def test_the_handler_gets_an_empty_context_and_the_input(runtime):
    fid = runtime.deploy("""
        exports.main = async (context, input) => ({context, input});
    """)

    answer = runtime.execute(fid, {"name": "x"})

    assert answer["success"] is True
    assert answer["output"] == {"context": {}, "input": {"name": "x"}}
    assert answer["cpu_time"] >= 0 and answer["memory_peak"] > 0


def test_a_raw_input_reaches_the_handler_as_upstream_sent_it(runtime):
    fid = runtime.deploy("exports.main = (context, input) => input;\n")

    answer = runtime.execute(fid, {"__function_input": "plain"})

    assert answer["output"] == {"__function_input": "plain"}


def test_an_entry_names_module_and_handler(runtime):
    fid = runtime.deploy("exports.hello = () => 'hi';\n", module="greet")

    assert runtime.execute(fid, entry="greet.hello")["output"] == "hi"


def test_stdout_and_stderr_are_the_log_in_order(runtime):
    fid = runtime.deploy("""
        exports.main = () => {
          console.log('one');
          console.error('two');
          process.stdout.write('three\\n');
          return null;
        };
    """)

    logs = runtime.execute(fid)["logs"].splitlines()

    assert logs[1:4] == ["one", "two", "three"]
    assert logs[0].startswith("Start execution: ")
    assert logs[4].startswith("Finished execution: ")


def test_an_exception_fails_with_its_message_and_stack_in_logs(runtime):
    fid = runtime.deploy("""
        exports.main = () => { throw new Error('boom'); };
    """)

    answer = runtime.execute(fid)

    assert (answer["success"], answer["output"]) == (False, "boom")
    assert "Error: boom" in answer["logs"]


def test_a_rejected_promise_fails_the_execution(runtime):
    fid = runtime.deploy("""
        exports.main = async () => { throw new TypeError('nope'); };
    """)

    assert runtime.execute(fid)["output"] == "nope"


def test_a_timeout_kills_the_execution_and_the_server_goes_on(runtime):
    fid = runtime.deploy("""
        exports.main = (context, input) => {
          if (input.spin) { for (;;) {} }
          return 'fine';
        };
    """)

    slow = runtime.execute(fid, {"spin": True}, timeout=1)
    fast = runtime.execute(fid, {"spin": False})

    assert (slow["success"], slow["output"]) == (False, TIMEOUT_MESSAGE)
    assert fast["output"] == "fine"


def test_process_exit_is_reported(runtime):
    fid = runtime.deploy("exports.main = () => process.exit(3);\n")

    answer = runtime.execute(fid)

    assert (answer["success"], answer["output"]) == (
        False, "Function called process.exit(3).")


def test_module_state_does_not_leak_between_executions(runtime):
    fid = runtime.deploy("""
        let calls = 0;
        exports.main = () => { calls += 1; return calls; };
    """)

    assert [runtime.execute(fid)["output"] for _ in range(3)] == [1, 1, 1]


def test_concurrent_executions_all_succeed(runtime):
    fid = runtime.deploy("""
        exports.main = (context, input) => new Promise(
          (resolve) => setTimeout(() => resolve(input.n), 200));
    """)
    results = {}

    def run(n):
        results[n] = runtime.execute(fid, {"n": n})["output"]

    threads = [threading.Thread(target=run, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == {n: n for n in range(5)}


def test_a_missing_package_without_download_url_fails_clearly(runtime):
    answer = runtime.execute("nope")

    assert answer["success"] is False
    assert answer["output"] == ("The package of function nope is not "
                                "available in this worker and no "
                                "download_url was given.")


@pytest.mark.parametrize("body,status", [
    (b"not json", 400), (b'{"execution_id": "e"}', 400),
    (b'{"execution_id": "e", "function_id": "../x"}', 400)])
def test_bad_bodies_are_rejected(runtime, body, status):
    assert runtime.post("/execute", body)[0] == status


def test_unknown_path_is_404(runtime):
    assert runtime.post("/nope", b"{}")[0] == 404


def test_memory_is_limited_by_the_heap_without_cgroups(short_tmp_dir):
    server = NodeRuntime(os.path.join(short_tmp_dir, "r"), "--rlimit-memory")
    try:
        fid = server.deploy("""
            exports.main = () => {
              const keep = [];
              for (;;) { keep.push(new Array(100000).fill(1)); }
            };
        """)

        answer = server.execute(fid, timeout=20)

        assert (answer["success"], answer["output"]) == (False,
                                                         RESOURCE_MESSAGE)
    finally:
        server.stop()


def test_a_result_over_the_limit_fails_naming_the_limit(short_tmp_dir):
    server = NodeRuntime(os.path.join(short_tmp_dir, "r"),
                         "--max-result-size", "1000")
    try:
        fid = server.deploy("""
            exports.main = (context, input) => 'x'.repeat(input.size);
        """)

        small = server.execute(fid, {"size": 900})
        large = server.execute(fid, {"size": 100 * 1024})
    finally:
        server.stop()

    assert (small["success"], small["output"]) == (True, "x" * 900)
    assert (large["success"], large["output"]) == (
        False, "The function's result exceeded the limit of 1000 bytes.")


def test_a_function_writes_files_in_its_own_directory(runtime):
    fid = runtime.deploy("""
        const fs = require('fs');
        exports.main = () => {
          fs.writeFileSync('made-here', 'x');
          return [fs.readdirSync('.'), process.cwd() === process.env.TMPDIR];
        };
    """)

    first = runtime.execute(fid)
    again = runtime.execute(fid)

    assert (first["success"], first["output"]) == (True, [["made-here"],
                                                          True])
    assert again["output"] == [["made-here"], True]

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
"""The Python 3 runtime server, started for real on a unix socket."""

import http.client
import http.server
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
import zipfile

import pytest

from qinling.orchestrator import worker_client
from qinling.runtimes.python3 import server as server_module

SERVER = server_module.__file__
TIMEOUT_MESSAGE = "Function execution timeout."
RESOURCE_MESSAGE = ("Function execution failed because of too much "
                    "resource consumption")


class Runtime:
    """A running server, its packages directory and a client."""

    def __init__(self, root, extra=()):
        self.root = root
        self.packages = os.path.join(root, "packages")
        self.tmp = os.path.join(root, "tmp")
        self.socket = os.path.join(root, "w.sock")
        os.makedirs(self.packages)
        os.makedirs(self.tmp)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
               "HOME": root, "TMPDIR": self.tmp}
        with open(os.path.join(root, "server.log"), "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, SERVER, "--socket", self.socket,
                 "--packages", self.packages, *extra],
                env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        self.client = worker_client.WorkerClient(self.socket)
        self._wait_until_ready()

    def _wait_until_ready(self):
        deadline = time.monotonic() + 30
        while not self.client.ping(timeout=1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail("The runtime server did not start")
            time.sleep(0.01)

    def deploy(self, code, function_id=None):
        function_id = function_id or uuid.uuid4().hex
        func_dir = os.path.join(self.packages, function_id)
        os.makedirs(func_dir)
        with open(os.path.join(func_dir, "main.py"), "w") as f:
            f.write(textwrap.dedent(code))
        return function_id

    def execute(self, function_id, fn_input=None, timeout=5, **extra):
        body = {"execution_id": str(uuid.uuid4()), "function_id": function_id,
                "function_version": 0, "entry": "main.main",
                "input": fn_input, "timeout": timeout, "cpu": 100,
                "memory_size": 32 * 1024 * 1024, "download_url": None,
                "request_id": "req-1"}
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
    root = tempfile.mkdtemp(prefix="qt-", dir="/tmp")
    server = Runtime(root)
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def fresh_runtime(short_tmp_dir):
    server = Runtime(os.path.join(short_tmp_dir, "r"))
    yield server
    server.stop()


def is_running(pid):
    """Whether pid is a live process (a zombie is not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def ends_soon(pid):
    """Whether pid ends within 10 s (a SIGKILL is delivered asynchronously)."""
    deadline = time.monotonic() + 10
    while is_running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_ping_answers_pong(runtime):
    conn = worker_client.UnixHTTPConnection(runtime.socket, timeout=5)
    conn.request("GET", "/ping")
    resp = conn.getresponse()
    assert (resp.status, resp.read()) == (200, b"pong")
    conn.close()


def test_dict_input_becomes_keyword_arguments(runtime):
    fid = runtime.deploy("""
        def main(name, greeting="hello", context=None):
            return f"{greeting} {name}"
    """)
    result = runtime.execute(fid, {"name": "qinling", "greeting": "hi"})
    assert result["success"] is True
    assert result["output"] == "hi qinling"
    assert isinstance(result["duration"], float)


def test_raw_input_is_one_positional_argument(runtime):
    fid = runtime.deploy("""
        def main(raw, context):
            return raw
    """)
    result = runtime.execute(fid, {"__function_input": "a b c"})
    assert (result["success"], result["output"]) == (True, "a b c")


def test_no_input_passes_only_the_context(runtime):
    fid = runtime.deploy("""
        def main(context):
            return context
    """)
    result = runtime.execute(fid, None)
    # Upstream's shape: os_session is None when the request has no token.
    assert (result["success"], result["output"]) == (
        True, {"os_session": None})


def test_function_without_context_parameter_works(runtime):
    fid = runtime.deploy("""
        def main(name):
            return name.upper()
    """)
    result = runtime.execute(fid, {"name": "abc"})
    assert (result["success"], result["output"]) == (True, "ABC")


def test_input_that_does_not_fit_the_signature_fails_clearly(runtime):
    fid = runtime.deploy("""
        def main(name):
            return name
    """)
    result = runtime.execute(fid, {"name": "a", "x": 1})
    assert result["success"] is False
    assert result["output"] == "main() got an unexpected keyword argument 'x'"


def test_stdout_stderr_and_subprocess_output_are_in_the_logs(runtime):
    fid = runtime.deploy("""
        import os
        import sys

        def main():
            print("to stdout")
            sys.stderr.write("to stderr\\n")
            os.system("echo from a shell")
            return "done"
    """)
    result = runtime.execute(fid)
    assert result["success"] is True
    for line in ("to stdout", "to stderr", "from a shell"):
        assert line in result["logs"]


def test_exception_fails_with_its_message_and_traceback_in_logs(runtime):
    fid = runtime.deploy("""
        def main():
            raise ValueError("bad value")
    """)
    result = runtime.execute(fid)
    assert (result["success"], result["output"]) == (False, "bad value")
    assert "Traceback (most recent call last)" in result["logs"]
    assert "ValueError: bad value" in result["logs"]


def test_exception_without_message_reports_its_class_name(runtime):
    fid = runtime.deploy("""
        def main():
            raise KeyError
    """)
    result = runtime.execute(fid)
    assert (result["success"], result["output"]) == (False, "KeyError")


def test_return_value_that_is_not_json_becomes_its_string(runtime):
    fid = runtime.deploy("""
        def main():
            return {1, 2}
    """)
    result = runtime.execute(fid)
    assert (result["success"], result["output"]) == (True, "{1, 2}")


def test_timeout_kills_the_execution_and_its_children(runtime, tmp_path):
    pid_file = str(tmp_path / "sleep.pid")
    fid = runtime.deploy("""
        import subprocess
        import time

        def main(pid_file):
            child = subprocess.Popen(["sleep", "60"])
            with open(pid_file, "w") as f:
                f.write(str(child.pid))
            time.sleep(60)
    """)
    result = runtime.execute(fid, {"pid_file": pid_file}, timeout=1)
    assert (result["success"], result["output"]) == (False, TIMEOUT_MESSAGE)
    with open(pid_file) as f:
        assert ends_soon(int(f.read()))


def test_server_keeps_serving_after_a_timeout(runtime):
    slow = runtime.deploy("""
        import time

        def main():
            time.sleep(60)
    """)
    fast = runtime.deploy("""
        def main():
            return "still here"
    """)
    assert runtime.execute(slow, timeout=1)["output"] == TIMEOUT_MESSAGE
    assert runtime.client.ping()
    assert runtime.execute(fast)["output"] == "still here"


@pytest.mark.parametrize("code, message", [
    ("import os\ndef main():\n    os._exit(3)\n",
     "The function's process exited with status 3 before returning a "
     "result."),
    ("import os, signal\ndef main():\n"
     "    os.kill(os.getpid(), signal.SIGSEGV)\n",
     "The function's process was killed by signal SIGSEGV before returning "
     "a result."),
    # Without a memory cgroup to ask, a SIGKILL may be the memory limit's.
    ("import os, signal\ndef main():\n"
     "    os.kill(os.getpid(), signal.SIGKILL)\n", RESOURCE_MESSAGE),
])
def test_a_child_dying_without_result_reports_how_it_died(runtime, code,
                                                          message):
    fid = runtime.deploy(code)
    result = runtime.execute(fid)
    assert (result["success"], result["output"]) == (False, message)


@pytest.mark.parametrize("code, message", [
    ("import os\ndef main():\n    os.close(1)\n    print('x')\n",
     "[Errno 9] Bad file descriptor"),
    ("import os\ndef main():\n    os.close(1)\n    os.close(2)\n"
     "    print('x')\n", "[Errno 9] Bad file descriptor"),
    ("import os\ndef main():\n    os.closerange(0, 1024)\n    print('x')\n",
     "The function closed the descriptor its result is reported on "
     "([Errno 9] Bad file descriptor)."),
])
def test_a_function_closing_its_output_fails_with_the_real_error(
        runtime, code, message):
    fid = runtime.deploy(code)
    result = runtime.execute(fid)
    assert (result["success"], result["output"]) == (False, message)


def test_a_result_over_the_limit_fails_naming_the_limit(short_tmp_dir):
    limited = Runtime(os.path.join(short_tmp_dir, "r"),
                      extra=("--max-result-size", "1000"))
    try:
        fid = limited.deploy("""
            def main(size):
                return "x" * size
        """)
        small = limited.execute(fid, {"size": 900})
        large = limited.execute(fid, {"size": 100 * 1024})
    finally:
        limited.stop()
    assert (small["success"], small["output"]) == (True, "x" * 900)
    assert (large["success"], large["output"]) == (
        False, "The function's result exceeded the limit of 1000 bytes.")


def test_a_function_writes_files_in_its_own_directory(runtime):
    fid = runtime.deploy("""
        import os

        def main():
            with open("made-here", "w") as f:
                f.write("x")
            return os.listdir("."), os.getcwd() == os.environ["TMPDIR"]
    """)
    result = runtime.execute(fid)
    again = runtime.execute(fid)
    assert result["output"] == [["made-here"], True]
    assert again["output"] == [["made-here"], True]
    assert os.listdir(runtime.tmp) == []


def test_a_functions_own_code_may_use_integers_of_any_length(runtime):
    fid = runtime.deploy("""
        def main():
            return len(str(10 ** 5000))
    """)
    result = runtime.execute(fid)
    assert (result["success"], result["output"]) == (True, 5001)


def test_a_huge_integer_result_fails_clearly(runtime):
    fid = runtime.deploy("""
        def main():
            return 10 ** 5000
    """)
    result = runtime.execute(fid)
    assert result["success"] is False
    assert result["output"].startswith(
        "The function's result cannot be returned as JSON: Exceeds the "
        "limit (4300 digits)")


def test_module_state_does_not_leak_between_executions(runtime):
    fid = runtime.deploy("""
        COUNT = 0

        def main():
            global COUNT
            COUNT += 1
            return COUNT
    """)
    outputs = [runtime.execute(fid)["output"] for _ in range(3)]
    assert outputs == [1, 1, 1]


def test_the_environment_is_the_executions_own(runtime):
    fid = runtime.deploy("""
        import os

        def main():
            return {k: os.environ.get(k) for k in ("GREETING", "TMPDIR")}
    """)
    seen = runtime.execute(fid, environment={"GREETING": "hello"})
    assert seen["success"] is True
    assert seen["output"]["GREETING"] == "hello"
    # The execution's own TMPDIR still wins, and the next execution, with
    # no environment, sees nothing of the previous one's.
    assert seen["output"]["TMPDIR"] != runtime.tmp
    later = runtime.execute(fid)
    assert later["output"]["GREETING"] is None


@pytest.mark.parametrize("environment", [
    ["A"], {"A": 1}, {"A=B": "x"}, {"A": "nul\x00"}])
def test_an_environment_not_of_names_to_strings_is_400(runtime,
                                                        environment):
    fid = runtime.deploy("def main():\n    return 1\n")
    status, body = runtime.post("/execute", json.dumps({
        "execution_id": "e", "function_id": fid,
        "environment": environment}).encode())
    assert status == 400
    assert json.loads(body)["output"] == (
        "environment must be an object of names to strings.")


def test_concurrent_executions_all_succeed(runtime):
    fid = runtime.deploy("""
        import time

        def main(n):
            time.sleep(0.3)
            return n * 2
    """)
    results = {}

    def run(n):
        results[n] = runtime.execute(fid, {"n": n})

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {n: (r["success"], r["output"]) for n, r in results.items()} == {
        n: (True, n * 2) for n in range(4)}


def test_large_logs_are_truncated_with_a_note(runtime):
    fid = runtime.deploy("""
        import sys

        def main():
            sys.stdout.write("x" * (2 * 1024 * 1024))
    """)
    result = runtime.execute(fid)
    assert result["success"] is True
    assert len(result["logs"]) < 1024 * 1024 + 200
    assert "[logs truncated" in result["logs"]


def test_execution_files_are_deleted_after_the_execution(runtime):
    fid = runtime.deploy("""
        def main():
            print("something")
    """)
    runtime.execute(fid)
    assert os.listdir(runtime.tmp) == []


def test_missing_package_without_download_url_fails_clearly(runtime):
    result = runtime.execute("no-such-function")
    assert result["success"] is False
    assert result["output"] == (
        "The package of function no-such-function is not available in this "
        "worker and no download_url was given.")


def test_non_json_body_is_rejected_with_400(runtime):
    status, body = runtime.post("/execute", b"not json")
    assert status == 400
    assert json.loads(body) == {
        "output": "The request body is not valid JSON.", "success": False}


def test_body_without_function_id_is_rejected_with_400(runtime):
    status, body = runtime.post("/execute", b'{"execution_id": "e"}')
    assert status == 400
    assert json.loads(body)["output"] == "The request body has no function_id."


def test_unknown_path_is_404(runtime):
    status, _ = runtime.post("/nothing", b"{}")
    assert status == 404


def _zip_bytes(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.fixture
def package_site():
    """An HTTP server on 127.0.0.1 serving zips, recording tokens."""
    site = {"files": {}, "tokens": []}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            site["tokens"].append(self.headers.get("X-Auth-Token"))
            data = site["files"].get(self.path)
            self.send_response(200 if data else 404)
            self.send_header("Content-Length", str(len(data or b"")))
            self.end_headers()
            self.wfile.write(data or b"")

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    site["url"] = f"http://127.0.0.1:{httpd.server_port}"
    yield site
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_missing_package_is_downloaded_with_the_token(runtime, package_site):
    package_site["files"]["/f1.zip"] = _zip_bytes(
        {"main.py": "def main():\n    return 'downloaded'\n"})
    fid = uuid.uuid4().hex
    result = runtime.execute(fid, download_url=package_site["url"] + "/f1.zip",
                             token="secret-token")
    assert (result["success"], result["output"]) == (True, "downloaded")
    assert package_site["tokens"] == ["secret-token"]
    assert os.path.isfile(os.path.join(runtime.packages, fid, "main.py"))


def test_downloaded_package_escaping_its_directory_is_rejected(
        runtime, package_site):
    package_site["files"]["/evil.zip"] = _zip_bytes(
        {"../evil.py": "def main():\n    return 'evil'\n"})
    fid = uuid.uuid4().hex
    result = runtime.execute(
        fid, download_url=package_site["url"] + "/evil.zip")
    assert result["success"] is False
    assert "escapes the package directory" in result["output"]
    assert not os.path.exists(os.path.join(runtime.packages, "evil.py"))
    assert not os.path.exists(os.path.join(runtime.packages, fid))


def test_sigterm_stops_the_server_and_removes_its_socket(fresh_runtime):
    fresh_runtime.process.send_signal(signal.SIGTERM)
    assert fresh_runtime.process.wait(10) == 0
    assert not os.path.exists(fresh_runtime.socket)


# The spare child: forked, in its slot, before its execution.

PID_FUNCTION = """
    import os

    def main(**kwargs):
        return os.getpid()
"""


def spare_of(runtime, not_pid=None):
    """The pid of the server's one waiting child (its spare), waiting up
    to 10 s for it to be forked."""
    deadline = time.monotonic() + 10
    while True:
        children = [int(p) for p in subprocess.run(
            ["pgrep", "-P", str(runtime.process.pid)], capture_output=True,
            text=True).stdout.split()]
        live = [p for p in children if is_running(p) and p != not_pid]
        if len(live) == 1:
            return live[0]
        assert time.monotonic() < deadline, children
        time.sleep(0.01)


def test_the_next_execution_runs_in_the_spare_child(fresh_runtime):
    function_id = fresh_runtime.deploy(PID_FUNCTION)
    spare = spare_of(fresh_runtime)

    first = fresh_runtime.execute(function_id)
    after = spare_of(fresh_runtime, not_pid=spare)
    group = os.getpgid(after)
    second = fresh_runtime.execute(function_id)

    assert (first["success"], first["output"]) == (True, spare)
    assert (second["success"], second["output"]) == (True, after)
    assert after != spare
    assert group == after


def test_a_dead_spare_does_not_fail_the_next_execution(fresh_runtime):
    function_id = fresh_runtime.deploy(PID_FUNCTION)
    spare = spare_of(fresh_runtime)
    os.kill(spare, signal.SIGKILL)
    assert ends_soon(spare)

    result = fresh_runtime.execute(function_id)

    assert result["success"] is True, result
    assert result["output"] != spare


def test_the_spare_child_ends_with_the_server(fresh_runtime):
    spare = spare_of(fresh_runtime)

    fresh_runtime.process.send_signal(signal.SIGTERM)

    assert fresh_runtime.process.wait(10) == 0
    assert ends_soon(spare)


def test_without_spare_child_each_execution_forks_its_own(short_tmp_dir):
    runtime = Runtime(os.path.join(short_tmp_dir, "r"),
                      extra=("--no-spare-child",))
    try:
        function_id = runtime.deploy(PID_FUNCTION)
        first = runtime.execute(function_id)
        second = runtime.execute(function_id)
        deadline = time.monotonic() + 10
        while [p for p in subprocess.run(
                ["pgrep", "-P", str(runtime.process.pid)],
                capture_output=True, text=True).stdout.split()
                if is_running(int(p))]:
            assert time.monotonic() < deadline, "a child stays"
            time.sleep(0.01)
    finally:
        runtime.stop()

    assert first["success"] and second["success"]
    assert first["output"] != second["output"]

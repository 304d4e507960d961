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
"""Baselines, measured in the same run on the same machine.

Each scenario is reported as a ratio to one of these, so that results
stay comparable on a slow or noisy machine:

* ``in-process call``: calling the no-op function in this process;
* ``fork + call``: a process that has already imported the function (and
  what a runtime server imports) forks a child that calls it and sends the
  result back through a pipe; measured per fork, call and reap;
* ``python3 start + call``: starting the interpreter to call it;
* ``loopback HTTP``: one keep-alive HTTP round trip to a tiny server in
  another process, with the client the scenarios use;
* ``idle python3 (USS)``: the memory of an interpreter doing nothing.
"""

import importlib.util
import json
import os
import subprocess
import sys
import time

from qinling.benchmark import client
from qinling.benchmark import procfs
from qinling.benchmark import session
from qinling.benchmark import stats

IN_PROCESS = "in-process call"
FORK = "fork + call"
SPAWN = "python3 start + call"
HTTP = "loopback HTTP"
IDLE_PYTHON = "idle python3 (USS)"

_FORK_HELPER = r"""
import http.server, importlib, json, os, select, socket, sys, time
sys.path.insert(0, sys.argv[1])
func = importlib.import_module("main").main
count, deadline = int(sys.argv[2]), time.monotonic() + float(sys.argv[3])
samples = []
while len(samples) < count and time.monotonic() < deadline:
    start = time.perf_counter()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            os.write(write_fd, json.dumps({"output": func()}).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    chunks = []
    while True:
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(pid, 0)
    json.loads(b"".join(chunks))
    samples.append(time.perf_counter() - start)
print(json.dumps(samples))
"""

_HTTP_HELPER = r"""
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *args):
        pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"status": "success", "result": "{\\"output\\": null}"}'
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever(poll_interval=0.1)
"""


def write_function(directory, source=client.NOOP_SOURCE):
    """Write the function as ``<directory>/main.py``; returns the dir."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "main.py"), "w") as f:
        f.write(source)
    return directory


def in_process(fn_dir, count, budget):
    spec = importlib.util.spec_from_file_location(
        "qinling_benchmark_noop", os.path.join(fn_dir, "main.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    func, clock = module.main, time.perf_counter_ns
    samples, deadline = [], time.monotonic() + budget
    while len(samples) < count and time.monotonic() < deadline:
        start = clock()
        func()
        samples.append((clock() - start) / 1e9)
    return stats.summarize(IN_PROCESS, samples, rate=session.rate(samples))


def fork(fn_dir, count, budget):
    done = subprocess.run(
        [sys.executable, "-c", _FORK_HELPER, fn_dir, str(count),
         str(budget)], capture_output=True, timeout=budget + 30,
        check=True)
    samples = json.loads(done.stdout)
    return stats.summarize(FORK, samples, rate=session.rate(samples))


def spawn(fn_dir, count, budget):
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "import main; main.main()")
    samples, errors = [], 0
    deadline = time.monotonic() + budget
    while len(samples) + errors < count and time.monotonic() < deadline:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code, fn_dir],
                              stdin=subprocess.DEVNULL, timeout=30,
                              capture_output=True)
        if done.returncode:
            errors += 1
        else:
            samples.append(time.perf_counter() - start)
    return stats.summarize(SPAWN, samples, errors=errors,
                           rate=session.rate(samples))


def _stop(popen):
    if popen.poll() is None:
        popen.terminate()
        try:
            popen.wait(10)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()


def loopback_http(count, budget):
    popen = subprocess.Popen([sys.executable, "-c", _HTTP_HELPER],
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE)
    try:
        port = int(popen.stdout.readline())
        conn = client.Connection(f"http://127.0.0.1:{port}")
        payload = {"function_id": "baseline", "sync": True}
        samples, errors = [], 0
        deadline = time.monotonic() + budget
        try:
            conn.json("POST", "/v1/executions", payload)  # connect
            while (len(samples) + errors < count
                   and time.monotonic() < deadline):
                start = time.perf_counter()
                status, _ = conn.json("POST", "/v1/executions", payload)
                if status == 201:
                    samples.append(time.perf_counter() - start)
                else:
                    errors += 1
        finally:
            conn.close()
    finally:
        _stop(popen)
        popen.stdout.close()
    return stats.summarize(HTTP, samples, errors=errors,
                           rate=session.rate(samples))


def idle_python(settle_seconds=0.5):
    """USS of an interpreter that started and waits on its stdin."""
    popen = subprocess.Popen([sys.executable, "-c",
                              "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL)
    try:
        time.sleep(settle_seconds)
        usage = procfs.memory(popen.pid)
    finally:
        popen.stdin.close()
        _stop(popen)
    if usage is None:
        return stats.skipped(IDLE_PYTHON, "/proc/<pid>/smaps_rollup is "
                             "not readable")
    return stats.summarize(IDLE_PYTHON, [usage["uss"]], unit=stats.BYTES,
                           **usage)


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
"""The Python 3 runtime server: runs user functions for the engine.

Standard library only, and nothing from ``qinling``: this file runs alone in
a local sandbox or in a container image. Usage::

    python3 server.py --socket PATH [--packages DIR]   # a unix socket
    python3 server.py --port 9090 [--host 0.0.0.0] [--packages DIR]  # TCP

Protocol (upstream Qinling's, see DESIGN.md section 5), HTTP/1.1 keep-alive:

* ``GET /ping`` answers 200 ``pong``.
* ``POST /execute`` with ``{execution_id, function_id, function_version,
  entry, input, timeout, cpu, memory_size, download_url, request_id,
  token?}`` answers 200 ``{"output", "duration", "logs", "success"}`` plus
  ``cpu_time`` (seconds) and ``memory_peak`` (bytes) of the execution.

The code of function F lives in ``<packages>/<F>/``; when that directory is
missing it is downloaded from ``download_url``. Every execution runs in a
child forked from this server (no interpreter start-up, no state shared
between executions), in its own process group, with stdout and stderr
redirected at the file-descriptor level to a private log file.
"""

import argparse
import contextlib
import http.server
import importlib
import inspect
import io
import json
import os
import resource
import select
import shutil
import signal
import socket
import socketserver
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
import warnings
import zipfile

TIMEOUT_MESSAGE = "Function execution timeout."
RESOURCE_MESSAGE = ("Function execution failed because of too much "
                    "resource consumption")
STOPPED_MESSAGE = ("The worker running the execution was stopped before the "
                   "execution finished.")
DEFAULT_TIMEOUT = 5
DEFAULT_ENTRY = "main.main"
MAX_LOG_BYTES = 1024 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024
DOWNLOAD_TIMEOUT = 30

# Python 3.12+ warns about fork() in a threaded process; the child here
# only touches state it creates itself, so the warning is noise.
warnings.filterwarnings("ignore", message=".*fork.*",
                        category=DeprecationWarning)

#: Soft limits applied in every execution child (see apply_limits).
NOFILE_LIMIT = 1024
FSIZE_LIMIT = 500 * 1024 * 1024


class BadRequest(Exception):
    """The request cannot be served; the message is for the caller."""

    def __init__(self, message, code=400):
        super().__init__(message)
        self.code = code


# --- limits ---------------------------------------------------------------

def _lower_soft_limit(kind, value):
    soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    if soft == resource.RLIM_INFINITY or soft > value:
        resource.setrlimit(kind, (value, hard))


def apply_limits(params):
    """Limit the execution child; called in the child before user code.

    This is the one seam for per-execution limits. For now it lowers the
    soft RLIMIT_NOFILE and RLIMIT_FSIZE only; ``params`` (with ``cpu`` and
    ``memory_size``) is passed so that cgroup, memory and CPU limits can be
    added here without touching the rest of the server.

    :param params: the /execute request body.
    """
    _lower_soft_limit(resource.RLIMIT_NOFILE, NOFILE_LIMIT)
    _lower_soft_limit(resource.RLIMIT_FSIZE, FSIZE_LIMIT)


# --- packages -------------------------------------------------------------

def _safe_extract(zip_path, dest):
    """Unzip ``zip_path`` into ``dest``; no member may escape ``dest``."""
    root = os.path.realpath(dest)
    with zipfile.ZipFile(zip_path) as archive:
        for member in archive.infolist():
            target = os.path.realpath(os.path.join(root, member.filename))
            if os.path.commonpath([root, target]) != root:
                raise ValueError(f"package member {member.filename!r} "
                                 "escapes the package directory")
        archive.extractall(root)


class Packages:
    """The directory holding one sub-directory of code per function."""

    def __init__(self, root):
        self.root = os.path.abspath(root)
        self._lock = threading.Lock()

    def path(self, function_id):
        if (not isinstance(function_id, str) or not function_id
                or function_id in (".", "..") or "/" in function_id
                or "\0" in function_id):
            raise BadRequest("Invalid function_id.")
        return os.path.join(self.root, function_id)

    def ensure(self, params):
        """Return the code directory of the function, downloading it.

        :raises BadRequest: the code is missing and cannot be downloaded.
        """
        func_dir = self.path(params["function_id"])
        if os.path.isdir(func_dir):
            return func_dir
        url = params.get("download_url")
        if not url:
            raise BadRequest(f"The package of function {params['function_id']}"
                             " is not available in this worker and no "
                             "download_url was given.", code=500)
        with self._lock:
            if not os.path.isdir(func_dir):
                self._download(url, params.get("token"), func_dir)
        return func_dir

    def _download(self, url, token, func_dir):
        os.makedirs(self.root, exist_ok=True)
        tmp_dir = tempfile.mkdtemp(prefix=".download-", dir=self.root)
        try:
            zip_path = os.path.join(tmp_dir, "package.zip")
            request = urllib.request.Request(url)
            if token:
                request.add_header("X-Auth-Token", token)
            with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) \
                    as resp, open(zip_path, "wb") as out:
                shutil.copyfileobj(resp, out)
            code_dir = os.path.join(tmp_dir, "code")
            os.mkdir(code_dir)
            _safe_extract(zip_path, code_dir)
            os.rename(code_dir, func_dir)
        except (OSError, ValueError, zipfile.BadZipFile) as e:
            raise BadRequest(f"Failed to download function package from "
                             f"{url}, error: {e}", code=500)
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)


# --- the execution child --------------------------------------------------

def _accepts_context(sig):
    for param in sig.parameters.values():
        if param.kind == param.VAR_KEYWORD:
            return True
        if param.name == "context" and param.kind in (
                param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            return True
    return False


def build_call(func, fn_input, context):
    """Turn the request's input into the function's arguments.

    A dict becomes keyword arguments, ``{"__function_input": raw}`` one
    positional argument, None no argument (upstream's semantics). The
    ``context`` keyword is passed only if the function accepts it.

    :returns: (args, kwargs).
    :raises TypeError: the arguments do not fit the function's signature.
    """
    args, kwargs = (), {}
    if isinstance(fn_input, dict):
        kwargs = dict(fn_input)
        if "__function_input" in kwargs:
            args = (kwargs.pop("__function_input"),)
    elif fn_input is not None:
        args = (fn_input,)
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return args, kwargs
    if _accepts_context(sig):
        kwargs["context"] = context
    try:
        sig.bind(*args, **kwargs)
    except TypeError as e:
        name = getattr(func, "__name__", "function")
        raise TypeError(f"{name}() {e}") from None
    return args, kwargs


def _jsonable(value):
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        return str(value)


def _load_function(entry, func_dir):
    module_name, _, attr = (entry or DEFAULT_ENTRY).rpartition(".")
    if not module_name:
        module_name, attr = attr, "main"
    sys.path.insert(0, func_dir)
    module = importlib.import_module(module_name)
    func = getattr(module, attr)
    if not callable(func):
        raise TypeError(f"{entry} is not callable.")
    return func


def _invoke(params, func_dir):
    """Run the user's function; returns (success, output)."""
    try:
        func = _load_function(params.get("entry"), func_dir)
        args, kwargs = build_call(func, params.get("input"), {})
        return True, _jsonable(func(*args, **kwargs))
    except SystemExit as e:
        traceback.print_exc()
        return False, f"Function called sys.exit({e.code})."
    except BaseException as e:  # noqa: BLE001 - user code raises anything
        traceback.print_exc()
        return False, str(e) or type(e).__name__


def _redirect_output(log_path):
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.close(null)
    # Fresh objects: the inherited ones may hold locks of other threads.
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False),
                                  errors="backslashreplace",
                                  write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False),
                                  errors="backslashreplace",
                                  write_through=True)


def _write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]


def _child_main(write_fd, params, func_dir, exec_dir):
    """The forked child: never returns."""
    status = 1
    try:
        os.setpgid(0, 0)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.closerange(3, write_fd)
        os.closerange(write_fd + 1, resource.getrlimit(
            resource.RLIMIT_NOFILE)[0])
        _redirect_output(os.path.join(exec_dir, "output.log"))
        os.environ["TMPDIR"] = exec_dir
        tempfile.tempdir = exec_dir
        os.chdir(func_dir)
        apply_limits(params)
        execution_id = params["execution_id"]
        _write_all(1, f"Start execution: {execution_id}\n".encode())
        success, output = _invoke(params, func_dir)
        with contextlib.suppress(OSError):  # user code may close fd 1
            _write_all(1, f"Finished execution: {execution_id}\n".encode())
        message = json.dumps({"success": success, "output": output})
        _write_all(write_fd, message.encode() + b"\n")
        status = 0
    except BaseException:  # noqa: BLE001 - the child must reach os._exit
        traceback.print_exc()
    finally:
        os._exit(status)


# --- the parent side of an execution --------------------------------------

class Children:
    """Process groups of the running executions, killed at shutdown."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pids = set()
        #: set once the server shuts down; killed children report it.
        self.stopping = False

    def add(self, pid):
        with self._lock:
            self._pids.add(pid)

    def discard(self, pid):
        with self._lock:
            self._pids.discard(pid)

    def kill_all(self):
        with self._lock:
            self.stopping = True
            for pid in self._pids:
                _kill_group(pid)


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def _open_pidfd(pid):
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None  # before Linux 5.3: poll with waitid instead


def _wait_for_child(pid, read_fd, deadline):
    """Read the child's result until it exits or the deadline passes.

    :returns: (bytes read, True if the deadline passed first).
    """
    pidfd = _open_pidfd(pid)
    chunks, reading = [], True
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return b"".join(chunks), True
            watch = [read_fd] if reading else []
            if pidfd is not None:
                watch.append(pidfd)
            tick = remaining if pidfd is not None else min(remaining, 0.05)
            ready = select.select(watch, [], [], tick)[0]
            if read_fd in ready:
                chunk = os.read(read_fd, 65536)
                if chunk:
                    chunks.append(chunk)
                else:
                    reading = False  # EOF; the child may still be running
                continue
            if pidfd in ready if pidfd is not None else _exited(pid):
                if reading:
                    chunks.append(_drain(read_fd))
                return b"".join(chunks), False
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _exited(pid):
    try:
        info = os.waitid(os.P_PID, pid,
                         os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None


def _drain(read_fd):
    os.set_blocking(read_fd, False)
    chunks = []
    try:
        while True:
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    except BlockingIOError:
        pass
    return b"".join(chunks)


def _read_logs(log_path):
    try:
        with open(log_path, "rb") as f:
            data = f.read(MAX_LOG_BYTES + 1)
            size = os.fstat(f.fileno()).st_size
    except OSError:
        return ""
    logs = data[:MAX_LOG_BYTES].decode("utf-8", errors="replace")
    if size > MAX_LOG_BYTES:
        logs += (f"\n[logs truncated: {MAX_LOG_BYTES} of {size} bytes "
                 "shown]\n")
    return logs


def _parse_result(data, timed_out, stopping):
    line = data.split(b"\n", 1)[0]
    if line:
        try:
            result = json.loads(line)
            return bool(result["success"]), result["output"]
        except (ValueError, KeyError, TypeError):
            pass
    if timed_out:
        return False, TIMEOUT_MESSAGE
    return False, STOPPED_MESSAGE if stopping else RESOURCE_MESSAGE


def run_execution(params, func_dir, children):
    """Fork a child, run the function in it and collect the result.

    :param params: the validated /execute body.
    :param func_dir: the function's code directory.
    :param children: the registry of running children.
    :returns: the /execute answer.
    """
    exec_dir = tempfile.mkdtemp(prefix="qinling-exec-")
    read_fd, write_fd = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child_main(write_fd, params, func_dir, exec_dir)
    os.close(write_fd)
    children.add(pid)
    try:
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass  # the child did it first, or is already gone
        deadline = start + params["timeout"]
        data, timed_out = _wait_for_child(pid, read_fd, deadline)
        # Kill leftovers in the group while the (possibly zombie) leader
        # still holds the group id, then reap the leader.
        _kill_group(pid)
        _, _, usage = os.wait4(pid, 0)
        duration = time.monotonic() - start
    finally:
        children.discard(pid)
        os.close(read_fd)
    logs = _read_logs(os.path.join(exec_dir, "output.log"))
    shutil.rmtree(exec_dir, ignore_errors=True)
    success, output = _parse_result(data, timed_out, children.stopping)
    return {"output": output, "duration": round(duration, 3),
            "logs": logs, "success": success,
            "cpu_time": round(usage.ru_utime + usage.ru_stime, 3),
            "memory_peak": usage.ru_maxrss * 1024}


# --- HTTP -----------------------------------------------------------------

def validate(body):
    """Check an /execute body; returns the params with defaults.

    :raises BadRequest: the body cannot be served.
    """
    try:
        params = json.loads(body)
    except ValueError:
        raise BadRequest("The request body is not valid JSON.")
    if not isinstance(params, dict):
        raise BadRequest("The request body must be a JSON object.")
    for key in ("execution_id", "function_id"):
        if not params.get(key):
            raise BadRequest(f"The request body has no {key}.")
    timeout = params.get("timeout")
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    if (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
            or timeout <= 0):
        raise BadRequest("timeout must be a positive number of seconds.")
    params["timeout"] = timeout
    return params


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "QinlingPython3Runtime/1.0"

    def address_string(self):
        if isinstance(self.client_address, tuple):
            return str(self.client_address[0])
        return "unix"

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, code, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            raise BadRequest("Invalid Content-Length.")
        return self.rfile.read(length)

    def do_GET(self):
        if self.path == "/ping":
            self._send(200, b"pong", "text/plain")
        else:
            self._send(404, {"output": "Not found.", "success": False})

    def do_POST(self):
        try:
            body = self._read_body()
            if self.path != "/execute":
                self._send(404, {"output": "Not found.", "success": False})
                return
            params = validate(body)
            func_dir = self.server.packages.ensure(params)
        except BadRequest as e:
            self._send(e.code, {"output": str(e), "success": False})
            return
        try:
            result = run_execution(params, func_dir, self.server.children)
        except OSError as e:  # fork, pipe or temp dir: the worker is short
            self.log_error("Cannot run execution %s: %s",
                           params["execution_id"], e)
            self._send(500, {"output": "The runtime could not start the "
                                       f"execution: {e}",
                             "success": False})
            return
        self._send(200, result)


class _ServerMixin:
    daemon_threads = True
    block_on_close = False

    def setup_state(self, packages, verbose):
        self.packages = packages
        self.children = Children()
        self.verbose = verbose


class TCPServer(_ServerMixin, http.server.ThreadingHTTPServer):
    """The runtime server on a TCP port (inside a container)."""


class UnixServer(_ServerMixin, http.server.ThreadingHTTPServer):
    """The runtime server on a unix socket (a local worker)."""

    address_family = socket.AF_UNIX

    def server_bind(self):
        if os.path.exists(self.server_address):
            os.unlink(self.server_address)
        socketserver.TCPServer.server_bind(self)
        os.chmod(self.server_address, 0o600)
        self.server_name = "localhost"
        self.server_port = 0

    def server_close(self):
        super().server_close()
        try:
            os.unlink(self.server_address)
        except OSError:
            pass


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Qinling Python 3 runtime.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--socket", help="Listen on this unix socket.")
    where.add_argument("--port", type=int, help="Listen on this TCP port.")
    parser.add_argument("--host", default="0.0.0.0",
                        help="Address to listen on with --port.")
    parser.add_argument("--packages", default="/var/qinling/packages",
                        help="Directory holding <function_id>/ code dirs.")
    parser.add_argument("--verbose", action="store_true",
                        help="Log every request to stderr.")
    return parser.parse_args(argv)


def make_server(args):
    if args.socket:
        server = UnixServer(os.path.abspath(args.socket), Handler)
    else:
        server = TCPServer((args.host, args.port), Handler)
    server.setup_state(Packages(args.packages), args.verbose)
    return server


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    server = make_server(args)

    def _terminate(signum, frame):
        server.children.kill_all()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.children.kill_all()
        server.server_close()


if __name__ == "__main__":
    main()

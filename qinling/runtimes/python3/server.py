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

Standard library only, and nothing from ``qinling``: this file and its
siblings (``runtime_child.py``, ``runtime_execution.py``,
``runtime_limits.py``) run alone in a local sandbox or in a container
image. Usage::

    python3 server.py --socket PATH [--packages DIR]   # a unix socket
    python3 server.py --socket-fd FD [--packages DIR]  # a listening socket
    python3 server.py --port 9090 [--host 0.0.0.0] [--packages DIR]  # TCP

Protocol (upstream Qinling's, see DESIGN.md section 5), HTTP/1.1 keep-alive:

* ``GET /ping`` answers 200 ``pong``.
* ``POST /execute`` with ``{execution_id, function_id, function_version,
  entry, input, timeout, cpu, memory_size, download_url, request_id,
  token?}`` answers 200 ``{"output", "duration", "logs", "success"}`` plus
  ``cpu_time`` (seconds) and ``memory_peak`` (bytes) of the execution.

The code of function F lives in ``<packages>/<F>/``; when that directory is
missing it is downloaded from ``download_url`` (and unpacked within
``--max-unpacked-size`` and ``--max-package-members``). Every execution
runs in a child forked from this server (no interpreter start-up, no state
shared between executions), in its own process group and cgroup slot and
its own writable current directory, with stdout and stderr redirected at
the file-descriptor level to a private log file; a result whose JSON text
is longer than ``--max-result-size`` bytes fails the execution (see
runtime_child.py, runtime_execution.py and runtime_limits.py).
"""

import argparse
import gc
import http.server
import json
import os
import shutil
import signal
import socket
import socketserver
import sys
import tempfile
import threading
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runtime_child  # noqa: E402 - a sibling of this script
import runtime_execution  # noqa: E402 - a sibling of this script
import runtime_limits  # noqa: E402 - a sibling of this script

DEFAULT_TIMEOUT = 5
MAX_BODY_BYTES = 64 * 1024 * 1024
DOWNLOAD_TIMEOUT = 30
#: Limits of a downloaded package, unpacked.
DEFAULT_MAX_UNPACKED_SIZE = 100 * 1024 * 1024
DEFAULT_MAX_PACKAGE_MEMBERS = 10000
#: Seconds between two looks for orphans to reap, as a sandbox's pid 1.
REAP_INTERVAL = 0.2
#: Seconds an idle server sleeps before it looks whether it should stop
#: (requests wake it at once).
SHUTDOWN_POLL_INTERVAL = 1.0

# Python 3.12+ warns about fork() in a threaded process; the child here
# only touches state it creates itself, so the warning is noise.
warnings.filterwarnings("ignore", message=".*fork.*",
                        category=DeprecationWarning)


class BadRequest(Exception):
    """The request cannot be served; the message is for the caller."""

    def __init__(self, message, code=400):
        super().__init__(message)
        self.code = code


# --- packages -------------------------------------------------------------

def _safe_extract(zip_path, dest, max_size, max_members):
    """Unzip ``zip_path`` into ``dest``; no member may escape ``dest``, and
    the package may neither hold more than ``max_members`` members nor
    unpack to more than ``max_size`` bytes: the sizes its directory
    declares are checked first, and the bytes written are counted, since
    a declared size may lie.
    """
    import zipfile  # only for downloads: an idle worker does without
    root = os.path.realpath(dest)
    with zipfile.ZipFile(zip_path) as archive:
        members = archive.infolist()
        if len(members) > max_members:
            raise ValueError(f"the package has {len(members)} members, more "
                             f"than the limit of {max_members}")
        if sum(m.file_size for m in members) > max_size:
            raise ValueError("the package unpacks to more than the limit "
                             f"of {max_size} bytes")
        for member in members:
            target = os.path.realpath(os.path.join(root, member.filename))
            if os.path.commonpath([root, target]) != root:
                raise ValueError(f"package member {member.filename!r} "
                                 "escapes the package directory")
        budget = max_size
        for member in members:
            target = os.path.join(root, member.filename)
            if member.is_dir():
                os.makedirs(target, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with archive.open(member) as src, open(target, "wb") as out:
                while True:
                    chunk = src.read(65536)
                    if not chunk:
                        break
                    budget -= len(chunk)
                    if budget < 0:
                        raise ValueError("the package unpacks to more than "
                                         f"the limit of {max_size} bytes")
                    out.write(chunk)


class Packages:
    """The directory holding one sub-directory of code per function.

    :param max_size: bytes a downloaded package may unpack to.
    :param max_members: members a downloaded package may hold.
    """

    def __init__(self, root, max_size=None, max_members=None):
        self.root = os.path.abspath(root)
        self.max_size = max_size or DEFAULT_MAX_UNPACKED_SIZE
        self.max_members = max_members or DEFAULT_MAX_PACKAGE_MEMBERS
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
        # Only workers that download import these (an idle local worker
        # stays smaller without them).
        import urllib.request
        import zipfile
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
            _safe_extract(zip_path, code_dir, self.max_size,
                          self.max_members)
            os.rename(code_dir, func_dir)
        except (OSError, ValueError, zipfile.BadZipFile) as e:
            raise BadRequest(f"Failed to download function package from "
                             f"{url}, error: {e}", code=500)
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)


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
    environment = params.get("environment")
    if environment is not None and not (
            isinstance(environment, dict) and all(
                isinstance(k, str) and k and "=" not in k and "\x00" not in k
                and isinstance(v, str) and "\x00" not in v
                for k, v in environment.items())):
        raise BadRequest("environment must be an object of names to "
                         "strings.")
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
        execution_id = params["execution_id"]

        def on_dirty():
            self.log_error("A cgroup slot kept processes after execution "
                           "%s; stopping so that the worker is replaced",
                           execution_id)
            self.server.stop_soon()

        try:
            result = runtime_execution.run_execution(
                params, func_dir, self.server.children, self.server.slots,
                self.server.limits, on_dirty, self.server.spares)
        except OSError as e:  # fork, pipe or temp dir: the worker is short
            self.log_error("Cannot run execution %s: %s", execution_id, e)
            self._send(500, {"output": "The runtime could not start the "
                                       f"execution: {e}",
                             "success": False})
            return
        self._send(200, result)


class _ServerMixin:
    daemon_threads = True
    block_on_close = False

    def setup_state(self, packages, verbose, slots, limits, spare_child):
        self.packages = packages
        self.children = runtime_execution.Children()
        self.verbose = verbose
        self.slots = slots
        self.limits = limits
        self.spares = (runtime_execution.Spares(self.children, slots, limits)
                       if spare_child else None)

    def stop_soon(self):
        """Kill the running executions and stop serving."""
        self.children.kill_all()
        threading.Thread(target=self.shutdown, daemon=True).start()


class TCPServer(_ServerMixin, http.server.ThreadingHTTPServer):
    """The runtime server on a TCP port (inside a container)."""


class UnixServer(_ServerMixin, http.server.ThreadingHTTPServer):
    """The runtime server on a unix socket (a local worker).

    Either it binds ``server_address`` itself, or it serves a listening
    socket it was given (``--socket-fd``), which it then does not own.
    """

    address_family = socket.AF_UNIX

    def __init__(self, address, handler, listening_fd=None):
        self._owns_path = listening_fd is None
        super().__init__(address, handler,
                         bind_and_activate=listening_fd is None)
        if listening_fd is not None:
            self.socket.close()
            self.socket = socket.socket(fileno=listening_fd)
            self.server_address = self.socket.getsockname()
            self.server_name = "localhost"
            self.server_port = 0

    def server_bind(self):
        if os.path.exists(self.server_address):
            os.unlink(self.server_address)
        socketserver.TCPServer.server_bind(self)
        os.chmod(self.server_address, 0o600)
        self.server_name = "localhost"
        self.server_port = 0

    def server_close(self):
        super().server_close()
        if not self._owns_path:
            return
        try:
            os.unlink(self.server_address)
        except OSError:
            pass


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Qinling Python 3 runtime.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--socket", help="Listen on this unix socket.")
    where.add_argument("--socket-fd", type=int,
                       help="Serve this inherited listening unix socket.")
    where.add_argument("--port", type=int, help="Listen on this TCP port.")
    parser.add_argument("--host", default="0.0.0.0",
                        help="Address to listen on with --port.")
    parser.add_argument("--packages", default="/var/qinling/packages",
                        help="Directory holding <function_id>/ code dirs.")
    parser.add_argument("--cgroups", default="",
                        help="JSON describing the cgroup slots executions "
                             "run in (see runtime_limits.parse_slots).")
    parser.add_argument("--max-open-files", type=int,
                        default=runtime_limits.DEFAULT_NOFILE,
                        help="RLIMIT_NOFILE of an execution.")
    parser.add_argument("--max-file-size", type=int,
                        default=runtime_limits.DEFAULT_FSIZE,
                        help="RLIMIT_FSIZE of an execution, in bytes.")
    parser.add_argument("--max-processes", type=int, default=0,
                        help="RLIMIT_NPROC of an execution; 0 for none.")
    parser.add_argument("--max-result-size", type=int,
                        default=runtime_limits.DEFAULT_RESULT_SIZE,
                        help="Bytes of the largest result (as JSON) of an "
                             "execution; 0 for no limit.")
    parser.add_argument("--max-unpacked-size", type=int,
                        default=DEFAULT_MAX_UNPACKED_SIZE,
                        help="Bytes a downloaded package may unpack to.")
    parser.add_argument("--max-package-members", type=int,
                        default=DEFAULT_MAX_PACKAGE_MEMBERS,
                        help="Files and directories a downloaded package "
                             "may hold.")
    parser.add_argument("--openstack-session", action="store_true",
                        help="Import keystoneauth1 once at start, so that "
                             "executions build context['os_session'] from "
                             "their token without importing it.")
    parser.add_argument("--rlimit-memory", action="store_true",
                        help="Limit an execution's address space to its "
                             "memory_size (when no memory cgroup does).")
    parser.add_argument("--init", action="store_true",
                        help="Run as a sandbox's pid 1: ignore signals from "
                             "executions, reap orphans, refuse tracing.")
    parser.add_argument("--lifeline-fd", metavar="READ:WRITE",
                        help="An inherited pipe: close its write end and "
                             "exit when the read end reaches its end (the "
                             "process holding the other copy ended).")
    parser.add_argument("--no-spare-child", dest="spare_child",
                        action="store_false",
                        help="Fork each execution's child when it comes, "
                             "rather than keeping one forked ahead.")
    parser.add_argument("--verbose", action="store_true",
                        help="Log every request to stderr.")
    return parser.parse_args(argv)


def make_server(args):
    slots = runtime_limits.parse_slots(args.cgroups)
    limits = runtime_limits.Rlimits(
        nofile=args.max_open_files, fsize=args.max_file_size,
        nproc=args.max_processes, memory=args.rlimit_memory,
        result_size=args.max_result_size)
    if args.socket_fd is not None:
        server = UnixServer(None, Handler, listening_fd=args.socket_fd)
    elif args.socket:
        server = UnixServer(os.path.abspath(args.socket), Handler)
    else:
        server = TCPServer((args.host, args.port), Handler)
    packages = Packages(args.packages, args.max_unpacked_size,
                        args.max_package_members)
    server.setup_state(packages, args.verbose, slots, limits,
                       args.spare_child)
    return server


def become_init(server):
    """Act as the pid 1 of a sandbox.

    Executions cannot signal it (pid 1 only gets signals it handles, and it
    handles none; the sandbox stops when its parent does), cannot trace it,
    and their orphans are reaped so that they leave their cgroup slot.
    """
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    runtime_limits.set_dumpable(False)
    children = server.children
    server.slots.before_check = children.reap_orphans

    def reap():
        while True:
            time.sleep(REAP_INTERVAL)
            children.reap_orphans()

    threading.Thread(target=reap, name="reaper", daemon=True).start()


def watch_lifeline(server, spec):
    """Stop at once, with every execution, when the lifeline ends.

    :param spec: ``READ:WRITE``, the descriptors of the lifeline pipe.
    """
    fd, write_end = (int(part) for part in spec.split(":"))
    try:
        os.close(write_end)
    except OSError:
        pass  # whoever started the server closed it already

    def watch():
        while True:
            try:
                if not os.read(fd, 64):
                    break
            except InterruptedError:
                continue
            except OSError:
                break
        server.children.kill_all()
        os._exit(0)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    server = make_server(args)
    if args.lifeline_fd is not None:
        watch_lifeline(server, args.lifeline_fd)
    if args.openstack_session and not runtime_child.preload_keystoneauth():
        print("keystoneauth1 is not installed: context['os_session'] will "
              "be None.", file=sys.stderr)
    if args.init:
        become_init(server)
    else:
        signal.signal(signal.SIGTERM,
                      lambda signum, frame: server.stop_soon())
        signal.signal(signal.SIGINT, lambda signum, frame: server.stop_soon())
    # Everything is imported: keep the objects out of the collector's
    # reach, so that a forked child does not copy their pages.
    gc.freeze()
    if server.spares is not None:
        server.spares.start()
    try:
        server.serve_forever(poll_interval=SHUTDOWN_POLL_INTERVAL)
    finally:
        server.children.kill_all()
        server.server_close()


if __name__ == "__main__":
    main()

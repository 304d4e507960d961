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
"""The execution child of the Python 3 runtime.

Standard library only, nothing from ``qinling`` (see server.py). Forked
from the server, the child enters its cgroup slot, lowers its rlimits,
closes every descriptor it inherited, redirects stdout and stderr to a
private log file, runs the user's function with upstream's input semantics
and writes ``{"success", "output", "usage"}`` to a pipe, then exits. A
spare child (:func:`spare_main`) does the first three steps ahead of its
execution and then waits for it.

The function's environment variables (the request's ``environment``) are
set in the child's ``os.environ`` only, so they end with the execution.
The function runs in its execution's own directory, which is its current
directory and its ``TMPDIR``: writable, private to the execution, and
removed when the execution ends. Python's limit on the digits of integers
converted to and from strings (``sys.set_int_max_str_digits``), which
protects parsers of untrusted input such as the server, is lifted for the
function's own code.
"""

import contextlib
import errno
import importlib
import inspect
import io
import json
import os
import resource
import signal
import sys
import tempfile
import traceback

import runtime_limits

RESOURCE_MESSAGE = ("Function execution failed because of too much "
                    "resource consumption")
RESULT_TOO_LARGE_MESSAGE = ("The function's result exceeded the limit of "
                            "{limit} bytes.")
#: Python's integer-digit limit, kept by the server and lifted in the child
#: while the function runs.
INT_MAX_STR_DIGITS = (sys.get_int_max_str_digits()
                      if hasattr(sys, "get_int_max_str_digits") else 0)
#: Exit status of a child whose result pipe the function closed.
EXIT_RESULT_PIPE_CLOSED = 125
DEFAULT_ENTRY = "main.main"
#: Modules of the runtime itself, hidden from user code's imports.
RUNTIME_MODULES = ("runtime_child", "runtime_execution", "runtime_limits")


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


#: keystoneauth1's modules once :func:`preload_keystoneauth` imported them.
_KEYSTONEAUTH = None


def _import_keystoneauth():
    from keystoneauth1 import access
    from keystoneauth1 import session
    from keystoneauth1.identity import access as access_plugin
    return access, access_plugin, session


def preload_keystoneauth():
    """Import keystoneauth1 in the server, once, before any child is forked:
    an execution then builds its ``os_session`` in a few milliseconds
    instead of importing the library inside its own CPU-limited slot.

    :returns: False if keystoneauth1 is not installed here.
    """
    global _KEYSTONEAUTH
    try:
        _KEYSTONEAUTH = _import_keystoneauth()
    except ImportError:
        return False
    # A Session builds a requests.Session: import what it needs, too.
    _KEYSTONEAUTH[2].Session()
    return True


def build_context(params):
    """The ``context`` a function receives.

    ``os_session`` is a keystoneauth session acting as the function's
    owner, built from the trust-scoped token the engine sent (and its
    catalog); None when the request carries no token or keystoneauth1 is
    not installed where the runtime runs. Nothing is fetched: the token and
    its catalog come with the request.
    """
    auth = params.get("auth")
    if not auth:
        return {"os_session": None}
    modules = _KEYSTONEAUTH
    if modules is None:
        try:
            modules = _import_keystoneauth()
        except ImportError:
            print("keystoneauth1 is not installed: context['os_session'] "
                  "is None.", file=sys.stderr)
            return {"os_session": None}
    access, access_plugin, session = modules
    info = access.create(body=auth["token_data"], auth_token=auth["token"])
    plugin = access_plugin.AccessInfoPlugin(info, auth_url=auth["auth_url"])
    return {"os_session": session.Session(auth=plugin)}


def _load_function(entry, func_dir):
    module_name, _, attr = (entry or DEFAULT_ENTRY).rpartition(".")
    if not module_name:
        module_name, attr = attr, "main"
    for name in RUNTIME_MODULES:
        sys.modules.pop(name, None)
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
        args, kwargs = build_call(func, params.get("input"),
                                  build_context(params))
        return True, func(*args, **kwargs)
    except MemoryError:
        _print_traceback()
        return False, RESOURCE_MESSAGE
    except SystemExit as e:
        _print_traceback()
        return False, f"Function called sys.exit({e.code})."
    except BaseException as e:  # noqa: BLE001 - user code raises anything
        _print_traceback()
        return False, str(e) or type(e).__name__


def _print_traceback():
    """The current exception's traceback into the log, if the function
    left the log open (it may have closed stdout and stderr)."""
    try:
        traceback.print_exc()
    except Exception:  # noqa: BLE001 - the failure itself is reported
        pass


def _redirect_output(path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
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


def write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]


def _close_inherited(keep):
    """Close every descriptor from 3 up, except those in ``keep``."""
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def own_usage():
    """CPU seconds and peak memory bytes of this process and its reaped
    children, as ``wait4`` would tell the parent."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"cpu_time": (me.ru_utime + me.ru_stime + kids.ru_utime
                         + kids.ru_stime),
            "memory_peak": max(me.ru_maxrss, kids.ru_maxrss) * 1024}


def _prepare(slot, keep):
    """What a child does before it knows its execution: its own process
    group, default signals, its cgroup slot, no inherited descriptors but
    ``keep``."""
    os.setpgid(0, 0)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    if slot is not None:
        slot.enter()
    runtime_limits.set_dumpable(True)
    _close_inherited(keep)


def log_path(exec_dir):
    """The log file of the execution whose directory is ``exec_dir``: beside
    it, so the function's own directory holds only what it writes."""
    return exec_dir + ".log"


def _encode_output(output):
    """The output as JSON text; what JSON cannot hold becomes its string.

    :raises ValueError: it holds an integer too long for the readers of the
        result (they keep Python's integer-digit limit).
    """
    try:
        return json.dumps(output, allow_nan=False)
    except TypeError:
        return json.dumps(str(output))
    except ValueError as e:
        if "integer string conversion" in str(e):
            raise
        return json.dumps(str(output))


def result_line(success, output, limit):
    """The result line the server reads, or a failure saying the result
    is larger than ``limit`` bytes (0 for no limit); the output is
    serialised once either way."""
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(INT_MAX_STR_DIGITS)
    try:
        encoded = _encode_output(output)
    except ValueError as e:
        success, encoded = False, json.dumps(
            f"The function's result cannot be returned as JSON: {e}")
    if limit and len(encoded) > limit:
        success = False
        encoded = json.dumps(RESULT_TOO_LARGE_MESSAGE.format(limit=limit))
    usage = json.dumps(own_usage())
    return (f'{{"success": {json.dumps(success)}, "output": {encoded}, '
            f'"usage": {usage}}}\n').encode()


def _run(write_fd, params, func_dir, exec_dir, rlimits):
    """Run the execution and write its result line to ``write_fd``."""
    _redirect_output(log_path(exec_dir))
    # The function's environment, in this child only: the server's own
    # never sees it.
    os.environ.update(params.get("environment") or {})
    os.environ["TMPDIR"] = exec_dir
    tempfile.tempdir = exec_dir
    os.chdir(exec_dir)
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)
    rlimits.apply(params)
    execution_id = params["execution_id"]
    write_all(1, f"Start execution: {execution_id}\n".encode())
    success, output = _invoke(params, func_dir)
    with contextlib.suppress(OSError):  # user code may close fd 1
        write_all(1, f"Finished execution: {execution_id}\n".encode())
    # The server answers as soon as this line arrives, without waiting
    # for this process to exit: it reports its own usage.
    line = result_line(success, output, rlimits.result_size)
    try:
        write_all(write_fd, line)
    except OSError as e:
        if e.errno == errno.EBADF:
            os._exit(EXIT_RESULT_PIPE_CLOSED)
        raise


def child_main(write_fd, params, func_dir, exec_dir, slot, rlimits):
    """The forked child: never returns."""
    status = 1
    try:
        _prepare(slot, (write_fd,))
        _run(write_fd, params, func_dir, exec_dir, rlimits)
        status = 0
    except BaseException:  # noqa: BLE001 - the child must reach os._exit
        _print_traceback()
    finally:
        os._exit(status)


def _read_order(order_fd):
    """The order line a spare child waits for, or None at end of file."""
    chunks = []
    while True:
        chunk = os.read(order_fd, 65536)
        if not chunk:
            return None
        chunks.append(chunk)
        if b"\n" in chunk:
            return json.loads(b"".join(chunks))


def spare_main(order_fd, write_fd, slot, rlimits):
    """A child forked ahead of its execution: never returns.

    It prepares (see :func:`_prepare`), then waits for its order on
    ``order_fd``: one JSON line with ``params``, ``func_dir`` and
    ``exec_dir``. It exits quietly if the server closes the pipe first.
    """
    status = 1
    try:
        _prepare(slot, (order_fd, write_fd))
        order = _read_order(order_fd)
        os.close(order_fd)
        if order is None:
            status = 0
        else:
            _run(write_fd, order["params"], order["func_dir"],
                 order["exec_dir"], rlimits)
            status = 0
    except BaseException:  # noqa: BLE001 - the child must reach os._exit
        _print_traceback()
    finally:
        os._exit(status)

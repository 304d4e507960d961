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
"""

import contextlib
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


def build_context(params):
    """The ``context`` a function receives.

    ``os_session`` is a keystoneauth session acting as the function's
    owner, built from the trust-scoped token the engine sent (and its
    catalog); None when the request carries no token or keystoneauth1 is
    not installed where the runtime runs.
    """
    auth = params.get("auth")
    if not auth:
        return {"os_session": None}
    try:
        from keystoneauth1 import access
        from keystoneauth1 import session
        from keystoneauth1.identity import access as access_plugin
    except ImportError:
        print("keystoneauth1 is not installed: context['os_session'] is "
              "None.", file=sys.stderr)
        return {"os_session": None}
    info = access.create(body=auth["token_data"], auth_token=auth["token"])
    plugin = access_plugin.AccessInfoPlugin(info, auth_url=auth["auth_url"])
    return {"os_session": session.Session(auth=plugin)}


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
        return True, _jsonable(func(*args, **kwargs))
    except MemoryError:
        traceback.print_exc()
        return False, RESOURCE_MESSAGE
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


def _run(write_fd, params, func_dir, exec_dir, rlimits):
    """Run the execution and write its result line to ``write_fd``."""
    _redirect_output(os.path.join(exec_dir, "output.log"))
    os.environ["TMPDIR"] = exec_dir
    tempfile.tempdir = exec_dir
    os.chdir(func_dir)
    rlimits.apply(params)
    execution_id = params["execution_id"]
    write_all(1, f"Start execution: {execution_id}\n".encode())
    success, output = _invoke(params, func_dir)
    with contextlib.suppress(OSError):  # user code may close fd 1
        write_all(1, f"Finished execution: {execution_id}\n".encode())
    # The server answers as soon as this line arrives, without waiting
    # for this process to exit: it reports its own usage.
    message = json.dumps({"success": success, "output": output,
                          "usage": own_usage()})
    write_all(write_fd, message.encode() + b"\n")


def child_main(write_fd, params, func_dir, exec_dir, slot, rlimits):
    """The forked child: never returns."""
    status = 1
    try:
        _prepare(slot, (write_fd,))
        _run(write_fd, params, func_dir, exec_dir, rlimits)
        status = 0
    except BaseException:  # noqa: BLE001 - the child must reach os._exit
        traceback.print_exc()
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
        traceback.print_exc()
    finally:
        os._exit(status)

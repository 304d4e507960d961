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
"""Worker processes: start one, wait until it answers, stop it."""

from concurrent import futures
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import time

from oslo_log import log as logging

from qinling import exceptions
from qinling.orchestrator import worker_client

LOG = logging.getLogger(__name__)

#: The longest unix socket path the kernel accepts (sun_path minus NUL).
MAX_SOCKET_PATH = 107
#: Seconds a worker gets to stop after SIGTERM before it is killed.
STOP_GRACE = 5.0


@dataclasses.dataclass(frozen=True)
class WorkerPaths:
    """The layout of a worker's private directory."""

    root: str
    #: the unix socket the runtime server listens on.
    socket: str
    #: one <function_id>/ directory of code per function.
    packages: str
    #: the TMPDIR of the worker and its executions.
    tmp: str
    #: stdout and stderr of the runtime server itself.
    log: str


def paths(worker_dir):
    """Return the :class:`WorkerPaths` of a worker directory."""
    return WorkerPaths(
        root=worker_dir,
        socket=os.path.join(worker_dir, "worker.sock"),
        packages=os.path.join(worker_dir, "packages"),
        tmp=os.path.join(worker_dir, "tmp"),
        log=os.path.join(worker_dir, "server.log"))


class WorkerProcess:
    """A running runtime server and the client that talks to it.

    :param cgroups: the worker's WorkerCgroups, or None; removed when the
        worker is stopped.
    """

    def __init__(self, name, worker_paths, popen, cgroups=None,
                 max_answer_size=None):
        self.name = name
        self.paths = worker_paths
        self.popen = popen
        self.cgroups = cgroups
        self.client = worker_client.WorkerClient(
            worker_paths.socket, name=name, max_answer_size=max_answer_size)

    @property
    def pid(self):
        return self.popen.pid

    def is_alive(self):
        """Whether the server process is still running (never blocks)."""
        return self.popen.poll() is None

    def wait_dead(self, grace):
        """Wait up to ``grace`` seconds for the process to end.

        :returns: True if the process has ended.
        """
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            return False
        return True


def make_dirs(worker_paths, shared=False):
    """Create a worker's directories.

    :param shared: let other users traverse the worker's directory and
        read its packages (a sandbox started as ``[local]worker_user``).
    :raises OrchestratorException: the socket path is too long.
    """
    if len(worker_paths.socket) > MAX_SOCKET_PATH:
        raise exceptions.OrchestratorException(
            f"The worker socket path {worker_paths.socket} is too long "
            "for a unix socket; set [local]work_dir to a shorter directory.")
    modes = ((worker_paths.root, 0o711 if shared else 0o700),
             (worker_paths.packages, 0o755 if shared else 0o700),
             (worker_paths.tmp, 0o700))
    for directory, mode in modes:
        os.makedirs(directory, mode=mode, exist_ok=True)
        os.chmod(directory, mode)


def remove_dirs(worker_paths):
    """Remove a worker's directory and everything in it."""
    shutil.rmtree(worker_paths.root, ignore_errors=True)


def listen(path):
    """Bind and listen on the worker's unix socket; the worker inherits it.

    :returns: the listening socket.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if os.path.exists(path):
            os.unlink(path)
        sock.bind(path)
        os.chmod(path, 0o600)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


class Spawner:
    """Starts every worker process from one long-lived thread.

    A sandbox dies with its parent, and for the kernel the parent is the
    *thread* that forked it: workers started from short-lived threads would
    be killed when those end. This thread lives until :meth:`shutdown`.
    """

    def __init__(self):
        self._executor = futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="worker-spawner")

    def popen(self, *args, **kwargs):
        """``subprocess.Popen(*args, **kwargs)``, from the spawner thread."""
        return self._executor.submit(subprocess.Popen, *args,
                                     **kwargs).result()

    def shutdown(self):
        self._executor.shutdown(wait=True)


def start(name, worker_paths, launch, start_timeout, cgroups=None,
          spawner=None, preexec=None, max_answer_size=None):
    """Start a worker and wait for its first successful ping.

    :param name: the worker's name, for messages.
    :param worker_paths: the worker's :class:`WorkerPaths` (see
        :func:`make_dirs`); its root is removed again on failure.
    :param launch: the sandbox's Launch (argv, env, descriptors, user).
    :param start_timeout: seconds the worker may take to answer.
    :param cgroups: the worker's WorkerCgroups, or None.
    :param spawner: the :class:`Spawner` to fork from; this thread if
        None.
    :param preexec: run in the new process before it executes (it only
        writes to descriptors: no locks, safe in a threaded parent).
    :param max_answer_size: bytes of an answer the client reads at most.
    :returns: the :class:`WorkerProcess`.
    :raises OrchestratorException: the worker did not start.
    """
    popen_func = spawner.popen if spawner else subprocess.Popen
    try:
        with open(worker_paths.log, "ab") as log:
            popen = popen_func(
                launch.argv, env=launch.env, cwd=worker_paths.root,
                stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, close_fds=True,
                pass_fds=launch.pass_fds, start_new_session=True,
                preexec_fn=preexec)
    except (OSError, RuntimeError, subprocess.SubprocessError) as e:
        LOG.error("Cannot start worker %s (%s): %s", name, launch.argv, e)
        if cgroups is not None:
            cgroups.destroy()
        shutil.rmtree(worker_paths.root, ignore_errors=True)
        raise exceptions.OrchestratorException(
            f"Worker {name} cannot be started.")
    worker = WorkerProcess(name, worker_paths, popen, cgroups,
                           max_answer_size)
    try:
        _wait_until_ready(worker, start_timeout)
    except BaseException:
        stop(worker)
        raise
    LOG.debug("Worker %s started, pid %s", name, popen.pid)
    return worker


def _wait_until_ready(worker, timeout):
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        if not worker.is_alive():
            LOG.error("Worker %s exited with code %s during start-up: %s",
                      worker.name, worker.popen.returncode,
                      _tail(worker.paths.log))
            raise exceptions.OrchestratorException(
                f"Worker {worker.name} exited during start-up.")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            LOG.error("Worker %s did not answer within %s seconds: %s",
                      worker.name, timeout, _tail(worker.paths.log))
            raise exceptions.OrchestratorException(
                f"Worker {worker.name} did not start within {timeout} "
                "seconds.")
        if worker.client.ping(timeout=min(remaining, 1.0)):
            return
        time.sleep(min(delay, max(remaining, 0)))
        delay = min(delay * 2, 0.1)


def _tail(path, size=2000):
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - size))
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def stop(worker, grace=STOP_GRACE):
    """Stop a worker, reap it and remove its directory.

    SIGTERM first (the server kills its running executions), SIGKILL after
    ``grace`` seconds, then SIGKILL to anything left in its session.

    :param worker: the :class:`WorkerProcess`.
    :param grace: seconds to wait after SIGTERM.
    """
    if worker.is_alive():
        _signal_group(worker.pid, signal.SIGTERM)
        if not worker.wait_dead(grace):
            LOG.warning("Worker %s ignored SIGTERM; killing it", worker.name)
            _signal_group(worker.pid, signal.SIGKILL)
            worker.popen.wait()
    for pid in session_members(worker.pid):
        _signal(pid, signal.SIGKILL)
    worker.client.close()
    if worker.cgroups is not None:
        worker.cgroups.destroy()
    shutil.rmtree(worker.paths.root, ignore_errors=True)
    LOG.debug("Worker %s stopped", worker.name)


def _signal_group(pgid, signum):
    try:
        os.killpg(pgid, signum)
    except OSError:
        pass


def _signal(pid, signum):
    try:
        os.kill(pid, signum)
    except OSError:
        pass


def session_members(sid):
    """Return the live (non-zombie) processes of session ``sid``.

    Executions put themselves in their own process group, but stay in the
    worker's session, so this finds what a killed worker left behind.
    Empty where /proc is not available.
    """
    members = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return members
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields: state, ppid, pgrp, session, ...
        if fields[0] != "Z" and int(fields[3]) == sid:
            members.append(int(entry))
    return members

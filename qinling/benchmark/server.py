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
"""The all-in-one ``qinling-server`` the benchmark starts for itself."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from qinling.benchmark import procfs

#: Seconds the server gets to stop after SIGTERM before it is killed.
STOP_GRACE = 20.0
#: Seconds the server's processes get to end after it has exited.
LEFTOVER_GRACE = 2.0


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command():
    """``qinling-server`` beside this interpreter, or the module."""
    script = os.path.join(os.path.dirname(sys.executable), "qinling-server")
    if os.access(script, os.X_OK):
        return [script]
    return [sys.executable, "-c",
            "from qinling.cmd import server; server.main()"]


class LocalServer:
    """A ``qinling-server`` on a free loopback port, its files in ``workdir``.

    :param workdir: a private directory for config, state and log.
    :param pool_size: ``[local]pool_size``.
    :param options: more configuration, ``{section: {key: value}}``.
    """

    def __init__(self, workdir, pool_size, options=None):
        self.workdir = workdir
        self.pool_size = pool_size
        self.options = options or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state_path = os.path.join(workdir, "state")
        self.config_file = os.path.join(workdir, "qinling.conf")
        self.log_path = os.path.join(workdir, "qinling-server.log")
        self.database_url = "sqlite:///" + os.path.join(
            self.state_path, "qinling.sqlite")
        self.popen = None
        #: identities of the processes seen under the server, checked
        #: after it stopped.
        self._seen = set()

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def _write_config(self):
        """The embedded defaults, private to this run.

        ``transport_url`` is set empty: the all-in-one hands engine calls
        to its in-process engine, and a benchmark must not join a message
        bus other deployments on this machine may share. ``options`` are
        added as given (``{section: {key: value}}``).
        """
        sections = {
            # Short paths: a worker's unix socket path must fit 107 bytes.
            "DEFAULT": {"state_path": self.state_path, "debug": "false",
                        "transport_url": ""},
            "api": {"host": "127.0.0.1", "port": self.port},
            "local": {"pool_size": self.pool_size},
        }
        for section, values in self.options.items():
            sections.setdefault(section, {}).update(values)
        with open(self.config_file, "w") as f:
            for section, values in sections.items():
                f.write(f"[{section}]\n")
                for key, value in values.items():
                    f.write(f"{key} = {value}\n")
                f.write("\n")

    def start(self, timeout=60.0):
        """Start the server and wait until ``GET /`` answers 200.

        :raises RuntimeError: it exited or did not answer in time.
        """
        self._write_config()
        with open(self.log_path, "wb") as log:
            self.popen = subprocess.Popen(
                server_command() + ["--config-file", self.config_file],
                stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(
                    f"qinling-server exited with {self.popen.returncode}:\n"
                    + self.log_tail())
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"qinling-server did not answer within "
                           f"{timeout:.0f}s:\n" + self.log_tail())

    def workers(self):
        """``{pid: [child pids]}`` of the server's runtime workers."""
        if self.popen is None or self.popen.poll() is not None:
            return {}
        self._remember_descendants()
        return procfs.workers(self.popen.pid)

    def _remember_descendants(self):
        for pid in procfs.descendants(self.popen.pid):
            ident = procfs.identity(pid)
            if ident is not None:
                self._seen.add(ident)

    def log_tail(self, size=4000):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, os.fstat(f.fileno()).st_size - size))
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        """SIGTERM the server, wait, and make sure its workers are gone.

        :returns: the pids of processes started under the server that
            outlived it and had to be killed (none when the server shuts
            down properly).
        """
        if self.popen is None:
            return []
        if self.popen.poll() is None:
            self._remember_descendants()
            self.popen.terminate()
            try:
                self.popen.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        deadline = time.monotonic() + LEFTOVER_GRACE
        while True:  # sandboxes die with their parent, asynchronously
            leftovers = sorted(pid for pid, start in self._seen
                               if procfs.identity(pid) == (pid, start))
            if not leftovers or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        for pid in leftovers:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return leftovers

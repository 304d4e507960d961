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
"""Start real Qinling processes for the functional tests.

Three deployments:

* ``all-in-one``: ``qinling-server`` on its embedded defaults (SQLite,
  in-process RPC, local workers, no auth);
* ``rabbit-mariadb`` and ``rabbit-postgresql``: ``qinling-api`` and
  ``qinling-engine`` as two processes on RabbitMQ, with the database on
  MariaDB or PostgreSQL, migrated by ``qinling-db-manage``.

The servers found on the machine are used; a deployment whose server cannot
be reached is skipped with the reason.
"""

import os
import socket
import subprocess
import sys
import time
import uuid

import requests

BIN = os.path.dirname(sys.executable)

RABBIT_URL = os.environ.get("QINLING_TEST_RABBIT_URL",
                            "rabbit://guest:guest@127.0.0.1:5672/")
MARIADB_URL = os.environ.get("QINLING_TEST_MARIADB_URL",
                             "mysql+pymysql://root@127.0.0.1:3306")
POSTGRESQL_URL = os.environ.get("QINLING_TEST_POSTGRESQL_URL",
                                "postgresql+psycopg2://postgres@127.0.0.1:5432")


class Unavailable(Exception):
    """A server a deployment needs cannot be reached."""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reachable(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


def write_config(path, sections):
    with open(path, "w") as f:
        for section, options in sections.items():
            f.write("[%s]\n" % section)
            for key, value in options.items():
                f.write("%s = %s\n" % (key, value))
            f.write("\n")


class Process:
    """A console script run with a config file, its output in a log."""

    def __init__(self, name, config_file, log_dir):
        self.name = name
        self.log_path = os.path.join(log_dir, name + ".log")
        with open(self.log_path, "wb") as log:
            self.popen = subprocess.Popen(
                [os.path.join(BIN, name), "--config-file", config_file],
                stdout=log, stderr=subprocess.STDOUT)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()[-5000:]

    def stop(self):
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def wait_ready(url, processes, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in processes:
            if proc.popen.poll() is not None:
                raise RuntimeError("%s exited with %s:\n%s" % (
                    proc.name, proc.popen.returncode, proc.log()))
        try:
            if requests.get(url + "/", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError("%s did not answer within %ss" % (url, timeout))


def _create_database(kind):
    import sqlalchemy as sa
    name = "qinling_test_%s" % uuid.uuid4().hex[:10]
    if kind == "mariadb":
        if not reachable("127.0.0.1", 3306):
            raise Unavailable("MariaDB is not running on 127.0.0.1:3306")
        admin_url, url = MARIADB_URL + "/", "%s/%s?charset=utf8mb4" % (
            MARIADB_URL, name)
        create = "CREATE DATABASE %s CHARACTER SET utf8mb4" % name
    else:
        if not reachable("127.0.0.1", 5432):
            raise Unavailable("PostgreSQL is not running on 127.0.0.1:5432")
        admin_url = POSTGRESQL_URL + "/postgres"
        url = "%s/%s" % (POSTGRESQL_URL, name)
        create = "CREATE DATABASE %s" % name
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(create))
    except sa.exc.OperationalError as e:
        raise Unavailable("cannot create a %s database: %s" % (kind, e))
    finally:
        engine.dispose()

    def drop():
        engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("DROP DATABASE IF EXISTS %s" % name))
        engine.dispose()
    return url, drop


class Deployment:
    """Processes serving one API URL; ``stop()`` ends them all."""

    def __init__(self, kind, workdir, extra_config=None):
        self.kind = kind
        self.extra_config = extra_config or {}
        self.workdir = workdir
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.processes = []
        self._cleanups = []
        self.config_file = os.path.join(workdir, "qinling.conf")

    def _base_config(self):
        return {
            "DEFAULT": {"state_path": os.path.join(self.workdir, "state"),
                        "debug": "true"},
            "api": {"host": "127.0.0.1", "port": self.port},
            "local": {"pool_size": 2},
        }

    def start(self):
        config = self._base_config()
        for section, options in self.extra_config.items():
            config.setdefault(section, {}).update(options)
        if self.kind.startswith("all-in-one"):
            write_config(self.config_file, config)
            self.processes.append(
                Process("qinling-server", self.config_file, self.workdir))
        else:
            if not reachable("127.0.0.1", 5672):
                raise Unavailable("RabbitMQ is not running on 127.0.0.1:5672")
            url, drop = _create_database(self.kind.split("-", 1)[1])
            self._cleanups.append(drop)
            config["DEFAULT"]["transport_url"] = RABBIT_URL
            config["database"] = {"connection": url}
            config.setdefault("engine", {})["topic"] = \
                "qinling_test_%s" % uuid.uuid4().hex
            write_config(self.config_file, config)
            subprocess.run(
                [os.path.join(BIN, "qinling-db-manage"), "--config-file",
                 self.config_file, "upgrade", "head"],
                check=True, capture_output=True)
            for name in ("qinling-engine", "qinling-api"):
                self.processes.append(
                    Process(name, self.config_file, self.workdir))
        try:
            wait_ready(self.url, self.processes)
        except Exception:
            self.stop()
            raise

    def logs(self):
        return "\n".join("== %s ==\n%s" % (p.name, p.log())
                         for p in self.processes)

    def stop(self):
        for proc in reversed(self.processes):
            proc.stop()
        for cleanup in reversed(self._cleanups):
            cleanup()

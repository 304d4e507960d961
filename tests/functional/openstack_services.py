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
"""A real Keystone and a real Swift on loopback, for the functional tests.

Both run from the PyPI ``keystone`` and ``swift`` packages, installed once per
machine into a virtualenv of their own (:func:`ensure_venv`), so that their
dependencies never meet Qinling's. Every server listens on 127.0.0.1 on a
free port, keeps its state in a directory the caller gives, and is started in
a process group of its own, which ``stop()`` ends by PID.

* :class:`Keystone`: SQLite, fernet tokens, the fast settings (bcrypt cost 4,
  an in-memory cache), served by gunicorn. Once up it holds the ``service``
  project with the ``qinling`` service user, ``project-a``/``project-b`` with
  their members ``user-a``/``user-b``, the bootstrap ``admin``, and the
  ``function-engine`` and ``object-store`` services in the catalog.
* :class:`Swift`: a proxy with Keystone auth (``authtoken`` +
  ``keystoneauth``) and the account, container and object servers, on a
  plain directory with rings built for this run. Each project has the
  account ``AUTH_<project_id>``; its members (role ``member``) may use it.

Neither needs memcached. Failures raise :class:`Unavailable` when a package
cannot be installed because no package index answers (the caller skips), and
``RuntimeError`` with the servers' logs otherwise.
"""

import ctypes
import dataclasses
import fcntl
import grp
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time

import requests

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "openstack")

# Pinned to releases known to work together on Python 3.11.
PACKAGES = ("keystone==30.0.0", "swift==2.38.3", "gunicorn==27.0.1",
            "keystonemiddleware==13.0.1")

WAIT_TIMEOUT = 120      # a server to answer, the keystone-manage steps
INSTALL_TIMEOUT = 420   # the one-off install (pytest.ini: 600 s a test)
LOG_TAIL = 8000

REGION = "RegionOne"
DOMAIN = "Default"

# What pip prints when it cannot reach an index at all.
_NETWORK_ERRORS = (
    "NewConnectionError", "Failed to establish a new connection",
    "Temporary failure in name resolution", "Name or service not known",
    "Network is unreachable", "ConnectTimeoutError", "Read timed out",
    "ProxyError", "Connection refused", "No route to host",
    "Max retries exceeded",
)


class Unavailable(Exception):
    """The servers cannot be installed here: no package index answers."""


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache")
    return os.path.join(base, "qinling-tests")


def venv_dir(name="openstack"):
    """Where the ``name`` venv lives (``openstack``: Keystone and Swift).

    ``QINLING_TEST_<NAME>_VENV`` overrides it.
    """
    return os.environ.get("QINLING_TEST_%s_VENV" % name.upper()) or \
        os.path.join(cache_dir(), "%s-venv" % name)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(path, sections):
    with open(path, "w") as f:
        for section, options in sections.items():
            f.write("[%s]\n" % section)
            for key, value in options.items():
                f.write("%s = %s\n" % (key, value))
            f.write("\n")


def _tail(path, size=LOG_TAIL):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-size:]
    except OSError as e:
        return "(no log: %s)" % e


# -- the virtualenv ---------------------------------------------------------

def _marker_text(packages):
    return json.dumps({"packages": list(packages),
                       "python": "%d.%d" % sys.version_info[:2]})


def _venv_ready(path, packages):
    marker = os.path.join(path, ".qinling-tests-installed")
    try:
        with open(marker) as f:
            ready = f.read() == _marker_text(packages)
    except OSError:
        return False
    return ready and os.access(os.path.join(path, "bin", "python"), os.X_OK)


def _pip_supports_python_option():
    """Whether the running interpreter has pip >= 22.3 (``--python``)."""
    try:
        from pip import __version__
    except ImportError:
        return False
    try:
        return tuple(int(p) for p in __version__.split(".")[:2]) >= (22, 3)
    except ValueError:
        return False


def _run_install(argv, log, deadline):
    log.write(("$ %s\n" % " ".join(argv)).encode())
    log.flush()
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=_clean_env(),
                            start_new_session=True)
    try:
        return proc.wait(max(1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return "timed out"


def ensure_venv(name="openstack", packages=PACKAGES):
    """Install ``packages`` into the ``name`` venv, once per machine
    (by default Keystone, Swift and gunicorn).

    A venv whose marker matches ``packages`` is reused. Returns its path.
    """
    path = venv_dir(name)
    if _venv_ready(path, packages):
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    deadline = time.monotonic() + INSTALL_TIMEOUT
    with open(path + ".lock", "w") as lock:
        while True:     # another session may be installing it right now
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError("timed out waiting for %s.lock" % path)
                time.sleep(0.5)
        if _venv_ready(path, packages):
            return path
        shutil.rmtree(path, ignore_errors=True)
        log_path = path + "-install.log"
        python = os.path.join(path, "bin", "python")
        options = ["install", "--disable-pip-version-check", "--timeout", "60",
                   "--retries", "2"]
        venv_pip = [python, "-m", "pip"] + options
        # The pip bundled with a new venv (23.2 on 3.11) takes twice as long
        # as pip 26 to resolve and fetch this set: give the venv a new pip
        # first, with the running pip when it can target another
        # interpreter, else with the bundled one.
        if _pip_supports_python_option():
            steps = [[sys.executable, "-m", "venv", "--without-pip", path],
                     [sys.executable, "-m", "pip", "--python", python]
                     + options + ["pip>=25"]]
        else:
            steps = [[sys.executable, "-m", "venv", path],
                     venv_pip + ["pip>=25"]]
        steps.append(venv_pip + list(packages))
        with open(log_path, "wb") as log:
            for argv in steps:
                rc = _run_install(argv, log, deadline)
                if rc != 0:
                    break
        if rc != 0:
            output = _tail(log_path, 20000)
            shutil.rmtree(path, ignore_errors=True)
            if any(err in output for err in _NETWORK_ERRORS):
                raise Unavailable(
                    "cannot install %s: no package index reachable (log: %s)"
                    "\n%s" % (" ".join(packages), log_path, output[-2000:]))
            raise RuntimeError("installing %s into %s failed (%s):\n%s" % (
                " ".join(packages), path, rc, output))
        with open(os.path.join(path, ".qinling-tests-installed"), "w") as f:
            f.write(_marker_text(packages))
    return path


# -- processes --------------------------------------------------------------

def _clean_env(**extra):
    """The environment for a venv's programs: nothing of the test venv."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV",
                        "OS_KEYSTONE_CONFIG_DIR", "OS_KEYSTONE_CONFIG_FILES")
           and not k.startswith("OS_")}
    env.update(extra)
    return env


try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:     # pragma: no cover
    _LIBC = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """In the child: get SIGTERM if the test process dies without stopping
    us (a hard kill of pytest), so no server outlives it."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _group_members(pgid):
    """PIDs of the live processes in process group ``pgid``."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields: state ppid pgrp session ...
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry))
    return members


def _leader_exited(pid):
    """Whether our child ``pid`` has exited, without reaping it (its PID,
    which is also the group's ID, stays reserved until we reap it)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG
                         | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _kill_group(popen, sig=signal.SIGTERM, timeout=20):
    """Send ``sig`` to the group led by ``popen``, then SIGKILL what is left
    of it, each process by its PID; reap the leader. Returns the PIDs that
    needed SIGKILL."""
    pgid = popen.pid
    killed = []
    if popen.returncode is None:
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _leader_exited(pgid) and not _group_members(pgid):
                break
            time.sleep(0.05)
        for pid in _group_members(pgid):
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while _group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
    popen.wait()
    return killed


class Process:
    """A program started in a process group of its own, its output in a
    log file."""

    def __init__(self, name, argv, log_path, env=None,
                 stop_signal=signal.SIGTERM):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.stop_signal = stop_signal
        with open(log_path, "ab") as log:
            self.popen = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=env or _clean_env(),
                start_new_session=True, preexec_fn=_die_with_parent)

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def log(self, size=LOG_TAIL):
        return _tail(self.log_path, size)

    def check_alive(self):
        if self.popen.poll() is not None:
            raise RuntimeError("%s exited with %s:\n%s" % (
                self.name, self.popen.returncode, self.log()))

    def wait(self, timeout=WAIT_TIMEOUT):
        """Wait for a one-off command; raise with its log if it fails."""
        try:
            rc = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise RuntimeError("%s did not finish within %ss:\n%s" % (
                self.name, timeout, self.log()))
        if rc != 0:
            raise RuntimeError("%s failed with %s:\n$ %s\n%s" % (
                self.name, rc, " ".join(self.argv), self.log()))

    def stop(self, timeout=20):
        """Signal the whole group, SIGKILL (by PID) whatever is still in it
        ``timeout`` seconds later."""
        killed = _kill_group(self.popen, self.stop_signal, timeout)
        if killed:
            with open(self.log_path, "a") as log:
                log.write("\n[qinling tests] SIGKILLed %s: still running %ss"
                          " after signal %s\n" % (killed, timeout,
                                                   self.stop_signal))


def wait_http(url, processes, timeout=WAIT_TIMEOUT, ok=(200,)):
    """Wait until ``url`` answers with a status in ``ok`` (``None``: any),
    failing early if one of ``processes`` dies."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        for proc in processes:
            proc.check_alive()
        try:
            status = requests.get(url, timeout=5).status_code
            if ok is None or status in ok:
                return
            last = "HTTP %s" % status
        except requests.RequestException as e:
            last = e
        time.sleep(0.1)
    raise RuntimeError("%s did not answer within %ss (last: %s)" % (
        url, timeout, last))


class Services:
    """Common parts: a venv, a work dir, processes, logs and stop().

    :attr:`VENV` names the venv :attr:`PACKAGES` are installed in, None
    for servers the machine has.
    """

    VENV = "openstack"
    PACKAGES = PACKAGES

    def __init__(self, workdir, venv=None):
        self.workdir = os.path.abspath(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.venv = venv
        self.processes = []

    def _bin(self, name):
        return os.path.join(self.venv, "bin", name)

    def _start(self, name, argv, env=None, **kwargs):
        proc = Process(name, argv, os.path.join(self.workdir, name + ".log"),
                       env, **kwargs)
        self.processes.append(proc)
        return proc

    def logs(self):
        return "\n".join("== %s (%s) ==\n%s" % (p.name, p.log_path, p.log())
                         for p in self.processes)

    def stop(self):
        """Stop every process this object started. Safe to call twice."""
        for proc in reversed(self.processes):
            proc.stop()

    def start(self):
        if self.venv is None and self.VENV:
            self.venv = ensure_venv(self.VENV, self.PACKAGES)
        try:
            self._start_services()
        except BaseException as e:
            self.stop()
            if isinstance(e, RuntimeError):
                raise RuntimeError("%s\n\n%s" % (e, self.logs())) from e
            raise
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


# -- Keystone ---------------------------------------------------------------

@dataclasses.dataclass
class Credentials:
    """A Keystone user, scoped to a project of the Default domain."""

    username: str
    password: str
    project_name: str
    user_domain_name: str = DOMAIN
    project_domain_name: str = DOMAIN
    user_id: str = ""
    project_id: str = ""

    def auth_options(self):
        """Keyword arguments for ``keystoneauth1.identity.v3.Password``."""
        return {"username": self.username, "password": self.password,
                "project_name": self.project_name,
                "user_domain_name": self.user_domain_name,
                "project_domain_name": self.project_domain_name}


class Keystone(Services):
    """A real Keystone on 127.0.0.1.

    After :meth:`start`: ``url``, ``auth_url`` (``url + "/v3"``), ``admin``
    (the bootstrap admin, project ``admin``) and ``service`` (``qinling``,
    role ``admin`` in ``service``) as :class:`Credentials`, ``users`` (name
    -> :class:`Credentials`: ``admin``, ``qinling``, ``user-a``, ``user-b``,
    and ``swift`` once Swift runs), ``projects`` and ``roles`` (name -> ID),
    :meth:`session`, :meth:`token`, :meth:`admin_session`,
    :meth:`register_qinling_endpoint`, :meth:`register_endpoint`,
    :meth:`create_project`, :meth:`create_user`, :meth:`authtoken_options`.
    """

    SERVICE_PROJECT = "service"
    SERVICE_USER = "qinling"

    def __init__(self, workdir, venv=None):
        super().__init__(workdir, venv)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.auth_url = self.url + "/v3"
        self.config_file = os.path.join(self.workdir, "keystone.conf")
        self.admin = Credentials("admin", secrets.token_hex(8), "admin")
        self.service = None
        self.users = {}
        self.projects = {}
        self.roles = {}
        self._admin_session = None

    def _config(self):
        keys = os.path.join(self.workdir, "fernet-keys")
        return {
            "DEFAULT": {"use_stderr": "true"},
            "database": {"connection": "sqlite:///" + os.path.join(
                self.workdir, "keystone.db")},
            "token": {"provider": "fernet", "expiration": 3600},
            "fernet_tokens": {"key_repository": keys},
            "fernet_receipts": {"key_repository": keys},
            "credential": {"key_repository": os.path.join(
                self.workdir, "credential-keys")},
            # Keystone's defaults cost 0.5 s per password check and 0.8 s
            # per token validation.
            "identity": {"password_hash_algorithm": "bcrypt",
                         "password_hash_rounds": 4},
            "cache": {"enabled": "true",
                      "backend": "dogpile.cache.memory"},
        }

    def _start_services(self):
        for d in ("fernet-keys", "credential-keys"):
            os.makedirs(os.path.join(self.workdir, d), mode=0o700,
                        exist_ok=True)
        write_config(self.config_file, self._config())
        owner = ["--keystone-user", pwd.getpwuid(os.getuid()).pw_name,
                 "--keystone-group", grp.getgrgid(os.getgid()).gr_name]
        # gunicorn takes ~5 s to load Keystone, which touches neither the
        # database nor the keys until a request comes: load it while
        # keystone-manage sets them up.
        # One worker: Keystone's in-memory cache is per process, and a
        # second worker would serve stale role assignments and catalogs.
        server = self._start("keystone", [
            self._bin("python"), "-m", "gunicorn",
            "--bind", "127.0.0.1:%d" % self.port,
            "--workers", "1", "--threads", "8", "--timeout", "120",
            "--graceful-timeout", "5",
            "--no-control-socket", "--access-logfile", "-",
            "--pythonpath", HERE, "keystone_wsgi:application",
        ], env=_clean_env(OS_KEYSTONE_CONFIG_FILES=self.config_file),
            # gunicorn's quick shutdown; SIGTERM waits for idle keep-alives.
            stop_signal=signal.SIGINT)
        setup = self._start("keystone-manage", [
            self._bin("python"), os.path.join(HERE, "keystone_setup.py"),
            self.config_file, "db_sync",
            " ".join(["fernet_setup"] + owner),
            " ".join(["credential_setup"] + owner),
            " ".join([
                "bootstrap", "--bootstrap-password", self.admin.password,
                "--bootstrap-username", self.admin.username,
                "--bootstrap-project-name", self.admin.project_name,
                "--bootstrap-role-name", "admin",
                "--bootstrap-region-id", REGION,
                "--bootstrap-admin-url", self.auth_url,
                "--bootstrap-internal-url", self.auth_url,
                "--bootstrap-public-url", self.auth_url])])
        setup.wait()
        wait_http(self.auth_url, [server])
        self._populate()

    # -- the admin side, through the API --

    def admin_session(self):
        """A keystoneauth1 session of the bootstrap admin (project
        ``admin``)."""
        if self._admin_session is None:
            self._admin_session = self._session_for(self.admin)
        return self._admin_session

    def _session_for(self, credentials, **auth_options):
        from keystoneauth1 import session
        from keystoneauth1.identity import v3
        options = credentials.auth_options()
        options.update(auth_options)
        if "trust_id" in auth_options:
            for key in ("project_name", "project_domain_name"):
                options.pop(key)
        return session.Session(
            auth=v3.Password(auth_url=self.auth_url, **options), timeout=60)

    def _api(self, method, path, **kwargs):
        resp = self.admin_session().request(self.auth_url + path, method,
                                            **kwargs)
        return resp.json() if resp.content else None

    def create_project(self, name):
        """Create a project in the Default domain; return its ID."""
        project = self._api("POST", "/projects", json={"project": {
            "name": name, "domain_id": "default"}})["project"]
        self.projects[name] = project["id"]
        return project["id"]

    def create_user(self, name, project, roles=("member",), password=None):
        """Create a user with ``roles`` on ``project`` (which must exist);
        return (and record in ``users``) its :class:`Credentials`."""
        password = password or secrets.token_hex(8)
        user = self._api("POST", "/users", json={"user": {
            "name": name, "password": password, "domain_id": "default",
            "default_project_id": self.projects[project]}})["user"]
        for role in roles:
            self._api("PUT", "/projects/%s/users/%s/roles/%s" % (
                self.projects[project], user["id"], self.roles[role]))
        credentials = Credentials(name, password, project, user_id=user["id"],
                                  project_id=self.projects[project])
        self.users[name] = credentials
        return credentials

    def _populate(self):
        self.roles = {r["name"]: r["id"]
                      for r in self._api("GET", "/roles")["roles"]}
        self.projects = {p["name"]: p["id"]
                         for p in self._api("GET", "/projects")["projects"]}
        admin_user = self._api("GET", "/users?name=admin")["users"][0]
        self.admin.user_id = admin_user["id"]
        self.admin.project_id = self.projects["admin"]
        self.users["admin"] = self.admin
        for name in (self.SERVICE_PROJECT, "project-a", "project-b"):
            self.create_project(name)
        # Upstream gives a service user ``admin`` in ``service``.
        self.service = self.create_user(
            self.SERVICE_USER, self.SERVICE_PROJECT, roles=("admin",))
        self.create_user("user-a", "project-a")
        self.create_user("user-b", "project-b")
        self.create_service("function-engine", "qinling",
                            "Function engine service")
        self.create_service("object-store", "swift", "Object storage")

    def create_service(self, service_type, name, description=""):
        """The ID of the catalog's ``service_type`` service, made if new."""
        found = self._api("GET", "/services?type=%s" % service_type)
        if found["services"]:
            return found["services"][0]["id"]
        return self._api("POST", "/services", json={"service": {
            "type": service_type, "name": name,
            "description": description}})["service"]["id"]

    def register_endpoint(self, service_type, name, url):
        """Make ``url`` the public, internal and admin endpoint of the
        ``service_type`` service, replacing the ones it had."""
        service_id = self.create_service(service_type, name)
        for endpoint in self._api("GET", "/endpoints?service_id=%s"
                                  % service_id)["endpoints"]:
            self._api("DELETE", "/endpoints/%s" % endpoint["id"])
        for interface in ("public", "internal", "admin"):
            self._api("POST", "/endpoints", json={"endpoint": {
                "service_id": service_id, "interface": interface,
                "url": url, "region_id": REGION, "enabled": True}})

    def register_qinling_endpoint(self, url):
        """Register ``url`` as Qinling's ``function-engine`` endpoint (all
        three interfaces). Call it again to move it."""
        self.register_endpoint("function-engine", "qinling", url.rstrip("/"))

    # -- for the tests --

    def session(self, username, **auth_options):
        """A new keystoneauth1 session of ``username``, scoped to its
        project; ``auth_options`` go to ``v3.Password`` (e.g.
        ``trust_id=...``, which drops the project scope)."""
        return self._session_for(self.users[username], **auth_options)

    def token(self, username, **auth_options):
        """A new token of ``username``, scoped to its project."""
        return self.session(username, **auth_options).get_token()

    def authtoken_options(self, credentials=None):
        """The ``[keystone_authtoken]`` options of a service that validates
        tokens as ``credentials`` (default: the ``qinling`` service user)."""
        credentials = credentials or self.service
        return {"www_authenticate_uri": self.auth_url,
                "auth_url": self.auth_url, "auth_type": "password",
                "username": credentials.username,
                "password": credentials.password,
                "project_name": credentials.project_name,
                "user_domain_name": credentials.user_domain_name,
                "project_domain_name": credentials.project_domain_name}


# -- Swift ------------------------------------------------------------------

class Swift(Services):
    """A real Swift (a SAIO of one device) with Keystone auth.

    After :meth:`start`: ``url`` (the proxy), :meth:`storage_url`,
    :meth:`connection`. Registers itself as the ``object-store`` endpoint of
    ``keystone``.
    """

    SERVERS = ("account", "container", "object")

    def __init__(self, workdir, keystone, venv=None):
        super().__init__(workdir, venv or keystone.venv)
        self.keystone = keystone
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.ports = {name: free_port() for name in self.SERVERS}
        self.swift_dir = os.path.join(self.workdir, "etc")
        self.devices = os.path.join(self.workdir, "srv")
        self.credentials = None

    def _default(self, name, port):
        return {"bind_ip": "127.0.0.1", "bind_port": port,
                # 0: serve in the started process itself, no forks.
                "workers": 0,
                "user": pwd.getpwuid(os.getuid()).pw_name,
                "swift_dir": self.swift_dir, "devices": self.devices,
                "mount_check": "false", "disable_fallocate": "true",
                "recon_cache_path": os.path.join(self.workdir, "recon"),
                "log_name": name, "log_level": "INFO"}

    def _write_configs(self):
        for d in (self.swift_dir, os.path.join(self.devices, "sdb1"),
                  os.path.join(self.workdir, "recon")):
            os.makedirs(d, exist_ok=True)
        write_config(os.path.join(self.swift_dir, "swift.conf"), {
            "swift-hash": {
                "swift_hash_path_prefix": secrets.token_hex(8),
                "swift_hash_path_suffix": secrets.token_hex(8)},
            "storage-policy:0": {"name": "Policy-0", "default": "yes"},
        })
        for name, port in self.ports.items():
            write_config(self._conf(name), {
                "DEFAULT": self._default(name + "-server", port),
                "pipeline:main": {"pipeline": name + "-server"},
                "app:%s-server" % name: {"use": "egg:swift#" + name},
            })
        auth = self.keystone.authtoken_options(self.credentials)
        auth.update({"paste.filter_factory":
                     "keystonemiddleware.auth_token:filter_factory",
                     "delay_auth_decision": "true",
                     "include_service_catalog": "false"})
        # No ``cache`` filter and no ``memcached_servers``: authtoken then
        # caches in-process and nothing needs memcached (or python-memcached).
        write_config(self._conf("proxy"), {
            "DEFAULT": self._default("proxy-server", self.port),
            "pipeline:main": {"pipeline": (
                "catch_errors gatekeeper healthcheck proxy-logging authtoken "
                "keystoneauth proxy-logging proxy-server")},
            "app:proxy-server": {"use": "egg:swift#proxy",
                                 "account_autocreate": "true"},
            "filter:catch_errors": {"use": "egg:swift#catch_errors"},
            "filter:gatekeeper": {"use": "egg:swift#gatekeeper"},
            "filter:healthcheck": {"use": "egg:swift#healthcheck"},
            "filter:proxy-logging": {"use": "egg:swift#proxy_logging"},
            "filter:authtoken": auth,
            "filter:keystoneauth": {"use": "egg:swift#keystoneauth",
                                    "reseller_prefix": "AUTH_",
                                    "operator_roles": "admin, member"},
        })

    def _conf(self, name):
        return os.path.join(self.workdir, name + "-server.conf")

    def _start_services(self):
        # Swift's own service user, to validate tokens.
        self.credentials = self.keystone.users.get("swift") or \
            self.keystone.create_user("swift", Keystone.SERVICE_PROJECT,
                                      roles=("admin",))
        self._write_configs()
        self._start("swift-rings", [
            self._bin("python"), os.path.join(HERE, "swift_rings.py"),
            self.swift_dir, "sdb1", str(self.ports["account"]),
            str(self.ports["container"]), str(self.ports["object"])]).wait()
        servers = [
            # -v: log to stderr (our log file) as well as to syslog.
            self._start("swift-%s-server" % name, [
                self._bin("swift-%s-server" % name), self._conf(name), "-v"])
            for name in self.SERVERS + ("proxy",)]
        for port in self.ports.values():
            # Storage servers answer any request; only that matters here.
            wait_http("http://127.0.0.1:%d/" % port, servers, ok=None)
        wait_http(self.url + "/healthcheck", servers)
        self.keystone.register_endpoint(
            "object-store", "swift", self.url + "/v1/AUTH_%(project_id)s")

    def storage_url(self, project):
        """The URL of ``project``'s account (``project`` is a name)."""
        return "%s/v1/AUTH_%s" % (self.url, self.keystone.projects[project])

    def connection(self, username, project=None, session=None):
        """A ``swiftclient.Connection`` as ``username`` (or ``session``),
        on the account of its own project or of ``project``."""
        from swiftclient import client
        if session is None:
            session = self.keystone.session(username)
        project = project or self.keystone.users[username].project_name
        return client.Connection(
            session=session, retries=1, timeout=30,
            os_options={"object_storage_url": self.storage_url(project)})

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
"""A real Zaqar and a real Aodh on loopback, the callers of our webhooks.

Like :mod:`tests.functional.openstack_services` (whose process handling
this module reuses), each service comes from PyPI, installed once per
machine into a virtualenv of its own under the tests' cache directory
(:func:`openstack_services.ensure_venv`), and every server listens on
127.0.0.1 on a free port in a process group of its own, which ``stop()``
ends by PID.

* :class:`Redis`: the Debian ``redis-server``, no persistence.
* :class:`Zaqar`: ``zaqar-server`` with both stores on its own
  :class:`Redis`, no auth (every request carries ``Client-ID`` and
  ``X-Project-ID``), the notifier in the message pipeline so that
  subscriptions are POSTed to. ``require_confirmation=True`` makes it send
  a ``SubscriptionConfirmation`` first and deliver nothing until someone
  confirms.
* :class:`Aodh`: the API (``auth_mode = noauth``, served by wsgiref since
  Aodh ships no ``aodh-api`` script), ``aodh-listener`` and
  ``aodh-notifier`` on SQLite and the machine's RabbitMQ, for ``event``
  alarms. Its topics are its own, so that two test sessions on one broker
  never take each other's events; its queues are deleted by ``stop()``.
* :class:`Tap`: a forwarder in the test process between a caller and
  Qinling, to see what the caller sent and what Qinling answered.

:class:`Unavailable` (the caller skips) means a prerequisite is missing:
no package index, no ``redis-server``, no RabbitMQ. Any other failure
raises ``RuntimeError`` with the servers' logs.
"""

import datetime
from http import server as http_server
import json
import os
import secrets
import shutil
import subprocess
import threading
import time
from urllib import parse
import uuid

import requests

from tests.functional import deployments
from tests.functional import openstack_services
from tests.functional.openstack_services import Unavailable  # noqa: F401
from tests.functional.openstack_services import free_port
from tests.functional.openstack_services import wait_http
from tests.functional.openstack_services import write_config

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "triggers")

# Pinned to releases known to work on Python 3.11 (zaqar needs redis-py but
# does not depend on it).
ZAQAR_PACKAGES = ("zaqar==23.0.1", "redis==8.1.0")
AODH_PACKAGES = ("aodh==23.0.0",)

WAIT_TIMEOUT = openstack_services.WAIT_TIMEOUT

# What a no-auth request to Zaqar must carry besides the project.
ZAQAR_CLIENT_ID = "3381af92-2b9e-11e3-b191-71861300734c"


# -- helpers ----------------------------------------------------------------

def wait_tcp(port, processes, timeout=WAIT_TIMEOUT):
    """Wait until 127.0.0.1:``port`` accepts connections, failing early if
    one of ``processes`` dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in processes:
            proc.check_alive()
        if deployments.reachable("127.0.0.1", port):
            return
        time.sleep(0.1)
    raise RuntimeError("127.0.0.1:%d did not open within %ss" % (
        port, timeout))


# Services: the venv machinery and process handling of openstack_services.
Services = openstack_services.Services


# -- Redis ------------------------------------------------------------------

class Redis(Services):
    """The machine's ``redis-server`` on a free port, nothing on disk.

    After :meth:`start`: ``port``, ``url``.
    """

    VENV = None

    def __init__(self, workdir):
        super().__init__(workdir)
        self.port = free_port()
        self.url = "redis://127.0.0.1:%d" % self.port

    def _start_services(self):
        binary = shutil.which("redis-server")
        if binary is None:
            raise Unavailable("redis-server is not installed "
                              "(apt-get install redis-server)")
        server = self._start("redis-server", [
            binary, "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", self.workdir,
            "--daemonize", "no"])
        wait_tcp(self.port, [server])


# -- Zaqar ------------------------------------------------------------------

class Zaqar(Services):
    """A real Zaqar (v2 API, wsgi transport) on its own Redis, no auth.

    After :meth:`start`: ``url``, :meth:`request`, :meth:`create_queue`,
    :meth:`subscribe`, :meth:`subscription`, :meth:`post_messages`. With
    ``require_confirmation`` every new subscription gets a
    ``SubscriptionConfirmation`` POST and is delivered to only once
    confirmed (signed with ``secret_key``).
    """

    VENV = "zaqar"
    PACKAGES = ZAQAR_PACKAGES

    def __init__(self, workdir, require_confirmation=False,
                 project="qinling-tests", venv=None):
        super().__init__(workdir, venv)
        self.require_confirmation = require_confirmation
        self.project = project
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.config_file = os.path.join(self.workdir, "zaqar.conf")
        self.secret_key = secrets.token_hex(16)
        self.redis = Redis(os.path.join(self.workdir, "redis"))
        self.http = requests.Session()
        self.http.headers.update({"Client-ID": ZAQAR_CLIENT_ID,
                                  "X-Project-ID": project,
                                  "Content-Type": "application/json"})

    def _config(self):
        return {
            # An empty auth_strategy: no Keystone.
            "DEFAULT": {"auth_strategy": "", "use_stderr": "true"},
            "drivers": {"transport": "wsgi", "message_store": "redis",
                        "management_store": "redis"},
            "drivers:transport:wsgi": {"bind": "127.0.0.1",
                                       "port": self.port},
            "drivers:message_store:redis": {"uri": self.redis.url},
            "drivers:management_store:redis": {"uri": self.redis.url},
            # Without the notifier in the pipeline subscriptions are kept
            # but nothing is ever POSTed.
            "storage": {"message_pipeline": "zaqar.notification.notifier"},
            "notification": {"require_confirmation": str(
                self.require_confirmation).lower()},
            "signed_url": {"secret_key": self.secret_key},
        }

    def _start_services(self):
        self.redis.start()
        # Redis's processes are ours too: stop() and logs() cover them.
        self.processes.extend(self.redis.processes)
        write_config(self.config_file, self._config())
        server = self._start("zaqar-server", [
            self._bin("zaqar-server"), "--config-file", self.config_file])
        # Any answer will do: even ping wants a Client-ID.
        wait_http(self.url + "/v2/ping", [server], ok=None)

    def request(self, method, path, expect=None, **kwargs):
        """A request to ``url + path`` as the test project; with ``expect``,
        assert the status and return the decoded body."""
        resp = self.http.request(method, self.url + path, timeout=30,
                                 **kwargs)
        if expect is None:
            return resp
        assert resp.status_code == expect, (method, path, resp.status_code,
                                            resp.text)
        return resp.json() if resp.content else None

    def create_queue(self, name=None):
        """Create a queue (a new name unless given); return its name."""
        name = name or "q-%s" % uuid.uuid4().hex[:12]
        self.request("PUT", "/v2/queues/%s" % name, expect=201, json={})
        return name

    def subscribe(self, queue, subscriber, options=None, ttl=3600):
        """Subscribe ``subscriber`` (a URL) to ``queue``; return the
        subscription's ID."""
        return self.request(
            "POST", "/v2/queues/%s/subscriptions" % queue, expect=201,
            json={"subscriber": subscriber, "ttl": ttl,
                  "options": options or {}})["subscription_id"]

    def subscription(self, queue, subscription_id):
        return self.request("GET", "/v2/queues/%s/subscriptions/%s" % (
            queue, subscription_id), expect=200)

    def post_messages(self, queue, messages):
        """Post ``messages`` (``{"ttl", "body"}`` dicts); return their
        IDs."""
        return [parse.urlparse(ref).path.rsplit("/", 1)[1]
                for ref in self.request(
                    "POST", "/v2/queues/%s/messages" % queue, expect=201,
                    json={"messages": messages})["resources"]]


# -- Aodh -------------------------------------------------------------------

class Aodh(Services):
    """A real Aodh for ``event`` alarms: API, listener and notifier.

    After :meth:`start`: ``url``, :meth:`request` (as a project, through
    ``noauth``'s headers), :meth:`create_alarm`, :meth:`alarm`,
    :meth:`send_event` (a Ceilometer-format event, as Ceilometer's
    ``notifier://`` event publisher sends it).
    """

    VENV = "aodh"
    PACKAGES = AODH_PACKAGES

    def __init__(self, workdir, transport_url=None, venv=None):
        super().__init__(workdir, venv)
        self.transport_url = transport_url or deployments.RABBIT_URL
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.config_file = os.path.join(self.workdir, "aodh.conf")
        suffix = uuid.uuid4().hex[:12]
        self.event_topic = "qinling-tests-alarm-%s" % suffix
        self.notifier_topic = "qinling-tests-alarming-%s" % suffix

    def _kombu_url(self):
        """The broker's URL as kombu spells it."""
        return "amqp://" + self.transport_url.split("://", 1)[1]

    def _broker(self):
        url = parse.urlparse(self._kombu_url())
        return url.hostname or "127.0.0.1", url.port or 5672

    def _config(self):
        return {
            "DEFAULT": {"transport_url": self.transport_url,
                        "use_stderr": "true",
                        # The listener would otherwise cache a project's
                        # event alarms for 60 s and miss new ones.
                        "event_alarm_cache_ttl": 0,
                        "notifier_topic": self.notifier_topic},
            "listener": {"event_alarm_topic": self.event_topic},
            "api": {"auth_mode": "noauth"},
            "database": {"connection": "sqlite:///" + os.path.join(
                self.workdir, "aodh.db")},
        }

    def _start_services(self):
        host, port = self._broker()
        if not deployments.reachable(host, port):
            raise Unavailable("RabbitMQ is not running on %s:%d (set "
                              "QINLING_TEST_RABBIT_URL)" % (host, port))
        write_config(self.config_file, self._config())
        self._start("aodh-dbsync", [
            self._bin("aodh-dbsync"), "--config-file",
            self.config_file]).wait()
        api = self._start("aodh-api", [
            self._bin("python"), os.path.join(HERE, "aodh_wsgi.py"),
            self.config_file, str(self.port)])
        daemons = [self._start(name, [self._bin(name), "--config-file",
                                      self.config_file])
                   for name in ("aodh-listener", "aodh-notifier")]
        wait_http(self.url + "/", [api] + daemons)
        self._wait_consuming(daemons)

    def _queues(self):
        return ["%s.sample" % self.event_topic,
                "%s.sample" % self.notifier_topic]

    def _wait_consuming(self, daemons, timeout=WAIT_TIMEOUT):
        """Wait until the listener and the notifier consume their queues,
        so that no event is sent before anything listens for it."""
        import kombu
        deadline = time.monotonic() + timeout
        waiting = self._queues()
        with kombu.Connection(self._kombu_url(),
                              connect_timeout=10) as conn:
            while waiting and time.monotonic() < deadline:
                for proc in daemons:
                    proc.check_alive()
                channel = conn.channel()
                try:
                    ok = channel.queue_declare(waiting[0], passive=True)
                    if ok.consumer_count:
                        waiting.pop(0)
                        continue
                except conn.channel_errors:
                    pass    # not declared yet
                finally:
                    try:
                        channel.close()
                    except conn.connection_errors + conn.channel_errors:
                        pass
                time.sleep(0.2)
        if waiting:
            raise RuntimeError("nothing consumes %s within %ss" % (
                waiting, timeout))

    def stop(self):
        super().stop()
        self._delete_queues()

    def _delete_queues(self):
        """Delete the queues of our own topics from the shared broker."""
        import kombu
        try:
            with kombu.Connection(self._kombu_url(),
                                  connect_timeout=10) as conn:
                for queue in self._queues():
                    channel = conn.channel()
                    try:
                        channel.queue_delete(queue)
                    except conn.channel_errors:
                        pass
                    finally:
                        try:
                            channel.close()
                        except conn.connection_errors + conn.channel_errors:
                            pass
        except Exception as e:   # the broker went away: nothing to clean
            with open(os.path.join(self.workdir, "cleanup.log"), "a") as f:
                f.write("could not delete queues %s: %s\n" % (
                    self._queues(), e))

    def request(self, method, path, project, expect=None, roles="admin",
                user="qinling-tests", **kwargs):
        """A request to ``url + path`` as ``project`` (noauth headers);
        with ``expect``, assert the status and return the decoded body."""
        headers = {"X-Project-Id": project, "X-User-Id": user,
                   "X-Roles": roles, "Content-Type": "application/json"}
        resp = requests.request(method, self.url + path, headers=headers,
                                timeout=30, **kwargs)
        if expect is None:
            return resp
        assert resp.status_code == expect, (method, path, resp.status_code,
                                            resp.text)
        return resp.json() if resp.content else None

    def create_alarm(self, project, alarm, **kwargs):
        """POST ``alarm`` (an Aodh alarm document) as ``project``."""
        return self.request("POST", "/v2/alarms", project, expect=201,
                            json=alarm, **kwargs)

    def alarm(self, project, alarm_id):
        return self.request("GET", "/v2/alarms/%s" % alarm_id, project,
                            expect=200)

    def delete_alarm(self, project, alarm_id):
        self.request("DELETE", "/v2/alarms/%s" % alarm_id, project,
                     expect=204)

    def send_event(self, event_type, traits, message_id=None):
        """Publish one event with ``traits`` (``{name: str}`` or
        ``[name, dtype, value]`` triples) on the listener's topic, as
        Ceilometer does; return the event."""
        if isinstance(traits, dict):
            traits = [[name, 1, value] for name, value in traits.items()]
        event = {"message_id": message_id or str(uuid.uuid4()),
                 "event_type": event_type,
                 "generated": datetime.datetime.now(
                     datetime.timezone.utc).replace(tzinfo=None).isoformat(),
                 "traits": traits, "raw": {}}
        argv = [self._bin("python"), os.path.join(HERE, "send_event.py"),
                self.transport_url, self.event_topic, json.dumps(event)]
        proc = subprocess.run(argv, capture_output=True, timeout=60,
                              env=openstack_services._clean_env())
        if proc.returncode != 0:
            raise RuntimeError("send_event.py failed (%s):\n%s%s" % (
                proc.returncode, proc.stdout.decode(errors="replace"),
                proc.stderr.decode(errors="replace")))
        return event


# -- a tap between a caller and Qinling --------------------------------------

class Tap:
    """An HTTP forwarder on 127.0.0.1 that records what a caller sent and
    what Qinling answered.

    ``url_for(webhook_url)`` is the URL to give the caller instead; each
    request is forwarded unchanged (method, path, query, headers, body) to
    the original host, and ``calls`` collects ``{"path", "headers",
    "body", "status", "response"}`` once Qinling has answered. Runs in a
    thread of the test process; use it as a context manager.
    """

    HOP_BY_HOP = {"host", "content-length", "connection", "keep-alive",
                  "transfer-encoding", "accept-encoding"}

    def __init__(self, target):
        self.target = target.rstrip("/")
        self.calls = []
        self._lock = threading.Lock()
        tap = self

        class Handler(http_server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in tap.HOP_BY_HOP}
                try:
                    resp = requests.request(
                        self.command, tap.target + self.path, data=body,
                        headers=headers, timeout=60)
                    status, content = resp.status_code, resp.content
                except requests.RequestException as e:
                    status, content = 502, str(e).encode()
                with tap._lock:
                    tap.calls.append({
                        "path": self.path, "headers": dict(headers),
                        "body": body.decode("utf-8", "replace"),
                        "status": status,
                        "response": content.decode("utf-8", "replace")})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_POST = do_PUT = do_GET = _forward

            def log_message(self, *args):
                pass

        self._server = http_server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                       Handler)
        self._server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        daemon=True)

    def url_for(self, url):
        """``url`` (on the target) as reached through the tap."""
        assert url.startswith(self.target), (url, self.target)
        return self.url + url[len(self.target):]

    def wait_for(self, predicate, timeout=60):
        """The first recorded call for which ``predicate(call)`` is true,
        waiting for it up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = [c for c in self.calls if predicate(c)]
            if found:
                return found[0]
            time.sleep(0.1)
        raise AssertionError("no such call through the tap within %ss; "
                             "calls: %s" % (timeout, self.calls))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

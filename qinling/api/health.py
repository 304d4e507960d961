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
"""``/healthcheck``: oslo.middleware's healthcheck, with Qinling's checks.

Anyone may call it (a load balancer has no token): it answers 200 when the
database, the message bus and an engine answer, 503 with the failing
check's reason otherwise. A caller the ``healthcheck:detailed`` rule allows
(an admin; everyone when auth is off) gets oslo.middleware's detailed view
with each check's detail.

The backends of ``[healthcheck]backends`` (``disable_by_file`` and the
like) run before Qinling's own checks.
"""

import threading
import time

from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_middleware import healthcheck
from oslo_middleware.healthcheck import pluginbase
import sqlalchemy as sa
from stevedore import extension

from qinling import context
from qinling import rpc
from qinling.db import api as db_api

LOG = logging.getLogger(__name__)

PATH = "/healthcheck"
#: seconds an engine has to answer the health check's ping.
ENGINE_PING_TIMEOUT = 5


def _result(available, reason, started):
    took = "%.1f ms" % ((time.monotonic() - started) * 1000)
    return pluginbase.HealthcheckResult(available, reason, details=took)


class DatabaseCheck(pluginbase.HealthcheckBaseExtension):
    """The database answers a ``SELECT 1``."""

    def healthcheck(self, server_port):
        started = time.monotonic()
        try:
            with db_api.get_engine().connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception as e:
            LOG.warning("Health check: the database does not answer: %s", e)
            return _result(False, "database: not answering (%s)"
                           % e.__class__.__name__, started)
        return _result(True, "database: OK", started)


class EngineCheck(pluginbase.HealthcheckBaseExtension):
    """An engine answers oslo.messaging's ping on the engine topic.

    That needs the message bus too, so it also checks the bus. Without
    ``[DEFAULT]transport_url`` the engine lives in this process
    (qinling-server) and is reached without a bus.
    """

    def __init__(self, oslo_conf, conf):
        super().__init__(oslo_conf, conf)
        self._client = None
        self._lock = threading.Lock()

    def _rpc_client(self):
        with self._lock:
            if self._client is None:
                self._client = messaging.get_rpc_client(
                    rpc.get_transport(self.oslo_conf),
                    rpc.engine_target(self.oslo_conf),
                    serializer=rpc.ContextSerializer(),
                    timeout=ENGINE_PING_TIMEOUT)
            return self._client

    def healthcheck(self, server_port):
        started = time.monotonic()
        if not rpc.transport_configured(self.oslo_conf):
            return _result(True, "message bus: not used; engine: in this "
                           "process", started)
        try:
            # oslo.messaging's ping endpoint has no version of its own,
            # so it answers calls of version 1.0 only.
            self._rpc_client().prepare(version="1.0").call(
                context.admin_context(), "oslo_rpc_server_ping")
        except messaging.MessagingTimeout:
            return _result(False, "engine: none answered on topic %s within "
                           "%ss" % (self.oslo_conf.engine.topic,
                                    ENGINE_PING_TIMEOUT), started)
        except Exception as e:
            LOG.warning("Health check: the message bus fails: %s", e)
            return _result(False, "message bus: %s" % e.__class__.__name__,
                           started)
        return _result(True, "message bus: OK; engine: answering", started)


class Healthcheck(healthcheck.Healthcheck):
    """Serves ``/healthcheck`` in front of the API; other paths pass on.

    :param enforcer: the policy enforcer, None when auth is off.
    """

    def __init__(self, application, conf, enforcer):
        super().__init__(application, conf)
        self._enforcer = enforcer
        self._request = threading.local()
        own = [extension.Extension(name, None, cls, cls(conf, {}))
               for name, cls in (("qinling_database", DatabaseCheck),
                                 ("qinling_engine", EngineCheck))]
        self._backends = list(self._backends) + own

    @property
    def _show_details(self):
        return getattr(self._request, "detailed", False)

    @_show_details.setter
    def _show_details(self, value):
        """oslo.middleware sets its [healthcheck]detailed; the caller's
        rights decide instead."""

    def _detailed_allowed(self, environ):
        if self._enforcer is None:
            return True
        if environ.get("HTTP_X_IDENTITY_STATUS") != "Confirmed":
            return False
        ctx = context.Context.from_environ(environ, overwrite=False)
        return self._enforcer.authorize(
            "healthcheck:detailed", {"project_id": ctx.project_id}, ctx,
            do_raise=False)

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").rstrip("/") != PATH:
            return self.application(environ, start_response)
        self._request.detailed = self._detailed_allowed(environ)
        try:
            return super().__call__(environ, start_response)
        finally:
            self._request.detailed = False

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
"""``qinling-server``: the API, the engine and the periodic tasks in one
process.

With no configuration it runs on the embedded defaults: a SQLite database
under ``[DEFAULT]state_path`` (migrated at start), local package storage,
the local orchestrator, no auth, and the API handing engine calls straight
to the in-process engine. If ``[DEFAULT]transport_url`` is set, the engine
also serves that message bus, so separate ``qinling-api`` processes can use
it.
"""

import logging as logging_std
import os
import signal
import sys
import threading

from cheroot import wsgi
from oslo_log import log as logging

from qinling import metrics
from qinling import notifications
from qinling import rpc
from qinling.api import app as api_app
from qinling.cmd import config
from qinling.engine import service as engine_service
from qinling.services import periodics

LOG = logging.getLogger(__name__)


def serve(conf, app, stop_event):
    """Serve ``app`` on ``[api]host:port`` with threads until stopped."""
    server = wsgi.Server((conf.api.host, conf.api.port), app,
                         numthreads=conf.api.threads,
                         server_name="qinling")
    server.prepare()
    LOG.info("Qinling API listening on http://%s:%s", conf.api.host,
             server.bind_addr[1])
    thread = threading.Thread(target=server.serve, name="wsgi", daemon=True)
    thread.start()
    stop_event.wait()
    server.stop()


def main():
    conf = config.load()
    config.prepare_database(conf, migrate=config.is_embedded_sqlite(conf))
    notifications.init(conf)

    engine = engine_service.Engine(conf)
    transport = rpc.get_transport(conf) if rpc.transport_configured(conf) \
        else None
    engine.start(transport)

    client = rpc.EngineClient.in_process(engine.endpoint)
    services = api_app.build_services(conf, client)
    app = api_app.setup_app(conf, client, services=services)
    tasks = periodics.start_api_tasks(conf, services)
    if conf.metrics.port:
        LOG.info("Metrics served on http://%s:%s/metrics", conf.metrics.host,
                 metrics.serve(conf.metrics.host, conf.metrics.port))

    stop_event = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *args: stop_event.set())
    try:
        serve(conf, app, stop_event)
    finally:
        for task in tasks:
            task.stop()
        engine.stop()
        client.close()
        notifications.cleanup()
        LOG.info("Qinling server stopped")
    _exit_at_once()


def _exit_at_once():
    """Exit now that everything stopped cleanly.

    The interpreter's own exit would first tear down every module and
    object of the process, which takes seconds and does nothing useful.
    """
    logging_std.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)

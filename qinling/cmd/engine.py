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
"""``qinling-engine``: the engine as its own service, on the message bus."""

import signal
import sys
import threading

from oslo_log import log as logging

from qinling import metrics
from qinling import notifications
from qinling import rpc
from qinling.cmd import config
from qinling.engine import service as engine_service

LOG = logging.getLogger(__name__)


def main():
    conf = config.load()
    if not rpc.transport_configured(conf):
        sys.exit("qinling-engine needs [DEFAULT]transport_url to reach the "
                 "API; use qinling-server to run both in one process.")
    config.prepare_database(conf, migrate=False)
    notifications.init(conf)
    engine = engine_service.Engine(conf)
    engine.start(rpc.get_transport(conf))
    if conf.metrics.engine_port:
        LOG.info("Metrics served on http://%s:%s/metrics", conf.metrics.host,
                 metrics.serve(conf.metrics.host, conf.metrics.engine_port))

    stop_event = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *args: stop_event.set())
    stop_event.wait()
    engine.stop()
    notifications.cleanup()
    LOG.info("Qinling engine stopped")

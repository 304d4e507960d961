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
"""``qinling-api``: the REST API as its own service, on eventlet.

A synchronous execution holds its request until the function returns;
green threads make those long waits cheap. Engine calls go over the
message bus.
"""

import eventlet

eventlet.monkey_patch()

import sys  # noqa: E402

from eventlet import wsgi  # noqa: E402
from oslo_log import log as logging  # noqa: E402

from qinling import metrics  # noqa: E402
from qinling import notifications  # noqa: E402
from qinling import rpc  # noqa: E402
from qinling.api import app as api_app  # noqa: E402
from qinling.cmd import config  # noqa: E402
from qinling.services import periodics  # noqa: E402

LOG = logging.getLogger(__name__)


def main():
    conf = config.load()
    if not rpc.transport_configured(conf):
        sys.exit("qinling-api needs [DEFAULT]transport_url to reach the "
                 "engine; use qinling-server to run both in one process.")
    config.prepare_database(conf, migrate=False)
    notifications.init(conf)
    client = metrics.RpcErrorCounter(
        rpc.EngineClient.over_messaging(conf, rpc.get_transport(conf)))
    services = api_app.build_services(conf, client)
    app = api_app.setup_app(conf, client, services=services)
    periodics.start_api_tasks(conf, services)
    if conf.metrics.port:
        LOG.info("Metrics served on http://%s:%s/metrics", conf.metrics.host,
                 metrics.serve(conf.metrics.host, conf.metrics.port))
    sock = eventlet.listen((conf.api.host, conf.api.port))
    LOG.info("Qinling API listening on http://%s:%s", conf.api.host,
             sock.getsockname()[1])
    # qinling.api.access_log writes the access log.
    wsgi.server(sock, app, log=LOG, log_output=False,
                max_size=conf.api.threads * 10,
                keepalive=True)

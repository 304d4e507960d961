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
"""WSGI entry point for uwsgi or mod_wsgi (``qinling-wsgi-api``).

Engine calls go over ``[DEFAULT]transport_url``; configuration comes from
the default locations or ``$QINLING_CONFIG_FILE``.
"""

import os

from qinling import metrics
from qinling import notifications
from qinling import rpc
from qinling.api import app as api_app
from qinling.cmd import config


def init_application():
    files = None
    if os.environ.get("QINLING_CONFIG_FILE"):
        files = [os.environ["QINLING_CONFIG_FILE"]]
    conf = config.load([], default_config_files=files)
    if not rpc.transport_configured(conf):
        raise RuntimeError("The WSGI API needs [DEFAULT]transport_url.")
    config.prepare_database(conf, migrate=False)
    # No thread: the WSGI server may fork after loading the application.
    notifications.init(conf, background=False)
    client = metrics.RpcErrorCounter(
        rpc.EngineClient.over_messaging(conf, rpc.get_transport(conf)))
    return api_app.setup_app(conf, client)

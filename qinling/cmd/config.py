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
"""What every console script does first: configuration and logging."""

import os
import sys

from oslo_log import log as logging

from qinling import conf as qinling_conf
from qinling import rpc
from qinling.db import api as db_api

CONF = qinling_conf.CONF


def load(argv=None, default_config_files=None):
    """Parse the command line and config files; set up logging.

    :returns: the loaded configuration.
    """
    logging.register_options(CONF)
    rpc.register_transport_opts(CONF)
    # The engine answers oslo.messaging's ping, which /healthcheck sends.
    CONF.set_default("rpc_ping_enabled", True)
    CONF(sys.argv[1:] if argv is None else argv, project="qinling",
         default_config_files=default_config_files)
    logging.setup(CONF, "qinling")
    return CONF


def is_embedded_sqlite(conf):
    return conf.database.connection.startswith("sqlite:")


def prepare_database(conf, migrate):
    """Configure the DB API; with ``migrate``, upgrade the schema to head."""
    if is_embedded_sqlite(conf):
        os.makedirs(conf.state_path, exist_ok=True)
    db_api.configure(conf)
    if migrate:
        from qinling.db import migration
        migration.upgrade("head")

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
"""Configuration options, one module per option group.

Every module defines ``register_opts(conf)`` and ``list_opts()``; ``opts``
collects them for oslo-config-generator.
"""

from oslo_config import cfg
from oslo_db import options as db_options
from oslo_policy import opts as policy_opts

from qinling.conf import api
from qinling.conf import default
from qinling.conf import engine
from qinling.conf import executions
from qinling.conf import kubernetes
from qinling.conf import local
from qinling.conf import metrics
from qinling.conf import pecan
from qinling.conf import resource_limits
from qinling.conf import storage
from qinling.conf import webhooks

CONF = cfg.CONF

MODULES = (default, api, pecan, engine, executions, local, kubernetes,
           storage, resource_limits, webhooks, metrics)

for _module in MODULES:
    _module.register_opts(CONF)

# The embedded default database: a SQLite file under state_path.
db_options.set_defaults(CONF, connection="sqlite:///$state_path/qinling.sqlite")
# Secure RBAC's personas are the defaults, but the rules they replace still
# allow until the operator turns enforce_new_defaults on (qinling.policies).
policy_opts.set_defaults(CONF, enforce_new_defaults=False)

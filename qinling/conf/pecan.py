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
"""Options of the ``[pecan]`` group (upstream's names)."""

from oslo_config import cfg

group = cfg.OptGroup("pecan", title="Pecan application options")

opts = [
    cfg.BoolOpt(
        "debug", default=False,
        help="Show Pecan's debug pages on errors. Never in production."),
    cfg.BoolOpt(
        "auth_enable", default=False,
        help="Require Keystone tokens on the API. When off, every request "
             "acts in the project 'default'."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group, opts)]

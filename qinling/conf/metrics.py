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
"""Options of the ``[metrics]`` group."""

from oslo_config import cfg

group = cfg.OptGroup("metrics", title="Prometheus metrics options")

opts = [
    cfg.HostAddressOpt(
        "host", default="127.0.0.1",
        help="Address the metrics ports below listen on."),
    cfg.PortOpt(
        "port", default=0,
        help="Port on which qinling-api and qinling-server also serve "
             "their metrics, without a token, for a scraper (0: only at "
             "/metrics on the API's port, which with auth on needs an "
             "admin's token)."),
    cfg.PortOpt(
        "engine_port", default=0,
        help="Port on which qinling-engine serves its metrics (0: not "
             "served). qinling-server serves the engine's metrics with "
             "the API's."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group, opts)]

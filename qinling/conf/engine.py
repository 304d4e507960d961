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
"""Options of the ``[engine]`` group."""

from oslo_config import cfg

group = cfg.OptGroup("engine", title="Engine options")

opts = [
    cfg.StrOpt(
        "host", default="0.0.0.0",
        help="Name of this engine on the RPC topic."),
    cfg.StrOpt(
        "topic", default="qinling_engine",
        help="RPC topic the engines listen on."),
    cfg.StrOpt(
        "orchestrator", default="local",
        help="Orchestrator driver that runs workers, by its entry point "
             "name in the qinling.orchestrator namespace ('local' or "
             "'kubernetes')."),
    cfg.IntOpt(
        "function_service_expiration", default=3600, min=1,
        help="Seconds a function's workers may stay idle before they are "
             "released."),
    cfg.IntOpt(
        "function_service_check_interval", default=300, min=1,
        help="Seconds between two looks for idle workers to release."),
    cfg.IntOpt(
        "function_concurrency", default=3, min=1,
        help="Running executions per worker above which a function gets "
             "another worker."),
    cfg.IntOpt(
        "rpc_timeout_margin", default=30, min=1,
        help="Seconds a synchronous execution waits for the engine beyond "
             "the function's own timeout before the API gives up."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group, opts)]

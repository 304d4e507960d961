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
"""Options of the ``[local]`` group: the local orchestrator."""

from oslo_config import cfg

group = cfg.OptGroup("local", title="Local orchestrator options")

opts = [
    cfg.IntOpt(
        "pool_size", default=3, min=0, max=256,
        help="Warm workers kept free in each runtime's pool."),
    cfg.StrOpt(
        "work_dir", default="$state_path/workers",
        help="Directory holding one private directory per worker."),
    cfg.DictOpt(
        "runtime_images",
        default={"python3": "python3",
                 "openstackqinling/python3-runtime": "python3"},
        help="Maps a runtime's image name (without its tag) to the bundled "
             "runtime server that runs it. A runtime whose image is not "
             "listed goes to status 'error'."),
    cfg.IntOpt(
        "worker_start_timeout", default=30, min=1,
        help="Seconds a new worker may take to answer its first ping."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group, opts)]

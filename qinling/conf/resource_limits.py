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
"""Options of the ``[resource_limits]`` group."""

from oslo_config import cfg

group = cfg.OptGroup("resource_limits", title="Function resource limits")

opts = [
    cfg.IntOpt("default_cpu", default=100, min=1,
               help="CPU of a function that sets none, in millicpu."),
    cfg.IntOpt("min_cpu", default=100, min=1,
               help="Least CPU a function may ask for, in millicpu."),
    cfg.IntOpt("max_cpu", default=300, min=1,
               help="Most CPU a function may ask for, in millicpu."),
    cfg.IntOpt("default_memory", default=33554432, min=1,
               help="Memory of a function that sets none, in bytes."),
    cfg.IntOpt("min_memory", default=33554432, min=1,
               help="Least memory a function may ask for, in bytes."),
    cfg.IntOpt("max_memory", default=134217728, min=1,
               help="Most memory a function may ask for, in bytes."),
    cfg.IntOpt("default_timeout", default=5, min=1,
               help="Timeout of a function that sets none, in seconds."),
    cfg.IntOpt("min_timeout", default=1, min=1,
               help="Shortest timeout a function may ask for, in seconds."),
    cfg.IntOpt("max_timeout", default=300, min=1,
               help="Longest timeout a function may ask for, in seconds."),
    cfg.IntOpt("max_result_size", default=5 * 1024 * 1024, min=1024,
               max=64 * 1024 * 1024,
               help="Bytes of the largest result (the JSON text of what the "
                    "function returns) an execution may have. A larger one "
                    "fails the execution with a message naming the limit; "
                    "it is checked in the worker, so it never reaches the "
                    "engine or the database."),
    cfg.IntOpt("max_environment_size", default=4096, min=0,
               max=256 * 1024,
               help="Bytes a function's environment variables may take in "
                    "all: the sum of the UTF-8 lengths of every name and "
                    "value (4096, as AWS Lambda allows). A function create "
                    "or update with a larger environment gets 400."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group, opts)]

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
"""Options of the ``[executions]`` group: bounds and retries."""

from oslo_config import cfg

group = cfg.OptGroup("executions", title="Execution options")

opts = [
    cfg.IntOpt(
        "max_pending_per_function", default=1000, min=1,
        help="Executions of one function that may be queued or running "
             "at once; past this, creating one is refused with 429 and a "
             "Retry-After header."),
    cfg.IntOpt(
        "max_pending_per_project", default=2000, min=1,
        help="Executions of one project that may be queued or running at "
             "once; past this, creating one is refused with 429 and a "
             "Retry-After header."),
    cfg.IntOpt(
        "retry_after", default=2, min=1, max=3600,
        help="Seconds a caller refused with 429 is told to wait "
             "(Retry-After)."),
    cfg.FloatOpt(
        "retry_backoff", default=2.0, min=0, max=3600,
        help="Seconds before the first retry of a failed asynchronous "
             "execution (a function's retry_attempts); each further "
             "retry waits twice as long as the one before."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group, opts)]

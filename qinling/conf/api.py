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
"""Options of the ``[api]`` group."""

from oslo_config import cfg

group = cfg.OptGroup("api", title="REST API options")

opts = [
    cfg.HostAddressOpt(
        "host", default="127.0.0.1",
        help="Address the API server listens on. The default serves this "
             "host only; set 0.0.0.0 (or an address) to serve others."),
    cfg.PortOpt(
        "port", default=7070,
        help="Port the API server listens on."),
    cfg.IntOpt(
        "threads", default=32, min=1, max=4096,
        help="Requests the API server of qinling-server serves at once; "
             "qinling-api allows ten times as many green threads."),
    cfg.BoolOpt(
        "enable_job_handler", default=True,
        help="Whether this process runs the job scheduler."),
    cfg.IntOpt(
        "max_limit", default=1000, min=1,
        help="Largest number of items a list request returns."),
    cfg.IntOpt(
        "job_handler_interval", default=3, min=1, max=60,
        help="Seconds between two runs of the job scheduler. A job runs "
             "at most this long after its time."),
    cfg.IntOpt(
        "max_scale_up_count", default=10, min=1, max=1000,
        help="Largest count one scale_up request may ask for: each added "
             "worker is a process (or a pod) of its own, so a larger count "
             "is refused with 400."),
    cfg.IntOpt(
        "max_webhook_body", default=1024 * 1024, min=1024,
        max=64 * 1024 * 1024,
        help="Largest request body, in bytes, that a webhook invocation "
             "accepts; a larger one is refused with 413."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group, opts)]

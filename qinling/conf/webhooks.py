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
"""Options of the ``[webhooks]`` group."""

from oslo_config import cfg

group = cfg.OptGroup("webhooks", title="Webhook options")

opts = [
    cfg.IntOpt(
        "max_running_executions", default=200, min=1,
        help="While this many executions of a function are running, "
             "invoking one of its webhooks is refused with 429 and a "
             "Retry-After header, so that a burst of deliveries queues "
             "no more work than this and never holds the caller's "
             "connection."),
    cfg.URIOpt(
        "zaqar_url", schemes=("http", "https"),
        help="Base URL of the Zaqar API (e.g. http://zaqar.example:8888) "
             "to which webhooks with confirm_subscriptions send the "
             "confirmation of a Zaqar subscription. Unset, the "
             "'messaging' endpoint of the Keystone catalog is used when "
             "[pecan]auth_enable is on; otherwise subscriptions are not "
             "confirmed."),
    cfg.IntOpt(
        "zaqar_timeout", default=10, min=1, max=120,
        help="Seconds to wait for Zaqar to answer a subscription "
             "confirmation."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group, opts)]

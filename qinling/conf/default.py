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
"""Options of the ``[DEFAULT]`` group."""

import os

from oslo_config import cfg


def _default_state_path():
    if os.geteuid() == 0:
        return "/var/lib/qinling"
    return os.path.join(os.path.expanduser("~"), ".local", "state", "qinling")


opts = [
    cfg.StrOpt(
        "state_path",
        default=_default_state_path(),
        sample_default="/var/lib/qinling",
        help="Directory under which the embedded defaults keep their files: "
             "the SQLite database (the default [database]connection is "
             "sqlite:///$state_path/qinling.sqlite), the packages of the "
             "local storage provider and the local orchestrator's workers. "
             "The default is /var/lib/qinling for root and "
             "~/.local/state/qinling for other users."),
    cfg.URIOpt(
        "qinling_endpoint", schemes=["http", "https"],
        help="Public URL of the Qinling API without a version, such as "
             "https://qinling.example.com:7070, used to build the "
             "webhook_url of webhooks. When unset, the URL each request "
             "came to is used; behind a proxy that sends Forwarded or "
             "X-Forwarded-* headers, enable "
             "[oslo_middleware]enable_proxy_headers_parsing so that it is "
             "the proxy's URL."),
]


def register_opts(conf):
    conf.register_opts(opts)


def list_opts():
    return [("DEFAULT", opts)]

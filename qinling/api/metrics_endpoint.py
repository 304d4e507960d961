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
"""``/metrics``: the Prometheus exposition on the API's port.

With auth off (the all-in-one) anyone may read it; with auth on the
``metrics:get`` rule decides (admins by default). A scraper without a
token uses ``[metrics]port`` instead, which serves the same metrics on
their own port (to be firewalled to the scraper).
"""

import json

from qinling import context
from qinling import metrics

PATH = "/metrics"


class MetricsEndpoint:
    """WSGI middleware answering ``GET /metrics``; other paths pass on.

    :param enforcer: the policy enforcer, None when auth is off.
    """

    def __init__(self, application, enforcer):
        self.application = application
        self._enforcer = enforcer

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").rstrip("/") != PATH:
            return self.application(environ, start_response)
        refused = self._refusal(environ)
        if refused:
            return _fault(start_response, *refused)
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _fault(start_response, "405 Method Not Allowed",
                          "Only GET reads the metrics.")
        body, content_type = metrics.exposition(environ.get("HTTP_ACCEPT"))
        start_response("200 OK", [("Content-Type", content_type),
                                  ("Content-Length", str(len(body)))])
        return [body] if environ["REQUEST_METHOD"] == "GET" else [b""]

    def _refusal(self, environ):
        if self._enforcer is None:
            return None
        if environ.get("HTTP_X_IDENTITY_STATUS") != "Confirmed":
            return ("401 Unauthorized",
                    "The request needs a valid Keystone token.")
        ctx = context.Context.from_environ(environ, overwrite=False)
        if not self._enforcer.authorize(
                "metrics:get", {"project_id": ctx.project_id}, ctx,
                do_raise=False):
            return ("403 Forbidden", "Reading the metrics is not allowed.")
        return None


def _fault(start_response, status, message):
    body = json.dumps({"faultstring": message}).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))])
    return [body]

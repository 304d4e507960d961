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
"""One log line per request, and the API's request metrics.

The line gives the method, the path, the status, the seconds to the
response's status line and to its last byte, and the request id::

    GET /v1/functions status 200 len 412 time 0.0123 (first byte 0.0119)
    request_id req-...

It is logged at INFO on the ``qinling.api.access`` logger, so an operator
can send it elsewhere with oslo.log's ``default_log_levels`` or a logging
config file.
"""

import time

from oslo_log import log as logging

from qinling import metrics

LOG = logging.getLogger("qinling.api.access")


class AccessLog:
    """WSGI middleware; it sits inside oslo.middleware's RequestId, whose
    request id it logs."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        started = time.monotonic()
        seen = {}

        def recording_start_response(status, headers, exc_info=None):
            seen["status"] = status.split(" ", 1)[0]
            seen["first_byte"] = time.monotonic() - started
            return start_response(status, headers, exc_info)

        body = self.application(environ, recording_start_response)
        return _Body(body, environ, seen, started)


class _Body:
    """The response body; when the server closes it, the request is
    over and logged."""

    def __init__(self, body, environ, seen, started):
        self._body = body
        self._environ = environ
        self._seen = seen
        self._started = started
        self._length = 0

    def __iter__(self):
        for chunk in self._body:
            self._length += len(chunk)
            yield chunk

    def close(self):
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._log()

    def _log(self):
        environ, seen = self._environ, self._seen
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "")
        status = seen.get("status", "-")
        total = time.monotonic() - self._started
        first_byte = seen.get("first_byte", total)
        query = environ.get("QUERY_STRING")
        LOG.info("%(method)s %(path)s status %(status)s len %(length)d "
                 "time %(total).4f (first byte %(first).4f) "
                 "request_id %(request_id)s",
                 {"method": method,
                  "path": path + ("?" + query if query else ""),
                  "status": status, "length": self._length,
                  "total": total, "first": first_byte,
                  "request_id": environ.get("openstack.request_id", "-")})
        route = metrics.route(path)
        metrics.API_REQUESTS.labels(method, route, status).inc()
        metrics.API_TIME_TO_FIRST_BYTE.labels(method, route).observe(
            first_byte)

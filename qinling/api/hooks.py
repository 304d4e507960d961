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
"""Pecan hooks: who is calling, whether they may, and the services a
request uses."""

import json
import re

import pecan
from pecan import hooks
from webob import exc as webob_exc

from qinling import context

# Paths anyone may call without a token (upstream's list).
PUBLIC_PATHS = re.compile(r"^/(v1/?)?$|^/v1/webhooks/[a-f0-9-]+/invoke/?$")
INVOKE_PATH = re.compile(r"^/v1/webhooks/[^/]+/invoke/?$")


class ContextHook(hooks.PecanHook):
    """Build the caller's context from the request.

    With ``[pecan]auth_enable`` on, the identity comes from the headers
    keystonemiddleware sets, and a caller with the ``admin`` role is an
    admin. With it off every request acts in the project ``default`` and
    nothing is refused by policy (upstream's behaviour).
    """

    priority = 10

    def __init__(self, auth_enable):
        self._auth_enable = auth_enable

    def before(self, state):
        environ = state.request.environ
        request_id = environ.get("openstack.request_id")
        if not self._auth_enable:
            state.request.context = context.Context(request_id=request_id,
                                                    is_admin=True)
            return
        ctx = context.Context.from_environ(environ, request_id=request_id)
        ctx.is_admin = "admin" in ctx.roles
        state.request.context = ctx


class AuthHook(hooks.PecanHook):
    """401 for a caller Keystone did not confirm, except on public paths.

    keystonemiddleware runs with ``delay_auth_decision`` so that the
    version documents and webhook invocations need no token.
    """

    priority = 5

    def before(self, state):
        if PUBLIC_PATHS.match(state.request.path):
            return
        environ = state.request.environ
        if "Confirmed" not in (environ.get("HTTP_X_IDENTITY_STATUS"),
                               environ.get("HTTP_X_SERVICE_IDENTITY_STATUS")):
            pecan.abort(401, "The request needs a valid Keystone token.")


class ServicesHook(hooks.PecanHook):
    """Hand the application's services, config and policy enforcer to the
    controllers."""

    priority = 20

    def __init__(self, conf, services, enforcer):
        self._conf = conf
        self._services = services
        self._enforcer = enforcer

    def before(self, state):
        state.request.conf = self._conf
        state.request.services = self._services
        state.request.enforcer = self._enforcer


class BodyHook(hooks.PecanHook):
    """Check request bodies before pecan reads them while routing.

    * A webhook invocation (which needs no token) may not be larger than
      ``[api]max_webhook_body`` bytes; a chunked body is read only up to
      that limit.
    * JSON nested too deeply to parse is a 400 on every endpoint (pecan
      would fail with a 500 on it).
    """

    priority = 5

    def __init__(self, conf):
        self._conf = conf

    def on_route(self, state):
        req = state.request
        if req.method not in ("POST", "PUT"):
            return
        if INVOKE_PATH.match(req.path_info):
            self._limit(req, self._conf.api.max_webhook_body)
        content_type = (req.content_type or "").lower()
        if content_type == "application/json" or \
                content_type.endswith("+json"):
            try:
                json.loads(req.body)
            except RecursionError:
                raise webob_exc.HTTPBadRequest(
                    detail="Malformed JSON body: nested too deeply.")
            except ValueError:
                pass  # the controller says what is wrong

    @staticmethod
    def _limit(req, limit):
        if req.content_length is None:
            data = req.body_file.read(limit + 1)
            size = len(data)
        else:
            data, size = None, req.content_length
        if size > limit:
            raise webob_exc.HTTPRequestEntityTooLarge(
                detail="The request body is larger than the limit of %d "
                       "bytes." % limit)
        if data is not None:
            req.body = data

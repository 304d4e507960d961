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
from pecan import util as pecan_util
from webob import exc as webob_exc

from qinling import context

# Paths anyone may call without a token (upstream's list).
PUBLIC_PATHS = re.compile(r"^/(v1/?)?$|^/v1/webhooks/[a-f0-9-]+/invoke/?$")
INVOKE_PATH = re.compile(r"^/v1/webhooks/[^/]+/invoke/?$")
SURROGATES = re.compile("[\ud800-\udfff]")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


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


def bad_text(value):
    """Why ``value`` cannot be stored as text, or None if it can.

    A lone UTF-16 surrogate is not Unicode text at all (no database
    driver can encode it) and PostgreSQL refuses NUL in any text column.
    """
    if "\x00" in value:
        return "contains a NUL character"
    if SURROGATES.search(value):
        return "contains a lone UTF-16 surrogate"
    return None


def check_text(where, value):
    """Raise a 400 naming ``where`` if ``value`` cannot be stored."""
    reason = bad_text(value)
    if reason is not None:
        raise webob_exc.HTTPBadRequest(
            detail="Invalid %s: it %s." % (where, reason))


def check_json(value, where="body"):
    """Check every string (keys included) of a parsed JSON document."""
    if isinstance(value, str):
        check_text(where, value)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text("field name in %s" % where, key)
            check_json(item, "field %s" % key[:64] if where == "body"
                       else "%s.%s" % (where, key[:64]))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_json(item, "%s[%d]" % (where, index))


def _is_json(content_type):
    return content_type == "application/json" or \
        content_type.endswith("+json")


class InputHook(hooks.PecanHook):
    """The shape of every request, checked before pecan routes it.

    * The path and the query string must be UTF-8; no path segment may be
      empty (``/v1/webhooks//invoke`` is a 404, not an empty id).
    * No query parameter, form field or JSON string (key or value) may
      hold NUL or a lone UTF-16 surrogate.
    * A JSON body must parse without nesting too deeply, and be an object
      except on a webhook invocation (whose body is the function's input).
    * A form body must parse (``multipart/form-data`` needs its boundary).
    * A webhook invocation (which needs no token) may not be larger than
      ``[api]max_webhook_body`` bytes; a chunked body is read only up to
      that limit.

    After routing, a PUT or DELETE that names no resource (``PUT
    /v1/functions/``) is a 405: the collection does not take it.
    """

    priority = 5

    def __init__(self, conf):
        self._conf = conf

    def on_route(self, state):
        req = state.request
        try:
            path, params = req.path_info, list(req.GET.items())
        except (UnicodeDecodeError, webob_exc.HTTPBadRequest):
            # pecan's request turns the UnicodeDecodeError into a bare 400.
            raise webob_exc.HTTPBadRequest(
                detail="The request path and query string must be UTF-8.")
        if "//" in path:
            raise webob_exc.HTTPNotFound(
                detail="The path %s has an empty segment." % path)
        for segment in path.split("/"):
            check_text("path segment", segment)
        for key, value in params:
            check_text("query parameter %s" % key[:64], key)
            check_text("query parameter %s" % key[:64], value)
        content_type = (req.content_type or "").lower()
        if req.method not in ("POST", "PUT"):
            if content_type in FORM_TYPES:
                # Pecan reads the form of any request while routing.
                self._check_form(req)
            return
        invoke = INVOKE_PATH.match(path)
        if invoke:
            self._limit(req, self._conf.api.max_webhook_body)
        if _is_json(content_type) and req.body:
            self._check_json_body(req, object_only=not invoke)
        elif content_type in FORM_TYPES:
            self._check_form(req)

    @staticmethod
    def _check_json_body(req, object_only):
        try:
            body = json.loads(req.body)
        except RecursionError:
            raise webob_exc.HTTPBadRequest(
                detail="Malformed JSON body: nested too deeply.")
        except ValueError:
            return  # the controller says what is wrong
        if object_only and not isinstance(body, dict):
            raise webob_exc.HTTPBadRequest(
                detail="The body must be a JSON object.")
        try:
            check_json(body)
        except RecursionError:
            raise webob_exc.HTTPBadRequest(
                detail="Malformed JSON body: nested too deeply.")

    @staticmethod
    def _check_form(req):
        try:
            fields = req.POST.items()
        except (ValueError, UnicodeDecodeError) as e:
            raise webob_exc.HTTPBadRequest(
                detail="Malformed %s body: %s" % (req.content_type, e))
        for key, value in fields:
            if not key:
                raise webob_exc.HTTPBadRequest(
                    detail="Malformed %s body: a field has no name."
                    % req.content_type)
            check_text("form field name", key)
            if isinstance(value, str):
                check_text("form field %s" % key[:64], value)

    def before(self, state):
        if state.request.method not in ("PUT", "DELETE"):
            return
        controller = state.controller
        if getattr(controller, "__name__", None) not in ("put", "delete"):
            return
        args = state.arguments.args
        if "" in args or len(args) < _path_arguments(controller):
            raise webob_exc.HTTPMethodNotAllowed(
                detail="%s needs the id of a resource in the path."
                % state.request.method)

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


def _path_arguments(controller):
    """How many arguments of a controller method come from the path."""
    funcdef = getattr(controller, "_wsme_definition", None)
    if funcdef is None:
        argspec = pecan_util.getargspec(controller)
        return len(argspec.args) - 1 - len(argspec.defaults or ())
    # WSME's wrapper takes (*args, **kwargs); its definition knows more.
    count = sum(1 for arg in funcdef.arguments if arg.mandatory)
    return count - (1 if funcdef.body_type is not None else 0)

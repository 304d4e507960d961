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
"""The one place where errors become ``{"faultstring": ...}`` bodies.

* :func:`wsexpose` exposes a WSME method guarded by :func:`wrap`: a
  :class:`~qinling.exceptions.QinlingException` passes through with its
  code; anything else is logged with its traceback and becomes a bare 500,
  so no internal detail reaches the caller. WSME then renders the exception
  (it reads ``code`` and ``faultstring``).
* :func:`wrap_pecan` does the same for plain pecan endpoints (multipart
  uploads, downloads, text logs), rendering the body itself.
* :func:`expose_pecan` exposes a plain pecan endpoint for the content
  types it produces (so that ``Accept: application/json`` or ``text/plain``
  is honoured, not a 406) and guards it with :func:`wrap_pecan`.
* :class:`JsonErrorHook` turns the errors pecan raises on its own (unknown
  path, wrong method, 406) and any exception raised while routing or in a
  hook into the same JSON shape.
* :class:`FaultMiddleware`, around the whole application, answers a JSON
  500 for an exception that escapes everything else, so that no request
  ends with a dropped connection or an HTML page.
"""

import functools
import inspect
import json

from oslo_log import log as logging
import pecan
from pecan import hooks
import webob
from webob import exc as webob_exc
from wsmeext import pecan as wsme_pecan

from qinling import exceptions

LOG = logging.getLogger(__name__)

JSON_TYPE = "application/json"


def _translate(exc):
    if isinstance(exc, exceptions.QinlingException):
        if exc.http_code >= 500:
            LOG.error("Request failed: %s", exc.message)
        return exc
    LOG.exception("Unexpected error while serving %s %s",
                  pecan.request.method, pecan.request.path)
    return exceptions.QinlingException("Internal server error.")


def wrap(func):
    """Raise only QinlingExceptions out of a WSME controller method."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception as e:
            translated = _translate(e)
            retry_after = getattr(translated, "retry_after", None)
            if retry_after is not None:
                pecan.response.headers["Retry-After"] = str(retry_after)
            if translated is e:
                raise
            raise translated from e
    return _keep_signature(wrapper, func)


def wsexpose(*args, **kwargs):
    """WSME's ``wsexpose`` around a method guarded by :func:`wrap`."""
    expose = wsme_pecan.wsexpose(*args, **kwargs)

    def decorate(func):
        exposed = expose(wrap(func))
        # functools.wraps copied our __signature__ onto WSME's wrapper; pecan
        # must see that wrapper's own (self, *args, **kwargs) to route.
        del exposed.__signature__
        return exposed
    return decorate


def fault_response(status, message, retry_after=None):
    response = webob.Response(
        status=status, content_type=JSON_TYPE, charset="UTF-8",
        body=json.dumps({"faultstring": message}).encode())
    if retry_after is not None:
        response.retry_after = retry_after
    return response


def expose_pecan(*content_types):
    """Expose a plain pecan endpoint that produces ``content_types``.

    The first type is the one a request without ``Accept`` (or with
    ``*/*``) gets; a request that accepts none of them gets a 406.
    """
    def decorate(func):
        exposed = wrap_pecan(func)
        # The expose applied last names the default type.
        for content_type in reversed(content_types):
            exposed = pecan.expose(content_type=content_type)(exposed)
        return exposed
    return decorate


def wrap_pecan(func):
    """Render any error of a plain pecan endpoint as a JSON fault."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception as e:
            exc = _translate(e)
            return fault_response(exc.http_code, exc.message,
                                  getattr(exc, "retry_after", None))
    return _keep_signature(wrapper, func)


def _keep_signature(wrapper, func):
    # Pecan and WSME read a controller method's arguments with
    # inspect.getfullargspec, which honours __signature__.
    wrapper.__signature__ = inspect.signature(func)
    return wrapper


class JsonErrorHook(hooks.PecanHook):
    """Give pecan's own error pages, and any exception raised outside a
    controller method, the JSON fault shape."""

    priority = 1000

    def on_error(self, state, exc):
        if isinstance(exc, webob_exc.HTTPException):
            response = fault_response(exc.status, exc.detail or exc.title)
            if exc.allow:
                response.allow = exc.allow
            return response
        exc = _translate(exc)
        return fault_response(exc.http_code, exc.message,
                              getattr(exc, "retry_after", None))

    def after(self, state):
        response = state.response
        if response.status_int < 400:
            return
        if (response.content_type or "").startswith(JSON_TYPE):
            return
        message = response.status.split(" ", 1)[-1]
        detail = getattr(response, "detail", None)
        response.content_type = JSON_TYPE
        response.charset = "UTF-8"
        response.body = json.dumps(
            {"faultstring": detail or message}).encode()


class FaultMiddleware:
    """Answer a JSON 500 for an exception that escaped the application."""

    def __init__(self, app):
        self._app = app

    def __call__(self, environ, start_response):
        try:
            return self._app(environ, start_response)
        except Exception:
            LOG.exception("Unexpected error while serving %s %s",
                          environ.get("REQUEST_METHOD"),
                          environ.get("PATH_INFO"))
            return fault_response(500, "Internal server error.")(
                environ, start_response)

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
"""Whatever goes wrong, the caller gets a JSON faultstring."""

import json

import pecan
from pecan import hooks
import webob

from qinling.api import errors


class Root:

    @pecan.expose("json")
    def index(self):
        return {}

    @errors.expose_pecan("application/json", "text/plain")
    def text(self):
        return webob.Response(content_type="text/plain", text="hello")


class RaisingHook(hooks.PecanHook):
    """Fails in on_route, as a parse error of the request would."""

    def on_route(self, state):
        if state.request.path == "/":
            raise ValueError("Invalid boundary in multipart form: b''")


def _app():
    return errors.FaultMiddleware(pecan.make_app(
        Root(), hooks=[errors.JsonErrorHook(), RaisingHook()]))


def _fault(resp):
    assert resp.content_type == "application/json"
    return json.loads(resp.body)["faultstring"]


def test_an_exception_while_routing_is_a_json_500_without_detail():
    resp = webob.Request.blank("/").get_response(_app())

    assert resp.status_int == 500
    assert _fault(resp) == "Internal server error."


def test_pecans_own_errors_are_json_faults_whatever_the_accept():
    for accept in ("application/json", "text/html", "*/*"):
        req = webob.Request.blank("/nothing", headers={"Accept": accept})
        resp = req.get_response(_app())

        assert resp.status_int == 404
        assert _fault(resp) == "Not Found"


def test_a_plain_endpoint_is_served_for_each_type_it_produces():
    for accept in ("application/json", "text/plain", "*/*"):
        req = webob.Request.blank("/text", headers={"Accept": accept})
        resp = req.get_response(_app())

        assert resp.status_int == 200, accept
        assert resp.text == "hello"


def test_a_plain_endpoint_refuses_an_accept_it_cannot_serve_in_json():
    req = webob.Request.blank("/text", headers={"Accept": "image/png"})
    resp = req.get_response(_app())

    assert resp.status_int == 406
    assert _fault(resp) == "Not Acceptable"


def test_an_exception_escaping_the_application_is_a_json_500():
    def broken(environ, start_response):
        raise RuntimeError("boom")

    resp = webob.Request.blank("/").get_response(
        errors.FaultMiddleware(broken))

    assert resp.status_int == 500
    assert _fault(resp) == "Internal server error."

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
"""``/v1/functions``: multipart uploads and downloads, so plain pecan."""

import json

from oslo_utils import strutils
import pecan
from pecan import rest
import webob
from webob import static

from qinling import exceptions
from qinling.api import errors
from qinling.api.controllers.v1 import resources
from qinling.api.controllers.v1 import types

# Room for the form fields around the package in a multipart body.
FORM_OVERHEAD = 64 * 1024


def _read_form(req, max_package_size):
    """Split a create request into (fields, package file or None)."""
    if (req.content_length or 0) > max_package_size + FORM_OVERHEAD:
        raise exceptions.RequestEntityTooLarge(
            "Package is larger than the limit of %d bytes." % max_package_size)
    if req.content_type == "application/json":
        try:
            body = json.loads(req.body or b"{}")
        except ValueError as e:
            raise exceptions.InputException("Malformed JSON body: %s" % e)
        if not isinstance(body, dict):
            raise exceptions.InputException("The body must be a JSON object.")
        return body, None
    fields, package = {}, None
    for key, value in req.POST.items():
        if hasattr(value, "file"):
            if key != "package":
                raise exceptions.InputException(
                    "Unknown file field %r: the package goes in 'package'."
                    % key)
            package = value.file
        else:
            fields[key] = value
    if "package" in fields:
        raise exceptions.InputException(
            "The field 'package' must be a file upload.")
    return fields, package


class FunctionsController(rest.RestController):

    @pecan.expose("json")
    @errors.wrap_pecan
    def post(self, **kwargs):
        req = pecan.request
        fields, package = _read_form(
            req, req.conf.storage.max_package_size)
        function = req.services.functions.create(req.context, fields, package)
        pecan.response.status = 201
        return resources.function_to_dict(function)

    @errors.wsexpose(resources.Functions)
    def get_all(self):
        req = pecan.request
        return resources.Functions(functions=[
            resources.Function.from_row(f)
            for f in req.services.functions.list(req.context)])

    @pecan.expose()
    @errors.wrap_pecan
    def get_one(self, id):
        req = pecan.request
        if strutils.bool_from_string(req.params.get("download")):
            function, package = req.services.functions.download(
                req.context, id)
            return webob.Response(
                content_type="application/zip",
                content_disposition='attachment; filename="%s"' % id,
                app_iter=static.FileIter(package))
        function = req.services.functions.get(req.context, id)
        return webob.Response(
            content_type="application/json", charset="UTF-8",
            json_body=resources.function_to_dict(function))

    @errors.wsexpose(None, types.uuid, status_code=204)
    def delete(self, id):
        req = pecan.request
        req.services.functions.delete(req.context, id)

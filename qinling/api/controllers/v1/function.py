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
"""``/v1/functions``: multipart uploads and downloads, so plain pecan for
create, show and update; WSME for the rest."""

import json

from oslo_utils import strutils
import pecan
from pecan import rest
from wsme import types as wtypes

from qinling import exceptions
from qinling.api import acl
from qinling.api import errors
from qinling.api import hooks
from qinling.api.controllers.v1 import function_version
from qinling.api.controllers.v1 import listing
from qinling.api.controllers.v1 import resources
from qinling.api.controllers.v1 import responses
from qinling.api.controllers.v1 import types

# Room for the form fields around the package in a multipart body.
FORM_OVERHEAD = 64 * 1024


# The JSON types a field of a JSON create or update may have (a form
# sends every field as a string); any other field is a string.
JSON_FIELD_TYPES = {
    "code": (str, dict),
    "cpu": (str, int),
    "memory_size": (str, int),
    "timeout": (str, int),
    "retry_attempts": (str, int),
    "max_event_age": (str, int),
    "environment": (str, dict),
}
JSON_TEXT_FIELDS = ("name", "description", "runtime_id", "entry",
                    "on_failure")
JSON_NAMES = {str: "a string", int: "an integer", dict: "an object",
              bool: "a boolean", float: "a number", list: "an array"}


def _check_json_fields(body):
    for key in JSON_TEXT_FIELDS + tuple(JSON_FIELD_TYPES):
        value = body.get(key)
        allowed = JSON_FIELD_TYPES.get(key, (str,))
        if value is not None and (isinstance(value, bool) or
                                  not isinstance(value, allowed)):
            raise exceptions.InputException(
                "Invalid input for field %s: expected %s, got %s." % (
                    key, " or ".join(JSON_NAMES[t] for t in allowed),
                    JSON_NAMES.get(type(value), type(value).__name__)))


def read_form(req):
    """Split a create or update request into (fields, package or None)."""
    max_size = req.conf.storage.max_package_size
    if (req.content_length or 0) > max_size + FORM_OVERHEAD:
        raise exceptions.RequestEntityTooLarge(
            "Package is larger than the limit of %d bytes." % max_size)
    if req.content_type == "application/json":
        try:
            body = json.loads(req.body or b"{}")
        except ValueError as e:
            raise exceptions.InputException("Malformed JSON body: %s" % e)
        if not isinstance(body, dict):
            raise exceptions.InputException("The body must be a JSON object.")
        _check_json_fields(body)
        return body, None
    if req.body and req.content_type not in hooks.FORM_TYPES:
        raise exceptions.UnsupportedMediaType(
            "Unsupported Content-Type %r: send the function as "
            "multipart/form-data (with its package) or application/json."
            % req.content_type)
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


class FunctionWorkersController(rest.RestController):

    @errors.wsexpose(resources.FunctionWorkers, types.uuid, types.int32)
    def get_all(self, function_id, function_version=0):
        acl.enforce("function_worker:get_all")
        req = pecan.request
        workers = req.services.functions.workers(req.context, function_id,
                                                 function_version)
        return resources.FunctionWorkers(workers=[
            resources.FunctionWorker(**w) for w in workers])


class FunctionsController(rest.RestController):

    _custom_actions = {
        "scale_up": ["POST"],
        "scale_down": ["POST"],
        "detach": ["POST"],
    }

    versions = function_version.FunctionVersionsController()
    workers = FunctionWorkersController()

    @errors.expose_pecan(responses.JSON)
    def post(self, **kwargs):
        acl.enforce("function:create")
        req = pecan.request
        fields, package = read_form(req)
        function = req.services.functions.create(req.context, fields, package)
        return responses.json(resources.function_to_dict(function), 201)

    @errors.wsexpose(resources.Functions, wtypes.text, wtypes.text,
                     wtypes.text, types.int32, wtypes.text, wtypes.text,
                     wtypes.text, bool, wtypes.text)
    def get_all(self, name=None, runtime_id=None, description=None,
                limit=None, marker=None, sort_key=None, sort_dir=None,
                all_projects=False, project_id=None):
        acl.enforce("function:get_all")
        req = pecan.request
        query = listing.build(
            {"name": name, "runtime_id": runtime_id,
             "description": description},
            limit, marker, sort_key, sort_dir, all_projects, project_id,
            policy="function")
        rows = req.services.functions.list(req.context, query)
        return resources.Functions(
            functions=[resources.Function.from_row(f) for f in rows],
            next=listing.next_link(rows, query))

    @errors.expose_pecan(responses.JSON, responses.ZIP)
    def get_one(self, id):
        acl.enforce("function:get")
        req = pecan.request
        if strutils.bool_from_string(req.params.get("download")):
            _function, package = req.services.functions.download(
                req.context, id)
            return responses.zip_file(package, id)
        function = req.services.functions.get(req.context, id)
        return responses.json(resources.function_to_dict(function))

    @errors.expose_pecan(responses.JSON)
    def put(self, id, **kwargs):
        acl.enforce("function:update")
        req = pecan.request
        fields, package = read_form(req)
        function = req.services.functions.update(req.context, id, fields,
                                                 package)
        return responses.json(resources.function_to_dict(function))

    @errors.wsexpose(None, types.uuid, status_code=204)
    def delete(self, id):
        acl.enforce("function:delete")
        req = pecan.request
        req.services.functions.delete(req.context, id)

    @errors.wsexpose(None, types.uuid, body=resources.ScaleInfo,
                     status_code=202)
    def scale_up(self, id, scale):
        acl.enforce("function:scale_up")
        req = pecan.request
        req.services.functions.scale_up(req.context, id, 0, scale.count)

    @errors.wsexpose(None, types.uuid, body=resources.ScaleInfo,
                     status_code=202)
    def scale_down(self, id, scale):
        acl.enforce("function:scale_down")
        req = pecan.request
        req.services.functions.scale_down(req.context, id, 0, scale.count)

    @errors.wsexpose(None, types.uuid, status_code=202)
    def detach(self, id):
        acl.enforce("function:detach")
        req = pecan.request
        req.services.functions.detach(req.context, id, 0)

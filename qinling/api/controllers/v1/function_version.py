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
"""``/v1/functions/{id}/versions``."""

from oslo_utils import strutils
import pecan
from pecan import rest
from wsme import types as wtypes

from qinling import exceptions
from qinling.api import acl
from qinling.api import errors
from qinling.api.controllers.v1 import listing
from qinling.api.controllers.v1 import resources
from qinling.api.controllers.v1 import responses
from qinling.api.controllers.v1 import types


def _number(version):
    try:
        number = int(version)
    except (TypeError, ValueError):
        number = -1
    if not 0 <= number <= types.INT32_MAX:
        raise exceptions.InputException(
            "Invalid version %s: expected a version number." % version)
    return number


class FunctionVersionsController(rest.RestController):

    _custom_actions = {
        "scale_up": ["POST"],
        "scale_down": ["POST"],
        "detach": ["POST"],
    }

    @errors.wsexpose(resources.FunctionVersion, types.uuid,
                     body=resources.FunctionVersion, status_code=201)
    def post(self, function_id, body):
        acl.enforce("function_version:create")
        req = pecan.request
        return resources.FunctionVersion.from_row(
            req.services.versions.create(req.context, function_id,
                                         body.to_values().get("description")))

    @errors.wsexpose(resources.FunctionVersions, types.uuid, types.int32,
                     wtypes.text, wtypes.text, wtypes.text)
    def get_all(self, function_id, limit=None, marker=None, sort_key=None,
                sort_dir=None):
        acl.enforce("function_version:get_all")
        req = pecan.request
        query = listing.build({}, limit, marker, sort_key or
                              "version_number", sort_dir)
        rows = req.services.versions.list(req.context, function_id, query)
        return resources.FunctionVersions(
            function_versions=[resources.FunctionVersion.from_row(v)
                               for v in rows],
            next=listing.next_link(rows, query))

    @errors.expose_pecan(responses.JSON, responses.ZIP)
    def get_one(self, function_id, version):
        acl.enforce("function_version:get")
        req = pecan.request
        number = _number(version)
        if strutils.bool_from_string(req.params.get("download")):
            _row, package = req.services.versions.download(
                req.context, function_id, number)
            return responses.zip_file(package,
                                      "%s_%d" % (function_id, number))
        row = req.services.versions.get(req.context, function_id, number)
        return responses.json(resources.version_to_dict(row))

    @errors.wsexpose(None, types.uuid, types.int32, status_code=204)
    def delete(self, function_id, version):
        acl.enforce("function_version:delete")
        req = pecan.request
        req.services.versions.delete(req.context, function_id,
                                     _number(version))

    @errors.wsexpose(None, types.uuid, types.int32, body=resources.ScaleInfo,
                     status_code=202)
    def scale_up(self, function_id, version, scale):
        acl.enforce("function_version:scale_up")
        req = pecan.request
        req.services.functions.scale_up(req.context, function_id,
                                        _number(version), scale.count)

    @errors.wsexpose(None, types.uuid, types.int32, body=resources.ScaleInfo,
                     status_code=202)
    def scale_down(self, function_id, version, scale):
        acl.enforce("function_version:scale_down")
        req = pecan.request
        req.services.functions.scale_down(req.context, function_id,
                                          _number(version), scale.count)

    @errors.wsexpose(None, types.uuid, types.int32, status_code=202)
    def detach(self, function_id, version):
        acl.enforce("function_version:detach")
        req = pecan.request
        req.services.functions.detach(req.context, function_id,
                                      _number(version))

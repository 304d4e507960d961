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
"""``/v1/executions`` and ``/v1/executions/{id}/log``."""

import pecan
from pecan import rest
import webob
from wsme import types as wtypes

from qinling.api import acl
from qinling.api import errors
from qinling.api.controllers.v1 import listing
from qinling.api.controllers.v1 import resources
from qinling.api.controllers.v1 import responses
from qinling.api.controllers.v1 import types


class ExecutionLogController(rest.RestController):

    @errors.expose_pecan(responses.TEXT)
    def get_all(self, execution_id):
        acl.enforce("execution:get_log")
        req = pecan.request
        logs = req.services.executions.get_log(req.context, execution_id)
        return webob.Response(content_type=responses.TEXT, charset="UTF-8",
                              text=logs)


class ExecutionsController(rest.RestController):

    log = ExecutionLogController()

    @errors.wsexpose(resources.Execution, body=resources.Execution,
                     status_code=201)
    def post(self, execution):
        acl.enforce("execution:create")
        req = pecan.request
        return resources.Execution.from_row(
            req.services.executions.create(req.context,
                                           execution.to_params()))

    @errors.wsexpose(resources.Executions, wtypes.text, wtypes.text,
                     wtypes.text, wtypes.text, wtypes.text, types.int32,
                     wtypes.text, wtypes.text, wtypes.text, bool,
                     wtypes.text)
    def get_all(self, function_id=None, function_alias=None,
                function_version=None, status=None, description=None,
                limit=None, marker=None, sort_key=None, sort_dir=None,
                all_projects=False, project_id=None):
        acl.enforce("execution:get_all")
        req = pecan.request
        query = listing.build(
            {"function_id": function_id, "function_alias": function_alias,
             "function_version": function_version, "status": status,
             "description": description},
            limit, marker, sort_key, sort_dir, all_projects, project_id,
            policy="execution")
        rows = req.services.executions.list(req.context, query)
        return resources.Executions(
            executions=[resources.Execution.from_row(e) for e in rows],
            next=listing.next_link(rows, query))

    @errors.wsexpose(resources.Execution, types.uuid)
    def get_one(self, id):
        acl.enforce("execution:get")
        req = pecan.request
        return resources.Execution.from_row(
            req.services.executions.get(req.context, id))

    @errors.wsexpose(None, types.uuid, status_code=204)
    def delete(self, id):
        acl.enforce("execution:delete")
        req = pecan.request
        req.services.executions.delete(req.context, id)

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
"""``/v1/jobs``."""

import pecan
from pecan import rest
from wsme import types as wtypes

from qinling.api import acl
from qinling.api import errors
from qinling.api.controllers.v1 import listing
from qinling.api.controllers.v1 import resources
from qinling.api.controllers.v1 import types


class JobsController(rest.RestController):

    @errors.wsexpose(resources.Job, body=resources.Job, status_code=201)
    def post(self, job):
        acl.enforce("job:create")
        req = pecan.request
        return resources.Job.from_row(
            req.services.jobs.create(req.context, job.to_values()))

    @errors.wsexpose(resources.Jobs, wtypes.text, wtypes.text, wtypes.text,
                     wtypes.text, types.int32, wtypes.text, wtypes.text,
                     wtypes.text, bool, wtypes.text)
    def get_all(self, name=None, function_id=None, function_alias=None,
                status=None, limit=None, marker=None, sort_key=None,
                sort_dir=None, all_projects=False, project_id=None):
        acl.enforce("job:get_all")
        req = pecan.request
        query = listing.build(
            {"name": name, "function_id": function_id,
             "function_alias": function_alias, "status": status},
            limit, marker, sort_key, sort_dir, all_projects, project_id,
            policy="job")
        rows = req.services.jobs.list(req.context, query)
        return resources.Jobs(jobs=[resources.Job.from_row(j) for j in rows],
                              next=listing.next_link(rows, query))

    @errors.wsexpose(resources.Job, types.uuid)
    def get_one(self, id):
        acl.enforce("job:get")
        req = pecan.request
        return resources.Job.from_row(req.services.jobs.get(req.context, id))

    @errors.wsexpose(resources.Job, types.uuid, body=resources.Job)
    def put(self, id, job):
        acl.enforce("job:update")
        req = pecan.request
        return resources.Job.from_row(
            req.services.jobs.update(req.context, id, job.to_values()))

    @errors.wsexpose(None, types.uuid, status_code=204)
    def delete(self, id):
        acl.enforce("job:delete")
        req = pecan.request
        req.services.jobs.delete(req.context, id)

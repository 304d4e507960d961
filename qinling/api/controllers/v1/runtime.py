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
"""``/v1/runtimes``."""

import pecan
from pecan import rest
from wsme import types as wtypes

from qinling import exceptions
from qinling.api import acl
from qinling.api import errors
from qinling.api.controllers.v1 import listing
from qinling.api.controllers.v1 import resources
from qinling.api.controllers.v1 import types


class RuntimesController(rest.RestController):

    _custom_actions = {"pool": ["GET"]}

    @errors.wsexpose(resources.Runtime, body=resources.Runtime,
                     status_code=201)
    def post(self, runtime):
        acl.enforce("runtime:create")
        values = runtime.to_values()
        if not values.get("image"):
            raise exceptions.InputException(
                "Required param is missing. Required: {'image'}")
        req = pecan.request
        return resources.Runtime.from_row(
            req.services.runtimes.create(req.context, values))

    @errors.wsexpose(resources.Runtimes, wtypes.text, wtypes.text,
                     wtypes.text, types.int32, wtypes.text, wtypes.text,
                     wtypes.text)
    def get_all(self, name=None, image=None, status=None, limit=None,
                marker=None, sort_key=None, sort_dir=None):
        acl.enforce("runtime:get_all")
        req = pecan.request
        query = listing.build(
            {"name": name, "image": image, "status": status},
            limit, marker, sort_key, sort_dir)
        rows = req.services.runtimes.list(req.context, query)
        return resources.Runtimes(
            runtimes=[resources.Runtime.from_row(r) for r in rows],
            next=listing.next_link(rows, query))

    @errors.wsexpose(resources.Runtime, types.uuid)
    def get_one(self, id):
        acl.enforce("runtime:get")
        req = pecan.request
        return resources.Runtime.from_row(
            req.services.runtimes.get(req.context, id))

    @errors.wsexpose(resources.Runtime, types.uuid, body=resources.Runtime)
    def put(self, id, runtime):
        acl.enforce("runtime:update")
        req = pecan.request
        return resources.Runtime.from_row(
            req.services.runtimes.update(req.context, id,
                                         runtime.to_values()))

    @errors.wsexpose(resources.RuntimePool, types.uuid)
    def pool(self, id):
        acl.enforce("runtime_pool:get_all")
        req = pecan.request
        pool = req.services.runtimes.get_pool(req.context, id)
        return resources.RuntimePool(
            name=pool["name"],
            capacity=resources.PoolCapacity(**pool["capacity"]))

    @errors.wsexpose(None, types.uuid, status_code=204)
    def delete(self, id):
        acl.enforce("runtime:delete")
        req = pecan.request
        req.services.runtimes.delete(req.context, id)

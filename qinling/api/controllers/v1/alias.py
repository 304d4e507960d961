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
"""``/v1/aliases``."""

import pecan
from pecan import rest
from wsme import types as wtypes

from qinling.api import acl
from qinling.api import errors
from qinling.api.controllers.v1 import listing
from qinling.api.controllers.v1 import resources
from qinling.api.controllers.v1 import types


class AliasesController(rest.RestController):

    @errors.wsexpose(resources.FunctionAlias, body=resources.FunctionAlias,
                     status_code=201)
    def post(self, alias):
        acl.enforce("function_alias:create")
        req = pecan.request
        return resources.FunctionAlias.from_row(
            req.services.aliases.create(req.context, alias.to_values()))

    @errors.wsexpose(resources.FunctionAliases, wtypes.text, types.int32,
                     wtypes.text, wtypes.text, types.int32, wtypes.text,
                     wtypes.text, wtypes.text, bool, wtypes.text)
    def get_all(self, function_id=None, function_version=None, name=None,
                description=None, limit=None, marker=None, sort_key=None,
                sort_dir=None, all_projects=False, project_id=None):
        acl.enforce("function_alias:get_all")
        req = pecan.request
        query = listing.build(
            {"function_id": function_id,
             "function_version": None if function_version is None
             else str(function_version),
             "name": name, "description": description},
            limit, marker, sort_key, sort_dir, all_projects, project_id,
            policy="function_alias")
        rows = req.services.aliases.list(req.context, query)
        return resources.FunctionAliases(
            function_aliases=[resources.FunctionAlias.from_row(a)
                              for a in rows],
            next=listing.next_link(rows, query))

    @errors.wsexpose(resources.FunctionAlias, wtypes.text)
    def get_one(self, name):
        acl.enforce("function_alias:get")
        req = pecan.request
        return resources.FunctionAlias.from_row(
            req.services.aliases.get(req.context, name))

    @errors.wsexpose(resources.FunctionAlias, wtypes.text,
                     body=resources.FunctionAlias)
    def put(self, name, alias):
        acl.enforce("function_alias:update")
        req = pecan.request
        return resources.FunctionAlias.from_row(
            req.services.aliases.update(req.context, name,
                                        alias.to_values()))

    @errors.wsexpose(None, wtypes.text, status_code=204)
    def delete(self, name):
        acl.enforce("function_alias:delete")
        req = pecan.request
        req.services.aliases.delete(req.context, name)

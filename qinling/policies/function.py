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
"""Function, version and worker policies."""

from qinling.policies import base

PATH = "/v1/functions"
ONE = PATH + "/{function_id}"
VERSIONS = ONE + "/versions"
VERSION = VERSIONS + "/{version_number}"

_rule = base.rule

rules = [
    _rule("function:create", base.MEMBER, "Create a function.",
          "POST", PATH),
    _rule("function:get", base.READER,
          "Show or download a function.", "GET", ONE),
    _rule("function:get_all", base.READER, "List functions.",
          "GET", PATH),
    _rule("function:get_all:all_projects", base.ADMIN,
          "List the functions of every project.", "GET", PATH),
    _rule("function:update", base.MEMBER, "Update a function.",
          "PUT", ONE),
    _rule("function:delete", base.MEMBER, "Delete a function.",
          "DELETE", ONE),
    _rule("function:scale_up", base.ADMIN, "Add workers to a function.",
          "POST", ONE + "/scale_up"),
    _rule("function:scale_down", base.ADMIN,
          "Remove workers from a function.", "POST", ONE + "/scale_down"),
    _rule("function:detach", base.ADMIN,
          "Release every worker of a function.", "POST", ONE + "/detach"),
    _rule("function_worker:get_all", base.ADMIN,
          "List the workers of a function.", "GET", ONE + "/workers"),
    _rule("function_version:create", base.MEMBER,
          "Create a function version.", "POST", VERSIONS),
    _rule("function_version:get", base.READER,
          "Show or download a function version.", "GET", VERSION),
    _rule("function_version:get_all", base.READER,
          "List a function's versions.", "GET", VERSIONS),
    _rule("function_version:delete", base.MEMBER,
          "Delete a function version.", "DELETE", VERSION),
    _rule("function_version:scale_up", base.ADMIN,
          "Add workers to a function version.", "POST",
          VERSION + "/scale_up"),
    _rule("function_version:scale_down", base.ADMIN,
          "Remove workers from a function version.", "POST",
          VERSION + "/scale_down"),
    _rule("function_version:detach", base.ADMIN,
          "Release every worker of a function version.", "POST",
          VERSION + "/detach"),
]


def list_rules():
    return rules

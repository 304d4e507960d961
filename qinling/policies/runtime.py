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
"""Runtime policies: managing runtimes is for administrators."""

from oslo_policy import policy

from qinling.policies import base

PATH = "/v1/runtimes"

rules = [
    policy.DocumentedRuleDefault(
        "runtime:create", base.ADMIN, "Create a runtime.",
        [{"method": "POST", "path": PATH}]),
    policy.DocumentedRuleDefault(
        "runtime:update", base.ADMIN, "Update a runtime.",
        [{"method": "PUT", "path": PATH + "/{runtime_id}"}]),
    policy.DocumentedRuleDefault(
        "runtime:delete", base.ADMIN, "Delete a runtime.",
        [{"method": "DELETE", "path": PATH + "/{runtime_id}"}]),
    policy.DocumentedRuleDefault(
        "runtime:get", "", "Show a runtime (own project's or public).",
        [{"method": "GET", "path": PATH + "/{runtime_id}"}]),
    policy.DocumentedRuleDefault(
        "runtime:get_all", "", "List runtimes (own project's and public).",
        [{"method": "GET", "path": PATH}]),
    policy.DocumentedRuleDefault(
        "runtime_pool:get_all", base.ADMIN,
        "Show the worker pool of a runtime.",
        [{"method": "GET", "path": PATH + "/{runtime_id}/pool"}]),
]


def list_rules():
    return rules

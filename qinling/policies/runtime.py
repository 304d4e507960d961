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
"""Runtime policies: managing runtimes is for administrators; any reader
lists them (a runtime serves every project)."""

from qinling.policies import base

PATH = "/v1/runtimes"
ONE = PATH + "/{runtime_id}"

rules = [
    base.rule("runtime:create", base.ADMIN, "Create a runtime.", "POST",
              PATH),
    base.rule("runtime:update", base.ADMIN, "Update a runtime.", "PUT", ONE),
    base.rule("runtime:delete", base.ADMIN, "Delete a runtime.", "DELETE",
              ONE),
    base.rule("runtime:get", base.ANY_READER,
              "Show a runtime (own project's or public).", "GET", ONE),
    base.rule("runtime:get_all", base.ANY_READER,
              "List runtimes (own project's and public).", "GET", PATH),
    base.rule("runtime_pool:get_all", base.ADMIN,
              "Show the worker pool of a runtime.", "GET", ONE + "/pool"),
]


def list_rules():
    return rules

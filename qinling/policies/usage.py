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
"""Usage policies."""

from qinling.policies import base

rules = [
    base.rule("usage:get", base.READER,
              "Show the caller's project's usage over a period.", "GET",
              "/v1/usage"),
    base.rule("usage:get:all_projects", base.ADMIN,
              "Show the usage of another project (?project_id=).", "GET",
              "/v1/usage"),
]


def list_rules():
    return rules

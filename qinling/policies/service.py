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
"""Policies of the service's own endpoints: health and metrics."""

from qinling.policies import base

rules = [
    base.rule("healthcheck:detailed", base.ADMIN,
              "Show the detailed health check: each check's detail, the "
              "threads of the process.", "GET", "/healthcheck"),
    base.rule("metrics:get", base.ADMIN,
              "Read the Prometheus metrics.", "GET", "/metrics"),
]


def list_rules():
    return rules

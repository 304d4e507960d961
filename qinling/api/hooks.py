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
"""Pecan hooks: the request context, and the services a request uses."""

from pecan import hooks

from qinling import context


class ContextHook(hooks.PecanHook):
    """Build the caller's context from the request.

    With ``[pecan]auth_enable`` off every request acts in the project
    ``default`` and nothing is refused by policy (upstream's behaviour).
    """

    priority = 10

    def before(self, state):
        request_id = state.request.environ.get("openstack.request_id")
        state.request.context = context.Context(request_id=request_id,
                                                is_admin=True)


class ServicesHook(hooks.PecanHook):
    """Hand the application's services and config to the controllers."""

    priority = 20

    def __init__(self, conf, services):
        self._conf = conf
        self._services = services

    def before(self, state):
        state.request.conf = self._conf
        state.request.services = self._services

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
"""The request context: who is calling, in which project.

Built from the request by the API's context hook, carried over RPC as a
dict, and rebuilt by the engine.
"""

from oslo_context import context as oslo_context
from oslo_db.sqlalchemy import enginefacade

DEFAULT_PROJECT_ID = "default"


@enginefacade.transaction_context_provider
class Context(oslo_context.RequestContext):
    """A request context whose project is never empty.

    With auth off every request acts in the project ``default`` (upstream's
    behaviour), so rows always have an owner.
    """

    def __init__(self, project_id=None, **kwargs):
        super().__init__(project_id=project_id or DEFAULT_PROJECT_ID,
                         **kwargs)

    @classmethod
    def from_dict(cls, values, **kwargs):
        kwargs.setdefault("project_id", values.get("project_id"))
        return super().from_dict(values, **kwargs)


def admin_context():
    """A context for the service's own background work."""
    return Context(is_admin=True, overwrite=False)

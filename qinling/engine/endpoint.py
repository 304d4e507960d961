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
"""The engine's RPC endpoint: one method per :class:`qinling.rpc.EngineClient`
call."""

from oslo_log import log as logging
import oslo_messaging as messaging

from qinling import context as qinling_context
from qinling import exceptions
from qinling import rpc
from qinling import states
from qinling.db import api as db_api
from qinling.engine import runner

LOG = logging.getLogger(__name__)


class EngineEndpoint:

    target = messaging.Target(version=rpc.API_VERSION)

    def __init__(self, conf, orchestrator, storage):
        self._orchestrator = orchestrator
        self._runner = runner.ExecutionRunner(conf, orchestrator, storage)

    def create_runtime(self, ctx, runtime_id):
        admin = qinling_context.admin_context()
        try:
            runtime = db_api.runtime_get_by_engine(admin, runtime_id)
        except exceptions.DBEntityNotFoundError:
            return
        self._build_pool(admin, runtime)

    def _build_pool(self, admin, runtime):
        try:
            self._orchestrator.create_pool(runtime.id, runtime.image,
                                           runtime.trusted)
        except exceptions.OrchestratorException as e:
            LOG.warning("Runtime %s cannot get a pool: %s", runtime.id,
                        e.message)
            db_api.runtime_update_by_engine(
                admin, runtime.id,
                {"status": states.ERROR, "status_reason": e.message})
            return
        db_api.runtime_update_by_engine(
            admin, runtime.id,
            {"status": states.AVAILABLE, "status_reason": None})

    def delete_runtime(self, ctx, runtime_id):
        self._orchestrator.delete_pool(runtime_id)
        db_api.runtime_delete_by_engine(qinling_context.admin_context(),
                                        runtime_id)

    @messaging.expected_exceptions(exceptions.QinlingException)
    def create_execution(self, ctx, execution_id):
        self._runner.run(ctx, execution_id)

    def delete_function(self, ctx, function_id, function_version=0):
        self._orchestrator.delete_function(function_id, function_version)

    def recover(self):
        """Rebuild what this engine holds in memory after a start.

        Pools of runtimes are (re)created; runtimes left ``deleting`` are
        finished off.
        """
        admin = qinling_context.admin_context()
        for runtime in db_api.runtime_list_by_engine(admin):
            if runtime.status == states.DELETING:
                self.delete_runtime(admin, runtime.id)
            elif runtime.status != states.UPGRADING:
                self._build_pool(admin, runtime)

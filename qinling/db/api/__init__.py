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
"""The database API: every query the services and the engine make.

Functions take the request context first. Lookups on behalf of a user are
scoped to the user's project (runtimes: also public ones); the engine's
own bookkeeping uses the unscoped functions named ``*_by_engine``. No
business rules live here.

Callers use this package as one module (``db_api.function_get(...)``);
its modules group the queries by resource: :mod:`.runtimes`,
:mod:`.functions` (with versions and aliases), :mod:`.jobs` (with
webhooks) and :mod:`.executions`, on the plumbing of :mod:`.base`.
"""

from qinling.db.api.base import OPERATORS
from qinling.db.api.base import SQLITE_BUSY_TIMEOUT_MS
from qinling.db.api.base import ListQuery
from qinling.db.api.base import configure
from qinling.db.api.base import get_engine
from qinling.db.api.executions import Backlog
from qinling.db.api.executions import ExecutionTarget
from qinling.db.api.executions import ExecutionToRun
from qinling.db.api.executions import LapsedClaim
from qinling.db.api.executions import engine_forget_by_engine
from qinling.db.api.executions import engine_forget_stale_by_engine
from qinling.db.api.executions import engines_alive_by_engine
from qinling.db.api.executions import execution_claim_by_engine
from qinling.db.api.executions import execution_create
from qinling.db.api.executions import execution_create_resolved
from qinling.db.api.executions import execution_delete
from qinling.db.api.executions import execution_finish_by_engine
from qinling.db.api.executions import execution_get
from qinling.db.api.executions import execution_lapse_leases_by_engine
from qinling.db.api.executions import execution_lapsed_claims_by_engine
from qinling.db.api.executions import execution_list
from qinling.db.api.executions import execution_mark_started_by_engine
from qinling.db.api.executions import execution_queued_by_engine
from qinling.db.api.executions import execution_renew_leases_by_engine
from qinling.db.api.executions import execution_requeue_by_engine
from qinling.db.api.executions import execution_to_run_by_engine
from qinling.db.api.executions import execution_usage
from qinling.db.api.functions import alias_create
from qinling.db.api.functions import alias_delete
from qinling.db.api.functions import alias_get
from qinling.db.api.functions import alias_list
from qinling.db.api.functions import alias_update
from qinling.db.api.functions import alias_usage
from qinling.db.api.functions import function_create
from qinling.db.api.functions import function_delete
from qinling.db.api.functions import function_get
from qinling.db.api.functions import function_get_by_engine
from qinling.db.api.functions import function_list
from qinling.db.api.functions import function_update
from qinling.db.api.functions import function_usage
from qinling.db.api.functions import version_create
from qinling.db.api.functions import version_delete
from qinling.db.api.functions import version_get
from qinling.db.api.functions import version_get_by_engine
from qinling.db.api.functions import version_list
from qinling.db.api.jobs import job_compare_and_swap_by_engine
from qinling.db.api.jobs import job_create
from qinling.db.api.jobs import job_delete
from qinling.db.api.jobs import job_get
from qinling.db.api.jobs import job_list
from qinling.db.api.jobs import job_update
from qinling.db.api.jobs import jobs_due_by_engine
from qinling.db.api.jobs import webhook_create
from qinling.db.api.jobs import webhook_delete
from qinling.db.api.jobs import webhook_get
from qinling.db.api.jobs import webhook_get_by_engine
from qinling.db.api.jobs import webhook_list
from qinling.db.api.jobs import webhook_update
from qinling.db.api.runtimes import runtime_create
from qinling.db.api.runtimes import runtime_delete_by_engine
from qinling.db.api.runtimes import runtime_get
from qinling.db.api.runtimes import runtime_get_by_engine
from qinling.db.api.runtimes import runtime_list
from qinling.db.api.runtimes import runtime_list_by_engine
from qinling.db.api.runtimes import runtime_mark_deleting
from qinling.db.api.runtimes import runtime_update_by_engine

__all__ = [
    "configure",
    "get_engine",
    "ListQuery",
    "SQLITE_BUSY_TIMEOUT_MS",
    "OPERATORS",
    "runtime_create",
    "runtime_get",
    "runtime_list",
    "runtime_get_by_engine",
    "runtime_list_by_engine",
    "runtime_update_by_engine",
    "runtime_delete_by_engine",
    "runtime_mark_deleting",
    "function_create",
    "function_get",
    "function_get_by_engine",
    "function_list",
    "function_update",
    "function_usage",
    "function_delete",
    "version_create",
    "version_get",
    "version_get_by_engine",
    "version_list",
    "version_delete",
    "alias_create",
    "alias_get",
    "alias_list",
    "alias_update",
    "alias_delete",
    "alias_usage",
    "job_create",
    "job_get",
    "job_list",
    "job_update",
    "job_delete",
    "jobs_due_by_engine",
    "job_compare_and_swap_by_engine",
    "webhook_create",
    "webhook_get",
    "webhook_get_by_engine",
    "webhook_list",
    "webhook_update",
    "webhook_delete",
    "execution_create",
    "ExecutionTarget",
    "Backlog",
    "execution_create_resolved",
    "execution_get",
    "ExecutionToRun",
    "execution_to_run_by_engine",
    "execution_usage",
    "execution_list",
    "execution_delete",
    "execution_finish_by_engine",
    "execution_claim_by_engine",
    "execution_queued_by_engine",
    "execution_renew_leases_by_engine",
    "engine_forget_by_engine",
    "engines_alive_by_engine",
    "engine_forget_stale_by_engine",
    "LapsedClaim",
    "execution_lapsed_claims_by_engine",
    "execution_requeue_by_engine",
    "execution_mark_started_by_engine",
    "execution_lapse_leases_by_engine",
]

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
"""Executions: check the target, queue the request, wake the engines.

Shared by the API, and later by the job scheduler and webhooks.
"""

import datetime
import json

from oslo_log import log as logging
import oslo_messaging as messaging

from qinling import context
from qinling import exceptions
from qinling import metrics
from qinling import notifications
from qinling import states
from qinling.db import api as db_api

LOG = logging.getLogger(__name__)

RAW_INPUT_KEY = "__function_input"
#: why a sync execution ended without running (the caller gets 503).
NO_ENGINE = "The execution never started: no engine is running."
UNREACHABLE = ("The execution never started: the engines cannot be "
               "reached.")
NO_ANSWER = ("The execution never started: no engine took it within %d "
             "seconds.")
#: the columns the engine writes when an execution ends (and updated_at).
FINAL_COLUMNS = ("status", "result", "logs", "cpu_time", "memory_peak")


def parse_input(raw):
    """Turn the API's ``input`` into what is stored and sent to workers.

    A JSON object becomes the function's keyword arguments; anything else
    (a JSON array, number, boolean or string, or text that is not JSON) is
    passed as one positional string, exactly as the caller wrote it.
    """
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        # A JSON body may carry input as a JSON value rather than text.
        if isinstance(raw, dict):
            return raw
        raw = json.dumps(raw)
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if isinstance(value, dict):
        return value
    return {RAW_INPUT_KEY: raw}


def render_input(stored):
    """The ``input`` string the API shows for a stored input."""
    if stored is None:
        return None
    if isinstance(stored, dict) and set(stored) == {RAW_INPUT_KEY}:
        return stored[RAW_INPUT_KEY]
    return json.dumps(stored)


def finished(execution, final):
    """The row of an execution the engine just ended, without reading it.

    :param execution: the row as created (detached from its session).
    :param final: what the engine wrote when it ended the execution (see
        ``EngineClient.create_execution``).
    :returns: ``execution``, holding the final columns.
    """
    for key in FINAL_COLUMNS:
        setattr(execution, key, final.get(key))
    execution.attempts = final.get("attempts", execution.attempts)
    updated_at = final.get("updated_at")
    if isinstance(updated_at, str):
        updated_at = datetime.datetime.fromisoformat(updated_at)
    execution.updated_at = updated_at
    return execution


class ExecutionService:

    def __init__(self, conf, engine):
        self._conf = conf
        self._engine = engine

    @staticmethod
    def _check_target(target):
        if target.runtime.status != states.AVAILABLE:
            raise exceptions.RuntimeNotAvailableException(
                "Runtime %s is not available." % target.runtime.id)

    def create(self, ctx, params, max_running=None):
        """Queue an execution and wake an engine; wait for it if it is sync.

        The target is resolved, checked and recorded in one transaction;
        an alias is resolved now, so repointing it later does not change
        executions already made. The committed row is the queue: an async
        execution runs when an engine claims it, whether or not the wake-up
        reaches one. A sync one is handed to an engine by a call; when no
        engine can take it, it ends at once as never started and the
        caller gets 503.

        :param params: function_id and function_version, or
            function_alias; sync, input, description.
        :param max_running: refuse (TooManyRequests) while this many
            executions of the function are running.
        :returns: the execution row; final for a sync execution.
        :raises TooManyRequests: the function or the project has
            ``[executions]max_pending_per_*`` executions unfinished.
        :raises EngineUnavailable: a sync execution no engine could take.
        """
        sync = params.get("sync")
        sync = True if sync is None else sync
        limits = self._conf.executions
        execution, target = db_api.execution_create_resolved(ctx, {
            "function_id": params.get("function_id"),
            "function_version": params.get("function_version") or 0,
            "function_alias": params.get("function_alias"),
            "description": params.get("description"),
            "sync": sync,
            "input": parse_input(params.get("input")),
            "status": states.RUNNING,
        }, check=self._check_target, max_running=max_running,
            backlog=db_api.Backlog(
                per_function=limits.max_pending_per_function,
                per_project=limits.max_pending_per_project,
                retry_after=limits.retry_after))
        if not sync:
            self._engine.create_execution(ctx, execution.id, False, None)
            return execution
        return self._run_sync(ctx, execution, target)

    def _run_sync(self, ctx, execution, target):
        timeout = target.timeout + self._conf.engine.rpc_timeout_margin
        if self._engine.remote and not db_api.engines_alive_by_engine(
                context.admin_context(), self._conf.engine.execution_lease):
            self._never_started(ctx, execution, target, NO_ENGINE)
        try:
            final = self._engine.create_execution(ctx, execution.id, True,
                                                  timeout)
        except messaging.MessagingTimeout:
            self._never_started(ctx, execution, target, NO_ANSWER % timeout,
                                only_if_queued=True)
            final = None
        except messaging.MessagingException as e:
            LOG.error("Cannot hand execution %s to an engine: %s",
                      execution.id, e)
            self._never_started(ctx, execution, target, UNREACHABLE,
                                only_if_queued=True)
            final = None
        if final:
            return finished(execution, final)
        return db_api.execution_get(ctx, execution.id)

    @staticmethod
    def _never_started(ctx, execution, target, message,
                       only_if_queued=False):
        """End a sync execution no engine claimed, and refuse the call.

        Its end is counted and notified as an engine's would be.

        :param target: the ExecutionTarget it was created for.
        :param only_if_queued: if an engine claimed it meanwhile, let the
            engine (or its lease) end it, and return.
        :raises EngineUnavailable: the execution was ended here.
        """
        ended = db_api.execution_finish_by_engine(
            context.admin_context(), execution.id, states.ERROR,
            {"output": message, "duration": 0}, "")
        if ended is not None:
            loaded = db_api.ExecutionToRun(execution, target.function,
                                           target.version)
            metrics.execution_ended(loaded, ended)
            notifications.execution_ended(ctx, loaded, ended)
        if ended is not None or not only_if_queued:
            raise exceptions.EngineUnavailable(message)

    def get(self, ctx, execution_id):
        return db_api.execution_get(ctx, execution_id)

    def list(self, ctx, list_query):
        return db_api.execution_list(ctx, list_query)

    def delete(self, ctx, execution_id):
        db_api.execution_delete(ctx, execution_id)

    def get_log(self, ctx, execution_id):
        return db_api.execution_get(ctx, execution_id).logs or ""

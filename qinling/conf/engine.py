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
"""Options of the ``[engine]`` group."""

from oslo_config import cfg

group = cfg.OptGroup("engine", title="Engine options")

opts = [
    cfg.StrOpt(
        "host", default="0.0.0.0",
        help="Name of this engine on the RPC topic."),
    cfg.StrOpt(
        "topic", default="qinling_engine",
        help="RPC topic the engines listen on."),
    cfg.StrOpt(
        "orchestrator", default="local",
        help="Orchestrator driver that runs workers, by its entry point "
             "name in the qinling.orchestrator namespace ('local' or "
             "'kubernetes')."),
    cfg.IntOpt(
        "function_service_expiration", default=3600, min=1,
        help="Seconds a function's workers may stay idle before they are "
             "released."),
    cfg.IntOpt(
        "function_service_check_interval", default=300, min=1,
        help="Seconds between two looks for idle workers to release."),
    cfg.IntOpt(
        "function_concurrency", default=3, min=1,
        help="Running executions per worker above which a function gets "
             "another worker."),
    cfg.IntOpt(
        "rpc_timeout_margin", default=30, min=1,
        help="Seconds a synchronous execution waits for the engine beyond "
             "the function's own timeout before the API gives up."),
    cfg.StrOpt(
        "engine_id",
        help="Name under which this engine claims executions, unique "
             "among the engines of a database. Set, a restarted engine "
             "takes back at once the executions it held when it stopped; "
             "unset, each start picks a new name and those executions "
             "wait for their lease to lapse."),
    cfg.IntOpt(
        "execution_lease", default=10, min=2, max=600,
        help="Seconds an engine's claim on an execution holds unless the "
             "engine renews it (it does, every third of this, while the "
             "execution runs). An engine that stops loses its executions "
             "to the other engines this long after its last renewal."),
    cfg.FloatOpt(
        "claim_interval", default=1.0, min=0.05, max=60,
        help="Seconds between two looks of an engine at the queue of "
             "executions for work nobody handed it (accepted while the "
             "message bus or every engine was down, or left by an "
             "engine that stopped). Work handed over RPC starts at "
             "once."),
    cfg.IntOpt(
        "async_concurrency", default=32, min=1, max=1024,
        help="Asynchronous executions one engine runs at the same time; "
             "more wait in the queue, taken fairly across projects. "
             "Synchronous executions do not count against this."),
    cfg.IntOpt(
        "sync_handoff_timeout", default=30, min=1,
        help="Seconds after which a synchronous execution no engine "
             "claimed (its API process stopped before handing it over) "
             "is taken from the queue and run like an asynchronous one."),
    cfg.IntOpt(
        "runtime_reconcile_interval", default=10, min=1, max=3600,
        help="Seconds between two comparisons of this engine's worker "
             "pools with the runtimes table: pools are created for "
             "runtimes this engine has none for, and removed for "
             "runtimes that are gone."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group, opts)]

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
"""The contract between the engine and an orchestrator driver.

The engine owns all state (the database); a driver owns workers only. The
engine tells a driver what to do with plain, typed values defined here, and a
driver never reads or writes the database. Drivers are loaded by stevedore
from the ``qinling.orchestrator`` namespace by :func:`load`.

Every method may raise :class:`qinling.exceptions.OrchestratorException`
whose message is shown to the user (an execution's output, a runtime's
``status_reason``); operator detail goes to the log.
"""

import abc
import dataclasses
import typing

from oslo_log import log as logging
from stevedore import driver as stevedore_driver

from qinling import exceptions

LOG = logging.getLogger(__name__)

NAMESPACE = "qinling.orchestrator"


@dataclasses.dataclass(frozen=True)
class FunctionSpec:
    """What a worker needs to know to serve one (function, version)."""

    function_id: str
    function_version: int
    runtime_id: str
    project_id: str
    #: ``module.attribute`` of the callable inside the package.
    entry: str
    #: seconds an execution may run before it is killed.
    timeout: int
    #: millicpu an execution may use.
    cpu: int
    #: bytes of memory an execution may use.
    memory_size: int
    #: local path of the function's zip package.
    package_path: str
    #: md5 of the package; a worker holding another md5 is not reused.
    package_md5: str


@dataclasses.dataclass(frozen=True)
class ExecutionRequest:
    """One execution, as the engine hands it to a worker."""

    execution_id: str
    #: kwargs dict, ``{"__function_input": raw}`` or None (upstream format).
    input: typing.Optional[dict]
    request_id: typing.Optional[str] = None
    #: where a worker that has no package yet can download it.
    download_url: typing.Optional[str] = None
    #: the function owner's OpenStack credentials for this execution:
    #: ``{"auth_url", "token", "token_data"}`` with a token scoped by the
    #: function's trust (never the service's own credentials), or None.
    auth: typing.Optional[dict] = None
    #: the environment variables of the function (or version) for this
    #: execution only, names to strings; None: none.
    environment: typing.Optional[dict] = None


@dataclasses.dataclass(frozen=True)
class ExecutionResult:
    """What a worker answered for one execution."""

    success: bool
    #: any JSON value: the function's return value or the failure message.
    output: typing.Any
    #: wall-clock seconds the execution took inside the worker.
    duration: float
    #: captured stdout and stderr of the execution.
    logs: str = ""
    #: CPU seconds the execution used (user + system), if known.
    cpu_time: typing.Optional[float] = None
    #: peak resident memory of the execution in bytes, if known.
    memory_peak: typing.Optional[int] = None


@dataclasses.dataclass(frozen=True)
class PoolStatus:
    """How a runtime's new pool runs its workers."""

    #: whether the workers run isolated from the host (a sandbox, a pod).
    isolated: bool
    #: what the runtime's users should know (its ``status_reason``), or
    #: None.
    notice: typing.Optional[str] = None


@dataclasses.dataclass(frozen=True)
class PoolCapacity:
    """Workers of a runtime: all of them, and the free (unclaimed) ones."""

    total: int
    available: int


@dataclasses.dataclass(frozen=True)
class WorkerInfo:
    """A worker serving a function version."""

    name: str
    function_id: str
    function_version: int

    @classmethod
    def of(cls, name, function):
        """The worker ``name`` serving the FunctionSpec ``function``."""
        return cls(name=name, function_id=function.function_id,
                   function_version=function.function_version)


def check_function_id(function_id):
    """Refuse a function id that cannot name a worker's package directory.

    :raises WorkerUnavailable: empty, ``.``/``..``, or holding ``/`` or NUL.
    """
    if (not function_id or function_id in (".", "..")
            or "/" in function_id or "\0" in function_id):
        raise exceptions.WorkerUnavailable(
            f"Invalid function id {function_id!r}.")


class Orchestrator(abc.ABC):
    """Runs workers for runtimes and functions."""

    @abc.abstractmethod
    def create_pool(self, runtime_id: str, image: str,
                    trusted: bool) -> PoolStatus:
        """Create (or re-create, after a restart) the warm pool of a runtime.

        Returns once the pool can serve executions.

        :param runtime_id: the runtime's id; later calls name the pool by it.
        :param image: the runtime's image; a driver maps it to what it runs.
        :param trusted: False when the runtime's code must be isolated more.
        :returns: how the pool runs its workers.
        :raises OrchestratorException: the pool cannot be created; the
            message says why (for example an image the driver cannot run,
            or an untrusted runtime on a host that cannot isolate it).
        """

    @abc.abstractmethod
    def update_pool(self, runtime_id: str, image: str) -> PoolStatus:
        """Move a runtime's pool to a new image.

        Workers of the old image finish their running executions and go;
        the free pool starts again with the new image. Functions get new
        workers on their next execution.

        :param runtime_id: the runtime's id.
        :param image: the new image.
        :returns: how the pool runs its workers now.
        :raises OrchestratorException: the runtime has no pool, or the new
            image cannot run (the pool then keeps the old one).
        """

    @abc.abstractmethod
    def delete_pool(self, runtime_id: str) -> None:
        """Stop every worker of a runtime. Unknown runtimes are ignored.

        :param runtime_id: the runtime's id.
        """

    @abc.abstractmethod
    def get_pool(self, runtime_id: str) -> PoolCapacity:
        """Count the workers of a runtime.

        :param runtime_id: the runtime's id.
        :returns: the pool's capacity.
        :raises OrchestratorException: the driver has no such pool.
        """

    @abc.abstractmethod
    def prepare_execution(self, function: FunctionSpec) -> WorkerInfo:
        """Return a worker ready to run the function version.

        Reuses a worker already serving ``function`` with the same package
        md5, or claims a free worker of the runtime's pool and loads the
        package into it (replenishing the pool in the background).

        :param function: the function version to serve.
        :returns: the worker to hand to :meth:`run_execution`.
        :raises WorkerUnavailable: no worker can be had.
        """

    @abc.abstractmethod
    def run_execution(self, worker: WorkerInfo, function: FunctionSpec,
                      request: ExecutionRequest) -> ExecutionResult:
        """Run one execution on a worker and wait for its result.

        A failure of the function itself (exception, timeout, limit) is a
        result with ``success=False``, not an exception.

        :param worker: a worker from :meth:`prepare_execution`.
        :param function: the function version the worker serves.
        :param request: the execution.
        :returns: the worker's answer.
        :raises OrchestratorException: the worker could not be reached.
        """

    @abc.abstractmethod
    def scaleup_function(self, function: FunctionSpec,
                         count: int) -> typing.List[WorkerInfo]:
        """Give a function version ``count`` more workers.

        Claims free workers of the runtime's pool (or starts new ones),
        loads the package into them and replenishes the pool. The engine
        decides when (see ``qinling.engine.scaling``).

        :param function: the function version to serve.
        :param count: how many workers to add, at least 1.
        :returns: the workers added; fewer than ``count`` if some failed.
        :raises WorkerUnavailable: no worker could be added.
        """

    @abc.abstractmethod
    def scaledown_function(self, function_id: str, version: int,
                           count: int) -> typing.List[WorkerInfo]:
        """Release ``count`` workers of a function version.

        Idle workers go first; busy ones finish their running executions.
        The engine decides how many may go (it always keeps one).

        :param function_id: the function's id.
        :param version: the version number, 0 for the function itself.
        :param count: how many workers to release.
        :returns: the workers released, possibly fewer than ``count``.
        """

    @abc.abstractmethod
    def delete_function(self, function_id: str, version: int = 0) -> None:
        """Release every worker serving a function version.

        :param function_id: the function's id.
        :param version: the version number, 0 for the function itself.
        """

    @abc.abstractmethod
    def list_workers(self, function_id: str,
                     version: int = 0) -> typing.List[WorkerInfo]:
        """List the workers serving a function version.

        :param function_id: the function's id.
        :param version: the version number, 0 for the function itself.
        :returns: the workers, possibly none.
        """

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop every worker this driver started; called at shutdown."""


def load(name: str, conf) -> Orchestrator:
    """Load the orchestrator driver ``name``.

    :raises OrchestratorException: no such driver is installed.
    """
    try:
        mgr = stevedore_driver.DriverManager(
            NAMESPACE, name, invoke_on_load=True, invoke_args=(conf,))
    except Exception as e:  # stevedore raises several unrelated types
        LOG.error("Cannot load orchestrator %s: %s", name, e)
        raise exceptions.OrchestratorException(
            "Orchestrator driver %s cannot be loaded." % name)
    return mgr.driver

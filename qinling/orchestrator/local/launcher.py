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
"""The side effects of the local pool: start, load and limit workers.

A :class:`Launcher` knows the host (can it sandbox, which cgroups it
offers) and turns a worker name and a runtime into a running, isolated
runtime server. The driver decides *which* worker; this module does it.
"""

import dataclasses
import os

from oslo_log import log as logging

from qinling import exceptions
from qinling.orchestrator import worker_client
from qinling.orchestrator.local import cgroup_plan
from qinling.orchestrator.local import cgroups
from qinling.orchestrator.local import images
from qinling.orchestrator.local import package
from qinling.orchestrator.local import process
from qinling.orchestrator.local import sandbox

LOG = logging.getLogger(__name__)

#: What a runtime server may use beyond its executions' limits.
SERVER_MEMORY = 256 * 1024 * 1024
SERVER_MILLICPU = 1000
SERVER_PROCESSES = 64


@dataclasses.dataclass(frozen=True)
class Runtime:
    """How the workers of one runtime are started."""

    image: str
    kind: str
    #: the runtime server's files on this host, the script first.
    files: tuple
    interpreter: str
    trusted: bool


class Launcher:
    """Starts, loads and limits the local workers of one driver.

    :param conf: the service's ConfigOpts (``[local]``).
    """

    def __init__(self, conf):
        self._conf = conf
        local = conf.local
        try:
            self.sandbox = sandbox.Sandbox(conf)
        except ValueError as e:
            raise exceptions.OrchestratorException(str(e))
        self.cgroups = cgroups.CgroupManager.detect(
            local.cgroup_parent or None, local.use_cgroups)
        self._spawner = process.Spawner()
        controllers = self.cgroups.controllers
        slots = local.max_executions_per_worker
        limits = conf.resource_limits
        #: the whole worker: every slot at the largest function limits,
        #: plus the runtime server itself.
        self._worker_limits = cgroup_plan.Limits(
            memory=slots * limits.max_memory + SERVER_MEMORY,
            millicpu=slots * limits.max_cpu + SERVER_MILLICPU,
            processes=slots * local.max_processes + SERVER_PROCESSES)
        self._limits = sandbox.Limits(
            max_open_files=local.max_open_files,
            max_file_size=local.max_file_size,
            max_processes=(local.max_processes
                           if "pids" not in controllers
                           and self.sandbox.enabled else 0),
            rlimit_memory="memory" not in controllers,
            max_result_size=limits.max_result_size)
        #: bytes of a worker's answer the engine reads at most.
        self._max_answer_size = worker_client.answer_limit(
            limits.max_result_size)
        #: the python3 server imports keystoneauth1 at start.
        self._openstack_session = conf.pecan.auth_enable
        log = LOG.info if self.sandbox.enabled else LOG.warning
        log(self.sandbox.describe())
        log = LOG.warning if self.cgroups.reason else LOG.info
        log("Execution limits of local workers: %s.",
            self.cgroups.describe())

    def runtime(self, image, trusted):
        """Resolve what runs a runtime's image here.

        :returns: (a :class:`Runtime`, a notice for its status or None).
        :raises OrchestratorException: the image cannot run here; the
            message says why.
        """
        kind = images.runtime_kind(image, self._conf.local.runtime_images)
        files = images.server_files(image, kind)
        interpreter = images.interpreter(kind, self._conf.local)
        try:
            notice = self.sandbox.check_runtime(trusted)
        except ValueError as e:
            raise exceptions.OrchestratorException(str(e))
        return Runtime(image, kind, files, interpreter, trusted), notice

    def start(self, name, runtime):
        """Start the worker ``name`` of ``runtime`` and wait for it.

        :returns: the WorkerProcess.
        :raises OrchestratorException: it did not start.
        """
        paths = process.paths(os.path.join(self._conf.local.work_dir, name))
        shared = self.sandbox.enabled and self.sandbox.user is not None
        to_close, worker_cgroups, listener = [], None, None
        try:
            process.make_dirs(paths, shared=shared)
            listener = process.listen(paths.socket)
            worker_cgroups = self.cgroups.create_worker(
                name, self._conf.local.max_executions_per_worker)
            cgroups_json, enter_fds = "", []
            if worker_cgroups is not None:
                worker_cgroups.limit_worker(self._worker_limits)
                cgroups_json, cgroup_fds = worker_cgroups.open_for_worker()
                to_close += cgroup_fds
                enter_fds = worker_cgroups.open_worker_procs()
            launch, own = self.sandbox.launch(
                runtime.interpreter, runtime.files, paths,
                listener.fileno(), cgroups_json, list(to_close),
                self._limits, as_init=runtime.kind == "python3",
                extra=self._extra_args(runtime))
            to_close += own + enter_fds
        except OSError as e:
            LOG.error("Cannot prepare worker %s: %s", name, e)
            _close(listener, to_close)
            if worker_cgroups is not None:
                worker_cgroups.destroy()
            process.remove_dirs(paths)
            raise exceptions.OrchestratorException(
                f"Worker {name} cannot be started.")
        try:
            return process.start(name, paths, launch,
                                 self._conf.local.worker_start_timeout,
                                 worker_cgroups, self._spawner,
                                 _entering(enter_fds),
                                 max_answer_size=self._max_answer_size)
        finally:
            _close(listener, to_close)

    def _extra_args(self, runtime):
        """Arguments of the python3 runtime server only."""
        if runtime.kind != "python3":
            return ()
        extra = []
        if not self._conf.local.spare_child:
            extra.append("--no-spare-child")
        if self._openstack_session:
            extra.append("--openstack-session")
        return tuple(extra)

    def load(self, proc, function):
        """Unzip a function's package into a worker.

        :raises BadPackage: the package cannot be unzipped.
        :raises OSError: the files cannot be written.
        """
        if function.package_path:
            storage = self._conf.storage
            package.unzip(function.package_path, os.path.join(
                proc.paths.packages, function.function_id),
                storage.max_package_unpacked_size,
                storage.max_package_members)

    def limit(self, proc, function):
        """Give a worker's execution slots the function's limits.

        Cheap when they are already set.

        :raises OrchestratorException: the limits cannot be written.
        """
        if proc.cgroups is None:
            return
        limits = cgroup_plan.Limits(memory=function.memory_size,
                                millicpu=function.cpu,
                                processes=self._conf.local.max_processes)
        try:
            proc.cgroups.apply(limits)
        except OSError as e:
            LOG.error("Cannot limit worker %s: %s", proc.name, e)
            raise exceptions.OrchestratorException(
                f"The limits of function {function.function_id} cannot be "
                "set in its worker.")

    def stop(self):
        """Remove what the launcher holds on the host (its cgroups and
        thread); the workers must be stopped first."""
        self._spawner.shutdown()
        self.cgroups.destroy()


def _entering(fds):
    """A preexec function moving the new worker into its cgroups before it
    runs (so that nothing it starts escapes them), or None."""
    if not fds:
        return None

    def enter():
        for fd in fds:
            os.write(fd, b"0")
    return enter


def _close(listener, fds):
    if listener is not None:
        listener.close()
    for fd in fds:
        os.close(fd)

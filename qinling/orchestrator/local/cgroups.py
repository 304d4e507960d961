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
"""Per-execution cgroups of local workers (cgroup v1 and v2).

Layout, in every hierarchy that provides one of our controllers (memory,
cpu, pids)::

    <parent>/qinling-<service pid>-<random>/   one per driver
        <worker name>/                       one per worker
            slot-0/ .. slot-N/               one per concurrent execution

``<parent>`` is ``[local]cgroup_parent`` or the service's own cgroup, so the
workers stay inside whatever limits the service itself has. The driver
writes a function's limits into the slots of the worker that serves it and
hands the worker descriptors of the slots' ``cgroup.procs`` (opened here,
by the service); the runtime server moves each execution into a free slot
with them (see ``qinling/runtimes/python3/runtime_limits.py``). Workers
never see the cgroup file system.

Parsing and planning are pure functions in :mod:`.cgroup_plan`;
:class:`CgroupManager` does the file system work.
"""

import json
import os
import secrets
import signal
import time

from oslo_log import log as logging

from qinling.orchestrator.local import cgroup_plan as plan

LOG = logging.getLogger(__name__)

ROOT_PREFIX = "qinling-"
#: Rounds (10 ms apart) of killing a cgroup's processes before giving up.
KILL_ROUNDS = 500


def _read(path):
    with open(path) as f:
        return f.read()


def _write(path, value):
    with open(path, "w") as f:
        f.write(value)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _unthrottle(directory):
    """Lift a CPU quota: killed processes need CPU to exit."""
    for name, value in (("cpu.cfs_quota_us", "-1"), ("cpu.max", "max")):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            try:
                _write(path, value)
            except OSError:
                pass


def _kill_and_remove(directory):
    """Kill the processes in a cgroup tree, then remove it bottom-up.

    :returns: True if the tree is gone.
    """
    if not os.path.isdir(directory):
        return True
    _unthrottle(directory)
    for entry in os.scandir(directory):
        if entry.is_dir(follow_symlinks=False):
            _kill_and_remove(entry.path)
    procs = os.path.join(directory, "cgroup.procs")
    for _ in range(KILL_ROUNDS):
        try:
            pids = [int(p) for p in _read(procs).split()]
        except (OSError, ValueError):
            pids = []
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.rmdir(directory)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            time.sleep(0.01)
    LOG.warning("Cannot remove cgroup %s", directory)
    return False


class CgroupManager:
    """The cgroups of one local orchestrator.

    Build it with :meth:`detect`; ``controllers`` is empty (and ``reason``
    says why) when the host gives us none.
    """

    def __init__(self, hierarchies, reason=None):
        self.root_name = f"{ROOT_PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
        self.hierarchies = []
        reasons = [reason] if reason else []
        for hierarchy in hierarchies:
            try:
                self._create_root(hierarchy)
            except OSError as e:
                reasons.append(f"cannot create cgroups under "
                               f"{hierarchy.parent}: {e.strerror}")
                continue
            self.hierarchies.append(hierarchy)
        self.controllers = tuple(c for h in self.hierarchies
                                 for c in h.controllers)
        missing = [c for c in plan.CONTROLLERS if c not in self.controllers]
        if missing and not reasons:
            reasons.append("no cgroup hierarchy offers " + ", ".join(missing))
        self.reason = "; ".join(reasons) if missing else None

    @classmethod
    def detect(cls, parent=None, enabled=True):
        """Find the hierarchies of this host and create our root in each.

        :param parent: ``[local]cgroup_parent``; None for our own cgroup.
        :param enabled: False to use none (``[local]use_cgroups``).
        """
        if not enabled:
            return cls([], "cgroups are turned off ([local]use_cgroups)")
        try:
            mounts = plan.parse_mountinfo(_read("/proc/self/mountinfo"))
            membership = plan.parse_membership(_read("/proc/self/cgroup"))
        except OSError as e:
            return cls([], f"cannot read the cgroups of the service: {e}")
        v2_controllers = ()
        for mount in mounts:
            if mount.version == 2 and "" in membership:
                directory = plan.join(mount, parent or membership[""])
                try:
                    v2_controllers = tuple(_read(os.path.join(
                        directory, "cgroup.controllers")).split())
                except (OSError, TypeError):
                    pass
        return cls(plan.plan(mounts, membership, parent, v2_controllers))

    def _create_root(self, hierarchy):
        for stale in _stale_roots(hierarchy.parent):
            LOG.info("Removing cgroup %s left by a stopped service", stale)
            _kill_and_remove(stale)
        root = os.path.join(hierarchy.parent, self.root_name)
        if hierarchy.version == 2:
            _enable(hierarchy.parent, hierarchy.controllers)
        os.mkdir(root)
        if hierarchy.version == 2:
            try:
                _enable(root, hierarchy.controllers)
            except OSError:
                os.rmdir(root)
                raise

    def describe(self):
        """A sentence for the log: what limits executions."""
        if not self.hierarchies:
            return f"no cgroups ({self.reason}); rlimits only"
        used = ", ".join(f"{c} (v{h.version})" for h in self.hierarchies
                         for c in h.controllers)
        text = f"cgroups: {used}"
        return f"{text}; {self.reason}" if self.reason else text

    def create_worker(self, name, slots):
        """Create the slots of a worker.

        :returns: a :class:`WorkerCgroups`, or None without cgroups.
        :raises OSError: the directories cannot be created.
        """
        if not self.hierarchies:
            return None
        worker = WorkerCgroups(self, name, slots)
        try:
            worker.create()
        except OSError:
            worker.destroy()
            raise
        return worker

    def destroy(self):
        """Remove every cgroup of this driver (killing what is left)."""
        for hierarchy in self.hierarchies:
            _kill_and_remove(os.path.join(hierarchy.parent, self.root_name))


def _enable(directory, controllers):
    current = _read(os.path.join(directory, "cgroup.subtree_control")).split()
    wanted = " ".join(f"+{c}" for c in controllers if c not in current)
    if wanted:
        _write(os.path.join(directory, "cgroup.subtree_control"), wanted)


def _stale_roots(parent):
    stale = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return stale
    for entry in entries:
        if not entry.name.startswith(ROOT_PREFIX) or not entry.is_dir():
            continue
        pid = entry.name[len(ROOT_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            stale.append(entry.path)
    return stale


class WorkerCgroups:
    """The slot cgroups of one worker."""

    def __init__(self, manager, name, slots):
        self._manager = manager
        self.name = name
        self.slot_names = [f"slot-{i}" for i in range(slots)]
        self.applied = None

    def _dirs(self, hierarchy):
        return os.path.join(hierarchy.parent, self._manager.root_name,
                            self.name)

    def create(self):
        for hierarchy in self._manager.hierarchies:
            worker_dir = self._dirs(hierarchy)
            os.mkdir(worker_dir)
            if hierarchy.version == 2:
                _enable(worker_dir, hierarchy.controllers)
            for slot in self.slot_names:
                os.mkdir(os.path.join(worker_dir, slot))

    def limit_worker(self, limits):
        """Write the limits of the whole worker (its server and every slot).

        They bound the worker even if user code got hold of its server.

        :param limits: a :class:`.cgroup_plan.Limits`.
        :raises OSError: a limit cannot be written.
        """
        for hierarchy in self._manager.hierarchies:
            worker_dir = self._dirs(hierarchy)
            for name, value in plan.limit_writes(hierarchy, limits):
                path = os.path.join(worker_dir, name)
                if name == "memory.limit_in_bytes":
                    _write_v1_memory(worker_dir, value)
                elif name != "memory.swap.max" or os.path.exists(path):
                    _write(path, value)

    def open_worker_procs(self):
        """Descriptors of the worker-level ``cgroup.procs`` files: writing
        ``0`` to each moves the writer into the worker's cgroups.

        :returns: the descriptors; the caller closes them.
        """
        fds = []
        try:
            for hierarchy in self._manager.hierarchies:
                fds.append(os.open(os.path.join(
                    self._dirs(hierarchy), "cgroup.procs"),
                    os.O_WRONLY | os.O_CLOEXEC))
        except OSError:
            for fd in fds:
                os.close(fd)
            raise
        return fds

    def apply(self, limits):
        """Write ``limits`` into every slot (skipped if already there).

        :param limits: a :class:`.cgroup_plan.Limits`.
        :raises OSError: a limit cannot be written.
        """
        if limits == self.applied:
            return
        for hierarchy in self._manager.hierarchies:
            writes = plan.limit_writes(hierarchy, limits)
            for slot in self.slot_names:
                slot_dir = os.path.join(self._dirs(hierarchy), slot)
                for name, value in writes:
                    path = os.path.join(slot_dir, name)
                    if name == "memory.limit_in_bytes":
                        _write_v1_memory(slot_dir, value)
                    elif name != "memory.swap.max" or os.path.exists(path):
                        _write(path, value)
        self.applied = limits

    def open_for_worker(self):
        """Open the descriptors the runtime server needs.

        :returns: (the ``--cgroups`` JSON, the descriptors to pass); the
            caller closes the descriptors once the worker has started.
        """
        fds, slots = [], []
        try:
            for slot in self.slot_names:
                item = {"name": slot, "procs": [], "pids_current": None,
                        "path": f"{self._manager.root_name}/{self.name}/"
                                f"{slot}"}
                for hierarchy in self._manager.hierarchies:
                    self._open_slot(hierarchy, slot, item, fds)
                slots.append(item)
        except OSError:
            for fd in fds:
                os.close(fd)
            raise
        return json.dumps({"slots": slots}), fds

    def _open_slot(self, hierarchy, slot, item, fds):
        """Open one hierarchy's files of a slot into ``item`` (see
        ``runtime_limits.parse_slots``), appending them to ``fds``."""
        slot_dir = os.path.join(self._dirs(hierarchy), slot)

        def opened(name, flags):
            fds.append(os.open(os.path.join(slot_dir, name),
                               flags | os.O_CLOEXEC))
            return fds[-1]

        item["procs"].append(opened("cgroup.procs", os.O_WRONLY))
        if "pids" in hierarchy.controllers:
            item["pids_current"] = opened("pids.current", os.O_RDONLY)
        for key, spec in plan.slot_files(hierarchy).items():
            name, lift = spec if isinstance(spec, tuple) else (spec, None)
            if not os.path.exists(os.path.join(slot_dir, name)):
                continue
            if key == "cpu_quota":
                item[key] = {"fd": opened(name, os.O_RDWR),
                             "unlimited": lift}
            else:
                item[key] = opened(name, os.O_WRONLY if key == "kill"
                                   else os.O_RDONLY)

    def destroy(self):
        """Kill what is left in the worker's cgroups and remove them."""
        for hierarchy in self._manager.hierarchies:
            _kill_and_remove(self._dirs(hierarchy))


def _write_v1_memory(slot_dir, value):
    """v1: limit memory, and memory+swap alike so swap cannot extend it.

    The kernel keeps memory <= memory+swap at every step, so the order of
    the two writes depends on whether the limit goes up or down.
    """
    memsw = os.path.join(slot_dir, "memory.memsw.limit_in_bytes")
    limit = os.path.join(slot_dir, "memory.limit_in_bytes")
    if not os.path.exists(memsw):
        _write(limit, value)
        return
    try:
        _write(limit, value)
        _write(memsw, value)
    except OSError:
        _write(memsw, value)
        _write(limit, value)

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
"""Per-execution limits of the Python 3 runtime: rlimits and cgroup slots.

Standard library only, nothing from ``qinling`` (see server.py).

A *slot* is a cgroup prepared by whoever started the server (the local
orchestrator): its limits (memory, CPU, processes) are already written,
and the server only holds file descriptors of its ``cgroup.procs`` files,
opened for it, plus one of ``pids.current`` to see leftovers and, where
the host has them, of ``cgroup.kill`` (to kill them at once), of its CPU
quota (lifted while killed processes exit, since they need CPU to die)
and of its memory events (to tell an out-of-memory kill from others). An
execution child writes ``0`` to each ``cgroup.procs`` to enter its slot
before it runs user code, then closes every descriptor, so user code can
neither leave the slot nor touch its limits. Memory charged before the
move (the pages shared with the server) is not counted against the
execution.

Without slots (a container, or a host without cgroups) the limits are
rlimits set in the child.
"""

import ctypes
import json
import os
import queue
import resource
import signal
import time

PR_SET_DUMPABLE = 4

#: Soft limits applied in every execution child unless told otherwise.
DEFAULT_NOFILE = 1024
DEFAULT_FSIZE = 500 * 1024 * 1024
#: Bytes of the largest result (its JSON text) an execution may return.
DEFAULT_RESULT_SIZE = 5 * 1024 * 1024


class Slot:
    """One cgroup an execution runs in.

    :param name: for messages.
    :param path_suffix: the end of the slot's path in ``/proc/PID/cgroup``.
    :param procs_fds: write descriptors of its ``cgroup.procs`` files.
    :param pids_current_fd: read descriptor of ``pids.current``, or None.
    :param kill_fd: write descriptor of ``cgroup.kill`` (v2), or None.
    :param quota: (read-write descriptor of ``cpu.max`` or
        ``cpu.cfs_quota_us``, the value that lifts the quota), or None.
    :param oom_fd: read descriptor of ``memory.events`` (v2) or
        ``memory.oom_control`` (v1), or None.
    """

    def __init__(self, name, path_suffix, procs_fds, pids_current_fd=None,
                 kill_fd=None, quota=None, oom_fd=None):
        self.name = name
        self.path_suffix = "/" + path_suffix.strip("/")
        self.procs_fds = tuple(procs_fds)
        self.pids_current_fd = pids_current_fd
        self.kill_fd = kill_fd
        self.quota = quota
        self.oom_fd = oom_fd
        #: the out-of-memory kills already accounted for.
        self._oom_kills = self.oom_kills()

    def fds(self):
        """Every descriptor the slot holds."""
        extra = (self.pids_current_fd, self.kill_fd, self.oom_fd,
                 self.quota[0] if self.quota else None)
        return list(self.procs_fds) + [fd for fd in extra if fd is not None]

    def enter(self):
        """Move the calling process into the slot (in the child)."""
        for fd in self.procs_fds:
            os.write(fd, b"0")

    def process_count(self):
        """Processes in the slot now, or None if that cannot be known."""
        if self.pids_current_fd is None:
            return None
        try:
            return int(os.pread(self.pids_current_fd, 64, 0).strip() or 0)
        except (OSError, ValueError):
            return None

    def oom_kills(self):
        """The slot's out-of-memory kills so far, or None if unknown."""
        if self.oom_fd is None:
            return None
        try:
            text = os.pread(self.oom_fd, 4096, 0).decode()
        except OSError:
            return None
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
        return None

    def was_oom_killed(self):
        """Whether the memory limit killed a process of the slot since the
        last call; None if the slot cannot tell."""
        kills = self.oom_kills()
        if kills is None:
            return None
        seen, self._oom_kills = self._oom_kills, kills
        return kills > (seen or 0)

    def members(self):
        """PIDs (in this pid namespace) of the processes in the slot."""
        pids = []
        for entry in _proc_entries():
            try:
                with open(f"/proc/{entry}/cgroup") as f:
                    lines = f.read().splitlines()
            except OSError:
                continue
            if any(line.endswith(self.path_suffix) for line in lines):
                pids.append(int(entry))
        return pids

    def kill_all(self):
        """SIGKILL every process in the slot: with ``cgroup.kill`` where
        the host has it, else one by one."""
        if self.kill_fd is not None:
            try:
                os.write(self.kill_fd, b"1")
                return
            except OSError:
                pass
        for pid in self.members():
            _kill(pid)

    def lift_quota(self):
        """Lift the CPU quota; returns the value to restore, or None."""
        if self.quota is None:
            return None
        fd, unlimited = self.quota
        try:
            current = os.pread(fd, 64, 0)
            os.pwrite(fd, unlimited.encode(), 0)
        except OSError:
            return None
        return current.strip()

    def restore_quota(self, value):
        if value is not None:
            try:
                os.pwrite(self.quota[0], value, 0)
            except OSError:
                pass

    def clean(self, budget, before_check=None):
        """Kill whatever an execution left in the slot.

        The slot's CPU quota is lifted meanwhile: a killed process still
        needs CPU to exit, and a hundred of them under a tenth of a CPU take
        seconds.

        :param budget: seconds to keep trying.
        :param before_check: called before each count (reaps zombies).
        :returns: True if the slot is empty (or cannot be checked).
        """
        deadline = time.monotonic() + budget
        lifted = None
        try:
            while True:
                if before_check is not None:
                    before_check()
                count = self.process_count()
                if not count:
                    return True
                if time.monotonic() >= deadline:
                    return False
                if lifted is None:
                    lifted = self.lift_quota() or b""
                self.kill_all()
                time.sleep(0.01)
        finally:
            self.restore_quota(lifted or None)


def _proc_entries():
    try:
        return [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


class Slots:
    """The free slots; executions wait for one when all are busy.

    With no slots at all, :meth:`acquire` returns None at once and the
    execution runs under rlimits only.
    """

    def __init__(self, slots):
        self.all = list(slots)
        self._free = queue.Queue()
        for slot in self.all:
            self._free.put(slot)
        #: called before each look at a slot being emptied (pid 1 reaps
        #: the killed processes there, or they would still count).
        self.before_check = None

    def __bool__(self):
        return bool(self.all)

    def all_fds(self):
        fds = []
        for slot in self.all:
            fds.extend(slot.fds())
        return fds

    def try_acquire(self):
        """Take a free slot if there is one now.

        :returns: (True, the Slot, or None without slots), or (False,
            None) when every slot is busy.
        """
        if not self.all:
            return True, None
        try:
            return True, self._free.get_nowait()
        except queue.Empty:
            return False, None

    def acquire(self, deadline):
        """Take a free slot, waiting until ``deadline`` (monotonic).

        :returns: a Slot; None without slots.
        :raises queue.Empty: every slot stayed busy until the deadline.
        """
        if not self.all:
            return None
        return self._free.get(timeout=max(0.0, deadline - time.monotonic()))

    def release(self, slot, budget):
        """Clean a slot and give it back.

        :param budget: seconds to spend emptying it.
        :returns: False if the slot could not be emptied; it is then not
            given back.
        """
        if slot is None:
            return True
        if slot.clean(budget, self.before_check):
            self._free.put(slot)
            return True
        return False


def _find_prctl():
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Looked up once, in the server: a child need not load libc again.
_PRCTL = _find_prctl()


def set_dumpable(flag):
    """PR_SET_DUMPABLE: a non-dumpable process cannot be traced, nor its
    memory or descriptors read, by processes of the same user (an
    execution child attacking its server). Best effort."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_DUMPABLE, int(bool(flag)), 0, 0, 0)


def parse_slots(spec):
    """Build :class:`Slots` from the ``--cgroups`` JSON.

    ``{"slots": [{"name": .., "path": .., "procs": [fd, ..],
    "pids_current": fd|null, "kill": fd|null, "cpu_quota": {"fd": fd,
    "unlimited": "max"}|null, "oom": fd|null}, ..]}`` (the last three
    optional); an empty string means no slots.

    :raises ValueError: the JSON is not of that shape.
    """
    if not spec:
        return Slots([])
    data = json.loads(spec)
    slots = []
    for item in data.get("slots", []):
        procs = [int(fd) for fd in item["procs"]]
        if not procs:
            raise ValueError("a cgroup slot needs cgroup.procs descriptors")
        quota = item.get("cpu_quota")
        slots.append(Slot(
            str(item["name"]), str(item["path"]), procs,
            _optional_fd(item, "pids_current"), _optional_fd(item, "kill"),
            (int(quota["fd"]), str(quota["unlimited"])) if quota else None,
            _optional_fd(item, "oom")))
    return Slots(slots)


def _optional_fd(item, key):
    value = item.get(key)
    return None if value is None else int(value)


class Rlimits:
    """Limits of every execution child: rlimits, and the size of its result.

    :param nofile: open files.
    :param fsize: bytes of the largest file an execution may write.
    :param nproc: processes of the worker's user, 0 for no limit (only
        meaningful in a sandbox, where the user is the worker's own).
    :param memory: limit the address space to what the child has plus the
        execution's ``memory_size`` (when no memory cgroup does it).
    :param result_size: bytes of the largest result (its JSON text); 0 for
        no limit. Checked by the child and again by the server.
    """

    def __init__(self, nofile=DEFAULT_NOFILE, fsize=DEFAULT_FSIZE, nproc=0,
                 memory=False, result_size=DEFAULT_RESULT_SIZE):
        self.nofile = nofile
        self.fsize = fsize
        self.nproc = nproc
        self.memory = memory
        self.result_size = result_size

    def apply(self, params):
        """Lower the child's soft limits; called before user code.

        :param params: the /execute request body (``memory_size``).
        """
        _lower_soft_limit(resource.RLIMIT_NOFILE, self.nofile)
        _lower_soft_limit(resource.RLIMIT_FSIZE, self.fsize)
        if self.nproc:
            _lower_soft_limit(resource.RLIMIT_NPROC, self.nproc)
        memory_size = params.get("memory_size")
        if self.memory and isinstance(memory_size, int) and memory_size > 0:
            current = _address_space_size()
            if current:
                _lower_soft_limit(resource.RLIMIT_AS, current + memory_size)


def _lower_soft_limit(kind, value):
    soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    if soft == resource.RLIM_INFINITY or soft > value:
        resource.setrlimit(kind, (value, hard))


def _address_space_size():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0

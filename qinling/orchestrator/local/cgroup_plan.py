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
"""Where and how per-execution cgroups go: pure parsing and planning.

From ``/proc/self/mountinfo`` and ``/proc/self/cgroup``, find the
hierarchy (v1 or v2) that provides each of our controllers and the
directory our cgroups go under; and the (file, value) writes that give a
cgroup some limits with that version's file names. No file system access:
:mod:`.cgroups` does that.
"""

import dataclasses
import os

CONTROLLERS = ("memory", "cpu", "pids")
#: CFS period written with every CPU quota, in microseconds.
CPU_PERIOD = 100000
#: The smallest CFS quota the kernel accepts, in microseconds.
MIN_CPU_QUOTA = 1000


@dataclasses.dataclass(frozen=True)
class Mount:
    """A mounted cgroup hierarchy."""

    #: 1 or 2.
    version: int
    mountpoint: str
    #: the hierarchy path shown at the mountpoint (not "/" in containers).
    root: str
    #: v1: the controllers of this hierarchy; v2: empty.
    controllers: tuple


@dataclasses.dataclass(frozen=True)
class Hierarchy:
    """Where our cgroups go for some controllers."""

    version: int
    #: our controllers this hierarchy provides.
    controllers: tuple
    #: the directory our driver's root cgroup is created in.
    parent: str


@dataclasses.dataclass(frozen=True)
class Limits:
    """The limits of one execution."""

    memory: int
    millicpu: int
    processes: int


def parse_mountinfo(text):
    """Return the cgroup :class:`Mount` s listed in ``/proc/self/mountinfo``.

    A v1 hierarchy may be mounted several times; the first mount wins.
    """
    mounts, seen = [], set()
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, extra = left.split(), right.split()
        if len(fields) < 5 or len(extra) < 3:
            continue
        fstype, options = extra[0], extra[2].split(",")
        if fstype == "cgroup2":
            key, mount = "v2", Mount(2, _unescape(fields[4]),
                                     _unescape(fields[3]), ())
        elif fstype == "cgroup":
            controllers = tuple(c for c in options if c in CONTROLLERS)
            if not controllers:
                continue
            key = controllers
            mount = Mount(1, _unescape(fields[4]), _unescape(fields[3]),
                          controllers)
        else:
            continue
        if key not in seen:
            seen.add(key)
            mounts.append(mount)
    return mounts


def _unescape(path):
    return (path.replace("\\040", " ").replace("\\011", "\t")
            .replace("\\012", "\n").replace("\\134", "\\"))


def parse_membership(text):
    """Map each v1 controller (and ``""`` for v2) to this process's path.

    :param text: ``/proc/self/cgroup``.
    """
    paths = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        names = parts[1].split(",") if parts[1] else [""]
        for name in names:
            paths[name] = parts[2]
    return paths


def join(mount, path):
    """The directory of hierarchy ``path`` under ``mount``, or None."""
    root = mount.root.rstrip("/")
    if root and path != root and not path.startswith(root + "/"):
        return None
    return os.path.join(mount.mountpoint, path[len(root):].lstrip("/"))


def plan(mounts, membership, parent=None, v2_controllers=()):
    """Choose a hierarchy for each of our controllers.

    v1 wins where the host mounts a controller on v1 (a hybrid host); v2
    provides the rest if its parent cgroup offers them.

    :param mounts: from :func:`parse_mountinfo`.
    :param membership: from :func:`parse_membership`.
    :param parent: a hierarchy path to use instead of our own cgroup.
    :param v2_controllers: the controllers listed in the v2 parent's
        ``cgroup.controllers``.
    :returns: a list of :class:`Hierarchy`.
    """
    chosen, taken = [], set()
    for mount in mounts:
        if mount.version != 1:
            continue
        own = membership.get(mount.controllers[0])
        directory = join(mount, parent or own) if own is not None else None
        if directory:
            chosen.append(Hierarchy(1, mount.controllers, directory))
            taken.update(mount.controllers)
    v2 = [m for m in mounts if m.version == 2]
    if v2 and "" in membership:
        directory = join(v2[0], parent or membership[""])
        rest = tuple(c for c in CONTROLLERS
                     if c not in taken and c in v2_controllers)
        if directory and rest:
            chosen.append(Hierarchy(2, rest, directory))
    return chosen


def limit_writes(hierarchy, limits):
    """The (file, value) writes that give a slot ``limits``, in order.

    :param hierarchy: the slot's :class:`Hierarchy`.
    :param limits: a :class:`Limits`.
    """
    writes = []
    quota = max(MIN_CPU_QUOTA, limits.millicpu * CPU_PERIOD // 1000)
    for controller in hierarchy.controllers:
        if controller == "memory" and hierarchy.version == 1:
            writes.append(("memory.limit_in_bytes", str(limits.memory)))
        elif controller == "memory":
            writes += [("memory.max", str(limits.memory)),
                       ("memory.swap.max", "0")]
        elif controller == "cpu" and hierarchy.version == 1:
            writes += [("cpu.cfs_period_us", str(CPU_PERIOD)),
                       ("cpu.cfs_quota_us", str(quota))]
        elif controller == "cpu":
            writes.append(("cpu.max", f"{quota} {CPU_PERIOD}"))
        elif controller == "pids":
            writes.append(("pids.max", str(limits.processes)))
    return writes


def slot_files(hierarchy):
    """The files of a slot the runtime server is given descriptors of, to
    end an execution cleanly, beside ``cgroup.procs`` and ``pids.current``:

    * ``kill``: ``cgroup.kill`` (v2; writing ``1`` kills every process);
    * ``cpu_quota``: (the quota file, the value that lifts the quota):
      killed processes need CPU to exit;
    * ``oom``: where out-of-memory kills are counted (``oom_kill N``).

    :returns: {key: file name, or (file name, value) for ``cpu_quota``};
        a file the host lacks is skipped by the caller.
    """
    files = {}
    v2 = hierarchy.version == 2
    if v2:
        files["kill"] = "cgroup.kill"
    if "cpu" in hierarchy.controllers:
        files["cpu_quota"] = (("cpu.max", "max") if v2
                              else ("cpu.cfs_quota_us", "-1"))
    if "memory" in hierarchy.controllers:
        files["oom"] = "memory.events" if v2 else "memory.oom_control"
    return files

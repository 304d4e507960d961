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
"""Read processes from /proc: trees, command lines, CPU time and USS.

psutil is not a dependency; these few reads are all the benchmark needs.
Every function tolerates processes that end while they are being read.
"""

import collections
import os
import re
import struct
import time

#: An argument naming a runtime server script: qinling/runtimes/python3/
#: server.py on the host, /opt/qinling/runtime/server.py in a sandbox.
WORKER_SCRIPT = re.compile(r"runtime[^ ]*/server\.(py|js)$")
#: Wrappers whose command line names the runtime server they start.
WRAPPERS = ("bwrap", "bubblewrap")


def _stat_fields(pid):
    """The fields of /proc/<pid>/stat after the command name."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def _all_parents():
    """``{pid: ppid}`` of every live (non-zombie) process."""
    parents = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return parents
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            fields = _stat_fields(entry)
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":
            parents[int(entry)] = int(fields[1])
    return parents


def descendants(pid):
    """Every live descendant of ``pid``, parents before their children."""
    children = {}
    for child, parent in _all_parents().items():
        children.setdefault(parent, []).append(child)
    found, todo = [], list(children.get(pid, ()))
    while todo:
        child = todo.pop(0)
        found.append(child)
        todo.extend(children.get(child, ()))
    return found


def cmdline(pid):
    """The argv of a process; empty if it is gone."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return []
    return [arg.decode(errors="replace") for arg in raw.split(b"\0") if arg]


def alive(pid):
    try:
        return _stat_fields(pid)[0] != "Z"
    except (OSError, IndexError):
        return False


def cpu_ticks(pid):
    """User and system clock ticks of a process and its reaped children."""
    try:
        fields = _stat_fields(pid)
    except (OSError, IndexError):
        return 0
    return sum(int(v) for v in fields[11:15])


def cpu_seconds(pid, children=False):
    """CPU seconds a process used; with ``children``, also its reaped ones.

    0 if the process is gone.
    """
    try:
        fields = _stat_fields(pid)
    except (OSError, IndexError):
        return 0.0
    ticks = sum(int(v) for v in fields[11:15 if children else 13])
    return ticks / os.sysconf("SC_CLK_TCK")


def is_worker(argv):
    """Whether a command line runs a runtime server (not a sandbox)."""
    return (bool(argv) and os.path.basename(argv[0]) not in WRAPPERS
            and any(WORKER_SCRIPT.search(arg) for arg in argv[1:3]))


def identity(pid):
    """``(pid, start time)``: names a process even if its pid is reused.

    None if the process is gone (or a zombie).
    """
    try:
        fields = _stat_fields(pid)
        return None if fields[0] == "Z" else (pid, int(fields[19]))
    except (OSError, IndexError, ValueError):
        return None


def workers(server_pid):
    """Runtime workers under a service process.

    A worker is a descendant whose command line runs the Python runtime
    server (not a sandbox wrapper around it). The children a worker forks
    (its spare child and its executions) share its command line; they are
    not workers.

    :returns: ``{worker pid: [pids of its child processes]}``.
    """
    tree = descendants(server_pid)
    matching = {pid for pid in tree if is_worker(cmdline(pid))}
    parents = _all_parents()
    found = {}
    for pid in matching:
        if parents.get(pid) not in matching:
            found[pid] = []
    for pid in matching:
        parent = parents.get(pid)
        if parent in found:
            found[parent].append(pid)
    return found


def memory(pid):
    """USS, PSS and RSS of a process, in bytes; None if unreadable.

    USS (unique set size) is the memory freed if the process ended:
    Private_Clean + Private_Dirty of /proc/<pid>/smaps_rollup.
    """
    fields = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                key, _, value = line.partition(":")
                parts = value.split()
                if len(parts) == 2 and parts[1] == "kB":
                    fields[key] = int(parts[0]) * 1024
    except OSError:
        return None
    return {"uss": fields.get("Private_Clean", 0)
            + fields.get("Private_Dirty", 0),
            "pss": fields.get("Pss", 0), "rss": fields.get("Rss", 0)}


#: Mappings larger than this are reservations, not memory; skipped.
MAX_MAPPING = 4 << 30
_PRESENT = 1 << 63
_PFN_MASK = (1 << 55) - 1


def group_uss(pids):
    """Bytes of memory only the processes ``pids`` map: what the machine
    gets back when they all end.

    The USS of each would miss the pages they share only with one another
    (a process and the children it forked). Page frames come from
    ``/proc/<pid>/pagemap`` and their mapping counts from
    ``/proc/kpagecount``, which only a privileged user may read.

    :returns: bytes, or None when page frames cannot be read.
    """
    page = os.sysconf("SC_PAGE_SIZE")
    mapped = collections.Counter()
    try:
        for pid in pids:
            _count_frames(pid, page, mapped)
        with open("/proc/kpagecount", "rb") as counts:
            unique = 0
            for pfn, ours in mapped.items():
                counts.seek(pfn * 8)
                data = counts.read(8)
                if len(data) == 8 and struct.unpack("<Q", data)[0] <= ours:
                    unique += 1
    except (OSError, _NoFrames):
        return None
    return unique * page


class _NoFrames(Exception):
    """The kernel hides page frame numbers from this user."""


def _count_frames(pid, page, mapped):
    with open(f"/proc/{pid}/maps") as maps, \
            open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for line in maps:
            start, end = (int(x, 16) for x in line.split()[0].split("-"))
            if end - start > MAX_MAPPING:
                continue
            try:
                pagemap.seek(start // page * 8)
                data = pagemap.read((end - start) // page * 8)
            except OSError:
                continue  # e.g. [vsyscall]
            for (entry,) in struct.iter_unpack("<Q", data):
                if entry & _PRESENT:
                    pfn = entry & _PFN_MASK
                    if not pfn:
                        raise _NoFrames()
                    mapped[pfn] += 1


def settle(pids, expected_workers=None, timeout=10.0, window=0.1,
           max_ticks=1):
    """Wait until process trees are quiet: little CPU use for ``window``.

    :param pids: the roots of the trees (service processes).
    :param expected_workers: also wait until they have this many runtime
        workers in all.
    :param timeout: give up after this many seconds.
    :returns: True if the trees settled, False on timeout.
    """
    deadline = time.monotonic() + timeout

    def ticks():
        return sum(cpu_ticks(p) for root in pids
                   for p in [root] + descendants(root))

    before = ticks()
    while time.monotonic() < deadline:
        time.sleep(window)
        after = ticks()
        quiet = abs(after - before) <= max_ticks
        before = after
        if quiet and (expected_workers is None
                      or worker_count(pids) == expected_workers):
            return True
    return False


def worker_count(pids):
    return sum(len(workers(pid)) for pid in pids)

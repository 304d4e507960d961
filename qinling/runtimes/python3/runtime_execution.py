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
"""One execution of the Python 3 runtime, on the server's side.

Standard library only, nothing from ``qinling`` (see server.py). The server
forks a child (runtime_child.py runs the function in it), waits for its
result until the timeout and kills the child's process group. The child
reports its usage (``cpu_time``, ``memory_peak``) with its result, so the
answer does not wait for it to exit; reaping it and emptying its cgroup
slot happen in the background. A child that ends without a result is
reaped first, and its rusage gives the usage.

The answer names the true cause of a failure: the function's own
exception, the timeout, a result over the size limit, the memory limit (an
out-of-memory kill seen in the slot's memory events), the function's exit
status or the signal that killed it. When the execution ends, whatever it
started is killed with it; if processes are left in its slot, the answer
waits (a bounded time) until they are gone.

Between executions the server keeps one spare child (:class:`Spares`),
forked and moved into its cgroup slot ahead of time: moving a process into
a cgroup waits for a kernel grace period (10-20 ms) when no process moved
lately, which an execution would otherwise pay whenever it follows a quiet
moment.
"""

import contextlib
import json
import os
import queue
import select
import shutil
import signal
import tempfile
import threading
import time

import runtime_child

TIMEOUT_MESSAGE = "Function execution timeout."
RESOURCE_MESSAGE = ("Function execution failed because of too much "
                    "resource consumption")
STOPPED_MESSAGE = ("The worker running the execution was stopped before the "
                   "execution finished.")
RESULT_TOO_LARGE_MESSAGE = runtime_child.RESULT_TOO_LARGE_MESSAGE
EXITED_MESSAGE = ("The function's process exited with status {status} "
                  "before returning a result.")
KILLED_MESSAGE = ("The function's process was killed by signal {signal} "
                  "before returning a result.")
PIPE_CLOSED_MESSAGE = ("The function closed the descriptor its result is "
                       "reported on ([Errno 9] Bad file descriptor).")
#: Bytes of a result line beyond the result itself (success, usage).
RESULT_LINE_OVERHEAD = 4096
#: Seconds the answer waits for processes an execution left in its slot.
LEFTOVER_BUDGET = 5.0
MAX_LOG_BYTES = 1024 * 1024
#: Seconds a killed child gets to exit before the answer goes without it.
REAP_GRACE = 1.0
#: Seconds spent emptying a slot inline, and in the background.
CLEAN_BUDGET = 0.5
CLEAN_BUDGET_BACKGROUND = 60.0
#: Seconds between two looks for a free slot or a spare while every slot
#: is busy.
SLOT_POLL = 0.05



class Children:
    """Process groups of the running executions, killed at shutdown."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pids = set()
        #: set once the server shuts down; killed children report it.
        self.stopping = False

    def fork(self):
        """``os.fork()``; the parent registers the child at once, so that
        :meth:`reap_orphans` never takes an execution's child."""
        with self._lock:
            pid = os.fork()
            if pid:
                self._pids.add(pid)
            return pid

    def reap_orphans(self):
        """Reap exited processes that are not executions' children.

        Only needed as a sandbox's pid 1, which inherits every orphan.
        """
        me = os.getpid()
        with self._lock:
            for pid, ppid, state in _processes():
                if ppid == me and state == "Z" and pid not in self._pids:
                    try:
                        os.waitpid(pid, os.WNOHANG)
                    except ChildProcessError:
                        pass

    def discard(self, pid):
        with self._lock:
            self._pids.discard(pid)

    def kill_all(self):
        with self._lock:
            self.stopping = True
            for pid in self._pids:
                _kill_group(pid)


def _processes():
    """(pid, ppid, state) of every process this server can see."""
    found = []
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return found
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            found.append((int(entry), int(fields[1]), fields[0]))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def _open_pidfd(pid):
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None  # before Linux 5.3: poll with waitid instead


class ResultTooLarge(Exception):
    """The child's result line is longer than the limit allows."""


def _wait_for_child(pid, read_fd, deadline, limit=0):
    """Read the child's result until its line is complete, the child exits
    or the deadline passes.

    :param limit: the most bytes of a result line; 0 for no limit.
    :returns: (bytes read, True if the deadline passed first).
    :raises ResultTooLarge: the line grew past ``limit`` (the child checks
        its result itself: this is for one that wrote past it anyway).
    """
    pidfd = _open_pidfd(pid)
    chunks, reading, size = [], True, 0
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return b"".join(chunks), True
            watch = [read_fd] if reading else []
            if pidfd is not None:
                watch.append(pidfd)
            tick = remaining if pidfd is not None else min(remaining, 0.05)
            ready = select.select(watch, [], [], tick)[0]
            if read_fd in ready:
                chunk = os.read(read_fd, 65536)
                if chunk:
                    chunks.append(chunk)
                    if b"\n" in chunk:
                        return b"".join(chunks), False
                    size += len(chunk)
                    if limit and size > limit:
                        raise ResultTooLarge()
                else:
                    reading = False  # EOF; the child may still be running
                continue
            if pidfd in ready if pidfd is not None else _exited(pid):
                if reading:
                    chunks.append(_drain(read_fd))
                return b"".join(chunks), False
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _exited(pid):
    try:
        info = os.waitid(os.P_PID, pid,
                         os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None


def _drain(read_fd):
    os.set_blocking(read_fd, False)
    chunks = []
    try:
        while True:
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    except BlockingIOError:
        pass
    return b"".join(chunks)


def _read_logs(log_path):
    try:
        with open(log_path, "rb") as f:
            data = f.read(MAX_LOG_BYTES + 1)
            size = os.fstat(f.fileno()).st_size
    except OSError:
        return ""
    logs = data[:MAX_LOG_BYTES].decode("utf-8", errors="replace")
    if size > MAX_LOG_BYTES:
        logs += (f"\n[logs truncated: {MAX_LOG_BYTES} of {size} bytes "
                 "shown]\n")
    return logs


def _parse_result(data):
    """:returns: (success, output, the usage the child reported), or None
    if ``data`` holds no result line."""
    line = data.split(b"\n", 1)[0]
    if line:
        try:
            result = json.loads(line)
            return (bool(result["success"]), result["output"],
                    result.get("usage"))
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
    return None


def failure_message(status, oom_killed):
    """Why a child that gave no result failed.

    :param status: its wait status, or None if it has not exited yet.
    :param oom_killed: whether its slot saw an out-of-memory kill; None
        if the slot cannot tell (then any SIGKILL is taken for one, as
        upstream did).
    """
    if oom_killed or status is None:
        return RESOURCE_MESSAGE
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        if signum == signal.SIGKILL and oom_killed is None:
            return RESOURCE_MESSAGE
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = str(signum)
        return KILLED_MESSAGE.format(signal=name)
    code = os.waitstatus_to_exitcode(status)
    if code == runtime_child.EXIT_RESULT_PIPE_CLOSED:
        return PIPE_CLOSED_MESSAGE
    return EXITED_MESSAGE.format(status=code)


def _timed_out_waiting(start):
    return {"output": TIMEOUT_MESSAGE,
            "duration": round(time.monotonic() - start, 3), "logs": "",
            "success": False, "cpu_time": 0.0, "memory_peak": 0}


class Usage:
    """CPU seconds and peak memory bytes of an execution's child."""

    def __init__(self, cpu_time, memory_peak):
        self.cpu_time = cpu_time
        self.memory_peak = memory_peak

    @classmethod
    def of_rusage(cls, usage):
        return cls(usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)

    @classmethod
    def of_report(cls, report, pid):
        """What the child reported of itself, never below what /proc
        (in clock ticks) already says of it.

        :returns: a Usage, or None if the report is not one.
        """
        try:
            cpu = float(report["cpu_time"])
            peak = int(report["memory_peak"])
        except (TypeError, KeyError, ValueError, OverflowError):
            return None
        seen = cls.of_proc(pid)
        return cls(max(cpu, seen.cpu_time, 0.0),
                   max(peak, seen.memory_peak, 0))

    @classmethod
    def of_proc(cls, pid):
        """What /proc says of a child that is still dying."""
        cpu = peak = 0
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / os.sysconf(
                "SC_CLK_TCK")
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak = int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            pass
        return cls(cpu, peak)


def _reap(pid, grace):
    """Reap a killed child within ``grace`` seconds.

    Killed processes still need CPU to exit, and their slot's CPU quota
    may make that slow (a fork bomb); the answer does not wait for it.

    :returns: (its :class:`Usage`, its wait status), or (None, None) if it
        has not exited yet.
    """
    deadline = time.monotonic() + grace
    delay = 0.001
    while True:
        reaped, status, usage = os.wait4(pid, os.WNOHANG)
        if reaped:
            return Usage.of_rusage(usage), status
        if time.monotonic() >= deadline:
            return None, None
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


class Spare:
    """A child forked ahead of its execution, waiting for its order."""

    def __init__(self, pid, slot, order_fd, read_fd):
        self.pid = pid
        self.slot = slot
        #: where its order goes (see runtime_child.spare_main).
        self.order_fd = order_fd
        #: where its result comes from.
        self.read_fd = read_fd


class Spares:
    """Keeps one :class:`Spare` ready for the next execution.

    A thread of its own forks it when asked (:meth:`wanted`: at start and
    after each execution), so that forking never delays an answer. No
    spare is made while every cgroup slot is busy.
    """

    def __init__(self, children, slots, limits):
        self._children = children
        self._slots = slots
        self._limits = limits
        self._lock = threading.Lock()
        self._spare = None
        self._wanted = threading.Event()

    def start(self):
        threading.Thread(target=self._loop, name="spares",
                         daemon=True).start()
        self.wanted()

    def wanted(self):
        """Make a spare if there is none (soon, in the spares thread)."""
        self._wanted.set()

    def take(self):
        """The spare, now the caller's, or None."""
        with self._lock:
            spare, self._spare = self._spare, None
        return spare

    def _loop(self):
        while not self._children.stopping:
            self._wanted.wait()
            self._wanted.clear()
            while not self._children.stopping:
                with self._lock:
                    if self._spare is not None:
                        break
                ok, slot = self._slots.try_acquire()
                if not ok:
                    # Every slot is busy: look again when one may be free.
                    self._wanted.wait(SLOT_POLL)
                    self._wanted.clear()
                    continue
                spare = self._fork(slot)
                if spare is not None:
                    with self._lock:
                        self._spare = spare
                break

    def _fork(self, slot):
        try:
            order_r, order_w = os.pipe()
            read_fd, write_fd = os.pipe()
        except OSError:
            self._slots.release(slot, CLEAN_BUDGET)
            return None
        try:
            pid = self._children.fork()
        except OSError:
            for fd in (order_r, order_w, read_fd, write_fd):
                os.close(fd)
            self._slots.release(slot, CLEAN_BUDGET)
            return None
        if pid == 0:
            os.close(order_w)
            os.close(read_fd)
            runtime_child.spare_main(order_r, write_fd, slot, self._limits)
        os.close(order_r)
        os.close(write_fd)
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass  # the child did it first, or is already gone
        return Spare(pid, slot, order_w, read_fd)


def _acquire(slots, spares, deadline):
    """The spare child and its slot, or a free slot (spare None).

    While every slot is busy, the spare is looked for again now and then:
    it may have taken the slot this execution waited for.

    :raises queue.Empty: nothing came before the deadline.
    """
    while True:
        spare = spares.take() if spares is not None else None
        if spare is not None:
            return spare, spare.slot
        wait_until = deadline if spares is None else min(
            deadline, time.monotonic() + SLOT_POLL)
        try:
            return None, slots.acquire(wait_until)
        except queue.Empty:
            if time.monotonic() >= deadline:
                raise


def _hand_over(spare, params, func_dir, exec_dir, children):
    """Give a spare child its execution.

    :returns: (pid, the result pipe), or None if the spare is gone (it is
        then reaped, and its slot is the caller's).
    """
    order = json.dumps({"params": params, "func_dir": func_dir,
                        "exec_dir": exec_dir})
    try:
        runtime_child.write_all(spare.order_fd, order.encode() + b"\n")
    except OSError:
        os.close(spare.read_fd)
        _kill_group(spare.pid)
        try:
            os.waitpid(spare.pid, 0)
        except ChildProcessError:
            pass
        children.discard(spare.pid)
        return None
    finally:
        os.close(spare.order_fd)
    return spare.pid, spare.read_fd


def _fork(params, func_dir, exec_dir, slot, limits, children):
    """Fork the execution child; returns (pid, the result pipe)."""
    read_fd, write_fd = os.pipe()
    pid = children.fork()
    if pid == 0:
        os.close(read_fd)
        runtime_child.child_main(write_fd, params, func_dir, exec_dir,
                                 slot, limits)
    os.close(write_fd)
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass  # the child did it first, or is already gone
    return pid, read_fd


def _release_slot(slot, slots, children, dying, on_dirty):
    """Give the slot back once its processes are gone.

    Quick and inline in the normal case; in the background when the child
    is still dying or something it started is slow to die.

    :param dying: the pid of a killed child not reaped yet, or None.
    """
    if dying is None and slots.release(slot, CLEAN_BUDGET):
        return
    threading.Thread(target=_finish, args=(slot, slots, children, dying,
                                           on_dirty), daemon=True).start()


def _finish(slot, slots, children, dying, on_dirty):
    """Reap a killed child and give its slot back (or call ``on_dirty`` if
    the slot cannot be emptied)."""
    if dying is not None:
        _kill_group(dying)  # already done, unless the wait failed
        try:
            os.wait4(dying, 0)
        except ChildProcessError:
            pass
        children.discard(dying)
    if slot is None:
        return
    if not slots.release(slot, CLEAN_BUDGET) and not slots.release(
            slot, CLEAN_BUDGET_BACKGROUND):
        on_dirty()


def _stop_leftovers(slot, before_check):
    """Kill what an ended execution left in its slot, and wait (at most
    :data:`LEFTOVER_BUDGET`) until only its own, killed, child is left.

    Nothing to do, and one read, when the execution started nothing that
    outlived it.
    """
    if slot is None or (slot.process_count() or 0) <= 1:
        return
    deadline = time.monotonic() + LEFTOVER_BUDGET
    lifted = slot.lift_quota()
    try:
        while time.monotonic() < deadline:
            slot.kill_all()
            if before_check is not None:
                before_check()
            if (slot.process_count() or 0) <= 1:
                return
            time.sleep(0.01)
    finally:
        slot.restore_quota(lifted)


def _outcome(pid, data, timed_out, stopping, slot, children):
    """Turn what the child wrote into (success, output, usage, unreaped).

    ``unreaped`` is the child's pid if it is not reaped yet (it reported
    its own usage, or is still dying), None once it is.
    """
    parsed = None if timed_out else _parse_result(data)
    if parsed is not None:
        success, output, report = parsed
        usage = Usage.of_report(report, pid) if report is not None else None
        if usage is not None:
            return success, output, usage, pid
    usage, status = _reap(pid, REAP_GRACE)
    dying = None if usage is not None else pid
    if usage is None:
        usage = Usage.of_proc(pid)
    else:
        children.discard(pid)
    if parsed is not None:
        return parsed[0], parsed[1], usage, dying
    if timed_out:
        return False, TIMEOUT_MESSAGE, usage, dying
    if stopping:
        return False, STOPPED_MESSAGE, usage, dying
    oom = slot.was_oom_killed() if slot is not None else None
    return False, failure_message(status, oom), usage, dying


def _read_result(pid, read_fd, deadline, limits):
    """(data, timed out, output if the result was too large else None)."""
    limit = limits.result_size
    try:
        data, timed_out = _wait_for_child(
            pid, read_fd, deadline,
            limit + RESULT_LINE_OVERHEAD if limit else 0)
    except ResultTooLarge:
        return b"", False, RESULT_TOO_LARGE_MESSAGE.format(limit=limit)
    finally:
        os.close(read_fd)
    return data, timed_out, None


def run_execution(params, func_dir, children, slots, limits,
                  on_dirty=lambda: None, spares=None):
    """Fork a child, run the function in it and collect the result.

    The answer goes as soon as the child's result line arrives (and its
    directory is removed): the child reports its own usage, and reaping it
    and emptying its slot happen in the background, unless it left
    processes behind (they are killed first). A child that ends without a
    result (killed, timed out) is reaped first, for its usage and its
    exit status.

    :param params: the validated /execute body.
    :param func_dir: the function's code directory.
    :param children: the registry of running children.
    :param slots: the server's cgroup :class:`Slots` (possibly none).
    :param limits: the :class:`Rlimits` of every child.
    :param on_dirty: called if the execution's slot cannot be emptied (the
        worker should then be replaced).
    :param spares: the server's :class:`Spares`, if it keeps any.
    :returns: the /execute answer.
    """
    start = time.monotonic()
    deadline = start + params["timeout"]
    try:
        spare, slot = _acquire(slots, spares, deadline)
    except queue.Empty:
        return _timed_out_waiting(start)
    exec_dir = tempfile.mkdtemp(prefix="qinling-exec-")
    log_path = runtime_child.log_path(exec_dir)
    unreaped = None
    try:
        started = spare and _hand_over(spare, params, func_dir, exec_dir,
                                       children)
        pid, read_fd = started or _fork(params, func_dir, exec_dir, slot,
                                        limits, children)
        unreaped = pid
        data, timed_out, too_large = _read_result(pid, read_fd, deadline,
                                                  limits)
        # Kill leftovers in the group while the (possibly zombie) leader
        # still holds the group id; it is reaped afterwards.
        _kill_group(pid)
        _stop_leftovers(slot, slots.before_check)
        success, output, usage, unreaped = _outcome(
            pid, data, timed_out, children.stopping, slot, children)
        if too_large is not None:
            success, output = False, too_large
        duration = time.monotonic() - start
        logs = _read_logs(log_path)
    finally:
        shutil.rmtree(exec_dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.unlink(log_path)
        if unreaped is None:
            _release_slot(slot, slots, children, None, on_dirty)
        else:
            threading.Thread(target=_finish, args=(
                slot, slots, children, unreaped, on_dirty),
                daemon=True).start()
        if spares is not None:
            spares.wanted()
    return {"output": output, "duration": round(duration, 3),
            "logs": logs, "success": success,
            "cpu_time": round(usage.cpu_time, 3),
            "memory_peak": usage.memory_peak}

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
"""Memory: USS of idle warm workers and of the service processes."""

import os

from qinling.benchmark import baselines
from qinling.benchmark import procfs
from qinling.benchmark import stats

IDLE_WORKER = "idle worker (USS)"
SERVICE = "service {name} pid {pid} (USS)"


def _name(pid):
    argv = procfs.cmdline(pid)
    for arg in argv:
        base = os.path.basename(arg)
        if base.startswith("qinling-"):
            return base
    return os.path.basename(argv[0]) if argv else "?"


def measure(bench):
    """One row for the idle workers, one per service process.

    A worker is idle when it runs no execution: it has no child but the
    one spare child it keeps forked for its next execution. Its USS is
    then that of the two together (see procfs.group_uss). The baseline is
    an idle ``python3`` interpreter.
    """
    if not bench.pids:
        return [stats.skipped(IDLE_WORKER, "no service process on this "
                              "machine is known (use --service-pid)")]
    bench.settle()
    rows, usages = [], []
    for pid in bench.pids:
        for worker, children in sorted(procfs.workers(pid).items()):
            if len(children) > 1:
                continue
            usage = procfs.memory(worker)
            if usage is None:
                continue
            if children:
                usage = dict(usage, uss=procfs.group_uss([worker] +
                                                         children))
                if usage["uss"] is None:
                    continue
            usages.append(usage)
    if usages:
        rows.append(stats.summarize(
            IDLE_WORKER, [u["uss"] for u in usages], unit=stats.BYTES,
            baseline=baselines.IDLE_PYTHON,
            note="across the idle workers",
            rss=[u["rss"] for u in usages], pss=[u["pss"] for u in usages]))
    else:
        rows.append(stats.skipped(IDLE_WORKER, "no idle worker found, or "
                                  "page frames are not readable (run as "
                                  "root)"))
    for pid in bench.pids:
        usage = procfs.memory(pid)
        name = SERVICE.format(name=_name(pid), pid=pid)
        if usage is None:
            rows.append(stats.skipped(name, "smaps_rollup not readable"))
            continue
        rows.append(stats.summarize(name, [usage["uss"]], unit=stats.BYTES,
                                    baseline=baselines.IDLE_PYTHON,
                                    **usage))
    return rows

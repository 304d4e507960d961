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
"""The report: the machine, the rows, the targets; as a table or JSON."""

import json
import os
import platform

from qinling.benchmark import baselines
from qinling.benchmark import memory
from qinling.benchmark import scenarios
from qinling.benchmark import stats

MIB = 1024 * 1024


def machine():
    """What the numbers were measured on."""
    info = {"cpus": os.cpu_count(),
            "cpus_usable": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(), "cpu_model": None,
            "load_average": None, "memory_total": None}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
        info["load_average"] = list(os.getloadavg())
        with open("/proc/meminfo") as f:
            info["memory_total"] = int(f.readline().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return info


def _find(rows, name):
    for row in rows:
        if row.name == name and row.n:
            return row
    return None


def _startswith(rows, prefix):
    return [row for row in rows if row.name.startswith(prefix) and row.n]


def targets(rows):
    """The issue's targets, each with the measured value and pass/fail.

    Informational only: nothing fails because of them.

    :returns: a list of ``{"target", "measured", "ok"}``; ``ok`` is None
        when the scenario did not run.
    """
    warm = _find(rows, scenarios.WARM)
    cold = _find(rows, scenarios.COLD)
    rates = _startswith(rows, "throughput")
    pages = _startswith(rows, "list page")
    worker = _find(rows, memory.IDLE_WORKER)
    checks = []

    def check(target, row, value, limit, fmt):
        if row is None or value is None:
            checks.append({"target": target, "measured": None, "ok": None})
        else:
            checks.append({"target": target, "measured": fmt(value),
                           "ok": value <= limit})

    check("warm sync p50 <= 3 ms", warm, warm and warm.p50, 0.003, _time)
    check("warm sync p99 <= 10 ms", warm, warm and warm.p99, 0.010, _time)
    check("warm sync p50 <= 1.5 x fork + call p50", warm,
          warm and warm.ratio, 1.5, _ratio)
    check("cold start p50 <= 20 ms", cold, cold and cold.p50, 0.020, _time)
    through = rates[0] if rates else None
    if through is None or through.rate is None:
        checks.append({"target": "throughput >= 500 executions/s, no "
                       "errors", "measured": None, "ok": None})
    else:
        checks.append({
            "target": "throughput >= 500 executions/s, no errors",
            "measured": f"{through.rate:.0f}/s, {through.errors} errors",
            "ok": through.rate >= 500 and through.errors == 0})
    if len(pages) >= 2:
        largest, smallest = pages[-1], pages[0]
        check(f"{largest.name} p50 <= 1.5 x {smallest.name}", largest,
              largest.ratio, 1.5, _ratio)
    else:
        checks.append({"target": "list page at 1M rows p50 <= 1.5 x at 1k",
                       "measured": None, "ok": None})
    check("idle worker USS <= 10 MiB", worker, worker and worker.p50,
          10 * MIB, _bytes)
    return checks


def _time(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def _bytes(value):
    return f"{value / MIB:.1f} MiB"


def _ratio(value):
    return f"{value:.2f}x"


def _value(row, value):
    if value is None:
        return "-"
    return _bytes(value) if row.unit == stats.BYTES else _time(value)


def _table(header, lines):
    widths = [max(len(str(c)) for c in column)
              for column in zip(header, *lines, strict=True)]
    out = []
    for index, line in enumerate([header] + lines):
        cells = [str(c).ljust(w) if i == 0 else str(c).rjust(w)
                 for i, (c, w) in enumerate(zip(line, widths, strict=True))]
        out.append("  ".join(cells).rstrip())
        if index == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def table(document, rows):
    """The human-readable report."""
    m = document["machine"]
    text = [f"Qinling benchmark ({document['mode']}) against "
            f"{document['target']}",
            f"machine: {m['cpus_usable']} of {m['cpus']} cores"
            f" ({m['cpu_model'] or 'unknown CPU'}), "
            f"{m['implementation']} {m['python']}, {m['platform']}",
            f"load average at start: {m['load_average']}", ""]
    header = ("scenario", "n", "p50", "p90", "p99", "rate", "errors",
              "baseline", "ratio")
    lines = []
    for row in rows:
        lines.append((
            row.name, row.n, _value(row, row.p50), _value(row, row.p90),
            _value(row, row.p99),
            "-" if row.rate is None else f"{row.rate:.0f}/s",
            row.errors, row.baseline or "-",
            "-" if row.ratio is None else _ratio(row.ratio)))
    text.append(_table(header, lines))
    notes = [f"  {row.name}: {row.note}" for row in rows if row.note]
    if notes:
        text += ["", "notes:"] + notes
    text += ["", "targets (informational):"]
    for check in document["targets"]:
        mark = {True: "PASS", False: "FAIL", None: "n/a "}[check["ok"]]
        text.append(f"  [{mark}] {check['target']}: "
                    f"{check['measured'] or 'not measured'}")
    return "\n".join(text)


def document(mode, target, machine_info, rows, elapsed, extra=None):
    """The JSON report: machine, rows (baselines first), targets."""
    names = {baselines.IN_PROCESS, baselines.FORK, baselines.SPAWN,
             baselines.HTTP, baselines.IDLE_PYTHON}
    doc = {"version": 1, "mode": mode, "target": target,
           "machine": machine_info,
           "baselines": [r.to_dict() for r in rows if r.name in names],
           "scenarios": [r.to_dict() for r in rows if r.name not in names],
           "targets": targets(rows), "elapsed": round(elapsed, 2)}
    doc.update(extra or {})
    return doc


def dumps(doc):
    return json.dumps(doc, indent=2, sort_keys=True)


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
"""``qinling-benchmark --quick``: every scenario runs, nothing is left.

The benchmark starts its own all-in-one server, so this needs no fixture.
It asserts what the report holds and that the processes are gone; it never
asserts a timing.
"""

import json
import os
import signal
import subprocess
import sys

from qinling.benchmark import procfs
from qinling.benchmark import report
from qinling.benchmark import stats

SCRIPT = os.path.join(os.path.dirname(sys.executable), "qinling-benchmark")
BASELINES = {"in-process call", "fork + call", "python3 start + call",
             "loopback HTTP", "idle python3 (USS)"}
SCENARIO_PREFIXES = ("warm sync execution", "cold start (warm pool)",
                     "async: create to final status", "throughput: ",
                     "idle worker (USS)", "service qinling-server pid ",
                     "list page, 1k rows", "list page, 10k rows")


def _run_quick_benchmark(timeout=300):
    """Run the console script (or the module before it is installed)."""
    command = ([SCRIPT] if os.access(SCRIPT, os.X_OK)
               else [sys.executable, "-m", "qinling.benchmark"])
    proc = subprocess.Popen(command + ["--quick", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # it stops its server, then exits
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        raise AssertionError("the quick benchmark did not finish in %ss:\n%s"
                             % (timeout, err[-5000:]))
    assert proc.returncode == 0, err[-5000:]
    return json.loads(out), err


def _measured(row):
    return row["n"] > 0 and row["errors"] == 0 and not row["note"].startswith(
        ("skipped", "failed"))


def test_quick_benchmark_measures_every_scenario_and_leaves_nothing():
    document, log = _run_quick_benchmark()

    assert document["mode"] == "quick"
    assert document["machine"]["cpus"] >= 1
    baselines = {row["name"]: row for row in document["baselines"]}
    assert set(baselines) == BASELINES
    assert all(_measured(row) for row in baselines.values()), baselines
    scenarios = document["scenarios"]
    for prefix in SCENARIO_PREFIXES:
        rows = [row for row in scenarios if row["name"].startswith(prefix)]
        assert len(rows) == 1, (prefix, [r["name"] for r in scenarios])
        row = rows[0]
        assert _measured(row), row
        assert row["p50"] <= row["p90"] <= row["p99"], row
        assert row["baseline"] and row["ratio"] > 0, row
    warm = next(r for r in scenarios if r["name"] == "warm sync execution")
    assert warm["extra"]["service_cpu"] > 0, warm
    assert [t["ok"] in (True, False) for t in document["targets"]] == \
        [True] * 7, document["targets"]

    server_pid = document["server"]["pid"]
    assert not (procfs.alive(server_pid) and any(
        "qinling-server" in arg for arg in procfs.cmdline(server_pid))), log
    assert document["leftover_processes"] == [], log

    rows = [stats.Result(**row)
            for row in document["baselines"] + scenarios]
    text = report.table(document, rows)
    assert "warm sync execution" in text and "[PASS]" in text or \
        "[FAIL]" in text

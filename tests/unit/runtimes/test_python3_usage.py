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
"""The usage an execution child reports with its result."""

import importlib
import json
import os
import signal

import pytest

from qinling.runtimes.python3 import server  # noqa: F401 - sets sys.path

# The runtime's own modules, found through the sys.path server.py sets.
runtime_child = importlib.import_module("runtime_child")
runtime_execution = importlib.import_module("runtime_execution")


def test_the_child_reports_its_own_cpu_time_and_memory_peak():
    usage = runtime_child.own_usage()

    assert usage["cpu_time"] > 0
    assert usage["memory_peak"] > 1024 * 1024
    json.dumps(usage)


def test_a_result_line_carries_the_reported_usage():
    line = json.dumps({"success": True, "output": 3,
                       "usage": {"cpu_time": 0.5, "memory_peak": 7}})

    assert runtime_execution._parse_result(line.encode() + b"\n") == (
        True, 3, {"cpu_time": 0.5, "memory_peak": 7})


def test_a_result_line_without_usage_asks_for_reaping():
    line = json.dumps({"success": False, "output": "boom"})

    assert runtime_execution._parse_result(line.encode()) == (
        False, "boom", None)


def test_reported_usage_is_never_below_what_proc_shows():
    seen = runtime_execution.Usage.of_proc(os.getpid())

    usage = runtime_execution.Usage.of_report(
        {"cpu_time": 0.0, "memory_peak": 0}, os.getpid())

    assert usage.cpu_time >= seen.cpu_time
    assert usage.memory_peak >= seen.memory_peak > 0


@pytest.mark.parametrize("report", [
    None, "usage", {}, {"cpu_time": "a lot", "memory_peak": 1},
    {"cpu_time": 1.0}])
def test_a_report_that_is_not_usage_is_ignored(report):
    assert runtime_execution.Usage.of_report(report, os.getpid()) is None


def _exited(code):
    return code << 8


FAILURE_TABLE = [
    # (wait status, slot saw an OOM kill, message)
    (_exited(3), False, "The function's process exited with status 3 "
                        "before returning a result."),
    (_exited(3), None, "The function's process exited with status 3 "
                       "before returning a result."),
    (_exited(125), False, "The function closed the descriptor its result "
                          "is reported on ([Errno 9] Bad file descriptor)."),
    (signal.SIGSEGV, False, "The function's process was killed by signal "
                            "SIGSEGV before returning a result."),
    (signal.SIGKILL, False, "The function's process was killed by signal "
                            "SIGKILL before returning a result."),
    (signal.SIGKILL, True, runtime_execution.RESOURCE_MESSAGE),
    (signal.SIGKILL, None, runtime_execution.RESOURCE_MESSAGE),
    (None, None, runtime_execution.RESOURCE_MESSAGE),
]


@pytest.mark.parametrize("status, oom, message", FAILURE_TABLE)
def test_a_child_without_result_is_reported_as_what_ended_it(status, oom,
                                                             message):
    assert runtime_execution.failure_message(status, oom) == message

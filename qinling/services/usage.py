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
"""What a project used over a period: executions, CPU time and memory
time per function, from the executions' rows."""

import dataclasses
import typing

from qinling import context
from qinling.db import api as db_api


@dataclasses.dataclass
class FunctionUsage:
    function_id: str
    executions: int = 0
    #: seconds the executions ran.
    duration: float = 0.0
    #: CPU seconds (user + system) they used, where known.
    cpu_time: float = 0.0
    #: the memory limit times the duration, summed, in byte-seconds.
    memory_byte_seconds: float = 0.0


@dataclasses.dataclass
class Usage:
    project_id: str
    start: typing.Any
    end: typing.Any
    functions: typing.List[FunctionUsage]

    @property
    def total(self):
        total = FunctionUsage(function_id=None)
        for item in self.functions:
            total.executions += item.executions
            total.duration += item.duration
            total.cpu_time += item.cpu_time
            total.memory_byte_seconds += item.memory_byte_seconds
        return total


def summarize(project_id, start, end):
    """The usage of ``project_id`` by executions created in
    ``[start, end)`` that have ended, per function.

    :returns: a :class:`Usage`, functions sorted by id.
    """
    per_function = {}
    rows = db_api.execution_usage(context.admin_context(), project_id,
                                  start, end)
    for function_id, _version, cpu_time, result, memory_size in rows:
        item = per_function.setdefault(function_id,
                                       FunctionUsage(function_id))
        item.executions += 1
        duration = (result or {}).get("duration") \
            if isinstance(result, dict) else None
        if isinstance(duration, (int, float)) and duration > 0:
            item.duration += duration
            if memory_size:
                item.memory_byte_seconds += memory_size * duration
        if cpu_time:
            item.cpu_time += cpu_time
    return Usage(project_id, start, end,
                 [per_function[k] for k in sorted(per_function,
                                                  key=lambda k: k or "")])


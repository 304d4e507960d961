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
"""``/v1/usage``: what a project used over a period."""

import datetime

from oslo_utils import timeutils
import pecan
from pecan import rest
from wsme import types as wtypes

from qinling import exceptions
from qinling.api import acl
from qinling.api import errors
from qinling.services import usage as usage_service

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class FunctionUsage(wtypes.Base):
    function_id = wtypes.text
    executions = int
    duration = float
    cpu_time = float
    memory_byte_seconds = float

    @classmethod
    def from_usage(cls, item):
        return cls(function_id=item.function_id,
                   executions=item.executions,
                   duration=round(item.duration, 6),
                   cpu_time=round(item.cpu_time, 6),
                   memory_byte_seconds=round(item.memory_byte_seconds, 3))


class Usage(wtypes.Base):
    project_id = wtypes.text
    start = wtypes.text
    end = wtypes.text
    functions = [FunctionUsage]
    total = FunctionUsage


def _time(name, value, default):
    if value is None or value == "":
        return default
    try:
        return timeutils.normalize_time(timeutils.parse_isotime(value))
    except ValueError:
        raise exceptions.InputException(
            "Invalid %s: %r is not an ISO 8601 time such as "
            "2026-01-31T00:00:00Z." % (name, value))


def period(start, end, now):
    """``(start, end)`` as naive UTC datetimes; by default from the first
    of ``now``'s month to ``now``.

    :raises InputException: a time does not parse, or start is not before
        end.
    """
    end = _time("end", end, now)
    start = _time("start", start, datetime.datetime(end.year, end.month, 1))
    if start >= end:
        raise exceptions.InputException(
            "The start of the period must be before its end.")
    return start, end


class UsageController(rest.RestController):

    @errors.wsexpose(Usage, wtypes.text, wtypes.text, wtypes.text)
    def get_all(self, start=None, end=None, project_id=None):
        acl.enforce("usage:get")
        ctx = pecan.request.context
        if project_id and project_id != ctx.project_id:
            acl.enforce("usage:get:all_projects")
        begin, finish = period(start, end, timeutils.utcnow())
        usage = usage_service.summarize(project_id or ctx.project_id, begin,
                                        finish)
        total = FunctionUsage.from_usage(usage.total)
        total.function_id = wtypes.Unset
        return Usage(
            project_id=usage.project_id,
            start=begin.strftime(TIME_FORMAT),
            end=finish.strftime(TIME_FORMAT),
            functions=[FunctionUsage.from_usage(i) for i in usage.functions],
            total=total)

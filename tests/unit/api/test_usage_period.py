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
"""The period of ``GET /v1/usage``."""

import datetime

import pytest

from qinling import exceptions
from qinling.api.controllers.v1 import usage

NOW = datetime.datetime(2026, 12, 6, 20, 30, 0)


@pytest.mark.parametrize("start, end, period", [
    (None, None, (datetime.datetime(2026, 12, 1), NOW)),
    ("2026-11-01T00:00:00Z", None, (datetime.datetime(2026, 11, 1), NOW)),
    (None, "2026-10-15T12:00:00Z", (datetime.datetime(2026, 10, 1),
                                    datetime.datetime(2026, 10, 15, 12))),
    ("2026-01-01T02:00:00+02:00", "2026-01-02T00:00:00Z",
     (datetime.datetime(2026, 1, 1), datetime.datetime(2026, 1, 2))),
    ("", "", (datetime.datetime(2026, 12, 1), NOW)),
])
def test_period(start, end, period):
    assert usage.period(start, end, NOW) == period


@pytest.mark.parametrize("start, end, message", [
    ("last week", None, "Invalid start: 'last week' is not an ISO 8601 "
     "time such as 2026-01-31T00:00:00Z."),
    (None, "2026-13-01T00:00:00Z", "Invalid end: '2026-13-01T00:00:00Z' "
     "is not an ISO 8601 time such as 2026-01-31T00:00:00Z."),
    ("2026-12-01T00:00:00Z", "2026-12-01T00:00:00Z",
     "The start of the period must be before its end."),
    ("2026-12-07T00:00:00Z", None,
     "The start of the period must be before its end."),
])
def test_bad_period(start, end, message):
    with pytest.raises(exceptions.InputException) as raised:
        usage.period(start, end, NOW)
    assert raised.value.message == message

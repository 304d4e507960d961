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
"""The payloads of the usage notifications."""

import datetime
import types

import pytest

from qinling import context
from qinling import notifications


class Recorder:
    def __init__(self):
        self.sent = []

    def put(self, ctx, event_type, payload):
        self.sent.append((event_type, payload))


@pytest.fixture
def sent(monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(notifications, "_sender", recorder)
    return recorder.sent


def _loaded(version=None, function=True):
    execution = types.SimpleNamespace(
        id="exe-1", project_id="proj-1", function_id="fn-1",
        function_version=version.version_number if version else 0,
        function_alias=None, sync=True,
        created_at=datetime.datetime(2026, 12, 6, 10, 0, 0))
    fn = types.SimpleNamespace(runtime_id="rt-1",
                               memory_size=64 * 1024 * 1024) \
        if function else None
    return types.SimpleNamespace(execution=execution, function=fn,
                                 version=version)


FINAL = {"status": "success", "result": {"output": "ok", "duration": 0.5},
         "cpu_time": 0.25, "memory_peak": 10_000_000,
         "updated_at": datetime.datetime(2026, 12, 6, 10, 0, 1)}


def test_execution_end_carries_what_a_bill_rates(sent):
    ctx = context.Context(project_id="proj-1", user_id="user-1")

    notifications.execution_ended(ctx, _loaded(), FINAL)

    ((event_type, payload),) = sent
    assert event_type == "execution.end"
    assert payload == {
        "execution_id": "exe-1", "resource_id": "exe-1",
        "project_id": "proj-1", "user_id": "user-1",
        "function_id": "fn-1", "function_version": 0,
        "function_alias": None, "runtime_id": "rt-1", "status": "success",
        "sync": True, "created_at": "2026-12-06T10:00:00",
        "ended_at": "2026-12-06T10:00:01", "duration": 0.5,
        "cpu_time": 0.25, "memory_peak": 10_000_000,
        "memory_size": 64 * 1024 * 1024,
        "memory_byte_seconds": 32 * 1024 * 1024}


def test_a_version_bills_its_own_memory_limit(sent):
    version = types.SimpleNamespace(version_number=2,
                                    memory_size=32 * 1024 * 1024)

    notifications.execution_ended(context.Context(), _loaded(version),
                                  FINAL)

    payload = sent[0][1]
    assert payload["function_version"] == 2
    assert payload["memory_byte_seconds"] == 16 * 1024 * 1024


def test_an_execution_of_a_deleted_function_has_no_memory_time(sent):
    final = dict(FINAL, status="error",
                 result={"output": "Function not found"})

    notifications.execution_ended(context.Context(),
                                  _loaded(function=False), final)

    payload = sent[0][1]
    assert payload["status"] == "error"
    assert payload["runtime_id"] is None
    assert payload["duration"] is None
    assert payload["memory_byte_seconds"] is None


def test_nothing_is_built_when_notifications_are_off(monkeypatch):
    monkeypatch.setattr(notifications, "_sender", None)

    notifications.execution_ended(context.Context(), None, FINAL)

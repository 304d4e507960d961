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
"""Runtime → function → executions → logs, on every deployment."""

import json

from tests.functional import api as api_client


def _function(api, sample="hello_world", **fields):
    runtime = api.create_runtime()
    assert runtime["status"] == "available", runtime
    return api.create_function(runtime["id"], api_client.sample_zip(sample),
                               **fields)


def test_sync_execution_returns_the_function_output_and_log(any_api):
    function = _function(any_api, name="hello")

    execution = any_api.execute(function["id"], input='{"name": "Qinling"}')

    assert execution["status"] == "success"
    result = json.loads(execution["result"])
    assert result["output"] == "Hello, Qinling"
    assert result["duration"] >= 0
    log = any_api.get("/v1/executions/%s/log" % execution["id"])
    assert log.status_code == 200
    assert log.headers["Content-Type"].startswith("text/plain")
    assert "Hello, Qinling" in log.text


def test_async_execution_starts_running_and_ends_in_success(any_api):
    function = _function(any_api)

    execution = any_api.execute(function["id"], sync=False)

    assert execution["status"] == "running"
    assert execution["sync"] is False
    final = any_api.wait_execution(execution["id"])
    assert final["status"] == "success"
    assert json.loads(final["result"])["output"] == "Hello, World"


def test_function_exception_fails_the_execution_with_the_traceback(any_api):
    function = _function(any_api, sample="failing")

    execution = any_api.execute(function["id"])

    assert execution["status"] == "failed"
    assert json.loads(execution["result"])["output"] == \
        "this function always fails"
    log = any_api.get("/v1/executions/%s/log" % execution["id"]).text
    assert "about to fail" in log
    assert "Traceback" in log and "ValueError" in log


def test_execution_past_its_timeout_fails_and_the_function_runs_again(
        any_api):
    function = _function(any_api, sample="sleepy", timeout=1)

    execution = any_api.execute(function["id"], input='{"seconds": 5}')

    assert execution["status"] == "failed"
    assert json.loads(execution["result"])["output"] == \
        "Function execution timeout."
    again = any_api.execute(function["id"], input='{"seconds": 0}')
    assert again["status"] == "success"

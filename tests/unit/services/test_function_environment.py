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
"""Which function environments are accepted, and how they are stored."""

import pytest

from qinling import exceptions
from qinling.orchestrator import base
from qinling.orchestrator import worker_client
from qinling.services import functions


@pytest.mark.parametrize("given, stored", [
    (None, None),
    ("", None),
    ("{}", None),
    ({}, None),
    ('{"A": "1"}', {"A": "1"}),
    ({"_a1": ""}, {"_a1": ""}),
    ({"DB_HOST": "db.example.org"}, {"DB_HOST": "db.example.org"}),
    # Reserved names are matched exactly; only the prefix is any case.
    ({"MY_PATH": "x", "PATHS": "y"}, {"MY_PATH": "x", "PATHS": "y"}),
])
def test_accepted_environments(conf, given, stored):
    assert functions._environment(conf, given) == stored


@pytest.mark.parametrize("given, message", [
    ("[1]", "Invalid environment: expected a JSON object"),
    ("{nope", "Invalid environment: expected a JSON object"),
    (["A"], "Invalid environment: expected a JSON object"),
    ({"": "x"}, "Invalid environment variable name ''"),
    ({"9A": "x"}, "Invalid environment variable name '9A'"),
    ({"A B": "x"}, "Invalid environment variable name 'A B'"),
    ({"A\n": "x"}, "Invalid environment variable name 'A\\n'"),
    ({"É": "x"}, "Invalid environment variable name 'É'"),
    ({"PATH": "x"}, "'PATH': the name is reserved"),
    ({"NODE_OPTIONS": "x"}, "'NODE_OPTIONS': the name is reserved"),
    ({"LD_LIBRARY_PATH": "x"}, "'LD_LIBRARY_PATH': the name is reserved"),
    ({"qinling_x": "x"}, "'qinling_x': the name is reserved"),
    ({"A": 1}, "Invalid value of environment variable A: expected a string"),
    ({"A": None}, "Invalid value of environment variable A"),
    ({"A": ["x"]}, "Invalid value of environment variable A"),
    ({"A": "a\x00b"}, "it contains a NUL character"),
])
def test_refused_environments(conf, given, message):
    with pytest.raises(exceptions.InputException) as e:
        functions._environment(conf, given)
    assert message in e.value.message


def test_the_size_counts_utf8_bytes_of_names_and_values(conf):
    conf.set_override("max_environment_size", 10, group="resource_limits")
    assert functions._environment(conf, {"AB": "é" * 4}) == {"AB": "é" * 4}
    with pytest.raises(exceptions.InputException) as e:
        functions._environment(conf, {"AB": "é" * 4 + "x"})
    assert e.value.message == (
        "The environment takes 11 bytes, more than the limit of 10 bytes "
        "(names and values).")


def _spec():
    return base.FunctionSpec(
        function_id="f", function_version=0, runtime_id="r",
        project_id="p", entry="main.main", timeout=5, cpu=100,
        memory_size=1, package_path="/p.zip", package_md5="m")


def test_the_execute_body_carries_the_environment_only_when_set():
    with_env = worker_client.request_body(_spec(), base.ExecutionRequest(
        execution_id="e", input=None, environment={"A": "1"}))
    without = worker_client.request_body(_spec(), base.ExecutionRequest(
        execution_id="e", input=None))
    assert with_env["environment"] == {"A": "1"}
    assert "environment" not in without

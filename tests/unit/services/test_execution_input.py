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
"""How an execution's ``input`` is stored and shown: a decision table."""

import pytest

from qinling.services import executions

RAW = executions.RAW_INPUT_KEY


@pytest.mark.parametrize("given, stored", [
    (None, None),
    ("", None),
    ('{"a": 1}', {"a": 1}),
    ({"a": 1}, {"a": 1}),
    ("plain text", {RAW: "plain text"}),
    ("42", {RAW: "42"}),
    ("1.5", {RAW: "1.5"}),
    ("true", {RAW: "true"}),
    ("[1, 2]", {RAW: "[1, 2]"}),
    ('"quoted"', {RAW: '"quoted"'}),
    ([1, 2], {RAW: "[1, 2]"}),
    (7, {RAW: "7"}),
    ("{not json", {RAW: "{not json"}),
])
def test_input_is_stored_as_kwargs_or_one_raw_string(given, stored):
    assert executions.parse_input(given) == stored


@pytest.mark.parametrize("stored, shown", [
    (None, None),
    ({RAW: "plain text"}, "plain text"),
    ({"a": 1}, '{"a": 1}'),
])
def test_stored_input_is_shown_as_the_caller_wrote_it(stored, shown):
    assert executions.render_input(stored) == shown

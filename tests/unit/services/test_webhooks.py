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
"""Which function a webhook runs after an update: a decision table."""

import types

import pytest

from qinling.services import webhooks


def webhook(function_id="f1", version=0, alias=None):
    return types.SimpleNamespace(function_id=function_id,
                                 function_version=version,
                                 function_alias=alias)


@pytest.mark.parametrize("current, changes, target", [
    (webhook(), {"description": "d"}, None),
    (webhook(alias="prod", function_id=None, version=None),
     {"description": "d"}, None),
    (webhook(), {"function_version": 2},
     {"function_id": "f1", "function_version": 2}),
    (webhook(version=2), {"function_id": "f2"},
     {"function_id": "f2", "function_version": 0}),
    (webhook(version=2), {"function_id": "f1"},
     {"function_id": "f1", "function_version": 2}),
    (webhook(version=None), {"function_id": "f1"},
     {"function_id": "f1", "function_version": None}),
    (webhook(), {"function_id": "f2", "function_version": 3},
     {"function_id": "f2", "function_version": 3}),
    (webhook(), {"function_alias": "prod"},
     {"function_alias": "prod", "function_id": None,
      "function_version": None}),
    (webhook(alias="prod", function_id=None, version=None),
     {"function_id": "f2"}, {"function_id": "f2", "function_version": 0}),
    (webhook(alias="prod", function_id=None, version=None),
     {"function_version": 1}, {"function_id": None, "function_version": 1}),
])
def test_update_target(current, changes, target):
    assert webhooks.plan_target(current, changes) == target

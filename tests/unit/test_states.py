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
"""The status tables: allowed moves pass, every other move is refused."""

import itertools

import pytest

from qinling import exceptions
from qinling import states

EXECUTION_STATES = (states.RUNNING, states.SUCCESS, states.FAILED,
                    states.ERROR)


@pytest.mark.parametrize("current, new", list(itertools.product(
    EXECUTION_STATES, EXECUTION_STATES)))
def test_an_execution_only_ever_leaves_running(current, new):
    allowed = current == states.RUNNING and new != states.RUNNING
    if allowed:
        states.check_transition(states.EXECUTION_TRANSITIONS, current, new)
    else:
        with pytest.raises(exceptions.ConflictException):
            states.check_transition(states.EXECUTION_TRANSITIONS, current,
                                    new)


def test_a_final_execution_status_is_final():
    for status in states.EXECUTION_FINAL:
        assert not any(src == status
                       for src, _dst in states.EXECUTION_TRANSITIONS)


@pytest.mark.parametrize("current, new, allowed", [
    (states.CREATING, states.AVAILABLE, True),
    (states.CREATING, states.ERROR, True),
    (states.AVAILABLE, states.DELETING, True),
    (states.ERROR, states.DELETING, True),
    (states.DELETING, states.AVAILABLE, False),
    (states.UPGRADING, states.DELETING, False),
])
def test_runtime_transitions(current, new, allowed):
    if allowed:
        states.check_transition(states.RUNTIME_TRANSITIONS, current, new)
    else:
        with pytest.raises(exceptions.ConflictException):
            states.check_transition(states.RUNTIME_TRANSITIONS, current, new)

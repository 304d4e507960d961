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
"""Statuses of runtimes and executions, and the transitions between them.

Each table lists ``(from, to): what triggers it``. Code that changes a
status checks the move with :func:`check_transition` so an illegal move is a
bug caught at once, not a row in a state nobody handles.
"""

from qinling import exceptions

# Runtime statuses (upstream's names).
CREATING = "creating"
AVAILABLE = "available"
UPGRADING = "upgrading"
ERROR = "error"
DELETING = "deleting"

# Execution statuses (upstream's names).
RUNNING = "running"
SUCCESS = "success"
FAILED = "failed"
# ERROR is shared with runtimes: the platform, not the function, failed.

# Job statuses (upstream's names).
JOB_RUNNING = "running"
JOB_PAUSED = "paused"
JOB_DONE = "done"
JOB_CANCELLED = "cancelled"

RUNTIME_TRANSITIONS = {
    (CREATING, AVAILABLE): "the engine created the runtime's worker pool",
    (CREATING, ERROR): "the engine could not create the pool",
    (AVAILABLE, CREATING): "an engine restarts and re-creates the pool",
    (ERROR, CREATING): "an engine restarts and retries the pool",
    (AVAILABLE, UPGRADING): "an admin changes the runtime's image",
    (UPGRADING, AVAILABLE): "the pool was updated or rolled back",
    (AVAILABLE, DELETING): "an admin deletes the runtime",
    (ERROR, DELETING): "an admin deletes the runtime",
    (CREATING, DELETING): "an admin deletes the runtime",
}

EXECUTION_TRANSITIONS = {
    (RUNNING, SUCCESS): "the worker ran the function and it returned",
    (RUNNING, FAILED): "the function raised, timed out or broke a limit",
    (RUNNING, ERROR): "no worker could run it, or the engine was lost",
}

EXECUTION_FINAL = frozenset((SUCCESS, FAILED, ERROR))

JOB_TRANSITIONS = {
    (JOB_RUNNING, JOB_PAUSED): "the owner pauses the job",
    (JOB_PAUSED, JOB_RUNNING): "the owner resumes the job",
    (JOB_RUNNING, JOB_CANCELLED): "the owner cancels the job",
    (JOB_PAUSED, JOB_CANCELLED): "the owner cancels the job",
    (JOB_RUNNING, JOB_DONE): "the scheduler fired the job's last run",
}

JOB_FINAL = frozenset((JOB_DONE, JOB_CANCELLED))


def check_transition(table, current, new):
    """Raise ConflictException unless ``current -> new`` is in ``table``."""
    if (current, new) not in table:
        raise exceptions.ConflictException(
            "Cannot change status from %s to %s." % (current, new))

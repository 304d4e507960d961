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
"""When a function version gets more or fewer workers: pure decisions.

The engine owns worker assignment; these functions decide, the engine
applies the decision through the orchestrator driver. Upstream Qinling's
semantics (reference section 2.2 and 2.4) are kept exactly, because
clients and tempest rely on them: three concurrent calls on a fresh
function end on one worker, six on two.
"""


def needs_worker(running, workers, concurrency):
    """Whether a function version needs one more worker now.

    :param running: its executions running in this engine, including the
        one being started.
    :param workers: its workers now.
    :param concurrency: ``[engine]function_concurrency``.
    :returns: True when it has no worker, or more running executions per
        worker than ``concurrency``.
    """
    if workers == 0:
        return True
    return running / workers > concurrency


def scale_down_count(workers, requested):
    """How many workers a scale-down releases: never the last one.

    :param workers: the function version's workers now.
    :param requested: the ``count`` asked for.
    """
    if workers <= 1 or requested <= 0:
        return 0
    return min(requested, workers - 1)


def is_idle(running, last_used, now, expiration):
    """Whether a function version's workers have been idle long enough.

    :param running: its executions running now.
    :param last_used: when it last ran or was scaled (monotonic seconds).
    :param now: monotonic seconds.
    :param expiration: ``[engine]function_service_expiration``.
    """
    return running == 0 and now - last_used >= expiration

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
"""When an asynchronous execution runs again, and the reasons it ends.

An engine claims an execution for one attempt at a time (see
:mod:`qinling.engine.dispatcher`). An attempt of an asynchronous execution
that fails (the function failed, the platform could not run it, or the
engine stopped while it ran) is retried while the function's
``retry_attempts`` allow, each retry waiting twice as long as the one
before, and never past the function's ``max_event_age``. Synchronous
executions are never retried: their caller already has the answer.

Pure decisions over the execution's counters; the engine applies them.
"""

import datetime

#: an engine's lease on a running execution lapsed.
INTERRUPTED = "The engine stopped while the execution ran."
#: an engine's lease lapsed and the execution waits for its next attempt.
INTERRUPTED_RETRY = "The engine running the execution stopped; it will be " \
    "retried."
#: engines kept stopping after claiming an execution, before it started.
UNCLAIMED = ("The execution never started: the %d engines that claimed it "
             "stopped before it reached a worker.")
#: claims of an asynchronous execution that may lapse before it reaches a
#: worker; it then ends (an execution that stops every engine claiming it
#: must not stop them all).
MAX_UNSTARTED_CLAIMS = 3
#: a queued execution waited longer than its function allows.
TOO_OLD = ("The execution never started: it waited longer than its "
           "function's max_event_age (%d seconds).")


def next_attempt(sync, attempts, retry_attempts, created_at, max_event_age,
                 now, backoff):
    """When a failed attempt of an execution runs again.

    :param attempts: the attempts made so far, the failed one included.
    :param retry_attempts: the function's retries (0 to 2).
    :param max_event_age: the function's bound in seconds, or None.
    :param backoff: seconds before the first retry.
    :returns: the datetime from which the next attempt may be claimed, or
        None if the execution ends now.
    """
    if sync or attempts > retry_attempts:
        return None
    at = now + datetime.timedelta(seconds=backoff * 2 ** (attempts - 1))
    if max_event_age is not None and \
            at - created_at > datetime.timedelta(seconds=max_event_age):
        return None
    return at


def too_old(sync, attempts, created_at, max_event_age, now):
    """Whether a just claimed execution must end instead of starting: an
    asynchronous execution older than its function's ``max_event_age``
    at its first attempt."""
    return (not sync and attempts == 1 and max_event_age is not None
            and now - created_at > datetime.timedelta(seconds=max_event_age))


def after_lapse(sync, started, attempts, retry_attempts, created_at,
                max_event_age, now, backoff):
    """What becomes of an execution whose engine's lease lapsed.

    An asynchronous attempt that had not reached a worker never ran: it
    is queued again at once, while its claims that never started are
    fewer than ``MAX_UNSTARTED_CLAIMS`` (every claim counts as an
    attempt, so such a claim also spends one of the function's retries).
    One that had reached a worker is retried as :func:`next_attempt`
    says.

    :returns: (when to claim it again or None, the output it ends with
        or shows until then).
    """
    if not sync and not started:
        if attempts - retry_attempts < MAX_UNSTARTED_CLAIMS:
            return now, INTERRUPTED_RETRY
        return None, UNCLAIMED % attempts
    at = next_attempt(sync, attempts, retry_attempts, created_at,
                      max_event_age, now, backoff)
    return at, INTERRUPTED_RETRY if at is not None else INTERRUPTED

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
"""What this engine knows of each function version's load, in memory.

Running executions are counted per ``(function_id, version)`` here, not in
the database: this engine's workers serve this engine's executions, and
the count must be exact at the moment of a scaling decision. Each key has
a lock so that one decision (count, compare, scale up) happens at a time.
"""

import contextlib
import threading
import time

from qinling.engine import scaling


class LoadTracker:
    """Thread-safe running counts, last use and decision locks.

    :param clock: returns monotonic seconds (tests pass their own).
    """

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._running = {}
        self._last_used = {}
        self._key_locks = {}

    @contextlib.contextmanager
    def running(self, key):
        """Count an execution of ``key`` as running while in the block."""
        with self._lock:
            self._running[key] = self._running.get(key, 0) + 1
            self._last_used[key] = self._clock()
        try:
            yield
        finally:
            with self._lock:
                self._running[key] -= 1
                if not self._running[key]:
                    del self._running[key]
                self._last_used[key] = self._clock()

    def count(self, key):
        """Executions of ``key`` running now."""
        with self._lock:
            return self._running.get(key, 0)

    def decision_lock(self, key):
        """The lock held while deciding and applying ``key``'s scaling."""
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def touch(self, key):
        """Note that ``key``'s workers were just used or added."""
        with self._lock:
            self._last_used[key] = self._clock()

    def idle(self, expiration):
        """The keys idle for ``expiration`` seconds or more."""
        now = self._clock()
        with self._lock:
            return [key for key, last in self._last_used.items()
                    if scaling.is_idle(self._running.get(key, 0), last, now,
                                       expiration)]

    def forget(self, key):
        """Drop what is known of ``key`` (its workers are gone)."""
        with self._lock:
            self._last_used.pop(key, None)
            if key not in self._running:
                self._key_locks.pop(key, None)

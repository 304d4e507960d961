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
"""Threads of the local driver: parallel work and background tasks."""

import threading

from oslo_log import log as logging

from qinling import exceptions
from qinling.orchestrator.local import process

LOG = logging.getLogger(__name__)


def in_parallel(func, items):
    """Call ``func(item)`` for each item in its own thread; wait for all.

    :returns: one error (an OrchestratorException) or None per item.
    """
    errors = [None] * len(items)

    def call(index, item):
        try:
            func(item)
        except exceptions.OrchestratorException as e:
            LOG.warning("%s", e)
            errors[index] = e
        except Exception as e:
            LOG.exception("Local worker operation failed")
            errors[index] = exceptions.OrchestratorException(
                f"Local worker operation failed: {e}")

    if len(items) == 1:
        call(0, items[0])
        return errors
    threads = [threading.Thread(target=call, args=(i, item), daemon=True)
               for i, item in enumerate(items)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def stop_all(procs):
    """Stop worker processes, in parallel."""
    if procs:
        in_parallel(process.stop, list(procs))


class Tasks:
    """Work run in the background that :meth:`wait` waits for."""

    def __init__(self):
        self._lock = threading.Lock()
        self._threads = set()
        self._stopping = threading.Event()

    def run(self, target, items, delay=0):
        """Run ``target(items)`` in a thread, unless there are no items.

        :param delay: seconds to wait first; :meth:`wait` cuts it short.
        """
        if not items:
            return

        def run():
            try:
                if delay:
                    self._stopping.wait(delay)
                target(items)
            except Exception:
                LOG.exception("Background pool work failed")
            finally:
                with self._lock:
                    self._threads.discard(thread)

        thread = threading.Thread(target=run, daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def wait(self):
        """Wait for every task, including tasks started meanwhile (delayed
        ones start at once)."""
        self._stopping.set()
        while True:
            with self._lock:
                threads = [t for t in self._threads
                           if t is not threading.current_thread()]
            if not threads:
                return
            for thread in threads:
                thread.join()

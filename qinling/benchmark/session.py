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
"""What the scenarios share: the deployment, its processes, the settings."""

import dataclasses
import sys
import time

from qinling.benchmark import client
from qinling.benchmark import procfs


@dataclasses.dataclass
class Settings:
    """How much to measure; ``--quick`` and the full run differ here."""

    warm: int = 500
    cold: int = 20
    async_: int = 100
    #: async executions of the flood scenario, and the other function's
    #: sync executions timed before and during it.
    flood: int = 500
    flood_sync: int = 100
    clients: int = 8
    duration: float = 10.0
    warmup: float = 2.0
    list_sizes: tuple = (1_000, 100_000, 1_000_000)
    list_requests: int = 50
    page_size: int = 50
    in_process: int = 10_000
    fork: int = 300
    spawn: int = 20
    http: int = 500
    #: the most seconds one scenario may take (throughput: its duration).
    budget: float = 120.0
    #: seconds to wait for quiet between steps when no pid is known.
    settle: float = 1.0
    pool_size: int = 3
    scenarios: tuple = ("warm", "cold", "async", "throughput", "flood",
                        "memory", "list")


QUICK = dict(warm=30, cold=3, async_=10, flood=60, flood_sync=15,
             clients=2, duration=1.0,
             warmup=0.3, list_sizes=(1_000, 10_000), list_requests=10,
             in_process=1_000, fork=30, spawn=3, http=50, budget=30.0)


class Bench:
    """A deployment under test.

    :param url: the API's base URL.
    :param settings: a :class:`Settings`.
    :param pids: service processes on this machine (memory, settling).
    :param database_url: where to seed execution rows; None to skip.
    :param project_id: the project seeded rows belong to.
    :param headers: sent with every API request.
    """

    def __init__(self, url, settings, pids=(), database_url=None,
                 project_id="default", headers=None):
        self.url = url
        self.settings = settings
        self.pids = list(pids)
        self.database_url = database_url
        self.project_id = project_id
        self.headers = dict(headers or {})
        self.runtime_id = None
        self.function_id = None
        #: delete what the benchmark created (function, runtime, seeded
        #: rows) at the end; not needed in a throw-away server.
        self.cleanup = True
        self._start = time.monotonic()

    def api(self):
        """A new API client on its own keep-alive connection."""
        return client.Api(client.Connection(self.url, self.headers))

    def worker_count(self):
        """Runtime workers under the known service processes, or None."""
        return procfs.worker_count(self.pids) if self.pids else None

    def settle(self, expected_workers=None, timeout=10.0):
        """Wait until the service is quiet (or a fixed time without pids).

        :returns: False if it did not settle in ``timeout`` seconds.
        """
        if not self.pids:
            time.sleep(self.settings.settle)
            return True
        return procfs.settle(self.pids, expected_workers, timeout)

    def cpu(self):
        """CPU seconds used so far: (service processes, their workers).

        A worker's count includes the execution children it reaped.
        None when no service process is known.
        """
        if not self.pids:
            return None
        service = sum(procfs.cpu_seconds(pid) for pid in self.pids)
        workers = sum(procfs.cpu_seconds(worker, children=True)
                      for pid in self.pids for worker in procfs.workers(pid))
        return service, workers

    def cpu_per_execution(self, before, executions):
        """CPU per execution since ``before`` (from :meth:`cpu`).

        :returns: ``({"service_cpu": s, "workers_cpu": s}, note)``, both
            empty without known pids or executions.
        """
        after = self.cpu()
        if before is None or after is None or not executions:
            return {}, ""
        service = (after[0] - before[0]) / executions
        workers = (after[1] - before[1]) / executions
        note = (f"CPU per execution: service {service * 1e3:.1f} ms, "
                f"workers {workers * 1e3:.1f} ms")
        return {"service_cpu": service, "workers_cpu": workers}, note

    def progress(self, message):
        elapsed = time.monotonic() - self._start
        print(f"[{elapsed:7.1f}s] {message}", file=sys.stderr, flush=True)


class Deadline:
    """A loop bound in count and in time."""

    def __init__(self, count, seconds):
        self.count = count
        self.end = time.monotonic() + seconds
        self.done = 0

    def more(self):
        return self.done < self.count and time.monotonic() < self.end

    def note(self):
        if self.done < self.count:
            return (f"stopped after {self.done} of {self.count} "
                    "iterations: time budget spent")
        return ""


def rate(samples):
    """Operations per second of one sequential caller."""
    total = sum(samples)
    return len(samples) / total if total else None



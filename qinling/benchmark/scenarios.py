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
"""The execution scenarios: warm sync, cold start, async, throughput, and
another function's sync latency during an async flood.

Every loop is bound by a count and by the settings' time budget. Only
successful executions give latency samples; anything else is an error.
"""

import contextlib
import threading
import time

from qinling.benchmark import baselines
from qinling.benchmark import client
from qinling.benchmark import session
from qinling.benchmark import stats

WARM = "warm sync execution"
COLD = "cold start (warm pool)"
ASYNC = "async: create to final status"
THROUGHPUT = "throughput: {clients} clients"
UNLOADED = "flood: other function sync, unloaded"
FLOODED = "flood: other function sync, {count} async queued"


def warm_sync(bench):
    """Sequential sync executions of a function that already has a worker.

    Baseline: fork + call, the least a fresh child per execution costs.
    """
    settings, api = bench.settings, bench.api()
    try:
        for _ in range(3):  # the first may be the function's cold start
            api.execute(bench.function_id)
        bench.settle()
        samples, errors = [], 0
        loop = session.Deadline(settings.warm, settings.budget)
        cpu = bench.cpu()
        while loop.more():
            start = time.perf_counter()
            status, execution = api.execute(bench.function_id)
            elapsed = time.perf_counter() - start
            loop.done += 1
            if client.succeeded(status, execution):
                samples.append(elapsed)
            else:
                errors += 1
        cpu, cpu_note = bench.cpu_per_execution(cpu, loop.done)
    finally:
        api.conn.close()
    return stats.summarize(WARM, samples, errors=errors,
                           rate=session.rate(samples),
                           baseline=baselines.FORK,
                           note=" ".join(filter(None, (cpu_note,
                                                       loop.note()))),
                           **cpu)


def cold_start(bench):
    """A new function's first execution, the runtime's pool being full.

    Each round creates a function, waits until the service is quiet, times
    its first sync execution, deletes it and waits for the pool to refill.
    Baseline: starting python3 to call the function.
    """
    settings, api = bench.settings, bench.api()
    package = client.make_package()
    samples, errors, unsettled = [], 0, 0
    try:
        bench.settle()
        expected = bench.worker_count()
        loop = session.Deadline(settings.cold, settings.budget)
        while loop.more():
            function = api.create_function(
                bench.runtime_id, package, name=f"benchmark-cold-{loop.done}")
            try:
                unsettled += not bench.settle(expected)
                start = time.perf_counter()
                status, execution = api.execute(function["id"])
                elapsed = time.perf_counter() - start
            finally:
                loop.done += 1
                with contextlib.suppress(Exception):  # best effort
                    api.delete_function(function["id"])
            if client.succeeded(status, execution):
                samples.append(elapsed)
            else:
                errors += 1
            unsettled += not bench.settle(expected)
    finally:
        api.conn.close()
    note = loop.note()
    if unsettled:
        note += f" {unsettled} waits for a quiet pool timed out"
    return stats.summarize(COLD, samples, errors=errors,
                           baseline=baselines.SPAWN, note=note.strip())


def async_final(bench, poll_interval=0.005):
    """From creating an async execution to reading its final status.

    The client polls the execution every ``poll_interval`` seconds, so a
    sample may include up to one interval of waiting.
    """
    settings, api = bench.settings, bench.api()
    samples, errors = [], 0
    try:
        bench.settle()
        loop = session.Deadline(settings.async_, settings.budget)
        while loop.more():
            start = time.perf_counter()
            status, execution = api.execute(bench.function_id, sync=False)
            loop.done += 1
            if status != 201 or not isinstance(execution, dict):
                errors += 1
                continue
            while (execution.get("status") == "running"
                   and time.monotonic() < loop.end):
                time.sleep(poll_interval)
                _, execution = api.get_execution(execution["id"])
                execution = execution or {}
            elapsed = time.perf_counter() - start
            if execution.get("status") == "success":
                samples.append(elapsed)
            else:
                errors += 1
    finally:
        api.conn.close()
    return stats.summarize(ASYNC, samples, errors=errors,
                           rate=session.rate(samples),
                           baseline=baselines.FORK,
                           note=f"polled every {poll_interval * 1000:g} ms")


def _hammer(bench, seconds, samples, errors):
    """Run ``settings.clients`` threads of sync executions for a while.

    Each thread appends to its own list in ``samples`` and ``errors``.
    :returns: the seconds the threads actually ran.
    """
    go, apis = threading.Event(), []
    window = {}

    def client_loop(index):
        api = apis[index]
        go.wait()
        while time.monotonic() < window["end"]:
            start = time.perf_counter()
            try:
                status, execution = api.execute(bench.function_id)
            except Exception:  # a failed request is an error, go on
                api.conn.close()
                status, execution = None, None
            if client.succeeded(status, execution):
                samples[index].append(time.perf_counter() - start)
            else:
                errors[index] += 1

    threads = []
    try:
        for index in range(bench.settings.clients):
            apis.append(bench.api())
            apis[-1].conn.request("GET", "/")  # connect before the start
            threads.append(threading.Thread(target=client_loop,
                                            args=(index,), daemon=True))
            threads[-1].start()
        window["end"] = time.monotonic() + seconds
        started = time.monotonic()
        go.set()
        for thread in threads:
            thread.join(seconds + 120)
        return time.monotonic() - started
    finally:
        window.setdefault("end", 0)
        go.set()
        for api in apis:
            api.conn.close()


def throughput(bench):
    """Clients doing sync executions back to back for a fixed time.

    A warm-up period first lets the function scale to its steady number of
    workers. The rate counts successful executions per second.
    """
    settings = bench.settings
    clients = settings.clients
    if settings.warmup > 0:
        _hammer(bench, settings.warmup, [[] for _ in range(clients)],
                [0] * clients)
        bench.settle()
    samples, errors = [[] for _ in range(clients)], [0] * clients
    cpu = bench.cpu()
    elapsed = _hammer(bench, settings.duration, samples, errors)
    flat = [s for per_client in samples for s in per_client]
    cpu, cpu_note = bench.cpu_per_execution(cpu, len(flat) + sum(errors))
    return stats.summarize(THROUGHPUT.format(clients=clients), flat,
                           errors=sum(errors),
                           rate=len(flat) / elapsed if elapsed else None,
                           baseline=baselines.FORK,
                           note=f"{settings.duration:g}s after a "
                                f"{settings.warmup:g}s warm-up. {cpu_note}"
                                .strip(), **cpu)


def _flood(bench, count, answers, stop):
    """Create up to ``count`` async executions of the benchmark function
    from a few threads, counting the answers by status code."""
    left, lock, apis = [count], threading.Lock(), []

    def flood_loop(api):
        while not stop.is_set():
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            try:
                status, _ = api.execute(bench.function_id, sync=False)
            except Exception:  # a failed request counts, go on
                api.conn.close()
                status = None
            with lock:
                answers[status] = answers.get(status, 0) + 1

    threads = []
    for _ in range(4):
        apis.append(bench.api())
        threads.append(threading.Thread(target=flood_loop, args=(apis[-1],),
                                        daemon=True))
        threads[-1].start()
    return threads, apis


def _sync_samples(api, function_id, loop, samples):
    """Sequential sync executions until ``loop`` says stop; the errors."""
    errors = 0
    while loop.more():
        start = time.perf_counter()
        status, execution = api.execute(function_id)
        loop.done += 1
        if client.succeeded(status, execution):
            samples.append(time.perf_counter() - start)
        else:
            errors += 1
    return errors


def flood(bench):
    """Another function's sync executions, unloaded and then while the
    benchmark function gets ``settings.flood`` async executions at once.

    Without auth both functions are in the project ``default``; the
    flooded function's backlog is bounded by
    ``[executions]max_pending_per_function`` (its 429 answers are
    counted), and the other function's sync calls do not wait behind it.
    The second row's ratio is its p50 over the first's.
    """
    settings, api = bench.settings, bench.api()
    other = api.create_function(bench.runtime_id, client.make_package(),
                                name="benchmark-other")
    stop, answers = threading.Event(), {}
    threads, apis = [], []
    try:
        for _ in range(3):  # the other function's cold start
            api.execute(other["id"])
        bench.settle()
        unloaded = []
        errors = _sync_samples(api, other["id"], session.Deadline(
            settings.flood_sync, settings.budget), unloaded)
        rows = [stats.summarize(UNLOADED, unloaded, errors=errors,
                                baseline=WARM)]
        threads, apis = _flood(bench, settings.flood, answers, stop)
        loaded = []
        errors = _sync_samples(api, other["id"], session.Deadline(
            settings.flood_sync, settings.budget), loaded)
        for thread in threads:
            thread.join(settings.budget)
        refused = answers.get(429, 0)
        failed = sum(n for code, n in answers.items()
                     if code not in (201, 429))
        rows.append(stats.summarize(
            FLOODED.format(count=settings.flood), loaded,
            errors=errors + failed, baseline=UNLOADED,
            note=f"async answers: {answers.get(201, 0)} accepted, "
                 f"{refused} refused with 429, {failed} other"))
        return rows
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
        for flood_api in apis:
            flood_api.conn.close()
        with contextlib.suppress(Exception):
            api.delete_function(other["id"])
        api.conn.close()

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
"""Listing executions: one filtered page at growing table sizes.

The page is ``GET /v1/executions?function_id=<F>&status=success&limit=50``
where F owns 1% of the rows (see :mod:`.seed`): the filter an operator's
dashboard makes, and one the ``executions_function_id_idx`` index can
serve. The same page is measured after the table grew to each size; the
first size's page is the baseline of the others, and the loopback HTTP
round trip is the baseline of the first.
"""

import json
import time

from qinling.benchmark import baselines
from qinling.benchmark import seed
from qinling.benchmark import session
from qinling.benchmark import stats

NAME = "list page, {size} rows"
#: unmeasured requests before each size's samples.
WARM_UP = 5


def size_label(size):
    for unit, div in (("M", 1_000_000), ("k", 1_000)):
        if size >= div and size % div == 0:
            return f"{size // div}{unit}"
    return str(size)


def _page(bench, api, path):
    """Measure ``path``; a page that is not full is an error."""
    settings = bench.settings
    bench.settle()  # seeding made the database busy (WAL checkpoints)
    for _ in range(WARM_UP):  # warm the server's and the database's caches
        api.conn.request("GET", path)
    samples, errors = [], 0
    loop = session.Deadline(settings.list_requests, settings.budget)
    while loop.more():
        start = time.perf_counter()
        status, data = api.conn.request("GET", path)
        elapsed = time.perf_counter() - start
        loop.done += 1
        try:
            page = json.loads(data)["executions"] if status == 200 else []
        except (ValueError, KeyError, TypeError):
            page = []
        if len(page) == settings.page_size:
            samples.append(elapsed)
        else:
            errors += 1
    return samples, errors, loop.note()


def measure(bench):
    """One row per table size."""
    settings = bench.settings
    names = [NAME.format(size=size_label(s)) for s in settings.list_sizes]
    if not bench.database_url:
        return [stats.skipped(n, "no database to seed (use "
                              "--database-connection)") for n in names]
    seeder = seed.Seeder(bench.database_url, bench.project_id)
    api, rows = bench.api(), []
    path = (f"/v1/executions?function_id={seeder.page_function}"
            f"&status=success&limit={settings.page_size}")
    try:
        for size, name in zip(settings.list_sizes, names, strict=True):
            bench.progress(f"seeding to {size} execution rows")
            start = time.monotonic()
            complete = seeder.grow(size, deadline=start + 10 * settings.budget)
            seeded = time.monotonic() - start
            if not complete:
                rows.append(stats.skipped(name, f"seeding stopped at "
                                          f"{seeder.rows} rows: too slow"))
                break
            bench.progress(f"seeded in {seeded:.1f}s; listing")
            samples, errors, note = _page(bench, api, path)
            baseline = names[0] if rows else baselines.HTTP
            rows.append(stats.summarize(
                name, samples, errors=errors, rate=session.rate(samples),
                baseline=baseline, note=note, seed_seconds=round(seeded, 2),
                page_function_rows=seeder.page_function_rows))
    finally:
        api.conn.close()
        try:
            if bench.cleanup:
                bench.progress("deleting the seeded rows")
                seeder.delete()
        finally:
            seeder.close()
    return rows

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
"""Seed execution rows straight into a deployment's database.

The rows go through the ``executions`` table of
:mod:`qinling.db.sqlalchemy.models`: its columns, its INSERT statement and
its types' bind processors, so the schema has one source. They are
inserted with executemany in chunks, one transaction per chunk. On SQLite
the values are converted by the column types once, not once per row, and
handed to the driver directly: a million rows take well under a minute.

One function, the *page function*, owns 1% of the rows (at least 100, so a
page of 50 is always full); 99 others share the rest. 90% of the rows are
``success``. Creation times go back from yesterday in insertion order, five
rows per 13 seconds, as in a table that grew over time (a million rows span
about thirty days). The seeded function ids exist only in these rows, so
the rows can be deleted again afterwards.
"""

import datetime
import os
import random
import time
import uuid

import sqlalchemy as sa

from qinling.db.sqlalchemy import models

NOISE_FUNCTIONS = 99
#: Rows are created back in time from yesterday, this many per creation
#: time, one time every STEP: a million rows span about thirty days.
ROWS_PER_TIME = 5
STEP = datetime.timedelta(seconds=13)
RESULT = {"output": None, "duration": 0.001}


def page_rows(total):
    """How many of ``total`` rows belong to the page function."""
    return max(total // 100, 100)


def _sqlite_pragmas(dbapi_connection, connection_record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA cache_size=-524288")  # 512 MiB for the inserts
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _ids(count):
    """``count`` random ids in the form of UUIDs, quickly."""
    raw = os.urandom(16 * count).hex()
    return [f"{raw[i:i + 8]}-{raw[i + 8:i + 12]}-{raw[i + 12:i + 16]}-"
            f"{raw[i + 16:i + 20]}-{raw[i + 20:i + 32]}"
            for i in range(0, 32 * count, 32)]


class Seeder:
    """Grows the executions table of one project to given sizes.

    :param database_url: an SQLAlchemy URL of the deployment's database.
    :param project_id: the project owning the rows.
    :param seed: seeds the random generator, for repeatable data.
    """

    def __init__(self, database_url, project_id, seed=5):
        self.engine = sa.create_engine(database_url)
        self.dialect = self.engine.dialect
        self._raw = self.dialect.name == "sqlite"
        if self._raw:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self.table = models.Execution.__table__
        self.rng = random.Random(seed)
        self.page_function = str(uuid.uuid4())
        self.functions = [str(uuid.uuid4()) for _ in range(NOISE_FUNCTIONS)]
        self.rows = 0
        self.page_function_rows = 0
        self.chunk = 50_000 if self._raw else 10_000
        self._newest = datetime.datetime.now(datetime.timezone.utc).replace(
            tzinfo=None, microsecond=0) - datetime.timedelta(days=1)
        self._times = []
        self._columns = [column.name for column in self.table.columns]
        self._constants = {
            name: self._default(name) for name in self._columns}
        self._constants.update({
            "project_id": project_id, "function_version": 0,
            "function_alias": None, "sync": True, "input": None,
            "result": RESULT, "description": None, "logs": "",
            "cpu_time": 0.001, "memory_peak": 10 << 20})
        if self._raw:
            self._prepare_raw()

    def _default(self, name):
        default = self.table.c[name].default
        return default.arg if default is not None and default.is_scalar \
            else None

    def _bind(self, name, value):
        """``value`` as the driver gets it, by the column's own type."""
        column = self.table.c[name]
        process = column.type.dialect_impl(self.dialect).bind_processor(
            self.dialect)
        return process(value) if process else value

    def _prepare_raw(self):
        compiled = self.table.insert().compile(
            dialect=self.dialect, column_keys=self._columns)
        self._sql = str(compiled)
        self._order = list(compiled.positiontup)
        self._constants = {name: self._bind(name, value)
                           for name, value in self._constants.items()}

    def _time(self, n):
        """(created_at, updated_at) of the n-th seeded row, as bound.

        Later rows are older: each step inserts below what is there, as
        the index pages of a table growing in time order would see.
        """
        index = n // ROWS_PER_TIME
        while len(self._times) <= index:
            created = self._newest - STEP * len(self._times)
            updated = created + datetime.timedelta(milliseconds=3)
            if self._raw:
                created = self._bind("created_at", created)
                updated = self._bind("updated_at", updated)
            self._times.append((created, updated))
        return self._times[index]

    def _make_rows(self, count, page_positions, first):
        rng, functions = self.rng, self.functions
        rows = []
        for i, row_id in enumerate(_ids(count), start=first):
            if i in page_positions:
                function_id = self.page_function
                self.page_function_rows += 1
            else:
                function_id = functions[int(rng.random() * len(functions))]
            created, updated = self._time(self.rows + i - first)
            status = "success" if rng.random() < 0.9 else (
                "failed" if rng.random() < 0.5 else "error")
            rows.append(dict(self._constants, id=row_id, status=status,
                             function_id=function_id, created_at=created,
                             updated_at=updated))
        if self._raw:
            order = self._order
            return [tuple(row[name] for name in order) for row in rows]
        return rows

    def grow(self, total, deadline=None):
        """Insert rows until ``total`` rows were seeded.

        :param deadline: a ``time.monotonic()`` value to stop at.
        :returns: False if the deadline stopped it early.
        """
        add = total - self.rows
        if add <= 0:
            return True
        page_add = min(add, max(0, page_rows(total) - self.page_function_rows))
        page_positions = set(self.rng.sample(range(add), page_add))
        insert = self.table.insert()
        for first in range(0, add, self.chunk):
            if deadline is not None and time.monotonic() > deadline:
                return False
            count = min(self.chunk, add - first)
            rows = self._make_rows(count, page_positions, first)
            with self.engine.begin() as conn:
                if self._raw:
                    conn.exec_driver_sql(self._sql, rows)
                else:
                    conn.execute(insert, rows)
            self.rows += count
        return True

    def delete(self):
        """Delete every seeded row."""
        column = self.table.c.function_id
        for function_id in [self.page_function] + self.functions:
            with self.engine.begin() as conn:
                conn.execute(self.table.delete().where(column == function_id))

    def close(self):
        self.engine.dispose()

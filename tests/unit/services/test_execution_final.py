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
"""A sync execution's row, completed from what the engine wrote."""

import datetime

from qinling.db.sqlalchemy import models
from qinling.services import executions


def test_the_created_row_gets_the_final_columns_the_engine_wrote():
    row = models.Execution(id="e", status="running", sync=True, logs=None)
    final = {"status": "success", "result": {"output": 1, "duration": 0.2},
             "logs": "hello\n", "cpu_time": 0.01, "memory_peak": 4096,
             "updated_at": "2030-01-02T03:04:05.678901"}

    done = executions.finished(row, final)

    assert done is row
    assert (row.status, row.result, row.logs, row.cpu_time,
            row.memory_peak) == ("success", {"output": 1, "duration": 0.2},
                                 "hello\n", 0.01, 4096)
    assert row.updated_at == datetime.datetime(2030, 1, 2, 3, 4, 5, 678901)

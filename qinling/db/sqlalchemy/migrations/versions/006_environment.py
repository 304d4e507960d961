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
"""Environment variables of functions, snapshotted by their versions.

``environment`` is a JSON object of names to string values, or NULL for
a function (or version) that sets none.

Revision ID: 006
Revises: 005
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

from qinling.db.sqlalchemy import types

revision = "006"
down_revision = "005"
branch_labels = None
depends_on = None


def upgrade():
    for table in ("functions", "function_versions"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("environment", types.JsonEncoded))


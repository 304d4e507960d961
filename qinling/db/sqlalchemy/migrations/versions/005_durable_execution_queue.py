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
"""Executions as a durable queue; async retries and a dead letter.

An execution is claimed by one engine at a time (``engine_id``) for a
lease it renews while it runs (``lease_expires_at``); ``attempts`` counts
the claims, ``started_at`` tells an attempt that reached a worker, and
``available_at`` holds a retried execution back until its back-off has
passed. A function says how often its failed asynchronous
executions are retried (``retry_attempts``), how old a queued one may get
(``max_event_age``) and where its final failures go (``on_failure``).
Engines write a heartbeat in ``engines``, so that a synchronous execution
with no engine alive is refused at once.

Revision ID: 005
Revises: 004
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

revision = "005"
down_revision = "004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("executions") as batch:
        batch.add_column(sa.Column("engine_id", sa.String(255)))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime))
        batch.add_column(sa.Column("available_at", sa.DateTime))
        batch.add_column(sa.Column("started_at", sa.DateTime))
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False,
                                   server_default="0"))
        batch.create_index("executions_engine_id_idx", ["engine_id"])
        # The back-pressure counts, on every execution created.
        batch.create_index("executions_function_id_status_idx",
                           ["function_id", "status"])
        batch.create_index("executions_project_id_status_idx",
                           ["project_id", "status"])
    with op.batch_alter_table("functions") as batch:
        batch.add_column(sa.Column("retry_attempts", sa.Integer,
                                   nullable=False, server_default="0"))
        batch.add_column(sa.Column("max_event_age", sa.Integer))
        batch.add_column(sa.Column("on_failure", sa.String(255)))
    op.create_table(
        "engines",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("heartbeat_at", sa.DateTime, nullable=False),
        mysql_charset="utf8mb4",
    )

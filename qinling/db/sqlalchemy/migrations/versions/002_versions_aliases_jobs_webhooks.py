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
"""Function versions and aliases, jobs, webhooks, execution accounting.

Revision ID: 002
Revises: 001
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa

from qinling.db.sqlalchemy import types

revision = "002"
down_revision = "001"
branch_labels = None
depends_on = None

TABLE_KW = {"mysql_charset": "utf8mb4"}


def _common():
    return [
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime),
        sa.Column("updated_at", sa.DateTime),
    ]


def upgrade():
    op.create_table(
        "function_versions", *_common(),
        sa.Column("function_id", sa.String(36),
                  sa.ForeignKey("functions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("description", sa.String(255)),
        sa.Column("version_number", sa.Integer, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("code", types.JsonEncoded, nullable=False),
        sa.Column("entry", sa.String(80)),
        sa.Column("cpu", sa.Integer, nullable=False),
        sa.Column("memory_size", sa.BigInteger, nullable=False),
        sa.Column("timeout", sa.Integer, nullable=False),
        sa.UniqueConstraint("function_id", "version_number",
                            name="function_versions_function_version_uc"),
        **TABLE_KW)
    op.create_table(
        "function_aliases", *_common(),
        sa.Column("function_id", sa.String(36),
                  sa.ForeignKey("functions.id"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.String(255)),
        sa.Column("function_version", sa.Integer, nullable=False),
        sa.UniqueConstraint("project_id", "name",
                            name="function_aliases_project_name_uc"),
        **TABLE_KW)
    op.create_table(
        "jobs", *_common(),
        sa.Column("name", sa.String(255)),
        sa.Column("pattern", sa.String(255)),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("first_execution_time", sa.DateTime),
        sa.Column("next_execution_time", sa.DateTime, nullable=False),
        sa.Column("count", sa.Integer),
        sa.Column("function_id", sa.String(36),
                  sa.ForeignKey("functions.id")),
        sa.Column("function_version", sa.Integer, nullable=False),
        sa.Column("function_alias", sa.String(255)),
        sa.Column("function_input", sa.Text),
        **TABLE_KW)
    op.create_index("jobs_status_next_execution_time_idx", "jobs",
                    ["status", "next_execution_time"])
    op.create_table(
        "webhooks", *_common(),
        sa.Column("function_id", sa.String(36),
                  sa.ForeignKey("functions.id")),
        sa.Column("function_version", sa.Integer),
        sa.Column("function_alias", sa.String(255)),
        sa.Column("description", sa.String(255)),
        **TABLE_KW)
    with op.batch_alter_table("executions") as batch:
        batch.add_column(sa.Column("cpu_time", sa.Float))
        batch.add_column(sa.Column("memory_peak", sa.BigInteger))

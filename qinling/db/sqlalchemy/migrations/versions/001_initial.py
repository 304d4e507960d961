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
"""Runtimes, functions and executions.

Revision ID: 001
Revises:
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa

from qinling.db.sqlalchemy import types

revision = "001"
down_revision = None
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
        "runtimes", *_common(),
        sa.Column("name", sa.String(255)),
        sa.Column("description", sa.String(255)),
        sa.Column("image", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_reason", sa.Text),
        sa.Column("is_public", sa.Boolean, nullable=False),
        sa.Column("trusted", sa.Boolean, nullable=False),
        **TABLE_KW)
    op.create_table(
        "functions", *_common(),
        sa.Column("name", sa.String(255)),
        sa.Column("description", sa.String(255)),
        sa.Column("runtime_id", sa.String(36),
                  sa.ForeignKey("runtimes.id")),
        sa.Column("cpu", sa.Integer, nullable=False),
        sa.Column("memory_size", sa.BigInteger, nullable=False),
        sa.Column("timeout", sa.Integer, nullable=False),
        sa.Column("code", types.JsonEncoded, nullable=False),
        sa.Column("entry", sa.String(80)),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("trust_id", sa.String(80)),
        sa.Column("latest_version", sa.Integer, nullable=False),
        **TABLE_KW)
    op.create_index("functions_project_id_created_at_idx", "functions",
                    ["project_id", "created_at"])
    op.create_table(
        "executions", *_common(),
        sa.Column("function_id", sa.String(36)),
        sa.Column("function_version", sa.Integer, nullable=False),
        sa.Column("function_alias", sa.String(255)),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("sync", sa.Boolean, nullable=False),
        sa.Column("input", types.JsonEncoded),
        sa.Column("result", types.JsonEncoded),
        sa.Column("description", sa.String(255)),
        sa.Column("logs", types.LongText),
        **TABLE_KW)
    op.create_index("executions_project_id_created_at_idx", "executions",
                    ["project_id", "created_at"])
    op.create_index("executions_function_id_idx", "executions",
                    ["function_id"])
    op.create_index("executions_status_idx", "executions", ["status"])

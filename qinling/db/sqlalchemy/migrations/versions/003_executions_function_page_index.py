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
"""Executions of a function, paged by creation time, from one index.

``(function_id, created_at, id)`` serves both the filter and the order of
``GET /v1/executions?function_id=...`` (sorted by created_at, then id), so
a page costs the same at 1k and at 1M rows on MySQL and PostgreSQL too; it
replaces the index on function_id alone, which it covers.

Revision ID: 003
Revises: 002
Create Date: 2026-11-23
"""

from alembic import op

revision = "003"
down_revision = "002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("executions_function_id_created_at_idx", "executions",
                    ["function_id", "created_at", "id"])
    op.drop_index("executions_function_id_idx", table_name="executions")

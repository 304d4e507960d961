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
"""How a webhook treats what its callers deliver.

``confirm_subscriptions``: confirm the Zaqar subscriptions that ask for
it; ``event_format``: hand the function the body as sent (``raw``) or as
a CloudEvent (``cloudevents``). Existing webhooks keep upstream's
behaviour.

Revision ID: 004
Revises: 003
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa

revision = "004"
down_revision = "003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column(
            "confirm_subscriptions", sa.Boolean, nullable=False,
            server_default=sa.false()))
        batch.add_column(sa.Column(
            "event_format", sa.String(16), nullable=False,
            server_default="raw"))

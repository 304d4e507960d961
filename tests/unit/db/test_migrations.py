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
"""The migrations are the schema; the models must map exactly that."""

from alembic import autogenerate
from alembic import migration as alembic_migration
import sqlalchemy as sa

from qinling.db import api as db_api
from qinling.db import migration
from qinling.db.sqlalchemy import models


def test_migrated_schema_matches_the_models(conf, tmp_path):
    conf.set_override("connection", "sqlite:///%s" % (tmp_path / "q.db"),
                      group="database")
    db_api.configure(conf)

    migration.upgrade("head")

    assert migration.current_revision() is not None
    engine = sa.create_engine("sqlite:///%s" % (tmp_path / "q.db"))
    with engine.connect() as connection:
        context = alembic_migration.MigrationContext.configure(connection)
        diff = autogenerate.compare_metadata(context, models.Base.metadata)
    assert diff == []

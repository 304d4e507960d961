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
"""Alembic migrations: the only source of the schema."""

import os

from alembic import command
from alembic import config as alembic_config
from alembic import migration as alembic_migration

from qinling.db import api as db_api

SCRIPT_LOCATION = os.path.join(os.path.dirname(__file__), "sqlalchemy",
                               "migrations")


def _config(connection=None):
    cfg = alembic_config.Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    cfg.attributes["connection"] = connection
    return cfg


def _run(fn, *args, **kwargs):
    engine = db_api.get_engine()
    with engine.begin() as connection:
        return fn(_config(connection), *args, **kwargs)


def upgrade(revision="head"):
    """Migrate the configured database up to ``revision``."""
    _run(command.upgrade, revision)


def stamp(revision):
    _run(command.stamp, revision)


def current_revision():
    """Return the revision the database is at, or None if it is empty."""
    with db_api.get_engine().connect() as connection:
        return alembic_migration.MigrationContext.configure(
            connection).get_current_revision()


def history():
    _run(command.history)


def revision(message, autogenerate=False):
    """Write a new migration script (for contributors)."""
    _run(command.revision, message=message, autogenerate=autogenerate)


def head_revision():
    """Return the newest revision of the migrations in this code."""
    from alembic import script
    return script.ScriptDirectory.from_config(_config()).get_current_head()

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
"""The tables, as the migrations create them.

The schema's only source is the alembic migrations; these classes map it.
``tests/unit/db/test_migrations.py`` checks the two agree.
"""

from oslo_db.sqlalchemy import models as oslo_models
from oslo_utils import uuidutils
import sqlalchemy as sa
from sqlalchemy import orm

from qinling.db.sqlalchemy import types


class Base(orm.DeclarativeBase, oslo_models.ModelBase,
           oslo_models.TimestampMixin):
    """id, project_id, created_at and updated_at on every table."""

    __table_args__ = {"mysql_charset": "utf8mb4"}

    id = sa.Column(sa.String(36), primary_key=True,
                   default=uuidutils.generate_uuid)
    project_id = sa.Column(sa.String(80), nullable=False)

    def to_dict(self):
        return {c.name: getattr(self, c.key) for c in self.__table__.columns}


class Runtime(Base):
    __tablename__ = "runtimes"

    name = sa.Column(sa.String(255))
    description = sa.Column(sa.String(255))
    image = sa.Column(sa.String(255), nullable=False)
    status = sa.Column(sa.String(32), nullable=False)
    status_reason = sa.Column(sa.Text)
    is_public = sa.Column(sa.Boolean, nullable=False, default=True)
    trusted = sa.Column(sa.Boolean, nullable=False, default=True)


class Function(Base):
    __tablename__ = "functions"
    __table_args__ = (
        sa.Index("functions_project_id_created_at_idx", "project_id",
                 "created_at"),
        Base.__table_args__,
    )

    name = sa.Column(sa.String(255))
    description = sa.Column(sa.String(255))
    runtime_id = sa.Column(sa.String(36), sa.ForeignKey("runtimes.id"))
    cpu = sa.Column(sa.Integer, nullable=False)
    memory_size = sa.Column(sa.BigInteger, nullable=False)
    timeout = sa.Column(sa.Integer, nullable=False)
    code = sa.Column(types.JsonEncoded, nullable=False)
    entry = sa.Column(sa.String(80))
    count = sa.Column(sa.Integer, nullable=False, default=0)
    trust_id = sa.Column(sa.String(80))
    latest_version = sa.Column(sa.Integer, nullable=False, default=0)
    #: times a failed or interrupted asynchronous execution is run again.
    retry_attempts = sa.Column(sa.Integer, nullable=False, default=0,
                               server_default="0")
    #: seconds an asynchronous execution may wait to (re)start; None: any.
    max_event_age = sa.Column(sa.Integer)
    #: where a final asynchronous failure goes: another function's id, or
    #: ``zaqar:<queue>``; None: nowhere.
    on_failure = sa.Column(sa.String(255))
    #: environment variables of its executions, names to strings; None:
    #: none.
    environment = sa.Column(types.JsonEncoded)


class Execution(Base):
    __tablename__ = "executions"
    __table_args__ = (
        sa.Index("executions_project_id_created_at_idx", "project_id",
                 "created_at"),
        sa.Index("executions_function_id_created_at_idx", "function_id",
                 "created_at", "id"),
        sa.Index("executions_status_idx", "status"),
        sa.Index("executions_engine_id_idx", "engine_id"),
        sa.Index("executions_function_id_status_idx", "function_id",
                 "status"),
        sa.Index("executions_project_id_status_idx", "project_id", "status"),
        Base.__table_args__,
    )

    function_id = sa.Column(sa.String(36))
    function_version = sa.Column(sa.Integer, nullable=False, default=0)
    function_alias = sa.Column(sa.String(255))
    status = sa.Column(sa.String(32), nullable=False)
    sync = sa.Column(sa.Boolean, nullable=False, default=True)
    input = sa.Column(types.JsonEncoded)
    result = sa.Column(types.JsonEncoded)
    description = sa.Column(sa.String(255))
    logs = sa.Column(types.LongText)
    #: CPU seconds the execution's process used.
    cpu_time = sa.Column(sa.Float)
    #: peak memory of the execution's process, in bytes.
    memory_peak = sa.Column(sa.BigInteger)
    #: the engine running the execution; None while it is queued.
    engine_id = sa.Column(sa.String(255))
    #: when the engine's claim lapses unless it renews it.
    lease_expires_at = sa.Column(sa.DateTime)
    #: a queued execution is not claimed before this time (retry back-off).
    available_at = sa.Column(sa.DateTime)
    #: when the current attempt reached a worker (asynchronous executions;
    #: None: it has not, so it can be claimed again without running twice).
    started_at = sa.Column(sa.DateTime)
    #: how many times an engine claimed the execution.
    attempts = sa.Column(sa.Integer, nullable=False, default=0,
                         server_default="0")


class FunctionVersion(Base):
    """An immutable snapshot of a function: package, entry, limits and
    environment."""

    __tablename__ = "function_versions"
    __table_args__ = (
        sa.UniqueConstraint("function_id", "version_number",
                            name="function_versions_function_version_uc"),
        Base.__table_args__,
    )

    function_id = sa.Column(
        sa.String(36), sa.ForeignKey("functions.id", ondelete="CASCADE"),
        nullable=False)
    description = sa.Column(sa.String(255))
    version_number = sa.Column(sa.Integer, nullable=False)
    count = sa.Column(sa.Integer, nullable=False, default=0)
    code = sa.Column(types.JsonEncoded, nullable=False)
    entry = sa.Column(sa.String(80))
    cpu = sa.Column(sa.Integer, nullable=False)
    memory_size = sa.Column(sa.BigInteger, nullable=False)
    timeout = sa.Column(sa.Integer, nullable=False)
    environment = sa.Column(types.JsonEncoded)


class FunctionAlias(Base):
    __tablename__ = "function_aliases"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "name",
                            name="function_aliases_project_name_uc"),
        Base.__table_args__,
    )

    function_id = sa.Column(sa.String(36), sa.ForeignKey("functions.id"),
                            nullable=False)
    name = sa.Column(sa.String(255), nullable=False)
    description = sa.Column(sa.String(255))
    function_version = sa.Column(sa.Integer, nullable=False, default=0)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        sa.Index("jobs_status_next_execution_time_idx", "status",
                 "next_execution_time"),
        Base.__table_args__,
    )

    name = sa.Column(sa.String(255))
    pattern = sa.Column(sa.String(255))
    status = sa.Column(sa.String(32), nullable=False)
    first_execution_time = sa.Column(sa.DateTime)
    next_execution_time = sa.Column(sa.DateTime, nullable=False)
    count = sa.Column(sa.Integer)
    function_id = sa.Column(sa.String(36), sa.ForeignKey("functions.id"))
    function_version = sa.Column(sa.Integer, nullable=False, default=0)
    function_alias = sa.Column(sa.String(255))
    function_input = sa.Column(sa.Text)


class Webhook(Base):
    __tablename__ = "webhooks"

    function_id = sa.Column(sa.String(36), sa.ForeignKey("functions.id"))
    function_version = sa.Column(sa.Integer)
    function_alias = sa.Column(sa.String(255))
    description = sa.Column(sa.String(255))
    #: confirm Zaqar subscriptions that ask for it.
    confirm_subscriptions = sa.Column(sa.Boolean, nullable=False,
                                      default=False,
                                      server_default=sa.false())
    #: "raw" (the body as sent) or "cloudevents".
    event_format = sa.Column(sa.String(16), nullable=False, default="raw",
                             server_default="raw")


#: The engines alive, each writing its heartbeat while it runs (Core only:
#: no project, no timestamps of its own).
engines = sa.Table(
    "engines", Base.metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("heartbeat_at", sa.DateTime, nullable=False),
    mysql_charset="utf8mb4",
)

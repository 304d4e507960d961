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
"""WSME types of the v1 API and how rows become them (upstream's shapes)."""

import json

import wsme
from wsme import types as wtypes
from wsme.rest import json as wsme_json

from qinling.api.controllers.v1 import types
from qinling.services import executions as execution_service

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def format_time(value):
    return value.strftime(TIME_FORMAT) if value is not None else None


class AnyJson(wtypes.UserType):
    """Text, or any JSON value (kept as given; the service interprets it)."""

    basetype = wtypes.text
    name = "json"

    def validate(self, value):
        return value

    @staticmethod
    def frombasetype(value):
        return value


any_json = AnyJson()


class Resource(wtypes.Base):
    """A resource with read-only bookkeeping fields."""

    id = wsme.wsattr(wtypes.text, readonly=True)
    project_id = wsme.wsattr(wtypes.text, readonly=True)
    created_at = wsme.wsattr(wtypes.text, readonly=True)
    updated_at = wsme.wsattr(wtypes.text, readonly=True)

    #: columns a subclass renders itself in its ``from_row``.
    _rendered = frozenset()

    @classmethod
    def from_row(cls, row):
        obj = cls()
        for key in row.__table__.columns.keys():
            if key in cls._rendered:
                continue
            if key in ("created_at", "updated_at"):
                setattr(obj, key, format_time(getattr(row, key)))
            elif hasattr(cls, key):
                setattr(obj, key, getattr(row, key))
        return obj

    def to_values(self):
        """The attributes the caller set, as a dict (None left out)."""
        values = {}
        for attr in self._wsme_attributes:
            value = getattr(self, attr.key)
            if value is not wtypes.Unset and value is not None:
                values[attr.key] = value
        return values


class Runtime(Resource):
    name = wtypes.text
    description = wtypes.text
    image = wtypes.text
    is_public = wsme.wsattr(types.boolean, default=True)
    trusted = wsme.wsattr(types.boolean, default=True)
    status = wsme.wsattr(wtypes.text, readonly=True)
    #: why the runtime is in ``error`` (not in upstream).
    status_reason = wsme.wsattr(wtypes.text, readonly=True)


class Runtimes(wtypes.Base):
    runtimes = [Runtime]
    #: the next page's URL, when more items may follow.
    next = wtypes.text


class PoolCapacity(wtypes.Base):
    total = types.int32
    available = types.int32


class RuntimePool(wtypes.Base):
    name = wtypes.text
    capacity = PoolCapacity


class Function(Resource):
    """A function as the list shows it: ``code`` is a JSON string there."""

    name = wtypes.text
    description = wtypes.text
    runtime_id = wtypes.text
    code = wtypes.text
    entry = wtypes.text
    cpu = types.int32
    memory_size = types.int64
    timeout = types.int32
    count = wsme.wsattr(types.int32, readonly=True)
    latest_version = wsme.wsattr(types.int32, readonly=True)
    #: how failed asynchronous executions are retried and where their
    #: final failure goes (not in upstream).
    retry_attempts = types.int32
    max_event_age = types.int32
    on_failure = wtypes.text
    #: the environment variables of its executions (not in upstream).
    environment = {wtypes.text: wtypes.text}

    _rendered = frozenset(("code", "environment"))

    @classmethod
    def from_row(cls, row):
        obj = super().from_row(row)
        obj.code = json.dumps(row.code)
        obj.environment = row.environment or {}
        return obj


class Functions(wtypes.Base):
    functions = [Function]
    #: the next page's URL, when more items may follow.
    next = wtypes.text


def function_to_dict(row):
    """A function as show, create and update return it (``code`` a dict)."""
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "runtime_id": row.runtime_id,
        "code": row.code,
        "entry": row.entry,
        "cpu": row.cpu,
        "memory_size": row.memory_size,
        "timeout": row.timeout,
        "count": row.count,
        "latest_version": row.latest_version,
        "retry_attempts": row.retry_attempts,
        "max_event_age": row.max_event_age,
        "on_failure": row.on_failure,
        "environment": row.environment or {},
        "project_id": row.project_id,
        "created_at": format_time(row.created_at),
        "updated_at": format_time(row.updated_at),
    }


class Execution(Resource):
    function_id = wtypes.text
    function_version = types.int32
    function_alias = wtypes.text
    description = wtypes.text
    sync = types.boolean
    input = any_json
    status = wsme.wsattr(wtypes.text, readonly=True)
    #: a JSON string such as ``{"output": ..., "duration": ...}``.
    result = wsme.wsattr(wtypes.text, readonly=True)
    #: CPU seconds the execution used (not in upstream).
    cpu_time = wsme.wsattr(types.number, readonly=True)
    #: peak memory of the execution in bytes (not in upstream).
    memory_peak = wsme.wsattr(types.int64, readonly=True)
    #: how many times an engine started the execution (not in upstream).
    attempts = wsme.wsattr(types.int32, readonly=True)

    _rendered = frozenset(("input", "result"))

    @classmethod
    def from_row(cls, row):
        obj = super().from_row(row)
        obj.input = execution_service.render_input(row.input)
        obj.result = json.dumps(row.result) if row.result is not None \
            else None
        return obj

    def to_params(self):
        """The create request; explicit nulls count as not given."""
        return {attr.key: getattr(self, attr.key)
                for attr in self._wsme_attributes
                if getattr(self, attr.key) not in (wtypes.Unset, None)}


class Executions(wtypes.Base):
    executions = [Execution]
    #: the next page's URL, when more items may follow.
    next = wtypes.text


class FunctionVersion(Resource):
    description = wtypes.text
    function_id = wsme.wsattr(wtypes.text, readonly=True)
    version_number = wsme.wsattr(types.int32, readonly=True)
    count = wsme.wsattr(types.int32, readonly=True)
    #: the snapshot's entry, limits and environment (upstream kept none).
    entry = wsme.wsattr(wtypes.text, readonly=True)
    cpu = wsme.wsattr(types.int32, readonly=True)
    memory_size = wsme.wsattr(types.int64, readonly=True)
    timeout = wsme.wsattr(types.int32, readonly=True)
    environment = wsme.wsattr({wtypes.text: wtypes.text}, readonly=True)

    _rendered = frozenset(("environment",))

    @classmethod
    def from_row(cls, row):
        obj = super().from_row(row)
        obj.environment = row.environment or {}
        return obj


class FunctionVersions(wtypes.Base):
    function_versions = [FunctionVersion]
    next = wtypes.text


def version_to_dict(row):
    """A version as show returns it (a plain pecan endpoint)."""
    return wsme_json.tojson(FunctionVersion, FunctionVersion.from_row(row))


class ScaleInfo(wtypes.Base):
    """The body of scale_up and scale_down."""

    count = wsme.wsattr(
        types.BoundedInteger(minimum=1, maximum=types.INT32_MAX),
        mandatory=True)


class FunctionWorker(wtypes.Base):
    function_id = wtypes.text
    function_version = types.int32
    worker_name = wtypes.text


class FunctionWorkers(wtypes.Base):
    workers = [FunctionWorker]


class FunctionAlias(Resource):
    name = wtypes.text
    description = wtypes.text
    function_id = wtypes.text
    function_version = types.int32


class FunctionAliases(wtypes.Base):
    function_aliases = [FunctionAlias]
    next = wtypes.text


class Job(Resource):
    name = wtypes.text
    function_id = wtypes.text
    function_alias = wtypes.text
    function_version = types.int32
    #: the input of each run: text, or a JSON value kept as its text.
    function_input = any_json
    status = wtypes.text
    pattern = wtypes.text
    #: runs left; null means unlimited.
    count = types.int32
    first_execution_time = wtypes.text
    next_execution_time = wtypes.text

    _rendered = frozenset(("first_execution_time", "next_execution_time"))

    @classmethod
    def from_row(cls, row):
        obj = super().from_row(row)
        obj.first_execution_time = format_time(row.first_execution_time)
        obj.next_execution_time = format_time(row.next_execution_time)
        return obj


class Jobs(wtypes.Base):
    jobs = [Job]
    next = wtypes.text


class Webhook(Resource):
    function_id = wtypes.text
    function_alias = wtypes.text
    function_version = types.int32
    description = wtypes.text
    #: confirm the Zaqar subscriptions that ask for it (default false).
    confirm_subscriptions = types.boolean
    #: "raw" (default) or "cloudevents": the input the function gets.
    event_format = wtypes.text
    #: where to POST to run the function; computed on every response.
    webhook_url = wsme.wsattr(wtypes.text, readonly=True)

    @classmethod
    def from_row(cls, row, base_url=""):
        """:param base_url: the API's URL without a version."""
        obj = super().from_row(row)
        obj.webhook_url = "%s/v1/webhooks/%s/invoke" % (base_url, row.id)
        return obj


class Webhooks(wtypes.Base):
    webhooks = [Webhook]
    next = wtypes.text

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
"""Functions: validation of what users send, package storage and rows.

Creating a function is three steps with an undo each: store the package,
insert the row, nothing else; a failure at the second step deletes the
stored package, so a refused request leaves nothing behind.
"""

import json
import re

from oslo_log import log as logging
from oslo_utils import uuidutils

from qinling import exceptions
from qinling import states
from qinling.db import api as db_api

LOG = logging.getLogger(__name__)

CREATE_FIELDS = frozenset((
    "name", "description", "runtime_id", "code", "entry", "cpu",
    "memory_size", "timeout", "package"))
CODE_SOURCES = ("package", "swift", "image")
ENTRY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
DEFAULT_ENTRY = "main.main"

# (field, option suffix in [resource_limits], unit in messages)
LIMITS = (
    ("timeout", "timeout", "seconds"),
    ("cpu", "cpu", "millicpu"),
    ("memory_size", "memory", "bytes"),
)


def _parse_code(raw):
    if raw is None:
        raise exceptions.InputException(
            "Required param is missing. Required: {'code'}")
    try:
        code = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise exceptions.InputException(
            "Invalid input, code must be a JSON object: %s" % raw)
    if not isinstance(code, dict):
        raise exceptions.InputException(
            "Invalid input, code must be a JSON object: %s" % raw)
    if code.get("source") not in CODE_SOURCES:
        raise exceptions.InputException(
            "Invalid code source specified, available sources: %s"
            % ", ".join(CODE_SOURCES))
    return code


def _limit(conf, field, option, unit, raw):
    limits = conf.resource_limits
    if raw is None or raw == "":
        return getattr(limits, "default_" + option)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise exceptions.InputException(
            "Invalid %s resource specified. An integer is required." % option)
    low = getattr(limits, "min_" + option)
    high = getattr(limits, "max_" + option)
    if not low <= value <= high:
        raise exceptions.InputException(
            "%s resource limitation not within the allowable range: "
            "%s ~ %s(%s)" % (option, low, high, unit))
    return value


def _text(fields, name, max_length):
    value = fields.get(name)
    if value is not None and len(value) > max_length:
        raise exceptions.InputException(
            "%s is longer than %d characters." % (name, max_length))
    return value


class FunctionService:

    def __init__(self, conf, engine, storage):
        self._conf = conf
        self._engine = engine
        self._storage = storage

    def _validate(self, ctx, fields):
        unknown = sorted(set(fields) - CREATE_FIELDS)
        if unknown:
            raise exceptions.InputException(
                "Unknown field(s): %s" % ", ".join(unknown))
        code = _parse_code(fields.get("code"))
        if code["source"] == "swift":
            raise exceptions.InputException("Swift object not supported.")
        if code["source"] == "image":
            raise exceptions.InputException(
                "Image type functions need a container runtime, which the "
                "%s orchestrator does not have."
                % self._conf.engine.orchestrator)
        entry = fields.get("entry") or DEFAULT_ENTRY
        if len(entry) > 80 or not ENTRY_RE.match(entry):
            raise exceptions.InputException(
                "Invalid entry %r: expected <module>.<function>, such as "
                "main.main." % entry)
        values = {"name": _text(fields, "name", 255),
                  "description": _text(fields, "description", 255),
                  "entry": entry}
        for field, option, unit in LIMITS:
            values[field] = _limit(self._conf, field, option, unit,
                                   fields.get(field))
        values["runtime_id"] = self._available_runtime(
            ctx, fields.get("runtime_id"))
        return code, values

    def _available_runtime(self, ctx, runtime_id):
        if not runtime_id:
            raise exceptions.InputException('"runtime_id" must be specified.')
        if not uuidutils.is_uuid_like(runtime_id):
            raise exceptions.InputException(
                "Invalid runtime_id %r: expected a UUID." % runtime_id)
        runtime = db_api.runtime_get(ctx, runtime_id)
        if runtime.status != states.AVAILABLE:
            raise exceptions.InputException(
                "Runtime %s is not available." % runtime_id)
        return runtime_id

    def create(self, ctx, fields, package):
        """Check the request, store the package and insert the function.

        :param fields: the form fields, as strings.
        :param package: a readable binary file, or None.
        :returns: the new function row.
        :raises InputException: anything wrong with the request.
        """
        code, values = self._validate(ctx, fields)
        if package is None:
            raise exceptions.InputException(
                "Package is required for a package type function: send the "
                "zip file as the multipart field 'package'.")
        function_id = uuidutils.generate_uuid()
        md5 = self._storage.store(ctx.project_id, function_id, package,
                                  code.get("md5sum"))
        try:
            return db_api.function_create(ctx, dict(
                values, id=function_id, count=0, latest_version=0,
                code={"source": "package", "md5sum": md5}))
        except Exception:
            self._storage.delete(ctx.project_id, function_id, md5)
            raise

    def get(self, ctx, function_id):
        return db_api.function_get(ctx, function_id)

    def list(self, ctx):
        return db_api.function_list(ctx)

    def download(self, ctx, function_id):
        """Open the function's package.

        :returns: (function row, readable binary file).
        """
        function = db_api.function_get(ctx, function_id)
        if function.code.get("source") != "package":
            raise exceptions.MethodNotAllowedException(
                "Download image function is not allowed.")
        return function, self._storage.retrieve(
            function.project_id, function.id, function.code["md5sum"])

    def delete(self, ctx, function_id):
        """Delete the row, then the package and the function's workers."""
        function = db_api.function_delete(ctx, function_id)
        if function.code.get("source") == "package":
            self._storage.delete(function.project_id, function.id,
                                 function.code["md5sum"])
        self._engine.delete_function(ctx, function.id)

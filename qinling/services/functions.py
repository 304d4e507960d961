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

A function's code is a package (kept by the storage provider) or, with
auth on, an object in the user's own Swift account: checked with the
caller's token at create and update, never copied or deleted here (see
:mod:`qinling.storage.swift_objects`).
"""

import json
import re

from oslo_log import log as logging
from oslo_utils import uuidutils

from qinling import exceptions
from qinling import notifications
from qinling import states
from qinling import zaqar
from qinling.db import api as db_api
from qinling.storage import swift_objects

LOG = logging.getLogger(__name__)

#: how a function's failed asynchronous executions are handled (see
#: qinling.engine.retries).
RETRY_FIELDS = frozenset(("retry_attempts", "max_event_age", "on_failure"))
CREATE_FIELDS = frozenset((
    "name", "description", "runtime_id", "code", "entry", "cpu",
    "memory_size", "timeout", "package", "environment")) | RETRY_FIELDS
UPDATE_FIELDS = CREATE_FIELDS - {"runtime_id"}
# python-qinlingclient's update merges the keys of ``code`` into the form.
CLIENT_CODE_KEYS = frozenset(("source", "md5sum", "swift", "image"))
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


def _entry(entry):
    if len(entry) > 80 or not ENTRY_RE.match(entry):
        raise exceptions.InputException(
            "Invalid entry %r: expected <module>.<function>, such as "
            "main.main." % entry)
    return entry


MAX_RETRY_ATTEMPTS = 2
ZAQAR_PREFIX = zaqar.DESTINATION_PREFIX
ZAQAR_QUEUE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: max_event_age bounds, in seconds (Lambda's: a minute to six hours).
MIN_EVENT_AGE, MAX_EVENT_AGE = 60, 21600


def _bounded_int(name, raw, low, high):
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise exceptions.InputException(
            "Invalid %s: an integer is required." % name)
    if isinstance(raw, bool) or not low <= value <= high:
        raise exceptions.InputException(
            "Invalid %s: expected an integer from %d to %d." % (
                name, low, high))
    return value


def _retry_values(ctx, fields, function_id, zaqar_ok=False):
    """The retry settings of ``fields`` that are set; an empty
    ``max_event_age`` or ``on_failure`` clears it.

    :param zaqar_ok: whether a Zaqar queue may be a destination (a Zaqar
        endpoint is configured, or the Keystone catalog may have one).
    :raises InputException: a value out of bounds, or an ``on_failure``
        that is neither another function of the caller's project nor a
        Zaqar queue.
    """
    values = {}
    if fields.get("retry_attempts") not in (None, ""):
        values["retry_attempts"] = _bounded_int(
            "retry_attempts", fields["retry_attempts"], 0,
            MAX_RETRY_ATTEMPTS)
    if "max_event_age" in fields:
        raw = fields["max_event_age"]
        values["max_event_age"] = None if raw in (None, "") else \
            _bounded_int("max_event_age", raw, MIN_EVENT_AGE, MAX_EVENT_AGE)
    if "on_failure" in fields:
        values["on_failure"] = _on_failure(ctx, fields["on_failure"],
                                           function_id, zaqar_ok)
    return values


def _on_failure(ctx, raw, function_id, zaqar_ok):
    if raw in (None, ""):
        return None
    if isinstance(raw, str) and raw.startswith(ZAQAR_PREFIX):
        if not ZAQAR_QUEUE_RE.match(raw[len(ZAQAR_PREFIX):]):
            raise exceptions.InputException(
                "Invalid on_failure %r: a Zaqar queue name has 1 to 64 "
                "letters, digits, '-' or '_'." % (raw,))
        if not zaqar_ok:
            raise exceptions.InputException(
                "Invalid on_failure: no Zaqar endpoint is configured "
                "([webhooks]zaqar_url).")
        return raw
    if not isinstance(raw, str) or not uuidutils.is_uuid_like(raw):
        raise exceptions.InputException(
            "Invalid on_failure %r: expected the id of a function, or "
            "zaqar:<queue name>." % (raw,))
    if raw == function_id:
        raise exceptions.InputException(
            "Invalid on_failure: a function cannot receive its own "
            "failures.")
    try:
        destination = db_api.function_get(ctx, raw)
    except exceptions.DBEntityNotFoundError:
        raise exceptions.InputException(
            "Invalid on_failure: function %s not found." % raw)
    if destination.project_id != ctx.project_id:
        raise exceptions.InputException(
            "Invalid on_failure: function %s is not of your project." % raw)
    return raw


ENVIRONMENT_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: names a function cannot set: the runtime's own and those that change
#: how the runtime itself starts, loads or finds its code.
RESERVED_ENVIRONMENT_NAMES = frozenset((
    "PATH", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "NODE_OPTIONS",
    "NODE_PATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "TMPDIR"))
RESERVED_ENVIRONMENT_PREFIX = "QINLING_"


def _environment(conf, raw):
    """The environment of a create or update: a dict of names to strings,
    or None for none (an empty object or string clears it).

    :raises InputException: not a JSON object of strings, a bad or
        reserved name, or larger than ``[resource_limits]
        max_environment_size``.
    """
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise exceptions.InputException(
                "Invalid environment: expected a JSON object of names to "
                "strings.")
    if not isinstance(raw, dict):
        raise exceptions.InputException(
            "Invalid environment: expected a JSON object of names to "
            "strings.")
    size = 0
    for name, value in raw.items():
        if not isinstance(name, str) or \
                not ENVIRONMENT_NAME_RE.fullmatch(name):
            raise exceptions.InputException(
                "Invalid environment variable name %r: expected letters, "
                "digits and '_', not starting with a digit." % name)
        if name in RESERVED_ENVIRONMENT_NAMES or \
                name.upper().startswith(RESERVED_ENVIRONMENT_PREFIX):
            raise exceptions.InputException(
                "Invalid environment variable name %r: the name is "
                "reserved (%s and names starting with %s)." % (
                    name, ", ".join(sorted(RESERVED_ENVIRONMENT_NAMES)),
                    RESERVED_ENVIRONMENT_PREFIX))
        if not isinstance(value, str):
            raise exceptions.InputException(
                "Invalid value of environment variable %s: expected a "
                "string." % name)
        if "\x00" in value:
            raise exceptions.InputException(
                "Invalid value of environment variable %s: it contains a "
                "NUL character." % name)
        size += len(name.encode()) + len(value.encode())
    limit = conf.resource_limits.max_environment_size
    if size > limit:
        raise exceptions.InputException(
            "The environment takes %d bytes, more than the limit of %d "
            "bytes (names and values)." % (size, limit))
    return dict(raw) or None


def _text(fields, name, max_length):
    value = fields.get(name)
    if value is not None and len(value) > max_length:
        raise exceptions.InputException(
            "%s is longer than %d characters." % (name, max_length))
    return value


def _check_count(count):
    if count is None:
        raise exceptions.InputException(
            "Required param is missing. Required: {'count'}")


class FunctionService:

    def __init__(self, conf, engine, storage, keystone=None):
        self._conf = conf
        self._engine = engine
        self._storage = storage
        #: with auth on, makes the trust executions run through.
        self._keystone = keystone
        #: with auth on: functions whose code is a user's Swift object.
        self._swift = (swift_objects.SwiftObjects(conf, keystone)
                       if keystone is not None else None)

    def _zaqar_ok(self):
        return bool(self._conf.webhooks.zaqar_url) or \
            self._keystone is not None

    def _swift_code(self, ctx, info):
        """The ``code`` of a function from the Swift object ``info``,
        checked with the caller's token.

        :raises InputException: auth is off, or the object cannot be used.
        """
        if self._swift is None:
            # Only a user's token can reach the user's Swift account.
            raise exceptions.InputException("Swift object not supported.")
        info = {"container": str(info["container"]),
                "object": str(info["object"])}
        etag = self._swift.check(ctx, info["container"], info["object"])
        return {"source": "swift", "swift": info, "etag": etag}

    def _validate(self, ctx, fields):
        unknown = sorted(set(fields) - CREATE_FIELDS)
        if unknown:
            raise exceptions.InputException(
                "Unknown field(s): %s" % ", ".join(unknown))
        code = _parse_code(fields.get("code"))
        if code["source"] == "swift":
            info = code.get("swift")
            if not isinstance(info, dict) or not (
                    info.get("container") and info.get("object")):
                raise exceptions.InputException(
                    "Both container and object must be provided for swift "
                    "type function.")
        if code["source"] == "image":
            raise exceptions.InputException(
                "Image type functions need a container runtime, which the "
                "%s orchestrator does not have."
                % self._conf.engine.orchestrator)
        entry = _entry(fields.get("entry") or DEFAULT_ENTRY)
        values = {"name": _text(fields, "name", 255),
                  "description": _text(fields, "description", 255),
                  "entry": entry,
                  "environment": _environment(self._conf,
                                              fields.get("environment"))}
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
        function_id = uuidutils.generate_uuid()
        values.update(_retry_values(ctx, fields, function_id,
                                    self._zaqar_ok()))
        md5 = None
        if code["source"] == "swift":
            if package is not None:
                raise exceptions.InputException(
                    "A swift type function takes no package: its code is "
                    "the Swift object.")
            code = self._swift_code(ctx, code["swift"])
        elif package is None:
            raise exceptions.InputException(
                "Package is required for a package type function: send the "
                "zip file as the multipart field 'package'.")
        else:
            md5 = self._storage.store(ctx.project_id, function_id, package,
                                      code.get("md5sum"))
            code = {"source": "package", "md5sum": md5}
        trust_id = None
        try:
            if self._keystone is not None:
                trust_id = self._keystone.create_trust(ctx)
            function = db_api.function_create(ctx, dict(
                values, id=function_id, count=0, latest_version=0,
                trust_id=trust_id, code=code))
        except Exception:
            if trust_id:
                self._keystone.delete_trust(ctx, trust_id)
            if md5:
                self._storage.delete(ctx.project_id, function_id, md5)
            raise
        notifications.resource_changed(ctx, "function", "create", function)
        return function

    def get(self, ctx, function_id):
        return db_api.function_get(ctx, function_id)

    def list(self, ctx, list_query):
        return db_api.function_list(ctx, list_query)

    def download(self, ctx, function_id):
        """Open the function's package, or its Swift object with the
        caller's token.

        :returns: (function row, readable binary file).
        """
        function = db_api.function_get(ctx, function_id)
        if function.code.get("source") == "swift":
            if self._swift is None:
                raise exceptions.InputException(
                    "Swift object not supported.")
            info = function.code["swift"]
            return function, self._swift.open(ctx, info["container"],
                                              info["object"])
        if function.code.get("source") != "package":
            raise exceptions.MethodNotAllowedException(
                "Download image function is not allowed.")
        return function, self._storage.retrieve(
            function.project_id, function.id, function.code["md5sum"])

    def _update_values(self, fields):
        unknown = sorted(set(fields) - UPDATE_FIELDS - CLIENT_CODE_KEYS)
        if "runtime_id" in fields:
            raise exceptions.InputException(
                "The runtime of a function cannot be changed.")
        if unknown:
            raise exceptions.InputException(
                "Unknown field(s): %s" % ", ".join(unknown))
        values = {}
        for name in ("name", "description"):
            if fields.get(name) is not None:
                values[name] = _text(fields, name, 255)
        if fields.get("entry"):
            values["entry"] = _entry(fields["entry"])
        if "environment" in fields:
            values["environment"] = _environment(self._conf,
                                                 fields["environment"])
        for field, option, unit in LIMITS:
            if fields.get(field) not in (None, ""):
                values[field] = _limit(self._conf, field, option, unit,
                                       fields[field])
        return values

    def update(self, ctx, function_id, fields, package):
        """Update a function; a new package replaces the stored one.

        Workers that hold the old package, entry or limits are released;
        the next execution gets fresh ones.

        :raises InputException: anything wrong with the request.
        """
        values = self._update_values(fields)
        function = db_api.function_get(ctx, function_id)
        values.update(_retry_values(ctx, fields, function_id,
                                    self._zaqar_ok()))
        code = function.code
        if fields.get("code") is not None:
            new_code = _parse_code(fields["code"])
            if new_code["source"] != code.get("source"):
                raise exceptions.InputException(
                    "The function code type can not be changed.")
            if "swift" in new_code:
                values["code"] = self._swift_update(ctx, code, new_code)
            if package is not None and new_code.get("md5sum") and \
                    new_code["md5sum"] == code.get("md5sum"):
                raise exceptions.InputException(
                    "The function code checksum is not changed.")
            code = dict(code, **{k: v for k, v in new_code.items()
                                 if k == "md5sum"})
        new_md5 = None
        if package is not None and code.get("source") != "package":
            raise exceptions.InputException(
                "Only a package type function takes a package.")
        if package is not None:
            new_md5 = self._storage.store(
                function.project_id, function.id, package,
                code.get("md5sum") if fields.get("code") else None)
            values["code"] = {"source": "package", "md5sum": new_md5}
        try:
            updated = db_api.function_update(ctx, function_id, values)
        except Exception:
            if new_md5 and new_md5 != function.code["md5sum"]:
                self._storage.delete(function.project_id, function.id,
                                     new_md5)
            raise
        if new_md5 and new_md5 != function.code["md5sum"]:
            self._storage.delete(function.project_id, function.id,
                                 function.code["md5sum"])
        if set(values) & {"code", "entry", "cpu", "memory_size"}:
            self._engine.delete_function(ctx, function.id)
        notifications.resource_changed(ctx, "function", "update", updated)
        return updated

    def _swift_update(self, ctx, code, new_code):
        """The new ``code`` of a Swift function: the container and object
        given, merged with the current ones, checked again."""
        info = new_code["swift"]
        if not isinstance(info, dict) or not (
                info.get("container") or info.get("object")):
            raise exceptions.InputException(
                "Either container or object must be provided for swift "
                "type function update.")
        merged = dict(code["swift"])
        merged.update({k: info[k] for k in ("container", "object")
                       if info.get(k)})
        return self._swift_code(ctx, merged)

    def _check_version(self, ctx, function_id, version):
        function = db_api.function_get(ctx, function_id)
        if version:
            db_api.version_get(ctx, function_id, version)
        return function

    def scale_up(self, ctx, function_id, version, count):
        """:raises InputException: ``count`` is above
        ``[api]max_scale_up_count``."""
        limit = self._conf.api.max_scale_up_count
        _check_count(count)
        if count > limit:
            raise exceptions.InputException(
                "Invalid count %d: one scale_up adds at most %d workers "
                "([api]max_scale_up_count)." % (count, limit))
        self._check_version(ctx, function_id, version)
        self._engine.scaleup_function(ctx, function_id, version, count)

    def scale_down(self, ctx, function_id, version, count):
        _check_count(count)
        self._check_version(ctx, function_id, version)
        self._engine.scaledown_function(ctx, function_id, version, count)

    def detach(self, ctx, function_id, version):
        self._check_version(ctx, function_id, version)
        self._engine.delete_function(ctx, function_id, version)

    def workers(self, ctx, function_id, version):
        """:returns: the workers serving the version, as dicts."""
        self._check_version(ctx, function_id, version)
        return self._engine.list_workers(ctx, function_id, version)

    def delete(self, ctx, function_id):
        """Delete the row, then the packages and the workers.

        :raises NotAllowedException: jobs, webhooks or aliases use it.
        """
        function, versions = db_api.function_delete(ctx, function_id,
                                                    check=_refuse_if_used)
        notifications.resource_changed(ctx, "function", "delete", function)
        if function.trust_id and self._keystone is not None:
            self._keystone.delete_trust(ctx, function.trust_id)
        for version in versions:
            self._storage.delete(function.project_id, function.id,
                                 version.code["md5sum"],
                                 version.version_number)
            self._engine.delete_function(ctx, function.id,
                                         version.version_number)
        if function.code.get("source") == "package":
            # A Swift function's object is the user's: it stays.
            self._storage.delete(function.project_id, function.id,
                                 function.code["md5sum"])
        self._engine.delete_function(ctx, function.id)


def _refuse_if_used(session, function, version=None):
    users = db_api.function_usage(session, function.id, version)
    if users:
        raise exceptions.NotAllowedException(
            "The function is still associated with %s." % " and ".join(users))

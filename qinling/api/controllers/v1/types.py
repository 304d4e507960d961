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
"""Argument and field types of the v1 API.

WSME's own ``int``, ``float`` and ``bool`` turn a JSON value of another
type (``{"count": {}}``) into a 500; the types here answer a 400 naming
what was expected, and keep integers within the columns they go to.
"""

from oslo_utils import uuidutils
from wsme import types as wtypes
from wsme.rest import json as wsme_json

from qinling import exceptions


class UuidType(wtypes.UserType):
    """A UUID path or query argument; anything else is a 400."""

    basetype = wtypes.text
    name = "uuid"

    @staticmethod
    def validate(value):
        if not uuidutils.is_uuid_like(value):
            raise exceptions.InputException(
                "Expected a uuid but received %s." % value)
        return value

    @staticmethod
    def frombasetype(value):
        return UuidType.validate(value) if value is not None else None


uuid = UuidType()

#: the largest value of an INTEGER column on every database we run on.
INT32_MAX = 2 ** 31 - 1


JSON_NAMES = {bool: "a boolean", dict: "an object", list: "an array",
              float: "a number", int: "an integer", str: "a string"}


def _refuse(value, expected):
    raise ValueError("Expected %s, got %s." % (
        expected, JSON_NAMES.get(type(value), type(value).__name__)))


class BoundedInteger(wtypes.IntegerType):
    """An integer with bounds that WSME checks in the path and the query
    string too (its own IntegerType checks them in bodies only)."""

    def frombasetype(self, value):
        return self.validate(int(value)) if value is not None else None

    def validate(self, value):
        if isinstance(value, bool) or not isinstance(value, int):
            _refuse(value, "an integer")
        return super().validate(value)


class Boolean(wtypes.UserType):
    basetype = bool
    name = "boolean"

    def validate(self, value):
        if not isinstance(value, bool):
            _refuse(value, "a boolean")
        return value


class Number(wtypes.UserType):
    basetype = float
    name = "number"

    def validate(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _refuse(value, "a number")
        try:
            return float(value)
        except OverflowError:
            raise ValueError("The number is too large.")


# A JSON value of the wrong type is kept as it is, for the field's
# validate() to refuse with the field's name.

@wsme_json.fromjson.when_type(BoundedInteger)
def _integer_fromjson(datatype, value):
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    return value


@wsme_json.fromjson.when_type(Boolean)
def _boolean_fromjson(datatype, value):
    if isinstance(value, str):
        try:
            return wsme_json.fromjson(bool, value)
        except ValueError:
            pass
    return value


@wsme_json.fromjson.when_type(Number)
def _number_fromjson(datatype, value):
    return value


#: an integer argument or field stored in an INTEGER column (a version
#: number, a count, a page size): anything outside it is a 400 naming the
#: field, never a database error.
int32 = BoundedInteger(minimum=-INT32_MAX - 1, maximum=INT32_MAX)
#: an integer stored in a BIGINT column (bytes of memory).
int64 = BoundedInteger(minimum=-2 ** 63, maximum=2 ** 63 - 1)
boolean = Boolean()
number = Number()

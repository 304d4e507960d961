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
"""Argument types of the v1 API."""

from oslo_utils import uuidutils
from wsme import types as wtypes

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



class BoundedInteger(wtypes.IntegerType):
    """An integer with bounds that WSME checks in the path and the query
    string too (its own IntegerType checks them in bodies only)."""

    def frombasetype(self, value):
        return self.validate(int(value)) if value is not None else None


#: an integer argument or field stored in an INTEGER column (a version
#: number, a count, a page size): anything outside it is a 400 naming the
#: field, never a database error.
int32 = BoundedInteger(minimum=-INT32_MAX - 1, maximum=INT32_MAX)

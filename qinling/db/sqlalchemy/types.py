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
"""Column types shared by the models and the migrations."""

import json

import sqlalchemy as sa
from sqlalchemy.dialects import mysql


class JsonEncoded(sa.TypeDecorator):
    """Any JSON value, stored as text (LONGTEXT on MySQL).

    Unlike upstream's dict-only column this accepts every JSON type, so an
    execution input such as ``[1, 2]`` or ``true`` is stored as given.
    """

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.LONGTEXT())
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return json.dumps(value, separators=(",", ":"))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return json.loads(value)


class LongText(sa.TypeDecorator):
    """Text that may be large (LONGTEXT on MySQL), such as execution logs."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.LONGTEXT())
        return dialect.type_descriptor(sa.Text())

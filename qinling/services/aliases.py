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
"""Function aliases: a name for a function version, resolved at use time.

Unlike upstream, the target must exist, and an alias that jobs or webhooks
use cannot be deleted.
"""

from qinling import exceptions
from qinling.db import api as db_api

UPDATABLE = ("function_id", "function_version", "description")


def _check_target(ctx, function_id, version):
    db_api.function_get(ctx, function_id)
    if version:
        db_api.version_get(ctx, function_id, version)


class AliasService:

    def create(self, ctx, values):
        """:param values: name, function_id (required), function_version,
        description."""
        missing = {k for k in ("name", "function_id") if not values.get(k)}
        if missing:
            raise exceptions.InputException(
                "Required param is missing. Required: %s" % missing)
        values = dict(values)
        values.setdefault("function_version", 0)
        _check_target(ctx, values["function_id"], values["function_version"])
        return db_api.alias_create(ctx, values)

    def get(self, ctx, name):
        return db_api.alias_get(ctx, name)

    def list(self, ctx, list_query):
        return db_api.alias_list(ctx, list_query)

    def update(self, ctx, name, values):
        alias = db_api.alias_get(ctx, name)
        values = {k: v for k, v in values.items() if k in UPDATABLE}
        function_id = values.get("function_id", alias.function_id)
        version = values.get("function_version", alias.function_version)
        if function_id != alias.function_id and "function_version" not in \
                values:
            version = values["function_version"] = 0
        _check_target(ctx, function_id, version)
        return db_api.alias_update(ctx, name, values)

    def delete(self, ctx, name):
        def check(session, alias):
            users = db_api.alias_usage(session, alias.project_id, alias.name)
            if users:
                raise exceptions.NotAllowedException(
                    "The function alias is still associated with %s."
                    % " and ".join(users))
        db_api.alias_delete(ctx, name, check=check)

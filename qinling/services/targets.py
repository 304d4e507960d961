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
"""What a job or a webhook runs: a function (version), or an alias.

An alias is stored by name and resolved each time the job or webhook
runs (upstream's semantics), so repointing the alias moves them.
"""

from qinling import exceptions
from qinling.db import api as db_api


def check(ctx, values):
    """Check that the target given at create or update time exists.

    :param values: function_id and function_version, or function_alias.
    :returns: (function_id, function_alias, function_version) to store;
        an alias goes without function id or version.
    """
    function_id = values.get("function_id")
    alias = values.get("function_alias")
    version = values.get("function_version") or 0
    if version < 0:
        raise exceptions.InputException(
            "function_version must be 0 or a positive integer.")
    if alias:
        if function_id or version:
            raise exceptions.InputException(
                "Give either function_alias or function_id (and "
                "function_version), not both.")
        db_api.alias_get(ctx, alias)
        return None, alias, None
    if not function_id:
        raise exceptions.InputException(
            "Either function_alias or function_id must be provided.")
    db_api.function_get(ctx, function_id)
    if version:
        db_api.version_get(ctx, function_id, version)
    return function_id, None, version


def execution_params(row):
    """The target part of an execution request for a job or webhook row.

    A NULL function_version (webhooks made by upstream without one) means
    version 0; upstream crashed on it (its bug 9).
    """
    if row.function_alias:
        return {"function_alias": row.function_alias}
    return {"function_id": row.function_id,
            "function_version": row.function_version or 0}

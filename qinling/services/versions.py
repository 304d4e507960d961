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
"""Function versions: immutable snapshots of a package function.

A version keeps the package, the entry, the limits and the environment
the function had when it was made (upstream kept only the package).
Numbers only grow: a deleted version's number is never given again.
"""

import dataclasses

from qinling import exceptions
from qinling.db import api as db_api

MAX_VERSIONS = 10


class VersionService:

    def __init__(self, engine, storage):
        self._engine = engine
        self._storage = storage

    def create(self, ctx, function_id, description=None):
        """Snapshot the function as its next version.

        :raises NotAllowedException: not a package function, ten versions
            exist already, or the package did not change since the latest.
        """
        function = db_api.function_get(ctx, function_id)
        if function.code.get("source") != "package":
            raise exceptions.NotAllowedException(
                "Function versioning only allowed for package type "
                "function.")
        md5 = function.code["md5sum"]

        def check(session, locked):
            versions = db_api.version_list(ctx, function_id)
            if len(versions) >= MAX_VERSIONS:
                raise exceptions.NotAllowedException(
                    "Can not exceed maximum number(%d) of versions"
                    % MAX_VERSIONS)
            if versions and versions[-1].code["md5sum"] == md5:
                raise exceptions.NotAllowedException(
                    "Function package not changed since the latest version "
                    "%d." % versions[-1].version_number)
            if locked.code["md5sum"] != md5 or \
                    locked.environment != function.environment:
                raise exceptions.ConflictException(
                    "Function %s changed meanwhile; try again." % function_id)

        number = function.latest_version + 1
        self._storage.copy(function.project_id, function_id, md5, number)
        try:
            return db_api.version_create(ctx, function_id, {
                "description": description,
                "code": {"source": "package", "md5sum": md5},
                "entry": function.entry,
                "cpu": function.cpu,
                "memory_size": function.memory_size,
                "timeout": function.timeout,
                "environment": function.environment,
            }, check=check)
        except Exception:
            self._storage.delete(function.project_id, function_id, md5,
                                 number)
            raise

    def get(self, ctx, function_id, number):
        return db_api.version_get(ctx, function_id, number)

    def list(self, ctx, function_id, list_query):
        # The function's visibility decides; its versions are all listed.
        db_api.function_get(ctx, function_id)
        return db_api.version_list(
            ctx, function_id, dataclasses.replace(list_query,
                                                  all_projects=True))

    def download(self, ctx, function_id, number):
        """:returns: (version row, readable binary file)."""
        version = db_api.version_get(ctx, function_id, number)
        return version, self._storage.retrieve(
            version.project_id, function_id, version.code["md5sum"], number)

    def delete(self, ctx, function_id, number):
        """:raises NotAllowedException: jobs, webhooks or aliases use it."""
        def check(session, version):
            users = db_api.function_usage(session, function_id, number)
            if users:
                raise exceptions.NotAllowedException(
                    "The function version is still associated with %s."
                    % " and ".join(users))
        version = db_api.version_delete(ctx, function_id, number,
                                        check=check)
        self._storage.delete(version.project_id, function_id,
                             version.code["md5sum"], number)
        self._engine.delete_function(ctx, function_id, number)

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
"""Runtimes: rows the API writes, pools the engine builds."""

from qinling import exceptions
from qinling import notifications
from qinling import states
from qinling.db import api as db_api


class RuntimeService:

    def __init__(self, engine):
        self._engine = engine

    def create(self, ctx, values):
        """Insert a runtime as ``creating`` and ask the engine for its pool.

        :param values: image (required), name, description, is_public,
            trusted.
        :returns: the new runtime row.
        """
        runtime = db_api.runtime_create(
            ctx, dict(values, status=states.CREATING))
        self._engine.create_runtime(ctx, runtime.id)
        notifications.resource_changed(ctx, "runtime", "create", runtime)
        return runtime

    def get(self, ctx, runtime_id):
        return db_api.runtime_get(ctx, runtime_id)

    def list(self, ctx, list_query):
        return db_api.runtime_list(ctx, list_query)

    def update(self, ctx, runtime_id, values):
        """Change name and description; a new image rebuilds the pool.

        The engine rolls back to the previous image if the new one cannot
        run, and says so in ``status_reason``.

        :raises ConflictException: the runtime is not available.
        """
        runtime = db_api.runtime_get(ctx, runtime_id)
        values = {k: v for k, v in values.items()
                  if k in ("name", "description", "image")}
        image = values.pop("image", None)
        if image and image != runtime.image:
            if runtime.status != states.AVAILABLE:
                raise exceptions.ConflictException(
                    "Runtime %s is not available." % runtime_id)
            values.update(image=image, status=states.UPGRADING,
                          status_reason=None)
            if not db_api.runtime_update_by_engine(
                    ctx, runtime_id, values,
                    expected_status=states.AVAILABLE):
                raise exceptions.ConflictException(
                    "Runtime %s is not available." % runtime_id)
            self._engine.update_runtime(ctx, runtime_id, image,
                                        runtime.image)
        elif values:
            db_api.runtime_update_by_engine(ctx, runtime_id, values)
        runtime = db_api.runtime_get(ctx, runtime_id)
        notifications.resource_changed(ctx, "runtime", "update", runtime)
        return runtime

    def get_pool(self, ctx, runtime_id):
        """:returns: ``{"name": id, "capacity": {"total", "available"}}``."""
        db_api.runtime_get(ctx, runtime_id)
        capacity = self._engine.get_runtime_pool(ctx, runtime_id)
        return {"name": runtime_id, "capacity": capacity}

    def delete(self, ctx, runtime_id):
        """Mark the runtime deleting; the engine removes pool and row.

        Deleting a runtime that is already being deleted asks the engine
        again (upstream answered 204 too), so a lost request is repaired;
        once the row is gone it is a 404.

        :raises NotAllowedException: functions still use the runtime.
        """
        runtime = db_api.runtime_mark_deleting(ctx, runtime_id)
        self._engine.delete_runtime(ctx, runtime_id)
        notifications.resource_changed(ctx, "runtime", "delete", runtime)

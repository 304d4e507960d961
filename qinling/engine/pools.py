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
"""This engine's worker pools, following the runtimes table.

Every engine can serve every runtime: a pool is built when the engine
is told of a new runtime (an RPC fanout reaches every engine), when an
execution needs a runtime the engine has no pool for yet, and by a
periodic reconcile that also removes the pools of runtimes that are gone,
so an engine that missed a message catches up within
``[engine]runtime_reconcile_interval`` seconds.
"""

import threading

from oslo_log import log as logging

from qinling import context as qinling_context
from qinling import exceptions
from qinling import states
from qinling.db import api as db_api

LOG = logging.getLogger(__name__)


class RuntimePools:
    """Which runtimes this engine has a pool for, and with which image."""

    def __init__(self, orchestrator):
        self._orchestrator = orchestrator
        self._lock = threading.Lock()
        #: runtime id -> the image its pool runs.
        self._images = {}

    def build(self, runtime):
        """Create the pool of ``runtime`` unless this engine has one, and
        record the outcome on its row.

        :returns: True if the pool can serve executions.
        """
        admin = qinling_context.admin_context()
        with self._lock:
            if runtime.id in self._images:
                return True
            try:
                pool = self._orchestrator.create_pool(
                    runtime.id, runtime.image, runtime.trusted)
            except exceptions.OrchestratorException as e:
                LOG.warning("Runtime %s cannot get a pool: %s", runtime.id,
                            e.message)
                self._images.pop(runtime.id, None)
                db_api.runtime_update_by_engine(
                    admin, runtime.id,
                    {"status": states.ERROR, "status_reason": e.message})
                return False
            self._images[runtime.id] = runtime.image
        if pool.notice:
            LOG.warning("Runtime %s: %s", runtime.id, pool.notice)
        db_api.runtime_update_by_engine(
            admin, runtime.id,
            {"status": states.AVAILABLE, "status_reason": pool.notice})
        return True

    def has(self, runtime_id):
        """Whether this engine has a pool for ``runtime_id``."""
        return runtime_id in self._images

    def ensure(self, runtime_id):
        """Build the pool of ``runtime_id`` unless this engine has one.

        :raises OrchestratorException: the pool cannot be built.
        """
        if runtime_id in self._images:
            return
        try:
            runtime = db_api.runtime_get_by_engine(
                qinling_context.admin_context(), runtime_id)
        except exceptions.DBEntityNotFoundError:
            raise exceptions.OrchestratorException(
                "Runtime %s no longer exists." % runtime_id)
        if runtime_id not in self._images and not self.build(runtime):
            raise exceptions.OrchestratorException(
                "Runtime %s has no worker pool." % runtime_id)

    def updated(self, runtime_id, image):
        """Note that the pool of ``runtime_id`` now runs ``image``."""
        with self._lock:
            if runtime_id in self._images:
                self._images[runtime_id] = image

    def delete(self, runtime_id):
        with self._lock:
            self._orchestrator.delete_pool(runtime_id)
            self._images.pop(runtime_id, None)

    def reconcile(self, retry_errors=False):
        """Bring this engine's pools in line with the runtimes table.

        :param retry_errors: also build the pools of runtimes in ``error``
            (at an engine's start; otherwise each engine would retry a
            broken image every period).
        :returns: the runtime rows, as read.
        """
        admin = qinling_context.admin_context()
        runtimes = db_api.runtime_list_by_engine(admin)
        for runtime in runtimes:
            if runtime.status == states.DELETING:
                self.delete(runtime.id)
                db_api.runtime_delete_by_engine(admin, runtime.id)
            elif runtime.status == states.UPGRADING:
                continue
            elif runtime.id not in self._images:
                if runtime.status != states.ERROR or retry_errors:
                    self.build(runtime)
            elif self._images[runtime.id] != runtime.image:
                self._move(runtime)
        known = {runtime.id for runtime in runtimes}
        for runtime_id in set(self._images) - known:
            LOG.info("Runtime %s is gone; removing its pool", runtime_id)
            self.delete(runtime_id)
        return runtimes

    def _move(self, runtime):
        """Another engine moved ``runtime`` to a new image: follow it."""
        try:
            self._orchestrator.update_pool(runtime.id, runtime.image)
        except exceptions.OrchestratorException as e:
            LOG.warning("Runtime %s cannot move to image %s: %s",
                        runtime.id, runtime.image, e.message)
            return
        self.updated(runtime.id, runtime.image)

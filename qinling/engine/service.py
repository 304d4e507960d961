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
"""The engine service: the orchestrator, the endpoint, the RPC server,
the execution queue's loops, the pools' reconcile and the release of idle
workers."""

import threading

from oslo_log import log as logging
import oslo_messaging as messaging

from qinling import keystone
from qinling import metrics
from qinling import rpc
from qinling.engine import endpoint as engine_endpoint
from qinling.engine import instrumentation
from qinling.orchestrator import base as orchestrator_base
from qinling.storage import base as storage_base

LOG = logging.getLogger(__name__)


class Engine:
    """An engine: build with the config, ``start()``, later ``stop()``."""

    def __init__(self, conf):
        self._conf = conf
        self.orchestrator = instrumentation.InstrumentedOrchestrator(
            orchestrator_base.load(conf.engine.orchestrator, conf))
        trusts = keystone.Keystone(conf) if conf.pecan.auth_enable else None
        self.endpoint = engine_endpoint.EngineEndpoint(
            conf, self.orchestrator, storage_base.load(conf),
            keystone=trusts)
        self._server = None
        self._stopping = threading.Event()
        self._threads = []
        self._collector = None

    def start(self, transport=None):
        """Recover pools, then serve RPC on ``transport`` if one is given.

        Also starts the execution queue's claim and lease loops, the
        thread that follows the runtimes table every
        ``[engine]runtime_reconcile_interval`` seconds and the one that
        releases idle workers every
        ``[engine]function_service_check_interval`` seconds.
        """
        self.endpoint.recover()
        self._collector = metrics.register_workers_collector(
            instrumentation.pool_counter(self.orchestrator))
        self.endpoint.dispatcher.start()
        LOG.info("Engine %s claims executions", self.engine_id)
        self._every("runtime-reconcile",
                    self._conf.engine.runtime_reconcile_interval,
                    self.endpoint.pools.reconcile)
        self._every("idle-worker-expiry",
                    self._conf.engine.function_service_check_interval,
                    self.endpoint.expire_idle_workers)
        if transport is not None:
            self._server = messaging.get_rpc_server(
                transport,
                rpc.engine_target(self._conf, server=self._conf.engine.host),
                [self.endpoint], executor="threading",
                serializer=rpc.ContextSerializer())
            self._server.start()
            LOG.info("Engine listening on topic %s", self._conf.engine.topic)

    @property
    def engine_id(self):
        """The name this engine claims executions under."""
        return self.endpoint.dispatcher.engine_id

    def _every(self, name, interval, func):
        def run():
            while not self._stopping.wait(interval):
                try:
                    func()
                except Exception:
                    LOG.exception("Periodic task %s failed", name)
        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self):
        self._stopping.set()
        if self._server is not None:
            self._server.stop()
            self._server.wait()
        self.endpoint.dispatcher.stop()
        for thread in self._threads:
            thread.join()
        if self._collector is not None:
            metrics.unregister(self._collector)
        self.orchestrator.stop()

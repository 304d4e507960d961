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
"""The one typed RPC client of the engine, and its transports.

Each engine call is one method here, and whether it is a call (wait for the
answer) or a cast (fire and forget) is decided here. Two transports carry
them: oslo.messaging (RabbitMQ in production), and, when the engine runs in
the same process (``qinling-server``), a direct hand-off to the engine
endpoint. The direct path serializes the context exactly as the wire does,
but skips the ``fake://`` driver, whose 50 ms polling would be added to
every execution.
"""

from concurrent import futures
import socket
import threading
import time

from oslo_config import cfg
from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_messaging import opts as messaging_opts

from qinling import context as qinling_context

LOG = logging.getLogger(__name__)

#: 1.1: queue_execution; fanout casts of runtime and function changes.
API_VERSION = "1.1"
ALLOWED_EXMODS = ["qinling.exceptions"]


def register_transport_opts(conf):
    for group, opts in messaging_opts.list_opts():
        if group in (None, "DEFAULT"):
            conf.register_opts(opts)


def transport_configured(conf):
    """Whether ``[DEFAULT]transport_url`` was set to name a message bus.

    oslo.messaging's own default (``rabbit://``) does not count: the
    all-in-one must not start looking for a RabbitMQ nobody configured.
    """
    register_transport_opts(conf)
    if not conf.transport_url:
        return False
    location = conf.get_location("transport_url")
    return location is not None and \
        location.location != cfg.Locations.opt_default


class ContextSerializer(messaging.Serializer):
    """Carries :class:`qinling.context.Context` as a dict."""

    def __init__(self):
        self._base = messaging.JsonPayloadSerializer()

    def serialize_entity(self, ctxt, entity):
        return self._base.serialize_entity(ctxt, entity)

    def deserialize_entity(self, ctxt, entity):
        return self._base.deserialize_entity(ctxt, entity)

    def serialize_context(self, ctxt):
        return ctxt.to_dict()

    def deserialize_context(self, ctxt):
        return qinling_context.Context.from_dict(ctxt)


def get_transport(conf):
    register_transport_opts(conf)
    return messaging.get_rpc_transport(
        conf, allowed_remote_exmods=ALLOWED_EXMODS)


def engine_target(conf, server=None):
    return messaging.Target(topic=conf.engine.topic, server=server,
                            version=API_VERSION)


class _MessagingCaller:
    """Calls and casts over oslo.messaging.

    A call first checks that a host of the message bus accepts
    connections (at most every ``PROBE_CACHE`` seconds while it does), so
    that a bus that is down fails the caller at once: oslo.messaging
    would retry its connection, past the call's timeout. A call that
    still gets no answer within its timeout (and ``CALL_GRACE``) raises
    MessagingTimeout whatever the driver does meanwhile.
    Casts are sent from a few background threads, so the caller never
    waits for the bus: every cast is either a wake-up for work the
    database already holds, or something the engines also catch up with
    by themselves (runtimes are reconciled, idle workers expire); up to
    ``MAX_PENDING_CASTS`` wait to be sent, further ones are dropped.
    """

    remote = True
    CALL_RETRY = 0
    CALL_GRACE = 5
    CAST_RETRY = 2
    MAX_PENDING_CASTS = 1000
    PROBE_TIMEOUT = 1.0
    PROBE_CACHE = 2.0

    def __init__(self, conf, transport):
        self._client = messaging.get_rpc_client(
            transport, engine_target(conf), serializer=ContextSerializer())
        self._default_timeout = conf.rpc_response_timeout
        self._hosts = [(host.hostname, host.port or 5672)
                       for host in messaging.TransportURL.parse(
                           conf, conf.transport_url).hosts]
        self._reached_at = None
        self._sender = futures.ThreadPoolExecutor(
            max_workers=4, thread_name_prefix="rpc-cast")
        self._callers = futures.ThreadPoolExecutor(
            max_workers=256, thread_name_prefix="rpc-call")
        self._pending = 0
        self._lock = threading.Lock()

    def _bus_reachable(self):
        now = time.monotonic()
        if self._reached_at is not None and \
                now - self._reached_at < self.PROBE_CACHE:
            return True
        for host, port in self._hosts or [("127.0.0.1", 5672)]:
            try:
                socket.create_connection(
                    (host, port), timeout=self.PROBE_TIMEOUT).close()
            except OSError:
                continue
            self._reached_at = now
            return True
        self._reached_at = None
        return False

    def call(self, ctx, method, timeout=None, **kwargs):
        """:raises MessageDeliveryFailure: the message bus is down.
        :raises MessagingTimeout: no answer in time."""
        if not self._bus_reachable():
            raise messaging.MessageDeliveryFailure(
                "No host of the message bus accepts connections.")
        timeout = timeout or self._default_timeout
        client = self._client.prepare(timeout=timeout,
                                      retry=self.CALL_RETRY)
        future = self._callers.submit(client.call, ctx, method, **kwargs)
        try:
            return future.result(timeout + self.CALL_GRACE)
        except futures.TimeoutError:
            raise messaging.MessagingTimeout(
                "No answer to %s within %s seconds." % (method, timeout))

    def cast(self, ctx, method, fanout=False, **kwargs):
        with self._lock:
            if self._pending >= self.MAX_PENDING_CASTS:
                LOG.warning("Dropping the %s cast: %d casts wait for the "
                            "message bus", method, self._pending)
                return
            self._pending += 1
        self._sender.submit(self._send, ctx, method, fanout, kwargs)

    def _send(self, ctx, method, fanout, kwargs):
        try:
            self._client.prepare(fanout=fanout, retry=self.CAST_RETRY).cast(
                ctx, method, **kwargs)
        except Exception as e:
            LOG.warning("Cannot send the %s cast to the engines: %s",
                        method, e)
        finally:
            with self._lock:
                self._pending -= 1

    def shutdown(self):
        self._sender.shutdown(wait=False)
        self._callers.shutdown(wait=False)


class _LocalCaller:
    """Hands calls to an engine endpoint living in this process.

    Casts run on a thread pool, so, as over a message bus, the caller does
    not wait for them. There is one engine: a fanout reaches it alone.
    """

    remote = False

    def __init__(self, endpoint, max_workers=64):
        self._endpoint = endpoint
        self._serializer = ContextSerializer()
        self._pool = futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="engine-cast")

    def _invoke(self, ctx, method, kwargs):
        # Serialize as the wire would, so both paths see the same context.
        engine_ctx = self._serializer.deserialize_context(
            self._serializer.serialize_context(ctx))
        return getattr(self._endpoint, method)(engine_ctx, **kwargs)

    def call(self, ctx, method, timeout=None, **kwargs):
        return self._invoke(ctx, method, kwargs)

    def cast(self, ctx, method, fanout=False, **kwargs):
        self._pool.submit(self._invoke, ctx, method, kwargs)

    def shutdown(self):
        self._pool.shutdown(wait=True)


class EngineClient:
    """The engine's RPC API, one method per engine operation."""

    def __init__(self, caller):
        self._caller = caller

    @classmethod
    def over_messaging(cls, conf, transport):
        return cls(_MessagingCaller(conf, transport))

    @classmethod
    def in_process(cls, endpoint):
        return cls(_LocalCaller(endpoint))

    @property
    def remote(self):
        """Whether the engines are other processes, over the message bus."""
        return self._caller.remote

    def close(self):
        """Wait for the casts this process still runs (in-process only)."""
        self._caller.shutdown()

    def create_runtime(self, ctx, runtime_id):
        """Every engine builds its pool of the runtime."""
        self._caller.cast(ctx, "create_runtime", fanout=True,
                          runtime_id=runtime_id)

    def delete_runtime(self, ctx, runtime_id):
        """Every engine removes its pool of the runtime."""
        self._caller.cast(ctx, "delete_runtime", fanout=True,
                          runtime_id=runtime_id)

    def create_execution(self, ctx, execution_id, sync, timeout):
        """Run a queued execution; wait for it when ``sync``.

        A sync execution is a call: the engine it reaches claims and runs
        it. An async one is a cast that only wakes an engine up; the
        execution is already queued in the database, so a cast that is
        lost only delays it until an engine's claim loop takes it.

        :param timeout: seconds to wait for a sync execution's answer.
        :returns: for a sync execution this call ended, the columns the
            engine wrote (``status``, ``result``, ``logs``, ``cpu_time``,
            ``memory_peak``, ``updated_at`` as ISO 8601 text); None
            otherwise (a cast; an execution that had already ended; an
            engine that does not say).
        :raises oslo_messaging.MessagingTimeout: no answer in time.
        :raises oslo_messaging.MessageDeliveryFailure: the message bus
            cannot be reached.
        """
        if sync:
            return self._caller.call(ctx, "create_execution",
                                     timeout=timeout,
                                     execution_id=execution_id)
        self._caller.cast(ctx, "queue_execution", execution_id=execution_id)
        return None

    def update_runtime(self, ctx, runtime_id, image, pre_image):
        """Every engine moves its pool of the runtime to ``image``."""
        self._caller.cast(ctx, "update_runtime", fanout=True,
                          runtime_id=runtime_id, image=image,
                          pre_image=pre_image)

    def get_runtime_pool(self, ctx, runtime_id):
        """:returns: ``{"total": N, "available": M}``."""
        return self._caller.call(ctx, "get_runtime_pool",
                                 runtime_id=runtime_id)

    def delete_function(self, ctx, function_id, function_version=0):
        """Release the workers of a function version (detach), on every
        engine."""
        self._caller.cast(ctx, "delete_function", fanout=True,
                          function_id=function_id,
                          function_version=function_version)

    def scaleup_function(self, ctx, function_id, function_version, count):
        self._caller.cast(ctx, "scaleup_function", function_id=function_id,
                          function_version=function_version, count=count)

    def scaledown_function(self, ctx, function_id, function_version, count):
        """Every engine releases up to ``count`` of its workers of the
        function version, keeping one."""
        self._caller.cast(ctx, "scaledown_function", fanout=True,
                          function_id=function_id,
                          function_version=function_version, count=count)

    def list_workers(self, ctx, function_id, function_version):
        """The workers of the engine the call reaches (with several
        engines, each holds its own).

        :returns: ``[{"function_id", "function_version",
        "worker_name"}]``."""
        return self._caller.call(ctx, "list_workers", function_id=function_id,
                                 function_version=function_version)

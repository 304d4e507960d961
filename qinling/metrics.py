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
"""Prometheus metrics of the API and the engine (prometheus-client).

Every process registers the metrics below in the default registry; a
metric a process does not touch stays empty there. ``qinling-server``
(API and engine in one process) serves them all at ``/metrics`` on the
API's port; ``qinling-api`` serves the API's, and ``qinling-engine`` the
engine's on ``[metrics]engine_port``. doc/source/admin/metrics.rst lists
them with example queries.
"""

import functools
import re

import oslo_messaging as messaging
import prometheus_client
from prometheus_client import core

#: seconds; from a warm run of a few milliseconds to the longest timeout.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
                    10, 30, 60, 300, 900)

EXECUTIONS = prometheus_client.Counter(
    "qinling_executions", "Executions that ended, by final status.",
    ["function_id", "status"])
EXECUTION_DURATION = prometheus_client.Histogram(
    "qinling_execution_duration_seconds",
    "Seconds an execution ran, as its worker measured it.",
    ["runtime_id"], buckets=DURATION_BUCKETS)
RUNNING = prometheus_client.Gauge(
    "qinling_executions_running",
    "Executions this engine is running now.", ["runtime_id"])
COLD_STARTS = prometheus_client.Counter(
    "qinling_cold_starts",
    "Workers claimed from a runtime's free pool and loaded with a "
    "function's package, because the function version had none (a first "
    "execution) or needed one more (a scale-up).", ["runtime_id"])
POOL_REFILL = prometheus_client.Histogram(
    "qinling_pool_refill_seconds",
    "Seconds to start one worker of a runtime's free pool.",
    ["runtime_id"], buckets=DURATION_BUCKETS)
RPC_ERRORS = prometheus_client.Counter(
    "qinling_rpc_errors",
    "Engine calls from this process that failed on the message bus "
    "(no engine answered in time, or the bus refused).",
    ["method", "error"])
WEBHOOK_REFUSED = prometheus_client.Counter(
    "qinling_webhook_deliveries_refused",
    "Webhook invocations refused before an execution was made.",
    ["reason"])
API_REQUESTS = prometheus_client.Counter(
    "qinling_api_requests", "Requests the API answered.",
    ["method", "route", "status"])
API_TIME_TO_FIRST_BYTE = prometheus_client.Histogram(
    "qinling_api_time_to_first_byte_seconds",
    "Seconds from a request's arrival to its response's status line "
    "(for a synchronous execution: the whole run).",
    ["method", "route"], buckets=DURATION_BUCKETS)

_ID = re.compile(r"/[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                 r"[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}(?=/|$)")
_NUMBER = re.compile(r"/\d+(?=/|$)")
_KNOWN = re.compile(r"^/(v1(/[a-z_]+)?)?")


def route(path):
    """The route of a request path, with ids and numbers as placeholders,
    so that labels stay few (``/v1/functions/{id}/versions/{n}``).

    An alias name in ``/v1/aliases/<name>`` is a placeholder too; a path
    outside the API is ``other``.
    """
    path = path.rstrip("/") or "/"
    path = _ID.sub("/{id}", path)
    path = _NUMBER.sub("/{n}", path)
    if path.startswith("/v1/aliases/"):
        path = "/v1/aliases/{name}"
    if path in ("/", "/healthcheck", "/metrics") or path.startswith("/v1"):
        return path if len(path) < 80 else _KNOWN.match(path).group(0)
    return "other"


def exposition(accept_header=None):
    """``(body, content_type)`` of every registered metric."""
    encoder, content_type = prometheus_client.exposition.choose_encoder(
        accept_header or "")
    return encoder(prometheus_client.REGISTRY), content_type


def serve(host, port):
    """Serve the metrics on their own port, in a thread.

    :returns: the port listened on.
    """
    server, _thread = prometheus_client.start_http_server(port, addr=host)
    return server.server_port


class WorkersCollector:
    """``qinling_workers{runtime_id, state}``: the free and claimed
    workers of each runtime, counted at scrape time.

    :param pools: callable returning ``{runtime_id: (total, free)}``.
    """

    def __init__(self, pools):
        self._pools = pools

    def describe(self):
        return []

    def collect(self):
        family = core.GaugeMetricFamily(
            "qinling_workers", "Workers of a runtime's pool: free ones "
            "wait for a function, claimed ones serve one.",
            labels=["runtime_id", "state"])
        for runtime_id, (total, free) in sorted(self._pools().items()):
            family.add_metric([runtime_id, "free"], free)
            family.add_metric([runtime_id, "claimed"], max(total - free, 0))
        yield family


def register_workers_collector(pools):
    """Count workers with ``pools`` (see :class:`WorkersCollector`)."""
    collector = WorkersCollector(pools)
    prometheus_client.REGISTRY.register(collector)
    return collector


class RpcErrorCounter:
    """An engine RPC client whose calls count their message bus errors in
    ``qinling_rpc_errors``.

    :param client: a :class:`qinling.rpc.EngineClient`.
    """

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        @functools.wraps(attr)
        def counted(*args, **kwargs):
            try:
                return attr(*args, **kwargs)
            except messaging.MessagingException as e:
                RPC_ERRORS.labels(name, e.__class__.__name__).inc()
                raise
        return counted


def unregister(collector):
    prometheus_client.REGISTRY.unregister(collector)


def execution_ended(loaded, final):
    """Count an execution the engine just ended, and how long it ran.

    :param loaded: the ``db.api.ExecutionToRun`` it ran.
    :param final: the columns the engine wrote.
    """
    execution, function = loaded.execution, loaded.function
    EXECUTIONS.labels(execution.function_id or "", final["status"]).inc()
    duration = (final.get("result") or {}).get("duration")
    if function is not None and isinstance(duration, (int, float)):
        EXECUTION_DURATION.labels(function.runtime_id).observe(duration)

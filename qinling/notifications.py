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
"""Usage and resource notifications (oslo.messaging's notifier).

With ``[oslo_messaging_notifications]driver`` set (``messagingv2``) the
service sends, with ``publisher_id`` ``qinling.<host>``:

* ``execution.end`` for every execution the engine ends, with what a
  billing system rates: ``project_id``, ``user_id``, ``function_id``,
  ``function_version``, ``runtime_id``, ``status``, ``duration`` and
  ``cpu_time`` (seconds), ``memory_peak`` and ``memory_size`` (bytes), and
  ``memory_byte_seconds`` (the memory limit times the duration);
* ``<resource>.create.end``, ``<resource>.update.end`` and
  ``<resource>.delete.end`` for runtimes, functions, jobs and webhooks,
  with ``project_id``, ``user_id``, ``resource_id`` and the resource's
  fields.

doc/source/admin/notifications.rst gives the Ceilometer event definitions
that read them. Notifications are handed to a background thread, so no
execution or request waits for the message bus; the last ones are sent
(for a few seconds) when the process stops.
"""

import datetime
import queue
import socket
import threading

from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_messaging import opts as messaging_opts

from qinling import rpc

LOG = logging.getLogger(__name__)

NOTIFICATIONS_GROUP = "oslo_messaging_notifications"
#: notifications waiting for the bus before new ones are dropped.
QUEUE_SIZE = 10000

_lock = threading.Lock()
_sender = None


class _Sender:
    """Sends queued notifications in order, on one thread."""

    def __init__(self, notifier):
        self._notifier = notifier
        self._queue = queue.Queue(QUEUE_SIZE)
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="notifications")
        self._thread.start()

    def put(self, ctx, event_type, payload):
        try:
            self._queue.put_nowait((ctx, event_type, payload))
        except queue.Full:
            LOG.error("Dropped the %s notification: %d notifications wait "
                      "for the message bus", event_type, QUEUE_SIZE)

    def _run(self):
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                ctx, event_type, payload = item
                self._notifier.info(ctx, event_type, payload)
            except Exception:
                LOG.exception("Sending a notification failed")
            finally:
                self._queue.task_done()

    def stop(self, timeout):
        self._queue.put(None)
        self._thread.join(timeout)


class _InlineSender:
    """Sends each notification at once, trying the bus a few times: for a
    WSGI server that may fork after loading the application, where a
    thread started at load would not survive."""

    RETRIES = 2

    def __init__(self, notifier):
        self._notifier = notifier.prepare(retry=self.RETRIES)

    def put(self, ctx, event_type, payload):
        try:
            self._notifier.info(ctx, event_type, payload)
        except Exception:
            LOG.exception("Sending the %s notification failed", event_type)

    def stop(self, timeout):
        """Nothing is queued."""


def init(conf, background=True):
    """Start sending notifications if ``[oslo_messaging_notifications]``
    names a driver; call once per process, before serving.

    :param background: send from a thread (see :class:`_Sender`); else
        inline (see :class:`_InlineSender`).
    """
    global _sender
    rpc.register_transport_opts(conf)
    _register_opts(conf)
    if not conf.oslo_messaging_notifications.driver:
        return
    transport = messaging.get_notification_transport(conf)
    notifier = messaging.Notifier(
        transport, publisher_id="qinling.%s" % socket.gethostname(),
        serializer=rpc.ContextSerializer())
    with _lock:
        if _sender is None:
            _sender = (_Sender if background else _InlineSender)(notifier)


def _register_opts(conf):
    for group, opts in messaging_opts.list_opts():
        if group == NOTIFICATIONS_GROUP:
            conf.register_opts(opts, group=group)


def cleanup(timeout=5):
    """Send what is queued (waiting at most ``timeout`` seconds), then
    stop."""
    global _sender
    with _lock:
        sender, _sender = _sender, None
    if sender is not None:
        sender.stop(timeout)


def notify(ctx, event_type, payload):
    """Queue one notification; nothing happens if they are off."""
    sender = _sender
    if sender is not None:
        sender.put(ctx, event_type, payload)


def _iso(value):
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def execution_ended(ctx, loaded, final):
    """``execution.end`` for an execution the engine just ended.

    :param loaded: the ``db.api.ExecutionToRun`` it ran.
    :param final: the columns the engine wrote.
    """
    if _sender is None:
        return
    execution, function, version = (loaded.execution, loaded.function,
                                    loaded.version)
    limits = version or function
    duration = (final.get("result") or {}).get("duration")
    if not isinstance(duration, (int, float)):
        duration = None
    memory_size = limits.memory_size if limits is not None else None
    notify(ctx, "execution.end", {
        "execution_id": execution.id,
        "resource_id": execution.id,
        "project_id": execution.project_id,
        "user_id": ctx.user_id,
        "function_id": execution.function_id,
        "function_version": execution.function_version,
        "function_alias": execution.function_alias,
        "runtime_id": function.runtime_id if function else None,
        "status": final["status"],
        "sync": execution.sync,
        "created_at": _iso(execution.created_at),
        "ended_at": _iso(final["updated_at"]),
        "duration": duration,
        "cpu_time": final.get("cpu_time"),
        "memory_peak": final.get("memory_peak"),
        "memory_size": memory_size,
        "memory_byte_seconds": (
            memory_size * duration
            if memory_size is not None and duration is not None else None),
    })


#: the columns of each resource a notification carries.
_FIELDS = {
    "runtime": ("name", "description", "image", "status", "is_public",
                "trusted"),
    "function": ("name", "description", "runtime_id", "cpu", "memory_size",
                 "timeout", "entry", "latest_version"),
    "job": ("name", "function_id", "function_version", "function_alias",
            "pattern", "status", "first_execution_time", "next_execution_time",
            "count"),
    "webhook": ("description", "function_id", "function_version",
                "function_alias"),
}


def resource_changed(ctx, resource, action, row):
    """``<resource>.<action>.end`` (``create``, ``update``, ``delete``).

    :param resource: ``runtime``, ``function``, ``job`` or ``webhook``.
    :param row: the resource's row (after the change; before a delete).
    """
    if _sender is None:
        return
    payload = {"resource_id": row.id, "project_id": row.project_id,
               "user_id": ctx.user_id,
               "created_at": _iso(getattr(row, "created_at", None)),
               "updated_at": _iso(getattr(row, "updated_at", None))}
    for field in _FIELDS[resource]:
        payload[field] = _iso(getattr(row, field, None))
    notify(ctx, "%s.%s.end" % (resource, action), payload)

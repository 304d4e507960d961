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
"""A watch cache of the worker pods of one namespace.

One thread lists the pods carrying the ``runtime_id`` label, then watches
them from that list's resourceVersion, and lists again when the watch
expires (410 Gone) or fails. Executions look pods up here, never with an
API call of their own; an engine applies the objects its own patches
return, so it sees its claims before their watch events arrive.
"""

import dataclasses
import threading
import time
import typing

from kubernetes import watch as k8s_watch
from kubernetes.client import exceptions as k8s_exceptions
from oslo_log import log as logging
import urllib3

from qinling.orchestrator.kubernetes import manifests

LOG = logging.getLogger(__name__)

#: Seconds a watch request stays open before it is renewed.
WATCH_SECONDS = 60
#: Seconds to wait before listing again after a failure.
RETRY_DELAY = 1.0

#: Waiting reasons of a container that will not start by itself.
FAILED_REASONS = frozenset((
    "ErrImageNeverPull", "ErrImagePull", "ImagePullBackOff",
    "InvalidImageName", "CrashLoopBackOff", "CreateContainerConfigError",
    "CreateContainerError", "RunContainerError", "ImageInspectError",
))


@dataclasses.dataclass(frozen=True)
class Pod:
    """What the driver needs of a pod."""

    name: str
    resource_version: str
    labels: typing.Dict[str, str]
    ip: typing.Optional[str]
    ready: bool
    deleting: bool
    phase: str
    #: creation time, seconds since the epoch.
    created: float
    #: image of the runtime container.
    image: typing.Optional[str]
    #: ``Reason: message`` of a container that cannot start, or None.
    failure: typing.Optional[str]
    #: ``Reason: message`` of why the pod is not running yet, or None.
    pending: typing.Optional[str]

    @property
    def state(self):
        return self.labels.get(manifests.LABEL_STATE)

    def serves(self, function_id, version):
        return (self.labels.get(manifests.LABEL_FUNCTION) == function_id
                and self.labels.get(manifests.LABEL_VERSION) == str(version))

    @property
    def usable(self):
        return self.ready and bool(self.ip) and not self.deleting


def pod_from(obj):
    """A :class:`Pod` of a ``V1Pod``."""
    meta, spec, status = obj.metadata, obj.spec, obj.status
    conditions = {c.type: c for c in (status.conditions or [])}
    ready = (status.phase == "Running" and "Ready" in conditions
             and conditions["Ready"].status == "True")
    image = next((c.image for c in spec.containers
                  if c.name == manifests.RUNTIME_CONTAINER),
                 spec.containers[0].image if spec.containers else None)
    failure = pending = None
    for cs in (status.container_statuses or []):
        waiting = cs.state.waiting if cs.state else None
        if waiting and waiting.reason:
            text = f"{waiting.reason}: {waiting.message or ''}".rstrip(": ")
            if waiting.reason in FAILED_REASONS:
                failure = failure or text
            else:
                pending = pending or text
    scheduled = conditions.get("PodScheduled")
    if scheduled is not None and scheduled.status == "False":
        pending = f"{scheduled.reason}: {scheduled.message or ''}".rstrip(
            ": ")
    created = meta.creation_timestamp.timestamp() \
        if meta.creation_timestamp else 0.0
    return Pod(name=meta.name, resource_version=meta.resource_version,
               labels=dict(meta.labels or {}), ip=status.pod_ip,
               ready=ready, deleting=meta.deletion_timestamp is not None,
               phase=status.phase or "Pending", created=created,
               image=image, failure=failure, pending=pending)


def _newer(a, b):
    """Whether resourceVersion ``a`` is newer than ``b`` (they are opaque
    strings, but etcd's are integers)."""
    try:
        return int(a) > int(b)
    except (TypeError, ValueError):
        return a != b


class PodCache:
    """The worker pods of a namespace, kept up to date by a watch.

    :param core: a ``CoreV1Api``.
    :param namespace: the namespace to watch.
    """

    def __init__(self, core, namespace):
        self._core = core
        self._namespace = namespace
        self._pods = {}
        self._changed = threading.Condition()
        self._synced = threading.Event()
        self._stopped = threading.Event()
        self._watch = None
        self._thread = threading.Thread(target=self._run,
                                        name="kubernetes-pod-cache",
                                        daemon=True)

    def start(self, timeout):
        """Start watching; returns once the first list is in.

        :returns: False if the first list did not come within ``timeout``.
        """
        self._thread.start()
        return self._synced.wait(timeout)

    def stop(self):
        self._stopped.set()
        watch = self._watch
        if watch is not None:
            watch.stop()
        self._thread.join(timeout=5)

    def get(self, name):
        with self._changed:
            return self._pods.get(name)

    def pods(self, predicate=None):
        """Pods matching ``predicate``, oldest first."""
        with self._changed:
            found = [p for p in self._pods.values()
                     if predicate is None or predicate(p)]
        return sorted(found, key=lambda p: (p.created, p.name))

    def wait(self, predicate, timeout):
        """Wait until some pod matches ``predicate``.

        :returns: the matching pods, oldest first; empty after ``timeout``.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [p for p in self._pods.values() if predicate(p)]
                left = deadline - time.monotonic()
                if found or left <= 0 or self._stopped.is_set():
                    return sorted(found, key=lambda p: (p.created, p.name))
                self._changed.wait(min(left, 1.0))

    def apply(self, obj):
        """Take a pod object the API returned (a patch's answer)."""
        self._put(pod_from(obj))

    def forget(self, name):
        with self._changed:
            self._pods.pop(name, None)
            self._changed.notify_all()

    def _put(self, pod):
        with self._changed:
            old = self._pods.get(pod.name)
            if old is None or _newer(pod.resource_version,
                                     old.resource_version):
                self._pods[pod.name] = pod
                self._changed.notify_all()

    def _run(self):
        while not self._stopped.is_set():
            try:
                version = self._list()
                self._synced.set()
                self._follow(version)
            except (k8s_exceptions.ApiException, urllib3.exceptions.HTTPError,
                    OSError, ValueError) as e:
                if self._stopped.is_set():
                    return
                LOG.warning("Watching the pods of namespace %s: %s; "
                            "listing again", self._namespace, e)
                self._stopped.wait(RETRY_DELAY)
            except Exception:
                # The cache must outlive any surprise in an event.
                if self._stopped.is_set():
                    return
                LOG.exception("Watching the pods of namespace %s failed; "
                              "listing again", self._namespace)
                self._stopped.wait(RETRY_DELAY)

    def _list(self):
        listing = self._core.list_namespaced_pod(
            self._namespace, label_selector=manifests.LABEL_RUNTIME,
            _request_timeout=30)
        pods = {o.metadata.name: pod_from(o) for o in listing.items}
        with self._changed:
            self._pods = pods
            self._changed.notify_all()
        return listing.metadata.resource_version

    def _follow(self, version):
        """Apply watch events until the watch expires or fails."""
        while not self._stopped.is_set():
            self._watch = k8s_watch.Watch()
            for event in self._watch.stream(
                    self._core.list_namespaced_pod, self._namespace,
                    label_selector=manifests.LABEL_RUNTIME,
                    resource_version=version,
                    allow_watch_bookmarks=True,
                    timeout_seconds=WATCH_SECONDS,
                    _request_timeout=WATCH_SECONDS + 10):
                kind, obj = event["type"], event["object"]
                if kind == "ERROR":
                    # 410 Gone: the version is too old; list again.
                    raise ValueError(f"watch error {event.get('raw_object')}")
                if kind == "BOOKMARK":
                    # Only a resourceVersion, left undecoded by the client.
                    raw = event.get("raw_object") or {}
                    version = (raw.get("metadata") or {}).get(
                        "resourceVersion") or version
                    continue
                version = obj.metadata.resource_version
                if kind == "DELETED":
                    self.forget(obj.metadata.name)
                else:
                    self._put(pod_from(obj))
                if self._stopped.is_set():
                    return
            version = self._watch.resource_version or version

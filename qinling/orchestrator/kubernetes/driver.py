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
"""The Kubernetes orchestrator: worker pods with a package sidecar.

A runtime's pool is an apps/v1 Deployment of free pods. A pod is claimed for
a function version by a label patch conditioned on its resourceVersion, so
two engines sharing the cluster never claim the same pod; the claimed pod
leaves the Deployment's selector and the ReplicaSet starts a free one in
its place. The engine then pushes the function's package to the pod's
sidecar (``PUT /packages/<function_id>?md5=``): pods get no credentials and
need no route to the API or the package storage. Pods are reached by pod
IP; per-execution lookups come from :mod:`.cache`, a watch cache.

Who serves what lives in pod labels (see :mod:`.manifests`), so another
engine, or this one after a restart, sees it.
"""

import collections
import http.client
import threading
import time
import urllib.parse

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client import exceptions as k8s_exceptions
from oslo_log import log as logging
import urllib3

from qinling import exceptions
from qinling.orchestrator import base
from qinling.orchestrator import worker_client
from qinling.orchestrator.kubernetes import cache as pod_cache
from qinling.orchestrator.kubernetes import manifests

LOG = logging.getLogger(__name__)

DIED_MESSAGE = "The worker running the execution died unexpectedly."
#: Seconds between two looks at a rollout.
ROLLOUT_POLL = 0.5
#: Seconds the first list of pods may take at start-up.
SYNC_TIMEOUT = 30
#: Seconds a package upload to a sidecar may take.
UPLOAD_TIMEOUT = 60
#: Seconds to wait for a pod another engine is loading with the package.
PEER_LOAD_WAIT = 30


def api_client(conf):
    """A Kubernetes ``ApiClient`` from the ``[kubernetes]`` options."""
    kconf = conf.kubernetes
    configuration = k8s_client.Configuration()
    if kconf.kube_host:
        configuration.host = kconf.kube_host
        if kconf.use_api_certificate:
            configuration.ssl_ca_cert = kconf.ssl_ca_cert or None
            configuration.cert_file = kconf.cert_file or None
            configuration.key_file = kconf.key_file or None
        else:
            configuration.verify_ssl = False
    elif kconf.kubeconfig:
        k8s_config.load_kube_config(config_file=kconf.kubeconfig,
                                    client_configuration=configuration)
    elif kconf.in_cluster:
        k8s_config.load_incluster_config(client_configuration=configuration)
    else:
        k8s_config.load_kube_config(client_configuration=configuration)
    # Executions, claims and uploads run in parallel threads.
    configuration.connection_pool_maxsize = 32
    return k8s_client.ApiClient(configuration)


def _api_error(action, error):
    """An OrchestratorException for a failed API call."""
    if isinstance(error, k8s_exceptions.ApiException):
        LOG.warning("Kubernetes refused to %s: %s %s", action, error.status,
                    error.body)
        return exceptions.OrchestratorException(
            f"Kubernetes refused to {action}: {error.status} "
            f"{error.reason}.")
    LOG.warning("Kubernetes unreachable to %s: %r", action, error)
    return exceptions.OrchestratorException(
        f"The Kubernetes API is not reachable to {action}.")


_API_ERRORS = (k8s_exceptions.ApiException, urllib3.exceptions.HTTPError,
               OSError)


class KubernetesOrchestrator(base.Orchestrator):
    """Runs each runtime's workers as pods of a Kubernetes cluster.

    :param conf: the service's ConfigOpts (``[kubernetes]`` is read).
    :raises OrchestratorException: the cluster cannot be reached or the
        namespace cannot be made ready.
    """

    def __init__(self, conf):
        self._conf = conf
        self._k = conf.kubernetes
        self._ns = self._k.namespace
        try:
            self._api = api_client(conf)
        except (k8s_config.ConfigException, OSError) as e:
            raise exceptions.OrchestratorException(
                f"The Kubernetes client cannot be configured: {e}")
        self._core = k8s_client.CoreV1Api(self._api)
        self._apps = k8s_client.AppsV1Api(self._api)
        self._prepare_namespace()
        self._cache = pod_cache.PodCache(self._core, self._ns)
        if not self._cache.start(SYNC_TIMEOUT):
            raise exceptions.OrchestratorException(
                "The worker pods of the Kubernetes cluster cannot be listed.")
        self._lock = threading.Lock()
        #: running executions of this engine, per pod.
        self._in_flight = collections.Counter()
        self._clients = {}
        self._key_locks = collections.defaultdict(threading.Lock)

    # --- runtimes --------------------------------------------------------

    def create_pool(self, runtime_id, image, trusted):
        """Create the runtime's Deployment (or adopt the one there) and
        wait for its rollout.

        :raises OrchestratorException: the pods do not become ready; the
            message has Kubernetes' reason (``ErrImageNeverPull``,
            ``ImagePullBackOff``, ``Unschedulable``...).
        """
        body = manifests.worker_deployment(self._k, runtime_id, image,
                                           trusted)
        created = False
        try:
            self._apps.create_namespaced_deployment(self._ns, body)
            created = True
        except k8s_exceptions.ApiException as e:
            if e.status != 409:
                raise _api_error("create the runtime's Deployment", e)
            self._replace_deployment(runtime_id, body)
        except _API_ERRORS as e:
            raise _api_error("create the runtime's Deployment", e)
        try:
            self._wait_rollout(runtime_id, image)
        except exceptions.OrchestratorException:
            if created:
                self.delete_pool(runtime_id)
            raise
        LOG.info("Pool of runtime %s ready (Deployment %s/%s)", runtime_id,
                 self._ns, manifests.deployment_name(runtime_id))
        return self._status(trusted)

    def update_pool(self, runtime_id, image):
        """Roll the runtime's Deployment to a new image.

        The old pods stay until new ones are ready (maxUnavailable 0), so
        a new image that cannot run leaves the pool serving; the engine
        then rolls back to the old image. Pods claimed with the old image
        are released once the rollout is done.
        """
        name = manifests.deployment_name(runtime_id)
        try:
            current = self._apps.read_namespaced_deployment(name, self._ns)
        except k8s_exceptions.ApiException as e:
            if e.status == 404:
                raise exceptions.OrchestratorException(
                    f"Runtime {runtime_id} has no pool.")
            raise _api_error("read the runtime's Deployment", e)
        except _API_ERRORS as e:
            raise _api_error("read the runtime's Deployment", e)
        trusted = not current.spec.template.spec.runtime_class_name
        patch = {"spec": {"template": {"spec": {"containers": [
            {"name": manifests.RUNTIME_CONTAINER, "image": image}]}}}}
        try:
            self._apps.patch_namespaced_deployment(name, self._ns, patch)
        except _API_ERRORS as e:
            raise _api_error("update the runtime's Deployment", e)
        self._wait_rollout(runtime_id, image)
        old = self._cache.pods(
            lambda p: p.labels.get(manifests.LABEL_RUNTIME) == runtime_id
            and p.state != manifests.FREE and p.image != image)
        self._delete_pods(old)
        LOG.info("Pool of runtime %s moved to image %s", runtime_id, image)
        return self._status(trusted)

    def delete_pool(self, runtime_id):
        """Delete the Deployment and every pod of the runtime."""
        try:
            self._apps.delete_namespaced_deployment(
                manifests.deployment_name(runtime_id), self._ns,
                propagation_policy="Background")
        except k8s_exceptions.ApiException as e:
            if e.status != 404:
                LOG.warning("Deleting the Deployment of runtime %s: %s",
                            runtime_id, e)
        except _API_ERRORS as e:
            LOG.warning("Deleting the Deployment of runtime %s: %r",
                        runtime_id, e)
        self._delete_collection(f"{manifests.LABEL_RUNTIME}={runtime_id}")

    def get_pool(self, runtime_id):
        try:
            self._apps.read_namespaced_deployment(
                manifests.deployment_name(runtime_id), self._ns)
        except k8s_exceptions.ApiException as e:
            if e.status == 404:
                raise exceptions.OrchestratorException(
                    f"Runtime {runtime_id} has no pool.")
            raise _api_error("read the runtime's Deployment", e)
        except _API_ERRORS as e:
            raise _api_error("read the runtime's Deployment", e)
        pods = self._cache.pods(
            lambda p: p.labels.get(manifests.LABEL_RUNTIME) == runtime_id
            and not p.deleting)
        free = [p for p in pods if p.state == manifests.FREE and p.usable]
        return base.PoolCapacity(total=len(pods), available=len(free))

    # --- functions -------------------------------------------------------

    def prepare_execution(self, function):
        """A pod serving the function version with its package: one
        already serving it (the least busy), else a freshly claimed one.

        Pods of the function version holding another package are
        released.
        """
        base.check_function_id(function.function_id)
        key = (function.function_id, function.function_version)
        with self._key_locks[key]:
            pods = self._cache.pods(
                lambda p: p.serves(*key) and not p.deleting)
            stale = [p for p in pods
                     if p.labels.get(manifests.LABEL_MD5)
                     != function.package_md5]
            if stale:
                self._delete_pods(stale)
            serving = self._serving(function)
            if not serving and any(p.state == manifests.LOADING
                                   for p in pods if p not in stale):
                # Another engine is loading one: wait for it a while.
                self._cache.wait(
                    lambda p: p.serves(*key) and p.usable
                    and p.state == manifests.SERVING, PEER_LOAD_WAIT)
                serving = self._serving(function)
            if serving:
                with self._lock:
                    pod = min(serving, key=lambda p: self._in_flight[p.name])
                return base.WorkerInfo.of(pod.name, function)
            added = self._claim_and_load(function, 1)
        return added[0]

    def scaleup_function(self, function, count):
        """Claim ``count`` free pods for the function version and push its
        package to them."""
        base.check_function_id(function.function_id)
        added = self._claim_and_load(function, count)
        LOG.info("Function %s version %s got %d more worker(s)",
                 function.function_id, function.function_version, len(added))
        return added

    def scaledown_function(self, function_id, version, count):
        """Delete ``count`` pods of the function version, this engine's
        idle ones and the newest first. A deleted pod finishes its running
        executions within the grace period."""
        pods = self._cache.pods(
            lambda p: p.serves(function_id, version) and not p.deleting)
        with self._lock:
            pods.sort(key=lambda p: (self._in_flight[p.name], -p.created))
        chosen = pods[:count]
        self._delete_pods(chosen)
        return [base.WorkerInfo(name=p.name, function_id=function_id,
                                function_version=version) for p in chosen]

    def delete_function(self, function_id, version=0):
        """Delete every pod of the function version."""
        self._delete_collection(
            manifests.function_selector(function_id, version))

    def list_workers(self, function_id, version=0):
        return [base.WorkerInfo(name=p.name, function_id=function_id,
                                function_version=version)
                for p in self._cache.pods(
                    lambda p: p.serves(function_id, version)
                    and not p.deleting and p.state in (manifests.LOADING,
                                                       manifests.SERVING))]

    def run_execution(self, worker, function, request):
        pod = self._cache.get(worker.name)
        if pod is None or pod.deleting or pod.state != manifests.SERVING:
            raise exceptions.OrchestratorException(
                f"Worker {worker.name} is no longer available.")
        client = self._client(pod)
        with self._lock:
            self._in_flight[pod.name] += 1
        start = time.monotonic()
        try:
            answer = client.execute(
                worker_client.request_body(function, request),
                function.timeout)
        except exceptions.OrchestratorException:
            now = self._cache.get(worker.name)
            if now is not None and now.usable:
                raise
            LOG.warning("Worker pod %s went away during an execution",
                        worker.name)
            return base.ExecutionResult(
                success=False, output=DIED_MESSAGE,
                duration=round(time.monotonic() - start, 3))
        finally:
            with self._lock:
                self._in_flight[pod.name] -= 1
                if not self._in_flight[pod.name]:
                    del self._in_flight[pod.name]
        return worker_client.result(answer)

    def stop(self):
        """Stop watching; pods stay, other engines may be using them."""
        self._cache.stop()
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()
        self._api.close()

    # --- helpers ---------------------------------------------------------

    def _status(self, trusted):
        notice = None
        if not trusted and not self._k.untrusted_runtime_class:
            notice = ("The runtime is not trusted, but its pods run without "
                      "a sandboxing RuntimeClass "
                      "([kubernetes]untrusted_runtime_class is not set).")
        return base.PoolStatus(isolated=True, notice=notice)

    def _prepare_namespace(self):
        try:
            self._core.create_namespace(manifests.namespace(self._ns))
        except k8s_exceptions.ApiException as e:
            if e.status not in (409, 403):
                raise _api_error(f"create namespace {self._ns}", e)
        except _API_ERRORS as e:
            raise _api_error(f"create namespace {self._ns}", e)
        policy = manifests.network_policy(self._k)
        networking = k8s_client.NetworkingV1Api(self._api)
        try:
            networking.create_namespaced_network_policy(self._ns, policy)
        except k8s_exceptions.ApiException as e:
            if e.status != 409:
                raise _api_error("create the workers' NetworkPolicy", e)
            networking.replace_namespaced_network_policy(
                manifests.NETWORK_POLICY, self._ns, policy)
        except _API_ERRORS as e:
            raise _api_error("create the workers' NetworkPolicy", e)

    def _replace_deployment(self, runtime_id, body):
        """Adopt an existing Deployment, moving it to ``body``'s spec when
        it differs (an engine restarted with other options)."""
        name = manifests.deployment_name(runtime_id)
        try:
            self._apps.patch_namespaced_deployment(
                name, self._ns, {"spec": body["spec"]})
        except _API_ERRORS as e:
            raise _api_error("update the runtime's Deployment", e)

    def _wait_rollout(self, runtime_id, image):
        """Wait until the Deployment's pods of ``image`` are all ready.

        :raises OrchestratorException: a pod of the new image cannot start,
            the progress deadline passed, or pool_ready_timeout did.
        """
        name = manifests.deployment_name(runtime_id)
        deadline = time.monotonic() + self._k.pool_ready_timeout
        pending = None
        while True:
            try:
                dep = self._apps.read_namespaced_deployment(name, self._ns)
            except _API_ERRORS as e:
                raise _api_error("read the runtime's Deployment", e)
            status, want = dep.status, dep.spec.replicas or 0
            if ((status.observed_generation or 0) >= dep.metadata.generation
                    and (status.updated_replicas or 0) >= want
                    and (status.available_replicas or 0) >= want
                    and (status.replicas or 0) == want
                    and not status.unavailable_replicas):
                return
            for condition in status.conditions or []:
                if (condition.type == "Progressing"
                        and condition.reason == "ProgressDeadlineExceeded"):
                    raise exceptions.OrchestratorException(
                        f"The pods of image {image} did not become ready: "
                        f"{pending or condition.message}")
            new = self._cache.pods(
                lambda p: p.labels.get(manifests.LABEL_RUNTIME) == runtime_id
                and p.state == manifests.FREE and p.image == image
                and not p.deleting)
            for pod in new:
                if pod.failure:
                    raise exceptions.OrchestratorException(
                        f"The pods of image {image} cannot start: "
                        f"{pod.failure}")
                pending = pod.pending or pending
            if time.monotonic() > deadline:
                raise exceptions.OrchestratorException(
                    f"The pods of image {image} did not become ready within "
                    f"{self._k.pool_ready_timeout} seconds"
                    + (f": {pending}" if pending else "."))
            time.sleep(ROLLOUT_POLL)

    def _serving(self, function):
        key = (function.function_id, function.function_version)
        return self._cache.pods(
            lambda p: p.serves(*key) and p.usable
            and p.state == manifests.SERVING
            and p.labels.get(manifests.LABEL_MD5) == function.package_md5)

    def _claim_and_load(self, function, count):
        """Claim up to ``count`` free pods, push the package to them.

        :raises WorkerUnavailable: not one pod could be had and loaded.
        """
        claimed = self._claim(function, count)
        errors, added = [], []
        threads = []
        results = [None] * len(claimed)

        def load(i, pod):
            try:
                results[i] = self._load(pod, function)
            except exceptions.QinlingException as e:
                results[i] = e

        for i, pod in enumerate(claimed):
            t = threading.Thread(target=load, args=(i, pod), daemon=True)
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
        for r in results:
            (errors if isinstance(r, Exception) else added).append(r)
        if not added:
            if errors:
                raise errors[0]
            raise exceptions.WorkerUnavailable(
                f"No worker of runtime {function.runtime_id} is free for "
                f"function {function.function_id} within "
                f"{self._k.worker_wait_timeout} seconds.")
        return added

    def _claim(self, function, count):
        """Claim free pods by a label patch conditioned on each pod's
        resourceVersion; a pod another engine changed first is skipped."""
        runtime_id = function.runtime_id
        deadline = time.monotonic() + self._k.worker_wait_timeout
        claimed, tried = [], set()

        def free(p):
            return (p.labels.get(manifests.LABEL_RUNTIME) == runtime_id
                    and p.state == manifests.FREE and p.usable
                    and (p.name, p.resource_version) not in tried)

        while len(claimed) < count:
            left = deadline - time.monotonic()
            candidates = self._cache.wait(free, max(left, 0))
            if not candidates:
                break
            for pod in candidates:
                if len(claimed) >= count:
                    break
                tried.add((pod.name, pod.resource_version))
                patch = manifests.claim_patch(
                    pod.resource_version, function.function_id,
                    function.function_version, function.package_md5)
                try:
                    obj = self._core.patch_namespaced_pod(
                        pod.name, self._ns, patch)
                except k8s_exceptions.ApiException as e:
                    if e.status in (404, 409):
                        continue  # taken or gone: another engine was first
                    raise _api_error("claim a worker pod", e)
                except _API_ERRORS as e:
                    raise _api_error("claim a worker pod", e)
                self._cache.apply(obj)
                claimed.append(self._cache.get(pod.name) or pod)
        return claimed

    def _load(self, pod, function):
        """Push the package to a claimed pod's sidecar; mark it serving.

        :raises WorkerUnavailable: the package cannot be loaded (the pod
            is released).
        """
        fid = function.function_id
        try:
            with open(function.package_path, "rb") as f:
                data = f.read()
            status, text = _upload(pod.ip, fid, function.package_md5, data)
        except OSError as e:
            status, text = None, str(e) or type(e).__name__
        if status != 200:
            LOG.warning("Loading function %s into pod %s failed: %s %s",
                        fid, pod.name, status, text)
            self._delete_pods([pod])
            raise exceptions.WorkerUnavailable(
                f"The package of function {fid} cannot be loaded: "
                f"{text.strip()}")
        try:
            obj = self._core.patch_namespaced_pod(
                pod.name, self._ns, manifests.serving_patch())
        except _API_ERRORS as e:
            self._delete_pods([pod])
            raise exceptions.WorkerUnavailable(
                _api_error("mark a worker pod serving", e).message)
        self._cache.apply(obj)
        return base.WorkerInfo.of(pod.name, function)

    def _client(self, pod):
        with self._lock:
            client = self._clients.get(pod.name)
            if client is None or client.address != _url(pod.ip):
                client = worker_client.WorkerClient(_url(pod.ip),
                                                    name=pod.name)
                self._clients[pod.name] = client
            return client

    def _delete_pods(self, pods):
        for pod in pods:
            try:
                self._core.delete_namespaced_pod(pod.name, self._ns)
            except k8s_exceptions.ApiException as e:
                if e.status != 404:
                    LOG.warning("Deleting pod %s: %s", pod.name, e)
            except _API_ERRORS as e:
                LOG.warning("Deleting pod %s: %r", pod.name, e)
            self._forget_client(pod.name)

    def _delete_collection(self, selector):
        try:
            self._core.delete_collection_namespaced_pod(
                self._ns, label_selector=selector)
        except _API_ERRORS as e:
            LOG.warning("Deleting the pods %s: %r", selector, e)
        for pod in self._cache.pods():
            if pod.deleting:
                self._forget_client(pod.name)

    def _forget_client(self, name):
        with self._lock:
            client = self._clients.pop(name, None)
        if client is not None:
            client.close()


def _url(ip):
    return f"http://{ip}:{manifests.RUNTIME_PORT}"


def _upload(ip, function_id, md5, data):
    """``PUT`` a package to a pod's sidecar; returns (status, text)."""
    conn = http.client.HTTPConnection(ip, manifests.SIDECAR_PORT,
                                      timeout=UPLOAD_TIMEOUT)
    try:
        path = "/packages/%s?md5=%s" % (urllib.parse.quote(function_id,
                                                           safe=""), md5)
        conn.request("PUT", path, body=data,
                     headers={"Content-Type": "application/zip"})
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()

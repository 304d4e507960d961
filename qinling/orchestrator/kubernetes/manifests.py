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
"""The Kubernetes objects of the Kubernetes orchestrator, as plain dicts.

Only fields that are GA in Kubernetes 1.20 are used (apps/v1,
networking.k8s.io/v1, the seccompProfile field).

Labels carry the state of who serves what, so that every engine sharing the
cluster sees it and an engine restart loses nothing:

* ``runtime_id``: every worker pod of a runtime;
* ``qinling_worker``: ``free`` in the pool (the Deployment's selector),
  ``loading`` once claimed for a function version and while its package is
  pushed, ``serving`` after that. A claimed pod leaves the selector, so the
  ReplicaSet lets it go and starts a free one in its place;
* ``function_id``, ``function_version`` and ``package_md5`` on claimed pods.
"""

LABEL_RUNTIME = "runtime_id"
LABEL_STATE = "qinling_worker"
LABEL_FUNCTION = "function_id"
LABEL_VERSION = "function_version"
LABEL_MD5 = "package_md5"

FREE = "free"
LOADING = "loading"
SERVING = "serving"

RUNTIME_CONTAINER = "worker"
SIDECAR_CONTAINER = "sidecar"
RUNTIME_PORT = 9090
SIDECAR_PORT = 9091
PACKAGES_DIR = "/var/qinling/packages"
NETWORK_POLICY = "qinling-workers"


def deployment_name(runtime_id):
    """The Deployment of a runtime's pool is named after the runtime."""
    return runtime_id


def _security_context(kconf):
    return {
        "runAsNonRoot": True,
        "runAsUser": kconf.run_as_user,
        "runAsGroup": kconf.run_as_user,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _pod_spec(kconf, trusted, containers, volumes):
    spec = {
        "containers": containers,
        "volumes": volumes,
        "restartPolicy": "Always",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": kconf.termination_grace_period,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": kconf.run_as_user,
            "runAsGroup": kconf.run_as_user,
            "fsGroup": kconf.run_as_user,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    if not trusted and kconf.untrusted_runtime_class:
        spec["runtimeClassName"] = kconf.untrusted_runtime_class
    return spec


def _tmp_volume(name, kconf):
    return {"name": name, "emptyDir": {"sizeLimit": kconf.tmp_size_limit}}


def worker_deployment(kconf, runtime_id, image, trusted):
    """The Deployment of a runtime's pool of free worker pods.

    Each pod runs the runtime server (the runtime's image, port 9090) and
    the package sidecar (port 9091, listening on the pod IP so that the
    engine can push packages to it), sharing an emptyDir package volume.

    :param kconf: the ``[kubernetes]`` options.
    """
    labels = {LABEL_RUNTIME: runtime_id, LABEL_STATE: FREE}
    resources = {
        "requests": {"cpu": kconf.worker_cpu_request,
                     "memory": kconf.worker_memory_request},
        "limits": {"cpu": kconf.worker_cpu_limit,
                   "memory": kconf.worker_memory_limit},
    }
    packages = {"name": "packages", "mountPath": PACKAGES_DIR}
    worker = {
        "name": RUNTIME_CONTAINER,
        "image": image,
        "imagePullPolicy": kconf.image_pull_policy,
        "ports": [{"containerPort": RUNTIME_PORT, "name": "runtime"}],
        "env": [{"name": "TMPDIR", "value": "/tmp"},
                {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}],
        "resources": resources,
        "securityContext": _security_context(kconf),
        "volumeMounts": [packages,
                         {"name": "tmp-worker", "mountPath": "/tmp"}],
        "readinessProbe": {
            "httpGet": {"path": "/ping", "port": RUNTIME_PORT},
            "periodSeconds": 2, "timeoutSeconds": 2, "failureThreshold": 2},
    }
    sidecar = {
        "name": SIDECAR_CONTAINER,
        "image": kconf.sidecar_image,
        "imagePullPolicy": kconf.image_pull_policy,
        "command": ["python3", "/opt/qinling/sidecar.py",
                    "--host", "0.0.0.0", "--port", str(SIDECAR_PORT),
                    "--packages", PACKAGES_DIR],
        "ports": [{"containerPort": SIDECAR_PORT, "name": "sidecar"}],
        "env": [{"name": "TMPDIR", "value": "/tmp"},
                {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}],
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"},
                      "limits": {"cpu": "500m", "memory": "256Mi"}},
        "securityContext": _security_context(kconf),
        "volumeMounts": [packages,
                         {"name": "tmp-sidecar", "mountPath": "/tmp"}],
        "readinessProbe": {
            "httpGet": {"path": "/ping", "port": SIDECAR_PORT},
            "periodSeconds": 2, "timeoutSeconds": 2, "failureThreshold": 2},
    }
    volumes = [{"name": "packages", "emptyDir": {"sizeLimit": "1Gi"}},
               _tmp_volume("tmp-worker", kconf),
               _tmp_volume("tmp-sidecar", kconf)]
    template = {
        "metadata": {"labels": dict(labels)},
        "spec": _pod_spec(kconf, trusted, [worker, sidecar], volumes),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": deployment_name(runtime_id),
                     "labels": {LABEL_RUNTIME: runtime_id}},
        "spec": {
            "replicas": kconf.replicas,
            "selector": {"matchLabels": dict(labels)},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxUnavailable": 0,
                                           "maxSurge": 1}},
            "progressDeadlineSeconds": kconf.pool_ready_timeout,
            "revisionHistoryLimit": 2,
            "template": template,
        },
    }


def claim_patch(resource_version, function_id, version, md5):
    """The label patch that claims a free pod, valid only while the pod
    still has ``resource_version`` (a compare-and-swap)."""
    return {"metadata": {
        "resourceVersion": resource_version,
        "labels": {LABEL_STATE: LOADING, LABEL_FUNCTION: function_id,
                   LABEL_VERSION: str(version), LABEL_MD5: md5}}}


def serving_patch():
    return {"metadata": {"labels": {LABEL_STATE: SERVING}}}


def function_selector(function_id, version):
    return f"{LABEL_FUNCTION}={function_id},{LABEL_VERSION}={version}"


def network_policy(kconf):
    """Only the engines reach the worker ports; pods open no connection
    unless ``egress_cidrs`` allows it."""
    source = {"ports": [{"protocol": "TCP", "port": RUNTIME_PORT},
                        {"protocol": "TCP", "port": SIDECAR_PORT}]}
    if kconf.engine_cidrs:
        source["from"] = [{"ipBlock": {"cidr": c}}
                          for c in kconf.engine_cidrs]
    egress = []
    if kconf.egress_cidrs:
        egress = [{"to": [{"ipBlock": {"cidr": c}}
                          for c in kconf.egress_cidrs]}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": NETWORK_POLICY},
        "spec": {
            "podSelector": {"matchExpressions": [
                {"key": LABEL_RUNTIME, "operator": "Exists"}]},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [source],
            "egress": egress,
        },
    }


def namespace(name):
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"name": name}}}

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
"""The objects of the Kubernetes orchestrator: least privilege, labels and
validity against the schemas of current Kubernetes releases (the tests
against a real cluster run Kubernetes 1.20)."""

import datetime
import types

from kubernetes import client as k8s_client
import kubernetes_validate
import pytest

from qinling.orchestrator.kubernetes import cache
from qinling.orchestrator.kubernetes import manifests

VERSIONS = sorted({"1.25.0", kubernetes_validate.latest_version()})


@pytest.fixture
def kconf(conf):
    return conf.kubernetes


def _objects(kconf):
    return [manifests.worker_deployment(kconf, "rt-1", "img:1", True),
            manifests.network_policy(kconf),
            manifests.namespace("qinling")]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_object_is_valid_for_current_kubernetes(kconf, version):
    for obj in _objects(kconf):
        kubernetes_validate.validate(obj, version, strict=True)


def test_worker_pods_run_with_least_privilege(kconf):
    deployment = manifests.worker_deployment(kconf, "rt-1", "img:1", True)
    pod = deployment["spec"]["template"]["spec"]

    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert "runtimeClassName" not in pod
    for container in pod["containers"]:
        sc = container["securityContext"]
        assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"]
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
        writable = {m["mountPath"] for m in container["volumeMounts"]}
        assert writable == {"/tmp", manifests.PACKAGES_DIR}
    assert pod["containers"][0]["resources"]["limits"] == {
        "cpu": kconf.worker_cpu_limit, "memory": kconf.worker_memory_limit}


def test_the_selector_holds_only_free_pods(kconf):
    deployment = manifests.worker_deployment(kconf, "rt-1", "img:1", True)
    selector = deployment["spec"]["selector"]["matchLabels"]
    claim = manifests.claim_patch("42", "f1", 0, "a" * 32)

    assert selector == deployment["spec"]["template"]["metadata"]["labels"]
    assert claim["metadata"]["resourceVersion"] == "42"
    labels = dict(selector, **claim["metadata"]["labels"])
    assert any(labels[k] != v for k, v in selector.items())


def test_untrusted_runtimes_get_the_runtime_class(conf):
    conf.set_override("untrusted_runtime_class", "gvisor",
                      group="kubernetes")
    trusted = manifests.worker_deployment(conf.kubernetes, "r", "i", True)
    untrusted = manifests.worker_deployment(conf.kubernetes, "r", "i", False)

    assert "runtimeClassName" not in trusted["spec"]["template"]["spec"]
    assert untrusted["spec"]["template"]["spec"]["runtimeClassName"] == \
        "gvisor"


def test_the_network_policy_admits_only_the_engines(conf):
    conf.set_override("engine_cidrs", ["10.0.0.0/24"], group="kubernetes")
    policy = manifests.network_policy(conf.kubernetes)["spec"]

    assert policy["ingress"][0]["from"] == [{"ipBlock": {
        "cidr": "10.0.0.0/24"}}]
    assert policy["egress"] == []
    assert policy["policyTypes"] == ["Ingress", "Egress"]


def _pod(waiting=None, phase="Pending", ready=False, unschedulable=False):
    statuses = None
    if waiting:
        statuses = [k8s_client.V1ContainerStatus(
            name="worker", image="img", image_id="", ready=False,
            restart_count=0, state=k8s_client.V1ContainerState(
                waiting=k8s_client.V1ContainerStateWaiting(
                    reason=waiting, message="it went wrong")))]
    conditions = []
    if ready:
        conditions.append(k8s_client.V1PodCondition(type="Ready",
                                                    status="True"))
    if unschedulable:
        conditions.append(k8s_client.V1PodCondition(
            type="PodScheduled", status="False", reason="Unschedulable",
            message="0/1 nodes are available"))
    return k8s_client.V1Pod(
        metadata=k8s_client.V1ObjectMeta(
            name="p1", resource_version="7", labels={"runtime_id": "r"},
            creation_timestamp=datetime.datetime(
                2026, 1, 1, tzinfo=datetime.timezone.utc)),
        spec=k8s_client.V1PodSpec(containers=[
            k8s_client.V1Container(name="worker", image="img")]),
        status=k8s_client.V1PodStatus(phase=phase, pod_ip="10.0.0.5",
                                      conditions=conditions,
                                      container_statuses=statuses))


def test_a_pod_that_cannot_start_has_kubernetes_reason():
    pod = cache.pod_from(_pod(waiting="ErrImageNeverPull"))

    assert pod.failure == "ErrImageNeverPull: it went wrong"
    assert not pod.usable


def test_a_pod_still_starting_is_pending_not_failed():
    creating = cache.pod_from(_pod(waiting="ContainerCreating"))
    unschedulable = cache.pod_from(_pod(unschedulable=True))

    assert creating.failure is None
    assert creating.pending == "ContainerCreating: it went wrong"
    assert unschedulable.pending == "Unschedulable: 0/1 nodes are available"


def test_a_running_ready_pod_is_usable():
    pod = cache.pod_from(_pod(phase="Running", ready=True))

    assert pod.usable and pod.state is None and pod.image == "img"



def test_the_watch_cache_takes_bookmarks_and_keeps_watching(monkeypatch):
    added = _pod(phase="Running", ready=True)
    added.metadata.resource_version = "9"
    pods = cache.PodCache(types.SimpleNamespace(list_namespaced_pod=None),
                          namespace="qinling")
    rounds = []

    class Watch:
        """Two rounds of scripted events: a bookmark, then the pod."""

        resource_version = None

        def stream(self, *args, **kwargs):
            rounds.append(kwargs["resource_version"])
            if len(rounds) == 1:
                yield {"type": "BOOKMARK", "object": {"kind": "Pod"},
                       "raw_object": {"metadata": {"resourceVersion": "8"}}}
            else:
                yield {"type": "ADDED", "object": added, "raw_object": {}}
                pods._stopped.set()

        def stop(self):
            pass

    monkeypatch.setattr(cache.k8s_watch, "Watch", Watch)

    pods._follow("1")

    assert rounds == ["1", "8"]
    assert pods.get("p1").usable

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
"""The Kubernetes orchestrator on a real cluster: a one-node Kubernetes
built and started by ``tools/kubernetes-cluster.sh up``, with the runtime
and sidecar images built by ``tools/kubernetes-images.sh``.

The engine authenticates as the ``qinling`` user, granted only the Role of
``example/kubernetes/qinling-role.yaml`` in a namespace of its own. The
tests are skipped, with the reason, when the cluster is not up.
"""

import hashlib
import json
import os
import subprocess
import threading
import time
import uuid

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes import utils as k8s_utils
import pytest
import yaml

from qinling import conf as qinling_conf
from qinling.orchestrator import base
from qinling.orchestrator.kubernetes import driver as k8s_driver
from qinling.orchestrator.kubernetes import manifests
from tests.functional import api as api_client
from tests.functional import conftest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CLUSTER = os.path.join(REPO, "tools", "kubernetes-cluster.sh")
ROLE = os.path.join(REPO, "example", "kubernetes", "qinling-role.yaml")
PYTHON3 = "openstackqinling/python3-runtime"
NODEJS = "openstackqinling/nodejs-runtime"
#: Seconds a runtime's pods may take to become ready on a loaded node.
RUNTIME_WAIT = 240


def _cluster_kubeconfig():
    try:
        status = subprocess.run(["bash", CLUSTER, "status"], check=False,
                                capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.skip(f"no Kubernetes cluster: {e}")
    if status.returncode != 0:
        pytest.skip("no Kubernetes cluster (tools/kubernetes-cluster.sh "
                    f"up starts one): {status.stdout.strip()}")
    for line in status.stdout.splitlines():
        if line.startswith("export KUBECONFIG="):
            return line.split("=", 1)[1]
    pytest.skip(f"no Kubernetes cluster: {status.stdout.strip()}")


@pytest.fixture(scope="module")
def cluster():
    """``(admin ApiClient, namespace, the qinling user's kubeconfig)``: a
    namespace of this module with the engine's Role bound in it."""
    admin_config = _cluster_kubeconfig()
    admin = k8s_config.new_client_from_config(config_file=admin_config)
    core = k8s_client.CoreV1Api(admin)
    namespace = "qinling-test-" + uuid.uuid4().hex[:8]
    core.create_namespace({"metadata": {"name": namespace}})
    with open(ROLE) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    for doc in docs:
        if doc["kind"] in ("Role", "RoleBinding"):
            doc["metadata"]["namespace"] = namespace
            k8s_utils.create_from_dict(admin, doc, namespace=namespace)
    engine_config = os.path.join(os.path.dirname(admin_config),
                                 "qinling.kubeconfig")
    yield admin, namespace, engine_config
    core.delete_namespace(namespace)
    admin.close()


@pytest.fixture(scope="module")
def kube_api(cluster, tmp_path_factory):
    """An all-in-one qinling-server with [engine]orchestrator = kubernetes."""
    _, namespace, engine_config = cluster
    deployment = conftest._deployment(
        "all-in-one-kubernetes", tmp_path_factory, {
            "engine": {"orchestrator": "kubernetes"},
            "kubernetes": {"kubeconfig": engine_config,
                           "namespace": namespace,
                           "replicas": "2",
                           "worker_cpu_request": "50m",
                           "worker_memory_request": "64Mi",
                           "termination_grace_period": "5",
                           # Only the images imported into the node:
                           # nothing is ever pulled from outside.
                           "image_pull_policy": "Never",
                           "pool_ready_timeout": str(RUNTIME_WAIT)},
        })
    return api_client.Api(deployment.url)


def _runtime(api, image=PYTHON3, trusted=True):
    resp = api.post("/v1/runtimes", json={"image": image, "name": "k8s",
                                          "trusted": trusted})
    assert resp.status_code == 201, resp.text
    return api.wait_runtime(resp.json()["id"], timeout=RUNTIME_WAIT + 30)


@pytest.fixture(scope="module")
def runtime(kube_api):
    runtime = _runtime(kube_api)
    assert runtime["status"] == "available", runtime
    return runtime


def _pods(cluster, selector):
    admin, namespace, _ = cluster
    return k8s_client.CoreV1Api(admin).list_namespaced_pod(
        namespace, label_selector=selector).items


def _live(pods):
    return [p for p in pods if p.metadata.deletion_timestamp is None]


def _workers(api, function_id):
    resp = api.get("/v1/functions/%s/workers" % function_id)
    assert resp.status_code == 200, resp.text
    return [w["worker_name"] for w in resp.json()["workers"]]


def _wait(predicate, timeout=120, what="a condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {timeout}s")


def _output(execution):
    return json.loads(execution["result"])["output"]


def test_runtime_pool_is_a_deployment_of_ready_pods(kube_api, runtime,
                                                    cluster):
    pool = kube_api.get("/v1/runtimes/%s/pool" % runtime["id"]).json()
    assert pool == {"name": runtime["id"],
                    "capacity": {"total": 2, "available": 2}}
    pods = _live(_pods(cluster, f"runtime_id={runtime['id']}"))
    assert len(pods) == 2
    spec = pods[0].spec
    assert spec.automount_service_account_token is False
    assert [c.name for c in spec.containers] == ["worker", "sidecar"]
    for container in spec.containers:
        sc = container.security_context
        assert sc.run_as_non_root and sc.read_only_root_filesystem
        assert sc.allow_privilege_escalation is False
        assert sc.capabilities.drop == ["ALL"]
        assert sc.seccomp_profile.type == "RuntimeDefault"
        assert container.image_pull_policy == "Never"
    assert spec.containers[0].resources.limits["memory"] == "1Gi"


def test_sync_and_async_executions_run_in_a_claimed_pod(kube_api, runtime,
                                                        cluster):
    function = kube_api.create_function(
        runtime["id"], api_client.sample_zip("hello_world"), name="hello")

    execution = kube_api.execute(function["id"], input='{"name": "pod"}')

    assert execution["status"] == "success", execution
    assert _output(execution) == "Hello, pod"
    log = kube_api.get("/v1/executions/%s/log" % execution["id"])
    assert "Hello, pod" in log.text
    async_execution = kube_api.execute(function["id"], sync=False)
    final = kube_api.wait_execution(async_execution["id"], timeout=120)
    assert final["status"] == "success"
    assert _output(final) == "Hello, World"
    # One pod serves the function; it left the Deployment's selector and
    # the pool went back to its two free pods.
    workers = _workers(kube_api, function["id"])
    assert len(workers) == 1
    claimed = _pods(cluster, f"function_id={function['id']}")
    assert [p.metadata.name for p in claimed] == workers
    assert claimed[0].metadata.labels["qinling_worker"] == "serving"
    _wait(lambda: not _pods(cluster, f"function_id={function['id']}")[0]
          .metadata.owner_references, what="the ReplicaSet letting go")
    _wait(lambda: len(_live(_pods(
        cluster, f"runtime_id={runtime['id']},qinling_worker=free"))) == 2,
        what="the pool refilling")


def test_function_exception_and_timeout_fail_the_execution(kube_api,
                                                           runtime):
    failing = kube_api.create_function(
        runtime["id"], api_client.sample_zip("failing"))
    execution = kube_api.execute(failing["id"])
    assert execution["status"] == "failed"
    assert _output(execution) == "this function always fails"

    sleepy = kube_api.create_function(
        runtime["id"], api_client.sample_zip("sleepy"), timeout=1)
    execution = kube_api.execute(sleepy["id"], input='{"seconds": 5}')
    assert execution["status"] == "failed"
    assert _output(execution) == "Function execution timeout."
    again = kube_api.execute(sleepy["id"], input='{"seconds": 0}')
    assert again["status"] == "success"


PROBE = """
import os


def _status(field):
    with open("/proc/self/status") as f:
        return [line.split()[1] for line in f if line.startswith(field)][0]


def main(**kwargs):
    try:
        open("/opt/qinling/planted", "w").close()
        root_write = True
    except OSError:
        root_write = False
    with open("/tmp/scratch", "w") as f:
        f.write("ok")
    return {
        "uid": os.getuid(),
        "root_write": root_write,
        "token": os.path.exists("/var/run/secrets/kubernetes.io"),
        "caps": _status("CapEff:"),
        "no_new_privs": _status("NoNewPrivs:"),
        "seccomp": _status("Seccomp:"),
        "secrets": [k for k in os.environ
                    if "PASSWORD" in k or k.startswith("OS_")],
    }
"""


def test_a_function_in_a_pod_runs_with_least_privilege(kube_api, runtime):
    function = kube_api.create_function(
        runtime["id"], api_client.make_zip({"main.py": PROBE}))

    execution = kube_api.execute(function["id"])

    assert execution["status"] == "success", execution
    assert _output(execution) == {
        "uid": 1000, "root_write": False, "token": False,
        "caps": "0000000000000000", "no_new_privs": "1", "seccomp": "2",
        "secrets": []}


def test_scale_up_and_down_change_the_function_pods(kube_api, runtime,
                                                    cluster):
    function = kube_api.create_function(
        runtime["id"], api_client.sample_zip("hello_world"))
    assert kube_api.execute(function["id"])["status"] == "success"
    assert len(_workers(kube_api, function["id"])) == 1

    resp = kube_api.post("/v1/functions/%s/scale_up" % function["id"],
                         json={"count": 1})
    assert resp.status_code == 202, resp.text
    workers = _wait(lambda: (lambda w: w if len(w) == 2 else None)(
        _workers(kube_api, function["id"])), what="the scale-up")
    assert len(_live(_pods(cluster, f"function_id={function['id']}"))) == 2
    for _ in range(4):
        assert kube_api.execute(function["id"])["status"] == "success"

    resp = kube_api.post("/v1/functions/%s/scale_down" % function["id"],
                         json={"count": 1})
    assert resp.status_code == 202, resp.text
    remaining = _wait(lambda: (lambda w: w if len(w) == 1 else None)(
        _workers(kube_api, function["id"])), what="the scale-down")
    assert remaining[0] in workers
    assert kube_api.execute(function["id"])["status"] == "success"


def test_function_update_runs_the_new_package_on_a_new_pod(kube_api,
                                                           runtime, cluster):
    package = api_client.make_zip(
        {"main.py": "def main(**kwargs):\n    return 'one'\n"})
    function = kube_api.create_function(runtime["id"], package)
    assert _output(kube_api.execute(function["id"])) == "one"
    first = _workers(kube_api, function["id"])

    resp = kube_api.http.put(
        kube_api.url + "/v1/functions/%s" % function["id"],
        files={"package": ("package.zip", api_client.make_zip(
            {"main.py": "def main(**kwargs):\n    return 'two'\n"}))})
    assert resp.status_code == 200, resp.text

    assert _output(kube_api.execute(function["id"])) == "two"
    second = _workers(kube_api, function["id"])
    assert len(second) == 1 and second != first
    _wait(lambda: not _live(_pods(
        cluster, f"function_id={function['id']}"))
        or [p.metadata.name for p in _live(_pods(
            cluster, f"function_id={function['id']}"))] == second,
        what="the old pod going")


def test_deleting_the_function_deletes_its_pods(kube_api, runtime, cluster):
    function = kube_api.create_function(
        runtime["id"], api_client.sample_zip("hello_world"))
    assert kube_api.execute(function["id"])["status"] == "success"
    assert _live(_pods(cluster, f"function_id={function['id']}"))

    resp = kube_api.delete("/v1/functions/%s" % function["id"])
    assert resp.status_code == 204, resp.text

    _wait(lambda: not _live(_pods(cluster,
                                  f"function_id={function['id']}")),
          what="the function's pods going")


def test_nodejs_runtime_runs_a_function(kube_api):
    runtime = _runtime(kube_api, NODEJS)
    assert runtime["status"] == "available", runtime
    package = api_client.make_zip({"main.js": (
        "exports.main = (context, input) => "
        "'Hello, ' + ((input && input.name) || 'World');\n")})
    function = kube_api.create_function(runtime["id"], package,
                                        entry="main.main")
    execution = kube_api.execute(function["id"], input='{"name": "node"}')
    assert execution["status"] == "success", execution
    assert _output(execution) == "Hello, node"


def test_image_that_cannot_run_puts_the_runtime_in_error(kube_api, cluster):
    runtime = _runtime(kube_api, "openstackqinling/no-such-runtime:0")

    assert runtime["status"] == "error"
    assert "ErrImageNeverPull" in runtime["status_reason"], runtime
    # Nothing of the failed pool is left running.
    _wait(lambda: not _live(_pods(cluster, f"runtime_id={runtime['id']}")),
          what="the failed pool's pods going")


def _update_runtime(api, runtime_id, image):
    resp = api.http.put(api.url + "/v1/runtimes/%s" % runtime_id,
                        json={"image": image})
    assert resp.status_code == 200, resp.text
    return _wait(lambda: (lambda r: r if r["status"] != "upgrading" else None)(
        api.get("/v1/runtimes/%s" % runtime_id).json()),
        timeout=RUNTIME_WAIT + 30, what="the runtime update")


def test_runtime_update_rolls_back_from_a_bad_image_and_moves_to_a_good_one(
        kube_api, cluster):
    runtime = _runtime(kube_api)
    assert runtime["status"] == "available", runtime
    function = kube_api.create_function(
        runtime["id"], api_client.sample_zip("hello_world"))
    assert kube_api.execute(function["id"])["status"] == "success"
    first = _workers(kube_api, function["id"])

    failed = _update_runtime(kube_api, runtime["id"],
                             "openstackqinling/no-such-runtime:1")

    assert failed["status"] == "available"
    assert failed["image"] == PYTHON3
    assert "ErrImageNeverPull" in failed["status_reason"], failed
    assert kube_api.execute(function["id"])["status"] == "success"
    assert _workers(kube_api, function["id"]) == first

    moved = _update_runtime(kube_api, runtime["id"], PYTHON3 + ":latest")

    assert moved["status"] == "available", moved
    assert moved["image"] == PYTHON3 + ":latest"
    images = {c.image for p in _live(_pods(
        cluster, f"runtime_id={runtime['id']},qinling_worker=free"))
        for c in p.spec.containers if c.name == "worker"}
    assert images == {PYTHON3 + ":latest"}
    # The function's old pod was released; its next execution gets a new one.
    assert kube_api.execute(function["id"])["status"] == "success"
    assert _workers(kube_api, function["id"]) != first


def test_a_claim_on_a_pod_that_changed_meanwhile_is_refused(runtime,
                                                           cluster):
    admin, namespace, _ = cluster
    core = k8s_client.CoreV1Api(admin)
    pod = _wait(lambda: _live(_pods(
        cluster, f"runtime_id={runtime['id']},qinling_worker=free")),
        what="a free pod")[0]
    seen = pod.metadata.resource_version
    # Someone else changes the pod after this engine saw it...
    core.patch_namespaced_pod(pod.metadata.name, namespace, {
        "metadata": {"annotations": {"touched": "yes"}}})

    # ...so the claim made with what this engine saw fails.
    with pytest.raises(k8s_client.ApiException) as refused:
        core.patch_namespaced_pod(
            pod.metadata.name, namespace,
            manifests.claim_patch(seen, "f-late", 0, "0" * 32))

    assert refused.value.status == 409
    now = core.read_namespaced_pod(pod.metadata.name, namespace)
    assert now.metadata.labels[manifests.LABEL_STATE] == "free"
    assert manifests.LABEL_FUNCTION not in now.metadata.labels


@pytest.fixture
def engine_drivers(cluster, runtime, tmp_path):
    """Two drivers, as two engines sharing the cluster would have."""
    _, namespace, engine_config = cluster
    drivers = []
    for _ in range(2):
        conf = qinling_conf.cfg.ConfigOpts()
        qinling_conf.kubernetes.register_opts(conf)
        conf([], project="qinling", default_config_files=[])
        conf.set_override("kubeconfig", engine_config, group="kubernetes")
        conf.set_override("namespace", namespace, group="kubernetes")
        conf.set_override("replicas", 2, group="kubernetes")
        conf.set_override("worker_wait_timeout", 120, group="kubernetes")
        drivers.append(k8s_driver.KubernetesOrchestrator(conf))
    yield drivers
    for d in drivers:
        d.stop()


def test_two_engines_never_claim_the_same_pod(engine_drivers, runtime,
                                              tmp_path, cluster):
    package = tmp_path / "package.zip"
    package.write_bytes(api_client.sample_zip("hello_world"))
    md5 = hashlib.md5(package.read_bytes()).hexdigest()
    specs = [base.FunctionSpec(
        function_id=f"shared-{uuid.uuid4().hex[:8]}-{i}", function_version=0,
        runtime_id=runtime["id"], project_id="p", entry="main.main",
        timeout=10, cpu=100, memory_size=33554432,
        package_path=str(package), package_md5=md5) for i in range(4)]
    claimed, errors = [], []

    def claim(driver, spec):
        try:
            claimed.append((spec.function_id,
                            driver.scaleup_function(spec, 1)[0].name))
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=claim, args=(engine_drivers[i % 2], s))
               for i, s in enumerate(specs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)

    assert not errors, errors
    names = [name for _, name in claimed]
    assert len(names) == 4 and len(set(names)) == 4
    for function_id, name in claimed:
        pod = [p for p in _pods(cluster, f"function_id={function_id}")]
        assert [p.metadata.name for p in pod] == [name]
        assert pod[0].metadata.labels[manifests.LABEL_STATE] == "serving"
    # Each engine sees the other's claims, and either runs the execution.
    request = base.ExecutionRequest(execution_id="e1", input=None)
    other = engine_drivers[1]
    _wait(lambda: other.list_workers(specs[0].function_id), timeout=30,
          what="the claim reaching the other engine")
    worker = other.prepare_execution(specs[0])
    assert worker.name == claimed[[c[0] for c in claimed].index(
        specs[0].function_id)][1]
    result = other.run_execution(worker, specs[0], request)
    assert result.success and result.output == "Hello, World"
    for spec in specs:
        engine_drivers[0].delete_function(spec.function_id, 0)

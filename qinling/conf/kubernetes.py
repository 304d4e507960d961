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
"""Options of the ``[kubernetes]`` group: the Kubernetes orchestrator."""

from oslo_config import cfg

group = cfg.OptGroup("kubernetes", title="Kubernetes orchestrator options")

opts = [
    cfg.StrOpt(
        "kube_host", default="",
        help="URL of the Kubernetes API server, e.g. "
             "https://k8s.example.com:6443. Empty: take the cluster from "
             "'kubeconfig', or from the pod's service account with "
             "'in_cluster'."),
    cfg.StrOpt(
        "kubeconfig", default="",
        help="A kubeconfig file naming the cluster and the engine's "
             "credentials. Used when kube_host is empty."),
    cfg.BoolOpt(
        "in_cluster", default=False,
        help="Use the service account of the pod the engine runs in. Used "
             "when kube_host and kubeconfig are empty."),
    cfg.StrOpt(
        "namespace", default="qinling",
        help="Namespace of the worker pods; created when missing."),
    cfg.IntOpt(
        "replicas", default=3, min=0, max=1000,
        help="Free worker pods kept in each runtime's pool (the replicas "
             "of its Deployment)."),
    cfg.BoolOpt(
        "use_api_certificate", default=True,
        help="With kube_host: authenticate with the client certificate "
             "cert_file/key_file and check the server against "
             "ssl_ca_cert. False: no client certificate and no server "
             "check (tests only)."),
    cfg.StrOpt(
        "ssl_ca_cert", default="",
        help="With kube_host: the CA bundle the API server's certificate "
             "must chain to."),
    cfg.StrOpt(
        "cert_file", default="",
        help="With kube_host: the engine's client certificate."),
    cfg.StrOpt(
        "key_file", default="",
        help="With kube_host: the private key of cert_file."),
    cfg.StrOpt(
        "sidecar_image", default="openstackqinling/sidecar:latest",
        help="Image of the package sidecar container of every worker pod."),
    cfg.StrOpt(
        "image_pull_policy", default="IfNotPresent",
        choices=["IfNotPresent", "Always", "Never"],
        help="imagePullPolicy of the runtime, sidecar and image-function "
             "containers."),
    cfg.StrOpt(
        "worker_cpu_request", default="100m",
        help="CPU request of a worker pod's runtime container."),
    cfg.StrOpt(
        "worker_cpu_limit", default="1",
        help="CPU limit of a worker pod's runtime container."),
    cfg.StrOpt(
        "worker_memory_request", default="128Mi",
        help="Memory request of a worker pod's runtime container."),
    cfg.StrOpt(
        "worker_memory_limit", default="1Gi",
        help="Memory limit of a worker pod's runtime container; every "
             "execution is also limited inside the pod by the runtime "
             "server."),
    cfg.StrOpt(
        "tmp_size_limit", default="64Mi",
        help="Size limit of the writable /tmp of each worker container."),
    cfg.IntOpt(
        "run_as_user", default=1000, min=1,
        help="Non-root uid the worker containers run as."),
    cfg.StrOpt(
        "untrusted_runtime_class", default="",
        help="RuntimeClass (node.k8s.io/v1) for the pods of runtimes "
             "created with trusted=false, e.g. gvisor or kata. Empty: "
             "untrusted runtimes run like trusted ones."),
    cfg.IntOpt(
        "termination_grace_period", default=30, min=0,
        help="Seconds a released worker pod may take to finish its "
             "running executions before it is killed."),
    cfg.IntOpt(
        "pool_ready_timeout", default=300, min=1,
        help="Seconds a runtime's Deployment may take to become ready "
             "(create or update) before the runtime goes to error."),
    cfg.IntOpt(
        "worker_wait_timeout", default=60, min=1,
        help="Seconds an execution waits for a free worker pod when the "
             "pool is empty, before it fails."),
    cfg.ListOpt(
        "engine_cidrs", default=[],
        help="CIDRs the engines reach worker pods from. The NetworkPolicy "
             "of the namespace admits only them to the worker ports; "
             "empty admits any source."),
    cfg.ListOpt(
        "egress_cidrs", default=[],
        help="CIDRs worker pods may open connections to. Empty: no egress "
             "at all (where the cluster's network plugin enforces "
             "NetworkPolicy)."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group, opts)]

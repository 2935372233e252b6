#!/usr/bin/env bash
# Builds a minimal Debian bookworm image without a registry:
# debootstrap a root file system, then `docker import` it.
#
#   bash docker/base-image.sh [IMAGE]      # default faultmesh-base:bookworm
#
# Does nothing when IMAGE exists already. The mirror is the one apt uses on
# this machine (override with MIRROR=...). The image carries what the rig's
# client and server containers run: ip, ping, iperf3.
set -euo pipefail
IMAGE="${1:-faultmesh-base:bookworm}"
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "base-image: $IMAGE exists"
    exit 0
fi
if [ -z "${MIRROR:-}" ]; then
    MIRROR=$( (grep -rhoE '(URIs:|deb)[[:space:]]+https?://[^[:space:]]+/debian/?' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null || true) |
        head -1 | awk '{print $2}')
    MIRROR="${MIRROR:-http://deb.debian.org/debian}"
fi
command -v debootstrap >/dev/null || { echo "base-image: debootstrap is missing (bash scripts/setup)" >&2; exit 1; }
DIR=$(mktemp -d /var/tmp/faultmesh-base.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
echo "base-image: debootstrap bookworm from $MIRROR into $DIR"
start=$(date +%s)
debootstrap --variant=minbase --include=iproute2,iputils-ping,iperf3 bookworm "$DIR" "$MIRROR" >"$DIR.log" 2>&1 ||
    { tail -20 "$DIR.log" >&2; rm -f "$DIR.log"; exit 1; }
rm -f "$DIR.log"
rm -rf "$DIR"/var/cache/apt/archives/*.deb "$DIR"/var/lib/apt/lists/*
tar -C "$DIR" -c . | docker import -c 'CMD ["/bin/bash"]' - "$IMAGE" >/dev/null
echo "base-image: built $IMAGE in $(($(date +%s) - start)) s"

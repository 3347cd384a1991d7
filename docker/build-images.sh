#!/bin/bash
# Builds the swarm-spoa images in the local dockerd, from the repository root
# as build context:
#
#   swarm-spoa/agent     docker/Dockerfile.agent
#   swarm-spoa/haproxy   docker/Dockerfile.haproxy
#   swarm-spoa/echo      docker/Dockerfile.echo (the test and demo backend)
#
# each tagged :$SWARM_SPOA_TAG (default dev) and :latest. The base image is
# made first when missing (docker/base-image.sh). Docker's build cache is
# reused: a second run with no source change takes seconds.
#
# Usage: docker/build-images.sh [agent|haproxy|echo]...   (default: all three)
#
# Environment:
#   DOCKER                     docker client (default /usr/bin/docker)
#   SWARM_SPOA_TAG             tag besides :latest (default dev)
#   SWARM_SPOA_BASE_IMAGE      base image (default debian:bookworm-slim)
#   SWARM_SPOA_BUILD_NETWORK   passed as `docker build --network`: set it to
#                              "host" where containers cannot reach the Debian
#                              mirror through docker0 (see docker/README.md)
#   DOCKER_BUILDKIT            1 (default) or 0 for the classic builder
set -euo pipefail

DOCKER=${DOCKER:-/usr/bin/docker}
TAG=${SWARM_SPOA_TAG:-dev}
BASE_IMAGE=${SWARM_SPOA_BASE_IMAGE:-debian:bookworm-slim}
export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-1}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

log() { echo "build-images: $*"; }
die() { echo "build-images: error: $*" >&2; exit 1; }

images=("$@")
[ ${#images[@]} -gt 0 ] || images=(agent haproxy echo)
for name in "${images[@]}"; do
	case "$name" in
		agent|haproxy|echo) ;;
		-h|--help) sed -n '2,24p' "$0"; exit 0 ;;
		*) die "unknown image '$name' (agent, haproxy or echo)" ;;
	esac
done

SWARM_SPOA_BASE_IMAGE=$BASE_IMAGE DOCKER=$DOCKER "$here/base-image.sh"

build_args=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
[ -z "${SWARM_SPOA_BUILD_NETWORK:-}" ] || build_args+=(--network "$SWARM_SPOA_BUILD_NETWORK")
[ "$DOCKER_BUILDKIT" = 0 ] || build_args+=(--progress plain)

logdir=${SWARM_SPOA_BUILD_LOGS:-${TMPDIR:-/tmp}/swarm-spoa-build}
mkdir -p "$logdir"
total_start=$(date +%s)
for name in "${images[@]}"; do
	start=$(date +%s)
	out=$logdir/$name.log
	log "building swarm-spoa/$name:$TAG (log: $out)"
	if ! "$DOCKER" build "${build_args[@]}" \
		-f "$root/docker/Dockerfile.$name" \
		-t "swarm-spoa/$name:$TAG" -t "swarm-spoa/$name:latest" \
		"$root" >"$out" 2>&1; then
		tail -40 "$out" >&2
		die "swarm-spoa/$name failed to build, full log in $out"
	fi
	size=$("$DOCKER" image inspect -f '{{.Size}}' "swarm-spoa/$name:$TAG")
	log "swarm-spoa/$name:$TAG built in $(( $(date +%s) - start )) s, $(( size / 1024 / 1024 )) MiB"
done
log "done in $(( $(date +%s) - total_start )) s"

#!/bin/bash
# Makes sure the local dockerd has the base image every Dockerfile of this
# repository starts from (debian:bookworm-slim by default).
#
# Where a registry is reachable a plain `docker pull` would do; where none is,
# this builds an equivalent image from Debian packages: debootstrap a minbase
# bookworm rootfs (cached, so a second run costs nothing), trim it the way the
# official slim image is trimmed, and `docker import` it under the same name.
# The Dockerfiles stay standard: they never know which way the base was made.
#
# Usage: docker/base-image.sh [--force]
#   --force   rebuild and re-import even if the image already exists
#
# Environment:
#   DOCKER                      docker client (default /usr/bin/docker)
#   SWARM_SPOA_BASE_IMAGE       image name to provide (default debian:bookworm-slim)
#   SWARM_SPOA_CACHE            cache directory (default /var/cache/swarm-spoa)
#   SWARM_SPOA_DEBIAN_MIRROR    mirror URL (default http://deb.debian.org/debian)
set -euo pipefail

DOCKER=${DOCKER:-/usr/bin/docker}
IMAGE=${SWARM_SPOA_BASE_IMAGE:-debian:bookworm-slim}
CACHE=${SWARM_SPOA_CACHE:-/var/cache/swarm-spoa}
MIRROR=${SWARM_SPOA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
ROOTFS=$CACHE/rootfs-$SUITE-minbase
MARKER=.swarm-spoa-rootfs-complete

log() { echo "base-image: $*"; }
die() { echo "base-image: error: $*" >&2; exit 1; }

force=0
case "${1:-}" in
	--force) force=1 ;;
	"") ;;
	-h|--help) sed -n '2,20p' "$0"; exit 0 ;;
	*) die "unknown argument '$1' (try --help)" ;;
esac

[ -x "$DOCKER" ] || die "$DOCKER not found (apt-get install docker.io)"
"$DOCKER" info >/dev/null 2>&1 || die "dockerd does not answer through $DOCKER"

if [ "$force" = 0 ] && "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
	log "$IMAGE already present ($("$DOCKER" image inspect -f '{{.Id}}' "$IMAGE" | cut -c1-19)), nothing to do"
	exit 0
fi

[ "$(id -u)" = 0 ] || die "debootstrap needs root"

if ! command -v debootstrap >/dev/null 2>&1; then
	log "installing debootstrap"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null 2>&1 || {
		apt-get update -q >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
	}
fi

# The rootfs is built aside and renamed only once complete, so an interrupted
# run never leaves a half-made tree that a later run would trust.
if [ "$force" = 0 ] && [ -e "$ROOTFS/$MARKER" ]; then
	log "reusing cached rootfs $ROOTFS"
else
	mkdir -p "$CACHE"
	rm -rf "$ROOTFS" "$ROOTFS.tmp"
	log "debootstrap --variant=minbase $SUITE from $MIRROR into $ROOTFS (about 30 s)"
	start=$(date +%s)
	if ! debootstrap --variant=minbase "$SUITE" "$ROOTFS.tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1; then
		tail -20 "$CACHE/debootstrap.log" >&2
		die "debootstrap failed, full log in $CACHE/debootstrap.log"
	fi
	log "debootstrap done in $(( $(date +%s) - start )) s"

	r=$ROOTFS.tmp
	# Same trimming as the official slim image: no docs, man pages or
	# translations now, and none from later `apt-get install`s either.
	cat >"$r/etc/dpkg/dpkg.cfg.d/docker-slim" <<-'EOF'
	path-exclude /usr/share/doc/*
	path-include /usr/share/doc/*/copyright
	path-exclude /usr/share/man/*
	path-exclude /usr/share/groff/*
	path-exclude /usr/share/info/*
	path-exclude /usr/share/lintian/*
	path-exclude /usr/share/linda/*
	path-exclude /usr/share/locale/*
	path-include /usr/share/locale/locale.alias
	EOF
	cat >"$r/etc/apt/apt.conf.d/docker-clean" <<-'EOF'
	DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
	APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
	Dir::Cache::pkgcache "";
	Dir::Cache::srcpkgcache "";
	EOF
	cat >"$r/etc/apt/apt.conf.d/docker-no-recommends" <<-'EOF'
	APT::Install-Recommends "false";
	APT::Install-Suggests "false";
	EOF
	cat >"$r/etc/apt/apt.conf.d/docker-no-languages" <<-'EOF'
	Acquire::Languages "none";
	EOF
	security=${MIRROR%/debian}/debian-security
	rm -f "$r/etc/apt/sources.list"
	cat >"$r/etc/apt/sources.list.d/debian.sources" <<-EOF
	Types: deb
	URIs: $MIRROR
	Suites: $SUITE $SUITE-updates
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

	Types: deb
	URIs: $security
	Suites: $SUITE-security
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
	find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete
	find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
	rm -rf "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/groff/* \
	       "$r"/usr/share/lintian/* "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin \
	       "$r"/var/cache/apt/archives/*.deb "$r"/var/log/*.log "$r"/var/log/apt/* \
	       "$r"/var/cache/debconf/*-old "$r"/var/lib/dpkg/*-old "$r"/tmp/* "$r"/var/tmp/*
	# dockerd provides these at run time; the host's must not leak in.
	: >"$r/etc/resolv.conf"
	: >"$r/etc/hostname"
	rm -f "$r/etc/machine-id" && : >"$r/etc/machine-id"
	touch "$r/$MARKER"
	mv "$r" "$ROOTFS"
fi

log "importing $ROOTFS as $IMAGE"
id=$(tar -C "$ROOTFS" --numeric-owner --exclude="./$MARKER" -c . |
	"$DOCKER" import \
		--change 'CMD ["bash"]' \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--message "debootstrap --variant=minbase $SUITE ($MIRROR), trimmed" \
		- "$IMAGE")
size=$("$DOCKER" image inspect -f '{{.Size}}' "$IMAGE")
log "imported $IMAGE (${id#sha256:}), $(( size / 1024 / 1024 )) MiB"

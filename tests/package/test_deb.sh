#!/bin/bash
# The Debian package, end to end: dpkg-buildpackage builds it from debian/,
# then a clean bookworm root (debootstrap, cached; an overlay on top so every
# run starts clean) boots with systemd-nspawn, apt installs the package,
# systemd runs the agent under the unit's sandbox, Debian's HAProxy routes
# through it, an upgrade keeps the administrator's settings and restarts the
# agent, and remove and purge take away what they must.
#
# All of it runs in mount and PID namespaces of its own (unshare), the
# container in a network namespace of its own: the defaults of
# /etc/default/swarm-spoa (fixed ports) are tested as shipped, and nothing
# reaches the host's ports. deb_container.sh has the steps.
#
# Environment: SWARM_SPOA_CACHE (default /var/cache/swarm-spoa) holds the
# rootfs and the apt downloads; SWARM_SPOA_DEBIAN_MIRROR, a mirror for
# debootstrap.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
test_init package_deb

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${SWARM_SPOA_CACHE:-/var/cache/swarm-spoa}
ROOTFS=$CACHE/rootfs-bookworm-host
MARKER=.swarm-spoa-rootfs-complete
t0=$(date +%s)

[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, chroot, namespaces)"
unshare --mount --pid --net --fork true 2>/dev/null || skip "cannot create namespaces here"
ensure_cmd debootstrap debootstrap
ensure_cmd dpkg-buildpackage dpkg-dev
ensure_cmd dh debhelper
ensure_cmd systemd-nspawn systemd-container
ensure_cmd ip iproute2
ensure_cmd curl curl

# The package's version is the project's: debian/changelog must say the same
# as CMakeLists.txt.
cmake_version=$(sed -n 's/^project(swarm-spoa VERSION \([0-9.]*\).*/\1/p' "$SWARM_SPOA_SRC/CMakeLists.txt")
version=$(cd "$SWARM_SPOA_SRC" && dpkg-parsechangelog -S Version)
[ "$version" = "$cmake_version" ] ||
	fail "debian/changelog says $version, CMakeLists.txt says $cmake_version"
(cd "$SWARM_SPOA_SRC" && dpkg-checkbuilddeps) || fail "build dependencies missing (see above)"

# --- build --------------------------------------------------------------
# From a copy of the tree: dpkg-buildpackage writes its results next to the
# source directory, and must not see the developers' build directories.
src=$TEST_WORK/src/swarm-spoa-$version
mkdir -p "$src"
if git -C "$SWARM_SPOA_SRC" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$SWARM_SPOA_SRC" && git ls-files -co --exclude-standard -z |
		xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf -) | tar -xf - -C "$src"
else
	tar -C "$SWARM_SPOA_SRC" --exclude='./build*' --exclude=./.git -cf - . | tar -xf - -C "$src"
fi
log "dpkg-buildpackage -b ($version)"
(cd "$src" && DEB_BUILD_OPTIONS="noddebs parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
	>"$TEST_WORK/dpkg-buildpackage.log" 2>&1 || {
	tail -30 "$TEST_WORK/dpkg-buildpackage.log" >&2
	fail "dpkg-buildpackage failed (log: $TEST_WORK/dpkg-buildpackage.log)"
}
arch=$(dpkg --print-architecture)
deb=$TEST_WORK/src/swarm-spoa_${version}_$arch.deb
[ -f "$deb" ] || fail "no $deb"
t_build=$(date +%s)
log "built $(basename "$deb") in $((t_build - t0)) s"

# The same package with a higher version and a changed default file: what
# an upgrade brings.
new_version=$version+pkgtest1
new_deb=$TEST_WORK/src/swarm-spoa_${new_version}_$arch.deb
rm -rf "$TEST_WORK/repack"
dpkg-deb -R "$deb" "$TEST_WORK/repack"
sed -i "s/^Version: .*/Version: $new_version/" "$TEST_WORK/repack/DEBIAN/control"
echo "# $new_version: a line the new version adds" >>"$TEST_WORK/repack/etc/default/swarm-spoa"
(cd "$TEST_WORK/repack" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
	sort -z | xargs -0 md5sum >DEBIAN/md5sums)
dpkg-deb --root-owner-group -b "$TEST_WORK/repack" "$new_deb" >/dev/null

# --- the clean root -----------------------------------------------------
# Debian bookworm, minbase plus what a plain host has and the test needs:
# systemd (systemd-analyze reads its units) and ca-certificates (whose
# installation, pulled in through libcurl4, takes a minute per run
# otherwise). Built aside and renamed once complete.
if [ ! -e "$ROOTFS/$MARKER" ]; then
	log "debootstrap --variant=minbase bookworm into $ROOTFS (once; cached)"
	mkdir -p "$CACHE"
	rm -rf "$ROOTFS.tmp"
	# shellcheck disable=SC2086 # no mirror argument: debootstrap's default
	debootstrap --variant=minbase bookworm "$ROOTFS.tmp" ${SWARM_SPOA_DEBIAN_MIRROR:-} \
		>"$CACHE/debootstrap-host.log" 2>&1 || {
		tail -20 "$CACHE/debootstrap-host.log" >&2
		fail "debootstrap failed (log: $CACHE/debootstrap-host.log)"
	}
	unshare --mount --fork bash -euc '
		r=$1
		mount -t proc proc "$r/proc"
		mount --rbind /dev "$r/dev"
		cp /etc/resolv.conf "$r/etc/resolv.conf"
		chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends systemd ca-certificates
		chroot "$r" apt-get clean
		rm -rf "$r"/var/lib/apt/lists/*
		: >"$r/etc/resolv.conf"
	' sh "$ROOTFS.tmp" >>"$CACHE/debootstrap-host.log" 2>&1 || {
		tail -20 "$CACHE/debootstrap-host.log" >&2
		fail "installing systemd into the rootfs failed"
	}
	touch "$ROOTFS.tmp/$MARKER"
	mv "$ROOTFS.tmp" "$ROOTFS"
fi
t_root=$(date +%s)
log "rootfs ready in $((t_root - t_build)) s"

# --- install, run, upgrade, remove, purge -------------------------------
export LOWER=$ROOTFS WORK=$TEST_WORK CACHE HERE DEB=$deb NEW_DEB=$new_deb \
	VERSION=$version NEW_VERSION=$new_version TEST_NAME CGROUP=swarm-spoa-package-test
remove_cgroups() {
	local h
	for h in /sys/fs/cgroup /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
		[ ! -d "$h/$CGROUP" ] || find "$h/$CGROUP" -depth -type d -exec rmdir {} +
	done
}
on_exit remove_cgroups
rc=0
unshare --mount --pid --fork --kill-child --mount-proc -- bash "$HERE/deb_container.sh" || rc=$?
[ "$rc" != 77 ] || exit 77
[ "$rc" = 0 ] || fail "package steps failed (logs in $TEST_WORK)"
log "install, run, upgrade, remove and purge in $(($(date +%s) - t_root)) s; total $(($(date +%s) - t0)) s"
test_pass

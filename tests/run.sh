#!/usr/bin/env bash
# Builds swarm-spoa and runs every test: unit, integration (real HAProxy:
# 2.6, 3.0 and 3.2), fuzz (bounded), swarm (real dockerd, single-node swarm),
# multinode, the Debian package (package) and monitoring/ with a real
# Prometheus (monitoring).
# On a fresh Debian bookworm machine, as root, it installs what it needs:
# Debian packages, and HAProxy 3.0 and 3.2 from Debian's trixie and sid
# (tests/lib/haproxy-versions.sh, kept in /var/cache/swarm-spoa-haproxy).
#
#   tests/run.sh            everything
#   tests/run.sh -L unit    only the tests with that CTest label (any ctest args)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${SWARM_SPOA_BUILD_DIR:-$SRC/build}
FUZZ_BUILD=${SWARM_SPOA_FUZZ_BUILD_DIR:-$SRC/build-fuzz}
ASAN_BUILD=${SWARM_SPOA_ASAN_BUILD_DIR:-$SRC/build-asan}
TSAN_BUILD=${SWARM_SPOA_TSAN_BUILD_DIR:-$SRC/build-tsan}
JOBS=$(nproc)

PACKAGES=(build-essential cmake pkg-config clang libclang-rt-14-dev
          libev-dev libjansson-dev libcurl4-openssl-dev libcmocka-dev
          haproxy docker.io socat curl openssl python3 debootstrap iproute2 ca-certificates
          debhelper systemd-container prometheus python3-yaml)

install_packages() {
	local missing=()
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	if ((${#missing[@]})); then
		echo "== installing: ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
}

if [ "$(id -u)" = 0 ]; then
	install_packages
	# A version that cannot be had fails the run here, before the build.
	"$SRC/tests/lib/haproxy-versions.sh" install
fi

echo "== build ($BUILD)"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$JOBS"

if (($#)); then
	cd "$BUILD"
	exec ctest --output-on-failure "$@"
fi

echo "== unit tests under AddressSanitizer/UBSan ($ASAN_BUILD)"
cmake -S "$SRC" -B "$ASAN_BUILD" -DCMAKE_BUILD_TYPE=Debug -DSWARM_SPOA_SANITIZE=ON >/dev/null
cmake --build "$ASAN_BUILD" -j"$JOBS"
(cd "$ASAN_BUILD" && ctest --output-on-failure -L unit)

# ThreadSanitizer: only what runs threads (the SPOP workers and acceptor,
# the table publication), built alone, to keep CI short. halt_on_error:
# a race fails the test instead of being printed and passed.
echo "== the tests that use threads under ThreadSanitizer ($TSAN_BUILD)"
cmake -S "$SRC" -B "$TSAN_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSWARM_SPOA_SANITIZE=thread >/dev/null
cmake --build "$TSAN_BUILD" -j"$JOBS" --target swarm-spoa test_spop test_spopstats test_snapshot
(cd "$TSAN_BUILD" && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure \
	-R '^(test_spop|test_spopstats|test_snapshot|integration_spop_protocol)$')

echo "== fuzz targets ($FUZZ_BUILD)"
CC=clang cmake -S "$SRC" -B "$FUZZ_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DSWARM_SPOA_FUZZ=ON -DSWARM_SPOA_SANITIZE=ON >/dev/null
cmake --build "$FUZZ_BUILD" -j"$JOBS"
(cd "$FUZZ_BUILD" && ctest --output-on-failure -L fuzz)

echo "== unit, integration, swarm, multinode, package and monitoring tests"
cd "$BUILD"
ctest --output-on-failure -L 'unit|integration|swarm|multinode|package|monitoring'

#!/usr/bin/env bash
# Builds swarm-spoa and runs every test: unit, integration (real HAProxy:
# 2.6, 3.0 and 3.2), fuzz (bounded), swarm (real dockerd, single-node swarm),
# multinode, the Debian package (package) and monitoring/ with a real
# Prometheus (monitoring).
#
# Three builds: the release one (gcc), which runs every test; one with
# clang, AddressSanitizer and UBSan, which builds the fuzz targets and runs
# the unit tests and the fuzzers; and one with ThreadSanitizer of only what
# runs threads. Unit tests and fuzzers run two at a time (one per core);
# the tests that time HAProxy or share a daemon run one after another.
# On a fresh Debian bookworm machine, as root, it installs what it needs:
# Debian packages, and HAProxy 3.0 and 3.2 from Debian's trixie and sid
# (tests/lib/haproxy-versions.sh, kept in /var/cache/swarm-spoa-haproxy).
#
#   tests/run.sh            everything
#   tests/run.sh -L unit    only the tests with that CTest label (any ctest args)
#
# A test that cannot run here (exit 77: no dockerd, no privilege...) is
# listed after its phase. With CI=true (.ci/run sets it) it fails the run:
# CI runs every test (tests/lib/ctest-run.sh).
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${SWARM_SPOA_BUILD_DIR:-$SRC/build}
FUZZ_BUILD=${SWARM_SPOA_FUZZ_BUILD_DIR:-$SRC/build-fuzz}
TSAN_BUILD=${SWARM_SPOA_TSAN_BUILD_DIR:-$SRC/build-tsan}
JOBS=$(nproc)
. "$SRC/tests/lib/ctest-run.sh"

PACKAGES=(build-essential cmake pkg-config clang libclang-rt-14-dev
          libev-dev libjansson-dev libcurl4-openssl-dev libssl-dev libcmocka-dev
          haproxy docker.io socat curl openssl python3 debootstrap iproute2 ca-certificates
          debhelper systemd-container prometheus python3-yaml)

install_packages() {
	local missing=()
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "ok installed" >/dev/null || missing+=("$p")
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

# phase <name>: ends the previous phase with its duration, starts <name>.
phase_name=
phase_start=$SECONDS
phase() {
	[ -z "$phase_name" ] || echo "== $phase_name: $((SECONDS - phase_start)) s"
	phase_name=$1
	phase_start=$SECONDS
}

phase "build ($BUILD)"
echo "== $phase_name"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$JOBS"

if (($#)); then
	cd "$BUILD"
	ctest_run --output-on-failure "$@"
	exit
fi

phase "build with clang, AddressSanitizer/UBSan and the fuzz targets ($FUZZ_BUILD)"
echo "== $phase_name"
CC=clang cmake -S "$SRC" -B "$FUZZ_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DSWARM_SPOA_FUZZ=ON -DSWARM_SPOA_SANITIZE=ON >/dev/null
cmake --build "$FUZZ_BUILD" -j"$JOBS"

phase "unit tests and fuzz targets under AddressSanitizer/UBSan"
echo "== $phase_name"
(cd "$FUZZ_BUILD" && ctest_run --output-on-failure -j"$JOBS" -L 'unit|fuzz')

# ThreadSanitizer: only what runs threads (the SPOP workers and acceptor,
# the table publication), built alone, to keep CI short. halt_on_error:
# a race fails the test instead of being printed and passed.
phase "the tests that use threads under ThreadSanitizer ($TSAN_BUILD)"
echo "== $phase_name"
cmake -S "$SRC" -B "$TSAN_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSWARM_SPOA_SANITIZE=thread >/dev/null
cmake --build "$TSAN_BUILD" -j"$JOBS" --target swarm-spoa test_spop test_spopstats test_conn test_worker test_snapshot
(cd "$TSAN_BUILD" && TSAN_OPTIONS=halt_on_error=1 ctest_run --output-on-failure \
	-R '^(test_spop|test_spopstats|test_conn|test_worker|test_snapshot|integration_spop_protocol)$')

phase "unit tests of the release build"
echo "== $phase_name"
cd "$BUILD"
rc=0
ctest_run --output-on-failure -j"$JOBS" -L unit || rc=$?

phase "integration, swarm, multinode, package and monitoring tests"
echo "== $phase_name"
ctest_run --output-on-failure -L 'integration|swarm|multinode|package|monitoring' || rc=$?
phase ""
echo "== total: $SECONDS s"
exit "$rc"

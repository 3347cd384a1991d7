# Helpers for the shell tests (integration, swarm). Source it first:
#
#   . "$(dirname "$0")/../lib/common.sh"
#   test_init images            # name, work dir, EXIT trap
#   on_exit docker rm -f foo    # cleanups run in reverse order at exit
#   wait_until 30 curl -fs http://127.0.0.1:$port/health
#   test_pass
#
# Every wait is bounded: wait_until fails the test loudly on timeout and
# shows the last output of the command it was waiting for. Tests never sleep
# in place of a readiness check.
#
# Exit codes: 0 passed, 1 failed, 77 skipped (could not run: say why).

TEST_NAME=${TEST_NAME:-$(basename "${0%.sh}")}
SWARM_SPOA_SRC=${SWARM_SPOA_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SWARM_SPOA_BUILD=${SWARM_SPOA_BUILD:-$SWARM_SPOA_SRC/build}

log() {
	printf '%s [%s] %s\n' "$(date +%H:%M:%S.%3N)" "$TEST_NAME" "$*" >&2
}

# Fails the test. Called from a subshell ($(...), a pipeline) it only ends
# that subshell: check its status there.
fail() {
	log "FAIL: $*"
	exit 1
}

# The test cannot run here (missing dependency, no privilege): counted as
# skipped by ctest (SKIP_RETURN_CODE 77), never as passed.
skip() {
	log "SKIP: $*"
	exit 77
}

test_pass() {
	log "PASS"
	exit 0
}

# on_exit <command...>: registers a cleanup, run at exit (also on failure or
# interruption) in reverse order of registration. Failures are logged and
# do not stop the other cleanups.
_cleanups=()
on_exit() {
	_cleanups+=("$(printf '%q ' "$@")")
}

_run_cleanups() {
	local rc=$? i
	trap - EXIT
	for (( i = ${#_cleanups[@]} - 1; i >= 0; i-- )); do
		eval "${_cleanups[i]}" >/dev/null 2>&1 || log "cleanup failed: ${_cleanups[i]}"
	done
	exit "$rc"
}

# test_init [name]: sets TEST_NAME, creates a fresh TEST_WORK directory
# (under the build directory, kept after the run for its logs) and installs
# the EXIT trap that runs the cleanups.
test_init() {
	[ -z "${1:-}" ] || TEST_NAME=$1
	TEST_WORK=$SWARM_SPOA_BUILD/test-work/$TEST_NAME
	rm -rf "$TEST_WORK"
	mkdir -p "$TEST_WORK"
	trap _run_cleanups EXIT
	trap 'log "interrupted"; exit 130' INT TERM HUP
	log "work dir $TEST_WORK"
}

# Milliseconds since the epoch.
now_ms() {
	local t
	t=$(date +%s%N)
	echo $(( t / 1000000 ))
}

# wait_for <timeout-seconds> <command...>: polls <command> every
# $WAIT_INTERVAL seconds (default 0.2) until it succeeds. Returns 0, or 1 on
# timeout with the command's last output in WAIT_LAST_OUTPUT.
wait_for() {
	local timeout=$1 deadline
	shift
	deadline=$(( $(now_ms) + timeout * 1000 ))
	while :; do
		if WAIT_LAST_OUTPUT=$("$@" 2>&1); then
			return 0
		fi
		[ "$(now_ms)" -lt "$deadline" ] || return 1
		sleep "${WAIT_INTERVAL:-0.2}"
	done
}

# wait_until <timeout-seconds> <command...>: as wait_for, but a timeout fails
# the test, showing the command and its last output.
wait_until() {
	local timeout=$1
	shift
	wait_for "$timeout" "$@" && return 0
	log "timed out after ${timeout}s waiting for: $*"
	[ -z "$WAIT_LAST_OUTPUT" ] || printf '%s\n' "$WAIT_LAST_OUTPUT" | tail -20 >&2
	fail "timed out after ${timeout}s"
}

# free_port: prints a TCP port that nothing on this host is bound to (IPv4
# or IPv6), picked at random in 20000-59999 so that parallel tests rarely
# pick the same one.
free_port() {
	local port hex i
	for (( i = 0; i < 200; i++ )); do
		port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
		hex=$(printf ':%04X ' "$port")
		if ! grep -qs -- "$hex" /proc/net/tcp /proc/net/tcp6; then
			echo "$port"
			return 0
		fi
	done
	fail "no free TCP port found"
}

# ensure_cmd <command> <debian-package>: installs the package when the
# command is missing (CI machines are fresh Debian, we run as root).
ensure_cmd() {
	command -v "$1" >/dev/null 2>&1 && return 0
	[ "$(id -u)" = 0 ] || skip "$1 missing and not root to install $2"
	log "installing $2"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null 2>&1 || {
		apt-get update -q >/dev/null 2>&1
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null 2>&1
	} || fail "cannot install $2"
}

# assert_contains <haystack> <needle> [what]
assert_contains() {
	case "$1" in
		*"$2"*) return 0 ;;
	esac
	fail "${3:-output} does not contain '$2': $1"
}

#!/usr/bin/env bash
# tests/run.sh's ctest_run (tests/lib/ctest-run.sh) on a throwaway CTest
# project: with CI=true a skipped (exit 77) or disabled test fails the run
# and is named; without CI it is listed and the run passes; a failing test
# fails either way; a selection of no test fails.
set -uo pipefail

. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/ctest-run.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/test_ctest_run.XXXXXX")
on_exit rm -rf "$work"
trap _run_cleanups EXIT

# project <name> <cmake lines>: a CTest project in $work/<name>, configured.
project() {
	mkdir -p "$work/$1"
	{
		echo 'cmake_minimum_required(VERSION 3.21)'
		echo 'project(t NONE)'
		echo 'enable_testing()'
		echo 'add_test(NAME passes COMMAND true)'
		printf '%s\n' "$2"
	} >"$work/$1/CMakeLists.txt"
	cmake -S "$work/$1" -B "$work/$1/build" >/dev/null || fail "cannot configure $1"
}

# expect <project> <CI value> <status> [text]: runs ctest_run in <project>
# and checks its status and that its output names <text>.
expect() {
	local out rc=0
	out=$(cd "$work/$1/build" && CI=$2 ctest_run 2>&1) || rc=$?
	[ "$rc" = "$3" ] || fail "$1 with CI=$2: status $rc, expected $3: $out"
	[ -z "${4:-}" ] || grep -qF -- "$4" <<<"$out" || fail "$1 with CI=$2: no '$4' in: $out"
}

project all_pass ''
project skipped 'add_test(NAME cannot_run COMMAND sh -c "exit 77")
set_tests_properties(cannot_run PROPERTIES SKIP_RETURN_CODE 77)'
project disabled 'add_test(NAME switched_off COMMAND true)
set_tests_properties(switched_off PROPERTIES DISABLED TRUE)'
project failing 'add_test(NAME fails COMMAND false)'

expect all_pass true 0
expect skipped true 1 "cannot_run (SKIP_RETURN_CODE=77)"
expect skipped false 0 "cannot_run (SKIP_RETURN_CODE=77)"
expect skipped "" 0 "cannot_run"
expect disabled true 1 "switched_off"
expect failing true 8
expect failing false 8

out=$(cd "$work/all_pass/build" && CI=true ctest_run -R '^no_such_test$' 2>&1) &&
	fail "a selection of no test passed: $out"

# The CI entry point must be what sets CI=true.
grep -qx 'export CI=true' "$SWARM_SPOA_SRC/.ci/run" || fail ".ci/run does not export CI=true"

test_pass

# ctest_run: ctest, plus what ctest itself counts as a pass but CI must
# not: a test that did not run. Sourced by tests/run.sh (and by its test,
# tests/lib/test_ctest_run.sh).
#
#   . tests/lib/ctest-run.sh
#   (cd build && ctest_run -L unit)
#
# A shell test that cannot run exits 77 (SKIP_RETURN_CODE) and ctest
# reports it as "Skipped", a disabled one as "Not Run (Disabled)"; both
# leave ctest's exit status at 0. ctest_run lists them after every run and,
# when CI=true, fails the run naming them: CI must run every test.
#
# The list is read from ctest's JUnit report (--output-junit, CMake 3.21
# and later), whose status attribute says "run", "fail", "notrun" or
# "disabled" for each test, rather than from the wording of its summary.

# ctest_skipped <junit file>: prints the tests that did not run, one per
# line, as "name (reason)". Returns 1 when the report cannot be read.
ctest_skipped() {
	python3 - "$1" <<-'EOF'
	import sys
	import xml.etree.ElementTree as ET

	try:
	    root = ET.parse(sys.argv[1]).getroot()
	except (OSError, ET.ParseError) as e:
	    print(f"cannot read {sys.argv[1]}: {e}", file=sys.stderr)
	    sys.exit(1)
	for tc in root.iter("testcase"):
	    status = tc.get("status", "")
	    if status in ("run", "fail"):
	        continue
	    skipped = tc.find("skipped")
	    why = skipped.get("message") if skipped is not None else status
	    print(f"{tc.get('name')} ({why or status})")
	EOF
}

# ctest_run <ctest args...>: runs ctest in the current directory (a build
# directory) with <ctest args>. Returns ctest's status when it failed;
# otherwise 1 when CI=true and some test did not run, else 0. Selecting no
# test at all is an error too: a phase that runs nothing proves nothing.
ctest_run() {
	local junit rc=0 skipped
	junit=$(mktemp "${TMPDIR:-/tmp}/ctest-junit.XXXXXX")
	ctest --no-tests=error --output-junit "$junit" "$@" || rc=$?
	if ! skipped=$(ctest_skipped "$junit"); then
		rm -f "$junit"
		echo "== ctest wrote no readable report of its tests" >&2
		return $((rc ? rc : 1))
	fi
	rm -f "$junit"
	if [ -n "$skipped" ]; then
		echo "== tests that did not run:"
		sed 's/^/\t/' <<<"$skipped"
		if [ "${CI:-}" = true ]; then
			echo "== CI=true: a test that did not run fails the run" >&2
			((rc)) || rc=1
		fi
	fi
	return "$rc"
}

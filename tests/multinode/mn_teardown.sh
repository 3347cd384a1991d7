#!/bin/bash
# Fixture cleanup of the multinode tests (FIXTURES_CLEANUP multinode): the
# 3-node swarm goes away whole (daemons, shims, containers, cgroups,
# namespaces, veths, files), and the test fails if anything is left.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"
. "$here/../lib/multinode.sh"

test_init multinode_teardown
[ "$(id -u)" = 0 ] || skip "multinode tests need root"
mn_teardown
left=$(mn_leftovers)
[ -z "$left" ] || fail "left behind after teardown: $left"
log "dockerd logs of the nodes in $TEST_WORK"
test_pass

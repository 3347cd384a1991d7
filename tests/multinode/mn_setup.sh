#!/bin/bash
# Fixture of the multinode tests (FIXTURES_SETUP multinode): removes what an
# earlier run left, builds the 3-node swarm (tests/lib/multinode.sh), loads
# the images and deploys the pair, HAProxy on every node and the agents on
# the managers. The swarm stays up for the tests of this ctest run;
# mn_teardown.sh removes it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"
. "$here/../lib/multinode.sh"

test_init multinode_setup
mn_preflight
# The host's dockerd builds the images from this tree (cached: seconds when
# nothing changed) and hands them to the nodes; it is not touched otherwise.
dockerd_ensure
images_build
# A failed setup leaves nothing behind.
on_exit _mn_setup_failed
_mn_setup_failed() { [ "${mn_setup_done:-0}" = 1 ] || mn_teardown; }

mn_setup
mn_pair_deploy
mn_docker 1 node ls >&2
mn_setup_done=1
test_pass

#!/bin/bash
# Interlock's host mode networking on the single-node swarm: services that
# publish their port in host mode, with no network of the proxy's, are
# routed to <node address>:<published port>.
#   1. two host-mode stacks: each answers through HAProxy by its host name,
#      every task in "show routes" at the node's address in host mode;
#   2. five times in a row, one of them is removed with `docker stack rm`
#      and deployed again while requests to the other run: `docker stack rm`
#      exits 0 each time, the stack's network is gone, the stack routes again
#      after its redeploy, and not one request to the other stack fails.
# The agent and HAProxy run on this host (tests/swarm/hostmode.py); the
# published ports are the node's, reached on 127.0.0.1, the swarm's
# advertise address.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"
. "$here/../lib/stack.sh"

test_init swarm_host_mode
ensure_cmd python3 python3
swarm_test_start
images_build echo

prefix=ssphm
cleanup() {
	# shellcheck disable=SC2046
	stack_remove $("$DOCKER" stack ls --format '{{.Name}}' | grep -E "^${prefix}[a-z]$" || true)
}
cleanup
on_exit cleanup

SWARM_SPOA_TAG=${SWARM_SPOA_TAG:-dev} DOCKER=$DOCKER TEST_WORK=$TEST_WORK TEST_NAME=$TEST_NAME \
	python3 "$here/hostmode.py" --prefix "$prefix" --rounds 5 || fail "host mode (see above)"
test_pass

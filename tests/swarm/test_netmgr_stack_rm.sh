#!/bin/bash
# `docker stack rm` that always works, with the pair of docker/stack.yml
# deployed with --manage-networks:
#   1. an app stack whose network is its own, named in com.docker.lb.network:
#      the agents attach HAProxy to it; requests by host and by path get the
#      right services; "show networks" lists it as attached by the agents;
#   2. five times in a row: `docker stack rm` of the app, and within 15 s no
#      network of that stack remains (the agents detached HAProxy after the
#      grace period and removed the network); `docker stack deploy` of the
#      same stack succeeds and routes again. No manual step.
#   3. the operator's networks (the shared one, the pair's control network)
#      stayed on HAProxy throughout; the log tells each attach, detach and
#      removal with its reason; no network manager failure.
# Everything created is removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"
. "$here/netmgr_lib.sh"

test_init swarm_netmgr_stack_rm
ensure_cmd curl curl
ensure_cmd python3 python3
swarm_test_start
images_build
nm_init ssp5r

app=ssp5ra
host=a.ssp5r.test
rounds=5
removal_bound_s=15
# Eleven updates of HAProxy in a few minutes (the attach, then a detach and
# an attach a round): over the default rate limit (6 in 10 minutes), which
# this test does not measure (test_netplan's test_rate_limit* do).
NM_UPDATES=30

nm_pair_deploy
t0=$(now_ms)
nm_app_deploy "$app" "$host" || fail "first deploy of $app failed: $(cat "$TEST_WORK/deploy-$app.log")"
wait_until 180 nm_routed "$app" "$host"
log "$app routed by host and path $(( $(now_ms) - t0 )) ms after its deploy"

net=$("$DOCKER" network inspect -f '{{.Id}}' "${app}_net")
shown=$(nm_stats "show networks json")
state=$(nm_json "$shown" '[n["state"] for n in r["networks"] if n["name"] == "'"${app}_net"'"]')
[ "$state" = "['attached']" ] || fail "show networks: ${app}_net is $state: $shown"
managed=$("$DOCKER" service inspect -f '{{index .Spec.Labels "swarm-spoa.managed-networks"}}' "${NM_PAIR}_haproxy")
assert_contains "$managed" "$net" "the managed-networks label of the HAProxy service"
log "show networks:"$'\n'"$(nm_stats "show networks")"

for (( round = 1; round <= rounds; round++ )); do
	t0=$(now_ms)
	# Docker itself cannot remove the network HAProxy is on: `stack rm`
	# reports it and exits 1; the agents finish the job.
	rm_status=0
	"$DOCKER" stack rm "$app" >"$TEST_WORK/rm-$round.log" 2>&1 || rm_status=$?
	if ! wait_for "$removal_bound_s" stack_networks_gone "$app"; then
		log "show networks:"$'\n'"$(nm_stats "show networks" 2>&1)"
		fail "round $round: ${WAIT_LAST_OUTPUT} ${removal_bound_s} s after docker stack rm"
	fi
	removed_ms=$(( $(now_ms) - t0 ))
	[ -z "$(stack_services "$app")" ] || fail "round $round: services of $app left"

	t0=$(now_ms)
	nm_app_deploy "$app" "$host" ||
		fail "round $round: docker stack deploy of $app failed: $(cat "$TEST_WORK/deploy-$app.log")"
	wait_until 180 nm_routed "$app" "$host"
	log "round $round: network removed $removed_ms ms after docker stack rm (its status $rm_status)," \
		"redeployed and routed in $(( $(now_ms) - t0 )) ms"
done

# The operator's networks never left HAProxy.
proxy_nets=$(service_network_names "${NM_PAIR}_haproxy")
assert_contains "$proxy_nets" "$NM_SHARED " "HAProxy's networks"
assert_contains "$proxy_nets" "${NM_PAIR}_control " "HAProxy's networks"
assert_contains "$proxy_nets" "${app}_net " "HAProxy's networks"

"$DOCKER" service logs --raw "${NM_PAIR}_agent" >"$TEST_WORK/agents.log" 2>&1 || true
for what in "network attached to the proxy service" "network detached from the proxy service" \
	"network removed"; do
	n=$(grep -c "msg=\"$what\"" "$TEST_WORK/agents.log" || true)
	[ "$n" -ge "$rounds" ] || fail "'$what' logged $n times for $rounds rounds (see $TEST_WORK/agents.log)"
done
grep -q 'msg="network detached from the proxy service".*reason="no routed service has named it for the grace period"' \
	"$TEST_WORK/agents.log" || fail "no reason given for the detachments"
if grep 'cannot manage the proxy' "$TEST_WORK/agents.log"; then
	fail "the network manager failed (see $TEST_WORK/agents.log)"
fi
log "agents logged $(grep -c 'subsys=netmgr' "$TEST_WORK/agents.log") network manager lines"
test_pass

#!/bin/bash
# Interlock's host mode networking on the 3-node swarm: a stack whose
# service publishes its port in host mode (tests/swarm/hostmode-app.yml, one
# task per node) and names no network is routed from every node's HAProxy
# to each task at its own node's address and published port:
#   1. every agent lists the 3 tasks as ready, `show routes` shows them at
#      the three node addresses "(host mode)", and every node's HAProxy
#      reaches all three;
#   2. five times in a row, the stack is removed with `docker stack rm` and
#      deployed again while requests to a service of the shared network run
#      through every node: `docker stack rm` exits 0 each time, the stack's
#      network is gone, the stack routes again from every node after its
#      redeploy, and not one request to the other service fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"
. "$here/../lib/multinode.sh"

test_init multinode_host_mode
mn_require

stack=mnhm
host=hm.mn.test
keep=mn-hm-keep
keep_host=keep-hm.mn.test
rounds=5
via=$(mn_via)

cleanup() {
	mn_load_stop
	mn_docker "$(mn_via)" stack rm "$stack" >/dev/null 2>&1 || true
	mn_test_cleanup
}
on_exit cleanup

deploy() {
	APP_HOST=$host APP_TEST=$TEST_NAME APP_REPLICAS=$MN_NODES SWARM_SPOA_TAG=$MN_TAG \
		mn_docker "$via" stack deploy --resolve-image never \
		-c "$SWARM_SPOA_SRC/tests/swarm/hostmode-app.yml" "$stack" >"$TEST_WORK/deploy.log" 2>&1 ||
		fail "docker stack deploy: $(cat "$TEST_WORK/deploy.log")"
}

# network_gone: the stack's network is no longer listed by the swarm.
network_gone() {
	local left
	left=$(mn_docker "$via" network ls -q --filter "label=com.docker.stack.namespace=$stack")
	echo "networks of $stack left: ${left:-none}"
	[ -z "$left" ]
}

# host_mode_routes: every agent's "show routes" has the stack's host with one
# task at each node's address, in host mode.
host_mode_routes() {
	local out n
	out=$(mn_agent_cmd "$via" "show routes" | grep -E "^== agent|$host") || return 1
	echo "$out"
	[ "$(grep -c '^== agent' <<<"$out")" -ge 2 ] || return 1
	for (( n = 1; n <= MN_NODES; n++ )); do
		[ "$(grep -c "=$(mn_addr "$n"):[0-9]*(host mode)" <<<"$out")" -eq "$(grep -c '^== agent' <<<"$out")" ] ||
			return 1
	done
}

# routed_everywhere: the running tasks answer through every node's HAProxy.
routed_everywhere() {
	local names n
	mapfile -t names < <(mn_running_names "$via" "${stack}_web")
	[ ${#names[@]} -eq "$MN_NODES" ] || { echo "${#names[@]} tasks running"; return 1; }
	for (( n = 1; n <= MN_NODES; n++ )); do
		mn_routes_all "$n" "$host" "${names[@]}" || return 1
	done
}

# --- 1. routed at each node's address ----------------------------------------
mn_service "$keep" "$keep_host" 3
t0=$(now_ms)
deploy
wait_until 90 mn_converged "$via" "${stack}_web" "$MN_NODES" "$MN_NODES"
mapfile -t names < <(mn_running_names "$via" "${stack}_web")
wait_until 30 mn_tables_are "$via" "${stack}_web" "${names[@]}"
wait_until 30 host_mode_routes
log "$(host_mode_routes | grep -v '^==' | head -1 | tr -s ' ')"
wait_until 30 routed_everywhere
log "the $MN_NODES host-mode tasks answer through every node's HAProxy, $(( $(now_ms) - t0 )) ms after the deploy"
wait_until 90 mn_converged "$via" "$keep" 3

# --- 2. removed and deployed again, the other service under load --------------
for (( n = 1; n <= MN_NODES; n++ )); do mn_load_start "$n" "n$n" "$keep_host" 20 600; done
for (( r = 1; r <= rounds; r++ )); do
	t0=$(now_ms)
	mn_docker "$via" stack rm "$stack" >"$TEST_WORK/rm-$r.log" 2>&1 ||
		fail "round $r: docker stack rm exited $?: $(cat "$TEST_WORK/rm-$r.log")"
	wait_until 60 network_gone
	t1=$(now_ms)
	deploy
	wait_until 90 mn_converged "$via" "${stack}_web" "$MN_NODES" "$MN_NODES"
	wait_until 30 routed_everywhere
	log "round $r: docker stack rm exited 0, network gone in $(( t1 - t0 )) ms, routed again from every node $(( $(now_ms) - t1 )) ms after the deploy"
done
mn_load_end
all=$(mn_summary n1 n2 n3)
failed=$(mn_json "$all" 'd["failed"]')
log "requests to $keep_host: $(mn_json "$all" 'd["requests"]'), failed: $failed"
[ "$(mn_json "$all" 'd["requests"]')" -gt 0 ] || fail "no request to $keep_host was made"
[ "$failed" = 0 ] || fail "$failed requests to $keep_host failed: $(mn_json "$all" 'd["kinds"]')"
test_pass

#!/bin/bash
# Managed networks and `docker stack rm` on the multi-node swarm: a second
# pair of docker/stack.yml, deployed with SWARM_SPOA_MANAGE_NETWORKS=true
# (HAProxy on every node, on port 81 of each node's namespace; agents on the
# managers; it serves the service cluster "mnnet" only, so the fixture's
# pair and this one never route each other's services), and an
# Interlock-style app stack (tests/swarm/netmgr-app.yml) whose network is
# its own, named in com.docker.lb.network:
#   1. deployed: the agents attach HAProxy to the app's network (one update,
#      rolled node by node), and every node's HAProxy routes the app by host
#      and by path (the time until each node does is reported);
#   2. MN_NET_ROUNDS times (default 1): `docker stack rm` of the app; no
#      network of that stack remains within 120 s (the time is reported
#      against the 15 s of a single-node swarm: the detach rolls over three
#      nodes first); `docker stack deploy` of the same stack succeeds and
#      every node routes it again;
#   3. the operator's networks (the shared one, the pair's control network)
#      stay on HAProxy; the agents never failed to manage the proxy.
# Everything is removed at the end: the app, the second pair, its networks.
#
# Guards: the managed networks and `docker stack rm` that always works hold
# on a multi-node swarm, where every attach and detach rolls over three
# nodes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"
. "$here/../lib/multinode.sh"

test_init multinode_networks
mn_require
on_exit mn_test_cleanup

pair=mnnet
shared=mnnet-apps
app=mnneta
host=a.mnnet.test
port=81
rounds=${MN_NET_ROUNDS:-1}
removal_bound_s=120
app_file=$SWARM_SPOA_SRC/tests/swarm/netmgr-app.yml
[ -f "$app_file" ] || skip "$app_file missing"
via=$(mn_via)
# the stack helpers (tests/lib/stack.sh) talk to a manager
STACK_DOCKER="mn_docker $via"

# net_cleanup: the app, the second pair, their networks (also what an
# interrupted run left).
net_cleanup() {
	via=$(mn_via) || return 0
	STACK_DOCKER="mn_docker $via"
	STACK_RM_WAIT=120 STACK_RM_NET_WAIT=60 stack_remove "$app" "$pair"
	wait_for 60 _stack_rm_networks "name=$shared" || log "cleanup: $WAIT_LAST_OUTPUT"
}
net_cleanup
on_exit net_cleanup

# answers <node>: that node's HAProxy of this pair gets the agents' verdict
# (404 for a host nobody routes).
answers() {
	MN_HTTP_PORT=$port mn_pair_ready "$1"
}

# routed <node>: by host to the app's web service, by path to its api
# service with the prefix stripped, through that node's HAProxy.
routed() {
	local body
	body=$(mn_in "$1" curl -s --max-time 3 -H "Host: $host" "http://127.0.0.1:$port/") || true
	case "$body" in
		*"name=${app}_web."*) ;;
		*) echo "node $1: GET http://$host/ answered: ${body:-nothing}"; return 1 ;;
	esac
	body=$(mn_in "$1" curl -s --max-time 3 -H "Host: $host" "http://127.0.0.1:$port/api/users/?x=1") || true
	case "$body" in
		*"name=${app}_api."*"path=/users/?x=1 "*) ;;
		*) echo "node $1: GET http://$host/api/users/ answered: ${body:-nothing}"; return 1 ;;
	esac
}

# deploy_routed <what>: deploys the app and waits until every node routes
# it; logs when each node did.
deploy_routed() {
	local t0 n done_nodes=" " times= out
	local -A miss=()
	t0=$(now_ms)
	APP_STACK=$app APP_HOST=$host APP_TEST=$TEST_NAME APP_CLUSTER=$pair SWARM_SPOA_TAG=$MN_TAG \
		stack_deploy "$app" "$app_file" ||
		fail "$1: docker stack deploy of $app failed: $(cat "$TEST_WORK/deploy-$app.log")"
	all_routed() {
		for (( n = 1; n <= MN_NODES; n++ )); do
			case "$done_nodes" in *" $n "*) continue ;; esac
			if ! out=$(routed "$n"); then
				# what a node answers before its HAProxy is on the network
				[ -n "${miss[$n]:-}" ] || miss[$n]=$out
				continue
			fi
			done_nodes+="$n "
			times+=" node $n $(( $(now_ms) - t0 )) ms;"
		done
		[ "$(wc -w <<<"$done_nodes")" -eq "$MN_NODES" ] || { echo "routed by nodes:$done_nodes"; return 1; }
	}
	# all_routed keeps its progress in this shell: no subshell around it.
	local deadline=$(( $(now_ms) + 300000 ))
	until all_routed >/dev/null; do
		[ "$(now_ms)" -lt "$deadline" ] || { all_routed; fail "$1: $app not routed by every node within 300 s"; }
		sleep 0.5
	done
	log "$1: $app deployed, routed by host and path from every node:$times"
	for n in "${!miss[@]}"; do
		log "$1: before that, $(tr '\n' ' ' <<<"${miss[$n]}" | cut -c1-200)"
	done
}

# --- the second pair, with managed networks ------------------------------------
t0=$(now_ms)
mn_docker "$via" network create -d overlay --attachable --label "$TEST_LABEL_KEY=$TEST_NAME" "$shared" >/dev/null ||
	fail "cannot create network $shared"
SWARM_SPOA_TAG=$MN_TAG SWARM_SPOA_NETWORK=$shared SWARM_SPOA_HTTP_PORT=$port SWARM_SPOA_HTTPS_PORT=444 \
	SWARM_SPOA_CONTROL_SUBNET=10.213.253.0/24 SWARM_SPOA_MANAGE_NETWORKS=true SWARM_SPOA_NETWORK_GRACE=5 \
	SWARM_SPOA_SERVICE_CLUSTER=$pair pair_deploy "$pair"
for (( n = 1; n <= MN_NODES; n++ )); do wait_until 180 answers "$n"; done
log "pair $pair with managed networks answering on every node in $(( $(now_ms) - t0 )) ms"

# --- 1. the app, its network attached ---------------------------------------------
deploy_routed "first deploy"
net_id=$(mn_docker "$via" network inspect -f '{{.Id}}' "${app}_net")
nets=$(service_network_names "${pair}_haproxy")
assert_contains "$nets" "${app}_net " "the HAProxy service's networks"
log "HAProxy service on: $nets; tasks of $app on: $(mn_docker "$via" service ps --filter desired-state=running \
	--format '{{.Node}}' "${app}_web" "${app}_api" | sort | uniq -c | tr '\n' ' ')"

# --- 2. stack rm, network gone, redeploy ----------------------------------------------
for (( round = 1; round <= rounds; round++ )); do
	t0=$(now_ms)
	rm_status=0
	mn_docker "$via" stack rm "$app" >"$TEST_WORK/rm-$round.log" 2>&1 || rm_status=$?
	wait_until 60 stack_services_gone "$app"
	if ! wait_for "$removal_bound_s" stack_networks_gone "$app"; then
		fail "round $round: ${WAIT_LAST_OUTPUT} ${removal_bound_s} s after docker stack rm"
	fi
	log "round $round: network of $app removed $(( $(now_ms) - t0 )) ms after docker stack rm (its status $rm_status; 15 s on a single node)"
	deploy_routed "round $round"
done

# --- 3. the operator's networks stayed; what the agents said ----------------------------
nets=$(service_network_names "${pair}_haproxy")
assert_contains "$nets" "$shared " "the HAProxy service's networks"
assert_contains "$nets" "${pair}_control " "the HAProxy service's networks"
mn_docker "$via" service logs --raw "${pair}_agent" >"$TEST_WORK/agents.log" 2>&1 || true
for what in "network attached to the proxy service" "network detached from the proxy service" "network removed"; do
	n=$(grep -c "msg=\"$what\"" "$TEST_WORK/agents.log" || true)
	[ "$n" -ge "$rounds" ] || fail "'$what' logged $n times for $rounds rounds (see $TEST_WORK/agents.log)"
done
if grep 'cannot manage the proxy' "$TEST_WORK/agents.log"; then
	fail "the network manager failed (see $TEST_WORK/agents.log)"
fi
log "HAProxy service updates by the agents: $(grep -c 'msg="proxy service updated' "$TEST_WORK/agents.log" || true); DELETE retries while a task of another node was still on the network: $(grep -c 'msg="network not removed yet' "$TEST_WORK/agents.log" || true)"
test_pass

#!/bin/bash
# One agent killed under bounded load, the pair of
# docker/stack.yml with --manage-networks and an app stack on its own
# network:
#   1. 100 requests/s for 20 s through HAProxy; 5 s in, `docker kill` of one
#      agent's container: HAProxy keeps routing through the other agent, no
#      request fails;
#   2. Swarm restarts the killed agent; HAProxy sees both agents up again
#      (runtime API, "show servers state swarm-spoa-agents"), one of them
#      new; then the other agent is killed the same way, under load, no
#      request failing: the restarted agent carries the load (its NOTIFY
#      count grows by most of the requests), so it is used again;
#   3. the restarted agent's network manager finds the proxy as it should
#      be and changes nothing.
# Everything created is removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"
. "$here/netmgr_lib.sh"

test_init swarm_netmgr_agent_kill
ensure_cmd curl curl
ensure_cmd python3 python3
swarm_test_start
images_build
nm_init ssp5k

app=ssp5ka
host=a.ssp5k.test
nm_pair_deploy
nm_app_deploy "$app" "$host" || fail "deploy of $app failed: $(cat "$TEST_WORK/deploy-$app.log")"
wait_until 180 nm_routed "$app" "$host"
wait_until 120 nm_proxy_settled

# agents_up <n>: HAProxy has <n> agent servers up (operational state 2).
agents_up() {
	local state up
	state=$(nm_haproxy_cmd "show servers state swarm-spoa-agents") || { echo "$state"; return 1; }
	up=$(awk '$2 == "swarm-spoa-agents" && $6 == 2 { print $5 }' <<<"$state" | sort | tr '\n' ' ')
	[ "$(wc -w <<<"$up")" -eq "$1" ] || { echo "agents up in HAProxy: ${up:-none}"; return 1; }
	echo "$up"
}
wait_until 60 agents_up 2
before=$WAIT_LAST_OUTPUT
log "HAProxy has both agents up: $before"

notify() {   # <container>: NOTIFY frames the agent received
	nm_stats "show stats json" "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["total"]["notify"])'
}
# busy <container> <count>: the agent got <count> NOTIFY frames
busy() {
	local n
	n=$(notify "$1") || return 1
	[ "$n" -ge "$2" ] || { echo "agent ${1:0:12}: $n NOTIFY frames"; return 1; }
}

# replaced <slot> <task>: the slot runs a new task (prints "name id ...")
replaced() {
	local state
	state=$("$DOCKER" service ps --no-trunc --filter desired-state=running \
		--format '{{.Name}} {{.ID}} {{.CurrentState}}' "${NM_PAIR}_agent" | grep "\.$1 ") ||
		{ echo "no task in slot $1"; return 1; }
	case "$state" in
		*" $2 "*) echo "slot $1 still has the killed task"; return 1 ;;
		*" Running "*) echo "$state" ;;
		*) echo "slot $1: $state"; return 1 ;;
	esac
}

# kill_under_load <container> <round>: 100 requests/s for 20 s, the agent
# in <container> killed once it carries part of the load (about 5 s in);
# no request may fail. Then waits until Swarm replaced it and HAProxy has
# two agents up, one of them new; sets NEWCID to the new agent's container.
kill_under_load() {
	local victim=$1 round=$2 task slot n0 killed_ms before=$AGENTS_UP new_task
	task=$("$DOCKER" inspect -f '{{index .Config.Labels "com.docker.swarm.task.id"}}' "$victim")
	slot=$("$DOCKER" inspect -f '{{index .Config.Labels "com.docker.swarm.task.name"}}' "$victim" |
		cut -d. -f2)
	n0=$(notify "$victim")
	nm_load_start "kill$round" --host "$host" --expect "name=${app}_web." --rate 100 --duration 20
	wait_until 15 busy "$victim" $(( n0 + 200 ))
	"$DOCKER" kill "$victim" >/dev/null
	killed_ms=$(now_ms)
	log "round $round: killed agent container ${victim:0:12} (task $task, slot $slot) under load"
	nm_load_wait "kill$round"
	log "round $round: load while the agent was killed: $NM_LOAD"
	[ "$(nm_json "$NM_LOAD" 'r["requests"]')" -ge 1800 ] || fail "too few requests: $NM_LOAD"
	[ "$(nm_json "$NM_LOAD" 'r["failures"]')" = 0 ] ||
		fail "round $round: requests failed while an agent was killed: $NM_LOAD"

	wait_until 120 replaced "$slot" "$task"
	new_task=$(awk '{ print $2 }' <<<"$WAIT_LAST_OUTPUT")
	log "round $round: Swarm replaced the killed agent $(( $(now_ms) - killed_ms )) ms after the kill"
	wait_until 60 agents_up 2
	AGENTS_UP=$WAIT_LAST_OUTPUT
	log "round $round: HAProxy has both agents up again $(( $(now_ms) - killed_ms )) ms after the kill: $AGENTS_UP"
	[ "$AGENTS_UP" != "$before" ] || fail "HAProxy's agent servers did not change: $AGENTS_UP"
	NEWCID=$("$DOCKER" ps -q --filter "label=com.docker.swarm.task.id=$new_task" | head -1)
	[ -n "$NEWCID" ] || fail "no container for the new agent task $new_task"
}

# --- 1. kill one agent under load ----------------------------------------------
AGENTS_UP=$before
agents=$("$DOCKER" ps -q --filter "label=com.docker.swarm.service.name=${NM_PAIR}_agent")
first=$(head -1 <<<"$agents")
second=$(sed -n 2p <<<"$agents")
[ -n "$second" ] || fail "two agent containers expected: $agents"
kill_under_load "$first" 1
restarted=$NEWCID

# --- 2. the restarted agent is used: kill the other one ----------------------------
# HAProxy keeps its SPOE connections while they are busy, so the survivor
# carries the load until it goes: then the restarted agent must carry it all.
n0=$(notify "$restarted")
kill_under_load "$second" 2
n1=$(notify "$restarted")
log "the agent restarted in round 1 took $(( n1 - n0 )) NOTIFY frames in round 2"
[ "$(( n1 - n0 ))" -ge 1000 ] || fail "the restarted agent carried only $(( n1 - n0 )) NOTIFY frames"
nm_load_start again --host "$host" --expect "name=${app}_web." --rate 100 --duration 5
nm_load_wait again
log "load with both agents back: $NM_LOAD"
[ "$(nm_json "$NM_LOAD" 'r["failures"]')" = 0 ] || fail "requests failed with both agents back: $NM_LOAD"
newcid=$NEWCID

# --- 3. the restarted agent's network manager had nothing to do ---------------
shown=$(nm_stats "show networks json" "$newcid")
[ "$(nm_json "$shown" 'r["updates"]')" = 0 ] || fail "the restarted agent updated the proxy: $shown"
[ "$(nm_json "$shown" '[n["state"] for n in r["networks"] if n["name"] == "'"${app}_net"'"]')" = "['attached']" ] ||
	fail "show networks of the restarted agent: $shown"
test_pass

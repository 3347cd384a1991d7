#!/bin/bash
# Agent and manager failover under load, through the two HAProxies of the
# nodes that stay, 100 requests/s each, for a service whose tasks all run
# on those nodes (so whatever fails is the pair's own doing):
#
# 1. One agent crashes (SIGKILL of its container: its connections to
#    HAProxy are closed at once, requests in flight on them included).
#    Swarm starts a new one; HAProxy health-checks it.
# 2. The manager running the other agent vanishes (the raft leader when it
#    runs one): its cable is cut, then every process killed, so its
#    connections just go silent. HAProxy's requests to it fail when the
#    kernel aborts their connection (tcp-ut) or time out, and are asked
#    again through the retry engine, over a new connection to a live agent
#    (docs/haproxy.md, Timeouts); spop-check takes it out; the surviving
#    agent keeps routing through the raft election (its Docker API has no
#    leader for a while) and is synced again after; once Swarm declares the
#    node down, a new agent starts on the third manager and HAProxy
#    health-checks it.
#
# In both phases: no request fails. The node is started again at the end.
#
# Guards: the manager whose agent was answering goes away and no request
# fails because of the agent; an agent killed under load, and HAProxy
# keeps routing through the other.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"
. "$here/../lib/multinode.sh"

test_init multinode_manager_failover
mn_require
on_exit mn_test_cleanup

svc=mn-failover-web
host=failover.mn.test
rate=${MN_FAILOVER_RATE:-100}
spoe_conf=$SWARM_SPOA_SRC/haproxy-conf/spoe-swarm.conf

via=$(mn_via)
leader=$(mn_leader "$via")
agents=" $(mn_agent_nodes "$via" | tr '\n' ' ')"
[ "$(wc -w <<<"$agents")" -ge 2 ] || fail "two agents expected, running on:$agents"
case "$agents" in
	*" $leader "*) victim=$leader ;;
	*) victim=$(awk '{print $1}' <<<"$agents") ;;
esac
crashed=$(tr ' ' '\n' <<<"$agents" | grep -vx "$victim" | grep . | head -1)
others=()
for (( n = 1; n <= MN_NODES; n++ )); do [ "$n" = "$victim" ] || others+=("$n"); done
via=${others[0]}
mn_service "$svc" "$host" 4 --constraint "node.hostname!=$(mn_name "$victim")"
wait_until 90 mn_converged "$via" "$svc" 4 2
mapfile -t names < <(mn_running_names "$via" "$svc")
wait_until 30 mn_tables_are "$via" "$svc" "${names[@]}"
for n in "${others[@]}"; do wait_until 30 mn_routes_all "$n" "$host" "${names[@]}"; done

# agents_serve <lost node>: two agents run, none on <lost node>, and
# HAProxy health-checks each of them (SPOP HELLOs with the healthcheck
# flag, every 2 s from each HAProxy; two in a row put it in rotation).
# HAProxy opens SPOP connections to an agent only when the ones it has are
# busy, so at this load a new agent may well get none: the checks are what
# say that HAProxy would use it.
agents_serve() {
	local nodes
	nodes=" $(mn_agent_nodes "$via" | tr '\n' ' ')"
	[ "$(wc -w <<<"$nodes")" -ge 2 ] || { echo "agents on:$nodes"; return 1; }
	case "$nodes" in *" $1 "*) echo "agents on:$nodes"; return 1 ;; esac
	mn_agents_stat "$via" healthchecks | awk '{ print; if ($2 + 0 < 4) bad = 1 } END { exit bad }'
}

# check_load <tag> <since>: no failed request, with the reason when some did.
check_load() {
	local all failed
	all=$(mn_summary "$1-n${others[0]}" "$1-n${others[1]}")
	echo "$all" >"$TEST_WORK/summary-$1.json"
	failed=$(mn_json "$all" 'd["failed"]')
	log "$1: requests: $(mn_json "$all" 'd["requests"]'), failed: $failed $(mn_json "$all" 'd["kinds"]'), longest $(mn_json "$all" 'd["max_dt"]') s"
	log "$1: $(python3 -c '
import json, sys
rs = [json.loads(l) for f in sys.argv[2:] for l in open(f)]
s = [r for r in rs if r["dt"] > 0.2 or r["kind"] != "ok"]
print("%d requests failed or slower than 200 ms, started from %s s to %s s after the event" % (len(s),
      round(min((r["t"] for r in s), default=float(sys.argv[1])) - float(sys.argv[1]), 2),
      round(max((r["t"] for r in s), default=float(sys.argv[1])) - float(sys.argv[1]), 2)))
' "$2" "$TEST_WORK/load-$1-n${others[0]}.jsonl" "$TEST_WORK/load-$1-n${others[1]}.jsonl")"
	[ "$failed" = 0 ] && return 0
	if [ "$(mn_json "$all" 'd["kinds"].get("agent", 0)')" != 0 ]; then
		if ! grep -q '^ *option continue-on-error' "$spoe_conf"; then
			log "HAProxy answered 'routing agent unavailable': $spoe_conf has no 'option continue-on-error', so after an SPOE error (agent connection closed, processing timeout) HAProxy 2.6 skips the retry of haproxy.cfg's second send-spoe-group"
		fi
		if ! grep -q 'send-spoe-group swarm-spoa-retry route' "$SWARM_SPOA_SRC/haproxy-conf/haproxy.cfg"; then
			log "HAProxy answered 'routing agent unavailable': haproxy.cfg retries through the first engine, whose other connections to the failed agent may not be known dead yet; the retry belongs on the 'swarm-spoa-retry' engine of $spoe_conf (new connections)"
		fi
		if ! grep -q 'ipv4@tasks.*tcp-ut' "$SWARM_SPOA_SRC/haproxy-conf/agents-swarm.cfg"; then
			log "HAProxy answered 'routing agent unavailable': haproxy-conf/agents-swarm.cfg has no 'ipv4@' address with 'tcp-ut' on its server-template line, so HAProxy does not set TCP_USER_TIMEOUT and frames to a vanished agent wait for the processing timeout"
		fi
	fi
	fail "$1: $failed requests failed: $(mn_json "$all" 'd["kinds"]')"
}

# --- 1. an agent crashes ----------------------------------------------------
task=$(mn_docker "$crashed" ps -q --filter "label=com.docker.swarm.service.name=${MN_PAIR_STACK}_agent")
[ -n "$task" ] || fail "no agent container on node $crashed"
log "phase 1: the agent on node $crashed crashes (SIGKILL); load through nodes ${others[*]} for 20 s"
for n in "${others[@]}"; do mn_load_start "$n" "crash-n$n" "$host" "$rate" 20; done
wait_until 30 mn_load_started "crash-n${others[0]}" "crash-n${others[1]}"
# Scenario timing, not readiness: the load runs for 4 s before the crash.
sleep 4
t_crash=$(date +%s.%N)
mn_docker "$crashed" kill -s KILL "$task" >/dev/null
wait_until 60 agents_serve none
log "phase 1: a new agent runs and HAProxy checks it $(python3 -c "import time, sys; print(round(time.time() - float(sys.argv[1]), 1))" "$t_crash") s after the crash"
mn_load_wait
check_load crash "$t_crash"

# --- 2. the manager of the other agent vanishes -------------------------------
leader=$(mn_leader "$via")
agent_task=$(mn_docker "$via" service ps --no-trunc --filter desired-state=running \
	--format '{{.Name}}.{{.ID}} {{.Node}}' "${MN_PAIR_STACK}_agent" | awk -v v="$(mn_name "$victim")" '$2 == v {print $1; exit}')
[ -n "$agent_task" ] || fail "no agent on node $victim any more"
if [ "$leader" = "$victim" ]; then down_wait=60; else down_wait=20; fi
duration=$(( 4 + down_wait + 15 ))
log "phase 2: node $victim (agent $agent_task, leader: node $leader) vanishes; load through nodes ${others[*]} for $duration s"
t0=$(date +%s.%N)
for n in "${others[@]}"; do mn_load_start "$n" "loss-n$n" "$host" "$rate" "$duration"; done
wait_until 30 mn_load_started "loss-n${others[0]}" "loss-n${others[1]}"
# Scenario timing, not readiness: the load runs for 4 s before the loss.
sleep 4
t_kill=$(date +%s.%N)
mn_node_crash "$victim" || fail "node $victim could not be killed"
wait_until $(( down_wait + 40 )) agents_serve "$victim"
log "phase 2: a new agent runs and HAProxy checks it $(python3 -c "import time, sys; print(round(time.time() - float(sys.argv[1]), 1))" "$t_kill") s after the loss; SPOP connections per agent: $(mn_agents_info "$via" spop_connections | tr '\n' ';')"
t_down=$(mn_node_event "$via" "$victim" down "$t0")
[ -z "$t_down" ] || log "phase 2: node $victim declared down $(python3 -c "import sys; print(round(float(sys.argv[1]) - float(sys.argv[2]), 2))" "$t_down" "$t_kill") s after the loss"
mn_load_wait
check_load loss "$t_kill"

wait_until 30 mn_tables_are "$via" "$svc" "${names[@]}"
log "Docker API requests that failed, per agent (the election): $(mn_agents_info "$via" docker_request_failures | tr '\n' ';')"
states=$(mn_agents_info "$via" docker_state)
log "agents' Docker state: $(tr '\n' ';' <<<"$states")"
! grep -qv ' synced$' <<<"$states" || fail "an agent is not synced after the failover: $states"

t_back=$(now_ms)
mn_restore
log "node $victim back in the swarm and its HAProxy answering in $(( $(now_ms) - t_back )) ms"
test_pass

#!/bin/bash
# Partition and heal: the cable of a manager that runs one of the agents is
# cut (its veth on the hub's bridge goes down) while every node's HAProxy
# gets load, then plugged back.
#   During the partition:
#   - the agent on the cut-off node keeps its last good table (its manager
#     has no quorum, its Docker API fails: docker_state degraded, the 6
#     tasks still listed as ready) and keeps answering its HAProxy;
#   - the majority declares the node down and reschedules its tasks; the
#     agent of the majority follows (its table: the running tasks, none on
#     the cut-off node).
#   After the heal:
#   - routing is whole again within a bound: every node's HAProxy reaches
#     every running task, both agents list exactly those, synced, and the
#     pair has settled (Swarm replaces the cut-off node's HAProxy, which
#     the majority shut down when it declared the node down: that node
#     refuses connections while its HAProxy restarts);
#   - then 10 s of load through all three HAProxies: no request fails;
#   - nothing crashed: no task of the pair ended in failure.
# Requests that fail during the partition (those sent across the cut) are
# counted and reported, not asserted.
#
# Guards: during a partition the agents keep their last good tables
# (also while Docker is away) and nothing crashes; routing is whole again
# after the heal.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"
. "$here/../lib/multinode.sh"

test_init multinode_partition
mn_require
on_exit mn_test_cleanup

svc=mn-part-web
host=part.mn.test
rate=${MN_PARTITION_RATE:-100}

via=$(mn_via)
mn_service "$svc" "$host" 6
wait_until 90 mn_converged "$via" "$svc" 6 3
leader=$(mn_leader "$via")
victim=
for n in $(mn_agent_nodes "$via"); do
	[ "$n" = "$leader" ] || { victim=$n; break; }
done
[ -n "$victim" ] || fail "no agent on a node that is not the leader"
others=()
for (( n = 1; n <= MN_NODES; n++ )); do [ "$n" = "$victim" ] || others+=("$n"); done
via=${others[0]}
mapfile -t names < <(mn_running_names "$via" "$svc")
wait_until 30 mn_tables_are "$via" "$svc" "${names[@]}"
for (( n = 1; n <= MN_NODES; n++ )); do wait_until 30 mn_routes_all "$n" "$host" "${names[@]}"; done
failed_before=$(mn_docker "$via" service ps --filter desired-state=shutdown --format '{{.Name}} {{.CurrentState}} {{.Error}}' \
	"${MN_PAIR_STACK}_agent" "${MN_PAIR_STACK}_haproxy" | grep -c -E ' Failed|Rejected' || true)
log "node $victim (agent; leader: node $leader) will be cut off; load through every node"

# --- partition ------------------------------------------------------------------
t0=$(date +%s.%N)
for (( n = 1; n <= MN_NODES; n++ )); do mn_load_start "$n" "part-n$n" "$host" "$rate" 120; done
wait_until 30 mn_load_started part-n1 part-n2 part-n3
# Scenario timing, not readiness: the load runs for 4 s before the cut.
sleep 4
t_cut=$(date +%s.%N)
mn_link "$victim" down
log "node $victim cut off at $t_cut"

# the cut-off agent: degraded, last good table kept, still answering
isolated_keeps_table() {
	local info
	info=$(mn_local_agent_cmd "$victim" "show info") || { echo "$info"; return 1; }
	grep -E '^(docker_state|last_docker_error|tasks_ready):' <<<"$info"
	grep -q '^docker_state: degraded' <<<"$info" || return 1
	mn_local_agent_cmd "$victim" "show tasks $svc json" |
		sed '1i == agent on the cut-off node' |
		python3 "$SWARM_SPOA_SRC/tests/multinode/mn_check.py" tables --agents 1 --ready "$(printf '%s,' "${names[@]}")"
}
wait_until 60 isolated_keeps_table
log "cut-off agent: $(isolated_keeps_table | tr '\n' ';')"

node_down() { [ -n "$(mn_node_event "$via" "$victim" down "$t0")" ]; }
wait_until 60 node_down
t_down=$(mn_node_event "$via" "$victim" down "$t0")
log "node $victim declared down by the majority $(python3 -c "import sys; print(round(float(sys.argv[1]) - float(sys.argv[2]), 2))" "$t_down" "$t_cut") s after the cut"
majority_follows() {
	local names_now
	mn_converged "$via" "$svc" 6 2 "$victim" || return 1
	mapfile -t names_now < <(mn_running_names "$via" "$svc")
	mn_agent_cmd "$via" "show tasks $svc json" | awk -v v="$(mn_name "$victim")" '
		/^== agent / { skip = ($NF == v) } !skip' |
		python3 "$SWARM_SPOA_SRC/tests/multinode/mn_check.py" tables --agents 1 --ready "$(printf '%s,' "${names_now[@]}")"
}
wait_until 60 majority_follows
log "majority agent follows: $(majority_follows | tail -1)"
isolated_keeps_table >/dev/null || fail "the cut-off agent lost its last good table during the partition: $(isolated_keeps_table)"

# --- heal -------------------------------------------------------------------------
t_heal=$(date +%s.%N)
mn_link "$victim" up
log "node $victim plugged back after $(python3 -c "import sys; print(round(float(sys.argv[1]) - float(sys.argv[2]), 1))" "$t_heal" "$t_cut") s"
mn_load_end
during=$(mn_summary --from "$t_cut" part-n${others[0]} part-n${others[1]})
isolated=$(mn_summary --from "$t_cut" part-n$victim)
log "partition, majority nodes: $(mn_json "$during" 'd["requests"]') requests, $(mn_json "$during" 'd["failed"]') failed $(mn_json "$during" 'd["kinds"]'), last failure $(mn_json "$during" 'round((d["last_failure"] or float(sys.argv[3])) - float(sys.argv[3]), 2)' "$t_cut") s after the cut"
log "partition, cut-off node: $(mn_json "$isolated" 'd["requests"]') requests, $(mn_json "$isolated" 'd["failed"]') failed $(mn_json "$isolated" 'd["kinds"]')"
after_down=$(mn_summary --from "$(python3 -c "import sys; print(float(sys.argv[1]) + 1)" "$t_down")" part-n${others[0]} part-n${others[1]})
log "majority nodes, from 1 s after the node was declared down to the heal: $(mn_json "$after_down" 'd["requests"]') requests, $(mn_json "$after_down" 'd["failed"]') failed $(mn_json "$after_down" 'd["kinds"]')"

whole() {
	local n names_now
	_mn_swarm_ready >/dev/null || { echo "swarm not ready"; return 1; }
	mn_converged "$via" "$svc" 6 2 >/dev/null || { echo "$svc not converged"; return 1; }
	mn_pair_settled "$via" || return 1
	mn_pair_ready || return 1
	mapfile -t names_now < <(mn_running_names "$via" "$svc")
	mn_tables_are "$via" "$svc" "${names_now[@]}" || return 1
	mn_agents_info "$via" docker_state | grep -v ' synced$' && return 1
	for (( n = 1; n <= MN_NODES; n++ )); do
		mn_routes_all "$n" "$host" "${names_now[@]}" >/dev/null || { echo "node $n does not reach every task"; return 1; }
	done
}
wait_until 120 whole
t_ready=$(mn_node_event "$via" "$victim" ready "$t_heal")
[ -z "$t_ready" ] || log "node $victim Ready again $(python3 -c "import sys; print(round(float(sys.argv[1]) - float(sys.argv[2]), 1))" "$t_ready" "$t_heal") s after the heal"
log "routing whole again $(python3 -c "import time, sys; print(round(time.time() - float(sys.argv[1]), 1))" "$t_heal") s after the heal"

for (( n = 1; n <= MN_NODES; n++ )); do mn_load_start "$n" "healed-n$n" "$host" "$rate" 10; done
mn_load_wait
healed=$(mn_summary healed-n1 healed-n2 healed-n3)
log "after the heal: $(mn_json "$healed" 'd["requests"]') requests, $(mn_json "$healed" 'd["failed"]') failed $(mn_json "$healed" 'd["kinds"]')"
[ "$(mn_json "$healed" 'd["failed"]')" = 0 ] || fail "requests failed once routing was whole again: $healed"
mapfile -t names_now < <(mn_running_names "$via" "$svc")
for t in "${names_now[@]}"; do
	[ "$(mn_json "$healed" 'd["names"].get(sys.argv[3], 0)' "$t")" -gt 0 ] || fail "task $t answered no request after the heal"
done
failed_after=$(mn_docker "$via" service ps --filter desired-state=shutdown --format '{{.Name}} {{.CurrentState}} {{.Error}}' \
	"${MN_PAIR_STACK}_agent" "${MN_PAIR_STACK}_haproxy" | grep -E ' Failed|Rejected' || true)
[ "$(grep -c . <<<"$failed_after" || true)" -le "$failed_before" ] ||
	fail "tasks of the pair failed during the partition: $failed_after"
test_pass

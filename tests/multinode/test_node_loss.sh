#!/bin/bash
# Node loss under load: every process of a node that runs tasks of a routed
# service (dockerd, containerd, the shims, the containers) is killed at once,
# as when a machine dies, while the two other nodes' HAProxies carry 100
# requests/s each. test_node_loss.sh follower | leader: the node lost is a
# follower manager (one that runs no agent when there is one) or the raft
# leader. When it runs an agent, that agent dies with it and the HAProxies
# ask the other one (multinode_manager_failover: no request lost to that).
#   - Swarm declares the node down (its dispatcher heartbeat, 5 s by default,
#     decides how soon: 13 s for a follower, 45-50 s for the leader, whose
#     successor first gives every node a longer grace) and reschedules its
#     tasks on the other nodes;
#   - requests sent to the lost tasks in the first moments fail (HAProxy
#     cannot reach them): they are counted and reported; their connect
#     timeouts make the agents exclude the lost tasks (passive health), and
#     since every task of the node times out, the node as a whole
#     (health/suspect.h) until Swarm declares it down: no request that
#     starts later than 2 s after the loss fails;
#   - no request that starts later than 1 s (the convergence bound) after the
#     node is declared down fails: none is sent to a task of the lost node;
#   - no request fails for want of an agent;
#   - every task running at the end answers in the last 5 s of the load;
#   - both agents list exactly the running tasks, none on the lost node.
# The node is started again at the end and rejoins the swarm.
#
# Guards: a node lost, Swarm reschedules its tasks and the agents follow
# within the convergence bound; the failed requests are measured.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"
. "$here/../lib/multinode.sh"

role=${1:-follower}
case "$role" in follower|leader) ;; *) echo "usage: $0 follower|leader" >&2; exit 2 ;; esac
test_init "multinode_node_loss_$role"
mn_require
on_exit mn_test_cleanup

svc=mn-loss-web
host=loss.mn.test
rate=${MN_LOSS_RATE:-100}
bound=1.0
loss_bound=2.0

via=$(mn_via)
mn_service "$svc" "$host" 6
wait_until 90 mn_converged "$via" "$svc" 6 3
agents=" $(mn_agent_nodes "$via" | tr '\n' ' ')"
leader=$(mn_leader "$via")
[ -n "$leader" ] || fail "no raft leader"
victim=
if [ "$role" = leader ]; then
	victim=$leader
else
	for (( n = MN_NODES; n >= 1; n-- )); do
		[ "$n" != "$leader" ] || continue
		case "$agents" in *" $n "*) [ -n "$victim" ] || victim=$n ;; *) victim=$n; break ;; esac
	done
fi
[ -n "$victim" ] || fail "no $role to lose (leader: node $leader)"
case "$agents" in *" $victim "*) victim_agent=yes ;; *) victim_agent=no ;; esac
others=()
for (( n = 1; n <= MN_NODES; n++ )); do [ "$n" = "$victim" ] || others+=("$n"); done
via=${others[0]}
mapfile -t names < <(mn_running_names "$via" "$svc")
mapfile -t victim_tasks < <(mn_tasks "$via" "$svc" | awk -v v="$(mn_name "$victim")" '$2 == v {print $1}')
[ ${#victim_tasks[@]} -gt 0 ] || fail "no task of $svc on node $victim"
wait_until 30 mn_tables_are "$via" "$svc" "${names[@]}"
for n in "${others[@]}"; do wait_until 30 mn_routes_all "$n" "$host" "${names[@]}"; done
# Swarm declares a lost follower down after about 2.5 heartbeats (12-13 s
# with the default 5 s). A lost leader takes longer: the new leader first
# marks every node "unknown" and gives them a longer grace (45-50 s here).
# The load lasts until the agents route every task Swarm runs after that,
# plus 5 s to see routing whole; its duration is only an upper bound.
if [ "$leader" = "$victim" ]; then down_wait=60; else down_wait=20; fi
duration=$(( 4 + down_wait + 100 ))
log "node $victim ($role, agent: $victim_agent, ${#victim_tasks[@]} tasks of $svc; leader: node $leader) will be lost; load through nodes ${others[*]} for $duration s"

t0=$(date +%s.%N)
for n in "${others[@]}"; do mn_load_start "$n" "n$n" "$host" "$rate" "$duration"; done
wait_until 30 mn_load_started "n${others[0]}" "n${others[1]}"
# Scenario timing, not readiness: the load runs for 4 s before the loss.
sleep 4
t_kill=$(date +%s.%N)
mn_node_kill "$victim" || fail "node $victim could not be killed"
log "node $victim killed at $t_kill"
node_down() { [ -n "$(mn_node_event "$via" "$victim" down "$t0")" ]; }
wait_until $(( down_wait + 30 )) node_down
t_down=$(mn_node_event "$via" "$victim" down "$t0")
log "node $victim declared down $(python3 -c "import sys; print(round(float(sys.argv[1]) - float(sys.argv[2]), 2))" "$t_down" "$t_kill") s after the kill"
wait_until 60 mn_converged "$via" "$svc" 6 2 "$victim"
mapfile -t after < <(mn_running_names "$via" "$svc")
wait_until 30 mn_tables_are "$via" "$svc" "${after[@]}"
log "the agents route every task Swarm runs $(python3 -c "import sys, time; print(round(time.time() - float(sys.argv[1]), 2))" "$t_down") s after node $victim was declared down"
# Scenario timing, not readiness: 5 s of load with the tables whole.
sleep 5
mn_load_end
all=$(mn_summary "n${others[0]}" "n${others[1]}")
t_safe=$(python3 -c "import sys; print(float(sys.argv[1]) + $bound)" "$t_down")
after_down=$(mn_summary --from "$t_safe" "n${others[0]}" "n${others[1]}")
# The loss, as the clients saw it: the last request a task of the node
# answered started then (killing every process of a node takes a moment
# after t_kill on a busy machine).
t_loss=$(mn_json "$all" 'max([d["last_seen"].get(n, 0) for n in sys.argv[3:]])' "${victim_tasks[@]}")
python3 -c "import sys; sys.exit(not float(sys.argv[1]) > 0)" "$t_loss" ||
	fail "no task of node $victim answered before the loss: $all"
t_settled=$(python3 -c "import sys; print(float(sys.argv[1]) + $loss_bound)" "$t_loss")
after_loss=$(mn_summary --from "$t_settled" "n${others[0]}" "n${others[1]}")
first_s=$(mn_summary --from "$t_loss" --to "$t_settled" "n${others[0]}" "n${others[1]}")
window=$(mn_summary --from "$t_kill" --to "$t_down" "n${others[0]}" "n${others[1]}")
late=$(mn_summary --from "$(mn_json "$all" 'd["last"] - 5')" "n${others[0]}" "n${others[1]}")
log "requests: $(mn_json "$all" 'd["requests"]'), failed: $(mn_json "$all" 'd["failed"]') $(mn_json "$all" 'd["kinds"]')"
log "between the kill and the node declared down: $(mn_json "$window" 'd["requests"]') requests, $(mn_json "$window" 'd["failed"]') failed"
log "failed requests started from $(mn_json "$all" 'round((d["first_failure"] or 0) - float(sys.argv[3]), 2)' "$t_kill") s to $(mn_json "$all" 'round((d["last_failure"] or 0) - float(sys.argv[3]), 2)' "$t_kill") s after the kill; the longest request took $(mn_json "$all" 'd["max_dt"]') s"
log "node $victim's tasks last answered a request started $(python3 -c "import sys; print(round(float(sys.argv[1]) - float(sys.argv[2]), 2))" "$t_loss" "$t_kill") s after the kill began"
log "in the first ${loss_bound} s after the loss: $(mn_json "$first_s" 'd["requests"]') requests, $(mn_json "$first_s" 'd["failed"]') failed; later: $(mn_json "$after_loss" 'd["requests"]') requests, $(mn_json "$after_loss" 'd["failed"]') failed"
echo "$all" >"$TEST_WORK/summary.json"

[ "$(mn_json "$after_loss" 'd["failed"]')" = 0 ] ||
	fail "requests started later than ${loss_bound}s after the loss failed: $(mn_json "$after_loss" 'd["failed"]') $(mn_json "$after_loss" 'd["kinds"]'), from $(mn_json "$after_loss" 'round((d["first_failure"] or 0) - float(sys.argv[3]), 2)' "$t_loss") s to $(mn_json "$after_loss" 'round((d["last_failure"] or 0) - float(sys.argv[3]), 2)' "$t_loss") s after the loss"
[ "$(mn_json "$after_down" 'd["failed"]')" = 0 ] ||
	fail "requests started later than ${bound}s after the node was declared down failed: $after_down"
[ "$(mn_json "$all" 'd["kinds"].get("agent", 0)')" = 0 ] ||
	fail "requests failed for want of an agent: $(mn_json "$all" 'd["kinds"]')"
for t in "${victim_tasks[@]}"; do
	[ "$(mn_json "$after_down" 'd["names"].get(sys.argv[3], 0)' "$t")" = 0 ] ||
		fail "task $t of the lost node answered after it was declared down"
done
mn_check_moved "$via" "$svc" "$victim" lost "$late" "${after[@]}"

t_back=$(now_ms)
mn_restore
log "node $victim back in the swarm and its HAProxy answering in $(( $(now_ms) - t_back )) ms"
test_pass

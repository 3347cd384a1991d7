#!/bin/bash
# Node drain under load: `docker node update --availability drain` on a node
# that runs tasks of a routed service and one of the agents, while the other
# two nodes' HAProxies carry 100 requests/s each for 20 s. The node's tasks
# move to the other nodes, its agent moves to the third manager, and:
#   - no request fails;
#   - no request that starts later than 1 s (the convergence bound) after
#     the drain is answered by a task of the drained node;
#   - every task running at the end answers in the last 5 s of the load;
#   - both agents list exactly the running tasks, none on the drained node.
# The drained node's own HAProxy stops too (drain stops global tasks): in
# front of real nodes an external load balancer takes it out; it is not
# sent load here.
#
# Guards: a drained node's tasks move, routing follows, and no request
# fails, with the graceful-stop settings of docker/README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"
. "$here/../lib/multinode.sh"

test_init multinode_drain
mn_require
on_exit mn_test_cleanup

svc=mn-drain-web
host=drain.mn.test
rate=${MN_DRAIN_RATE:-100}
duration=${MN_DRAIN_DURATION:-20}
bound=1.0

via=$(mn_via)
mn_service "$svc" "$host" 6
wait_until 90 mn_converged "$via" "$svc" 6 3
victim=$(mn_agent_nodes "$via" | head -1)
[ -n "$victim" ] || fail "no agent running"
others=()
for (( n = 1; n <= MN_NODES; n++ )); do [ "$n" = "$victim" ] || others+=("$n"); done
via=${others[0]}
mapfile -t names < <(mn_running_names "$via" "$svc")
mapfile -t victim_tasks < <(mn_tasks "$via" "$svc" | awk -v v="$(mn_name "$victim")" '$2 == v {print $1}')
[ ${#victim_tasks[@]} -gt 0 ] || fail "no task of $svc on node $victim"
wait_until 30 mn_tables_are "$via" "$svc" "${names[@]}"
for n in "${others[@]}"; do wait_until 30 mn_routes_all "$n" "$host" "${names[@]}"; done
log "node $victim (agent, ${#victim_tasks[@]} tasks of $svc) will be drained; load through nodes ${others[*]}"

for n in "${others[@]}"; do mn_load_start "$n" "n$n" "$host" "$rate" "$duration"; done
wait_until 30 mn_load_started "n${others[0]}" "n${others[1]}"
# Scenario timing, not readiness: the load runs for 4 s before the drain.
sleep 4
t_drain=$(date +%s.%N)
mn_docker "$via" node update --availability drain "$(mn_name "$victim")" >/dev/null
log "drained node $victim at $t_drain"
wait_until 60 mn_converged "$via" "$svc" 6 2 "$victim"
mn_load_wait

mapfile -t after < <(mn_running_names "$via" "$svc")
all=$(mn_summary "n${others[0]}" "n${others[1]}")
log "load: $all"
failed=$(mn_json "$all" 'd["failed"]')
last_victim=$(mn_json "$all" 'max([d["last_seen"].get(n, 0) for n in sys.argv[3:]])' "${victim_tasks[@]}")
last=$(mn_json "$all" 'd["last"]')
late=$(mn_summary --from "$(mn_json "$all" 'd["last"] - 5')" "n${others[0]}" "n${others[1]}")
out_ms=$(python3 -c "import sys; print(int((float(sys.argv[1]) - float(sys.argv[2])) * 1000))" "$last_victim" "$t_drain")
log "requests: $(mn_json "$all" 'd["requests"]'), failed: $failed, kinds: $(mn_json "$all" 'd["kinds"]')"
log "last request answered by a task of the drained node: $out_ms ms after the drain"

[ "$failed" = 0 ] || fail "$failed requests failed during the drain: $(mn_json "$all" 'd["kinds"]')"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) + $bound else 1)" \
	"$last_victim" "$t_drain" ||
	fail "a task of the drained node answered a request that started $out_ms ms after the drain (bound ${bound}s)"
mn_check_moved "$via" "$svc" "$victim" drained "$late" "${after[@]}"
agents=$(mn_agent_nodes "$via" | tr '\n' ' ')
case " $agents" in *" $victim "*) fail "an agent still runs on the drained node: $agents" ;; esac
log "agents now on nodes $agents"
test_pass

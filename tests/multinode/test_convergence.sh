#!/bin/bash
# Convergence across nodes: MN_CONV_SERVICES (10) routed services of one task
# each are scaled to 3 tasks in one command, so 20 new tasks start on the 3
# nodes at once, most of them on nodes whose events the agents' daemons do
# not see. For every new task, from Docker's own timestamps and each agent's
# "task ready" log line (bench/scale_bench_lag.py):
#   - the agent's part (the manager stored the task running -> the agent's
#     table routes it): p99 at most 1 s, max at most 3 s, on both agents;
#   - Swarm's part (the node saw it running -> the manager stored it) and
#     the total are reported, not judged: they are Swarm's.
# The services have no health check, so a running task is a ready one.
#
# Guards: tasks started on other nodes reach the agents' tables within the
# convergence bound (issue "nodes that die", targets of the table).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"
. "$here/../lib/multinode.sh"

test_init multinode_convergence
mn_require
on_exit mn_test_cleanup

count=${MN_CONV_SERVICES:-10}
p99_bound=1.0
max_bound=3.0
via=$(mn_via)
svcs=()
for (( i = 0; i < count; i++ )); do
	svcs+=("mn-conv-$i")
	mn_docker "$via" service create -d --quiet --name "mn-conv-$i" --replicas 1 \
		--label "$TEST_LABEL_KEY=$TEST_NAME" --network "$MN_NETWORK" \
		--label "com.docker.lb.hosts=conv-$i.mn.test" --label com.docker.lb.port=8080 \
		--label "com.docker.lb.network=$MN_NETWORK" --no-healthcheck \
		--env 'TASK_NAME={{.Task.Name}}' --no-resolve-image "swarm-spoa/echo:$MN_TAG" >/dev/null
done

# every agent (two at least) routes <n> ready tasks in all (show info
# tasks_ready: only this test's services are routed while it runs)
_agents_ready() {
	local out
	out=$(mn_agents_info "$via" tasks_ready)
	echo "$out"
	[ "$(wc -l <<<"$out")" -ge 2 ] && ! awk -v n="$1" '$2 != n {bad = 1} END {exit !bad}' <<<"$out"
}
_all_running() {
	local s
	for s in "${svcs[@]}"; do mn_converged "$via" "$s" "$1" >/dev/null || { echo "$s not converged"; return 1; }; done
}
wait_until 120 _all_running 1
wait_until 60 _agents_ready "$count"
log "$count services of 1 task running and routed by both agents"

since=$(date +%s.%N)
args=()
for s in "${svcs[@]}"; do args+=("$s=3"); done
mn_docker "$via" service scale -d "${args[@]}" >/dev/null
wait_until 180 _all_running 3
wait_until 60 _agents_ready $(( count * 3 ))
log "$(( count * 2 )) new tasks running and routed by both agents $(python3 -c "import sys, time; print(int((time.time() - float(sys.argv[1])) * 1000))" "$since") ms after the scale"

curl -s --unix-socket "$(mn_sock "$via")" http://docker/v1.41/tasks >"$TEST_WORK/tasks.json"
agents=0
while read -r n; do
	for cid in $(mn_docker "$n" ps -q --filter "label=com.docker.swarm.service.name=${MN_PAIR_STACK}_agent"); do
		mn_docker "$n" logs --since "${since%.*}" "$cid" >"$TEST_WORK/agent-n$n.log" 2>&1
		lag=$(python3 "$SWARM_SPOA_SRC/bench/scale_bench_lag.py" --json --tasks "$TEST_WORK/tasks.json" \
			--agent-log "$TEST_WORK/agent-n$n.log" --since "$since")
		log "agent on node $n: $lag"
		python3 - "$lag" "$(( count * 2 ))" "$p99_bound" "$max_bound" <<'PY' || fail "agent on node $n: convergence over its bound: $lag"
import json, sys
d, want, p99, mx = json.loads(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
a = d["agent"]
print("agent part: %d tasks, p50 %.3f s, p99 %.3f s, max %.3f s (bounds %.1f / %.1f s); total p99 %.3f s, max %.3f s"
      % (a["tasks"], a["p50"] or 0, a["p99"] or 0, a["max"] or 0, p99, mx,
         d["total"]["p99"] or 0, d["total"]["max"] or 0), file=sys.stderr)
sys.exit(0 if a["tasks"] >= want and a["p99"] <= p99 and a["max"] <= mx else 1)
PY
		agents=$(( agents + 1 ))
	done
done < <(mn_agent_nodes "$via")
[ "$agents" -ge 2 ] || fail "measured $agents agents, expected 2"
test_pass

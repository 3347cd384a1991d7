#!/bin/bash
# Scale benchmark: the figures of docs/benchmarks.md, "Many nodes".
#
#   bench/scale_bench.sh [swarm] [fixture]     (default: both)
#
# swarm    A real 3-node swarm on this machine (tests/lib/multinode.sh: three
#          dockerds, each in its own network namespace, all managers), the
#          pair of docker/stack.yml on it (HAProxy on every node, two
#          agents), then routed services of BENCH_TASKS_PER_SERVICE (5) echo
#          tasks created in steps of BENCH_STEP (50) up to BENCH_SERVICES
#          (300), or until the machine holds no more (a step that does not
#          converge within BENCH_STEP_TIMEOUT_S, less than BENCH_MIN_FREE_MB
#          of memory left, or a next step that would take the machine's
#          threads past 85% of kernel.pid_max). Per step: time until Docker
#          reports every task running and until both agents route them all,
#          the agents' convergence lag
#          (their own p50/p99/max, from each task's state change in Docker to
#          the table), agent CPU and memory, Docker API requests per
#          second, memory left, and the step's own tasks' convergence
#          p50/p99/max, split between Swarm and the agent
#          (bench/scale_bench_lag.py). At the largest size: steady-state Docker API request rate
#          and agent CPU over BENCH_IDLE_S (60), full resyncs, the
#          convergence of a scale up and down, requests through every
#          node's HAProxy. The swarm is removed at the end (BENCH_KEEP=1
#          keeps it).
# fixture  A RECORDED-RESPONSE FIXTURE (bench/discovery_fakedocker.py, not a
#          Docker daemon): the same agent binary against
#          BENCH_FIXTURE_SERVICES (10,000) services of
#          BENCH_FIXTURE_TASKS_PER_SERVICE (5) tasks: first sync, resyncs,
#          memory, steady-state request rate and CPU, to show how the cost
#          grows past what this machine can run.
#
# Run as root on the machine the tests run on. Results are printed and
# appended to $TEST_WORK/results.txt (build/test-work/scale_bench/).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SWARM_SPOA_SRC=$(cd "$here/.." && pwd)
. "$SWARM_SPOA_SRC/tests/lib/common.sh"
. "$SWARM_SPOA_SRC/tests/lib/dockerd.sh"
. "$SWARM_SPOA_SRC/tests/lib/multinode.sh"

test_init scale_bench
AGENT=$SWARM_SPOA_BUILD/swarm-spoa
STEP=${BENCH_STEP:-50}
NSVC=${BENCH_SERVICES:-300}
PER=${BENCH_TASKS_PER_SERVICE:-5}
STEP_TIMEOUT=${BENCH_STEP_TIMEOUT_S:-900}
MIN_FREE_MB=${BENCH_MIN_FREE_MB:-2048}
IDLE_S=${BENCH_IDLE_S:-60}
RESYNCS=${BENCH_RESYNCS:-3}
FX_NSVC=${BENCH_FIXTURE_SERVICES:-10000}
FX_PER=${BENCH_FIXTURE_TASKS_PER_SERVICE:-5}
RESULTS=$TEST_WORK/results.txt
HZ=$(getconf CLK_TCK)
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(swarm fixture)

result() {
	printf '%s\n' "$*" | tee -a "$RESULTS"
}

mem_available_mb() {
	awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo
}

# proc_cpu_ticks <pid>: utime + stime; proc_rss_kb <pid>: VmRSS
proc_cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
proc_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# --------------------------------------------------------------------------
# The real swarm
# --------------------------------------------------------------------------

# agents_pids: "<node> <host pid>" of every running agent container (the
# nodes' dockerds share the host's PID namespace).
agents_pids() {
	local n cid
	for (( n = 1; n <= MN_NODES; n++ )); do
		for cid in $(mn_docker "$n" ps -q --filter "label=com.docker.swarm.service.name=${MN_PAIR_STACK}_agent"); do
			echo "$n $(mn_docker "$n" inspect -f '{{.State.Pid}}' "$cid")"
		done
	done
}

# agents_sample: one line per agent: node pid cpu_ticks rss_kb
# docker_requests tasks_answers tasks_answers_over_1s tasks_answer_total_ms
agents_sample() {
	local n pid info
	while read -r n pid; do
		info=$(mn_local_agent_cmd "$n" "show info")
		echo "$n $pid $(proc_cpu_ticks "$pid") $(proc_rss_kb "$pid")" $(for k in docker_requests \
			docker_tasks_answers docker_tasks_answers_over_1s docker_tasks_answer_total_ms; do
			v=$(awk -F': *' -v k="$k" '$1 == k {print $2}' <<<"$info"); echo "${v:-0}"; done)
	done < <(agents_pids)
}

# agents_info_line <key...>: "n<node>: k=v ..." for every agent
agents_info_line() {
	local n pid info k line
	while read -r n pid; do
		info=$(mn_local_agent_cmd "$n" "show info")
		line="node $n:"
		for k in "$@"; do
			line+=" $k=$(awk -F': *' -v k="$k" '$1 == k {print $2}' <<<"$info")"
		done
		echo "$line"
	done < <(agents_pids)
}

# api_all_running <services>: Docker reports every task of that many bench
# services running.
api_all_running() {
	local full
	full=$(mn_docker "$via" service ls --filter "label=$TEST_LABEL_KEY=$TEST_NAME" --format '{{.Replicas}}' |
		awk -F/ '$1 == $2 && $1 > 0' | wc -l)
	[ "$full" -ge "$1" ] || { echo "$full/$1 services fully running"; return 1; }
}

# agents_route <tasks>: every agent has at least that many tasks ready.
agents_route() {
	local n ready
	while read -r n _; do
		ready=$(mn_local_agent_cmd "$n" "show info" | awk -F': *' '$1 == "tasks_ready" {print $2}')
		[ "${ready:-0}" -ge "$1" ] || { echo "agent on node $n: $ready/$1 tasks ready"; return 1; }
	done < <(agents_pids)
}

# step_watch <services> <tasks> <timeout>: polls, every 0.5 s, until Docker's
# API reports every task running and both agents route them all; T_API and
# T_AGENTS are when each was first seen (ms). Returns 1 on timeout, with
# the last state in WAIT_LAST_OUTPUT.
step_watch() {
	local deadline=$(( $(now_ms) + $3 * 1000 ))
	T_API= T_AGENTS=
	while [ "$(now_ms)" -lt "$deadline" ]; do
		if [ -z "$T_API" ]; then
			WAIT_LAST_OUTPUT=$(api_all_running "$1") && T_API=$(now_ms)
		fi
		if [ -z "$T_AGENTS" ]; then
			WAIT_LAST_OUTPUT=$(agents_route "$2") && T_AGENTS=$(now_ms)
		fi
		[ -z "$T_API" ] || [ -z "$T_AGENTS" ] || return 0
		sleep 0.5
	done
	return 1
}

# threads: every thread on the machine (each one takes a PID).
threads() {
	awk '{split($4, a, "/"); print a[2]}' /proc/loadavg
}

# print_delta <before> <after> <seconds>: per agent, CPU and requests over
# the interval, and memory after.
print_delta() {
	python3 -c '
import sys
before = {l.split()[0]: l.split() for l in sys.argv[1].splitlines() if l.strip()}
after = {l.split()[0]: l.split() for l in sys.argv[2].splitlines() if l.strip()}
secs, hz = float(sys.argv[3]), float(sys.argv[4])
for n, a in sorted(after.items()):
    b = before.get(n)
    if not b or b[1] != a[1]:
        print("    agent on node %s: new process, RSS %.1f MiB, %s Docker requests since start" % (n, int(a[3]) / 1024.0, a[4]))
        continue
    cpu = (int(a[2]) - int(b[2])) / hz
    req = int(a[4]) - int(b[4])
    ans, slow, ms = (int(a[i]) - int(b[i]) for i in (5, 6, 7))
    print("    agent on node %s: CPU %.2f s (%.1f%% of a core), %d Docker API requests (%.2f/s), RSS %.1f MiB"
          % (n, cpu, 100 * cpu / secs, req, req / secs, int(a[3]) / 1024.0))
    if ans:
        print("      Docker answered its %d /tasks polls in %.0f ms on average, %d of them (%.1f%%) in more than 1 s"
              % (ans, ms / ans, slow, 100.0 * slow / ans))
' "$1" "$2" "$3" "$HZ"
}

bench_swarm() {
	local created=0 step t0 t1 s0 s1 i name free stop_reason= tasks th0 th pid_max per_task
	log "swarm: ${MN_NODES} nodes, up to $NSVC services x $PER tasks, steps of $STEP"
	MN_NETWORK_SUBNET=10.213.160.0/19 mn_setup
	[ "${BENCH_KEEP:-0}" = 1 ] || on_exit mn_teardown
	MN_NETWORK_SUBNET=10.213.160.0/19 mn_pair_deploy
	via=$(mn_via)
	pid_max=$(cat /proc/sys/kernel/pid_max)
	th0=$(threads)
	result "== swarm: $MN_NODES nodes (dockerd $("$DOCKER" version -f '{{.Server.Version}}'), 3 managers), $(nproc) CPUs, $(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 )) MiB, kernel.pid_max $pid_max"
	result "   services of $PER echo tasks (no health check), routed by host; the pair of docker/stack.yml"
	result "   before the first step: memory available $(mem_available_mb) MiB, $th0 threads"

	while [ "$created" -lt "$NSVC" ]; do
		step=$(( NSVC - created < STEP ? NSVC - created : STEP ))
		free=$(mem_available_mb)
		th=$(threads)
		if [ "$free" -lt "$MIN_FREE_MB" ]; then
			stop_reason="memory: $free MiB available, below BENCH_MIN_FREE_MB=$MIN_FREE_MB"
			break
		fi
		# Every thread takes a PID: past kernel.pid_max nothing on the
		# machine can fork. Stop a step before 85% of it.
		if [ "$created" -gt 0 ]; then
			per_task=$(( (th - th0) / (created * PER) + 1 ))
			if [ $(( th + per_task * step * PER )) -gt $(( pid_max * 85 / 100 )) ]; then
				stop_reason="threads: $th running, about $per_task per task; $step more services would pass 85% of kernel.pid_max ($pid_max)"
				break
			fi
		fi
		s0=$(agents_sample)
		t0=$(now_ms)
		for (( i = created; i < created + step; i++ )); do
			name=$(printf 'scale-%04d' "$i")
			mn_docker "$via" service create -d --quiet --name "$name" --replicas "$PER" \
				--label "$TEST_LABEL_KEY=$TEST_NAME" --network "$MN_NETWORK" \
				--label "com.docker.lb.hosts=$name.scale.test" --label com.docker.lb.port=8080 \
				--env 'TASK_NAME={{.Task.Name}}' --no-healthcheck --stop-grace-period 5s \
				--no-resolve-image "swarm-spoa/echo:$MN_TAG" --grace 1 >/dev/null ||
				{ stop_reason="service create failed at $name"; break 2; }
		done
		t1=$(now_ms)
		created=$(( created + step ))
		tasks=$(( created * PER ))
		if ! step_watch "$created" "$tasks" "$STEP_TIMEOUT"; then
			stop_reason="the step to $created services did not converge within ${STEP_TIMEOUT}s: $WAIT_LAST_OUTPUT"
			result "  $created services / $tasks tasks: NOT CONVERGED: $WAIT_LAST_OUTPUT; task states:"
			mn_docker "$via" service ps --filter desired-state=running --format '{{.CurrentState}} {{.Error}}' \
				$(mn_docker "$via" service ls -q --filter "label=$TEST_LABEL_KEY=$TEST_NAME") 2>/dev/null |
				awk '{print $1, $NF}' | sort | uniq -c | sort -rn | head -5 | sed 's/^/    /' | tee -a "$RESULTS"
			# back to the last size that converged, for the measurements below
			for (( i = created - step; i < created; i++ )); do
				mn_docker "$via" service rm "$(printf 'scale-%04d' "$i")" >/dev/null 2>&1 || true
			done
			created=$(( created - step ))
			step_watch "$created" "$(( created * PER ))" "$STEP_TIMEOUT" || fail "the swarm does not come back to $created services"
			break
		fi
		s1=$(agents_sample)
		result "  $created services / $tasks tasks: step of $step services created in $(( t1 - t0 )) ms; Docker reports all tasks running $(( T_API - t0 )) ms and both agents route them all $(( T_AGENTS - t0 )) ms after the first create; memory available $(mem_available_mb) MiB, $(threads) threads"
		result "    containers per node: $(for (( n = 1; n <= MN_NODES; n++ )); do printf '%s ' "$(mn_docker "$n" ps -q | wc -l)"; done)"
		agents_info_line convergence_p50_ms convergence_p99_ms convergence_max_ms convergence_samples table_build_us \
			docker_full_poll_ms docker_filtered_poll_ms docker_filtered_poll_ids docker_stuck_services |
			sed 's/^/    /' | tee -a "$RESULTS"
		print_delta "$s0" "$s1" "$(( ($(now_ms) - t0) / 1000 + 1 ))" | tee -a "$RESULTS"
		# this step's tasks alone: p50/p99/max from Docker's timestamps
		lag_report "the step to $created services" "$(( t0 / 1000 ))"
	done
	result "  largest size that converged: $created services / $(( created * PER )) tasks${stop_reason:+ (stopped: $stop_reason)}"
	[ "$created" -gt 0 ] || return 0

	# steady state
	log "swarm: idle for ${IDLE_S}s at $created services"
	s0=$(agents_sample)
	sleep "$IDLE_S"
	s1=$(agents_sample)
	result "  steady state at $created services / $(( created * PER )) tasks, over ${IDLE_S}s:"
	print_delta "$s0" "$s1" "$IDLE_S" | tee -a "$RESULTS"
	result "    dockerd RSS per node (MiB): $(for (( n = 1; n <= MN_NODES; n++ )); do printf '%s ' $(( $(proc_rss_kb "$(cat "$(mn_dir "$n")/run/docker.pid")") / 1024 )); done)"

	# full resyncs, on the agent of the first node that runs one
	local an ap syncs c0 c1 d
	read -r an ap < <(agents_pids | head -1)
	for (( i = 1; i <= RESYNCS; i++ )); do
		syncs=$(mn_local_agent_cmd "$an" "show info" | awk -F': *' '$1 == "docker_syncs" {print $2}')
		c0=$(proc_cpu_ticks "$ap")
		mn_local_agent_cmd "$an" resync >/dev/null
		wait_until 60 _syncs_above "$an" "$syncs"
		c1=$(proc_cpu_ticks "$ap")
		d=$(mn_local_agent_cmd "$an" "show info" | awk -F': *' '$1 == "last_sync_duration_us" {print $2}')
		result "  full resync $i at $created services: wall $(( d / 1000 )) ms, agent process CPU $(( (c1 - c0) * 1000 / HZ )) ms (all threads, includes the stats command)"
	done

	# where the convergence time of the steps went: Swarm or the agent
	lag_report "the steps"

	# one service scaled up and down, on the idle swarm
	log "swarm: scale up and down"
	t0=$(now_ms)
	mn_docker "$via" service scale -d scale-0000=$(( PER * 2 )) >/dev/null
	step_watch "$created" "$(( created * PER + PER ))" 120 || fail "scale up did not converge: $WAIT_LAST_OUTPUT"
	result "  scale-0000 $PER -> $(( PER * 2 )) at $created services: Docker reports the new tasks running $(( T_API - t0 )) ms and both agents route them $(( T_AGENTS - t0 )) ms after the command (each check takes a docker command: about 1 s of resolution at this size)"
	lag_report "the scale up" "$(( t0 / 1000 ))"
	t0=$(now_ms)
	mn_docker "$via" service scale -d scale-0000=$PER >/dev/null
	T_API= T_AGENTS=
	while [ -z "$T_API" ] || [ -z "$T_AGENTS" ]; do
		[ $(( $(now_ms) - t0 )) -lt 120000 ] || fail "scale down did not converge"
		[ -n "$T_API" ] || [ "$(mn_docker "$via" service ps -q --filter desired-state=running scale-0000 | wc -l)" -gt "$PER" ] ||
			T_API=$(now_ms)
		[ -n "$T_AGENTS" ] || ! _tasks_ready_at_most "$(( created * PER ))" >/dev/null || T_AGENTS=$(now_ms)
		sleep 0.2
	done
	result "  scale-0000 $(( PER * 2 )) -> $PER: Docker lists $PER tasks to run $(( T_API - t0 )) ms and both agents have the others out of their tables $(( T_AGENTS - t0 )) ms after the command"
	agents_info_line convergence_last_ms convergence_p50_ms convergence_p99_ms convergence_max_ms convergence_samples | sed 's/^/    /' | tee -a "$RESULTS"

	# requests through every node's HAProxy, to services picked at random
	local ok=0 bad=0 code
	for (( i = 0; i < 30; i++ )); do
		name=$(printf 'scale-%04d' $(( RANDOM % created )))
		for (( n = 1; n <= MN_NODES; n++ )); do
			code=$(mn_in "$n" curl -s --max-time 5 -H "Host: $name.scale.test" http://127.0.0.1/ | sed -n 's/^name=\([^.]*\)\..*/\1/p')
			if [ "$code" = "$name" ]; then ok=$(( ok + 1 )); else bad=$(( bad + 1 )); fi
		done
	done
	result "  requests to 30 random services through each node's HAProxy: $ok answered by the right service, $bad not"
	# the fixture part that may follow measures CPU: leave the machine idle
	[ "${BENCH_KEEP:-0}" = 1 ] || mn_teardown
}

# lag_report <what> [since]: bench/scale_bench_lag.py on the first agent's
# log and the tasks Docker lists (tasks that started running after <since>).
lag_report() {
	local n cid
	read -r n _ < <(agents_pids | head -1)
	cid=$(mn_docker "$n" ps -q --filter "label=com.docker.swarm.service.name=${MN_PAIR_STACK}_agent" | head -1)
	mn_docker "$n" logs "$cid" >"$TEST_WORK/agent-n$n.log" 2>&1
	curl -s --unix-socket "$(mn_sock "$via")" http://docker/v1.41/tasks >"$TEST_WORK/tasks.json"
	curl -s --unix-socket "$(mn_sock "$via")" http://docker/v1.41/services >"$TEST_WORK/services.json"
	result "  convergence of $1, split between Swarm and the agent (node $n's agent):"
	python3 "$here/scale_bench_lag.py" --tasks "$TEST_WORK/tasks.json" --agent-log "$TEST_WORK/agent-n$n.log" \
		--services "$TEST_WORK/services.json" --since "${2:-0}" | sed 's/^/    /' | tee -a "$RESULTS"
}

_syncs_above() {
	local s
	s=$(mn_local_agent_cmd "$1" "show info" | awk -F': *' '$1 == "docker_syncs" {print $2}')
	[ "${s:-0}" -gt "$2" ]
}

_tasks_ready_at_most() {
	local n ready
	while read -r n _; do
		ready=$(mn_local_agent_cmd "$n" "show info" | awk -F': *' '$1 == "tasks_ready" {print $2}')
		[ "${ready:-0}" -le "$1" ] || { echo "agent on node $n: $ready tasks ready"; return 1; }
	done < <(agents_pids)
}

# --------------------------------------------------------------------------
# The recorded-response fixture
# --------------------------------------------------------------------------

stats_cmd() {
	printf '%s\n' "$2" | socat -t 30 stdio "unix:$1"
}

bench_fixture() {
	local sock=$TEST_WORK/fakedocker.sock stats=$TEST_WORK/fixture-agent.sock
	local fpid apid t0 c0 c1 r0 r1 i syncs
	log "fixture: $FX_NSVC services x $FX_PER tasks (RECORDED-RESPONSE FIXTURE)"
	[ -x "$AGENT" ] || fail "build first: $AGENT missing"
	ensure_cmd socat socat
	t0=$(now_ms)
	python3 "$here/discovery_fakedocker.py" --socket "$sock" --services "$FX_NSVC" \
		--tasks-per-service "$FX_PER" >"$TEST_WORK/fakedocker.log" 2>&1 &
	fpid=$!
	on_exit kill "$fpid"
	wait_until 600 test -S "$sock"
	result "== RECORDED-RESPONSE FIXTURE (bench/discovery_fakedocker.py, not a Docker daemon), built in $(( ($(now_ms) - t0) / 1000 )) s:"
	result "   $(cat "$TEST_WORK/fakedocker.log")"

	t0=$(now_ms)
	"$AGENT" --listen 127.0.0.1:0 --threads 2 --log-level debug --docker "unix://$sock" \
		--stats-socket "$stats" >"$TEST_WORK/fixture-agent.log" 2>&1 </dev/null &
	apid=$!
	on_exit kill "$apid"
	wait_until 120 grep -q 'msg="full sync done"' "$TEST_WORK/fixture-agent.log"
	result "  first sync: $(grep -m1 'msg="full sync done"' "$TEST_WORK/fixture-agent.log" | grep -o 'services=[0-9]* routed=[0-9]* tasks=[0-9]* duration_ms=[0-9]* cpu_ms=[0-9]*') (main thread: transfer, parse, model, first table), agent RSS $(( $(proc_rss_kb "$apid") / 1024 )) MiB"
	stats_cmd "$stats" "show info" | grep -E '^(table_build_us|table_memory_bytes|services_routed|tasks_ready):' |
		tr '\n' ' ' | sed 's/^/  table: /' | tee -a "$RESULTS"
	echo | tee -a "$RESULTS"
	for (( i = 1; i <= RESYNCS; i++ )); do
		syncs=$(stats_cmd "$stats" "show info" | awk -F': *' '$1 == "docker_syncs" {print $2}')
		c0=$(proc_cpu_ticks "$apid")
		stats_cmd "$stats" resync >/dev/null
		wait_until 120 _fixture_syncs_above "$stats" "$syncs"
		c1=$(proc_cpu_ticks "$apid")
		result "  full resync $i: $(grep 'msg="full sync done"' "$TEST_WORK/fixture-agent.log" | tail -1 | grep -o 'duration_ms=[0-9]* cpu_ms=[0-9]*') (main thread), agent process CPU $(( (c1 - c0) * 1000 / HZ )) ms, RSS $(( $(proc_rss_kb "$apid") / 1024 )) MiB"
	done
	log "fixture: idle for ${IDLE_S}s"
	c0=$(proc_cpu_ticks "$apid")
	r0=$(stats_cmd "$stats" "show info" | awk -F': *' '$1 == "docker_requests" {print $2}')
	sleep "$IDLE_S"
	c1=$(proc_cpu_ticks "$apid")
	r1=$(stats_cmd "$stats" "show info" | awk -F': *' '$1 == "docker_requests" {print $2}')
	result "  steady state over ${IDLE_S}s: $(python3 -c "print('%.2f Docker API requests/s, agent CPU %.1f%% of a core' % (($r1 - $r0) / $IDLE_S, 100.0 * ($c1 - $c0) / $HZ / $IDLE_S))"), RSS $(( $(proc_rss_kb "$apid") / 1024 )) MiB"
	kill "$apid" "$fpid" 2>/dev/null || true
}

_fixture_syncs_above() {
	local s
	s=$(stats_cmd "$1" "show info" | awk -F': *' '$1 == "docker_syncs" {print $2}')
	[ "${s:-0}" -gt "$2" ]
}

for part in "${parts[@]}"; do
	case "$part" in
		swarm) bench_swarm ;;
		fixture) bench_fixture ;;
		*) fail "unknown part '$part' (swarm, fixture)" ;;
	esac
done
log "results in $RESULTS"

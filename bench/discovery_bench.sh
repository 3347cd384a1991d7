#!/bin/bash
# Discovery benchmark: the figures of docs/benchmarks.md, "Discovery".
#
#   bench/discovery_bench.sh [fixture] [swarm] [rolling] [saturated]
#                                     (default: the first three)
#
# fixture  A RECORDED-RESPONSE FIXTURE (bench/discovery_fakedocker.py, not a
#          daemon) serves 2,000 services / 10,000 tasks cloned from answers
#          recorded on dockerd 20.10: agent CPU and wall time of a full
#          resync, parse cost against jansson, steady-state Docker API
#          request rate and agent CPU at that size.
# swarm    A real dockerd in a single-node swarm (started if needed, like the
#          swarm tests): convergence of scale up, scale down and rolling
#          updates, measured per task against Docker's task timestamps, and
#          the steady-state request rate with routed services idle.
# rolling  The pair of docker/stack.yml (HAProxy in host mode, two agents,
#          images built from this tree) in front of an app: paced load
#          (bench/discovery_load.py, 200 req/s for 30 s) through HAProxy on
#          127.0.0.1 during a rolling update, a scale down and a scale up;
#          fails on any failed request. Then the same without the
#          graceful-stop settings, for comparison (failures expected).
# saturated  The recorded-response fixture emulating one scale step of a
#          saturated swarm (bench/discovery_fakedocker.py --late-services):
#          BENCH_SAT_BASE services running, BENCH_SAT_STEP more created over
#          5 s whose tasks run 1 to BENCH_SAT_SPREAD_S s later, slow /tasks
#          answers meanwhile. For each agent binary (BENCH_BASE_AGENT, e.g.
#          main's, then this tree's): convergence p50/p99/max of the step's
#          tasks (the agent's own measure, from Status.Timestamp), Docker
#          API requests/s during the step, agent CPU.
#
# Environment: SWARM_SPOA_BUILD (build dir, default build/), BENCH_RESYNCS (5),
# BENCH_IDLE_S (60), BENCH_ROUNDS (3), BENCH_SERVICES (2000),
# BENCH_TASKS_PER_SERVICE (5), BENCH_RATE (200), BENCH_LOAD_S (30), BENCH_BASE_AGENT (none),
# BENCH_SAT_BASE (350), BENCH_SAT_STEP (50), BENCH_SAT_SPREAD_S (60), BENCH_SAT_FIXTURE_ARGS
# (more fixture options: --busy-*). Results also go to $TEST_WORK/results.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SWARM_SPOA_SRC=$(cd "$here/.." && pwd)
. "$SWARM_SPOA_SRC/tests/lib/common.sh"
. "$SWARM_SPOA_SRC/tests/lib/dockerd.sh"

test_init discovery_bench
AGENT=$SWARM_SPOA_BUILD/swarm-spoa
[ -x "$AGENT" ] || fail "build first: $AGENT missing"
RESYNCS=${BENCH_RESYNCS:-5}
IDLE_S=${BENCH_IDLE_S:-60}
ROUNDS=${BENCH_ROUNDS:-3}
NSVC=${BENCH_SERVICES:-2000}
PER=${BENCH_TASKS_PER_SERVICE:-5}
CHECK="python3 $SWARM_SPOA_SRC/tests/discovery/swarm_check.py"
RESULTS=$TEST_WORK/results.txt
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(fixture swarm rolling)

result() {
	printf '%s\n' "$*" | tee -a "$RESULTS"
}

# stop_pid <pid>: a cleanup that tolerates a process already gone
stop_pid() {
	kill "$1" 2>/dev/null || true
}

_syncs_over() {
	[ "$(grep -c 'msg="full sync done"' "$1")" -gt "$2" ]
}

# agent_cpu_ticks <pid>: utime+stime in clock ticks
agent_cpu_ticks() {
	awk '{print $14 + $15}' "/proc/$1/stat"
}

stats_cmd() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n"); out = b""
while True:
    b = s.recv(65536)
    if not b: break
    out += b
print(out.decode(), end="")' "$1" "$2"
}

info_value() {
	stats_cmd "$1" "show info" | awk -F': *' -v k="$2" '$1 == k {print $2}'
}

# --------------------------------------------------------------------------
bench_fixture() {
	local sock=$TEST_WORK/fakedocker.sock stats=$TEST_WORK/fixture-agent.sock
	local fpid apid syncs t0 t1 c0 c1 hz
	log "fixture: $NSVC services x $PER tasks (recorded-response fixture)"
	python3 "$here/discovery_fakedocker.py" --socket "$sock" --services "$NSVC" \
		--tasks-per-service "$PER" >"$TEST_WORK/fakedocker.log" 2>&1 &
	fpid=$!
	on_exit stop_pid "$fpid"
	wait_until 120 test -S "$sock"
	result "$(cat "$TEST_WORK/fakedocker.log")"

	"$AGENT" --listen 127.0.0.1:0 --threads 2 --log-level debug --docker "unix://$sock" \
		--stats-socket "$stats" >"$TEST_WORK/fixture-agent.log" 2>&1 </dev/null &
	apid=$!
	on_exit stop_pid "$apid"
	wait_until 30 grep -q 'msg="full sync done"' "$TEST_WORK/fixture-agent.log"
	for (( i = 1; i <= RESYNCS; i++ )); do
		stats_cmd "$stats" resync >/dev/null
		wait_until 30 _syncs_over "$TEST_WORK/fixture-agent.log" "$i"
	done
	result "full resync ($NSVC services, $((NSVC * PER)) tasks), agent main-thread CPU and wall time:"
	grep 'msg="full sync done"' "$TEST_WORK/fixture-agent.log" | python3 -c '
import re, sys
rows = [(int(re.search(r"cpu_ms=(\d+)", l).group(1)), int(re.search(r"duration_ms=(\d+)", l).group(1))) for l in sys.stdin]
first, rest = rows[0], sorted(rows[1:])
print("  first sync (parse + model + first table build): cpu %d ms, wall %d ms" % first)
if rest:
    cpu = sorted(r[0] for r in rest); wall = sorted(r[1] for r in rest)
    print("  %d resyncs (model unchanged, no table build): cpu median %d ms max %d ms, wall median %d ms max %d ms"
          % (len(rest), cpu[len(cpu)//2], cpu[-1], wall[len(wall)//2], wall[-1]))' | tee -a "$RESULTS"
	grep 'msg="table published"' "$TEST_WORK/fixture-agent.log" | tail -1 |
		sed 's/.*\(services=[0-9]*\).*\(build_us=[0-9]*\).*/  routing table build: \1 \2/' | tee -a "$RESULTS"

	log "fixture: idle for ${IDLE_S}s"
	hz=$(getconf CLK_TCK)
	c0=$(agent_cpu_ticks "$apid")
	t0=$(curl -s --unix-socket "$sock" http://x/_bench/stats)
	sleep "$IDLE_S"
	t1=$(curl -s --unix-socket "$sock" http://x/_bench/stats)
	c1=$(agent_cpu_ticks "$apid")
	python3 -c '
import json, sys
a, b, idle, hz, c0, c1 = json.loads(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
n = sum(b.values()) - sum(a.values()) - 1
per = {k: b[k] - a.get(k, 0) for k in b if b[k] - a.get(k, 0) and k != "/_bench/stats"}
print("steady state at %s: %.2f Docker API requests/s (%s), agent CPU %.1f%% of one core"
      % (sys.argv[7], n / idle, ", ".join("%s %d" % kv for kv in sorted(per.items())), 100.0 * (c1 - c0) / hz / idle))
' "$t0" "$t1" "$IDLE_S" "$hz" "$c0" "$c1" "$NSVC/$((NSVC * PER))" | tee -a "$RESULTS"

	log "fixture: parse cost, jansson against discovery's loaders"
	curl -s --unix-socket "$sock" http://x/v1.41/tasks >"$TEST_WORK/tasks.json"
	curl -s --unix-socket "$sock" http://x/v1.41/services >"$TEST_WORK/services.json"
	cc -O2 -D_GNU_SOURCE -I"$SWARM_SPOA_SRC" -o "$TEST_WORK/discovery_parse_bench" \
		"$here/discovery_parse_bench.c" "$SWARM_SPOA_BUILD/libswarmspoa_core.a" \
		-ljansson -lcurl -lev -lm -lpthread
	"$TEST_WORK/discovery_parse_bench" "$TEST_WORK/services.json" "$TEST_WORK/tasks.json" 5 |
		sed 's/^/  /' | tee -a "$RESULTS"
	kill "$apid" "$fpid" 2>/dev/null || true
}

# --------------------------------------------------------------------------
_sat_running() {
	[ "$(curl -s --unix-socket "$1" http://x/_bench/scale-status |
		python3 -c 'import json,sys; s=json.load(sys.stdin); print(int(s["running"] == s["tasks"] and s["services"] == s["of"]))')" = 1 ]
}

_sat_samples() {
	[ "$(info_value "$1" convergence_samples)" -ge "$2" ]
}

# sat_run <label> <agent binary>: one agent through one emulated step.
sat_run() {
	local label=$1 agent=$2 sock=$TEST_WORK/sat-$1.sock stats=$TEST_WORK/sat-$1-agent.sock
	local fpid apid t0 t1 s0 s1 r0 r1 c0 c1 info hz ntasks=$(( SAT_STEP * PER ))
	python3 "$here/discovery_fakedocker.py" --socket "$sock" --services "$SAT_BASE" \
		--tasks-per-service "$PER" --late-services "$SAT_STEP" --late-spread-s "$SAT_SPREAD" \
		${BENCH_SAT_FIXTURE_ARGS:-} >"$TEST_WORK/sat-$label-fixture.log" 2>&1 &
	fpid=$!
	on_exit stop_pid "$fpid"
	wait_until 120 test -S "$sock"
	"$agent" --listen 127.0.0.1:0 --threads 2 --log-level "${BENCH_SAT_LOG:-info}" --docker "unix://$sock" \
		--poll-fast 150 --poll-slow 1000 --stats-socket "$stats" \
		>"$TEST_WORK/sat-$label-agent.log" 2>&1 </dev/null &
	apid=$!
	on_exit stop_pid "$apid"
	wait_until 30 grep -q 'msg="full sync done"' "$TEST_WORK/sat-$label-agent.log"
	sleep 3
	hz=$(getconf CLK_TCK)
	s0=$(curl -s --unix-socket "$sock" http://x/_bench/stats)
	c0=$(agent_cpu_ticks "$apid")
	t0=$(now_ms)
	curl -s --unix-socket "$sock" http://x/_bench/scale >/dev/null
	wait_until $(( ${SAT_SPREAD%.*} + 60 )) _sat_running "$sock"
	wait_until 120 _sat_samples "$stats" "$ntasks"
	t1=$(now_ms)
	c1=$(agent_cpu_ticks "$apid")
	s1=$(curl -s --unix-socket "$sock" http://x/_bench/stats)
	info=$(stats_cmd "$stats" "show info")
	python3 -c '
import json, sys
label, a, b, secs, hz, c0, c1, info = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), sys.argv[8]
kv = dict(l.split(": ", 1) for l in info.splitlines() if ": " in l)
per = {k: b[k] - a.get(k, 0) for k in b if b[k] - a.get(k, 0) and not k.startswith("/_bench")}
n = sum(per.values())
print("  %-8s convergence p50 / p99 / max %s / %s / %s ms (%s tasks); %.2f Docker API requests/s over %.0f s (%s); agent CPU %.1f%% of a core"
      % (label, kv["convergence_p50_ms"], kv["convergence_p99_ms"], kv["convergence_max_ms"], kv["convergence_samples"],
         n / secs, secs, ", ".join("%s %d" % x for x in sorted(per.items())), 100.0 * (c1 - c0) / hz / secs))
' "$label" "$s0" "$s1" "$(( (t1 - t0) / 1000 ))" "$hz" "$c0" "$c1" "$info" | tee -a "$RESULTS"
	kill "$apid" "$fpid" 2>/dev/null || true
	wait "$apid" "$fpid" 2>/dev/null || true
}

bench_saturated() {
	SAT_BASE=${BENCH_SAT_BASE:-350}
	SAT_STEP=${BENCH_SAT_STEP:-50}
	SAT_SPREAD=${BENCH_SAT_SPREAD_S:-60}
	log "saturated: $SAT_BASE services running, $SAT_STEP created, tasks running over ${SAT_SPREAD}s (fixture)"
	result "saturated swarm step (recorded-response fixture): $SAT_BASE + $SAT_STEP services x $PER tasks, tasks run 1-${SAT_SPREAD} s after their service; ${BENCH_SAT_FIXTURE_ARGS:-default busy answers}"
	if [ -n "${BENCH_BASE_AGENT:-}" ]; then
		[ -x "$BENCH_BASE_AGENT" ] || fail "BENCH_BASE_AGENT: $BENCH_BASE_AGENT is not executable"
		sat_run base "$BENCH_BASE_AGENT"
	fi
	sat_run this "$AGENT"
}

# --------------------------------------------------------------------------
bench_swarm() {
	local stats=$TEST_WORK/swarm-agent.sock apid net=ssp-bench-net svc=ssp-bench-web
	local label=(--label "$TEST_LABEL_KEY=$TEST_NAME") lags=$TEST_WORK/lags.jsonl r0 r1
	local tag=${SWARM_SPOA_TAG:-dev}
	swarm_test_start
	"$DOCKER" image inspect "swarm-spoa/echo:$tag" >/dev/null 2>&1 || images_build echo
	"$DOCKER" network create -d overlay --attachable "${label[@]}" "$net" >/dev/null
	"$AGENT" --listen 127.0.0.1:0 --threads 2 --log-level debug --docker unix:///var/run/docker.sock \
		--stats-socket "$stats" >"$TEST_WORK/swarm-agent.log" 2>&1 </dev/null &
	apid=$!
	on_exit stop_pid "$apid"
	wait_until 30 test -S "$stats"
	: >"$lags"
	# the checker reads task states straight from the API (GETs, 50 ms
	# period) for tighter bounds than the CLI gives
	API="--docker-api /var/run/docker.sock"

	log "swarm: $ROUNDS rounds of scale 1 -> 8 -> 2 and a rolling update of 4"
	$CHECK converge --stats "$stats" --service "$svc" --replicas 1 --json "$lags" $API -- \
		"$DOCKER" service create -d --name "$svc" "${label[@]}" --network "$net" \
		--label com.docker.lb.hosts=bench.test --label com.docker.lb.port=8080 \
		--health-interval 1s --health-start-period 1s --stop-grace-period 3s \
		--update-order start-first --update-parallelism 1 --update-delay 0s \
		--replicas 1 "swarm-spoa/echo:$tag" --name web --grace 1 >&2
	for (( r = 1; r <= ROUNDS; r++ )); do
		$CHECK converge --stats "$stats" --service "$svc" --replicas 8 --json "$lags" $API -- \
			"$DOCKER" service scale -d "$svc=8" >&2
		$CHECK converge --stats "$stats" --service "$svc" --replicas 2 --json "$lags" $API -- \
			"$DOCKER" service scale -d "$svc=2" >&2
		$CHECK converge --stats "$stats" --service "$svc" --replicas 4 --json "$lags" $API -- \
			"$DOCKER" service scale -d "$svc=4" >&2
		$CHECK converge --stats "$stats" --service "$svc" --replicas 4 --json "$lags" $API -- \
			"$DOCKER" service update -d --force "$svc" >&2
		$CHECK converge --stats "$stats" --service "$svc" --replicas 1 --json "$lags" $API -- \
			"$DOCKER" service scale -d "$svc=1" >&2
	done
	python3 -c '
import json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ready = sorted(v for r in rows for v in r["ready_lags_ms"].values())
gone = sorted(v for r in rows for v in r["gone_lags_ms"].values())
own = sorted(int(m.group(1)) for m in re.finditer(r"task routable.*lag_ms=(\d+)", open(sys.argv[2]).read()))
def pct(v, p): return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else 0
print("convergence in a real single-node swarm (dockerd 20.10, poll-fast 150 ms):")
print("  task running -> ready in the agent (checker, Docker task timestamp): n=%d p50 %d ms p99 %d ms max %d ms"
      % (len(ready), pct(ready, 50), pct(ready, 99), ready[-1] if ready else 0))
print("  task running -> table (agent own measure, lag_ms):                n=%d p50 %d ms p99 %d ms max %d ms"
      % (len(own), pct(own, 50), pct(own, 99), own[-1] if own else 0))
print("  desired state leaves running -> out of the agent (upper bound by <= 55 ms):       n=%d p50 %d ms p99 %d ms max %d ms"
      % (len(gone), pct(gone, 50), pct(gone, 99), gone[-1] if gone else 0))
' "$lags" "$TEST_WORK/swarm-agent.log" | tee -a "$RESULTS"

	log "swarm: 15 s for the stopped tasks to go, then idle for ${IDLE_S}s with the service routed"
	sleep 15
	r0=$(info_value "$stats" docker_requests)
	e0=$(info_value "$stats" docker_events)
	sleep "$IDLE_S"
	r1=$(info_value "$stats" docker_requests)
	e1=$(info_value "$stats" docker_events)
	result "steady state in the real swarm (1 routed service idle): $(python3 -c "print('%.2f' % (($r1 - $r0) / $IDLE_S))") Docker API requests/s (agent counter), $((e1 - e0)) Docker events meanwhile"
	kill "$apid" 2>/dev/null || true
}

# --------------------------------------------------------------------------
# The pair (docker/stack.yml: HAProxy in host mode and two agents) in front
# of an app, under paced load while the app rolls or scales.

# _answering <port> <host> <n>: <n> different tasks answered 60 requests
_answering() {
	local i names=
	for (( i = 0; i < 60; i++ )); do
		names+="$(curl -s --max-time 2 -H "Host: $2" "http://127.0.0.1:$1/" | awk '{print $1}') "
	done
	[ "$(tr ' ' '\n' <<<"$names" | grep '^name=' | sort -u | wc -l)" -eq "$3" ]
}

# load_run <title> <replicas now> <expect failures: 0|any> <command> [service args]
load_run() {
	local title=$1 out=$TEST_WORK/load.jsonl rc=0
	log "rolling: $title under ${RATE} req/s for ${LOAD_S}s"
	python3 "$here/discovery_load.py" --port "$HTTP" --host "$APPHOST" --rate "$RATE" \
		--duration "$LOAD_S" --at 5 --run "$4" --out "$out" >"$TEST_WORK/load-last.json" || rc=$?
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("  %-58s %5d requests, %d failed %s, %d backends answered, latency p50 %s ms p99 %s ms"
      % (sys.argv[2] + ":", r["requests"], r["failures"],
         json.dumps({k: v for k, v in r["outcomes"].items() if k != "200"}) if r["failures"] else "",
         r["backends"], r["latency_ms"]["p50"], r["latency_ms"]["p99"]))' "$TEST_WORK/load-last.json" "$title" |
		tee -a "$RESULTS"
	if [ "$3" = 0 ] && [ "$rc" != 0 ]; then
		FAILED_RUNS+=("$title")
	fi
}

bench_rolling() {
	local net=ssp-bench-apps pair=ssp-bench-pair app=ssp-bench-app ctl=ssp-bench-ctl
	local label=(--label "$TEST_LABEL_KEY=$TEST_NAME") tag=${SWARM_SPOA_TAG:-dev}
	RATE=${BENCH_RATE:-200}
	LOAD_S=${BENCH_LOAD_S:-30}
	APPHOST=app.bench.test
	FAILED_RUNS=()
	ensure_cmd curl curl
	# the pair carries the test label: an earlier run's goes with the rest
	swarm_test_start
	# the agent image carries this tree's code
	images_build agent haproxy echo
	"$DOCKER" network create -d overlay --attachable "${label[@]}" "$net" >/dev/null
	HTTP=$(free_port)
	on_exit stack_remove "$pair"
	SWARM_SPOA_HTTP_PORT=$HTTP SWARM_SPOA_HTTPS_PORT=$(free_port) SWARM_SPOA_NETWORK=$net \
		SWARM_SPOA_TAG=$tag pair_deploy "$pair"
	pair_label "$pair"

	# The graceful-stop contract: the app serves 5 s after SIGTERM (and
	# Docker waits 10 s before SIGKILL), a new task counts only once its
	# health check passes, and a rolling update starts the new task first.
	"$DOCKER" service create -d --name "$app" "${label[@]}" --network "$net" \
		--label com.docker.lb.hosts=$APPHOST --label com.docker.lb.port=8080 \
		--label com.docker.lb.network=$net \
		--health-interval 1s --health-start-period 1s --health-retries 2 \
		--stop-grace-period 10s --update-order start-first --update-parallelism 1 \
		--update-delay 1s --replicas 4 "swarm-spoa/echo:$tag" --grace 5 >/dev/null
	log "rolling: waiting for HAProxy on 127.0.0.1:$HTTP to reach the 4 tasks"
	wait_until 180 _answering "$HTTP" "$APPHOST" 4

	load_run "rolling update, 4 tasks (start-first, grace 5 s)" 4 0 \
		"$DOCKER service update -d --force $app"
	wait_until 120 _answering "$HTTP" "$APPHOST" 4
	load_run "scale down 4 -> 1 (grace 5 s)" 1 0 "$DOCKER service scale -d $app=1"
	wait_until 60 _answering "$HTTP" "$APPHOST" 1
	load_run "rolling update, 1 task (start-first, grace 5 s)" 1 0 \
		"$DOCKER service update -d --force $app"
	wait_until 60 _answering "$HTTP" "$APPHOST" 1
	load_run "scale up 1 -> 4" 4 0 "$DOCKER service scale -d $app=4"

	# Control: the same app without the contract (exits at once on SIGTERM,
	# stop-first updates): shows what the settings above buy.
	"$DOCKER" service rm "$app" >/dev/null
	APPHOST=ctl.bench.test
	"$DOCKER" service create -d --name "$ctl" "${label[@]}" --network "$net" \
		--label com.docker.lb.hosts=$APPHOST --label com.docker.lb.port=8080 \
		--label com.docker.lb.network=$net \
		--health-interval 1s --health-start-period 1s --health-retries 2 \
		--update-order stop-first --update-parallelism 1 --update-delay 1s \
		--replicas 1 "swarm-spoa/echo:$tag" --grace 0 >/dev/null
	wait_until 180 _answering "$HTTP" "$APPHOST" 1
	load_run "control: rolling update, 1 task, stop-first, no grace" 1 any \
		"$DOCKER service update -d --force $ctl"
	"$DOCKER" service scale -d "$ctl=4" >/dev/null
	wait_until 120 _answering "$HTTP" "$APPHOST" 4
	load_run "control: rolling update, 4 tasks, stop-first, no grace" 4 any \
		"$DOCKER service update -d --force $ctl"
	wait_until 120 _answering "$HTTP" "$APPHOST" 4
	load_run "control: scale down 4 -> 1, no grace" 1 any "$DOCKER service scale -d $ctl=1"

	"$DOCKER" service logs "${pair}_agent" >"$TEST_WORK/pair-agent.log" 2>&1 || true
	[ ${#FAILED_RUNS[@]} -eq 0 ] || fail "failed requests in: ${FAILED_RUNS[*]}"
}

for part in "${parts[@]}"; do
	case "$part" in
		fixture) bench_fixture ;;
		swarm) bench_swarm ;;
		rolling) bench_rolling ;;
		saturated) bench_saturated ;;
		*) fail "unknown part '$part' (fixture, swarm, rolling, saturated)" ;;
	esac
done
log "results in $RESULTS"
test_pass

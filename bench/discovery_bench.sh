#!/bin/bash
# Discovery benchmark: the figures of docs/benchmarks.md, "Discovery".
#
#   bench/discovery_bench.sh [fixture] [swarm]      (default: both)
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
#
# Environment: SWARM_SPOA_BUILD (build dir, default build/), BENCH_RESYNCS (5),
# BENCH_IDLE_S (60), BENCH_ROUNDS (3), BENCH_SERVICES (2000),
# BENCH_TASKS_PER_SERVICE (5). Results also go to $TEST_WORK/results.txt.
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
[ ${#parts[@]} -gt 0 ] || parts=(fixture swarm)

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
bench_swarm() {
	local stats=$TEST_WORK/swarm-agent.sock apid net=ssp-bench-net svc=ssp-bench-web
	local label=(--label "$TEST_LABEL_KEY=$TEST_NAME") lags=$TEST_WORK/lags.jsonl r0 r1
	local tag=${SWARM_SPOA_TAG:-dev}
	dockerd_ensure
	swarm_ensure
	docker_cleanup_test
	on_exit docker_cleanup_test
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

for part in "${parts[@]}"; do
	case "$part" in
		fixture) bench_fixture ;;
		swarm) bench_swarm ;;
		*) fail "unknown part '$part' (fixture, swarm)" ;;
	esac
done
log "results in $RESULTS"
test_pass

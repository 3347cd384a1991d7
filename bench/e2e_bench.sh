#!/usr/bin/env bash
# End-to-end routing benchmark: HAProxy + swarm-spoa against the same HAProxy
# routing the same requests with a static "server" line, in one invocation,
# alternating the two so that machine drift hits both alike.
#
#   bench/e2e_bench.sh [--rounds N] [--duration SEC] [--conns N] [--services N]
#                      [--agent-threads N] [--build DIR] [--fixed-agent]
#
# Prints requests/s of each round, the ratio agent/static, the agent's CPU
# time per routed request (from /proc/<pid>/stat), and the agent's RSS.
# --services N loads N generated services (5 tasks each) into the agent's
# table; requests go to one of them. --fixed-agent puts bench/spop_fixed.c
# (one thread, the same ACK for every NOTIFY, no table) in the agent's
# place: the ceiling any agent can reach with this HAProxy configuration.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build
ROUNDS=3
DURATION=10
CONNS=50
SERVICES=1
AGENT_THREADS=1
FIXED_AGENT=
while (($#)); do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--conns) CONNS=$2; shift 2 ;;
	--services) SERVICES=$2; shift 2 ;;
	--agent-threads) AGENT_THREADS=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	--fixed-agent) FIXED_AGENT=1; shift ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
done
((ROUNDS >= 1 && ROUNDS <= 20 && DURATION >= 1 && DURATION <= 120)) || { echo "bounds: rounds 1-20, duration 1-120" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/swarm-spoa-bench.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

. "$SRC/bench/bench_lib.sh"

ECHO_PORT=$(free_port)
"$BUILD/tests/backend/echo-backend" --listen 127.0.0.1:"$ECHO_PORT" --name bench >"$WORK/echo.log" 2>&1 &
PIDS+=($!)
wait_port "$ECHO_PORT"

# The routing table: the benchmarked host plus N-1 others.
python3 - "$WORK/routes.json" "$SERVICES" "$ECHO_PORT" <<'PY'
import json, sys
path, n, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
svcs = [{"name": "bench", "labels": {"com.docker.lb.hosts": "bench.local", "com.docker.lb.port": str(port)},
         "tasks": [{"id": "bench.1", "address": "127.0.0.1"}]}]
for i in range(1, n):
    svcs.append({"name": "svc%d" % i,
                 "labels": {"com.docker.lb.hosts": "svc%d.bench" % i, "com.docker.lb.port": "8080",
                            "com.docker.lb.context_root": "/app%d" % (i % 7)},
                 "tasks": [{"id": "svc%d.%d" % (i, k), "address": "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, k + 1)}
                           for k in range(5)]})
json.dump({"services": svcs}, open(path, "w"))
PY

AGENT_PORT=$(free_port)
if [ -n "$FIXED_AGENT" ]; then
	"$BUILD/bench/spop-fixed" --listen "$AGENT_PORT" --ip 127.0.0.1 --port "$ECHO_PORT" >"$WORK/agent.log" 2>&1 &
else
	"$BUILD/swarm-spoa" --listen 127.0.0.1:"$AGENT_PORT" --threads "$AGENT_THREADS" --routes "$WORK/routes.json" \
		--log-level warn >"$WORK/agent.log" 2>&1 &
fi
AGENT_PID=$!
PIDS+=($AGENT_PID)
wait_port "$AGENT_PORT"

cat >"$WORK/global.cfg" <<CFG
global
    nbthread 1
    tune.bufsize 16384
CFG

STATIC_PORT=$(free_port)
# The static side runs the very global and defaults sections of
# haproxy-conf/haproxy.cfg (logging, timeouts, TLS policy), and the same
# frontend headers: only the routing differs.
sed -n '1,/^frontend http/p' "$SRC/haproxy-conf/haproxy.cfg" | sed '$d' >"$WORK/static.cfg"
cat >>"$WORK/static.cfg" <<CFG
frontend http
    bind 127.0.0.1:$STATIC_PORT
    option forwardfor
    http-request set-header X-Forwarded-Proto %[ssl_fc,iif(https,http)]
    default_backend app
backend app
    http-reuse safe
    server s1 127.0.0.1:$ECHO_PORT
CFG
SWARM_SPOA_RUNTIME=$WORK/admin-static.sock \
	haproxy -db -f "$WORK/global.cfg" -f "$WORK/static.cfg" >"$WORK/haproxy-static.log" 2>&1 &
STATIC_PID=$!
PIDS+=($STATIC_PID)
wait_port "$STATIC_PORT"

AGENTHP_PORT=$(free_port)
cat >"$WORK/agents.cfg" <<CFG
backend swarm-spoa-agents
    mode tcp
    balance roundrobin
    timeout connect 1s
    timeout server 3m
    server agent1 127.0.0.1:$AGENT_PORT
CFG
SWARM_SPOA_CONF_DIR=$SRC/haproxy-conf SWARM_SPOA_HTTP_BIND=127.0.0.1:$AGENTHP_PORT \
SWARM_SPOA_RUNTIME=$WORK/admin.sock \
	haproxy -db -f "$WORK/global.cfg" -f "$SRC/haproxy-conf/haproxy.cfg" -f "$SRC/haproxy-conf/swarm-backends.cfg" \
	-f "$WORK/agents.cfg" \
	>"$WORK/haproxy-agent.log" 2>&1 &
AGENTHP_PID=$!
PIDS+=($AGENTHP_PID)
wait_port "$AGENTHP_PORT"

# Both must answer with the echo backend before anything is measured.
for p in $STATIC_PORT $AGENTHP_PORT; do
	curl -fsS -H 'Host: bench.local' "http://127.0.0.1:$p/" | grep -q 'name=bench' ||
		{ echo "port $p does not route to the backend" >&2; exit 1; }
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
run_wrk() {
	wrk -t2 -c"$CONNS" -d"${DURATION}s" -H 'Host: bench.local' "http://127.0.0.1:$1/" |
		awk '/Requests\/sec/ {print $2} /Non-2xx/ {print "NON2XX " $4 > "/dev/stderr"}'
}

IDLE_RSS=$(rss_kb "$AGENT_PID")
TICK=$(getconf CLK_TCK)
# CPU time per request of each process, from /proc/<pid>/stat around a run.
per_req() { python3 -c "print('%.2f' % (($2 - $1) / $TICK * 1e6 / max(int($3 * $DURATION), 1)))"; }

echo "round static_rps agent_rps ratio agent_cpu_us haproxy_static_cpu_us haproxy_agent_cpu_us"
for r in $(seq 1 "$ROUNDS"); do
	h0=$(cpu_ticks "$STATIC_PID")
	s=$(run_wrk "$STATIC_PORT")
	h1=$(cpu_ticks "$STATIC_PID")
	c0=$(cpu_ticks "$AGENT_PID")
	g0=$(cpu_ticks "$AGENTHP_PID")
	a=$(run_wrk "$AGENTHP_PORT")
	g1=$(cpu_ticks "$AGENTHP_PID")
	c1=$(cpu_ticks "$AGENT_PID")
	ratio=$(python3 -c "print('%.3f' % ($a / $s))")
	echo "$r $s $a $ratio $(per_req "$c0" "$c1" "$a") $(per_req "$h0" "$h1" "$s") $(per_req "$g0" "$g1" "$a")"
done
echo "agent_idle_rss_kb $IDLE_RSS"
echo "agent_rss_after_kb $(rss_kb "$AGENT_PID")"
echo "services $SERVICES agent_threads $AGENT_THREADS conns $CONNS duration $DURATION fixed_agent ${FIXED_AGENT:-0}"

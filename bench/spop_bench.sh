#!/usr/bin/env bash
# The agent alone: spop-load against swarm-spoa with a generated table, in
# the shapes HAProxy produces (one connection, one frame at a time; many
# connections with pipelined frames, written together as HAProxy 2.6 and
# 3.0 do, or one write per frame as 3.1 and later do), one worker thread.
#
#   bench/spop_bench.sh [--services N] [--duration SEC] [--build DIR]
#
# Prints, per shape, NOTIFY->ACK per second, latency percentiles and the
# agent's CPU time per request, then the agent's RSS with the table loaded
# and, for comparison, of an agent with an empty table.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build
SERVICES=10000
DURATION=10
while (($#)); do
	case $1 in
	--services) SERVICES=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
done
((SERVICES >= 1 && SERVICES <= 100000 && DURATION >= 1 && DURATION <= 120)) ||
	{ echo "bounds: services 1-100000, duration 1-120" >&2; exit 2; }

. "$SRC/bench/bench_lib.sh"
bench_init spop-bench

# svc0.bench .. svcN-1.bench, 5 tasks each: what spop-load asks for.
python3 - "$WORK/routes.json" "$SERVICES" <<'PY'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
svcs = [{"name": "svc%d" % i,
         "labels": {"com.docker.lb.hosts": "svc%d.bench" % i, "com.docker.lb.port": "8080"},
         "tasks": [{"id": "svc%d.%d" % (i, k), "address": "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, k + 1)}
                   for k in range(5)]}
        for i in range(n)]
json.dump({"services": svcs}, open(path, "w"))
PY

start_agent() {
	local port
	port=$(free_port)
	"$BUILD/swarm-spoa" --listen 127.0.0.1:"$port" --threads 1 "$@" --log-level warn >>"$WORK/agent.log" 2>&1 &
	PIDS+=($!)
	AGENT_PID=$!
	AGENT_PORT=$port
	wait_port "$port"
}

start_agent
echo "agent_rss_kb_empty_table $(rss_kb "$AGENT_PID")"

start_agent --routes "$WORK/routes.json"
HOSTS=$((SERVICES < 1000 ? SERVICES : 1000))
# conns, frames in flight per connection, framing: HAProxy 2.6/3.0 write
# the frames of a connection together; 3.1 and later write each frame on
# its own, at most 20 per connection (spop_load.c, --framing).
for shape in "1 1 2.6" "4 64 2.6" "50 4 2.6" "4 20 3.2" "3 17 3.2"; do
	set -- $shape
	echo "== conns $1, pipeline $2, framing $3, $HOSTS hosts of $SERVICES services"
	"$BUILD/bench/spop-load" --target 127.0.0.1:"$AGENT_PORT" --conns "$1" --pipeline "$2" --threads 1 \
		--duration "$DURATION" --requests 100000000 --hosts "$HOSTS" --host bench --pid "$AGENT_PID" \
		--framing "$3"
done
echo "agent_rss_kb_table $(rss_kb "$AGENT_PID")"

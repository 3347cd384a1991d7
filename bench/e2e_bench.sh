#!/usr/bin/env bash
# End-to-end routing benchmark: HAProxy + swarm-spoa against the same HAProxy
# routing the same requests with a static "server" line, for every HAProxy
# version of tests/lib/haproxy-versions.sh (2.6, 3.0, 3.2), in one
# invocation: each round runs, version after version, the static side then
# the agent side, so that machine drift hits them all alike.
#
#   bench/e2e_bench.sh [--rounds N] [--duration SEC] [--conns N] [--services N]
#                      [--agent-threads N] [--build DIR] [--fixed-agent]
#                      [--versions "2.6 3.0 3.2"] [--haproxy-conf DIR] [--syscalls]
#                      [--agent-args "OPTIONS"]
#
# Prints, per round and version, requests/s of each side, the ratio
# agent/static, the CPU time per request of the agent and of each HAProxy
# (from /proc/<pid>/task/*/schedstat), and what the agent saw per request (reads,
# writes, frames per read) and the connections HAProxy had open to it; then
# per version the means and the ratio and agent CPU relative to the first
# version's of the same rounds. --services N loads N generated services
# (5 tasks each) into the agent's table; requests go to one of them.
# --fixed-agent puts bench/spop_fixed.c (one thread, the same ACK for every
# NOTIFY, no table) in the agent's place: the ceiling any agent can reach
# with this HAProxy configuration. --haproxy-conf runs the files of another
# directory (a variant being measured) instead of haproxy-conf/;
# --agent-args adds options to the agent's command line.
# --syscalls counts, with perf's tracepoints, the system calls and context
# switches per request of the static HAProxy, and of HAProxy and the agent
# on the agent side (the counting slows them down: use it for the profile,
# not for the ratios).
# The versions must be installed: tests/lib/haproxy-versions.sh install.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build
ROUNDS=3
DURATION=10
CONNS=50
SERVICES=1
AGENT_THREADS=1
FIXED_AGENT=
VERSIONS=$("$SRC/tests/lib/haproxy-versions.sh" branches)
CONF=$SRC/haproxy-conf
SYSCALLS=
AGENT_ARGS=
while (($#)); do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--conns) CONNS=$2; shift 2 ;;
	--services) SERVICES=$2; shift 2 ;;
	--agent-threads) AGENT_THREADS=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	--fixed-agent) FIXED_AGENT=1; shift ;;
	--versions) VERSIONS=$2; shift 2 ;;
	--haproxy-conf) CONF=$(cd "$2" && pwd); shift 2 ;;
	--syscalls) SYSCALLS=1; shift ;;
	--agent-args) AGENT_ARGS=$2; shift 2 ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
done
((ROUNDS >= 1 && ROUNDS <= 20 && DURATION >= 1 && DURATION <= 120)) || { echo "bounds: rounds 1-20, duration 1-120" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 2; }
if [ -n "$SYSCALLS" ]; then
	perf stat -e raw_syscalls:sys_enter true >/dev/null 2>&1 ||
		{ echo "--syscalls needs perf with access to tracepoints (apt-get install linux-perf, as root)" >&2; exit 2; }
fi

declare -A HAPROXY
for v in $VERSIONS; do
	HAPROXY[$v]=$("$SRC/tests/lib/haproxy-versions.sh" path "$v")
	case $("${HAPROXY[$v]}" -v 2>/dev/null | head -1) in
	"HAProxy version $v."*) ;;
	*) echo "HAProxy $v is not installed at ${HAPROXY[$v]} (tests/lib/haproxy-versions.sh install $v)" >&2; exit 2 ;;
	esac
done

. "$SRC/bench/bench_lib.sh"
bench_init bench
bench_echo

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
STATS_SOCK=
if [ -n "$FIXED_AGENT" ]; then
	"$BUILD/bench/spop-fixed" --listen "$AGENT_PORT" --ip 127.0.0.1 --port "$ECHO_PORT" >"$WORK/agent.log" 2>&1 &
else
	STATS_SOCK=$WORK/agent-stats.sock
	"$BUILD/swarm-spoa" --listen 127.0.0.1:"$AGENT_PORT" --threads "$AGENT_THREADS" --routes "$WORK/routes.json" \
		--stats-socket "$STATS_SOCK" --log-level warn $AGENT_ARGS >"$WORK/agent.log" 2>&1 &
fi
AGENT_PID=$!
PIDS+=($AGENT_PID)
wait_port "$AGENT_PORT"

bench_haproxy_global

bench_agents_cfg "$AGENT_PORT"

declare -A STATIC_PORT STATIC_PID AGENTHP_PORT AGENTHP_PID
for v in $VERSIONS; do
	# The static side runs the very global and defaults sections of
	# haproxy.cfg (logging, timeouts, TLS policy), and sets the same
	# headers: only the routing differs.
	STATIC_PORT[$v]=$(free_port)
	sed -n '1,/^frontend http/p' "$CONF/haproxy.cfg" | sed '$d' >"$WORK/static-$v.cfg"
	cat >>"$WORK/static-$v.cfg" <<CFG
frontend http
    bind 127.0.0.1:${STATIC_PORT[$v]}
    http-request set-header X-Forwarded-Proto %[ssl_fc,iif(https,http)]
    default_backend app
backend app
    option forwardfor
    http-reuse safe
    server s1 127.0.0.1:$ECHO_PORT
CFG
	SWARM_SPOA_RUNTIME=$WORK/admin-static-$v.sock \
		"${HAPROXY[$v]}" -db -f "$WORK/global.cfg" -f "$WORK/static-$v.cfg" >"$WORK/haproxy-static-$v.log" 2>&1 &
	STATIC_PID[$v]=$!
	PIDS+=($!)

	AGENTHP_PORT[$v]=$(free_port)
	SWARM_SPOA_CONF_DIR=$CONF SWARM_SPOA_HTTP_BIND=127.0.0.1:${AGENTHP_PORT[$v]} \
	SWARM_SPOA_RUNTIME=$WORK/admin-$v.sock \
		"${HAPROXY[$v]}" -db -f "$WORK/global.cfg" -f "$CONF/haproxy.cfg" -f "$CONF/swarm-backends.cfg" \
		-f "$WORK/agents.cfg" >"$WORK/haproxy-agent-$v.log" 2>&1 &
	AGENTHP_PID[$v]=$!
	PIDS+=($!)
	wait_port "${STATIC_PORT[$v]}"
	wait_port "${AGENTHP_PORT[$v]}"
	# Both must answer with the echo backend before anything is measured.
	for p in ${STATIC_PORT[$v]} ${AGENTHP_PORT[$v]}; do
		curl -fsS -H 'Host: bench.local' "http://127.0.0.1:$p/" | grep 'name=bench' >/dev/null ||
			{ echo "HAProxy $v: port $p does not route to the backend" >&2; exit 1; }
	done
done

run_wrk() {
	wrk -t2 -c"$CONNS" -d"${DURATION}s" -H 'Host: bench.local' "http://127.0.0.1:$1/" |
		awk '/Requests\/sec/ {print $2} /Non-2xx/ {print "NON2XX " $4 > "/dev/stderr"}'
}
# The agent's SPOP counters (reads writes frames_in conns_cur conns_accepted),
# or zeros for the fixed agent, which has no stats socket.
agent_counters() {
	if [ -z "$STATS_SOCK" ]; then
		echo "0 0 0 0 0"
		return
	fi
	python3 - "$STATS_SOCK" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"show stats json\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
t = json.loads(data)["total"]
print(t["reads"], t["writes"], t["frames_in"], t["conns_cur"], t["conns_accepted"])
PY
}

IDLE_RSS=$(rss_kb "$AGENT_PID")
# With --syscalls: perf stat of <pid> into <file> for the next run.
SYSEV=context-switches,raw_syscalls:sys_enter,syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_epoll_wait
perf_start() {
	perf stat -x, -e "$SYSEV" -p "$1" -o "$2" -- sleep $((DURATION + 1)) &
	PERF_PIDS+=($!)
}
# perf_per_req <file> <requests>: "name=count/request ..." of a perf stat file
perf_per_req() {
	python3 - "$1" "$2" <<'PY'
import sys
n = max(float(sys.argv[2]), 1)
out = []
for line in open(sys.argv[1]):
    p = line.strip().split(",")
    if len(p) < 3 or not p[0].replace(".", "").isdigit():
        continue
    name = p[2].split(":")[-1].replace("sys_enter_", "").replace("sys_enter", "syscalls")
    out.append("%s=%.2f" % (name, float(p[0]) / n))
print(" ".join(out))
PY
}

RESULTS=$WORK/results
echo "round version static_rps agent_rps ratio agent_cpu_us haproxy_static_cpu_us haproxy_agent_cpu_us agent_reads_per_req agent_writes_per_req frames_per_read spop_conns new_conns"
for r in $(seq 1 "$ROUNDS"); do
	for v in $VERSIONS; do
		PERF_PIDS=()
		if [ -n "$SYSCALLS" ]; then
			perf_start "${STATIC_PID[$v]}" "$WORK/perf-static"
			sleep 0.2
		fi
		h0=$(cpu_ns "${STATIC_PID[$v]}")
		s=$(run_wrk "${STATIC_PORT[$v]}")
		h1=$(cpu_ns "${STATIC_PID[$v]}")
		[ -z "$SYSCALLS" ] || wait "${PERF_PIDS[@]}"
		read -r rd0 wr0 fr0 _ ac0 < <(agent_counters)
		c0=$(cpu_ns "$AGENT_PID")
		g0=$(cpu_ns "${AGENTHP_PID[$v]}")
		PERF_PIDS=()
		if [ -n "$SYSCALLS" ]; then
			perf_start "${AGENTHP_PID[$v]}" "$WORK/perf-haproxy"
			perf_start "$AGENT_PID" "$WORK/perf-agent"
			sleep 0.2
		fi
		a=$(run_wrk "${AGENTHP_PORT[$v]}")
		g1=$(cpu_ns "${AGENTHP_PID[$v]}")
		c1=$(cpu_ns "$AGENT_PID")
		read -r rd1 wr1 fr1 cur1 ac1 < <(agent_counters)
		line=$(python3 -c "
s, a, n = $s, $a, max(int($a * $DURATION), 1)
rd, wr, fr = $rd1 - $rd0, $wr1 - $wr0, $fr1 - $fr0
print('%s %s %.0f %.0f %.3f %s %s %s %.3f %.3f %.2f %d %d' % ($r, '$v', s, a, a / s,
      '$(per_req_ns "$c0" "$c1" "$a")', '$(per_req_ns "$h0" "$h1" "$s")', '$(per_req_ns "$g0" "$g1" "$a")',
      rd / n, wr / n, fr / rd if rd else 0, $cur1, $ac1 - $ac0))")
		echo "$line"
		echo "$line" >>"$RESULTS"
		if [ -n "$SYSCALLS" ]; then
			wait "${PERF_PIDS[@]}"
			n=$(python3 -c "print(int($a * $DURATION))")
			echo "  $v per request: static  $(perf_per_req "$WORK/perf-static" "$(python3 -c "print(int($s * $DURATION))")")"
			echo "  $v per request: haproxy $(perf_per_req "$WORK/perf-haproxy" "$n")"
			echo "  $v per request: agent   $(perf_per_req "$WORK/perf-agent" "$n")"
		fi
	done
done
echo "agent_idle_rss_kb $IDLE_RSS"
echo "agent_rss_after_kb $(rss_kb "$AGENT_PID")"
for v in $VERSIONS; do
	echo "haproxy $v: $("${HAPROXY[$v]}" -v 2>/dev/null | head -1)"
done
echo "services $SERVICES agent_threads $AGENT_THREADS conns $CONNS duration $DURATION fixed_agent ${FIXED_AGENT:-0} conf $CONF agent_args '$AGENT_ARGS'"
echo "load_average $(cut -d' ' -f1-3 /proc/loadavg)"
# Per version: mean ratio and agent CPU, and both relative to the first
# version's in the same round (then averaged over the rounds).
python3 - "$RESULTS" $VERSIONS <<'PY'
import sys
from collections import defaultdict
path, versions = sys.argv[1], sys.argv[2:]
rows = defaultdict(dict)
for line in open(path):
    f = line.split()
    rows[int(f[0])][f[1]] = (float(f[4]), float(f[5]), float(f[7]))
base = versions[0]
print("version mean_ratio mean_agent_cpu_us mean_haproxy_agent_cpu_us ratio_vs_%s agent_cpu_vs_%s" % (base, base))
for v in versions:
    rs = [rows[r][v] for r in sorted(rows)]
    rel = [rows[r][v][0] / rows[r][base][0] for r in sorted(rows)]
    cpu = [rows[r][v][1] / rows[r][base][1] if rows[r][base][1] else 0 for r in sorted(rows)]
    n = len(rs)
    print("%s %.3f %.2f %.2f %.3f %.2f" % (v, sum(x[0] for x in rs) / n, sum(x[1] for x in rs) / n,
                                          sum(x[2] for x in rs) / n, sum(rel) / n, sum(cpu) / n))
PY

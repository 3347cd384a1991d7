# Helpers shared by the benchmark scripts that run on this host (sourced,
# not run). The benchmarks that need Docker source tests/lib/ instead.

# free_port: a TCP port of 127.0.0.1 that nothing listens on now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_port <port>: until something accepts on 127.0.0.1:<port>, 10 s at most.
wait_port() {
	local port=$1 i
	for i in $(seq 1 200); do
		(exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "port $port never opened" >&2
	return 1
}

# bench_init <name>: WORK, a fresh directory for the run, and PIDS, the
# processes it starts (append to it); at exit they are stopped and WORK is
# removed (kept with KEEP_WORK=1).
bench_init() {
	WORK=$(mktemp -d "/tmp/swarm-spoa-$1.XXXXXX")
	PIDS=()
	trap _bench_cleanup EXIT
}

_bench_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}

# bench_echo: starts the echo backend on ECHO_PORT.
bench_echo() {
	ECHO_PORT=$(free_port)
	"$BUILD/tests/backend/echo-backend" --listen 127.0.0.1:"$ECHO_PORT" --name bench >"$WORK/echo.log" 2>&1 &
	PIDS+=($!)
	wait_port "$ECHO_PORT"
}

# bench_haproxy_global: $WORK/global.cfg, one HAProxy thread, for both
# sides of a comparison.
bench_haproxy_global() {
	cat >"$WORK/global.cfg" <<CFG
global
    nbthread 1
    tune.bufsize 16384
CFG
}

# bench_agents_cfg <port>: $WORK/agents.cfg, the agents backend of
# haproxy-conf/agents-local.cfg with one agent on 127.0.0.1:<port> and no
# checks, under a defaults section of its own like the original.
bench_agents_cfg() {
	cat >"$WORK/agents.cfg" <<CFG
defaults
    mode tcp
backend swarm-spoa-agents
    mode tcp
    balance roundrobin
    timeout connect 1s
    timeout server 3m
    server agent1 127.0.0.1:$1
CFG
}

# cpu_ticks <pid>: user + system CPU time of the process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# cpu_ns <pid>: CPU time of all the process's threads, in nanoseconds
# (schedstat: a tick is 10 ms, too coarse for a few thousand requests).
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'; }

# per_req_ns <ns before> <ns after> <requests/s>: CPU time per request in
# microseconds over a run of DURATION seconds.
per_req_ns() {
	python3 -c "print('%.2f' % (($2 - $1) / 1e3 / max(int($3 * $DURATION), 1)))"
}

# rss_kb <pid>: its resident memory.
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# per_req <ticks before> <ticks after> <requests/s>: CPU time per request
# in microseconds over a run of DURATION seconds.
per_req() {
	python3 -c "print('%.2f' % (($2 - $1) / $(getconf CLK_TCK) * 1e6 / max(int($3 * $DURATION), 1)))"
}

# bench_rounds <header>: ROUNDS rounds of run_wrk (the caller's: prints the
# requests/s of a run against the port it is given), each against the
# static HAProxy (STATIC_PORT, STATIC_PID) then against HAProxy with the
# agent (AGENTHP_PORT, AGENTHP_PID; the agent is AGENT_PID), alternating so
# that drift of the machine hits both alike. Prints <header>, then per
# round: requests/s of each, their ratio, and the CPU time per request of
# the agent and of each HAProxy.
bench_rounds() {
	local r s a h0 h1 c0 c1 g0 g1 ratio
	echo "$1"
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
}

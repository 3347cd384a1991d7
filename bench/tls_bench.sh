#!/usr/bin/env bash
# HTTPS benchmark: keep-alive requests over TLS through HAProxy + swarm-spoa
# (SPOE routing, the certificate pushed by the agent through the runtime
# API) against the same HAProxy terminating TLS with a static backend, in one
# invocation, alternating the two so that machine drift hits both alike.
#
#   bench/tls_bench.sh [--rounds N] [--duration SEC] [--conns N]
#                      [--agent-threads N] [--build DIR]
#
# Both HAProxy processes have one thread, the TLS policy of
# haproxy-conf/haproxy.cfg, and serve the same ECDSA P-256 certificate for
# SNI "localhost" (wrk sends the URL's host as SNI and Host). Prints
# requests/s of each round, the ratio agent/static, the agent's CPU time per
# routed request, and checks before measuring that the agent's certificate
# is the one served.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build
ROUNDS=3
DURATION=10
CONNS=50
AGENT_THREADS=1
while (($#)); do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--conns) CONNS=$2; shift 2 ;;
	--agent-threads) AGENT_THREADS=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
done
((ROUNDS >= 1 && ROUNDS <= 20 && DURATION >= 1 && DURATION <= 120)) || { echo "bounds: rounds 1-20, duration 1-120" >&2; exit 2; }
for cmd in wrk openssl curl haproxy socat; do
	command -v "$cmd" >/dev/null || { echo "$cmd is required" >&2; exit 2; }
done

. "$SRC/bench/bench_lib.sh"
bench_init tls-bench

# Certificates: the one benchmarked, and the default HAProxy starts with.
mkdir -p "$WORK/certs"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$WORK/certs/bench.key" -out "$WORK/certs/bench.crt" -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$WORK/initial.key" -out "$WORK/initial.crt" -subj /CN=initial 2>/dev/null
cat "$WORK/certs/bench.crt" "$WORK/certs/bench.key" >"$WORK/bench.pem"
cat "$WORK/initial.crt" "$WORK/initial.key" >"$WORK/initial.pem"
echo "$WORK/initial.pem" >"$WORK/crt-list"
echo "$WORK/bench.pem" >"$WORK/static-crt-list"

bench_echo

cat >"$WORK/routes.json" <<JSON
{"services": [{"name": "bench", "tasks": [{"id": "bench.1", "address": "127.0.0.1"}],
  "labels": {"com.docker.lb.hosts": "localhost", "com.docker.lb.port": "$ECHO_PORT",
             "com.docker.lb.ssl_cert": "bench.crt", "com.docker.lb.ssl_key": "bench.key"}}]}
JSON

bench_haproxy_global

# The static side is haproxy-conf/haproxy.cfg without the agent: the same
# TLS policy, the same logging (HAProxy formats each request's log line
# before the level filter drops it: about 1.5 us a request), the same
# headers to the backend.
policy=$(grep -E '^ *(ssl-default-bind-(ciphers|ciphersuites|options)|log stderr) ' \
	"$SRC/haproxy-conf/haproxy.cfg")
STATIC_PORT=$(free_port)
cat >"$WORK/static.cfg" <<CFG
global
    maxconn 4096
$policy
defaults
    mode http
    log global
    option httplog
    option dontlognull
    option http-keep-alive
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend https
    bind 127.0.0.1:$STATIC_PORT ssl crt-list $WORK/static-crt-list alpn h2,http/1.1
    option forwardfor
    http-request set-header X-Forwarded-Proto https if { ssl_fc }
    default_backend app
backend app
    http-reuse safe
    server s1 127.0.0.1:$ECHO_PORT
CFG
haproxy -db -f "$WORK/global.cfg" -f "$WORK/static.cfg" >"$WORK/haproxy-static.log" 2>&1 &
STATIC_PID=$!
PIDS+=($STATIC_PID)
wait_port "$STATIC_PORT"

AGENT_PORT=$(free_port)
bench_agents_cfg "$AGENT_PORT"
AGENTHP_HTTP=$(free_port)
AGENTHP_PORT=$(free_port)
SWARM_SPOA_CONF_DIR=$SRC/haproxy-conf SWARM_SPOA_HTTP_BIND=127.0.0.1:$AGENTHP_HTTP \
SWARM_SPOA_HTTPS_BIND=127.0.0.1:$AGENTHP_PORT SWARM_SPOA_CRT_LIST=$WORK/crt-list \
SWARM_SPOA_RUNTIME=$WORK/admin.sock \
	haproxy -db -f "$WORK/global.cfg" -f "$SRC/haproxy-conf/haproxy.cfg" -f "$SRC/haproxy-conf/swarm-backends.cfg" \
	-f "$WORK/agents.cfg" \
	>"$WORK/haproxy-agent.log" 2>&1 &
AGENTHP_PID=$!
PIDS+=($AGENTHP_PID)
wait_port "$AGENTHP_PORT"

"$BUILD/swarm-spoa" --listen 127.0.0.1:"$AGENT_PORT" --threads "$AGENT_THREADS" \
	--routes "$WORK/routes.json" --log-level warn --stats-socket "$WORK/stats.sock" \
	--haproxy-runtime "unix:$WORK/admin.sock" --certs-dir "$WORK/certs" >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
PIDS+=($AGENT_PID)
wait_port "$AGENT_PORT"

# Both must serve the bench certificate and reach the echo backend before
# anything is measured: the agent's push is part of the setup.
want=$(openssl x509 -noout -fingerprint -sha256 -in "$WORK/certs/bench.crt")
served() {
	openssl s_client -connect "127.0.0.1:$1" -servername localhost </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null
}
for i in $(seq 1 100); do
	[ "$(served "$AGENTHP_PORT")" = "$want" ] && break
	sleep 0.1
done
for p in $STATIC_PORT $AGENTHP_PORT; do
	[ "$(served "$p")" = "$want" ] || { echo "port $p does not serve the bench certificate" >&2; exit 1; }
	curl -fsS --cacert "$WORK/certs/bench.crt" "https://localhost:$p/" | grep 'name=bench' >/dev/null ||
		{ echo "port $p does not route to the backend" >&2; exit 1; }
done

run_wrk() {
	wrk -t2 -c"$CONNS" -d"${DURATION}s" "https://localhost:$1/" |
		awk '/Requests\/sec/ {print $2} /Non-2xx/ {print "NON2XX " $4 > "/dev/stderr"}
		     /Socket errors/ {print "ERRORS " $0 > "/dev/stderr"}'
}

# CPU time per request of each process (from /proc/<pid>/stat) is less
# sensitive to other work on the machine than requests per second.
bench_rounds "round static_rps agent_rps ratio agent_cpu_us_per_req haproxy_static_cpu_us_per_req haproxy_agent_cpu_us_per_req"
echo "agent_threads $AGENT_THREADS conns $CONNS duration $DURATION (HTTPS keep-alive, TLS 1.3, ECDSA P-256)"

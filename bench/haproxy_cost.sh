#!/usr/bin/env bash
# What each part of haproxy-conf/ costs HAProxy per request, in instructions
# (user space), for every HAProxy version of tests/lib/haproxy-versions.sh.
# Counted by valgrind (cachegrind, no cache simulation), which does not
# depend on how busy the machine is: HAProxy runs N1 then N2 requests in two
# runs, and (I(N2) - I(N1)) / (N2 - N1) is the cost of one request, start-up
# and shutdown cancelled out. The kernel's share (system calls) is not in
# it: bench/e2e_bench.sh --syscalls counts those.
#
#   bench/haproxy_cost.sh [--versions "2.6 3.0 3.2"] [--variants "static shipped ..."]
#                         [--n1 500] [--n2 2500] [--build DIR]
#
# Variants (each one the shipped files with one thing changed):
#   static        no agent: the e2e benchmark's static side
#   shipped       haproxy-conf/ as it is
#   no-retry      without the retry engine (its filter and its rule)
#   spoe-log      the SPOE engines without "option dontlog-normal": HAProxy formats
#                 a log line for every message processed (kept or not)
#   args-2        the route message with host and path only
#   no-cookie     the route message without the Cookie header
#   pathq         path and query in one argument (path=pathq)
#   ssl-fc        ssl=ssl_fc in the message (the scheme rule still runs)
#   no-xfp        no X-Forwarded-Proto rule, ssl=ssl_fc
#   gate-domain   swarm_host naming a domain (the paste-in form) instead of always_true
#   no-resp-rules swarm-tasks without its two http-response rules and set-path
#   no-traffic    swarm-tasks without the per-service traffic rules (track-sc2,
#                 the time variables, the gpc increments)
#   traffic-counts the per-service traffic rules without the response time
#                 (requests and response classes only)
#   fixed-ack2    the smallest agent answering with ip and port only (spop-fixed --vars 2)
#   fixed-ack4    the smallest agent answering the 4 variables of a forward
# Requests go to bench.local over 10 keep-alive connections, no Cookie.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build
VERSIONS=$("$SRC/tests/lib/haproxy-versions.sh" branches)
VARIANTS="static shipped spoe-log no-retry args-2 no-cookie pathq ssl-fc no-xfp gate-domain no-resp-rules no-traffic fixed-ack2 fixed-ack4"
N1=500
N2=2500
while (($#)); do
	case $1 in
	--versions) VERSIONS=$2; shift 2 ;;
	--variants) VARIANTS=$2; shift 2 ;;
	--n1) N1=$2; shift 2 ;;
	--n2) N2=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
done
((N1 >= 10 && N2 > N1 && N2 <= 100000)) || { echo "bounds: 10 <= n1 < n2 <= 100000" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/swarm-spoa-cost.XXXXXX)
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
cat >"$WORK/routes.json" <<JSON
{"services": [{"name": "bench", "labels": {"com.docker.lb.hosts": "bench.local", "com.docker.lb.port": "$ECHO_PORT"},
               "tasks": [{"id": "bench.1", "address": "127.0.0.1"}]}]}
JSON
AGENT_PORT=$(free_port)
"$BUILD/swarm-spoa" --listen 127.0.0.1:"$AGENT_PORT" --threads 1 --routes "$WORK/routes.json" \
	--log-level warn >"$WORK/agent.log" 2>&1 &
PIDS+=($!)
FIXED2_PORT=$(free_port)
"$BUILD/bench/spop-fixed" --listen "$FIXED2_PORT" --ip 127.0.0.1 --port "$ECHO_PORT" --vars 2 >"$WORK/fixed2.log" 2>&1 &
PIDS+=($!)
FIXED4_PORT=$(free_port)
"$BUILD/bench/spop-fixed" --listen "$FIXED4_PORT" --ip 127.0.0.1 --port "$ECHO_PORT" >"$WORK/fixed4.log" 2>&1 &
PIDS+=($!)
wait_port "$ECHO_PORT"
wait_port "$AGENT_PORT"
wait_port "$FIXED2_PORT"
wait_port "$FIXED4_PORT"

# variant_dir <variant>: a copy of haproxy-conf/ with the variant's change.
variant_dir() {
	local v=$1 d=$WORK/conf-$1
	rm -rf "$d"
	cp -r "$SRC/haproxy-conf" "$d"
	python3 - "$d" "$v" <<'PY'
import re, sys
d, v = sys.argv[1], sys.argv[2]
def edit(name, fn):
    p = "%s/%s" % (d, name)
    s = open(p).read()
    t = fn(s)
    assert t != s, (v, name)
    open(p, "w").write(t)
ARGS = re.compile(r"(spoe-message route\n    args )[^\n]*")
if v == "spoe-log":
    edit("spoe-swarm.conf", lambda s: s.replace("    option dontlog-normal\n", ""))
elif v == "no-retry":
    edit("haproxy.cfg", lambda s: re.sub(r"\n    filter spoe engine swarm-spoa-retry [^\n]*", "",
                                         re.sub(r"\n    http-request send-spoe-group swarm-spoa-retry [^\n]*", "", s)))
elif v == "args-2":
    edit("spoe-swarm.conf", lambda s: ARGS.sub(r"\1host=req.hdr(host) path=path", s))
elif v == "pathq":
    edit("spoe-swarm.conf", lambda s: s.replace(" path=path query=query", " path=pathq"))
elif v == "no-cookie":
    edit("spoe-swarm.conf", lambda s: s.replace(" cookie=req.fhdr(cookie)", ""))
elif v == "ssl-fc":
    edit("spoe-swarm.conf", lambda s: s.replace("ssl=req.hdr(x-forwarded-proto)", "ssl=ssl_fc"))
elif v == "no-xfp":
    edit("spoe-swarm.conf", lambda s: s.replace("ssl=req.hdr(x-forwarded-proto)", "ssl=ssl_fc"))
    edit("haproxy.cfg", lambda s: re.sub(r"\n    http-request set-header X-Forwarded-Proto [^\n]*", "", s))
elif v == "gate-domain":
    edit("haproxy.cfg", lambda s: s.replace("    acl swarm_host always_true",
         "    acl swarm_host req.hdr(host),field(1,:),lower -m end .local"))
elif v == "fixed-ack2":
    # a forward known by its address: no action, no service
    edit("haproxy.cfg", lambda s: s.replace("use_backend swarm-tasks if { var(txn.route.action) -m str forward }",
                                            "use_backend swarm-tasks if { var(txn.route.ip) -m found }")
         .replace("route if !{ var(txn.route.action) -m found } swarm_host",
                  "route if !{ var(txn.route.action) -m found } !{ var(txn.route.ip) -m found } swarm_host"))
elif v == "no-resp-rules":
    edit("swarm-backends.cfg", lambda s: re.sub(r"\n    http-(response (add|set)-header|request set-path) [^\n]*", "", s))
elif v == "no-traffic":
    edit("swarm-backends.cfg", lambda s: re.sub(
        r"\n    http-(request|response) (track-sc2|set-var\(txn\.swarm_|sc-inc-gpc)[^\n]*", "", s))
elif v == "traffic-counts":
    edit("swarm-backends.cfg", lambda s: re.sub(
        r"\n    http-(request|response) (set-var\(txn\.swarm_|sc-inc-gpc\([4-9],)[^\n]*", "", s))
PY
	echo "$d"
}

# count <haproxy> <config files...> -- <port> <n>: instructions for n requests
count() {
	local exe=$1 port out pid n
	shift
	local files=()
	while [ "$1" != -- ]; do files+=(-f "$1"); shift; done
	port=$2 n=$3
	local cmd=("$exe")
	if [ "$(head -c2 "$exe")" = "#!" ]; then
		# a tests/lib/haproxy-versions.sh wrapper: valgrind runs its loader
		read -r -a cmd < <(sed -n 's/^exec "\([^"]*\)" --argv0 "$0" --library-path "\([^"]*\)" "\([^"]*\)".*/\1 --library-path \2 \3/p' "$exe")
	fi
	out=$WORK/cg-$RANDOM.out
	SWARM_SPOA_RUNTIME=$WORK/admin-$port.sock SWARM_SPOA_HTTP_BIND=127.0.0.1:$port \
		valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
		"${cmd[@]}" -db "${files[@]}" >"$out" 2>&1 &
	pid=$!
	for _ in $(seq 1 300); do
		curl -fsS -o /dev/null -H 'Host: bench.local' "http://127.0.0.1:$port/" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if ! curl -fsS -o /dev/null -H 'Host: bench.local' "http://127.0.0.1:$port/" 2>/dev/null; then
		echo "HAProxy did not route a request:" >&2
		grep -v '^==' "$out" >&2
		kill "$pid" 2>/dev/null
		return 1
	fi
	python3 - "$port" "$n" <<'PY'
import socket, sys, threading
port, n, c = int(sys.argv[1]), int(sys.argv[2]), 10
req = b"GET / HTTP/1.1\r\nHost: bench.local\r\n\r\n"
bad = []
def run(k):
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(120)
    for _ in range(k):
        s.sendall(req); data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                raise SystemExit("connection closed")
            data += chunk
            if b"\r\n\r\n" in data:
                hdr, body = data.split(b"\r\n\r\n", 1)
                cl = [int(l.split(b":")[1]) for l in hdr.split(b"\r\n") if l.lower().startswith(b"content-length")]
                if cl and len(body) >= cl[0]:
                    break
        if b" 200 " not in hdr.split(b"\r\n")[0]:
            bad.append(hdr[:40])
    s.close()
ts = [threading.Thread(target=run, args=(n // c,)) for _ in range(c)]
for t in ts: t.start()
for t in ts: t.join()
if bad:
    raise SystemExit("%d requests not answered 200: %r" % (len(bad), bad[0]))
PY
	kill -USR1 "$pid"
	wait "$pid" || true
	grep -E "I +refs" "$out" | awk '{gsub(",", "", $NF); print $NF}'
}

# HAProxy 3.x wants nbthread in the first global section.
cat >"$WORK/global.cfg" <<CFG
global
    nbthread 1
    tune.bufsize 16384
CFG

echo "version variant instructions_per_request"
for v in $VERSIONS; do
	exe=$("$SRC/tests/lib/haproxy-versions.sh" path "$v")
	for x in $VARIANTS; do
		d=$(variant_dir "$x")
		agent=$AGENT_PORT
		case $x in fixed-ack2) agent=$FIXED2_PORT ;; fixed-ack4) agent=$FIXED4_PORT ;; esac
		cat >"$WORK/agents.cfg" <<CFG
defaults
    mode tcp
backend swarm-spoa-agents
    mode tcp
    balance roundrobin
    timeout connect 1s
    timeout server 3m
    server agent1 127.0.0.1:$agent
CFG
		if [ "$x" = static ]; then
			sed -n '1,/^frontend http/p' "$d/haproxy.cfg" | sed '$d' >"$WORK/static.cfg"
			cat >>"$WORK/static.cfg" <<CFG
frontend http
    bind "\${SWARM_SPOA_HTTP_BIND}"
    http-request set-header X-Forwarded-Proto %[ssl_fc,iif(https,http)]
    default_backend app
backend app
    option forwardfor
    http-reuse safe
    server s1 127.0.0.1:$ECHO_PORT
CFG
			files=("$WORK/global.cfg" "$WORK/static.cfg")
		else
			files=("$WORK/global.cfg" "$d/haproxy.cfg" "$d/swarm-backends.cfg" "$WORK/agents.cfg")
		fi
		p1=$(free_port)
		i1=$(SWARM_SPOA_CONF_DIR=$d count "$exe" "${files[@]}" -- "$p1" "$N1")
		p2=$(free_port)
		i2=$(SWARM_SPOA_CONF_DIR=$d count "$exe" "${files[@]}" -- "$p2" "$N2")
		echo "$v $x $(( (i2 - i1) / (N2 - N1) ))"
	done
done
echo "load_average $(cut -d' ' -f1-3 /proc/loadavg)"

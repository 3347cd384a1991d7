#!/bin/bash
# Two stacks claiming one host on a real swarm, with the agent reading the
# Engine API and keeping its ledger in a file:
#   1. stack A claims the host first and is routed;
#   2. stack B's service on the same host (a longer context root) is
#      skipped with "belongs to stack A", explain says so, and B's own
#      host is routed;
#   3. A's stack removed and deployed again, so that its service is now
#      younger than B's: A keeps the host (the ledger), B stays refused.
# The services have no replicas: what is decided is ownership, not
# traffic (test_tenants.py sends traffic through HAProxy). Everything
# created is removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"

test_init swarm_tenants
ensure_cmd python3 python3
swarm_test_start

a=ssptena
b=ssptenb
host=bank.ssptena.test
agent_bin=$SWARM_SPOA_BUILD/swarm-spoa
sock=$TEST_WORK/stats.sock
ledger=$TEST_WORK/ledger
[ -x "$agent_bin" ] || fail "no agent at $agent_bin"

# app_file <stack> <service> <hosts> [label=value...]: a compose file with
# one service of no replicas carrying those com.docker.lb.* labels.
app_file() {
	local stack=$1 svc=$2 hosts=$3 f=$TEST_WORK/$1.yml kv
	shift 3
	{
		echo 'version: "3.7"'
		echo 'services:'
		echo "  $svc:"
		echo '    image: swarm-spoa-test/none:1'
		echo '    deploy:'
		echo '      replicas: 0'
		echo '      labels:'
		echo "        $TEST_LABEL_KEY: $TEST_NAME"
		echo "        com.docker.lb.hosts: $hosts"
		echo '        com.docker.lb.port: "80"'
		for kv in "$@"; do
			echo "        com.docker.lb.${kv%%=*}: \"${kv#*=}\""
		done
	} >"$f"
	echo "$f"
}

stats() {
	python3 - "$sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode())
PY
}

# service_is <service> <status> [reason part]: "show services" says so.
service_is() {
	local line
	line=$(stats "show services" | awk -v s="$1" '$1 == s') || true
	[ -n "$line" ] || { echo "$1 not listed"; return 1; }
	case "$line" in *" $2 "*|*" $2") ;; *) echo "$line"; return 1 ;; esac
	[ -z "${3:-}" ] || case "$line" in *"$3"*) ;; *) echo "$line"; return 1 ;; esac
}

port=$(free_port)
log "starting the agent on the swarm (ledger $ledger)"
setsid "$agent_bin" --docker unix:///var/run/docker.sock --listen "127.0.0.1:$port" \
	--threads 1 --stats-socket "$sock" --ledger "$ledger" --claim-grace 3600 \
	>"$TEST_WORK/agent.log" 2>&1 </dev/null &
agent_pid=$!
on_exit kill "$agent_pid"
wait_until 20 test -S "$sock"

# --- 1. A claims the host -------------------------------------------------------
stack_deploy "$a" "$(app_file "$a" web "$host")" || fail "deploy of $a: $(cat "$TEST_WORK/deploy-$a.log")"
wait_until 60 service_is "${a}_web" routed
log "${a}_web routed"

# --- 2. B on the same host is refused, its own host routed -------------------------
printf 'version: "3.7"\nservices:\n' >"$TEST_WORK/$b.yml"
sed -n '/^  login:/,$p' "$(app_file "$b-login" login "$host" context_root=/login)" >>"$TEST_WORK/$b.yml"
sed -n '/^  site:/,$p' "$(app_file "$b-site" site "site.ssptenb.test")" >>"$TEST_WORK/$b.yml"
stack_deploy "$b" "$TEST_WORK/$b.yml" || fail "deploy of $b: $(cat "$TEST_WORK/deploy-$b.log")"
wait_until 60 service_is "${b}_login" skipped "host $host belongs to stack $a"
wait_until 20 service_is "${b}_site" routed
service_is "${a}_web" routed || fail "${a}_web no longer routed"
ex=$(stats "explain $host /login")
assert_contains "$ex" "refused  service ${b}_login: host $host belongs to stack $a" "explain"
assert_contains "$ex" "service ${a}_web" "explain"
wait_until 10 grep -q "^$host $a [0-9]* 0\$" "$ledger"
log "${b}_login refused, ${b}_site routed, the ledger names $a"

# --- 3. A redeployed after B: the ledger keeps A the owner ---------------------------
stack_remove "$a"
wait_until 60 service_is "${b}_login" skipped "host $host belongs to stack $a"
wait_until 10 grep -q "^$host $a [0-9]* [1-9][0-9]*\$" "$ledger"
stack_deploy "$a" "$TEST_WORK/$a.yml" || fail "redeploy of $a: $(cat "$TEST_WORK/deploy-$a.log")"
wait_until 60 service_is "${a}_web" routed
service_is "${b}_login" skipped "host $host belongs to stack $a" ||
	fail "${b}_login took the host of the redeployed $a: $WAIT_LAST_OUTPUT"
wait_until 10 grep -q "^$host $a [0-9]* 0\$" "$ledger"
created_a=$("$DOCKER" service inspect -f '{{.CreatedAt}}' "${a}_web")
created_b=$("$DOCKER" service inspect -f '{{.CreatedAt}}' "${b}_login")
log "${a}_web created $created_a, after ${b}_login ($created_b): still $a's"
test_pass

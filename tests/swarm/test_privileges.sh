#!/bin/bash
# The privileges of the pair (docs/security.md, "Privileges"):
#   1. the HAProxy image runs as a user other than root, with
#      CAP_NET_BIND_SERVICE as its only capability, and binds port 80 even
#      where the kernel keeps ports below 1024 for privileged processes
#      (net.ipv4.ip_unprivileged_port_start=1024 in its container);
#   2. the agent image takes options alone (`docker run IMAGE --version`);
#   3. docker/stack.yml as users deploy it, nothing set: the agent tasks run
#      as a user other than root, with the Docker socket's group as their
#      only supplementary group, no capability (effective, permitted,
#      bounding) and no_new_privs, and still route; the HAProxy tasks run as
#      in 1;
#   4. HAProxy's runtime API, deployed with docker/stack-runtime-tls.yml
#      (secrets by docker/runtime-tls.sh), answers the agents on the control
#      network over TLS with their certificate, and nothing else: a plain
#      connection gets no answer there, the agents stream its ring and read
#      its table over TLS; on the apps network, a container reaches
#      HAProxy's port 80 on HAProxy's address in that network, and not its
#      runtime port. (The control network's addresses are not routed from
#      the apps network at all: the probe does not try them, its packets
#      would leave the networks this test made.)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"

test_init swarm_privileges
ensure_cmd curl curl
swarm_test_start
images_build agent haproxy echo

tag=${SWARM_SPOA_TAG:-dev}
label=(--label "$TEST_LABEL_KEY=$TEST_NAME")
NET_BIND_SERVICE=0000000000000400   # 1 << 10, as /proc/PID/status shows it
NONE=0000000000000000

# proc_ids <container> <comm>: "uid gid groups capprm capeff capbnd nnp" of
# every process of that name in the container, one line each.
proc_ids() {
	"$DOCKER" exec "$1" sh -c '
		for p in /proc/[0-9]*; do
			[ "$(cat "$p/comm" 2>/dev/null)" = "$0" ] || continue
			awk "/^Uid:/ {u=\$2} /^Gid:/ {g=\$2} /^Groups:/ {s=\$2; for (i = 3; i <= NF; i++) s=s\",\"\$i}
			     /^CapPrm:/ {p=\$2} /^CapEff:/ {e=\$2} /^CapBnd:/ {b=\$2} /^NoNewPrivs:/ {n=\$2}
			     END {print u, g, (s == \"\" ? \"-\" : s), p, e, b, n}" "$p/status"
		done' "$2"
}

# assert_haproxy_ids <container>: every haproxy process (master and
# workers) is not root and holds CAP_NET_BIND_SERVICE only.
assert_haproxy_ids() {
	local ids n=0 uid gid groups prm eff bnd nnp uids=""
	ids=$(proc_ids "$1" haproxy) || fail "cannot read the processes of $1"
	[ -n "$ids" ] || fail "no haproxy process in $1"
	while read -r uid gid groups prm eff bnd nnp; do
		n=$(( n + 1 ))
		uids="$uids $uid"
		[ "$uid" != 0 ] || fail "haproxy runs as root in $1: $ids"
		[ "$eff" = "$NET_BIND_SERVICE" ] && [ "$prm" = "$NET_BIND_SERVICE" ] ||
			fail "haproxy's capabilities in $1 are $prm (permitted) $eff (effective), expected NET_BIND_SERVICE only: $ids"
	done <<<"$ids"
	log "$1: $n haproxy processes, uids$uids, capabilities $NET_BIND_SERVICE (NET_BIND_SERVICE) only"
}

# --- 1. HAProxy image: port 80 through its file capability --------------------
hname=ssp-priv-haproxy-$$
hport=$(free_port)
"$DOCKER" run -d "${label[@]}" --name "$hname" \
	--sysctl net.ipv4.ip_unprivileged_port_start=1024 \
	-p "127.0.0.1:$hport:80" "swarm-spoa/haproxy:$tag" >/dev/null
low=$("$DOCKER" exec "$hname" cat /proc/sys/net/ipv4/ip_unprivileged_port_start)
[ "$low" = 1024 ] || fail "ip_unprivileged_port_start is $low in $hname, expected 1024"
haproxy_http() {   # <port>: HAProxy answers HTTP there (503: no agent)
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1/") || code=000
	[ "$code" != 000 ] || { echo "nothing answers HTTP on 127.0.0.1:$1"; return 1; }
}
wait_until 30 haproxy_http "$hport"
assert_haproxy_ids "$hname"
"$DOCKER" rm -f "$hname" >/dev/null

# --- 2. agent image: options alone are the agent's ------------------------------
version=$("$DOCKER" run --rm "${label[@]}" "swarm-spoa/agent:$tag" --version 2>/dev/null) ||
	fail "docker run swarm-spoa/agent:$tag --version failed"
assert_contains "$version" "swarm-spoa" "agent --version"

# --- 3. the pair as deployed: users and capabilities ---------------------------
stack=sppriv
apps=sppriv-apps
http_port=$(free_port)
https_port=$(free_port)
subnet=10.254.$(( 100 + ($$ + 75) % 150 )).0/24
sock_gid=$(stat -c %g /var/run/docker.sock)
unset SWARM_SPOA_AGENT_USER   # the default, as users deploy it
"$DOCKER" network create -d overlay --attachable "${label[@]}" "$apps" >/dev/null
on_exit stack_remove "$stack"
DOCKER=$DOCKER "$SWARM_SPOA_SRC/docker/runtime-tls.sh" --label "$TEST_LABEL_KEY=$TEST_NAME" "$stack" \
	>/dev/null || fail "docker/runtime-tls.sh failed"
SWARM_SPOA_TAG=$tag SWARM_SPOA_NETWORK=$apps SWARM_SPOA_HTTP_PORT=$http_port \
SWARM_SPOA_HTTPS_PORT=$https_port SWARM_SPOA_CONTROL_SUBNET=$subnet \
SWARM_SPOA_RUNTIME_TLS_PREFIX=$stack \
	pair_deploy "$stack" "$SWARM_SPOA_SRC/docker/stack-runtime-tls.yml"
pair_label "$stack"
"$DOCKER" service create -q --detach "${label[@]}" --name sppriv-web --network "$apps" \
	--label com.docker.lb.hosts=web.priv.test --label com.docker.lb.port=8080 \
	--label com.docker.lb.network="$apps" \
	"swarm-spoa/echo:$tag" --name web >/dev/null
routed() {
	curl -fsS --max-time 3 -H "Host: web.priv.test" "http://127.0.0.1:$http_port/" | grep "name=web " >/dev/null
}
wait_until 180 routed
log "the pair routes web.priv.test"

user=$("$DOCKER" service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.User}}' "${stack}_agent")
[ -z "$user" ] || fail "docker/stack.yml sets the agent's user to '$user' by default"
agents=$("$DOCKER" ps -q --filter "label=com.docker.swarm.service.name=${stack}_agent")
[ "$(wc -w <<<"$agents")" -ge 1 ] || fail "no agent task runs"
for c in $agents; do
	ids=$(proc_ids "$c" swarm-spoa) || fail "cannot read the processes of agent $c"
	read -r uid gid groups prm eff bnd nnp <<<"$ids"
	[ -n "$uid" ] || fail "no swarm-spoa process in agent $c"
	[ "$uid" != 0 ] || fail "the agent runs as root in $c: $ids"
	[ "$gid" != 0 ] || fail "the agent's primary group is root in $c: $ids"
	case ",$groups," in
		",$sock_gid," | ",$gid,$sock_gid," | ",$sock_gid,$gid,") ;;
		*) fail "the agent's groups in $c are $groups (primary $gid), expected the socket's $sock_gid only" ;;
	esac
	[ "$prm" = "$NONE" ] && [ "$eff" = "$NONE" ] && [ "$bnd" = "$NONE" ] ||
		fail "the agent holds capabilities in $c: permitted $prm, effective $eff, bounding $bnd"
	[ "$nnp" = 1 ] || fail "the agent runs without no_new_privs in $c: $ids"
	log "agent $c: uid $uid gid $gid groups $groups, no capability, no_new_privs"
done

haproxies=$("$DOCKER" ps -q --filter "label=com.docker.swarm.service.name=${stack}_haproxy")
[ -n "$haproxies" ] || fail "no HAProxy task runs"
hc=$(head -1 <<<"$haproxies")
assert_haproxy_ids "$hc"

# --- 4. the runtime API: the agents' network only --------------------------------
addr_on() {   # <container> <network>: its IPv4 address on that network
	"$DOCKER" inspect -f "{{with index .NetworkSettings.Networks \"$2\"}}{{.IPAddress}}{{end}}" "$1"
}
ctl_ip=$(addr_on "$hc" "${stack}_control")
apps_ip=$(addr_on "$hc" "$apps")
[ -n "$ctl_ip" ] && [ -n "$apps_ip" ] ||
	fail "HAProxy's addresses: control '$ctl_ip', apps '$apps_ip'"
agent1=$(head -1 <<<"$agents")
secrets=/run/secrets/swarm-spoa-runtime
info=$("$DOCKER" exec "$agent1" sh -c "echo 'show info' |
	socat -t3 stdio openssl:$ctl_ip:9999,cert=$secrets-agent.pem,verify=0" 2>&1) ||
	fail "the agent's certificate does not open HAProxy's runtime API on $ctl_ip:9999: $info"
assert_contains "$info" "Name: HAProxy" "runtime API from an agent, over TLS"
plain=$("$DOCKER" exec "$agent1" sh -c "echo 'show info' | socat -t3 stdio tcp:$ctl_ip:9999" 2>&1 || true)
case "$plain" in
	*"Name: HAProxy"*) fail "HAProxy's runtime API answers a plain connection on $ctl_ip:9999" ;;
esac
log "the runtime API on $ctl_ip:9999 (control network) answers the agents' certificate only"
# the agents themselves: HAProxy's ring streamed, its table read, over TLS
agent_health() {   # <container>: one line of "show health json" that says both
	local c=$1 js
	js=$("$DOCKER" exec "$c" sh -c "echo 'show health json' | socat -t3 stdio unix-connect:/run/swarm-spoa/stats.sock") ||
		{ echo "no answer from the agent's stats socket"; return 1; }
	python3 -c '
import json, sys
h = json.loads(sys.argv[1])
ok = h["streams"] and all(s["connected"] for s in h["streams"]) and h["traffic"]["polls"] > 0 \
    and not h["traffic"]["last_error"]
print("streams %s, traffic polls %s" % ([(s["target"], s["connected"], s["last_error"]) for s in h["streams"]],
                                        h["traffic"]["polls"]))
sys.exit(0 if ok else 1)' "$js"
}
for c in $agents; do
	wait_until 30 agent_health "$c"
	log "agent $c: $(agent_health "$c")"
	case "$("$DOCKER" logs "$c" 2>&1)" in
		*"TLS to HAProxy's runtime API over TCP"*) ;;
		*) fail "agent $c does not say it speaks TLS to the runtime API" ;;
	esac
done

probe=$("$DOCKER" run --rm "${label[@]}" --network "$apps" --entrypoint bash "swarm-spoa/echo:$tag" -c "
	try() { timeout 3 bash -c \"exec 3<>/dev/tcp/\$1/\$2\" 2>/dev/null && echo \"\$1:\$2 open\" || echo \"\$1:\$2 closed\"; }
	try $apps_ip 80; try $apps_ip 9999") ||
	fail "the probe on $apps could not run"
log "from the apps network: $(tr '\n' ' ' <<<"$probe")"
assert_contains "$probe" "$apps_ip:80 open" "HAProxy's port 80 from the apps network"
assert_contains "$probe" "$apps_ip:9999 closed" "the runtime port on HAProxy's apps address"

test_pass

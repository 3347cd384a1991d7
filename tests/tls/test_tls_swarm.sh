#!/bin/bash
# TLS on a real swarm, the secrets path end to end, with docker/stack.yml as
# users deploy it (HAProxy host-mode ports, two agents with
# --manage-secrets):
#   1. a service labelled with a certificate and a key held in Docker
#      secrets: the agents mount the secrets into their own service (their
#      tasks are replaced one by one) and push the certificate to HAProxy's
#      runtime API; curl --resolve to 127.0.0.1 gets that certificate and
#      the service, plain HTTP is redirected, HSTS is sent. All the while,
#      a bounded load on another route counts failed requests: none.
#   2. rotation: the labels name a new secret pair; the new certificate is
#      served, with HTTPS load on that host and no failed request.
#      A config of the same name as the secret, made first by someone
#      else, is never read: a bare name is a secret, as in Interlock.
#   3. a certificate held in a Docker config (config:NAME): read through
#      the Engine API, served without any agent restart; the bare name of
#      a config names nothing.
# Everything created carries the test label and is removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"

test_init swarm_tls
ensure_cmd curl curl
ensure_cmd openssl openssl
ensure_cmd python3 python3
swarm_test_start
images_build

tag=${SWARM_SPOA_TAG:-dev}
label=(--label "$TEST_LABEL_KEY=$TEST_NAME")
stack=sptls
apps=sptls-apps
http_port=$(free_port)
https_port=$(free_port)
# a control subnet of its own, so that a pair deployed by another test or
# by the user does not overlap
subnet=10.254.$(( 100 + $$ % 150 )).0/24
work=$TEST_WORK

# --- certificates and where they live ---------------------------------------
mkcert() {   # <name> <cn>
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-keyout "$work/$1.key" -out "$work/$1.crt" -subj "/CN=$2" \
		-addext "subjectAltName=DNS:$2" 2>/dev/null
}
fingerprint() { openssl x509 -noout -fingerprint -sha256 -in "$1" | cut -d= -f2; }
served_fingerprint() {   # <sni>
	openssl s_client -connect "127.0.0.1:$https_port" -servername "$1" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2
}
mkcert v1 tls.test
mkcert v2 tls.test
mkcert cfg cfg.test
mkcert decoy tls.test
cat "$work/v1.crt" "$work/v2.crt" >"$work/both.crt"
cat "$work/cfg.crt" "$work/cfg.key" >"$work/cfg.pem"
cat "$work/decoy.crt" "$work/decoy.key" >"$work/decoy.pem"
# The apps are services outside any stack: their secrets must not be named
# STACK_... after a stack that runs (the pair's, sptls), or the agents
# refuse them as that stack's (docs/security.md).
for s in v1 v2; do
	"$DOCKER" secret create "${label[@]}" "sptlsapp_${s}_crt" "$work/$s.crt" >/dev/null
	"$DOCKER" secret create "${label[@]}" "sptlsapp_${s}_key" "$work/$s.key" >/dev/null
done
"$DOCKER" config create "${label[@]}" sptlsapp_cfg_pem "$work/cfg.pem" >/dev/null
# another team's config under the name of the app's secret, made first
"$DOCKER" config create "${label[@]}" sptlsapp_v1_crt "$work/decoy.pem" >/dev/null
log "secrets and config created; control subnet $subnet, HTTP $http_port, HTTPS $https_port"

# --- the pair ------------------------------------------------------------------
# labelled: docker_cleanup_test removes it once the services are gone
"$DOCKER" network create -d overlay --attachable "${label[@]}" "$apps" >/dev/null
on_exit stack_remove "$stack"
SWARM_SPOA_TAG=$tag SWARM_SPOA_NETWORK=$apps SWARM_SPOA_HTTP_PORT=$http_port \
SWARM_SPOA_HTTPS_PORT=$https_port SWARM_SPOA_CONTROL_SUBNET=$subnet \
	pair_deploy "$stack"
pair_label "$stack"

app() {   # <name> <labels...>
	local name=$1
	shift
	"$DOCKER" service create -q --detach "${label[@]}" --name "sptls-$name" --network "$apps" \
		--label com.docker.lb.hosts="$name.test" --label com.docker.lb.port=8080 \
		--label com.docker.lb.network="$apps" "$@" \
		"swarm-spoa/echo:$tag" --name "$name" >/dev/null
}
http_ok() {   # <host>: routed to the service of that name
	curl -fsS --max-time 3 -H "Host: $1.test" "http://127.0.0.1:$http_port/" | grep "name=$1 " >/dev/null
}
agent_updated() {   # the agents' service is not being updated
	local st
	st=$("$DOCKER" service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' \
		"${stack}_agent")
	case "$st" in ""|completed) return 0 ;; esac
	echo "agent service update: $st"
	return 1
}
agent_version() { "$DOCKER" service inspect -f '{{.Version.Index}}' "${stack}_agent"; }
# show_certs [json]: from a running agent (one just started may not have
# its stats socket yet: the next is asked then)
show_certs() {
	local cid out
	for cid in $("$DOCKER" ps -q --filter status=running \
		--filter "label=com.docker.swarm.service.name=${stack}_agent"); do
		out=$("$DOCKER" exec "$cid" sh -c \
			"echo 'show certs ${1:-}' | socat stdio unix:\$SWARM_SPOA_STATS_SOCKET" 2>/dev/null) ||
			continue
		[ -n "$out" ] && { echo "$out"; return 0; }
	done
	return 1
}

app web
wait_until 180 http_ok web
log "pair up, web.test routed over HTTP"

# load_start <name> <load.py args...> / load_stop <name>: bounded load in
# the background, its JSON result in $work/<name>.json
load_start() {
	local name=$1
	shift
	rm -f "$work/$name.stop"
	python3 "$here/load.py" --duration 400 --stop-file "$work/$name.stop" "$@" \
		>"$work/$name.json" 2>"$work/$name.err" &
	eval "load_pid_$name=$!"
	on_exit touch "$work/$name.stop"
}
load_stop() {
	local pid
	touch "$work/$1.stop"
	eval "pid=\$load_pid_$1"
	wait "$pid" || fail "load $1 failed: $(cat "$work/$1.err")"
	LOAD_RESULT=$(python3 - "$work/$1.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("%d requests in %.1fs, %d failed %s, certificates %s" %
      (r["requests"], r["seconds"], r["failures"], r["errors"][:3], r["certs"]))
sys.exit(1 if r["failures"] or r["requests"] < 50 else 0)
PY
	)
}
# cert_state <name>: "<source> <status>" of a certificate in show certs json
cert_state() {
	show_certs json | python3 -c '
import json, sys
for c in json.load(sys.stdin)["certificates"]:
    if c["name"] == sys.argv[1]:
        print(c["source"], c["status"])' "$1"
}
# cert_is <name> <source> <status>, for wait_until: both agents push, and
# one of them may retry a push the other made at the same moment
cert_is() {
	local got
	got=$(cert_state "$1")
	[ "$got" = "$2 $3" ] || { echo "$1: '$got', waiting for '$2 $3'"; return 1; }
}

# --- 1. secrets: mounted into the agents, pushed to HAProxy --------------------
load_start web --port "$http_port" --host web.test --expect "name=web " --concurrency 4
version0=$(agent_version)
t0=$(now_ms)
app tls --label com.docker.lb.ssl_cert=sptlsapp_v1_crt --label com.docker.lb.ssl_key=sptlsapp_v1_key \
	--label com.docker.lb.ssl_only=true --label com.docker.lb.hsts=600
v1=$(fingerprint "$work/v1.crt")
wait_until 300 sh -c "[ \"\$(openssl s_client -connect 127.0.0.1:$https_port -servername tls.test </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2)\" = '$v1' ]"
log "certificate from secrets served $(( $(now_ms) - t0 )) ms after the service was created"
wait_until 300 agent_updated
[ "$(agent_version)" != "$version0" ] || fail "the agents' service was not updated to mount the secrets"
mounted=$("$DOCKER" service inspect -f '{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}{{.SecretName}} {{end}}' "${stack}_agent")
assert_contains "$mounted" "sptlsapp_v1_crt" "secrets mounted into the agents"
assert_contains "$mounted" "sptlsapp_v1_key" "secrets mounted into the agents"
# ... readable by the agent's user only (the agent runs as swarm-spoa, and
# the certificate above was read by it)
for cid in $("$DOCKER" ps -q --filter status=running \
	--filter "label=com.docker.swarm.service.name=${stack}_agent"); do
	own=$("$DOCKER" exec "$cid" sh -c 'stat -c "%u %a" /run/secrets/sptlsapp_v1_key; id -u swarm-spoa' |
		tr '\n' ' ')
	set -- $own
	[ "$#" = 3 ] && [ "$1" = "$3" ] && [ "$2" = 400 ] ||
		fail "the mounted key in agent $cid: owner, mode, agent's uid: '$own'"
done
log "secrets mounted mode 0400, the agent user's"
if ! load_stop web; then
	grep -q '^ *option continue-on-error' "$SWARM_SPOA_SRC/haproxy-conf/spoe-swarm.conf" ||
		log "haproxy-conf/spoe-swarm.conf has no 'option continue-on-error': after an SPOE error (an agent closing its connections as it stops) HAProxy 2.6 skips haproxy.cfg's second send-spoe-group"
	fail "requests failed while the agents restarted to mount the secrets: $LOAD_RESULT"
fi
log "while the agents restarted: $LOAD_RESULT"

body=$(curl -fsS --max-time 5 --cacert "$work/v1.crt" --resolve "tls.test:$https_port:127.0.0.1" \
	-D "$work/headers" "https://tls.test:$https_port/x")
assert_contains "$body" "name=tls " "HTTPS answer"
assert_contains "$body" "xfp=https" "HTTPS answer"
assert_contains "$(tr -d '\r' <"$work/headers")" "strict-transport-security: max-age=600" "HTTPS headers"
redirect=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Host: tls.test' \
	"http://127.0.0.1:$http_port/p?q=1")
[ "$redirect" = "301 https://tls.test/p?q=1" ] || fail "plain HTTP to an ssl_only service: $redirect"
[ "$(served_fingerprint unknown.test)" != "$v1" ] || fail "unknown SNI got the service's certificate"
log "show certs:"$'\n'"$(show_certs)"
wait_until 30 cert_is sptlsapp_v1_crt+sptlsapp_v1_key secret ok

# --- 2. rotation: a new secret pair in the labels -----------------------------
load_start tls --port "$https_port" --host tls.test --tls --cafile "$work/both.crt" \
	--expect "name=tls " --concurrency 4
v2=$(fingerprint "$work/v2.crt")
t0=$(now_ms)
"$DOCKER" service update -q --detach --label-add com.docker.lb.ssl_cert=sptlsapp_v2_crt \
	--label-add com.docker.lb.ssl_key=sptlsapp_v2_key sptls-tls >/dev/null
wait_until 300 sh -c "[ \"\$(openssl s_client -connect 127.0.0.1:$https_port -servername tls.test </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2)\" = '$v2' ]"
log "rotated certificate served $(( $(now_ms) - t0 )) ms after the label change"
wait_until 300 agent_updated
load_stop tls || fail "requests failed during the rotation: $LOAD_RESULT"
log "during the rotation: $LOAD_RESULT"

# --- 3. a Docker config: no restart -------------------------------------------
version1=$(agent_version)
t0=$(now_ms)
app cfg --label com.docker.lb.ssl_cert=config:sptlsapp_cfg_pem
cfgfp=$(fingerprint "$work/cfg.crt")
wait_until 60 sh -c "[ \"\$(openssl s_client -connect 127.0.0.1:$https_port -servername cfg.test </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2)\" = '$cfgfp' ]"
log "certificate from a config served $(( $(now_ms) - t0 )) ms after the service was created"
[ "$(agent_version)" = "$version1" ] || fail "a config must not restart the agents"
wait_until 30 cert_is config:sptlsapp_cfg_pem config ok
# the config's bare name is a secret's, and there is none
app cfgbare --label com.docker.lb.ssl_cert=sptlsapp_cfg_pem
wait_until 30 cert_is sptlsapp_cfg_pem - missing
show_certs json | grep 'a Docker config is named config:sptlsapp_cfg_pem' >/dev/null ||
	fail "the reason of a bare config name does not say how to name a config"

test_pass

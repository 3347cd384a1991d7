#!/bin/bash
# What a new certificate held in Docker secrets costs the traffic, measured
# on a real swarm with docker/stack.yml (HAProxy global with host-mode
# ports, two agents), for the two ways to hand the secret over:
#
#   agent    the agents mount it into their own service (--manage-secrets,
#            what swarm-spoa does): Swarm replaces the agent tasks one by one
#            (start-first), the new ones push the certificate to HAProxy's
#            runtime API
#   haproxy  the secret is added to the HAProxy service (what a proxy that
#            reads certificates from files needs): Swarm replaces the
#            HAProxy task (stop-first: a host port cannot be held twice)
#
# Each round makes a new secret pair, starts a bounded HTTP load on another
# route (4 clients, one request per new connection), makes the change,
# waits until Swarm's update is completed and 3 s more, stops the load, and
# prints requests, failures and the span of the failures.
#
#   bench/tls_secret_disruption.sh [--rounds N] [--mode agent|haproxy|both]
#
# Needs root (dockerd), the images (docker/build-images.sh is run), python3,
# openssl, curl. Everything created is labelled and removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SWARM_SPOA_SRC=$(cd "$here/.." && pwd)
SWARM_SPOA_BUILD=${SWARM_SPOA_BUILD:-$SWARM_SPOA_SRC/build}
. "$SWARM_SPOA_SRC/tests/lib/common.sh"
. "$SWARM_SPOA_SRC/tests/lib/dockerd.sh"

ROUNDS=3
MODE=both
while (($#)); do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--mode) MODE=$2; shift 2 ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
done
((ROUNDS >= 1 && ROUNDS <= 10)) || { echo "rounds: 1-10" >&2; exit 2; }
case $MODE in agent|haproxy|both) ;; *) echo "mode: agent, haproxy or both" >&2; exit 2 ;; esac

test_init tls_secret_disruption
swarm_test_start
images_build

tag=${SWARM_SPOA_TAG:-dev}
label=(--label "$TEST_LABEL_KEY=$TEST_NAME")
stack=sptlsb
apps=sptlsb-apps
http_port=$(free_port)
https_port=$(free_port)
subnet=10.254.$(( 100 + ($$ + 77) % 150 )).0/24
work=$TEST_WORK

# labelled: docker_cleanup_test removes it once the services are gone
"$DOCKER" network create -d overlay --attachable "${label[@]}" "$apps" >/dev/null
on_exit stack_remove "$stack"
SWARM_SPOA_TAG=$tag SWARM_SPOA_NETWORK=$apps SWARM_SPOA_HTTP_PORT=$http_port \
SWARM_SPOA_HTTPS_PORT=$https_port SWARM_SPOA_CONTROL_SUBNET=$subnet \
	pair_deploy "$stack"
pair_label "$stack"
"$DOCKER" service create -q --detach "${label[@]}" --name sptlsb-web --network "$apps" \
	--label com.docker.lb.hosts=web.test --label com.docker.lb.port=8080 \
	--label com.docker.lb.network="$apps" "swarm-spoa/echo:$tag" --name web >/dev/null
"$DOCKER" service create -q --detach "${label[@]}" --name sptlsb-tls --network "$apps" \
	--label com.docker.lb.hosts=tls.test --label com.docker.lb.port=8080 \
	--label com.docker.lb.network="$apps" "swarm-spoa/echo:$tag" --name tls >/dev/null
http_ok() { curl -fsS --max-time 3 -H 'Host: web.test' "http://127.0.0.1:$http_port/" | grep 'name=web ' >/dev/null; }
wait_until 180 http_ok

updated() {   # <service>: no update under way
	local st
	st=$("$DOCKER" service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' "$1")
	case "$st" in ""|completed|rollback_completed) return 0 ;; esac
	return 1
}

# round <mode> <n>: one measured change
round() {
	local mode=$1 n=$2 name=r$2$1 t0 pid
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-keyout "$work/$name.key" -out "$work/$name.crt" -subj /CN=tls.test 2>/dev/null
	"$DOCKER" secret create "${label[@]}" "sptlsb_${name}_crt" "$work/$name.crt" >/dev/null
	"$DOCKER" secret create "${label[@]}" "sptlsb_${name}_key" "$work/$name.key" >/dev/null
	rm -f "$work/$name.stop"
	python3 "$SWARM_SPOA_SRC/tests/tls/load.py" --port "$http_port" --host web.test \
		--expect 'name=web ' --duration 300 --stop-file "$work/$name.stop" \
		>"$work/$name.json" &
	pid=$!
	on_exit touch "$work/$name.stop"
	sleep 3   # load before the change: the baseline
	t0=$(now_ms)
	if [ "$mode" = agent ]; then
		"$DOCKER" service update -q --detach \
			--label-add "com.docker.lb.ssl_cert=sptlsb_${name}_crt" \
			--label-add "com.docker.lb.ssl_key=sptlsb_${name}_key" sptlsb-tls >/dev/null
		# the agents see the label, then update their own service
		wait_for 60 sh -c "\"$DOCKER\" service inspect -f '{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}{{.SecretName}} {{end}}' ${stack}_agent | grep -q sptlsb_${name}_crt" ||
			fail "the agents did not mount the secret"
		wait_until 300 updated "${stack}_agent"
	else
		"$DOCKER" service update -q --detach --secret-add "sptlsb_${name}_crt" \
			--secret-add "sptlsb_${name}_key" "${stack}_haproxy" >/dev/null
		wait_until 300 updated "${stack}_haproxy"
		wait_until 60 http_ok
	fi
	sleep 3   # and after it
	touch "$work/$name.stop"
	wait "$pid"
	python3 - "$work/$name.json" "$mode" "$n" "$(( $(now_ms) - t0 ))" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
span = "%.1f-%.1fs" % (r["first_failure"], r["last_failure"]) if r["failures"] else "-"
print("%-8s round %s: %6d requests, %5d failed (%.3f%%), failures at %s, change took %.1fs; %s" %
      (sys.argv[2], sys.argv[3], r["requests"], r["failures"],
       100.0 * r["failures"] / max(r["requests"], 1), span, int(sys.argv[4]) / 1000.0,
       r["errors"][:2]))
PY
}

for n in $(seq 1 "$ROUNDS"); do
	[ "$MODE" = haproxy ] || round agent "$n"
	[ "$MODE" = agent ] || round haproxy "$n"
done
echo "stack $stack, HAProxy on 127.0.0.1:$http_port, load: 4 clients, one request per connection"

#!/bin/bash
# The images build from the Dockerfiles in docker/ on this machine (base image
# made locally when no registry is reachable) and each one starts:
#   - agent: its commands run as the non-root user (the entry point drops
#     root), its binary answers --version;
#   - haproxy: runs as the haproxy user, haproxy-conf/ plus
#     agents-swarm.cfg pass `haproxy -c`;
#   - echo: answers with its name from the host (loopback-published port) and
#     from another container on a network this test creates, turns healthy,
#     and on SIGTERM keeps serving with "Connection: close" for its grace
#     period, then exits 0 (the graceful-stop contract the rolling-update
#     tests rely on).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"

test_init swarm_images
ensure_cmd curl curl
swarm_test_start

images_build

label=(--label "$TEST_LABEL_KEY=$TEST_NAME")
tag=${SWARM_SPOA_TAG:-dev}

# --- agent ------------------------------------------------------------------
user=$("$DOCKER" run --rm "${label[@]}" "swarm-spoa/agent:$tag" id -un 2>/dev/null) ||
	fail "id -un failed in the agent image"
[ "$user" = swarm-spoa ] || fail "agent image runs commands as '$user', expected swarm-spoa"
version=$("$DOCKER" run --rm "${label[@]}" "swarm-spoa/agent:$tag" --version 2>&1) ||
	fail "swarm-spoa --version failed in the agent image: $version"
assert_contains "$version" "swarm-spoa" "agent --version"
log "agent image: $version"

# --- haproxy ----------------------------------------------------------------
user=$("$DOCKER" image inspect -f '{{.Config.User}}' "swarm-spoa/haproxy:$tag")
[ "$user" = haproxy ] || fail "haproxy image runs as '$user', expected haproxy"
check=$("$DOCKER" run --rm "${label[@]}" "swarm-spoa/haproxy:$tag" \
	haproxy -c -f /etc/haproxy/swarm-spoa/haproxy.cfg \
	-f /etc/haproxy/swarm-spoa/swarm-backends.cfg -f /etc/haproxy/swarm-spoa/agents-swarm.cfg 2>&1) ||
	fail "haproxy -c failed in the haproxy image: $check"
log "haproxy image: configuration valid"

# --- echo -------------------------------------------------------------------
net=ssp-images-$$
echo_name=ssp-images-echo-$$
"$DOCKER" network create "${label[@]}" "$net" >/dev/null
port=$(free_port)
"$DOCKER" run -d "${label[@]}" --name "$echo_name" --network "$net" \
	-p "127.0.0.1:$port:8080" "swarm-spoa/echo:$tag" \
	--name echo-under-test --grace 3 >/dev/null
log "echo container $echo_name published on 127.0.0.1:$port"

wait_until 30 curl -fsS --max-time 2 "http://127.0.0.1:$port/health"
body=$(curl -fsS --max-time 5 -H 'X-Forwarded-Proto: https' "http://127.0.0.1:$port/from/host?q=1")
assert_contains "$body" "name=echo-under-test " "answer from the host"
assert_contains "$body" "path=/from/host?q=1 " "answer from the host"
assert_contains "$body" "xfp=https " "answer from the host"

body=$("$DOCKER" run --rm "${label[@]}" --network "$net" --entrypoint curl \
	"swarm-spoa/echo:$tag" -fsS --max-time 5 "http://$echo_name:8080/from/peer") ||
	fail "no answer from the echo container inside network $net"
assert_contains "$body" "name=echo-under-test host=$echo_name:8080 path=/from/peer" \
	"answer inside the network"
log "echo answers from the host and from the network: $body"

wait_until 30 docker_inspect_is "$echo_name" '{{.State.Health.Status}}' healthy

# Graceful stop: SIGTERM, still served (with Connection: close) during the
# grace period, then a clean exit.
"$DOCKER" kill -s TERM "$echo_name" >/dev/null
headers=$(curl -sS --max-time 2 -D - -o /dev/null "http://127.0.0.1:$port/during/grace" | tr -d '\r') ||
	fail "echo stopped answering right after SIGTERM"
assert_contains "$headers" "HTTP/1.1 200" "answer during the grace period"
assert_contains "$headers" "Connection: close" "answer during the grace period"
wait_until 15 docker_inspect_is "$echo_name" '{{.State.Running}}' false
code=$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$echo_name")
[ "$code" = 0 ] || fail "echo exited with $code after its grace period, expected 0"
log "echo served during its grace period and exited 0"

test_pass

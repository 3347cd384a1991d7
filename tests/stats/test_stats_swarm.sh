#!/bin/bash
# The stats socket and the metrics page of an agent that follows a real
# dockerd in a single-node swarm: "show info" reports the Docker connection
# (state, mode, API version, last sync), "show services" lists labelled
# services with their status, "resync" runs a full sync (counted), a label
# change shows in "show routes", and the metrics page carries the discovery
# series and still parses as the Prometheus text format.
#
# The services are created with 0 replicas: no image is needed, and the
# labels are all discovery reads.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"

test_init stats_swarm
ensure_cmd socat socat
ensure_cmd curl curl
swarm_test_start

bin=${SWARM_SPOA_BIN:?SWARM_SPOA_BIN is not set}
label=(--label "$TEST_LABEL_KEY=$TEST_NAME")
sock=$TEST_WORK/stats.sock
svc=ssp-stats-web-$$
bad=ssp-stats-bad-$$
host=web-$$.stats.test

stats() {
	printf '%s\n' "$1" | socat -t 5 stdio "unix:$sock"
}

# --- services with labels, one of them invalid --------------------------------
"$DOCKER" service create -d "${label[@]}" --name "$svc" --replicas 0 --no-resolve-image \
	--label "com.docker.lb.hosts=$host" --label com.docker.lb.port=8080 \
	busybox:latest sleep 1 >/dev/null
"$DOCKER" service create -d "${label[@]}" --name "$bad" --replicas 0 --no-resolve-image \
	--label "com.docker.lb.hosts=bad host" --label com.docker.lb.port=8080 \
	busybox:latest sleep 1 >/dev/null
log "services $svc and $bad created"

# --- the agent ------------------------------------------------------------------
port=$(free_port)
mport=$(free_port)
"$bin" --listen "127.0.0.1:$port" --threads 1 --docker unix:///var/run/docker.sock \
	--stats-socket "$sock" --metrics-listen "127.0.0.1:$mport" --log-level debug \
	>"$TEST_WORK/agent.log" 2>&1 &
agent=$!
on_exit kill -TERM "$agent"
log "agent $agent, stats socket $sock, metrics on 127.0.0.1:$mport"

synced() {
	kill -0 "$agent" 2>/dev/null || { tail -20 "$TEST_WORK/agent.log" >&2; fail "agent exited"; }
	stats "show info json" | grep '"docker_state":"synced"' >/dev/null
}
wait_until 30 synced

info=$(stats "show info")
assert_contains "$info" "docker_mode: swarm" "show info"
assert_contains "$info" "docker_endpoint: unix:///var/run/docker.sock" "show info"
echo "$info" | grep -Eq '^docker_api_version: 1\.[0-9]+$' || fail "no API version in: $info"
echo "$info" | grep -Eq '^last_sync: 20[0-9-]+T' || fail "no last sync time in: $info"

listed() {
	stats "show services" | grep -Eq "^$1 .* $2 "
}
wait_until 15 listed "$svc" routed
wait_until 15 listed "$bad" skipped
reason=$(stats "show services json" | python3 -c '
import json, sys
svcs = {s["name"]: s for s in json.load(sys.stdin)["services"]}
print(svcs[sys.argv[1]]["source"], svcs[sys.argv[1]]["reason"])' "$bad")
assert_contains "$reason" "swarm " "source of $bad"
assert_contains "$reason" "com.docker.lb.hosts" "reason $bad is skipped"
assert_contains "$(stats "show tasks $svc")" "ID" "show tasks of a swarm service"
log "show services: $svc routed, $bad skipped ($reason)"

# --- resync ---------------------------------------------------------------------
syncs() {
	stats "show info json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["docker_syncs"])'
}
before=$(syncs)
answer=$(stats resync)
assert_contains "$answer" "full resync with the Docker daemon started" "resync"
more_syncs() {
	[ "$(syncs)" -gt "$before" ] && synced
}
wait_until 30 more_syncs
log "resync: docker_syncs went from $before to $(syncs)"

# --- a label change reaches the table ------------------------------------------
"$DOCKER" service update -d --label-add "com.docker.lb.hosts=$host,new-$host" "$svc" >/dev/null
routed() {
	stats "show routes" | grep "^new-$host " >/dev/null
}
wait_until 15 routed
log "label change visible in show routes"

# --- metrics --------------------------------------------------------------------
page=$(curl -fsS --max-time 5 "http://127.0.0.1:$mport/metrics")
assert_contains "$page" 'swarm_spoa_discovery_enabled 1' "metrics"
assert_contains "$page" 'swarm_spoa_discovery_state{state="synced"} 1' "metrics"
assert_contains "$page" 'swarm_spoa_discovery_state{state="degraded"} 0' "metrics"
assert_contains "$page" 'swarm_spoa_docker_syncs_total ' "metrics"
assert_contains "$page" 'swarm_spoa_docker_last_sync_timestamp_seconds ' "metrics"
assert_contains "$page" 'swarm_spoa_convergence_lag_p99_seconds ' "metrics"
printf '%s\n' "$page" | python3 -c '
import sys
sys.path.insert(0, sys.argv[1])
from test_stats_socket import parse_exposition, sample
fams = parse_exposition(sys.stdin.read())
assert sample(fams, "swarm_spoa_table_services", status="skipped") >= 1, "skipped service not counted"
' "$here" || fail "the metrics page with discovery is not valid Prometheus text"
log "metrics page with the discovery series parses"

kill -0 "$agent" || fail "agent died"
test_pass

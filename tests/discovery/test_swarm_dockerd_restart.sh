#!/bin/bash
# dockerd restarted while the agent runs: during the outage the agent keeps
# its last table (the service stays routed with its tasks, the SPOP port and
# the stats socket answer) and says "degraded"; once the daemon is back it
# resyncs by itself and follows the tasks swarm restarted.
#
# Restarting dockerd disturbs everyone using it, so the test only restarts
# a dockerd it started itself (what CI does: nothing runs before the suite)
# unless SWARM_SPOA_TEST_RESTART_DOCKERD=1 allows it to take over a running
# one; otherwise it is skipped (exit 77) and says why.
#
# Guards: issue 4 ("never an empty table because of an error", resync).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"

test_init swarm_dockerd_restart
SWARM_SPOA_BIN=${SWARM_SPOA_BIN:-$SWARM_SPOA_BUILD/swarm-spoa}
[ -x "$SWARM_SPOA_BIN" ] || fail "agent binary $SWARM_SPOA_BIN missing: build first"
command -v python3 >/dev/null || skip "python3 missing"
dockerd_ensure
took_over=0
if [ -z "$DOCKERD_STARTED_PID" ]; then
	[ "${SWARM_SPOA_TEST_RESTART_DOCKERD:-0}" = 1 ] ||
		skip "dockerd (pid $(pgrep -x dockerd | head -1)) was not started by this test: restarting it" \
		     "would disturb its users; set SWARM_SPOA_TEST_RESTART_DOCKERD=1 to allow it"
	took_over=1
fi
swarm_ensure
docker_cleanup_test
on_exit docker_cleanup_test
tag=${SWARM_SPOA_TAG:-dev}
"$DOCKER" image inspect "swarm-spoa/echo:$tag" >/dev/null 2>&1 || images_build echo

label=(--label "$TEST_LABEL_KEY=$TEST_NAME")
net=ssp-restart-net
web=ssp-restart-web
"$DOCKER" network create -d overlay --attachable "${label[@]}" "$net" >/dev/null

port=$(free_port)
S=$TEST_WORK/agent.sock
"$SWARM_SPOA_BIN" --listen "127.0.0.1:$port" --threads 1 --log-level debug \
	--docker unix:///var/run/docker.sock --docker-mode swarm --stats-socket "$S" \
	>"$TEST_WORK/agent.log" 2>&1 </dev/null &
agent=$!
on_exit kill -TERM "$agent"
wait_until 10 test -S "$S"

check() {
	python3 "$here/swarm_check.py" "$@" 2>&1 | sed 's/^/    /' >&2
	return "${PIPESTATUS[0]}"
}
spop_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

check converge --stats "$S" --service "$web" --replicas 2 -- \
	"$DOCKER" service create -d --name "$web" "${label[@]}" --network "$net" \
	--label com.docker.lb.hosts=restart.test --label com.docker.lb.port=8080 \
	--health-interval 1s --health-start-period 1s --replicas 2 "swarm-spoa/echo:$tag" --name web ||
	fail "service not followed"

# Stop the daemon: ours, or the running one when allowed to take it over.
pid=${DOCKERD_STARTED_PID:-$(pgrep -x dockerd | head -1)}
[ -n "$pid" ] || fail "no dockerd process to restart"
log "stopping dockerd $pid"
kill -TERM "$pid"
wait_until 60 _dockerd_gone "$pid"
DOCKERD_STARTED_PID=

log "daemon away: the agent keeps its table and says it is degraded"
check info --stats "$S" --key docker_state --value degraded --timeout 20 || fail "not degraded"
check status --stats "$S" --service "$web" --status routed --ready 2 --timeout 2 ||
	fail "the table lost the service while the daemon was away"
spop_open || fail "the SPOP listener stopped answering"
grep -q "keeping the last good model" "$TEST_WORK/agent.log" || fail "no degraded log line"
! grep -q 'msg="service removed"' "$TEST_WORK/agent.log" || fail "a service was removed during the outage"
kill -0 "$agent" || fail "the agent died"

log "daemon back"
dockerd_ensure
# a daemon that was running before the test keeps running after it
[ "$took_over" = 0 ] || DOCKERD_STARTED_PID=
swarm_ensure
check info --stats "$S" --key docker_state --value synced --timeout 90 || fail "no resync"
# swarm restarts the tasks: the agent follows them to the new ones
check converge --stats "$S" --service "$web" --replicas 2 --timeout 120 || fail "tasks not followed after the restart"
grep -q 'msg="Docker back, full sync done"' "$TEST_WORK/agent.log" || fail "no resync log line"
spop_open || fail "the SPOP listener stopped answering"
test_pass

#!/bin/bash
# Discovery against a real dockerd in a single-node swarm: the agent follows
# services with com.docker.lb labels through create, scale up, scale down,
# a forced rolling update, a label change and removal, each within 1 s
# (task readiness measured against the task's own running timestamp); a
# service with bad labels is reported as skipped while the others route;
# plain containers with labels are discovered by an agent in containers
# mode on the same daemon.
#
# Guards: issue 4 (convergence bound, last good table, bad labels isolated).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"

test_init swarm_discovery
SWARM_SPOA_BIN=${SWARM_SPOA_BIN:-$SWARM_SPOA_BUILD/swarm-spoa}
[ -x "$SWARM_SPOA_BIN" ] || fail "agent binary $SWARM_SPOA_BIN missing: build first"
command -v python3 >/dev/null || skip "python3 missing"
dockerd_ensure
swarm_ensure
docker_cleanup_test
on_exit docker_cleanup_test
tag=${SWARM_SPOA_TAG:-dev}
"$DOCKER" image inspect "swarm-spoa/echo:$tag" >/dev/null 2>&1 || images_build echo

label=(--label "$TEST_LABEL_KEY=$TEST_NAME")
net=ssp-disc-net
web=ssp-disc-web
bad=ssp-disc-bad
plain=ssp-disc-plain
"$DOCKER" network create -d overlay --attachable "${label[@]}" "$net" >/dev/null

# start_agent <name> <extra args...>: the real agent, debug log in TEST_WORK
start_agent() {
	local name=$1 port pid
	shift
	port=$(free_port)
	"$SWARM_SPOA_BIN" --listen "127.0.0.1:$port" --threads 1 --log-level debug \
		--docker unix:///var/run/docker.sock --stats-socket "$TEST_WORK/$name.sock" "$@" \
		>"$TEST_WORK/$name.log" 2>&1 </dev/null &
	pid=$!
	on_exit kill -TERM "$pid"
	wait_until 10 test -S "$TEST_WORK/$name.sock"
	wait_until 30 python3 "$here/swarm_check.py" info --stats "$TEST_WORK/$name.sock" \
		--key docker_state --value synced --timeout 1
	log "agent $name (pid $pid) synced, log $TEST_WORK/$name.log"
}

check() {
	python3 "$here/swarm_check.py" "$1" --json "$TEST_WORK/lags.jsonl" --docker-api /var/run/docker.sock "${@:2}" 2>&1 | sed 's/^/    /' >&2
	return "${PIPESTATUS[0]}"
}
check_status() {
	python3 "$here/swarm_check.py" status "$@" 2>&1 | sed 's/^/    /' >&2
	return "${PIPESTATUS[0]}"
}

start_agent swarm --docker-mode swarm
S=$TEST_WORK/swarm.sock

svc_args=("${label[@]}" --network "$net" --label com.docker.lb.port=8080
	  --health-interval 1s --health-start-period 1s --stop-grace-period 2s)

log "create: 2 replicas"
check converge --stats "$S" --service "$web" --replicas 2 -- \
	"$DOCKER" service create -d --name "$web" "${svc_args[@]}" \
	--label com.docker.lb.hosts=web.disc.test --replicas 2 "swarm-spoa/echo:$tag" --name web ||
	fail "create not followed"
check_status --stats "$S" --service "$web" --status routed --hosts web.disc.test --ready 2 ||
	fail "$web not routed"

log "scale up to 4"
check converge --stats "$S" --service "$web" --replicas 4 -- "$DOCKER" service scale -d "$web=4" ||
	fail "scale up not followed"

log "scale down to 1"
check converge --stats "$S" --service "$web" --replicas 1 -- "$DOCKER" service scale -d "$web=1" ||
	fail "scale down not followed"

log "scale to 3, then a forced rolling update"
check converge --stats "$S" --service "$web" --replicas 3 -- "$DOCKER" service scale -d "$web=3" ||
	fail "scale to 3 not followed"
check converge --stats "$S" --service "$web" --replicas 3 -- \
	"$DOCKER" service update -d --force --update-parallelism 1 --update-delay 0s "$web" ||
	fail "rolling update not followed"

log "label change: new host name"
check_status --stats "$S" --service "$web" --status routed --hosts web2.disc.test --within-ms 1000 -- \
	"$DOCKER" service update -d --label-add com.docker.lb.hosts=web2.disc.test "$web" ||
	fail "label change not followed within 1 s"

log "a service with bad labels is reported, the others keep routing"
check_status --stats "$S" --service "$bad" --status skipped --reason com.docker.lb.port -- \
	"$DOCKER" service create -d --name "$bad" "${svc_args[@]}" \
	--label com.docker.lb.hosts=bad.disc.test --label com.docker.lb.port=notaport \
	"swarm-spoa/echo:$tag" --name bad ||
	fail "bad labels not reported"
check_status --stats "$S" --service "$web" --status routed --hosts web2.disc.test --ready 3 ||
	fail "$web disturbed by $bad"
grep -q "msg=\"service skipped\" service=$bad" "$TEST_WORK/swarm.log" ||
	fail "no 'service skipped' log line for $bad"

log "remove"
check_status --stats "$S" --service "$bad" --status absent --within-ms 1000 -- "$DOCKER" service rm "$bad" ||
	fail "removal of $bad not followed within 1 s"
check_status --stats "$S" --service "$web" --status absent --within-ms 1000 -- "$DOCKER" service rm "$web" ||
	fail "removal of $web not followed within 1 s"

log "plain containers: an agent in containers mode on the same daemon"
# A network of its own: the services just removed were the last users of
# $net on this node, and Docker tears its local copy down in the
# background; a container attached to it meanwhile fails with "network
# ... not found".
plain_net=ssp-disc-plain-net
"$DOCKER" network create -d overlay --attachable "${label[@]}" "$plain_net" >/dev/null
start_agent containers --docker-mode containers
C=$TEST_WORK/containers.sock
check_status --stats "$C" --service "$plain" --status routed --source docker --hosts plain.disc.test \
	--within-ms 1000 -- \
	"$DOCKER" run -d --name "$plain" "${label[@]}" --network "$plain_net" \
	--label com.docker.lb.hosts=plain.disc.test --label com.docker.lb.port=8080 \
	--health-interval 1s --health-start-period 1s "swarm-spoa/echo:$tag" --name plain ||
	fail "plain container not discovered"
check_status --stats "$C" --service "$plain" --status routed --ready 1 --timeout 30 ||
	fail "plain container never ready"
# swarm mode does not list plain containers
check_status --stats "$S" --service "$plain" --status absent --timeout 2 ||
	fail "the swarm agent lists a plain container"
check_status --stats "$C" --service "$plain" --status absent --within-ms 1000 -- "$DOCKER" rm -f "$plain" ||
	fail "removed container still listed"

# No errors beyond what the test provoked, and the log says what changed.
for what in "service added" "task ready" "task removed" "service removed"; do
	grep -q "msg=\"$what\"" "$TEST_WORK/swarm.log" || fail "no '$what' in the agent log"
done
if grep -E 'level=(error|warn) subsys=discovery' "$TEST_WORK/swarm.log"; then
	fail "discovery warnings or errors in a run where the daemon behaved"
fi
log "lags (ms): $(python3 -c '
import json, sys
r = [v for l in open(sys.argv[1]) for v in json.loads(l)["ready_lags_ms"].values()]
g = [v for l in open(sys.argv[1]) for v in json.loads(l)["gone_lags_ms"].values()]
print("ready max %s over %d tasks, gone max %s over %d tasks" % (max(r, default=0), len(r), max(g, default=0), len(g)))
' "$TEST_WORK/lags.jsonl")"
test_pass

#!/bin/bash
# Two apps on networks of their own behind the pair of docker/stack.yml
# with --manage-networks, and what attaching and detaching a
# network costs the traffic of the app that stays:
#   1. attach: app B is deployed while app A takes 100 requests/s. Swarm
#      cannot add a network to a running task, so HAProxy's task is
#      replaced, once (one service update for B's two services);
#   2. detach: app A is removed (`docker stack rm`) while app B takes 100
#      requests/s; HAProxy's task is replaced once more, A's network is
#      gone within 15 s, B keeps routing;
#   3. folding: two more apps deployed at once, then removed at once: one
#      update each time, both networks gone within 15 s.
# Under load, every request that fails must fail at the connection (HAProxy
# restarting: refused or reset, or no answer within 3 s: between the old
# task's exit and the new one's start, the host port may lead to an address
# nothing answers), within one window of at most 20 s; never a wrong
# answer, a 404 or a 503. The measured windows are logged and kept in
# the work directory (disruption.json): they are what docs/operations.md
# quotes. Everything created is removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"
. "$here/netmgr_lib.sh"

test_init swarm_netmgr_two_apps
ensure_cmd curl curl
ensure_cmd python3 python3
swarm_test_start
images_build
nm_init ssp5t

a=ssp5ta
b=ssp5tb
window_bound_s=20
removal_bound_s=15
echo "{}" >"$TEST_WORK/disruption.json"

# updates: proxy service updates made by the agents so far
updates() {
	local cid total=0 n
	for cid in $("$DOCKER" ps -q --filter "label=com.docker.swarm.service.name=${NM_PAIR}_agent"); do
		n=$(nm_stats "show networks json" "$cid" | python3 -c 'import json, sys; print(json.load(sys.stdin)["updates"])')
		total=$(( total + n ))
	done
	echo "$total"
}

# one_update <before> <after> <what>: the agents made one proxy update for
# <what>; else their logs are kept in the work directory and the test fails.
one_update() {
	[ $(( $2 - $1 )) = 1 ] && return 0
	"$DOCKER" service logs --raw --timestamps "${NM_PAIR}_agent" >"$TEST_WORK/agents.log" 2>&1 || true
	fail "$3 took $(( $2 - $1 )) proxy updates, expected 1 (agents' logs: $TEST_WORK/agents.log)"
}

# check_disruption <phase> <load json>: failures at the connection only, in
# one window of at most $window_bound_s s; records the figures.
check_disruption() {
	local phase=$1 r=$2
	python3 - "$phase" "$r" "$window_bound_s" "$TEST_WORK/disruption.json" <<'PY' || fail "$phase: $r"
import json, sys
phase, r, bound, path = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
ok_kinds = {"ConnectionRefusedError", "ConnectionResetError", "RemoteDisconnected",
            "TimeoutError", "timeout"}
bad = {k: v for k, v in r["kinds"].items() if k not in ok_kinds}
window = (r["last_failure"] - r["first_failure"]) if r["failures"] else 0.0
fig = {"requests": r["requests"], "failures": r["failures"], "window_s": round(window, 3),
       "longest_failure_run": r["longest_failure_run"], "kinds": r["kinds"]}
d = json.load(open(path))
d[phase] = fig
json.dump(d, open(path, "w"), indent=1)
print("%s: %d requests, %d failed over %.2f s (longest run %d), kinds %s"
      % (phase, r["requests"], r["failures"], window, r["longest_failure_run"], r["kinds"]))
if r["requests"] < 500:
    sys.exit("too few requests")
if bad:
    sys.exit("failures other than HAProxy restarting: %s %s" % (bad, r["errors"]))
if window > bound:
    sys.exit("failures spread over %.1f s" % window)
PY
}

nm_pair_deploy
nm_app_deploy "$a" a.ssp5t.test || fail "deploy of $a failed: $(cat "$TEST_WORK/deploy-$a.log")"
wait_until 180 nm_routed "$a" a.ssp5t.test
wait_until 120 nm_proxy_settled
log "$a routed, HAProxy settled"

# --- 1. attach, A under load ----------------------------------------------------
u0=$(updates)
nm_load_start attach --host a.ssp5t.test --expect "name=${a}_web." --rate 100 --duration 600
t0=$(now_ms)
nm_app_deploy "$b" b.ssp5t.test || fail "deploy of $b failed: $(cat "$TEST_WORK/deploy-$b.log")"
wait_until 180 nm_routed "$b" b.ssp5t.test
log "$b routed $(( $(now_ms) - t0 )) ms after its deploy"
wait_until 120 nm_proxy_settled
nm_load_stop attach
msg=$(check_disruption attach "$NM_LOAD")
log "$msg"
u1=$(updates)
one_update "$u0" "$u1" "attaching ${b}_net"
nm_routed "$a" a.ssp5t.test || fail "$a no longer routed after the attach"

# --- 2. detach, B under load ------------------------------------------------------
nm_load_start detach --host b.ssp5t.test --expect "name=${b}_web." --rate 100 --duration 600
t0=$(now_ms)
"$DOCKER" stack rm "$a" >"$TEST_WORK/rm-$a.log" 2>&1 || true
wait_for "$removal_bound_s" stack_networks_gone "$a" ||
	fail "${WAIT_LAST_OUTPUT} ${removal_bound_s} s after docker stack rm"
log "network of $a removed $(( $(now_ms) - t0 )) ms after docker stack rm"
wait_until 120 nm_proxy_settled
nm_load_stop detach
msg=$(check_disruption detach "$NM_LOAD")
log "$msg"
u2=$(updates)
one_update "$u1" "$u2" "detaching ${a}_net"
nm_routed "$b" b.ssp5t.test || fail "$b no longer routed after the detach"
proxy_nets=$(service_network_names "${NM_PAIR}_haproxy")
case "$proxy_nets" in *"${a}_net"*) fail "HAProxy still on ${a}_net: $proxy_nets" ;; esac
assert_contains "$proxy_nets" "${b}_net " "HAProxy's networks"

# --- 3. folding: two apps at once, in and out ---------------------------------------
nm_load_start fold_in --host b.ssp5t.test --expect "name=${b}_web." --rate 100 --duration 600
t0=$(now_ms)
nm_app_deploy ssp5tc c.ssp5t.test & pid_c=$!
nm_app_deploy ssp5td d.ssp5t.test || fail "deploy of ssp5td failed"
wait "$pid_c" || fail "deploy of ssp5tc failed"
wait_until 180 nm_routed ssp5tc c.ssp5t.test
wait_until 60 nm_routed ssp5td d.ssp5t.test
log "two apps deployed at once, both routed $(( $(now_ms) - t0 )) ms later"
wait_until 120 nm_proxy_settled
nm_load_stop fold_in
msg=$(check_disruption fold_in "$NM_LOAD")
log "$msg"
u3=$(updates)
one_update "$u2" "$u3" "two apps deployed at once"

nm_load_start fold_out --host b.ssp5t.test --expect "name=${b}_web." --rate 100 --duration 600
t0=$(now_ms)
"$DOCKER" stack rm ssp5tc ssp5td >"$TEST_WORK/rm-cd.log" 2>&1 || true
wait_for "$removal_bound_s" stack_networks_gone ssp5tc ssp5td ||
	fail "${WAIT_LAST_OUTPUT} ${removal_bound_s} s after docker stack rm"
log "networks of two apps removed at once $(( $(now_ms) - t0 )) ms after docker stack rm"
wait_until 120 nm_proxy_settled
nm_load_stop fold_out
msg=$(check_disruption fold_out "$NM_LOAD")
log "$msg"
u4=$(updates)
one_update "$u3" "$u4" "two apps removed at once"
nm_routed "$b" b.ssp5t.test || fail "$b no longer routed after the folding"

log "disruption figures: $(tr -d ' \n' <"$TEST_WORK/disruption.json")"
test_pass

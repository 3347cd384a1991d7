#!/bin/bash
# Passive health across nodes (com.docker.lb.max_fails=2, fail_timeout=3s):
# one task of a routed service stops accepting connections from the network
# on a live node (mn_task_hang: its health check passes, Swarm keeps it
# running), while the HAProxy of a node that runs no agent carries 40
# requests/s. The task runs on a node with an agent; its failures reach
# every agent only through the other node's HAProxy (its ring of failed
# requests).
#
# 1. The task hangs for 12 s:
#    - every agent excludes it, for "2 failures in 3000ms"; not its node:
#      the other task there keeps answering, no agent has a suspect node;
#    - requests fail in bursts: those in flight to the task until the
#      agents learnt of its failures (a connect timeout takes 1 s: two
#      attempts of 500 ms). A burst lasts at most 2.5 s and the next one
#      starts fail_timeout later at the earliest: the task is tried again
#      after fail_timeout and excluded again, two bursts at least.
# 2. It accepts again, and answers requests again within fail_timeout +
#    1.5 s.
# 3. It flaps, 3 times 4 s hung then 6 s well: in every hung phase it is
#    chosen again (a burst of failures), then excluded again (bursts as
#    above: it is not kept in); it answers again in every well phase within
#    fail_timeout + 1.5 s (it is not left out for good).
# Throughout, only requests sent to that task while it hung fail, and every
# agent counted an exclusion for each burst of max_fails failures or more.
#
# Guards: passive health learnt through any HAProxy by every agent, with
# Interlock's meaning of max_fails and fail_timeout (issue "nodes that die").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"
. "$here/../lib/multinode.sh"

test_init multinode_passive_health
mn_require
on_exit mn_test_cleanup

svc=mn-health-web
host=health.mn.test
rate=${MN_HEALTH_RATE:-40}
max_fails=2
fail_timeout=3
hang_s=12
flaps=3
flap_hung=4
flap_well=6
burst_max=2.5
back_bound=$(python3 -c "print($fail_timeout + 1.5)")

via=$(mn_via)
mn_service "$svc" "$host" 6 --label "com.docker.lb.max_fails=$max_fails" \
	--label "com.docker.lb.fail_timeout=${fail_timeout}s"
wait_until 90 mn_converged "$via" "$svc" 6 3
agents=$(mn_agent_nodes "$via" | tr '\n' ' ')
loader=
for (( n = 1; n <= MN_NODES; n++ )); do
	case " $agents " in *" $n "*) ;; *) loader=$n; break ;; esac
done
[ -n "$loader" ] || fail "every node runs an agent (agents on: $agents)"
hung= sibling= hung_node=
for a in $agents; do
	mapfile -t on_a < <(mn_tasks "$via" "$svc" | awk -v h="$(mn_name "$a")" '$2 == h && $3 == "Running" {print $1}')
	if [ ${#on_a[@]} -ge 2 ]; then
		hung=${on_a[0]} sibling=${on_a[1]} hung_node=$a
		break
	fi
done
[ -n "$hung" ] || fail "no node with an agent runs two tasks of $svc: $(mn_tasks "$via" "$svc")"
mapfile -t names < <(mn_running_names "$via" "$svc")
wait_until 30 mn_tables_are "$via" "$svc" "${names[@]}"
wait_until 30 mn_routes_all "$loader" "$host" "${names[@]}"
pid=$(mn_task_pid "$hung_node" "$hung")
health_check() { python3 "$SWARM_SPOA_SRC/tests/multinode/mn_check.py" info --key "$1"; }
exclusions0=$(mn_agent_cmd "$via" "show health json" | health_check exclusions)
log "task $hung on node $hung_node (agent; also $sibling there) will hang; load through node $loader (no agent)"

# sleep_until <epoch s>: scenario timing, not readiness.
sleep_until() {
	sleep "$(python3 -c 'import sys, time; print(max(0.0, float(sys.argv[1]) - time.time()))' "$1")"
}
hung_from=() hung_to=()
hang() {
	mn_task_hang "$pid" on
	hung_from+=("$(date +%s.%N)")
}
unhang() {
	hung_to+=("$(date +%s.%N)")
	mn_task_hang "$pid" off
}

duration=$(( 3 + hang_s + fail_timeout + 3 + flaps * (flap_hung + flap_well) + 30 ))
mn_load_start "$loader" load "$host" "$rate" "$duration"
wait_until 30 mn_load_started load
# Scenario timing, not readiness: 3 s of load with every task well.
sleep 3
hang
wait_until 15 mn_agents_exclude "$via" "$svc" "$hung"
excluded=$WAIT_LAST_OUTPUT
log "excluded $(python3 -c 'import sys, time; print(round(time.time() - float(sys.argv[1]), 2))' "${hung_from[0]}") s after the hang began (or sooner):"
log "$excluded"
grep -c "$max_fails failures in ${fail_timeout}000ms" <<<"$excluded" | grep -qx "$(grep -c ': excluded' <<<"$excluded")" ||
	fail "an agent excluded $hung for another reason than $max_fails failures in ${fail_timeout}s: $excluded"
suspect=$(mn_agents_info "$via" HealthSuspectNodes)
log "suspect nodes per agent: $(tr '\n' ';' <<<"$suspect")"
! awk '$2 != 0 {bad = 1} END {exit !bad}' <<<"$suspect" ||
	fail "one task hung and its node became suspect: $suspect"
sleep_until "$(python3 -c "print(${hung_from[0]} + $hang_s)")"
unhang
# Scenario timing: back in, then well for 3 s more.
sleep $(( fail_timeout + 3 ))
for (( i = 0; i < flaps; i++ )); do
	hang
	sleep "$flap_hung"
	unhang
	sleep "$flap_well"
done
mn_load_end
exclusions1=$(mn_agent_cmd "$via" "show health json" | health_check exclusions)
wait_until 30 mn_tables_are "$via" "$svc" "${names[@]}"

PYTHONPATH=$SWARM_SPOA_SRC/tests/multinode python3 - "$max_fails" "$TEST_WORK/load-load.jsonl" "$hung" "$sibling" "$burst_max" "$fail_timeout" "$back_bound" \
	"${hung_from[*]}" "${hung_to[*]}" "$exclusions0" "$exclusions1" <<'EOF' || fail "passive health: see above"
import sys
import mn_load

max_fails = int(sys.argv.pop(1))
path, hung, sibling = sys.argv[1:4]
burst_max, fail_timeout, back_bound = map(float, sys.argv[4:7])
froms = [float(x) for x in sys.argv[7].split()]
tos = [float(x) for x in sys.argv[8].split()]
ex0 = dict(l.split() for l in sys.argv[9].splitlines())
ex1 = dict(l.split() for l in sys.argv[10].splitlines())
recs = list(mn_load.read_records([path]))
end = max(r["t"] for r in recs)
bursts = mn_load.bursts(recs, 1.0)
bad = []
# An attempt that can fail starts while the rule is in place; the rule is
# in place a moment before hung_from is taken and gone when hung_to is.
phases = list(zip(froms, tos))
def phase_of(t):
    for i, (f, u) in enumerate(phases):
        if f - 0.5 <= t <= u:
            return i
    return None
for r in recs:
    # A failed connection to a task: HAProxy's 503 (502 for one reset
    # when it hung), or on a client connection that already carried
    # requests, a close without an answer (for the client to retry).
    if r["kind"] != "ok" and (phase_of(r["t"]) is None or not (r["kind"] == "conn" or r["kind"].startswith("proxy_"))):
        bad.append("failure %s at %.2f s outside a hung phase, or not the task's" % (r["kind"], r["t"] - froms[0]))
per_phase = [[] for _ in phases]
for b in bursts:
    i = phase_of(b["first"])
    if i is not None:
        per_phase[i].append(b)
    if b["last"] - b["first"] > burst_max:
        bad.append("a burst of failures lasted %.2f s (at most %.1f): the task was kept in" % (b["last"] - b["first"], burst_max))
for a, b in zip(bursts, bursts[1:]):
    if b["first"] - a["first"] < fail_timeout:
        bad.append("bursts %.2f s apart, less than fail_timeout" % (b["first"] - a["first"]))
for i, (f, u) in enumerate(phases):
    print("hung phase %d (%.1f s): %s" % (i, u - f, ", ".join(
        "%d failed from +%.2f s over %.2f s" % (b["failed"], b["first"] - f, b["last"] - b["first"]) for b in per_phase[i]) or "no failure"))
    want = 2 if i == 0 else 1
    if len(per_phase[i]) < want:
        bad.append("hung phase %d (%.0f s): %d bursts of failures, expected %d at least" % (i, u - f, len(per_phase[i]), want))
    if not any(r["name"] == sibling and f <= r["t"] <= u for r in recs):
        bad.append("hung phase %d: %s, on the same node, answered nothing" % (i, sibling))
    nxt = froms[i + 1] if i + 1 < len(froms) else end
    # Its last failures end at most 1 s after u, and the exclusion they
    # cause fail_timeout later: from u + back_bound on, it is chosen again.
    back = sum(1 for r in recs if r["name"] == hung and u + back_bound <= r["t"] < nxt)
    print("  then %s answered %d requests in the %.1f s from %.1f s after" % (hung, back, nxt - u - back_bound, back_bound))
    if not back:
        bad.append("after hung phase %d, %s was not chosen again within %.1f s" % (i, hung, back_bound))
s = mn_load.summarize(recs)
print("requests %d, failed %d %s; %d bursts" % (s["requests"], s["failed"], s["kinds"], len(bursts)))
for node, v in ex1.items():
    got = int(v) - int(ex0.get(node, 0))
    print("agent on %s: %d exclusions" % (node, got))
    want = sum(1 for b in bursts if b["failed"] >= max_fails)
    if got < want:
        bad.append("the agent on %s counted %d exclusions for %d bursts of %d failures or more" % (node, got, want, max_fails))
if len(ex1) < 2:
    bad.append("%d agents answered" % len(ex1))
for m in bad:
    print("FAIL: " + m)
sys.exit(1 if bad else 0)
EOF
test_pass

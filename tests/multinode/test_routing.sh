#!/bin/bash
# Routing across nodes: a service with two tasks on each of the 3 nodes is
# routed from every node's HAProxy to every one of its tasks (the echo
# backend answers with its task name), and both agents list the 6 tasks as
# ready, whichever manager they run on.
#
# Guards: HAProxy global on every node, agents on the managers, task
# addresses reached over the overlay network across nodes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"
. "$here/../lib/multinode.sh"

test_init multinode_routing
mn_require
on_exit mn_test_cleanup

svc=mn-route-web
host=route.mn.test
via=$(mn_via)
t0=$(now_ms)
mn_service "$svc" "$host" 6 --replicas-max-per-node 2
wait_until 90 mn_converged "$via" "$svc" 6 3
mapfile -t names < <(mn_running_names "$via" "$svc")
log "6 tasks running in $(( $(now_ms) - t0 )) ms: $(mn_tasks "$via" "$svc" | awk '{print $1 "@" $2}' | tr '\n' ' ')"

wait_until 30 mn_tables_are "$via" "$svc" "${names[@]}"
log "both agents list the 6 tasks as ready: $(mn_tables_are "$via" "$svc" "${names[@]}" | tr '\n' ';')"

for (( n = 1; n <= MN_NODES; n++ )); do
	wait_until 30 mn_routes_all "$n" "$host" "${names[@]}"
	log "node $n's HAProxy reaches all 6 tasks: $(mn_routes_all "$n" "$host" "${names[@]}" | awk 'NR > 1 {printf "%s x%s ", $2, $1}')"
done

# A host nobody routes: the agents' 404, from every node.
for (( n = 1; n <= MN_NODES; n++ )); do
	code=$(mn_http_code "$n" nobody.mn.test)
	[ "$code" = 404 ] || fail "node $n answers $code for an unrouted host, expected 404"
done
test_pass

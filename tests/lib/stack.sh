# Stacks for the swarm and multinode tests and the benchmarks that deploy
# to a swarm. dockerd.sh sources it; on their own, source after common.sh:
#
#   SWARM_SPOA_HTTP_PORT=$port pair_deploy web   # docker/stack.yml as stack "web"
#   stack_deploy app "$here/app.yml"             # any compose file
#   wait_until 180 pair_answers "$port"          # HAProxy there, an agent behind it
#   stack_remove web app                         # and wait until they are gone
#
# Every docker command goes through stack_docker: the host's dockerd, or the
# client STACK_DOCKER names (the multinode tests: STACK_DOCKER="mn_docker 2").

# Label Docker puts on every object of a stack, the stack's name its value.
STACK_NS_LABEL=com.docker.stack.namespace

stack_docker() {
	${STACK_DOCKER:-"$DOCKER"} "$@"
}

# stack_services <stack>, stack_networks <stack>: the IDs of its services,
# of its networks.
stack_services() {
	stack_docker service ls -q --filter "label=$STACK_NS_LABEL=$1"
}

stack_networks() {
	stack_docker network ls -q --filter "label=$STACK_NS_LABEL=$1"
}

# stack_deploy <stack> <compose file>...: `docker stack deploy` with the
# images as they are here (never pulled), its output in
# $TEST_WORK/deploy-<stack>.log. Returns its status.
stack_deploy() {
	local stack=$1 f files=()
	shift
	for f in "$@"; do
		files+=(-c "$f")
	done
	stack_docker stack deploy --resolve-image never "${files[@]}" "$stack" \
		>"$TEST_WORK/deploy-$stack.log" 2>&1
}

# pair_deploy <stack> [compose file...]: docker/stack.yml, the HAProxy +
# agents pair as users deploy it, as stack <stack>, set up by the
# SWARM_SPOA_* variables of the environment (docker/stack.yml lists them),
# merged with the files given (docker/stack-runtime-tls.yml). Fails the
# test when Docker refuses it; waiting until it answers is the caller's
# (pair_answers).
pair_deploy() {
	local stack=$1
	shift
	stack_deploy "$stack" "$SWARM_SPOA_SRC/docker/stack.yml" "$@" ||
		fail "stack deploy of the pair $stack failed: $(cat "$TEST_WORK/deploy-$stack.log")"
}

# pair_label <stack>: puts the test label on the pair's two services (no
# task is replaced), so that docker_cleanup_test also removes a pair that
# an interrupted run left behind.
pair_label() {
	local svc
	for svc in haproxy agent; do
		stack_docker service update -q --detach --label-add "$TEST_LABEL_KEY=$TEST_NAME" \
			"$1_$svc" >/dev/null || fail "cannot label $1_$svc"
	done
}

# pair_answers <port> [curl args...]: HAProxy on 127.0.0.1:<port> answers
# a request for a host nobody routes with the agents' 404: it runs, and
# reaches an agent. Prints what it got otherwise (for wait_until).
pair_answers() {
	local port=$1 code
	shift
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$@" -H "Host: nobody.pair.test" \
		"http://127.0.0.1:$port/") || code=000
	[ "$code" = 404 ] || { echo "HAProxy on port $port answers $code for an unknown host"; return 1; }
}

# stack_networks_gone <stack>...: no network of these stacks is left;
# prints those that are (for wait_for).
stack_networks_gone() {
	local ns left
	for ns in "$@"; do
		left=$(stack_networks "$ns")
		[ -z "$left" ] || { echo "networks of $ns left: $left"; return 1; }
	done
}

# stack_services_gone <stack>...: no service of these stacks is left.
stack_services_gone() {
	local ns
	for ns in "$@"; do
		[ -z "$(stack_services "$ns")" ] || { echo "stack $ns still has services"; return 1; }
	done
}

# service_network_names <service>: the names of the networks the service's
# tasks are attached to, sorted, each followed by a space.
service_network_names() {
	local id
	for id in $(stack_docker service inspect \
		-f '{{range .Spec.TaskTemplate.Networks}}{{.Target}} {{end}}' "$1"); do
		stack_docker network inspect -f '{{.Name}}' "$id" 2>/dev/null || echo "$id"
	done | sort | tr '\n' ' '
}

# _stack_rm_networks <filter>: removes the networks that match, succeeds
# once none is left (for wait_for: endpoints are released a moment after
# their tasks stop).
_stack_rm_networks() {
	local ids
	ids=$(stack_docker network ls -q --filter "$1")
	[ -z "$ids" ] && return 0
	stack_docker network rm $ids >/dev/null 2>&1
	ids=$(stack_docker network ls -q --filter "$1")
	[ -z "$ids" ] || { echo "networks $1 left: $ids"; return 1; }
}

# stack_remove <stack>...: `docker stack rm`, then waits until their
# services are gone and removes their networks, which `docker stack rm`
# gives up on while task endpoints are being released. Bounded by
# STACK_RM_WAIT seconds (default 90) for the services and
# STACK_RM_NET_WAIT (default 30) for the networks; logs what is left and
# never fails (it cleans up).
stack_remove() {
	local ns
	[ $# -gt 0 ] || return 0
	stack_docker stack rm "$@" >/dev/null 2>&1 || true
	wait_for "${STACK_RM_WAIT:-90}" stack_services_gone "$@" || log "stack rm: $WAIT_LAST_OUTPUT"
	for ns in "$@"; do
		wait_for "${STACK_RM_NET_WAIT:-30}" _stack_rm_networks "label=$STACK_NS_LABEL=$ns" ||
			log "stack rm: $WAIT_LAST_OUTPUT"
	done
}

# Helpers of the managed-networks tests: the pair of docker/stack.yml with
# --manage-networks, app stacks of netmgr-app.yml on networks of their own,
# bounded load. Source after common.sh and dockerd.sh, then:
#
#   nm_init ssp5r                  # names, ports, subnet; cleanup at exit
#   nm_pair_deploy                 # the pair, HAProxy answering
#   nm_app_deploy ssp5ra a.test    # an app stack, its network its own
#   wait_until 120 nm_routed ssp5ra a.test
#
# Everything is named after the prefix: the pair is stack <prefix>, the
# shared network <prefix>-apps, the apps are stacks <prefix><letter>, and
# the pair serves only the service cluster <prefix>, so that stacks of
# other tests on the same daemon are never attached to this HAProxy.

NM_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NM_TAG=${SWARM_SPOA_TAG:-dev}

# nm_init <prefix>: sets NM_PAIR, NM_SHARED, NM_CLUSTER, NM_HTTP, NM_HTTPS,
# NM_SUBNET and registers the cleanup of whatever carries the prefix.
nm_init() {
	NM_PREFIX=$1
	NM_PAIR=$1
	NM_SHARED=$1-apps
	NM_CLUSTER=$1
	NM_HTTP=$(free_port)
	NM_HTTPS=$(free_port)
	NM_SUBNET=$(nm_free_subnet)
	NM_APPS=()
	log "pair $NM_PAIR: HTTP 127.0.0.1:$NM_HTTP, control subnet $NM_SUBNET, cluster $NM_CLUSTER"
	nm_cleanup
	on_exit nm_cleanup
}

# nm_free_subnet: a 10.254.X.0/24 that no network of the daemon uses.
nm_free_subnet() {
	local used base=$(( RANDOM % 60 )) k x
	used=$("$DOCKER" network inspect $("$DOCKER" network ls -q) \
		-f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' 2>/dev/null | tr ' ' '\n')
	for (( k = 0; k < 60; k++ )); do
		x=$(( 20 + (base + k) % 60 ))
		grep -qx "10.254.$x.0/24" <<<"$used" || { echo "10.254.$x.0/24"; return 0; }
	done
	fail "no free 10.254.X.0/24 subnet for the control network"
}

# nm_cleanup: removes the app stacks, the pair and the shared network (this
# prefix's, from this run or an interrupted one), bounded.
nm_cleanup() {
	local stacks ns
	stacks=$("$DOCKER" stack ls --format '{{.Name}}' 2>/dev/null | grep -E "^${NM_PREFIX}[a-z]?$" || true)
	# shellcheck disable=SC2086
	stack_remove $stacks
	# app networks whose stack is gone already (an interrupted run)
	for ns in $("$DOCKER" network ls --format '{{.Name}}' | grep -E "^${NM_PREFIX}[a-z]?_" || true); do
		"$DOCKER" network rm "$ns" >/dev/null 2>&1 || log "cleanup: network $ns still there"
	done
	if "$DOCKER" network inspect "$NM_SHARED" >/dev/null 2>&1; then
		wait_for 30 "$DOCKER" network rm "$NM_SHARED" || log "cleanup: $NM_SHARED still there"
	fi
}

# nm_pair_deploy: the shared network and docker/stack.yml as stack
# $NM_PAIR with --manage-networks; returns once HAProxy answers with the
# agents' verdict (404 for an unknown host).
nm_pair_deploy() {
	local t0
	t0=$(now_ms)
	"$DOCKER" network create -d overlay --attachable --label "$TEST_LABEL_KEY=$TEST_NAME" \
		"$NM_SHARED" >/dev/null || fail "cannot create network $NM_SHARED"
	SWARM_SPOA_TAG=$NM_TAG SWARM_SPOA_NETWORK=$NM_SHARED SWARM_SPOA_HTTP_PORT=$NM_HTTP \
	SWARM_SPOA_HTTPS_PORT=$NM_HTTPS SWARM_SPOA_CONTROL_SUBNET=$NM_SUBNET \
	SWARM_SPOA_MANAGE_NETWORKS=true SWARM_SPOA_NETWORK_GRACE=${NM_GRACE:-5} \
	SWARM_SPOA_NETWORK_UPDATES=${NM_UPDATES:-6} \
	SWARM_SPOA_SERVICE_CLUSTER=$NM_CLUSTER SWARM_SPOA_LOG_LEVEL=${NM_LOG_LEVEL:-info} \
		pair_deploy "$NM_PAIR"
	wait_until 240 pair_answers "$NM_HTTP"
	log "pair up in $(( $(now_ms) - t0 )) ms"
}

# nm_app_deploy <stack> <host>: netmgr-app.yml as stack <stack> (web on
# <host>, api on <host>/api), its network "<stack>_net" named in
# com.docker.lb.network. Returns the status of `docker stack deploy`.
nm_app_deploy() {
	NM_APPS+=("$1")
	APP_STACK=$1 APP_HOST=$2 APP_TEST=$TEST_NAME APP_CLUSTER=$NM_CLUSTER SWARM_SPOA_TAG=$NM_TAG \
		stack_deploy "$1" "$NM_HERE/netmgr-app.yml"
}

# nm_routed <stack> <host>: by host to its web service, by path to its api
# service with the prefix stripped.
nm_routed() {
	local body
	body=$(curl -s --max-time 2 -H "Host: $2" "http://127.0.0.1:$NM_HTTP/") || true
	case "$body" in
		*"name=$1_web."*) ;;
		*) echo "GET http://$2/ answered: ${body:-nothing}"; return 1 ;;
	esac
	body=$(curl -s --max-time 2 -H "Host: $2" "http://127.0.0.1:$NM_HTTP/api/users/?x=1") || true
	case "$body" in
		*"name=$1_api."*"path=/users/?x=1 "*) ;;
		*) echo "GET http://$2/api/users/ answered: ${body:-nothing}"; return 1 ;;
	esac
}

# nm_agent_exec <command...>: runs in the pair's first running agent.
nm_agent_exec() {
	local cid
	cid=$("$DOCKER" ps -q --filter "label=com.docker.swarm.service.name=${NM_PAIR}_agent" | head -1)
	[ -n "$cid" ] || { echo "no agent container"; return 1; }
	"$DOCKER" exec "$cid" "$@"
}

# nm_stats <command>: a stats socket command in an agent (<cid> if given).
nm_stats() {
	local cid=${2:-}
	[ -n "$cid" ] || cid=$("$DOCKER" ps -q --filter "label=com.docker.swarm.service.name=${NM_PAIR}_agent" | head -1)
	"$DOCKER" exec "$cid" sh -c "echo '$1' | socat -t5 stdio unix:\$SWARM_SPOA_STATS_SOCKET"
}

# nm_haproxy_cmd <command>: HAProxy's runtime API in its container (perl is
# in the image, socat is not).
nm_haproxy_cmd() {
	local cid
	cid=$("$DOCKER" ps -q --filter "label=com.docker.swarm.service.name=${NM_PAIR}_haproxy" | head -1)
	[ -n "$cid" ] || { echo "no HAProxy container"; return 1; }
	"$DOCKER" exec "$cid" perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Peer => "/run/haproxy/admin.sock") or die "connect: $!\n";
		print $s "$ARGV[0]\n";
		print while <$s>;' "$1"
}

# nm_proxy_settled: the HAProxy service runs its current spec: no update
# under way, one task running, none starting.
nm_proxy_settled() {
	local st tasks
	st=$("$DOCKER" service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' \
		"${NM_PAIR}_haproxy") || return 1
	case "$st" in ""|completed) ;; *) echo "HAProxy service update: $st"; return 1 ;; esac
	tasks=$("$DOCKER" service ps -q --filter desired-state=running "${NM_PAIR}_haproxy" | wc -l)
	[ "$tasks" = 1 ] || { echo "$tasks HAProxy tasks should run"; return 1; }
	[ "$("$DOCKER" service ps --filter desired-state=running --format '{{.CurrentState}}' \
		"${NM_PAIR}_haproxy" | cut -d' ' -f1)" = Running ] || { echo "HAProxy task not running"; return 1; }
}

# nm_load_start <name> <netload.py args...> / nm_load_stop <name>: bounded
# load in the background; nm_load_stop stops it, waits for it and sets
# NM_LOAD to its JSON result.
nm_load_start() {
	local name=$1
	shift
	rm -f "$TEST_WORK/$name.stop"
	python3 "$NM_HERE/netload.py" --port "$NM_HTTP" --stop-file "$TEST_WORK/$name.stop" "$@" \
		>"$TEST_WORK/$name.json" 2>"$TEST_WORK/$name.err" &
	eval "NM_LOAD_PID_$name=$!"
	on_exit touch "$TEST_WORK/$name.stop"
}

nm_load_stop() {
	touch "$TEST_WORK/$1.stop"
	nm_load_wait "$1"
}

# nm_load_wait <name>: lets the load run its course, then as nm_load_stop.
nm_load_wait() {
	local pid
	eval "pid=\$NM_LOAD_PID_$1"
	wait "$pid" || fail "load $1 failed: $(cat "$TEST_WORK/$1.err")"
	NM_LOAD=$(cat "$TEST_WORK/$1.json")
	[ -n "$NM_LOAD" ] || fail "load $1 printed nothing: $(cat "$TEST_WORK/$1.err")"
}

# nm_json <json> <python expression on r>: prints the expression.
nm_json() {
	python3 -c 'import json, sys; r = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

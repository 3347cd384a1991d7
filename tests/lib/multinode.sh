# A Docker Swarm of MN_NODES nodes (3 unless set) on this one machine, for
# the multinode tests, the scale benchmark and the soak. Set MN_NODES,
# MN_PREFIX and MN_ROOT before sourcing to run another swarm beside the
# tests' (the soak: MN_NODES=1 MN_PREFIX=sspsoak
# MN_ROOT=/var/lib/swarm-spoa-soak). Source after common.sh and dockerd.sh:
#
#   mn_setup              leftovers removed, namespaces, dockerds, swarm, images
#   mn_pair_deploy        HAProxy (global) and the agents (managers), docker/stack.yml
#   mn_require            the swarm and the pair answer (in every test)
#   mn_docker 2 ps        the docker client against node 2's daemon
#   mn_in 2 curl ...      a command in node 2's network namespace
#   mn_teardown           nothing left: daemons, shims, containers, cgroups,
#                         namespaces, veths, directories
#
# Each node is a dockerd in its own network namespace (sspmn-n1..3), with its
# own mount and UTS namespaces: /run inside is the node's own directory, so
# its socket is /var/run/docker.sock for the containers it runs (the agent's
# bind mount finds its node's daemon, never the host's), its containerd is
# its own (supervised by dockerd), and its host name is sspmn-nN, which is
# what `docker node ls` and the tasks' NODE column show.
#
# The nodes' eth0 sit on a bridge in a hub namespace (sspmn-hub): nothing is
# added to the host's network namespace and the host's dockerd, its
# iptables and its swarm are never touched (only its images are read, with
# `docker save`). Addresses are ours alone:
#
#   10.213.0.0/24          the nodes' eth0: node N is 10.213.0.(10+N)
#   10.213.(10+N).1/24     node N's docker0 (--bip)
#   10.213.(48+16N).0/20   node N's local networks, /22 each (docker_gwbridge,
#                          which every task on an overlay network joins)
#   10.213.128.0/17        the swarm's overlay networks, /24 each
#
# Traffic from the host reaches a node only from inside its namespace
# (`mn_in N curl http://127.0.0.1/`): each node's HAProxy publishes port 80 in
# host mode, so 127.0.0.1:80 in sspmn-nN is that node's HAProxy. Containers
# talk over the overlay networks of this swarm only.
#
# Everything is named sspmn-*, lives under $MN_ROOT and runs in cgroups
# /sspmn-nN, so that mn_teardown (also run first by mn_setup) finds and
# removes what an aborted run left.
#
# Two swarms of different MN_PREFIX and MN_ROOT run side by side: every
# name, cgroup and file of one starts with its "$MN_PREFIX-" or its
# "$MN_ROOT/", which those of the other never do (a prefix has no '-'), so
# that neither's mn_teardown touches the other. They share the address plan
# above: every address lives in the swarm's own namespaces (the nodes', the
# hub's, and the overlay sandboxes inside the nodes), never in the host's.

MN_NODES=${MN_NODES:-3}
MN_PREFIX=${MN_PREFIX:-sspmn}
[[ $MN_PREFIX =~ ^[a-z0-9]{1,10}$ ]] ||
	fail "MN_PREFIX '$MN_PREFIX': 1 to 10 of [a-z0-9] (network interface names hold 15 characters)"
[[ $MN_NODES =~ ^[1-9]$ ]] || fail "MN_NODES '$MN_NODES': 1 to 9"
MN_HUB=$MN_PREFIX-hub
MN_ROOT=${MN_ROOT:-/var/lib/swarm-spoa-multinode}
MN_TAG=${SWARM_SPOA_TAG:-dev}
MN_IMAGES=("swarm-spoa/agent:$MN_TAG" "swarm-spoa/haproxy:$MN_TAG" "swarm-spoa/echo:$MN_TAG")
MN_PAIR_STACK=swarm-spoa
MN_NETWORK=swarm-spoa
# How fast Swarm declares a silent node down. Swarm's default is 5 s; the
# tests keep it (what users get) unless told otherwise.
MN_HEARTBEAT=${MN_HEARTBEAT:-5s}

mn_ns() { echo "$MN_PREFIX-n$1"; }
mn_name() { echo "$MN_PREFIX-n$1"; }
mn_addr() { echo "10.213.0.$((10 + $1))"; }
mn_dir() { echo "$MN_ROOT/n$1"; }
mn_sock() { echo "$MN_ROOT/n$1/run/docker.sock"; }

# mn_docker <node> <docker args...>: the docker client against that node.
mn_docker() {
	local n=$1
	shift
	"$DOCKER" -H "unix://$(mn_sock "$n")" "$@"
}

# mn_in <node> <command...>: runs the command in the node's network
# namespace (127.0.0.1 there is the node's own loopback).
mn_in() {
	local n=$1
	shift
	nsenter --net="/var/run/netns/$(mn_ns "$n")" -- "$@"
}

# mn_preflight: what a multinode run needs, or exit 77 saying what is missing.
mn_preflight() {
	[ "$(id -u)" = 0 ] || skip "multinode tests need root (network namespaces, dockerd)"
	ensure_cmd ip iproute2
	ensure_cmd nsenter util-linux
	ensure_cmd unshare util-linux
	ensure_cmd curl curl
	ensure_cmd socat socat
	ensure_cmd python3 python3
	[ -x "$DOCKER" ] || ensure_cmd dockerd docker.io
	[ -x /usr/sbin/dockerd ] || fail "/usr/sbin/dockerd missing (docker.io)"
	ip netns add "$MN_PREFIX-probe" 2>/dev/null ||
		skip "cannot create network namespaces here"
	if ! ip -n "$MN_PREFIX-probe" link add vx0 type vxlan id 42 dstport 4789 2>/dev/null; then
		ip netns del "$MN_PREFIX-probe"
		skip "the kernel has no VXLAN: overlay networks between nodes cannot work"
	fi
	ip netns del "$MN_PREFIX-probe"
}

# ---------------------------------------------------------------------------
# Processes of a node
# ---------------------------------------------------------------------------

# _mn_cgroup_dirs <node>: the node's cgroup directories, every hierarchy.
_mn_cgroup_dirs() {
	local d
	for d in /sys/fs/cgroup/*/"$(mn_name "$1")" /sys/fs/cgroup/"$(mn_name "$1")"; do
		[ -d "$d" ] && echo "$d"
	done
}

# mn_node_pids <node>: every process of the node: those in its network
# namespace (dockerd, containerd, shims, docker-proxy) and those in its
# containers' cgroups.
mn_node_pids() {
	local d
	{
		[ -e "/var/run/netns/$(mn_ns "$1")" ] && ip netns pids "$(mn_ns "$1")" 2>/dev/null
		for d in $(_mn_cgroup_dirs "$1"); do
			find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null
		done
	} | sort -un
}

_mn_node_dead() {
	local pids
	pids=$(mn_node_pids "$1")
	[ -z "$pids" ] || { echo "node $1 still has processes: $pids"; return 1; }
}

# mn_node_kill <node>: the machine crashes: every process of the node gets
# SIGKILL at once (dockerd, containerd, shims, the containers). Its network
# namespace and its files stay, so mn_node_start brings it back as the same
# swarm node.
mn_node_kill() {
	local i pids
	for (( i = 0; i < 20; i++ )); do
		pids=$(mn_node_pids "$1")
		[ -n "$pids" ] || break
		kill -KILL $pids 2>/dev/null || true
		wait_for 2 _mn_node_dead "$1" && break
	done
	_mn_node_dead "$1" >/dev/null || { log "node $1: processes survive SIGKILL: $(mn_node_pids "$1")"; return 1; }
	_mn_cgroups_remove "$1"
}

# mn_node_crash <node>: the machine vanishes: its cable is cut first, so
# that no connection it had is closed cleanly (no FIN, no RST reaches the
# others), then every process is killed. mn_restore plugs it back and
# starts it.
mn_node_crash() {
	mn_link "$1" down
	mn_node_kill "$1"
}

_mn_cgroups_remove() {
	local d
	for d in $(_mn_cgroup_dirs "$1"); do
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
}

# mn_node_start <node>: starts the node's dockerd (again) and waits until it
# answers. Log in $MN_ROOT/nN/dockerd.log.
mn_node_start() {
	local n=$1 dir
	dir=$(mn_dir "$n")
	mkdir -p "$dir/run" "$dir/data"
	[ -f "$dir/daemon.json" ] || echo '{}' >"$dir/daemon.json"
	# A killed node leaves its pid files behind, and by now their pids may
	# belong to other processes of this machine: dockerd then refuses to
	# start ("pid file found"), and would take a live pid for its
	# containerd. Nothing of the node runs here (mn_node_kill checked).
	_mn_node_dead "$n" >&2 || fail "node $n: cannot start dockerd, its processes still run"
	rm -f "$dir/run/docker.pid" "$dir/run/docker/containerd/containerd.pid"
	# The node's own mount namespace: /run is the node's directory (socket,
	# exec root, containerd, runc state); mounts made by the daemon die
	# with its processes. Its own UTS namespace gives the node its name.
	# In a subshell: not a job of this shell, which would report its end.
	( setsid nsenter --net="/var/run/netns/$(mn_ns "$n")" -- \
		unshare --mount --uts --propagation private -- /bin/sh -c '
			hostname "$1" && mount --bind "$2/run" /run || exit 1
			exec /usr/sbin/dockerd --config-file "$2/daemon.json" \
				--data-root "$2/data" --exec-root /run/docker \
				-H unix:///run/docker.sock --pidfile /run/docker.pid \
				--cgroup-parent "/$1" --bip "$3" \
				--default-address-pool "base=$4,size=22" \
				--log-level info' \
		mn-node "$(mn_name "$n")" "$dir" "10.213.$((10 + n)).1/24" "10.213.$((48 + 16 * n)).0/20" \
		>>"$dir/dockerd.log" 2>&1 </dev/null & )
	if ! wait_for 60 mn_docker "$n" version; then
		tail -20 "$dir/dockerd.log" >&2
		fail "dockerd of node $n did not answer within 60 s"
	fi
}

# ---------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------

mn_net_setup() {
	local n
	ip netns add "$MN_HUB"
	ip -n "$MN_HUB" link set lo up
	ip -n "$MN_HUB" link add br0 type bridge
	ip -n "$MN_HUB" link set br0 up
	for (( n = 1; n <= MN_NODES; n++ )); do
		ip netns add "$(mn_ns "$n")"
		ip -n "$(mn_ns "$n")" link set lo up
		ip link add "$(mn_ns "$n")h" netns "$MN_HUB" type veth peer name eth0 netns "$(mn_ns "$n")"
		ip -n "$MN_HUB" link set "$(mn_ns "$n")h" master br0 up
		ip -n "$(mn_ns "$n")" addr add "$(mn_addr "$n")/24" dev eth0
		ip -n "$(mn_ns "$n")" link set eth0 up
	done
}

# mn_link <node> up|down: the node's cable (its veth on the hub's bridge).
mn_link() {
	ip -n "$MN_HUB" link set "$(mn_ns "$1")h" "$2"
}

# ---------------------------------------------------------------------------
# Set up and tear down
# ---------------------------------------------------------------------------

# mn_teardown: removes everything of a multinode swarm, from this run or an
# aborted one: processes, cgroups, mounts, namespaces (with their veths and
# the bridge), files. The dockerd logs are copied to $TEST_WORK first.
mn_teardown() {
	local n ns m
	for (( n = 1; n <= MN_NODES; n++ )); do
		mn_node_kill "$n" || true
		_mn_cgroups_remove "$n"
		if [ -n "${TEST_WORK:-}" ] && [ -f "$(mn_dir "$n")/dockerd.log" ]; then
			cp "$(mn_dir "$n")/dockerd.log" "$TEST_WORK/dockerd-n$n.log" 2>/dev/null || true
		fi
	done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$MN_PREFIX-"); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || log "cannot remove network namespace $ns"
	done
	# Nothing is mounted there from the host's mount namespace, unless a
	# daemon of another kind of run did it: unmount before removing.
	for m in $(awk -v r="$MN_ROOT" '$5 == r || index($5, r "/") == 1 {print $5}' /proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
	rm -rf "$MN_ROOT"
}

# _mn_leftovers: prints what mn_teardown should have removed.
mn_leftovers() {
	local n
	ip netns list 2>/dev/null | grep "^$MN_PREFIX-" || true
	for (( n = 1; n <= MN_NODES; n++ )); do
		mn_node_pids "$n"
		_mn_cgroup_dirs "$n"
	done
	[ ! -e "$MN_ROOT" ] || echo "$MN_ROOT"
}

# mn_via [node...]: the first node, other than those listed, whose dockerd
# answers as a swarm manager: where the tests send their docker commands
# while a node is down.
mn_via() {
	local n x skip
	for (( n = 1; n <= MN_NODES; n++ )); do
		skip=0
		for x in "$@"; do [ "$x" != "$n" ] || skip=1; done
		[ "$skip" = 0 ] || continue
		if mn_docker "$n" node ls -q >/dev/null 2>&1; then
			echo "$n"
			return 0
		fi
	done
	echo "no manager answers" >&2
	return 1
}

_mn_swarm_ready() {
	local out via
	via=$(mn_via) || return 1
	out=$(mn_docker "$via" node ls --format '{{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}}' 2>&1) ||
		{ echo "$out"; return 1; }
	echo "$out"
	[ "$(grep -cE ' Ready Active (Leader|Reachable)$' <<<"$out")" -eq "$MN_NODES" ]
}

# mn_setup: removes leftovers, then builds the swarm: namespaces, one dockerd
# per node, `swarm init` on node 1, the others join as managers, the images
# loaded into every node.
mn_setup() {
	local n token t0
	t0=$(now_ms)
	mn_preflight
	mn_teardown
	mkdir -p "$MN_ROOT"
	mn_net_setup
	for (( n = 1; n <= MN_NODES; n++ )); do
		mn_node_start "$n"
	done
	log "$MN_NODES dockerds up in $(( $(now_ms) - t0 )) ms"

	mn_docker 1 swarm init --advertise-addr "$(mn_addr 1)" --listen-addr "$(mn_addr 1):2377" \
		--default-addr-pool 10.213.128.0/17 --default-addr-pool-mask-length 24 \
		--dispatcher-heartbeat "$MN_HEARTBEAT" >/dev/null ||
		fail "swarm init on node 1 failed"
	token=$(mn_docker 1 swarm join-token -q manager)
	for (( n = 2; n <= MN_NODES; n++ )); do
		mn_docker "$n" swarm join --token "$token" --advertise-addr "$(mn_addr "$n")" \
			--listen-addr "$(mn_addr "$n"):2377" "$(mn_addr 1):2377" >/dev/null ||
			fail "node $n could not join the swarm"
	done
	wait_until 60 _mn_swarm_ready
	log "swarm of $MN_NODES managers ready in $(( $(now_ms) - t0 )) ms"

	mn_images_load
	log "multinode swarm set up in $(( $(now_ms) - t0 )) ms"
}

# mn_images_load: the agent, HAProxy and echo images from the host's dockerd
# into every node (built first when missing). With MN_IMAGES_TAR, from that
# file instead (`docker save` of MN_IMAGES, made by the caller): the host's
# dockerd is not asked at all.
mn_images_load() {
	local n i pids=() t0 tar=$MN_ROOT/images.tar
	t0=$(now_ms)
	if [ -n "${MN_IMAGES_TAR:-}" ]; then
		tar=$MN_IMAGES_TAR
	else
		for i in "${MN_IMAGES[@]}"; do
			"$DOCKER" image inspect "$i" >/dev/null 2>&1 || { images_build; break; }
		done
		"$DOCKER" save -o "$tar" "${MN_IMAGES[@]}" || fail "docker save failed"
	fi
	for (( n = 1; n <= MN_NODES; n++ )); do
		mn_docker "$n" load -q -i "$tar" >/dev/null &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || fail "docker load into a node failed"
	done
	rm -f "$MN_ROOT/images.tar"
	log "images loaded into $MN_NODES nodes in $(( $(now_ms) - t0 )) ms"
}

# ---------------------------------------------------------------------------
# The pair
# ---------------------------------------------------------------------------

# mn_pair_deploy: the shared network (a /24 from the swarm's pool, or
# $MN_NETWORK_SUBNET) and docker/stack.yml as stack "swarm-spoa": HAProxy on
# every node (port 80 of each namespace), the agents on the managers. Waits
# until every node's HAProxy gets answers from an agent.
mn_pair_deploy() {
	local t0
	t0=$(now_ms)
	mn_docker 1 network inspect "$MN_NETWORK" >/dev/null 2>&1 ||
		mn_docker 1 network create -d overlay --attachable \
			${MN_NETWORK_SUBNET:+--subnet "$MN_NETWORK_SUBNET"} "$MN_NETWORK" >/dev/null ||
		fail "cannot create the $MN_NETWORK network"
	# MN_RUNTIME_TLS=1: HAProxy's runtime API behind TLS, as
	# docker/stack-runtime-tls.yml deploys it
	local extra=()
	if [ "${MN_RUNTIME_TLS:-0}" = 1 ]; then
		DOCKER=$DOCKER DOCKER_HOST="unix://$(mn_sock 1)" \
			"$SWARM_SPOA_SRC/docker/runtime-tls.sh" "$MN_PAIR_STACK" >/dev/null ||
			fail "docker/runtime-tls.sh failed"
		extra=("$SWARM_SPOA_SRC/docker/stack-runtime-tls.yml")
	fi
	SWARM_SPOA_HTTP_PORT=80 SWARM_SPOA_HTTPS_PORT=443 SWARM_SPOA_TAG=$MN_TAG \
		SWARM_SPOA_CONTROL_SUBNET=10.213.254.0/24 \
		SWARM_SPOA_RUNTIME_TLS_PREFIX=$MN_PAIR_STACK \
		SWARM_SPOA_LOG_LEVEL=${MN_AGENT_LOG_LEVEL:-info} STACK_DOCKER="mn_docker 1" \
		pair_deploy "$MN_PAIR_STACK" "${extra[@]}"
	wait_until 180 mn_pair_ready
	log "pair deployed and answering on every node in $(( $(now_ms) - t0 )) ms"
}

# mn_http_code <node> <host> [path]: status of one request through the
# node's HAProxy (on port MN_HTTP_PORT of its namespace, default 80).
mn_http_code() {
	mn_in "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 3 -H "Host: $2" \
		"http://127.0.0.1:${MN_HTTP_PORT:-80}${3:-/}"
}

# mn_pair_ready [node...]: every HAProxy listed (default all) answers a
# request for an unknown host with the agent's 404, so HAProxy runs there
# and reaches an agent.
mn_pair_ready() {
	local n code nodes=("$@")
	[ ${#nodes[@]} -gt 0 ] || nodes=($(seq 1 "$MN_NODES"))
	for n in "${nodes[@]}"; do
		code=$(mn_http_code "$n" no-such-host.mn.test) || code=000
		[ "$code" = 404 ] || { echo "node $n: HAProxy answers $code for an unknown host"; return 1; }
	done
}

# mn_pair_settled [via]: on every node, the containers of the pair that run
# are exactly the tasks Swarm wants running there, each running: no task
# that Swarm has already replaced (after a node came back, say) is still
# serving, none is waiting to start.
mn_pair_settled() {
	local via=${1:-} n svc want have
	[ -n "$via" ] || via=$(mn_via) || return 1
	for svc in "${MN_PAIR_STACK}_haproxy" "${MN_PAIR_STACK}_agent"; do
		for (( n = 1; n <= MN_NODES; n++ )); do
			want=$(mn_docker "$via" service ps --no-trunc --filter desired-state=running \
				--filter "node=$(mn_name "$n")" --format '{{.ID}}' "$svc" | sort | tr '\n' ' ')
			have=$(mn_docker "$n" ps --filter "label=com.docker.swarm.service.name=$svc" \
				--format '{{.Label "com.docker.swarm.task.id"}}' | sort | tr '\n' ' ')
			[ "$want" = "$have" ] || { echo "node $n, $svc: Swarm wants [$want], running [$have]"; return 1; }
		done
	done
}

# mn_require: at the start of every test: the nodes are Ready managers and
# the pair answers on each. Skips when the fixture could not set them up.
mn_require() {
	[ "$(id -u)" = 0 ] || skip "multinode tests need root"
	[ -d "$(mn_dir 1)/data/swarm" ] && [ -e "/var/run/netns/$(mn_ns 1)" ] ||
		skip "no multinode swarm (the multinode_setup fixture did not run or failed)"
	mn_restore
}

# mn_restore: brings the swarm back to its starting point after a test broke
# it: every dockerd running (a killed node restarted), every cable plugged,
# every node active, all managers Ready, HAProxy answering on every node.
mn_restore() {
	local n via name
	for (( n = 1; n <= MN_NODES; n++ )); do
		mn_link "$n" up
		if ! mn_docker "$n" version >/dev/null 2>&1; then
			log "node $n: dockerd not answering, restarting it"
			mn_node_kill "$n" || true
			mn_node_start "$n"
		fi
	done
	wait_until 120 mn_via
	via=$(mn_via)
	for name in $(mn_docker "$via" node ls --format '{{.Hostname}} {{.Availability}}' | awk '$2 != "Active" {print $1}'); do
		mn_docker "$via" node update --availability active "$name" >/dev/null
	done
	wait_until 120 _mn_swarm_ready
	wait_until 120 mn_pair_settled
	wait_until 120 mn_pair_ready
}

# mn_test_cleanup: removes the services this test created (label
# swarm-spoa.test=<test name>) and restores the swarm.
mn_test_cleanup() {
	local via ids
	mn_restore || true
	via=$(mn_via) || return 0
	ids=$(mn_docker "$via" service ls -q --filter "label=$TEST_LABEL_KEY=$TEST_NAME")
	[ -z "$ids" ] || mn_docker "$via" service rm $ids >/dev/null || true
}

# mn_service <name> <host> <replicas> [docker service create args...]:
# an echo service routed for <host> on the shared network, labelled for
# cleanup, with the graceful-stop settings of docker/README.md: the echo
# backend keeps serving 3 s after SIGTERM, Swarm waits up to 10 s for it, a
# health check every second so new tasks are ready quickly.
mn_service() {
	local name=$1 host=$2 replicas=$3 via
	shift 3
	via=$(mn_via)
	mn_docker "$via" service create -d --quiet --name "$name" --replicas "$replicas" \
		--label "$TEST_LABEL_KEY=$TEST_NAME" --network "$MN_NETWORK" \
		--label "com.docker.lb.hosts=$host" --label com.docker.lb.port=8080 \
		--label "com.docker.lb.network=$MN_NETWORK" \
		--env 'TASK_NAME={{.Task.Name}}' --stop-grace-period 10s \
		--health-cmd 'curl -fsS -o /dev/null http://127.0.0.1:8080/health' \
		--health-interval 1s --health-timeout 2s --health-start-period 1s \
		--update-order start-first --update-parallelism 1 \
		--no-resolve-image "$@" "swarm-spoa/echo:$MN_TAG" --grace 3 >/dev/null
}

# mn_check_moved <via> <service> <node> <what> <late> <task...>: after
# <node> lost its tasks of <service> (<what>: "drained", "lost"), the tasks
# running now (<task...>) each answered requests in <late> (an mn_summary
# of the end of the load), none of them is on <node>, and every agent
# routes exactly them. Fails the test otherwise.
mn_check_moved() {
	local via=$1 svc=$2 node=$3 what=$4 late=$5 t
	shift 5
	for t in "$@"; do
		[ "$(mn_json "$late" 'd["names"].get(sys.argv[3], 0)' "$t")" -gt 0 ] ||
			fail "task $t runs but answered no request at the end of the load: $late"
	done
	if mn_tasks "$via" "$svc" | grep " $(mn_name "$node") " >/dev/null; then
		fail "tasks of $svc still on the $what node: $(mn_tasks "$via" "$svc")"
	fi
	wait_until 30 mn_tables_are "$via" "$svc" "$@"
	log "agents: $(mn_tables_are "$via" "$svc" "$@" | tr '\n' ';')"
}

# mn_converged <via> <service> <replicas> [nodes] [away]: the service has
# exactly <replicas> running tasks, none starting or stopping, no update
# under way; with <nodes>, on that many distinct nodes at least; with
# <away>, none on node <away>. A node just drained, lost or cut off keeps
# its tasks listed as running until Swarm acts on it: without <away>, the
# swarm as it was before passes for converged.
mn_converged() {
	local via=$1 svc=$2 want=$3 nodes=${4:-1} away=${5:-} tasks running spread upd left=0
	tasks=$(mn_tasks "$via" "$svc") || return 1
	running=$(grep -c ' Running$' <<<"$tasks" || true)
	spread=$(awk '$3 == "Running" {print $2}' <<<"$tasks" | sort -u | wc -l)
	[ -z "$away" ] || left=$(awk -v a="$(mn_name "$away")" '$2 == a' <<<"$tasks" | wc -l)
	upd=$(mn_docker "$via" service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' "$svc")
	echo "$svc: $running/$want running on $spread nodes${away:+, $left on node $away}, update '${upd:-none}'"
	echo "$tasks"
	[ "$running" -eq "$want" ] && [ "$(wc -l <<<"$tasks")" -eq "$want" ] &&
		[ "$spread" -ge "$nodes" ] && [ "$left" -eq 0 ] &&
		[ "$upd" != updating ] && [ "$upd" != rollback_started ]
}

# mn_names <node> <host> <count>: the task names that answered <count>
# requests through the node's HAProxy (one keep-alive connection), one per
# line with how many times; any non-200 answer is a line "status <code>".
mn_names() {
	local urls=() i
	for (( i = 0; i < $3; i++ )); do urls+=(http://127.0.0.1/); done
	mn_in "$1" curl -s --max-time 10 -H "Host: $2" -w 'status %{http_code}\n' "${urls[@]}" |
		sed -n 's/^name=\([^ ]*\) .*/\1/p; /^status [^2]/p' | sort | uniq -c
}

# mn_routes_all <node> <host> <name...>: every named task answers through
# the node's HAProxy, and nothing else does (60 requests per task at most).
mn_routes_all() {
	local node=$1 host=$2 seen n missing=
	shift 2
	seen=$(mn_names "$node" "$host" $(( 20 * $# ))) || return 1
	for n in "$@"; do
		grep -q " $n\$" <<<"$seen" || missing+=" $n"
	done
	echo "node $node answered by:"
	echo "$seen"
	[ -z "$missing" ] || { echo "missing:$missing"; return 1; }
	[ "$(wc -l <<<"$seen")" -eq $# ] || { echo "answers from other tasks or failures"; return 1; }
}

# mn_running_names <via> <service>: the names of its running tasks.
mn_running_names() {
	mn_tasks "$1" "$2" | awk '$3 == "Running" {print $1}'
}

# mn_load_start <node> <tag> <host> <rate> <duration> [mn_load.py args...]:
# bounded load through the node's HAProxy in the background
# (tests/multinode/mn_load.py); the records go to
# $TEST_WORK/load-<tag>.jsonl, the summary to .json.
MN_LOAD_PIDS=()
mn_load_start() {
	local node=$1 tag=$2 host=$3 rate=$4 duration=$5
	shift 5
	# exec: $! is the generator itself, which mn_load_end signals.
	rm -f "$TEST_WORK/load-$tag.jsonl.started"
	( exec nsenter --net="/var/run/netns/$(mn_ns "$node")" -- \
		python3 "$SWARM_SPOA_SRC/tests/multinode/mn_load.py" run --host "$host" \
		--rate "$rate" --duration "$duration" --timeout "${MN_LOAD_TIMEOUT:-10}" "$@" \
		--out "$TEST_WORK/load-$tag.jsonl" >"$TEST_WORK/load-$tag.json" 2>"$TEST_WORK/load-$tag.err" ) &
	[ ${#MN_LOAD_PIDS[@]} -gt 0 ] || on_exit mn_load_stop
	MN_LOAD_PIDS+=($!)
}

# mn_load_started <tag...>: each of these loads has had its first answer
# (a bounded wait: wait_until mn_load_started ...).
mn_load_started() {
	local t
	for t in "$@"; do
		[ -e "$TEST_WORK/load-$t.jsonl.started" ] || { echo "load $t not under way yet"; return 1; }
	done
}

# mn_load_stop: stops the load generators still running (at exit).
mn_load_stop() {
	local pid
	for pid in "${MN_LOAD_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
}

# mn_load_wait: waits for every load started, fails if one could not run.
mn_load_wait() {
	local pid
	for pid in "${MN_LOAD_PIDS[@]}"; do
		wait "$pid" || { cat "$TEST_WORK"/load-*.err >&2; fail "a load generator failed"; }
	done
	MN_LOAD_PIDS=()
}

# mn_summary [--from T] [--to T] <tag...>: the summary (JSON) of those loads.
mn_summary() {
	local args=() t
	while [ $# -gt 0 ]; do
		case "$1" in
			--from|--to) args+=("$1" "$2"); shift 2 ;;
			*) args+=("$TEST_WORK/load-$1.jsonl"); shift ;;
		esac
	done
	python3 "$SWARM_SPOA_SRC/tests/multinode/mn_load.py" summary "${args[@]}"
}

# mn_json <json> <python expression over d>: one value out of a summary.
# Further arguments are in sys.argv[3:].
mn_json() {
	python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$@"
}

# mn_node_event <via> <node> <state> <since>: epoch seconds (with
# nanoseconds) of the first swarm event saying the node went to <state>
# since <since> (epoch seconds), or nothing.
mn_node_event() {
	mn_docker "$1" events --since "$4" --until "$(date +%s.%N)" --filter type=node \
		--filter "node=$(mn_name "$2")" --format '{{.TimeNano}} {{index .Actor.Attributes "state.new"}}' |
		awk -v s="$3" '$2 == s {print substr($1, 1, length($1) - 9) "." substr($1, length($1) - 8); exit}'
}

# mn_agent_nodes <via>: the node numbers running an agent.
mn_agent_nodes() {
	mn_docker "$1" service ps --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' \
		"${MN_PAIR_STACK}_agent" | awk '$2 == "Running" {sub(/.*-n/, "", $1); print $1}' | sort -u
}

# mn_leader <via>: the node number of the raft leader.
mn_leader() {
	mn_docker "$1" node ls --format '{{.Hostname}} {{.ManagerStatus}}' | awk '$2 == "Leader" {sub(/.*-n/, "", $1); print $1}'
}


# mn_tasks <node> <service>: the service's tasks that should run, one line
# each: "<task name> <node hostname> <state>". The task name is what the echo
# backend answers with (TASK_NAME={{.Task.Name}}).
mn_tasks() {
	mn_docker "$1" service ps --no-trunc --filter desired-state=running \
		--format '{{.Name}}.{{.ID}} {{.Node}} {{.CurrentState}}' "$2" | awk '{print $1, $2, $3}'
}

# mn_agent_cmd <node> <command>: one stats socket command on every agent of
# the pair, through `docker exec` on the node each runs on (a manager's
# dockerd must be reachable at <node>). Each answer starts with a line
# "== agent <task> on <node hostname>".
mn_agent_cmd() {
	local via=$1 cmd=$2 task node n cid
	while read -r task node; do
		[ -n "$task" ] || continue
		n=${node##*-n}
		cid=$(mn_docker "$n" ps -q --filter "label=com.docker.swarm.task.id=${task##*.}" 2>/dev/null) || cid=
		echo "== agent $task on $node"
		[ -n "$cid" ] || { echo "(not reachable)"; continue; }
		mn_docker "$n" exec "$cid" sh -c "echo '$cmd' | socat -t5 stdio unix:\$SWARM_SPOA_STATS_SOCKET" 2>&1
	done < <(mn_docker "$via" service ps --no-trunc --filter desired-state=running \
		--format '{{.Name}}.{{.ID}} {{.Node}}' "${MN_PAIR_STACK}_agent" 2>/dev/null)
}

# mn_tables_are <via> <service> <task name...>: every agent (two at least)
# lists exactly these tasks of the service as ready.
mn_tables_are() {
	local via=$1 svc=$2 ready
	shift 2
	ready=$(printf '%s,' "$@")
	mn_agent_cmd "$via" "show tasks $svc json" |
		python3 "$SWARM_SPOA_SRC/tests/multinode/mn_check.py" tables --ready "$ready"
}

# mn_agents_info <via> <key>: "<node> <value>" of one `show info` key, per agent.
mn_agents_info() {
	mn_agent_cmd "$1" "show info json" |
		python3 "$SWARM_SPOA_SRC/tests/multinode/mn_check.py" info --key "$2"
}

# mn_agents_stat <via> <key>: the same for `show stats` (total.<key>).
mn_agents_stat() {
	mn_agent_cmd "$1" "show stats json" |
		python3 "$SWARM_SPOA_SRC/tests/multinode/mn_check.py" info --key "total.$2"
}

# mn_load_end: ends the loads now (SIGTERM: no new request, those in flight
# finish and are recorded), and waits for them.
mn_load_end() {
	local pid
	for pid in "${MN_LOAD_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	mn_load_wait
}

# mn_local_agent_cmd <node> <command>: a stats socket command on the agent
# container running on that node, asked through that node's own dockerd
# (works while the node is cut off from the swarm's managers).
mn_local_agent_cmd() {
	local cid
	cid=$(mn_docker "$1" ps -q --filter "label=com.docker.swarm.service.name=${MN_PAIR_STACK}_agent" | head -1)
	[ -n "$cid" ] || { echo "no agent container on node $1"; return 1; }
	mn_docker "$1" exec "$cid" sh -c "echo '$2' | socat -t5 stdio unix:\$SWARM_SPOA_STATS_SOCKET"
}

# mn_agents_exclude <via> <service> <task name>: every agent (two at least)
# excludes that task now (passive health), one line per agent.
mn_agents_exclude() {
	mn_agent_cmd "$1" "show tasks $2 json" |
		python3 "$SWARM_SPOA_SRC/tests/multinode/mn_check.py" excluded --task "$3"
}

# mn_task_pid <node> <task name>: the host pid of the task's container (the
# nodes' dockerds share the host's pid namespace).
mn_task_pid() {
	local cid
	cid=$(mn_docker "$1" ps -q --filter "label=com.docker.swarm.task.id=${2##*.}")
	[ -n "$cid" ] || { echo "no container of task $2 on node $1" >&2; return 1; }
	mn_docker "$1" inspect -f '{{.State.Pid}}' "$cid"
}

# mn_task_hang <pid> on|off: the task's network namespace drops (on) or
# again lets through (off) every new TCP connection to port 8080 that does
# not come over its loopback: from the network it accepts nothing, as a
# hung process or a broken path would, while its health check (curl on
# 127.0.0.1) passes and Swarm keeps it running. The connections open to it
# when it hangs are reset, so that every request from then on needs a new
# one (HAProxy would otherwise go on using those it keeps idle).
mn_task_hang() {
	if [ "$2" = on ]; then
		nsenter -t "$1" -n iptables -w -I INPUT ! -i lo -p tcp --dport 8080 --syn -j DROP
		nsenter -t "$1" -n ss -K -t state established '( sport = :8080 )' >/dev/null
	else
		nsenter -t "$1" -n iptables -w -D INPUT ! -i lo -p tcp --dport 8080 --syn -j DROP
	fi
}

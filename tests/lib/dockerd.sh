# Docker helpers for the swarm tests. Source after common.sh:
#
#   swarm_test_start         the three below, and docker_cleanup_test at exit
#   dockerd_ensure           dockerd answering (started here if needed)
#   swarm_ensure             this dockerd is an active swarm manager
#   docker_cleanup_test      remove what carries this test's label
#
# It sources stack.sh (deploying and removing stacks) too.
#
# The tests always call /usr/bin/docker (the client of Debian's docker.io,
# matching its dockerd); $DOCKER holds it. Everything a test creates carries
# the label "$TEST_LABEL" so that a later run can remove what an interrupted
# one left behind.

DOCKER=${DOCKER:-/usr/bin/docker}
DOCKERD_STARTED_PID=

# Label key put on every object a test creates; the value is the test name.
TEST_LABEL_KEY=swarm-spoa.test

# dockerd_ensure: makes sure a dockerd answers on the default socket. If none
# does, installs docker.io when missing, starts dockerd in the background
# (log in $TEST_WORK/dockerd.log), waits for it and registers its stop at
# exit. A dockerd that was already running is reused and left running.
dockerd_ensure() {
	local dockerd
	if [ ! -x "$DOCKER" ]; then
		[ "$(id -u)" = 0 ] || skip "$DOCKER missing and not root to install docker.io"
		log "installing docker.io"
		ensure_cmd dockerd docker.io
		[ -x "$DOCKER" ] || fail "docker.io installed but $DOCKER is missing"
	fi
	if "$DOCKER" info >/dev/null 2>&1; then
		return 0
	fi
	dockerd=$(command -v dockerd || true)
	for dockerd in "$dockerd" /usr/sbin/dockerd /usr/bin/dockerd; do
		[ -x "$dockerd" ] && break
	done
	[ -x "$dockerd" ] || fail "no dockerd binary found"
	[ "$(id -u)" = 0 ] || skip "dockerd is not running and starting it needs root"
	if [ -S /var/run/docker.sock ] && ! pgrep -x dockerd >/dev/null; then
		rm -f /var/run/docker.sock   # left by a dockerd that died
	fi
	log "starting $dockerd (log: $TEST_WORK/dockerd.log)"
	setsid "$dockerd" >"$TEST_WORK/dockerd.log" 2>&1 </dev/null &
	DOCKERD_STARTED_PID=$!
	on_exit dockerd_cleanup
	if ! wait_for 60 "$DOCKER" info; then
		tail -20 "$TEST_WORK/dockerd.log" >&2
		fail "dockerd did not answer within 60 s"
	fi
	log "dockerd $DOCKERD_STARTED_PID is up"
}

# dockerd_cleanup: stops dockerd if this test started it (SIGTERM, then
# SIGKILL after 30 s). A dockerd found running is never touched.
dockerd_cleanup() {
	local pid=$DOCKERD_STARTED_PID
	[ -n "$pid" ] || return 0
	DOCKERD_STARTED_PID=
	kill -0 "$pid" 2>/dev/null || return 0
	log "stopping dockerd $pid"
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_for 30 _dockerd_gone "$pid"; then
		log "dockerd $pid still there after 30 s, killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
}

_dockerd_gone() {
	! kill -0 "$1" 2>/dev/null
}

# swarm_ensure: makes this dockerd the manager of an active swarm. An active
# manager (from an earlier run, or the user's) is reused as it is; a node
# stuck as a worker or in an error state leaves and starts a fresh swarm.
swarm_ensure() {
	local state control
	state=$("$DOCKER" info -f '{{.Swarm.LocalNodeState}}' 2>/dev/null) ||
		fail "docker info failed"
	control=$("$DOCKER" info -f '{{.Swarm.ControlAvailable}}' 2>/dev/null)
	case "$state" in
		active)
			[ "$control" = true ] && return 0
			log "this node is a swarm worker, leaving to start a single-node swarm"
			"$DOCKER" swarm leave --force >/dev/null 2>&1 || true
			;;
		locked)
			fail "the swarm is locked (autolock): unlock it first"
			;;
		pending|error)
			log "swarm state '$state', leaving it"
			"$DOCKER" swarm leave --force >/dev/null 2>&1 || true
			;;
	esac
	log "docker swarm init --advertise-addr 127.0.0.1"
	"$DOCKER" swarm init --advertise-addr 127.0.0.1 >/dev/null ||
		fail "docker swarm init failed"
	wait_until 30 _swarm_node_ready
}

_swarm_node_ready() {
	[ "$("$DOCKER" node ls -q --filter role=manager 2>/dev/null | wc -l)" -ge 1 ] &&
		"$DOCKER" node ls --format '{{.Status}}' | grep -x Ready >/dev/null
}

# swarm_test_start: what a swarm test does first: dockerd answering, this
# node an active swarm manager, what an interrupted run of the test left
# removed, and what this run creates removed at exit.
swarm_test_start() {
	dockerd_ensure
	swarm_ensure
	docker_cleanup_test
	on_exit docker_cleanup_test
}

# docker_cleanup_test [test-name]: removes the stacks, services, containers,
# networks, volumes, secrets and configs labelled as created by the test
# (default $TEST_NAME), then waits (bounded) until the networks are gone.
docker_cleanup_test() {
	local filter="label=$TEST_LABEL_KEY=${1:-$TEST_NAME}" ids stacks
	if [ "$("$DOCKER" info -f '{{.Swarm.LocalNodeState}}' 2>/dev/null)" = active ]; then
		# A labelled service deployed by a stack takes its whole stack
		# (its networks, secrets and configs) along.
		ids=$("$DOCKER" service ls -q --filter "$filter" 2>/dev/null)
		if [ -n "$ids" ]; then
			stacks=$("$DOCKER" service inspect $ids \
				-f "{{index .Spec.Labels \"$STACK_NS_LABEL\"}}" 2>/dev/null | sort -u)
			# shellcheck disable=SC2086
			STACK_DOCKER='' stack_remove $stacks
			ids=$("$DOCKER" service ls -q --filter "$filter" 2>/dev/null)
			[ -z "$ids" ] || "$DOCKER" service rm $ids >/dev/null 2>&1 || true
		fi
		ids=$("$DOCKER" secret ls -q --filter "$filter" 2>/dev/null)
		[ -z "$ids" ] || "$DOCKER" secret rm $ids >/dev/null 2>&1 || true
		ids=$("$DOCKER" config ls -q --filter "$filter" 2>/dev/null)
		[ -z "$ids" ] || "$DOCKER" config rm $ids >/dev/null 2>&1 || true
	fi
	ids=$("$DOCKER" ps -aq --filter "$filter" 2>/dev/null)
	[ -z "$ids" ] || "$DOCKER" rm -f -v $ids >/dev/null 2>&1 || true
	ids=$("$DOCKER" volume ls -q --filter "$filter" 2>/dev/null)
	[ -z "$ids" ] || "$DOCKER" volume rm -f $ids >/dev/null 2>&1 || true
	# Service tasks release their network endpoints a moment after the
	# services are removed: retry until the networks go, bounded.
	STACK_DOCKER='' wait_for 30 _stack_rm_networks "$filter" || log "cleanup: $WAIT_LAST_OUTPUT"
}

# images_build [image...]: builds the swarm-spoa images with
# docker/build-images.sh (log in $TEST_WORK/build-images.log).
images_build() {
	log "building images ${*:-agent haproxy echo}"
	if ! SWARM_SPOA_BUILD_LOGS=$TEST_WORK/build DOCKER=$DOCKER \
		"$SWARM_SPOA_SRC/docker/build-images.sh" "$@" >"$TEST_WORK/build-images.log" 2>&1; then
		tail -40 "$TEST_WORK/build-images.log" >&2
		fail "docker/build-images.sh failed"
	fi
	sed 's/^/    /' "$TEST_WORK/build-images.log" >&2
}

# docker_inspect_is <object> <format> <expected>: does `docker inspect -f
# <format> <object>` print <expected>? For wait_until, which re-runs it:
#   wait_until 30 docker_inspect_is web '{{.State.Health.Status}}' healthy
docker_inspect_is() {
	local got
	got=$("$DOCKER" inspect -f "$2" "$1" 2>&1) || { echo "$got"; return 1; }
	[ "$got" = "$3" ] || { echo "$1: $2 is '$got', waiting for '$3'"; return 1; }
}

. "$(dirname "${BASH_SOURCE[0]}")/stack.sh"

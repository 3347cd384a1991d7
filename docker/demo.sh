#!/bin/bash
# The swarm-spoa demo, from a fresh Debian machine (as root) to routed
# requests:
#   - installs docker.io and starts dockerd when none answers (left running,
#     log in /var/log/swarm-spoa-dockerd.log);
#   - makes this dockerd a single-node swarm when it is not in one;
#   - builds the images (docker/build-images.sh);
#   - creates the shared "swarm-spoa" overlay network and the secrets of
#     HAProxy's runtime API behind TLS (docker/runtime-tls.sh), deploys the
#     pair (docker/stack.yml with docker/stack-runtime-tls.yml, stack
#     "swarm-spoa") and the demo apps (docker/demo-stack.yml, stack "demo");
#   - sends requests through HAProxy on 127.0.0.1 and prints who answered,
#     then the agent's "show routes".
#
# Usage: docker/demo.sh [--down]
#   --down   remove the two stacks, the network and the secrets
#
# SWARM_SPOA_HTTP_PORT / SWARM_SPOA_HTTPS_PORT choose HAProxy's host ports
# (default 80 and 443).
set -euo pipefail

DOCKER=${DOCKER:-/usr/bin/docker}
here=$(cd "$(dirname "$0")" && pwd)
export SWARM_SPOA_HTTP_PORT=${SWARM_SPOA_HTTP_PORT:-80}
export SWARM_SPOA_HTTPS_PORT=${SWARM_SPOA_HTTPS_PORT:-443}
network=${SWARM_SPOA_NETWORK:-swarm-spoa}

log() { echo "demo: $*"; }
die() { echo "demo: error: $*" >&2; exit 1; }

# until_ok <seconds> <command...>: retries every 0.5 s, bounded.
until_ok() {
	local deadline=$(( $(date +%s) + $1 ))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.5
	done
}

no_stack_containers() {
	local ns
	for ns in demo swarm-spoa; do
		[ -z "$("$DOCKER" ps -q --filter "label=com.docker.stack.namespace=$ns")" ] || return 1
	done
}

down() {
	"$DOCKER" stack rm demo swarm-spoa 2>/dev/null || true
	log "waiting for the stacks' tasks to go"
	until_ok 60 no_stack_containers || true
	until_ok 30 "$DOCKER" network rm "$network" || true
	"$DOCKER" secret rm swarm-spoa-runtime-ca swarm-spoa-runtime-haproxy \
		swarm-spoa-runtime-agent >/dev/null 2>&1 || true
	log "removed"
}

case "${1:-}" in
	--down) down; exit 0 ;;
	"") ;;
	*) sed -n '2,20p' "$0"; exit 2 ;;
esac

# apt_install <package...>
apt_install() {
	log "installing $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1 || {
		apt-get update -q >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
	}
}

[ -x "$DOCKER" ] || apt_install docker.io
command -v curl >/dev/null 2>&1 || apt_install curl
if ! "$DOCKER" info >/dev/null 2>&1; then
	dockerd=$(command -v dockerd || echo /usr/sbin/dockerd)
	log "starting dockerd (log: /var/log/swarm-spoa-dockerd.log)"
	setsid "$dockerd" >>/var/log/swarm-spoa-dockerd.log 2>&1 </dev/null &
	until_ok 60 "$DOCKER" info || die "dockerd did not start, see /var/log/swarm-spoa-dockerd.log"
fi
if [ "$("$DOCKER" info -f '{{.Swarm.LocalNodeState}}')" != active ]; then
	log "docker swarm init --advertise-addr 127.0.0.1"
	"$DOCKER" swarm init --advertise-addr 127.0.0.1 >/dev/null
fi
[ "$("$DOCKER" info -f '{{.Swarm.ControlAvailable}}')" = true ] ||
	die "this node is a swarm worker: run the demo on a manager"

"$here/build-images.sh"

if ! "$DOCKER" network inspect "$network" >/dev/null 2>&1; then
	log "docker network create -d overlay --attachable $network"
	"$DOCKER" network create -d overlay --attachable "$network" >/dev/null
fi

DOCKER=$DOCKER "$here/runtime-tls.sh" swarm-spoa | sed 's/^/demo: /'
log "deploying the pair (stack swarm-spoa, HTTP on port $SWARM_SPOA_HTTP_PORT) and the demo apps (stack demo)"
SWARM_SPOA_RUNTIME_TLS_PREFIX=swarm-spoa "$DOCKER" stack deploy --resolve-image never \
	-c "$here/stack.yml" -c "$here/stack-runtime-tls.yml" swarm-spoa >/dev/null
"$DOCKER" stack deploy --resolve-image never -c "$here/demo-stack.yml" demo >/dev/null

url=http://127.0.0.1:$SWARM_SPOA_HTTP_PORT
routed() {
	curl -fs --max-time 2 -H 'Host: demo.local' "$url/$1" | grep "name=demo_$2" >/dev/null
}
log "waiting for HAProxy to route demo.local"
until_ok 120 routed "" whoami && until_ok 60 routed api/ api ||
	die "demo.local is not routed after 3 minutes: docker service ls; docker service logs swarm-spoa_agent"

echo
for path in / / / /api/users/ /api/users/?page=2; do
	printf 'GET http://demo.local%-18s -> ' "$path"
	curl -s --max-time 5 -H 'Host: demo.local' "$url$path"
done
printf 'GET http://unknown.local/%-14s -> ' ""
curl -s --max-time 5 -H 'Host: unknown.local' "$url/"

agent=$("$DOCKER" ps -q --filter label=com.docker.swarm.service.name=swarm-spoa_agent | head -1)
echo
echo "show routes (agent container ${agent:0:12}):"
"$DOCKER" exec "$agent" sh -c 'echo "show routes" | socat -t2 stdio unix:$SWARM_SPOA_STATS_SOCKET'
echo
log "running; 'docker/demo.sh --down' removes it"

#!/bin/sh
# Entry point of the swarm-spoa agent image.
#
# The image starts as root for one thing only: to learn the group of the
# Docker socket the agent talks to. It then runs the agent as the user
# swarm-spoa, with that group as its one supplementary group, no capability
# (none permitted, none inheritable, an empty bounding set) and
# no_new_privs, so that nothing it executes can gain one back.
#
# Started as another user (`user:` in a stack file, `docker run --user`,
# a rootless engine's mapping), it runs the command as it is.
#
# Options only (`docker run IMAGE --log-level debug`) are the agent's;
# any other command (`docker run IMAGE socat ...`) runs as swarm-spoa too.
set -e

case "${1:-}" in
	"" | -*) set -- /usr/sbin/swarm-spoa "$@" ;;
esac

[ "$(id -u)" = 0 ] || exec "$@"

# The socket: --docker on the command line, else SWARM_SPOA_DOCKER; "auto"
# is DOCKER_HOST's, as the agent reads it.
docker=${SWARM_SPOA_DOCKER:-}
prev=
for arg in "$@"; do
	case "$prev" in --docker) docker=$arg ;; esac
	case "$arg" in --docker=*) docker=${arg#--docker=} ;; esac
	prev=$arg
done
[ "$docker" != auto ] || docker=${DOCKER_HOST:-unix:///var/run/docker.sock}
sock=
case "$docker" in
	unix://*) sock=${docker#unix://} ;;
	/*) sock=$docker ;;
esac

groups=--clear-groups
if [ -n "$sock" ] && [ -S "$sock" ]; then
	gid=$(stat -c %g "$sock")
	mode=$(stat -c %a "$sock")
	# The group needs read and write (connect(2) on a unix socket asks
	# for write).
	if [ $(( 0$mode & 060 )) -eq 48 ]; then
		groups=--groups=$gid
	else
		echo "swarm-spoa: $sock is mode $mode: its group cannot use it, the agent runs as root" \
			"(make it 0660, or start the agent as a user that may open it)" >&2
		exec "$@"
	fi
fi

exec setpriv --reuid=swarm-spoa --regid=swarm-spoa "$groups" \
	--inh-caps=-all --ambient-caps=-all --bounding-set=-all --no-new-privs -- "$@"

#!/bin/sh
# Entry point of the swarm-spoa HAProxy image.
#
# haproxy.cfg takes maxconn from SWARM_SPOA_MAXCONN (a conservative default
# when unset), and HAProxy refuses to start when the file descriptor limit
# cannot hold about two per connection. Container limits vary with how
# dockerd was started (its own limit is inherited, and stack files cannot set
# ulimits), so unless the operator chose a value, an edge proxy gets as many
# connections as the hard limit found here allows, up to 20000.
set -e

if [ -z "${SWARM_SPOA_MAXCONN:-}" ]; then
	hard=$(ulimit -Hn)
	if [ "$hard" != unlimited ]; then
		maxconn=$(( (hard - 512) / 2 ))
		[ "$maxconn" -le 20000 ] || maxconn=20000
		[ "$maxconn" -ge 256 ] || maxconn=256
		export SWARM_SPOA_MAXCONN="$maxconn"
	fi
fi

# "docker run IMAGE -d" style: options only, haproxy implied.
case "${1:-}" in
	-*) set -- haproxy "$@" ;;
esac
exec "$@"

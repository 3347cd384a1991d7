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

# TLS (docs/tls.md). HAProxy needs a default certificate when it starts:
# the first line of the crt-list, served for unknown server names. It is
# the PEM file SWARM_SPOA_DEFAULT_CERT names (a secret mounted into this
# service), or a self-signed one made here; the agents push the services'
# certificates through the runtime API (and may replace this default with
# their --default-cert). A crt-list provided by the operator is kept.
if [ -z "${SWARM_SPOA_HTTPS_BIND:-}" ]; then
	unset SWARM_SPOA_HTTPS_BIND   # empty: HTTPS off (haproxy.cfg tests "defined")
fi
if [ -z "${SWARM_SPOA_TRUSTED_PROXIES:-}" ]; then
	unset SWARM_SPOA_TRUSTED_PROXIES   # empty: no proxy in front is trusted
fi
if [ -n "${SWARM_SPOA_HTTPS_BIND:-}${SWARM_SPOA_TLS_PASSTHROUGH_BIND:-}" ] &&
	[ ! -s "$SWARM_SPOA_CRT_LIST" ]; then
	default=${SWARM_SPOA_DEFAULT_CERT:-$(dirname "$SWARM_SPOA_CRT_LIST")/default.pem}
	if [ ! -s "$default" ]; then
		key=$(mktemp) crt=$(mktemp)
		openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -keyout "$key" -out "$crt" \
			-subj "/CN=swarm-spoa default certificate" 2>/dev/null
		(umask 077 && cat "$crt" "$key" >"$default")
		rm -f "$key" "$crt"
	fi
	echo "$default" >"$SWARM_SPOA_CRT_LIST"
fi

# The runtime API over TCP for the agents, on this container's address in
# SWARM_SPOA_RUNTIME_SUBNET (docker/stack.yml gives the control network a
# fixed subnet): only the agents' network reaches it, never the apps'.
in_subnet() {   # <ipv4> <a.b.c.d/bits>
	ip=$1 net=${2%/*} bits=${2#*/}
	[ "$bits" -ge 0 ] 2>/dev/null && [ "$bits" -le 32 ] || return 1
	mask=$(( bits == 0 ? 0 : (0xffffffff << (32 - bits)) & 0xffffffff ))
	[ $(( $(ipv4_int "$ip") & mask )) -eq $(( $(ipv4_int "$net") & mask )) ]
}
ipv4_int() {
	old_ifs=$IFS
	IFS=.
	# shellcheck disable=SC2086
	set -- $1
	IFS=$old_ifs
	echo $(( ($1 << 24) + ($2 << 16) + ($3 << 8) + $4 ))
}
if [ -n "${SWARM_SPOA_RUNTIME_SUBNET:-}" ] && [ -z "${SWARM_SPOA_RUNTIME_LISTEN:-}" ]; then
	for ip in $(hostname -I); do
		case "$ip" in *:*) continue ;; esac
		if in_subnet "$ip" "$SWARM_SPOA_RUNTIME_SUBNET"; then
			export SWARM_SPOA_RUNTIME_LISTEN="$ip:${SWARM_SPOA_RUNTIME_PORT:-9999}"
			break
		fi
	done
	[ -n "${SWARM_SPOA_RUNTIME_LISTEN:-}" ] ||
		echo "swarm-spoa: no address in $SWARM_SPOA_RUNTIME_SUBNET: the agents cannot push certificates" >&2
fi

# "docker run IMAGE -d" style: options only, haproxy implied.
case "${1:-}" in
	-*) set -- haproxy "$@" ;;
esac
exec "$@"

#!/bin/bash
# Creates the Docker secrets that docker/stack-runtime-tls.yml mounts, for
# HAProxy's runtime API behind TLS with client certificates
# (docs/security.md, "The runtime API and the control network"):
#
#   <prefix>-runtime-ca       the pair's own CA (certificate only)
#   <prefix>-runtime-haproxy  HAProxy's certificate and key, of that CA
#   <prefix>-runtime-agent    the agents' client certificate and key
#
# Secrets that exist already are kept (run it before every deploy). The
# CA's key is not kept: nothing else can be signed with it. To renew, pick
# another prefix (SWARM_SPOA_RUNTIME_TLS_PREFIX at deploy time) and deploy
# again; the old secrets can be removed once no task uses them.
#
# Usage: docker/runtime-tls.sh [--label KEY=VALUE]... [PREFIX]
#   PREFIX   default: $SWARM_SPOA_RUNTIME_TLS_PREFIX, or swarm-spoa
#   --label  more labels on the secrets
# Needs openssl and a docker client talking to a swarm manager ($DOCKER).
set -euo pipefail

DOCKER=${DOCKER:-docker}
label=()
while [ $# -gt 0 ]; do
	case "$1" in
		--label) label+=(--label "$2"); shift 2 ;;
		-*) sed -n '2,20p' "$0" >&2; exit 2 ;;
		*) break ;;
	esac
done
prefix=${1:-${SWARM_SPOA_RUNTIME_TLS_PREFIX:-swarm-spoa}}
days=${SWARM_SPOA_RUNTIME_TLS_DAYS:-3650}

have() { "$DOCKER" secret inspect "$1" >/dev/null 2>&1; }

n=0
for s in ca haproxy agent; do
	have "$prefix-runtime-$s" && n=$((n + 1))
done
if [ "$n" = 3 ]; then
	echo "runtime-tls: the secrets $prefix-runtime-{ca,haproxy,agent} exist"
	exit 0
fi
if [ "$n" != 0 ]; then
	echo "runtime-tls: error: some of $prefix-runtime-{ca,haproxy,agent} exist, not all:" \
		"remove them or use another prefix" >&2
	exit 1
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
umask 077
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
openssl req -x509 "${ec[@]}" -days "$days" -subj "/CN=swarm-spoa runtime CA $prefix" \
	-keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
for who in haproxy agent; do
	usage=serverAuth
	[ "$who" = agent ] && usage=clientAuth
	openssl req "${ec[@]}" -subj "/CN=swarm-spoa runtime $who" \
		-keyout "$dir/$who.key" -out "$dir/$who.csr" 2>/dev/null
	printf 'extendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$usage" >"$dir/$who.ext"
	openssl x509 -req -in "$dir/$who.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
		-CAcreateserial -days "$days" -extfile "$dir/$who.ext" -out "$dir/$who.crt" 2>/dev/null
	cat "$dir/$who.crt" "$dir/$who.key" >"$dir/$who.pem"
done
label+=(--label swarm-spoa.runtime-tls="$prefix")
"$DOCKER" secret create "${label[@]}" "$prefix-runtime-ca" "$dir/ca.pem" >/dev/null
"$DOCKER" secret create "${label[@]}" "$prefix-runtime-haproxy" "$dir/haproxy.pem" >/dev/null
"$DOCKER" secret create "${label[@]}" "$prefix-runtime-agent" "$dir/agent.pem" >/dev/null
echo "runtime-tls: created the secrets $prefix-runtime-{ca,haproxy,agent}"

#!/bin/bash
# The examples of Interlock's documentation (Docker's docs repository,
# ee/ucp/interlock/usage/), as stack files with their labels as the pages
# write them (tests/swarm/interlock/*.yml, each saying which page and what
# was changed), deployed on the single-node swarm behind the pair of
# docker/stack.yml, each with the behaviour its page describes checked
# through HAProxy's published port:
#   context root          /app/ reaches the app with its path, others 404
#   context root rewrite  /app -> 301 /app/; the app sees / and /index.html
#   redirects             old.local -> 302 http://new.local/..., new.local served
#   websockets            an upgrade on /ws, frames echoed end to end
#   sticky sessions       the app sets its own cookie "session": with it a
#                         client stays on one of 5 tasks, new clients spread
#   canary                4 + 1 replicas: 20 % +- 4 sigma to demo-version-2;
#                         demo-v1 scaled to 0: all of it
#   service clusters      a pair per cluster (us-east, us-west): each answers
#                         its own host and 404 for the other's
#   SSL passthrough       the TLS-only task's certificate (secrets app.cert,
#                         app.key) is the one the client sees
#   SSL termination       the secrets demo.local.cert/.key served by HAProxy,
#                         plain HTTP to the task
#   VIP mode              only where the kernel has IPVS; else left out, and
#                         the log says so
# The examples that share demo.local run one after the other in one stack
# (a host stays its owner's: docs/security.md); after each, the stack is
# removed and its host answers 404. Everything created is removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/dockerd.sh"

test_init swarm_interlock_examples
ensure_cmd curl curl
ensure_cmd openssl openssl
ensure_cmd python3 python3
swarm_test_start
images_build

export SWARM_SPOA_TAG=${SWARM_SPOA_TAG:-dev}
ex=$here/interlock
helper=$here/interlock_examples.py
work=$TEST_WORK
label=(--label "$TEST_LABEL_KEY=$TEST_NAME")
pair=sspil           # the pair every example but the service clusters goes through
east=sspile          # the pairs of the service clusters us-east and us-west
west=sspilw
app=sspildemo        # the examples' stack
export INTERLOCK_EXAMPLES_NETWORK=sspil-demo
http=$(free_port)
https=$(free_port)
east_http=$(free_port)
west_http=$(free_port)
# control subnets of their own, away from those of other tests' pairs
sub=$(( $$ % 80 * 3 ))

# an interrupted run's leftovers; the app stack carries no test label (its
# labels are the documentation's), so it goes by name
stack_remove "$app"
on_exit stack_remove "$app"

# --- secrets, as the documentation's openssl commands make them ------------------
mkcert() {   # <key file> <cert file>
	openssl req -new -newkey rsa:2048 -days 30 -nodes -x509 \
		-subj "/C=US/ST=SomeState/L=SomeCity/O=Interlock/CN=demo.local" \
		-keyout "$work/$1" -out "$work/$2" 2>/dev/null || fail "openssl req failed"
}
mkcert demo.local.key demo.local.cert
mkcert app.key app.cert
for s in demo.local.cert demo.local.key app.cert app.key; do
	"$DOCKER" secret rm "$s" >/dev/null 2>&1 || true
	"$DOCKER" secret create "${label[@]}" "$s" "$work/$s" >/dev/null || fail "secret create $s"
done
fingerprint() { openssl x509 -noout -fingerprint -sha256 -in "$1" | cut -d= -f2; }
served_fingerprint() {   # <port> <sni>
	openssl s_client -connect "127.0.0.1:$1" -servername "$2" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2
}
served_is() {   # <port> <sni> <fingerprint>, for wait_until
	local got
	got=$(served_fingerprint "$1" "$2")
	[ "$got" = "$3" ] || { echo "$2 on $1: certificate '$got', waiting for '$3'"; return 1; }
}

# --- the pairs ---------------------------------------------------------------------
"$DOCKER" network create -d overlay --attachable "${label[@]}" "$INTERLOCK_EXAMPLES_NETWORK" \
	>/dev/null || fail "network create"
# deploy_pair <stack> <http port> <https port> <subnet> <cluster> <override file>
deploy_pair() {
	SWARM_SPOA_NETWORK=$INTERLOCK_EXAMPLES_NETWORK SWARM_SPOA_HTTP_PORT=$2 \
	SWARM_SPOA_HTTPS_PORT=$3 SWARM_SPOA_CONTROL_SUBNET=$4 SWARM_SPOA_SERVICE_CLUSTER=$5 \
		stack_docker stack deploy --resolve-image never -c "$SWARM_SPOA_SRC/docker/stack.yml" \
		-c "$6" "$1" >"$work/deploy-$1.log" 2>&1 ||
		fail "deploy of the pair $1: $(cat "$work/deploy-$1.log")"
	pair_label "$1"
}
t0=$(now_ms)
deploy_pair "$pair" "$http" "$https" "10.253.$sub.0/24" "" "$ex/pair-tls-passthrough.yml"
deploy_pair "$east" "$east_http" "$(free_port)" "10.253.$(( sub + 1 )).0/24" us-east \
	"$ex/pair-service-cluster.yml"
deploy_pair "$west" "$west_http" "$(free_port)" "10.253.$(( sub + 2 )).0/24" us-west \
	"$ex/pair-service-cluster.yml"
wait_until 180 pair_answers "$http"
log "pair $pair answers on $http (HTTPS $https) after $(( $(now_ms) - t0 )) ms"

# --- helpers -------------------------------------------------------------------------
# req <port> <host> <path> [curl args]: "<code> <Location>|<body>" of one request
req() {
	local port=$1 host=$2 path=$3 out
	shift 3
	out=$(curl -sS --max-time 5 -o "$work/body" -w '%{http_code} %{redirect_url}' \
		-H "Host: $host" "$@" "http://127.0.0.1:$port$path" 2>&1) || out="000 $out"
	printf '%s|%s' "$out" "$(cat "$work/body" 2>/dev/null)"
}
# expect <what> <port> <host> <path> <pattern>: the answer matches the shell
# pattern, else the test fails
expect() {
	local got
	got=$(req "$2" "$3" "$4")
	# shellcheck disable=SC2053
	[[ "$got" == $5 ]] || fail "$1: $3$4 answered '$got', expected '$5'"
}
answers() {   # for wait_until: <port> <host> <path> <pattern>
	local got
	got=$(req "$1" "$2" "$3")
	# shellcheck disable=SC2053
	[[ "$got" == $4 ]] || { echo "$2$3: '$got'"; return 1; }
}
deploy() {   # <example>: the example's stack file as stack $app
	t0=$(now_ms)
	stack_deploy "$app" "$ex/$1.yml" || fail "deploy of $1: $(cat "$work/deploy-$app.log")"
}
# undeploy <host...>: docker stack rm, the services gone, each host 404
undeploy() {
	local h
	stack_remove "$app"
	stack_services_gone "$app" >/dev/null || fail "services of $app left after stack rm"
	for h in "$@"; do
		wait_until 30 answers "$http" "$h" / "404 *"
	done
}
passed=()
example_pass() {
	passed+=("$1")
	log "example $1: passed ($(( $(now_ms) - t0 )) ms with deploy and removal)"
}

# --- context root --------------------------------------------------------------------
deploy context-root
wait_until 120 answers "$http" demo.local /app/ "200 *name=* path=/app/ *metadata=demo-context-root*"
expect "context root" "$http" demo.local /app/ping "200 *path=/app/ping *"
expect "context root" "$http" demo.local / "404 *"
expect "context root" "$http" demo.local /other "404 *"
undeploy demo.local
example_pass "context root"

# --- context root with rewrite -------------------------------------------------------
deploy context-root-rewrite
wait_until 120 answers "$http" demo.local /app/ "200 *path=/ *metadata=demo-context-root*"
expect "rewrite" "$http" demo.local /app "301 */app/|*"
# Interlock's rewrite ^([^.]*[^/])$ $1/: a path with no dot and no
# trailing slash first gets the slash
expect "rewrite" "$http" demo.local /app/ping "301 */app/ping/|*"
expect "rewrite" "$http" demo.local /app/ping/ "200 *path=/ping/ *"
expect "rewrite" "$http" demo.local /app/index.html "200 *path=/index.html *"
expect "rewrite" "$http" demo.local / "404 *"
undeploy demo.local
example_pass "context root rewrite"

# --- redirects -----------------------------------------------------------------------
deploy redirects
wait_until 120 answers "$http" new.local /ping "200 *host=new.local path=/ping *metadata=demo-new*"
expect "redirects" "$http" old.local / "302 http://new.local/|*"
expect "redirects" "$http" old.local "/some/page?q=1" "302 http://new.local/some/page?q=1|*"
undeploy old.local new.local
example_pass "redirects"

# --- websockets ----------------------------------------------------------------------
deploy websockets
wait_until 120 answers "$http" demo.local /ws "200 *"
python3 "$helper" websocket --port "$http" --host demo.local --path /ws ||
	fail "websocket through HAProxy (see above)"
undeploy demo.local
example_pass "websockets"

# --- sticky sessions with the application's cookie -----------------------------------
deploy sticky-cookie
wait_until 120 python3 "$helper" tasks --port "$http" --host demo.local --path /ping --count 5
python3 "$helper" sticky --port "$http" --host demo.local --path /ping --cookie session \
	--tasks 5 --clients 20 --requests 5 || fail "sticky sessions (see above)"
undeploy demo.local
example_pass "sticky sessions"

# --- canary by replica count ----------------------------------------------------------
deploy canary
wait_until 120 python3 "$helper" tasks --port "$http" --host demo.local --path /ping --count 5
python3 "$helper" canary --port "$http" --host demo.local --path /ping \
	--match "metadata=demo-version-2" --share 0.2 --requests 400 || fail "canary share (see above)"
stack_docker service scale -d "${app}_demo-v1=0" >/dev/null
# all of 40 requests in a row to demo-version-2 once v1's tasks are gone
wait_until 90 python3 "$helper" canary --port "$http" --host demo.local --path /ping \
	--match "metadata=demo-version-2" --share 1 --requests 40
undeploy demo.local
example_pass "canary"

# --- service clusters ----------------------------------------------------------------
wait_until 120 pair_answers "$east_http"
wait_until 60 pair_answers "$west_http"
deploy service-clusters
wait_until 120 answers "$east_http" demo-east.local /ping "200 *metadata=us-east*"
wait_until 60 answers "$west_http" demo-west.local /ping "200 *metadata=us-west*"
expect "us-east cluster" "$east_http" demo-west.local /ping "404 *"
expect "us-west cluster" "$west_http" demo-east.local /ping "404 *"
expect "pair of no cluster" "$http" demo-east.local /ping "404 *"
expect "pair of no cluster" "$http" demo-west.local /ping "404 *"
stack_remove "$app"
wait_until 30 answers "$east_http" demo-east.local /ping "404 *"
wait_until 30 answers "$west_http" demo-west.local /ping "404 *"
example_pass "service clusters"
stack_remove "$east" "$west"

# --- SSL passthrough -----------------------------------------------------------------
deploy ssl-passthrough
appfp=$(fingerprint "$work/app.cert")
wait_until 120 served_is "$https" demo.local "$appfp"
body=$(curl -fsS --max-time 5 --cacert "$work/app.cert" --resolve "demo.local:$https:127.0.0.1" \
	"https://demo.local:$https/ping") || fail "HTTPS to the passthrough service"
# HAProxy did not see the request: no X-Forwarded-Proto was added
[[ "$body" == *"path=/ping xfp=- "*"metadata=demo-ssl-passthrough"* ]] ||
	fail "passthrough answer: $body"
undeploy demo.local
example_pass "SSL passthrough"

# --- SSL termination -----------------------------------------------------------------
deploy ssl-termination
termfp=$(fingerprint "$work/demo.local.cert")
# the agents mount the secrets into their own service first (a rolling update)
wait_until 240 served_is "$https" demo.local "$termfp"
https_term() {   # the documentation's curl https://demo.local/ping, verified
	curl -fsS --max-time 5 --cacert "$work/demo.local.cert" \
		--resolve "demo.local:$https:127.0.0.1" "https://demo.local:$https/ping"
}
# the certificate may be pushed before the task runs
wait_until 120 https_term
body=$(https_term) || fail "HTTPS to the terminated service"
[[ "$body" == *"host=demo.local:$https path=/ping xfp=https "* ]] || fail "termination answer: $body"
undeploy demo.local
example_pass "SSL termination"

# --- VIP mode ------------------------------------------------------------------------
if [ -e /proc/net/ip_vs ]; then
	deploy vip-mode
	wait_until 120 answers "$http" demo.local /ping "200 *metadata=demo-vip*"
	undeploy demo.local
	example_pass "VIP mode"
else
	log "example VIP mode: LEFT OUT: the kernel has no IPVS (no /proc/net/ip_vs), so Swarm's virtual IPs do not work on this machine"
fi

log "examples passed: ${#passed[@]}: ${passed[*]}"
test_pass

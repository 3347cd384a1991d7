#!/bin/bash
# Soak benchmark: the figures of docs/benchmarks.md, "Soak". Not a CI test.
#
#   bench/soak.sh                                  (as root; 1 hour)
#   SOAK_DURATION_S=240 SOAK_WARMUP_S=60 SOAK_SAMPLE_S=10 bench/soak.sh
#
# What runs: a swarm of its own, one dockerd in its own network namespace
# (tests/lib/multinode.sh with MN_NODES=1 MN_PREFIX=sspsoak
# MN_ROOT=/var/lib/swarm-spoa-soak), the pair of docker/stack.yml on it
# (HAProxy, two agents, HTTPS on with a certificate from Docker secrets
# named by labels, the agents' metrics listener on their loopback), and
# for SOAK_DURATION_S (3600):
#
#   stable   3 routed services never changed: stable-a (2 tasks), stable-b
#            (1), stable-tls (2, its own certificate); load on each over
#            HTTP and on stable-tls over HTTPS too, SOAK_STABLE_RATE (10)
#            requests/s per stream, SOAK_NEW_CONN (0.3) of them on a new
#            connection, the others keep-alive
#   churn    every SOAK_CHURN_S (3) seconds one of SOAK_CHURN_SLOTS (4)
#            services churn-N is created (1-3 tasks), scaled, updated (a
#            label and an env change: a rolling update) or removed; load on
#            each slot's host at SOAK_CHURN_RATE (4)/s, HTTP or HTTPS
#   abuse    bounded abusive clients (bench/soak_abuse.py: idle connections,
#            slow requests, connection floods, malformed input) on every
#            listener: HAProxy's 80 and 443, each agent's SPOP port (12345),
#            stats socket and metrics listener (from the agent's own network
#            namespace), HAProxy's runtime API (9999, on the control
#            network, from an agent's namespace; behind TLS unless
#            SOAK_RUNTIME_TLS=0); SOAK_ABUSE=0 turns it off
#
# The host's dockerd and the multinode tests' sspmn-* swarm are never
# touched: the host's dockerd only builds the images from this tree
# (docker/build-images.sh) and saves them, holding its lock
# /tmp/swarm-spoa-docker.lock. SOAK_BUILD_IMAGES=0 takes the images it has
# (built only when missing); SOAK_IMAGES_TAR=FILE loads that `docker save`
# of the three images and leaves the host's dockerd alone.
#
# All load runs in the node's network namespace to 127.0.0.1, or in the
# agents' namespaces to their loopback and the soak's control network; every
# generator is bounded in rate, connections and time. Every SOAK_SAMPLE_S
# (30) seconds, each agent process and each HAProxy process (master,
# worker) is sampled from the host: RSS, open file descriptors, threads.
#
# The run FAILS (exit 1) when:
#   - any request to a stable service failed (any answer but the service's
#     200, any timeout or connection error), or fewer than 95% of the
#     planned stable requests were made, or HAProxy no longer serves
#     stable-tls's certificate at the end;
#   - an agent or HAProxy process was replaced during the run;
#   - fds, threads: once the load and the abusive clients have stopped,
#     a process does not come back, within SOAK_QUIET_WAIT_S (180: HAProxy
#     keeps idle SPOE connections 2 minutes), to its count of before the
#     load, give or take SOAK_FD_SLACK (8: the SPOE connections HAProxy
#     holds to each agent vary with its threads' recent work) fds and
#     SOAK_THREAD_SLACK (0) threads. During the run the abusive floods make
#     the fd counts jump by hundreds, so only the range is judged there: the
#     floor (minimum) of the last quarter after the warm-up must not be above
#     the highest value of the warm-up (SOAK_WARMUP_S, 600) plus the slack;
#   - RSS: after the warm-up, split into four quarters of equal time, the
#     median of the last quarter is above the median of the first by more
#     than SOAK_RSS_TOL_KIB (4096: pools and allocator caches fill during
#     the warm-up, a few MiB cover the table copies the churn keeps making),
#     or the quarter medians rise at every step by more than a quarter of
#     that in all: a steady creep that a longer run would take past the
#     tolerance.
# Reported, not judged: failed requests to the churned services, what the
# abusive clients met, the agents' warnings, HAProxy's memory pools, and
# whether HAProxy's runtime API answers again once its abuse has ended.
#
# Results: printed, and in build/test-work/soak/results.txt with the raw
# samples (samples.tsv), the load records, the abusers' summaries and the
# churn log. The swarm is removed at the end and on interrupt (SOAK_KEEP=1
# keeps it: remove it later with the same variables and mn_teardown).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SWARM_SPOA_SRC=$(cd "$here/.." && pwd)
MN_NODES=1
MN_PREFIX=sspsoak
MN_ROOT=/var/lib/swarm-spoa-soak
HOST_LOCK=/tmp/swarm-spoa-docker.lock
. "$SWARM_SPOA_SRC/tests/lib/common.sh"
. "$SWARM_SPOA_SRC/tests/lib/dockerd.sh"
. "$SWARM_SPOA_SRC/tests/lib/multinode.sh"

test_init soak
DURATION=${SOAK_DURATION_S:-3600}
WARMUP=${SOAK_WARMUP_S:-600}
SAMPLE=${SOAK_SAMPLE_S:-30}
STABLE_RATE=${SOAK_STABLE_RATE:-10}
CHURN_RATE=${SOAK_CHURN_RATE:-4}
NEW_CONN=${SOAK_NEW_CONN:-0.3}
CHURN_S=${SOAK_CHURN_S:-3}
SLOTS=${SOAK_CHURN_SLOTS:-4}
ABUSE=${SOAK_ABUSE:-1}
METRICS_PORT=9180
FD_SLACK=${SOAK_FD_SLACK:-8}
THREAD_SLACK=${SOAK_THREAD_SLACK:-0}
RSS_TOL_KIB=${SOAK_RSS_TOL_KIB:-4096}
QUIET_WAIT=${SOAK_QUIET_WAIT_S:-180}
RESULTS=$TEST_WORK/results.txt
SAMPLES=$TEST_WORK/samples.tsv
CHURN_LOG=$TEST_WORK/churn.log
DOMAIN=soak.test
# stable streams: "<tag> <host> <mn_load.py args>"
STABLE_STREAMS=(
	"stable-a-http stable-a.$DOMAIN"
	"stable-b-http stable-b.$DOMAIN"
	"stable-tls-http stable-tls.$DOMAIN"
	"stable-tls-https stable-tls.$DOMAIN --tls"
)
[ "$WARMUP" -lt "$DURATION" ] || fail "SOAK_WARMUP_S ($WARMUP) must be shorter than SOAK_DURATION_S ($DURATION)"
[ "$SLOTS" -ge 1 ] && [ "$SLOTS" -le 16 ] || fail "SOAK_CHURN_SLOTS: 1 to 16"

result() {
	printf '%s\n' "$*" | tee -a "$RESULTS"
}

# --------------------------------------------------------------------------
# Set up
# --------------------------------------------------------------------------

mn_preflight
ensure_cmd openssl openssl
ensure_cmd flock util-linux

# images_save: the images, built from this tree (unless SOAK_BUILD_IMAGES=0
# and they exist) and saved into $MN_IMAGES_TAR, holding the host dockerd's
# lock for that only (the subshell's processes all end with it: no daemon
# inherits the lock).
images_save() {
	(
		flock 9
		build=${SOAK_BUILD_IMAGES:-1}
		for image in "${MN_IMAGES[@]}"; do
			"$DOCKER" image inspect "$image" >/dev/null 2>&1 || build=1
		done
		if [ "$build" = 1 ]; then
			log "images: building them from this tree"
			DOCKER=$DOCKER "$SWARM_SPOA_SRC/docker/build-images.sh" >"$TEST_WORK/build-images.log" 2>&1 ||
				fail "docker/build-images.sh failed: $TEST_WORK/build-images.log"
		fi
		"$DOCKER" save -o "$MN_IMAGES_TAR" "${MN_IMAGES[@]}" || fail "docker save failed"
	) 9>>"$HOST_LOCK" || fail "the images could not be saved"
}

if [ -n "${SOAK_IMAGES_TAR:-}" ]; then
	[ -s "$SOAK_IMAGES_TAR" ] || fail "SOAK_IMAGES_TAR: $SOAK_IMAGES_TAR missing or empty"
	MN_IMAGES_TAR=$SOAK_IMAGES_TAR
else
	dockerd_ensure
	MN_IMAGES_TAR=$TEST_WORK/images.tar
	log "images: waiting for $HOST_LOCK"
	images_save
fi

soak_teardown() {
	mn_teardown
	local left
	left=$(mn_leftovers)
	[ -z "$left" ] || log "left behind after teardown: $left"
}
mn_setup
[ -n "${SOAK_IMAGES_TAR:-}" ] || rm -f "$MN_IMAGES_TAR"
mn_docker 1 image inspect -f '{{index .RepoTags 0}} {{.Id}} {{.Created}}' "${MN_IMAGES[@]}" >"$TEST_WORK/images.txt"
[ "${SOAK_KEEP:-0}" = 1 ] || on_exit soak_teardown
# HAProxy's runtime API behind TLS (docker/stack-runtime-tls.yml), unless
# SOAK_RUNTIME_TLS=0: its plain TCP socket is what a client sending lines
# over 8 KB locks up on HAProxy 2.6 (docs/security.md).
MN_RUNTIME_TLS=${SOAK_RUNTIME_TLS:-1} mn_pair_deploy

# service_settled <service>: no update under way, every task running.
service_settled() {
	local st reps
	st=$(mn_docker 1 service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' "$1")
	reps=$(mn_docker 1 service ls --filter "name=$1" --format '{{.Name}} {{.Replicas}}' | awk -v n="$1" '$1 == n {print $2}')
	case "$st" in ""|completed) ;; *) echo "$1: update $st"; return 1 ;; esac
	[ "${reps%%/*}" = "${reps##*/}" ] || { echo "$1: $reps running"; return 1; }
}

# The agents' metrics listener, on their own loopback (not in stack.yml).
mn_docker 1 service update -q -d --env-add "SWARM_SPOA_METRICS_LISTEN=127.0.0.1:$METRICS_PORT" \
	"${MN_PAIR_STACK}_agent" >/dev/null
wait_until 180 service_settled "${MN_PAIR_STACK}_agent"

# stable-tls's certificate, in two secrets named by its labels: the agents
# mount them into their own service and push the certificate to HAProxy.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-keyout "$TEST_WORK/stable-tls.key" -out "$TEST_WORK/stable-tls.crt" \
	-subj "/CN=stable-tls.$DOMAIN" -addext "subjectAltName=DNS:stable-tls.$DOMAIN" 2>/dev/null
mn_docker 1 secret create soakapp_crt "$TEST_WORK/stable-tls.crt" >/dev/null
mn_docker 1 secret create soakapp_key "$TEST_WORK/stable-tls.key" >/dev/null
mn_service stable-a "stable-a.$DOMAIN" 2
mn_service stable-b "stable-b.$DOMAIN" 1
mn_service stable-tls "stable-tls.$DOMAIN" 2 \
	--label com.docker.lb.ssl_cert=soakapp_crt --label com.docker.lb.ssl_key=soakapp_key

# cert_served: HAProxy serves stable-tls's own certificate for its name.
cert_served() {
	local want got
	want=$(openssl x509 -noout -fingerprint -sha256 -in "$TEST_WORK/stable-tls.crt")
	got=$(mn_in 1 sh -c "openssl s_client -connect 127.0.0.1:443 -servername stable-tls.$DOMAIN </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null") || true
	[ "$got" = "$want" ] || { echo "served for stable-tls: '$got'"; return 1; }
}
# routed <host> [curl args]: 200 from the service of that host.
routed() {
	local host=$1 body
	shift
	body=$(mn_in 1 curl -s --max-time 3 "$@" -H "Host: $host" http://127.0.0.1/) || true
	case "$body" in "name=${host%%.*}."*) return 0 ;; esac
	echo "$host: $body"
	return 1
}
wait_until 240 cert_served
wait_until 180 service_settled "${MN_PAIR_STACK}_agent"
for s in stable-a stable-b stable-tls; do
	wait_until 120 service_settled "$s"
	wait_until 60 routed "$s.$DOMAIN"
done
wait_until 60 mn_pair_ready
log "set up: pair with HTTPS and metrics, 3 stable services routed"

# --------------------------------------------------------------------------
# The processes watched
# --------------------------------------------------------------------------

# container_pid <service>: "<container id> <host pid>" of its running
# containers on the node.
container_pids() {
	local cid
	for cid in $(mn_docker 1 ps -q --filter "label=com.docker.swarm.service.name=$1"); do
		echo "$cid $(mn_docker 1 inspect -f '{{.State.Pid}}' "$cid")"
	done
}

# watched: "<key> <pid>" of every agent and HAProxy process.
watched() {
	local cid pid child
	while read -r cid pid; do
		echo "agent.${cid:0:8} $pid"
	done < <(container_pids "${MN_PAIR_STACK}_agent")
	while read -r cid pid; do
		echo "haproxy.${cid:0:8}.master $pid"
		for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
			echo "haproxy.${cid:0:8}.worker $child"
		done
	done < <(container_pids "${MN_PAIR_STACK}_haproxy")
}

# sample: one line per watched process: epoch key pid rss_kib fds threads
# shmem_kib (the part of the RSS in shared memory: HAProxy's SSL session
# cache, touched page by page as sessions fill it, up to its fixed size)
sample() {
	local key pid now st fds
	now=$(date +%s)
	while read -r key pid; do
		st=$(awk '/^VmRSS:/ {r = $2} /^Threads:/ {t = $2} /^RssShmem:/ {s = $2}
			END {if (r != "") print r, t, s}' "/proc/$pid/status" 2>/dev/null) || continue
		[ -n "$st" ] || continue
		fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
		set -- $st
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$now" "$key" "$pid" "$1" "$fds" "$2" "$3"
	done < <(watched) >>"$SAMPLES"
}

# quiet_counts: "<key> <fds> <threads>" of every watched process.
quiet_counts() {
	local key pid th
	while read -r key pid; do
		th=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || continue
		echo "$key $(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l) $th"
	done < <(watched)
}

# quiet_again: every process is back to its fds (within SOAK_FD_SLACK) and
# threads (within SOAK_THREAD_SLACK) of before the load; prints the counts.
quiet_again() {
	quiet_counts | tee "$TEST_WORK/quiet-after.txt"
	awk -v fs="$FD_SLACK" -v ts="$THREAD_SLACK" 'NR == FNR {fd[$1] = $2; th[$1] = $3; next}
		!($1 in fd) || $2 > fd[$1] + fs || $3 > th[$1] + ts {bad = 1} END {exit bad}' \
		"$TEST_WORK/quiet-before.txt" "$TEST_WORK/quiet-after.txt"
}

WATCHED0=$(watched)
[ "$(grep -c '^agent\.' <<<"$WATCHED0")" -eq 2 ] || fail "expected 2 agent processes: $WATCHED0"
grep -q '\.worker ' <<<"$WATCHED0" || fail "no HAProxy worker process found: $WATCHED0"
read -r AGENT1_CID AGENT1_PID < <(container_pids "${MN_PAIR_STACK}_agent" | head -1)
HAPROXY_CID=$(mn_docker 1 ps -q --filter "label=com.docker.swarm.service.name=${MN_PAIR_STACK}_haproxy" | head -1)
HAPROXY_CTL=$(mn_docker 1 inspect -f "{{(index .NetworkSettings.Networks \"${MN_PAIR_STACK}_control\").IPAddress}}" "$HAPROXY_CID")
[ -n "$HAPROXY_CTL" ] || fail "no address of HAProxy on the control network"

# haproxy_cli <command>: HAProxy's answer on its runtime API, asked from
# the first agent's network namespace (the control network).
# Over TLS with the agent's own certificate when the pair uses it.
haproxy_cli() {
	if [ "${SOAK_RUNTIME_TLS:-1}" = 1 ]; then
		nsenter -t "$AGENT1_PID" -n -- timeout 10 sh -c \
			'printf "%s\n" "$3" | openssl s_client -quiet -verify_quiet -connect "$1:9999" -cert "$2" 2>/dev/null' \
			haproxy-cli "$HAPROXY_CTL" "/proc/$AGENT1_PID/root/run/secrets/swarm-spoa-runtime-agent.pem" "$1"
		return
	fi
	nsenter -t "$AGENT1_PID" -n -- timeout 10 bash -c \
		'exec 3<>"/dev/tcp/$1/9999" && printf "%s\n" "$2" >&3 && cat <&3' haproxy-cli "$HAPROXY_CTL" "$1"
}

# --------------------------------------------------------------------------
# Load, abuse, churn
# --------------------------------------------------------------------------

ABUSE_PIDS=()
abuse_stop() {
	local p
	for p in "${ABUSE_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
}
on_exit abuse_stop

# abuse <tag> <netns spec: node | pid:PID> <soak_abuse.py args...>
abuse() {
	local tag=$1 where=$2 ns
	shift 2
	case "$where" in
		node) ns=(--net="/var/run/netns/$(mn_ns 1)") ;;
		pid:*) ns=(-t "${where#pid:}" -n) ;;
	esac
	( exec nsenter "${ns[@]}" -- python3 "$here/soak_abuse.py" --duration "$DURATION" "$@" \
		>"$TEST_WORK/abuse-$tag.json" 2>"$TEST_WORK/abuse-$tag.err" ) &
	ABUSE_PIDS+=($!)
}

quiet_counts >"$TEST_WORK/quiet-before.txt"
haproxy_cli "show info" >"$TEST_WORK/haproxy-info-before.txt" 2>&1 || true
haproxy_cli "show pools" >"$TEST_WORK/haproxy-pools-before.txt" 2>&1 || true
T0=$(date +%s)
MN_LOAD_TIMEOUT=10
for s in "${STABLE_STREAMS[@]}"; do
	read -r tag host args <<<"$s"
	# shellcheck disable=SC2086
	mn_load_start 1 "$tag" "$host" "$STABLE_RATE" "$DURATION" --new-conn "$NEW_CONN" --stream $args
done
for (( k = 0; k < SLOTS; k++ )); do
	args=()
	[ $(( k % 2 )) = 0 ] || args=(--tls)
	mn_load_start 1 "churn-$k" "churn-$k.$DOMAIN" "$CHURN_RATE" "$DURATION" --new-conn "$NEW_CONN" \
		--stream "${args[@]}"
done
if [ "$ABUSE" = 1 ]; then
	abuse haproxy-http node --tcp 127.0.0.1:80 --proto http \
		--idle 40 --slow 40 --flood 150 --flood-rate 100 --junk-rate 2 --max-conns 250
	abuse haproxy-https node --tcp 127.0.0.1:443 --proto http --tls \
		--idle 20 --slow 20 --flood 100 --flood-rate 100 --junk-rate 1 --max-conns 150
	while read -r key pid; do
		[[ $key == agent.* ]] || continue
		abuse "spop-$key" "pid:$pid" --tcp 127.0.0.1:12345 --proto spop \
			--idle 20 --slow 10 --flood 50 --flood-rate 50 --junk-rate 2 --max-conns 80
		abuse "stats-$key" "pid:$pid" --unix "/proc/$pid/root/run/swarm-spoa/stats.sock" --proto line \
			--idle 5 --slow 5 --flood 20 --flood-rate 20 --junk-rate 1 --max-conns 30
		abuse "metrics-$key" "pid:$pid" --tcp "127.0.0.1:$METRICS_PORT" --proto http \
			--idle 5 --slow 5 --flood 20 --flood-rate 20 --junk-rate 1 --max-conns 30
	done <<<"$WATCHED0"
	# HAProxy's runtime API (or its TLS frontend) lets 100 connections in
	# (stats maxconn, the frontend's maxconn); the abuse keeps to 5.
	abuse haproxy-runtime "pid:$AGENT1_PID" --tcp "$HAPROXY_CTL:9999" --proto line \
		--idle 1 --slow 1 --flood 3 --flood-rate 3 --junk-rate 0.5 --max-conns 5
fi
result "== soak: tree $(git -C "$SWARM_SPOA_SRC" describe --always --dirty 2>/dev/null || echo unknown), images: $(awk '{print $1, substr($2, 8, 12)}' "$TEST_WORK/images.txt" | tr '\n' ' ')"
result "   ${DURATION}s (warm-up ${WARMUP}s), $(nproc) CPUs, $(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 )) MiB, dockerd $("$DOCKER" version -f '{{.Server.Version}}'), started $(date -u -d "@$T0" '+%F %T') UTC"
result "   stable: ${#STABLE_STREAMS[@]} streams at ${STABLE_RATE}/s; churn: $SLOTS slots, an operation every ${CHURN_S}s, load ${CHURN_RATE}/s per slot; ${NEW_CONN} of the requests on new connections; abuse $([ "$ABUSE" = 1 ] && echo on || echo off)"

# churn_op: one operation on a random slot.
CHURN_GEN=0
declare -A CHURN_COUNT=()
churn_op() {
	local k=$(( RANDOM % SLOTS )) name op reps
	name=churn-$k
	CHURN_GEN=$(( CHURN_GEN + 1 ))
	if ! mn_docker 1 service inspect "$name" >/dev/null 2>&1; then
		op=create
		mn_service "$name" "$name.$DOMAIN" $(( 1 + RANDOM % 3 )) --label "soak.gen=$CHURN_GEN" || op=create-failed
	else
		case $(( RANDOM % 10 )) in
			0|1|2) op=scale
				reps=$(( 1 + RANDOM % 3 ))
				mn_docker 1 service scale -d "$name=$reps" >/dev/null 2>&1 || op=scale-failed ;;
			3|4|5|6) op=update
				mn_docker 1 service update -q -d --label-add "soak.gen=$CHURN_GEN" \
					--env-add "SOAK_GEN=$CHURN_GEN" "$name" >/dev/null 2>&1 || op=update-failed ;;
			*) op=remove
				mn_docker 1 service rm "$name" >/dev/null 2>&1 || op=remove-failed ;;
		esac
	fi
	CHURN_COUNT[$op]=$(( ${CHURN_COUNT[$op]:-0} + 1 ))
	printf '%s %s %s\n' "$(date +%s.%N)" "$name" "$op" >>"$CHURN_LOG"
}

wait_until 30 mn_load_started "${STABLE_STREAMS[@]%% *}"
log "load, abuse and churn under way for ${DURATION}s"
next_sample=$T0
next_churn=$T0
end=$(( T0 + DURATION ))
while :; do
	now=$(date +%s)
	[ "$now" -lt "$end" ] || break
	if [ "$now" -ge "$next_sample" ]; then
		sample
		next_sample=$(( next_sample + SAMPLE ))
		[ $(( (now - T0) % 300 )) -ge "$SAMPLE" ] ||
			log "$(( now - T0 ))s: $(awk -v t="$now" '$1 == t {printf "%s rss=%dKiB shm=%dKiB fds=%d th=%d; ", $2, $4, $7, $5, $6}' "$SAMPLES")" \
				"haproxy $(haproxy_cli "show info" 2>/dev/null | awk -F': ' '/^Pool(Alloc|Used)_MB:/ {printf "%s=%sMiB ", $1, $2}')"
	fi
	if [ "$now" -ge "$next_churn" ]; then
		churn_op
		next_churn=$(( now + CHURN_S ))
	fi
	sleep 0.5
done
sample
log "load ending"
mn_load_wait
for p in "${ABUSE_PIDS[@]}"; do
	wait "$p" || log "an abusive client exited with an error: $(cat "$TEST_WORK"/abuse-*.err)"
done
ABUSE_PIDS=()
WATCHED1=$(watched)
# HAProxy's runtime API, which the agents push certificates through: does
# it answer again now that its abusive client is gone? (reported)
runtime_answers() {
	haproxy_cli "show info" >"$TEST_WORK/haproxy-info-after.txt" 2>&1 &&
		grep -q '^Pid:' "$TEST_WORK/haproxy-info-after.txt"
}
t_runtime=$(now_ms)
if wait_for 60 runtime_answers; then
	runtime="answers $(( $(now_ms) - t_runtime )) ms after the abuse ended"
else
	runtime="DOES NOT ANSWER 60 s after the abuse ended"
fi
haproxy_cli "show pools" >"$TEST_WORK/haproxy-pools-after.txt" 2>&1 || true
# Once every client is gone (HAProxy's idle SPOE connections to the agents
# last 2 minutes), the fds and threads of before the load.
t_quiet=$(now_ms)
quiet=ok
wait_for "$QUIET_WAIT" quiet_again >/dev/null || quiet=fail
quiet_ms=$(( $(now_ms) - t_quiet ))
cert=ok
cert_served >/dev/null || cert="not served: $(cert_served)"
# the containers' logs (`docker service logs` may hang after tasks went away)
for svc in agent haproxy; do
	for cid in $(mn_docker 1 ps -q --filter "label=com.docker.swarm.service.name=${MN_PAIR_STACK}_$svc"); do
		timeout 60 "$DOCKER" -H "unix://$(mn_sock 1)" logs "$cid" >>"$TEST_WORK/${svc}s.log" 2>&1 || true
	done
done

# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

result "   churn operations: $(for op in "${!CHURN_COUNT[@]}"; do printf '%s=%s ' "$op" "${CHURN_COUNT[$op]}"; done)"
mn_agent_cmd 1 "show info" >"$TEST_WORK/agents-info.txt" 2>&1 || true
stable_tags=()
for s in "${STABLE_STREAMS[@]}"; do stable_tags+=("${s%% *}"); done
churn_tags=()
for (( k = 0; k < SLOTS; k++ )); do churn_tags+=("churn-$k"); done
rc=0
python3 "$here/soak_report.py" --work "$TEST_WORK" --t0 "$T0" --duration "$DURATION" --warmup "$WARMUP" \
	--stable "${stable_tags[*]}" --churn "${churn_tags[*]}" \
	--expected-stable "$(python3 -c "print(int(${#STABLE_STREAMS[@]} * $STABLE_RATE * $DURATION))")" \
	--watched-before "$WATCHED0" --watched-after "$WATCHED1" \
	--fd-slack "$FD_SLACK" --thread-slack "$THREAD_SLACK" --rss-tol-kib "$RSS_TOL_KIB" \
	--quiet "$quiet" --quiet-ms "$quiet_ms" --cert "$cert" --runtime "$runtime" | tee -a "$RESULTS" || rc=$?
log "results in $RESULTS"
[ "$rc" = 0 ] || fail "soak failed (see above)"
test_pass

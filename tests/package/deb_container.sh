#!/bin/bash
# The package test's steps, run by test_deb.sh in mount and PID namespaces
# of its own (with their own /proc): every mount made here, and every
# process started here, the container among them, ends with this script.
#
# The clean root is the cached rootfs under an overlay. apt downloads what
# the package needs through a chroot on the host's network; then the root
# boots with systemd-nspawn (systemd as PID 1, a network namespace of its
# own) and everything else happens in it, as on a host: dpkg's maintainer
# scripts talk to the real systemd, which runs the agent under the unit's
# sandbox. The checks run from here: `in_root` inside the container,
# `in_net` in its network namespace with this tree's tools.
#
# Environment from test_deb.sh: LOWER (the cached rootfs), WORK, CACHE, HERE,
# DEB, NEW_DEB, VERSION, NEW_VERSION, CGROUP.
set -euo pipefail
. "$HERE/../lib/common.sh"

ROOT=$WORK/root
PKG=/srv/pkg
UNIT=/lib/systemd/system/swarm-spoa.service
WANTS=/etc/systemd/system/multi-user.target.wants/swarm-spoa.service
ROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
APT_CACHE=$CACHE/pkgtest-apt
CPID=

# in_root <command...>: in the booted container (its namespaces and root),
# with a clean environment.
in_root() {
	nsenter -t "$CPID" -m -u -i -n -p -r -w env -i PATH="$ROOT_PATH" \
		DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"
}

# in_net <command...>: this tree's command in the container's network.
in_net() {
	nsenter -t "$CPID" -n "$@"
}

# apt_root <log-name> <apt-get args...>: apt-get in the container.
apt_root() {
	local name=$1
	shift
	in_root apt-get -q -y "$@" >"$WORK/apt-$name.log" 2>&1 || {
		tail -30 "$WORK/apt-$name.log" >&2
		fail "apt-get $* failed (log: $WORK/apt-$name.log)"
	}
}

# --- the root, and the downloads (host network, chroot) ---------------------
rm -rf "$WORK/upper" "$WORK/overlay-work"
mkdir -p "$WORK/upper" "$WORK/overlay-work" "$ROOT" "$APT_CACHE/archives/partial" \
	"$APT_CACHE/lists/partial"
mount -t overlay overlay -o "lowerdir=$LOWER,upperdir=$WORK/upper,workdir=$WORK/overlay-work" "$ROOT"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# No fsync per file: the root is thrown away after the test.
echo force-unsafe-io >"$ROOT/etc/dpkg/dpkg.cfg.d/unsafe-io"
mkdir -p "$ROOT$PKG"
cp "$DEB" "$NEW_DEB" "$ROOT$PKG/"
deb=$PKG/$(basename "$DEB")
new_deb=$PKG/$(basename "$NEW_DEB")

log "apt-get update and download (host network)"
mount --bind "$APT_CACHE/archives" "$ROOT/var/cache/apt/archives"
mount --bind "$APT_CACHE/lists" "$ROOT/var/lib/apt/lists"
mount -t proc proc "$ROOT/proc"
for step in "update" "install --download-only $deb"; do
	# shellcheck disable=SC2086 # the step is words
	chroot "$ROOT" env -i PATH="$ROOT_PATH" DEBIAN_FRONTEND=noninteractive \
		apt-get -q -y $step >>"$WORK/apt-download.log" 2>&1 || {
		tail -20 "$WORK/apt-download.log" >&2
		fail "apt-get $step failed (log: $WORK/apt-download.log)"
	}
done
# The docker group, as docker.io creates it (the unit adds it to the agent).
chroot "$ROOT" groupadd --system docker
umount "$ROOT/proc" "$ROOT/var/lib/apt/lists" "$ROOT/var/cache/apt/archives"

# --- boot -----------------------------------------------------------------
log "booting the root (systemd-nspawn)"
# systemd-nspawn makes cgroups of its own (payload, supervisor) below the
# one it starts in: that is one of ours, which test_deb.sh removes.
for h in /sys/fs/cgroup /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
	[ -e "$h/cgroup.procs" ] || continue
	mkdir -p "$h/$CGROUP"
	echo "$BASHPID" >"$h/$CGROUP/cgroup.procs"
done
systemd-nspawn -q --keep-unit --register=no --private-network --console=passive -D "$ROOT" \
	--bind="$APT_CACHE/archives:/var/cache/apt/archives" \
	--bind="$APT_CACHE/lists:/var/lib/apt/lists" -b >"$WORK/container.log" 2>&1 &
nspawn=$!
# The container's PID 1 (the only systemd of these namespaces).
container_init() {
	kill -0 "$nspawn" 2>/dev/null || { echo "systemd-nspawn exited"; return 2; }
	pgrep -o -x systemd
}
# A machine where systemd cannot boot in a container cannot run this test.
wait_for 30 container_init || skip "systemd-nspawn did not start: $WAIT_LAST_OUTPUT"
CPID=$WAIT_LAST_OUTPUT
booted() {
	local s
	s=$(in_root systemctl is-system-running 2>&1) || true
	echo "$s"
	case $s in running|degraded) return 0 ;; esac
	return 1
}
wait_for 60 booted || skip "systemd did not boot in the container: $WAIT_LAST_OUTPUT (log: $WORK/container.log)"
in_net ip link set lo up

agent_pid() {
	local p
	p=$(in_root systemctl show -p MainPID --value swarm-spoa.service)
	[ "$p" != 0 ] && echo "$p"
}
field() { in_root dpkg-query -W -f="\${$1}" swarm-spoa 2>/dev/null; }
status_of() { in_root cat "/proc/$1/status" | grep "^$2:" | cut -f2- | tr -s '\t ' ' ' | sed 's/ $//'; }
agent_ready() {
	[ "$(in_root systemctl is-active swarm-spoa.service)" = active ] &&
		[ -S "/proc/$CPID/root/run/swarm-spoa/stats.sock" ] &&
		in_net python3 "$HERE/pkg_check.py" agent --port 12345 \
			--stats "/proc/$CPID/root/run/swarm-spoa/stats.sock" "$@"
}

# --- install ------------------------------------------------------------------
log "apt-get install $deb"
apt_root install install "$deb"
[ "$(field Status)" = "install ok installed" ] || fail "status after install: $(field Status)"
[ "$(field Version)" = "$VERSION" ] || fail "version $(field Version), expected $VERSION"
depends=$(field Depends)
for lib in libev4 libjansson4 libcurl4 adduser; do
	assert_contains "$depends" "$lib" "Depends"
done
assert_contains "$(field Recommends)" haproxy "Recommends"
in_root dpkg-query -W -f='${Status}' haproxy | grep "install ok installed" >/dev/null ||
	fail "haproxy (Recommends) was not installed"

for f in /usr/sbin/swarm-spoa /usr/share/man/man8/swarm-spoa.8.gz "$UNIT" /etc/default/swarm-spoa \
	/usr/share/swarm-spoa/haproxy-conf/haproxy.cfg /usr/share/swarm-spoa/haproxy-conf/spoe-swarm.conf \
	/usr/share/swarm-spoa/haproxy-conf/agents-local.cfg /etc/haproxy/swarm-spoa/haproxy.cfg \
	/etc/haproxy/swarm-spoa/spoe-swarm.conf /etc/haproxy/swarm-spoa/agents-local.cfg \
	/etc/haproxy/swarm-spoa/swarm-backends.cfg /usr/share/swarm-spoa/haproxy-conf/swarm-backends.cfg \
	/etc/haproxy/swarm-spoa/prometheus.cfg /usr/share/swarm-spoa/monitoring/swarm-spoa.rules.yml \
	/usr/share/swarm-spoa/monitoring/swarm-spoa-dashboard.json \
	/usr/share/doc/swarm-spoa/copyright; do
	[ -s "$ROOT$f" ] || fail "$f missing or empty after install"
done
[ -x "$ROOT/usr/sbin/swarm-spoa" ] || fail "/usr/sbin/swarm-spoa is not executable"
assert_contains "$(in_root swarm-spoa --version)" "swarm-spoa $VERSION" "swarm-spoa --version"
zcat "$ROOT/usr/share/man/man8/swarm-spoa.8.gz" | grep '^\.TH SWARM-SPOA 8' >/dev/null ||
	fail "the man page is not swarm-spoa(8)"
conffiles=$(field Conffiles)
for f in /etc/default/swarm-spoa /etc/haproxy/swarm-spoa/haproxy.cfg \
	/etc/haproxy/swarm-spoa/spoe-swarm.conf /etc/haproxy/swarm-spoa/agents-local.cfg \
	/etc/haproxy/swarm-spoa/swarm-backends.cfg \
	/etc/haproxy/swarm-spoa/prometheus.cfg; do
	assert_contains "$conffiles" "$f " "Conffiles"
done

# The user and group: system ids, no shell, no home.
pw=$(in_root getent passwd swarm-spoa) || fail "no swarm-spoa user"
IFS=: read -r _ _ uid gid _ home shell <<<"$pw"
gr=$(in_root getent group swarm-spoa) || fail "no swarm-spoa group"
[ "$(echo "$gr" | cut -d: -f3)" = "$gid" ] || fail "the user's primary group is not swarm-spoa: $pw / $gr"
[ "$uid" -lt 1000 ] && [ "$gid" -lt 1000 ] || fail "not a system user: $pw"
[ "$shell" = /usr/sbin/nologin ] && [ "$home" = /nonexistent ] || fail "shell or home: $pw"
[ ! -e "$ROOT/nonexistent" ] || fail "/nonexistent was created"
docker_gid=$(in_root getent group docker | cut -d: -f3)

# The unit: enabled, valid, its sandbox scored.
[ -L "$ROOT$WANTS" ] || fail "swarm-spoa.service not enabled ($WANTS missing)"
[ "$(in_root systemctl is-enabled swarm-spoa.service)" = enabled ] || fail "systemctl is-enabled"
verify=$(in_root systemd-analyze verify --man=no swarm-spoa.service 2>&1) ||
	fail "systemd-analyze verify: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify: $verify"
in_root systemd-analyze security --no-pager swarm-spoa.service >"$WORK/security.txt" 2>&1 || true
exposure=$(sed -n 's/.*Overall exposure level for swarm-spoa.service: \([0-9.]*\).*/\1/p' "$WORK/security.txt")
[ -n "$exposure" ] || fail "systemd-analyze security gave no score (see $WORK/security.txt)"
log "systemd-analyze security: exposure $exposure"
awk -v e="$exposure" 'BEGIN { exit !(e < 2.0) }' || fail "exposure $exposure, more than 2.0"

# Started at install, with the environment file's defaults: Docker at
# /var/run/docker.sock (absent here), stats socket, metrics on 9110; under
# the unit's user, groups and sandbox.
wait_until 15 agent_ready
pid=$(agent_pid)
[ "$(status_of "$pid" Uid)" = "$uid $uid $uid $uid" ] || fail "agent uid: $(status_of "$pid" Uid)"
[ "$(status_of "$pid" Gid)" = "$gid $gid $gid $gid" ] || fail "agent gid: $(status_of "$pid" Gid)"
assert_contains " $(status_of "$pid" Groups) " " $docker_gid " "agent groups (docker)"
[ "$(status_of "$pid" NoNewPrivs)" = 1 ] || fail "agent without NoNewPrivs"
[ "$(status_of "$pid" Seccomp)" = 2 ] || fail "agent without a system call filter"
[ "$(status_of "$pid" CapBnd)" = 0000000000000000 ] || fail "agent CapBnd $(status_of "$pid" CapBnd)"
[ "$(status_of "$pid" CapEff)" = 0000000000000000 ] || fail "agent CapEff $(status_of "$pid" CapEff)"
sock=$(stat -c '%u %a' "/proc/$CPID/root/run/swarm-spoa/stats.sock")
[ "$sock" = "$uid 600" ] || fail "stats socket owner and mode: $sock, expected $uid (swarm-spoa) 600"
in_net curl -fsS http://127.0.0.1:9110/metrics | grep '^swarm_spoa_discovery_enabled 1' >/dev/null ||
	fail "no metrics on 127.0.0.1:9110, or discovery not enabled"
# ProtectSystem=strict: the agent's view of /etc is read-only.
in_root nsenter -t "$pid" -m test -w /etc/default 2>/dev/null && fail "/etc is writable in the agent's view"

# --- the administrator's settings: a routes file ----------------------------
task_port=$(in_net bash -c ". '$HERE/../lib/common.sh'; free_port")
mkdir -p "$WORK/www"
echo "served by the task behind pkg.test" >"$WORK/www/index.html"
in_net python3 -m http.server --bind 127.0.0.1 --directory "$WORK/www" "$task_port" \
	>"$WORK/task.log" 2>&1 &
mkdir -p "$ROOT/etc/swarm-spoa"
cat >"$ROOT/etc/swarm-spoa/routes.json" <<JSON
{"services": [
  {"name": "web", "labels": {"com.docker.lb.hosts": "pkg.test", "com.docker.lb.port": "80"},
   "tasks": [{"id": "web.1", "address": "127.0.0.1", "port": $task_port}]},
  {"name": "bad", "labels": {"com.docker.lb.hosts": "bad.test", "com.docker.lb.port": "none"},
   "tasks": [{"id": "bad.1", "address": "127.0.0.1", "port": $task_port}]}
]}
JSON
sed -i 's|^#SWARM_SPOA_ROUTES=|SWARM_SPOA_ROUTES=|' "$ROOT/etc/default/swarm-spoa"
grep -q '^SWARM_SPOA_ROUTES=/etc/swarm-spoa/routes.json$' "$ROOT/etc/default/swarm-spoa" ||
	fail "no SWARM_SPOA_ROUTES line to uncomment in /etc/default/swarm-spoa"
in_root systemctl restart swarm-spoa.service
wait_until 15 agent_ready --route "pkg.test=127.0.0.1:$task_port" --skipped bad
[ "$(agent_pid)" != "$pid" ] || fail "restart kept pid $pid"
# reload: SIGHUP, the routes file read again, same process.
pid=$(agent_pid)
in_root systemctl reload swarm-spoa.service
[ "$(agent_pid)" = "$pid" ] || fail "reload replaced the agent"
reloaded() {
	[ "$(in_root journalctl -u swarm-spoa.service --no-pager -o cat _PID="$pid" |
		grep -c 'msg="routes file loaded"')" -ge 2 ]
}
wait_until 10 reloaded

# Debian's HAProxy with the package's /etc/haproxy/swarm-spoa, set up as
# docs/packages.md says, and its exporter.
cat >>"$ROOT/etc/default/haproxy" <<'EOF2'
CONFIG="/etc/haproxy/swarm-spoa/haproxy.cfg"
EXTRAOPTS="-S /run/haproxy-master.sock -f /etc/haproxy/swarm-spoa/swarm-backends.cfg -f /etc/haproxy/swarm-spoa/agents-local.cfg -f /etc/haproxy/swarm-spoa/prometheus.cfg"
EOF2
in_root systemctl restart haproxy.service || {
	in_root journalctl -u haproxy.service --no-pager | tail -20 >&2
	fail "haproxy did not start with /etc/haproxy/swarm-spoa"
}
wait_until 20 in_net python3 "$HERE/pkg_check.py" http --port 80 --host pkg.test \
	--expect "served by the task behind pkg.test"
agents_up() {
	in_net curl -fsS http://127.0.0.1:8405/metrics |
		grep -q '^haproxy_backend_active_servers{proxy="swarm-spoa-agents"} 1$'
}
wait_until 20 agents_up

# --- upgrade --------------------------------------------------------------------
# The administrator's /etc/default/swarm-spoa is kept (the new default goes
# to .dpkg-dist), the unchanged conffiles stay, the agent is restarted.
log "upgrade to $NEW_VERSION"
pid=$(agent_pid)
before=$(md5sum <"$ROOT/etc/default/swarm-spoa")
apt_root upgrade install -o Dpkg::Options::=--force-confold "$new_deb"
[ "$(field Version)" = "$NEW_VERSION" ] || fail "version after upgrade: $(field Version)"
[ "$(md5sum <"$ROOT/etc/default/swarm-spoa")" = "$before" ] || fail "upgrade changed /etc/default/swarm-spoa"
grep -q "$NEW_VERSION: a line the new version adds" "$ROOT/etc/default/swarm-spoa.dpkg-dist" ||
	fail "the new default file is not in /etc/default/swarm-spoa.dpkg-dist"
cmp -s "$ROOT/etc/haproxy/swarm-spoa/spoe-swarm.conf" "$ROOT/usr/share/swarm-spoa/haproxy-conf/spoe-swarm.conf" ||
	fail "/etc/haproxy/swarm-spoa/spoe-swarm.conf changed"
wait_until 15 agent_ready --route "pkg.test=127.0.0.1:$task_port" --skipped bad
[ "$(agent_pid)" != "$pid" ] || fail "the upgrade did not restart the agent (pid $pid)"
# Restarted by the new postinst, not stopped by the old prerm: the old
# agent ran until the new files were in place.
grep -q "deb-systemd-invoke stop" "$ROOT/var/lib/dpkg/info/swarm-spoa.prerm" &&
	! grep -B2 "deb-systemd-invoke stop" "$ROOT/var/lib/dpkg/info/swarm-spoa.prerm" | grep '"$1" = remove' >/dev/null &&
	fail "the prerm stops the agent on upgrade"
wait_until 20 in_net python3 "$HERE/pkg_check.py" http --port 80 --host pkg.test \
	--expect "served by the task behind pkg.test"

# --- remove, then purge --------------------------------------------------------
log "remove"
apt_root remove remove swarm-spoa
[ "$(in_root systemctl is-active swarm-spoa.service)" != active ] || fail "the agent still runs after remove"
[ ! -e "/proc/$CPID/root/run/swarm-spoa" ] || fail "/run/swarm-spoa left after remove"
[ "$(field Status)" = "deinstall ok config-files" ] || fail "status after remove: $(field Status)"
for f in /usr/sbin/swarm-spoa "$UNIT" /usr/share/swarm-spoa /usr/share/man/man8/swarm-spoa.8.gz; do
	[ ! -e "$ROOT$f" ] || fail "$f left after remove"
done
[ -f "$ROOT/etc/default/swarm-spoa" ] || fail "remove took the conffile /etc/default/swarm-spoa"

log "purge"
apt_root purge purge swarm-spoa
status=$(field Status || true)
case $status in ''|*not-installed) ;; *) fail "status after purge: $status" ;; esac
for f in /etc/default/swarm-spoa /etc/default/swarm-spoa.dpkg-dist /etc/haproxy/swarm-spoa "$WANTS" \
	/var/lib/systemd/deb-systemd-helper-enabled/swarm-spoa.service.dsh-also; do
	[ ! -e "$ROOT$f" ] && [ ! -L "$ROOT$f" ] || fail "$f left after purge"
done
# Debian's usual practice, documented in docs/packages.md: the user and group
# stay, and so do the administrator's own files.
in_root getent passwd swarm-spoa >/dev/null || fail "purge removed the swarm-spoa user"
in_root getent group swarm-spoa >/dev/null || fail "purge removed the swarm-spoa group"
[ -f "$ROOT/etc/swarm-spoa/routes.json" ] || fail "purge removed the administrator's routes file"

# Power off (SIGRTMIN+4 to systemd), bounded; the namespaces end the rest.
kill -s RTMIN+4 "$CPID"
for (( i = 0; i < 100; i++ )); do
	kill -0 "$nspawn" 2>/dev/null || break
	sleep 0.1
done
log "package steps passed"

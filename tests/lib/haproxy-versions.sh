#!/usr/bin/env bash
# The HAProxy versions the integration tests run against, without building
# HAProxy: 2.6 is the system's (Debian bookworm), 3.0 and 3.2 are Debian's
# own packages from trixie and sid, unpacked with their libraries into a
# root of their own and run with that root's dynamic loader.
#
#   tests/lib/haproxy-versions.sh install [BRANCH...]   fetch what is missing (default: all)
#   tests/lib/haproxy-versions.sh path BRANCH           the executable to run
#   tests/lib/haproxy-versions.sh branches              the branches known here
#
# The machine's own apt setup is not touched: each suite gets a sources list
# and apt state and cache directories of its own (the mirror is the one of
# /etc/apt/sources.list*, or $SWARM_SPOA_DEBIAN_MIRROR). Roots are kept in
# $SWARM_SPOA_HAPROXY_CACHE (default /var/cache/swarm-spoa-haproxy), one per
# package version; once a branch is installed, install checks it and
# downloads nothing ($SWARM_SPOA_HAPROXY_REFRESH=1 fetches the suite's
# current version again). A branch that cannot be fetched or does not run
# fails install (exit 1): it is never skipped.
#
# Layout of the cache:
#   <branch>/haproxy        the executable (a wrapper, see write_wrapper)
#   <branch>/version        the Debian package version it runs
#   roots/<version>/        the unpacked packages
set -euo pipefail

CACHE=${SWARM_SPOA_HAPROXY_CACHE:-/var/cache/swarm-spoa-haproxy}
SYSTEM_HAPROXY=${SWARM_SPOA_SYSTEM_HAPROXY:-/usr/sbin/haproxy}
ARCH_TRIPLET=x86_64-linux-gnu
LOADER=ld-linux-x86-64.so.2

# branch -> Debian suite. 2.6 is the system's (bookworm).
declare -A SUITE=([3.0]=trixie [3.2]=sid)
BRANCHES=(2.6 3.0 3.2)

say() {
	printf 'haproxy-versions: %s\n' "$*" >&2
}

die() {
	say "FAILED: $*"
	exit 1
}

# debian_mirror: prints the URI of the main Debian archive that apt uses
# here (the source of the bookworm suite, not -security), from one-line
# and deb822 sources.
debian_mirror() {
	local uri
	if [ -n "${SWARM_SPOA_DEBIAN_MIRROR:-}" ]; then
		echo "$SWARM_SPOA_DEBIAN_MIRROR"
		return
	fi
	uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		sed -e 's/\[[^]]*\]//' |
		awk '$1 == "deb" && $3 ~ /^[a-z]+$/ && $2 !~ /security/ { print $2; exit }')
	if [ -z "$uri" ]; then
		uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
			/^[ \t]*$/ { if (uris != "" && suites ~ /(^| )[a-z]+( |$)/ && uris !~ /security/) { print uris; exit } uris = ""; suites = "" }
			tolower($1) == "uris:" { uris = $2 }
			tolower($1) == "suites:" { $1 = ""; suites = $0 }
			END { if (uris != "" && suites ~ /(^| )[a-z]+( |$)/ && uris !~ /security/) print uris }' | head -1)
	fi
	[ -n "$uri" ] || die "no Debian mirror in /etc/apt/sources.list*; set SWARM_SPOA_DEBIAN_MIRROR"
	echo "${uri%/}"
}

# apt_for <suite>: sets APT_OPTS to a private apt setup for <suite> under
# $CACHE/apt/<suite> (sources list, state, cache; no status file, so that
# nothing installed here counts), and refreshes its package lists.
apt_for() {
	local suite=$1 dir=$CACHE/apt/$1 keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	mkdir -p "$dir/state/lists/partial" "$dir/cache/archives/partial" "$dir/debs"
	echo "deb [signed-by=$keyring] $(debian_mirror) $suite main" >"$dir/sources.list"
	: >"$dir/status"
	APT_OPTS=(-o "Dir::Etc::sourcelist=$dir/sources.list" -o Dir::Etc::sourceparts=-
	          -o "Dir::State=$dir/state" -o "Dir::State::status=$dir/status"
	          -o "Dir::Cache=$dir/cache" -o APT::Get::List-Cleanup=0
	          -o Acquire::Languages=none -o APT::Architecture=amd64)
	say "$suite: package lists from $(debian_mirror)"
	apt-get "${APT_OPTS[@]}" -qq update >"$dir/update.log" 2>&1 ||
		{ cat "$dir/update.log" >&2; die "apt-get update of $suite failed"; }
	if grep -q '^[WE]:' "$dir/update.log"; then
		cat "$dir/update.log" >&2
		die "apt-get update of $suite reported errors"
	fi
}

# lib_closure <package>: prints <package> and, recursively, the packages
# of Debian's section "libs" it depends on (first alternatives): the shared
# libraries, the C library among them, that an executable of <package> may
# load. Its other dependencies (adduser, init scripts) are not needed to run
# the binary. One apt-cache call per level of the tree: each call reads the
# whole package list.
lib_closure() {
	local -A seen=() wanted=()
	local level=("$1") next name section deps d
	wanted[$1]=1
	while ((${#level[@]})); do
		next=()
		while read -r name section deps; do
			[ -z "${seen[$name]:-}" ] || continue
			seen[$name]=1
			[ -n "${wanted[$name]:-}" ] || [ "$section" = libs ] || continue
			echo "$name"
			for d in $deps; do
				[ -n "${seen[$d]:-}" ] || next+=("$d")
			done
		done < <(apt-cache "${APT_OPTS[@]}" show "${level[@]}" 2>/dev/null | awk '
			function flush() { if (name != "") print name, section, deps; name = "" }
			/^Package: / { flush(); name = $2; section = ""; deps = "" }
			/^Section: / { section = $2 }
			/^(Pre-)?Depends: / {
				sub(/^[^:]*: /, "")
				n = split($0, alts, ",")
				for (i = 1; i <= n; i++) {
					d = alts[i]; sub(/\|.*/, "", d); sub(/\(.*/, "", d); sub(/:.*/, "", d)
					gsub(/[ \t]/, "", d); deps = deps " " d
				}
			}
			END { flush() }')
		level=("${next[@]}")
	done
}

# write_wrapper <root> <out>: the executable that runs <root>'s haproxy
# with <root>'s own loader and libraries. exec keeps the process HAProxy
# itself (its pid, signals, standard input and output); --argv0 gives it
# the wrapper's own path as argv[0], which the master process executes
# again on a reload (master-worker mode), so a reload stays on this root.
write_wrapper() {
	local root=$1 out=$2
	cat >"$out.tmp" <<EOF
#!/bin/sh
# HAProxy $(cat "$root/.version") (Debian), with the loader and libraries of
# $root (tests/lib/haproxy-versions.sh).
exec "$root/usr/lib64/$LOADER" --argv0 "\$0" --library-path "$root/usr/lib/$ARCH_TRIPLET" "$root/usr/sbin/haproxy" "\$@"
EOF
	chmod 755 "$out.tmp"
	mv -f "$out.tmp" "$out"
}

# check_root <root>: every library the haproxy of <root> loads comes from
# <root> (none from the host, none missing).
check_root() {
	local root=$1 listing
	[ -x "$root/usr/lib64/$LOADER" ] || die "$root: no $LOADER in usr/lib64"
	listing=$("$root/usr/lib64/$LOADER" --library-path "$root/usr/lib/$ARCH_TRIPLET" \
		--list "$root/usr/sbin/haproxy" 2>&1) || die "$root: haproxy cannot be loaded: $listing"
	if printf '%s\n' "$listing" | grep -q 'not found'; then
		die "$root: missing libraries: $(printf '%s\n' "$listing" | grep 'not found' | tr -s ' \t' ' ')"
	fi
	if printf '%s\n' "$listing" | grep '=>' | grep -v "=> $root/" | grep -q .; then
		die "$root: libraries taken from the host: $(printf '%s\n' "$listing" | grep '=>' | grep -v "=> $root/" | tr -s ' \t' ' ')"
	fi
}

# check_branch <branch> <executable>: it runs and says it is <branch>;
# prints its first line. Call it outside $(...): a failure must end the run.
check_branch() {
	local branch=$1 exe=$2 out v
	out=$("$exe" -v 2>&1) || die "$exe -v failed: $out"
	v=${out%%$'\n'*}
	case $v in
		"HAProxy version $branch."*) ;;
		*) die "$exe is not HAProxy $branch: $v" ;;
	esac
	CHECKED_VERSION=$v
}

# fetch <branch>: downloads the suite's haproxy and its libraries, unpacks
# them into roots/<version>, checks it and (re)writes <branch>/haproxy.
fetch() {
	local branch=$1 suite=${SUITE[$1]} version root dir debs pkg
	apt_for "$suite"
	version=$(apt-cache "${APT_OPTS[@]}" show haproxy 2>/dev/null | sed -n 's/^Version: //p' | head -1)
	[ -n "$version" ] || die "no haproxy package in $suite"
	root=$CACHE/roots/$version
	dir=$CACHE/apt/$suite
	debs=$dir/debs
	rm -rf "$debs" "$root.tmp"
	mkdir -p "$debs" "$root.tmp"
	mapfile -t pkgs < <(lib_closure haproxy)
	say "$suite: haproxy $version with ${pkgs[*]:1}"
	# apt's download sandbox user must be able to write there
	if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
		chown _apt "$debs"
	fi
	(cd "$debs" && apt-get "${APT_OPTS[@]}" -qq download "${pkgs[@]}") >"$dir/download.log" 2>&1 ||
		{ cat "$dir/download.log" >&2; die "apt-get download from $suite failed"; }
	for pkg in "$debs"/*.deb; do
		dpkg-deb -x "$pkg" "$root.tmp" || die "dpkg-deb -x $pkg failed"
	done
	echo "$version" >"$root.tmp/.version"
	(cd "$debs" && ls) >"$root.tmp/.packages"
	rm -rf "$root"
	mv "$root.tmp" "$root"
	check_root "$root"
	mkdir -p "$CACHE/$branch"
	write_wrapper "$root" "$CACHE/$branch/haproxy"
	check_branch "$branch" "$CACHE/$branch/haproxy"
	echo "$version" >"$CACHE/$branch/version"
	rm -rf "$debs" "$dir/cache"
}

# install_branch <branch>: a branch already installed is only checked.
install_branch() {
	local branch=$1 exe
	if [ "$branch" = 2.6 ]; then
		[ -x "$SYSTEM_HAPROXY" ] || die "no $SYSTEM_HAPROXY (apt-get install haproxy)"
		check_branch 2.6 "$SYSTEM_HAPROXY"
		say "2.6: $CHECKED_VERSION ($SYSTEM_HAPROXY)"
		return
	fi
	[ -n "${SUITE[$branch]:-}" ] || die "unknown branch $branch (known: ${BRANCHES[*]})"
	exe=$CACHE/$branch/haproxy
	if [ "${SWARM_SPOA_HAPROXY_REFRESH:-0}" = 1 ] || [ ! -x "$exe" ] ||
	   [ ! -d "$CACHE/roots/$(cat "$CACHE/$branch/version" 2>/dev/null)" ]; then
		fetch "$branch"
	fi
	check_root "$CACHE/roots/$(cat "$CACHE/$branch/version")"
	check_branch "$branch" "$exe"
	say "$branch: $CHECKED_VERSION ($exe)"
}

path_of() {
	case $1 in
		2.6) echo "$SYSTEM_HAPROXY" ;;
		*) [ -n "${SUITE[$1]:-}" ] || die "unknown branch $1"; echo "$CACHE/$1/haproxy" ;;
	esac
}

cmd=${1:-}
[ $# -eq 0 ] || shift
case $cmd in
	install)
		(($#)) || set -- "${BRANCHES[@]}"
		mkdir -p "$CACHE" || die "cannot create $CACHE (set SWARM_SPOA_HAPROXY_CACHE)"
		# one installer at a time (tests/run.sh and ctest's fixture may race)
		exec 9>"$CACHE/.lock"
		flock 9
		for b in "$@"; do
			install_branch "$b"
		done
		;;
	path)
		[ $# -eq 1 ] || die "usage: $0 path BRANCH"
		path_of "$1"
		;;
	branches)
		echo "${BRANCHES[*]}"
		;;
	*)
		echo "usage: $0 install [BRANCH...] | path BRANCH | branches" >&2
		exit 2
		;;
esac

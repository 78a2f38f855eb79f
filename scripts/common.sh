#!/bin/bash
# scripts/common.sh - shared by scripts/test and scripts/demo (sourced, bash).
#
#   tr_install_deps   apt-get install what is missing (only then apt-get update)
#   tr_prepare        source scripts/prepare.d/*.sh (components apt cannot install)
#   tr_build          autoreconf -fi, configure in $TR_BUILD (out of tree), make -j2
#   tr_step TEXT      a progress heading
#   tr_run LOG CMD... run CMD with its output in LOG; on failure show LOG's tail
#
# TR_ROOT is the source tree, TR_BUILD the build directory ($TR_ROOT/_build
# unless set). TR_CONFIGURE_FLAGS are extra configure flags.

TR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TR_BUILD=${TR_BUILD:-$TR_ROOT/_build}

# What the build, the tests and the demo use (Debian 12 package names): one
# list per area in scripts/packages.d/*.list (one name a line, # comments).
TR_PACKAGES=()
for _tr_list in "$TR_ROOT"/scripts/packages.d/*.list; do
	[ -f "$_tr_list" ] || continue
	while read -r _tr_pkg _; do
		case $_tr_pkg in ''|'#'*) continue ;; esac
		TR_PACKAGES+=("$_tr_pkg")
	done < "$_tr_list"
done
unset _tr_list _tr_pkg

tr_step() { printf '\n==> %s\n' "$*"; }

tr_run() {	# tr_run LOG CMD...
	local log=$1 rc; shift
	"$@" > "$log" 2>&1 </dev/null; rc=$?
	if [ "$rc" != 0 ]; then
		echo "FAILED (exit $rc): $*"
		echo "---- last lines of $log ----"
		tail -n 60 "$log"
		echo "----"
	fi
	return "$rc"
}

tr_missing_packages() {
	local p
	for p in "${TR_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			printf '%s\n' "$p"
	done
}

tr_install_deps() {
	local missing sudo=""
	if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
		echo "not a Debian system: not installing anything; needs: ${TR_PACKAGES[*]}"
		return 0
	fi
	missing=$(tr_missing_packages | tr '\n' ' ')
	if [ -z "${missing// /}" ]; then
		echo "all packages present"
		return 0
	fi
	echo "missing: $missing"
	if [ "$(id -u)" != 0 ]; then
		if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
			sudo="sudo -n"
		else
			echo "need root to install: $missing" >&2
			return 1
		fi
	fi
	export DEBIAN_FRONTEND=noninteractive
	# "No configuration": the package writes no /etc/postfix/main.cf and so
	# starts no system Postfix; the tests run their own private instances.
	if ! dpkg-query -W -f='${Status}' postfix 2>/dev/null | grep -q 'install ok installed'; then
		printf '%s\n' "postfix postfix/main_mailer_type select No configuration" \
			"postfix postfix/mailname string tlsrelay.test" |
			$sudo debconf-set-selections 2>/dev/null || :
	fi
	# shellcheck disable=SC2086
	$sudo apt-get update -q </dev/null &&
	$sudo apt-get install -y -q --no-install-recommends $missing </dev/null
}

# tr_prepare: source scripts/prepare.d/*.sh in order, after the packages are
# installed. A preparer readies a component that apt cannot install here (an
# unpacked Exim, a downloaded header) and may append to TR_CONFIGURE_FLAGS.
# It must be idempotent, quick when already done, and must not fail the
# build when its component is optional (say why on one line instead).
tr_prepare() {
	local f
	for f in "$TR_ROOT"/scripts/prepare.d/*.sh; do
		[ -f "$f" ] || continue
		# shellcheck disable=SC1090
		. "$f" || { echo "prepare: $f failed"; return 1; }
	done
	return 0
}

tr_build() {
	local jobs=${TR_JOBS:-2}
	tr_step "autoreconf -fi"
	mkdir -p "$TR_BUILD" || return 1
	(cd "$TR_ROOT" && tr_run "$TR_BUILD/autoreconf.out" autoreconf -fi) || return 1
	tr_step "configure in ${TR_BUILD#"$TR_ROOT"/} (--enable-werror ${TR_CONFIGURE_FLAGS:-})"
	# shellcheck disable=SC2086
	(cd "$TR_BUILD" && tr_run "$TR_BUILD/configure.out" \
		"$TR_ROOT/configure" --enable-werror ${TR_CONFIGURE_FLAGS:-}) || return 1
	tr_step "make -j$jobs"
	(cd "$TR_BUILD" && make -j"$jobs" </dev/null)
}

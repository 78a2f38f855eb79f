# shellcheck shell=bash
# tests/exim-module/module.sh - Exim >= 4.99 with the tlsrelay transport
# module, for the tests in tests/exim-module/ (sourced after tests/lib.sh).
#
# The Exim is the one scripts/prepare.d/exim_module.sh built from Debian's
# exim4 source (EXIM_MODULE_BIN, from configure --with-exim-source), the
# module the one this build made (EXIM_MODULE_SO). Exim loads modules only
# from the LOOKUP_MODULE_DIR compiled into it (EXIM_MODULE_DIR), a
# directory shared by every test on the machine; so each test runs in a
# private mount namespace (unshare -m) in which its own directory
# $TEST_TMP/modules is bind-mounted there: what a test installs (or
# breaks) there is seen by its own Exim only, and disappears with it.
#
#   module_ns "$@"        first thing in a test: re-executes the test in a
#                         private mount namespace (once)
#   module_require        the checks below; sets EXIM for tests/exim/exim.sh
#                         (after make_tmpdir)
#   module_dir_setup      $TEST_TMP/modules over EXIM_MODULE_DIR, with the
#                         module installed as tlsrelay_transport.so
#   module_install NAME FILE   FILE as NAME_transport.so there
#
# Missing pieces (no module built, no Exim 4.99, no root, no namespaces):
# the test is skipped with the reason, except in CI (CI=true), where the
# module is part of what must be tested: one failing check says what is
# missing. In a sanitizer build the module is ASan/UBSan-instrumented and
# Exim is not: Exim runs with clang's shared ASan runtime preloaded (see
# _module_asan_exim), and the reports are checked as for every test; the
# test is skipped if that runtime is not there.

# shellcheck source=tests/exim/exim.sh
. "${top_srcdir:?source tests/lib.sh first}/tests/exim/exim.sh"

module_ns() {
	[ -n "${TR_EXIM_MODULE_NS:-}" ] && return 0
	if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1 &&
	   unshare -m --propagation private true 2>/dev/null; then
		# the test starts again: its tests/lib.sh makes its own sanitizer
		# report directory (this one is not used)
		if [ -n "${_lib_san_dir:-}" ]; then
			rmdir "$_lib_san_dir" 2>/dev/null
			unset TR_SAN_DIR
		fi
		TR_EXIM_MODULE_NS=1 exec unshare -m --propagation private -- bash "$0" "$@"
	fi
	TR_EXIM_MODULE_NS=none
}

_module_missing() {	# _module_missing REASON: skip, or fail in CI
	if [ "${CI:-}" = true ]; then
		tap_ok 0 "the Exim transport module and Exim >= 4.99 are there (CI=true: required)" "$*"
		tap_done
	fi
	tap_skip_all "$*"
}

module_require() {
	if [ -n "${ASAN_OPTIONS:-}${UBSAN_OPTIONS:-}" ] && [ -z "${TR_EXIM_ASAN_RT:-}" ]; then
		TR_EXIM_ASAN_RT=$(clang -print-file-name=libclang_rt.asan-x86_64.so 2>/dev/null)
		[ -f "$TR_EXIM_ASAN_RT" ] ||
			tap_skip_all "sanitizer build: Exim cannot load an ASan-built tlsrelay_transport.so without clang's shared ASan runtime"
	fi
	[ "$(id -u)" = 0 ] || _module_missing "needs root (Exim's daemon, a mount namespace)"
	[ -n "${EXIM_MODULE_BIN:-}" ] ||
		_module_missing "not configured --with-exim-source (scripts/prepare.d/exim_module.sh builds Exim >= 4.99 from Debian's source package; see its output)"
	[ -x "$EXIM_MODULE_BIN" ] || _module_missing "$EXIM_MODULE_BIN is not executable"
	[ -f "${EXIM_MODULE_SO:-}" ] || _module_missing "the module was not built (${EXIM_MODULE_SO:-EXIM_MODULE_SO unset})"
	[ -d "${EXIM_MODULE_DIR:-}" ] || _module_missing "Exim's module directory ${EXIM_MODULE_DIR:-?} is missing"
	[ "${TR_EXIM_MODULE_NS:-}" = 1 ] ||
		_module_missing "cannot create a mount namespace here (unshare -m): Exim's module directory cannot be made private to the test"
	getent passwd Debian-exim >/dev/null 2>&1 ||
		_module_missing "no user Debian-exim (the built Exim's EXIM_USER; scripts/prepare.d/exim_module.sh creates it)"
	EXIM=$EXIM_MODULE_BIN
	EXIM_UID=$(id -u Debian-exim) EXIM_GID=$(id -g Debian-exim)
	[ -n "${TR_EXIM_ASAN_RT:-}" ] && _module_asan_exim
	export EXIM
}

# Sanitizer build: Exim (not instrumented) runs with clang's shared ASan
# runtime preloaded, through a wrapper that is also its exim_path (Exim
# re-executes itself and clears its environment). Leak checking is off:
# Exim's processes end with _exit() and keep their memory pools by design.
_module_asan_exim() {
	local w=${TEST_TMP:?make_tmpdir before module_require}/asan-exim
	cat > "$w" <<-EOF
	#!/bin/sh
	LD_PRELOAD=$TR_EXIM_ASAN_RT ASAN_OPTIONS='${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0' UBSAN_OPTIONS='${UBSAN_OPTIONS:-}'
	export LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS
	exec $EXIM_MODULE_BIN "\$@"
	EOF
	chmod 0755 "$w"
	EXIM=$w
}

module_install() {	# module_install NAME FILE
	install -m 0644 "$2" "$TEST_TMP/modules/.$1.new" &&
		mv -f "$TEST_TMP/modules/.$1.new" "$TEST_TMP/modules/$1_transport.so"
}

module_dir_setup() {
	mkdir -p "$TEST_TMP/modules" && chmod 0755 "$TEST_TMP/modules" || return 1
	mount --bind "$TEST_TMP/modules" "$EXIM_MODULE_DIR" || return 1
	module_install tlsrelay "$EXIM_MODULE_SO"
}

#!/bin/bash
# tests/perf/test_linked.sh - the programs that run once per message do not
# link libcurl nor SQLite (TAP).
#
# The transport is one process per message: every library in its NEEDED
# entries is mapped and relocated at each start. libcurl (and its ~28
# dependencies) and SQLite are only for MTA-STS and are loaded with dlopen
# when a policy is fetched or the cache opened (lib/dynload.h; cost measured
# in doc/PERFORMANCE.md). This reads the dynamic section (readelf -d) of the
# real transport binary (behind libtool's wrapper if there is one) and of
# tlsrelay-sts, and fails if libcurl or libsqlite3 is NEEDED. That the dlopen
# path itself works is tests/sts/test_sts.sh (real fetches, the SQLite
# cache, and a libcurl/SQLite that cannot be loaded).
#
# libtlsrelay is not a shared library (mk/lib.mk, doc/DESIGN.md): no
# libtlsrelay.so is built, and no program of the build NEEDs one.

here=$(cd "$(dirname "$0")" && pwd)
. "${top_srcdir:-$(cd "$here/../.." && pwd)}/tests/lib.sh"
require_cmd readelf

real_prog() {	# real_prog PATH: the ELF file behind a libtool wrapper script
	local p=$1 prog
	if grep -q 'temporary wrapper script for' "$p" 2>/dev/null; then
		prog=$(sed -n "s/^ *program=\(lt-\)\{0,1\}'\([^']*\)'.*/\1\2/p" "$p" | head -n 1)
		case $prog in lt-*) "$p" </dev/null >/dev/null 2>&1 ;; esac	# relinked on first run
		p=$(dirname "$p")/.libs/${prog:-$(basename "$p")}
	fi
	echo "$p"
}
needed() {	# needed FILE: its NEEDED sonames, one a line
	readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'
}

TR=$(real_prog "${TLSRELAY_BIN:-$top_builddir/plugin/transport/tlsrelay}")
[ -f "$TR" ] || tap_bail "no transport at $TR"
# transport and tlsrelay-sts 3 each, libtlsrelay.so 1 + 6 programs, tlsrelayc 2
tap_plan $((3 + 3 + 1 + 6 + 2))
check() {	# check NAME FILE
	local name=$1 f=$2 n
	n=$(needed "$f")
	tap_diag "$name ($f) NEEDED: $(printf '%s' "$n" | tr '\n' ' ')"
	# the parse works: every one of these programs uses OpenSSL directly
	tap_like "$n" '^libssl\.so\.' "$name: NEEDED entries read (libssl is one)"
	tap_unlike "$n" '^libcurl' "$name: libcurl is not NEEDED (dlopen on the first MTA-STS fetch)"
	tap_unlike "$n" '^libsqlite3' "$name: libsqlite3 is not NEEDED (dlopen when the MTA-STS cache is opened)"
}
check transport "$TR"

sts=$top_builddir/plugin/sts/tlsrelay-sts
if [ -z "${TLSRELAY_BIN:-}" ] && [ -e "$sts" ]; then
	check tlsrelay-sts "$(real_prog "$sts")"
else
	for t in "NEEDED entries read" "libcurl is not NEEDED" "libsqlite3 is not NEEDED"; do
		tap_skip "tlsrelay-sts: $t" "not in the build tree"
	done
fi

# No libtlsrelay.so: each program has the library's objects linked in.
if [ -z "${TLSRELAY_BIN:-}" ]; then
	tap_is "$(find "$top_builddir/lib" -name 'libtlsrelay.so*' | head -n 3)" "" \
		"no libtlsrelay.so is built (the library is linked into each program)"
else
	tap_skip "no libtlsrelay.so is built" "TLSRELAY_BIN set"
fi
for p in plugin/transport/tlsrelay plugin/probe/tlsrelay-probe plugin/sts/tlsrelay-sts \
	plugin/daemon/tlsrelayd plugin/milter/tlsrelay-milter plugin/exim/.libs/tlsrelay_exim.so; do
	f=$top_builddir/$p
	if [ -z "${TLSRELAY_BIN:-}" ] && [ -e "$f" ]; then
		tap_unlike "$(needed "$(real_prog "$f")")" '^libtlsrelay' "${p##*/}: libtlsrelay.so is not NEEDED"
	else
		tap_skip "${p##*/}: libtlsrelay.so is not NEEDED" "not built here (optional, or TLSRELAY_BIN set)"
	fi
done

# tlsrelayc, the thin transport of tlsrelayd, is started once per message
# too and must link nothing but libc (ac/programs.ac: static where the
# toolchain allows, as in the normal build; dynamic in sanitizer builds).
tc=$top_builddir/plugin/transport/tlsrelayc
if [ -z "${TLSRELAY_BIN:-}" ] && [ -e "$tc" ]; then
	tc=$(real_prog "$tc")
	n=$(needed "$tc")
	tap_diag "tlsrelayc ($tc) NEEDED: $(printf '%s' "$n" | tr '\n' ' ')"
	if readelf -d "$tc" 2>/dev/null | grep -q '(NEEDED)'; then
		tap_unlike "$n" '^lib(ssl|crypto|curl|sqlite3|tlsrelay)' "tlsrelayc: no OpenSSL, libcurl, SQLite nor libtlsrelay"
		tap_unlike "$(printf '%s\n' "$n" | grep -Ev '^(libc\.so\.6|ld-linux.*|libasan.*|libubsan.*|libm\.so\.6|libgcc_s\.so\.1|libstdc\+\+.*|libresolv\.so\.2|librt\.so\.1|libpthread\.so\.0|libdl\.so\.2)$')" '.' \
			"tlsrelayc: nothing but libc (and a sanitizer's runtime)"
	else
		tap_ok 1 "tlsrelayc: statically linked (no NEEDED entry)"
		tap_unlike "$(strings "$tc" | grep -E '^OpenSSL [0-9]' | head -n 1)" '.' "tlsrelayc: no OpenSSL inside"
	fi
else
	tap_skip "tlsrelayc: nothing but libc" "not in the build tree"
	tap_skip "tlsrelayc: no OpenSSL" "not in the build tree"
fi
tap_done

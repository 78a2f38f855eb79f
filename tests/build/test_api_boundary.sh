#!/bin/bash
# tests/build/test_api_boundary.sh - the programs of plugin/ see the library
# through its API only: each source file includes, of lib/, tlsrelay.h and,
# for the programs of INTERNAL below, lib/tlsrelay_internal.h - nothing else
# (no "ctx.h", no <sts.h>, no "../../lib/dns.h"). Headers of plugin/ itself
# (a program's own, the daemon's protocol shared with tlsrelayc) and
# config.h are fine. lib/tlsrelay.h includes no other header of lib/, and
# tlsrelay_internal.h only headers of lib/. The other way round, no file of
# lib/ includes anything of plugin/ (the library depends on no adapter: the
# daemon's protocol, which lib/daemon_client.c speaks too, is lib/trd_*.h).
#
# A program that needs more of the library adds the header to
# lib/tlsrelay_internal.h (and, the first time, its directory to INTERNAL
# here): the internal interface stays one declared list. EXCEPTIONS holds
# the includes that are neither, each with its reason.
#
# The checker is checked first on a file that breaks each rule.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

# The programs that may include tlsrelay_internal.h (directories of plugin/).
INTERNAL="plugin/sts plugin/milter plugin/daemon plugin/exim plugin/transport"

# FILE INCLUDE: allowed although outside the rules above (the reason above each)
EXCEPTIONS=$(grep -v '^#' <<'EOF'
# tlsrelayc links no library (it may be one static musl file): its exits are
# the library's translation compiled from this header-only file
plugin/transport/tlsrelayc.c ../../lib/status_exit.h
# ... and the daemon's protocol from the header-only lib/trd_client.h (which
# includes trd_proto.h and trd_fdpass.h beside it): musl-gcc compiles the
# one file with no -I of lib/, and tlsrelay_internal.h needs OpenSSL's headers
plugin/transport/tlsrelayc.c ../../lib/trd_client.h
# the Exim transport module is compiled against the Exim source tree
# (-iquote BUILD_DIR, ac/exim_module.ac): Exim's own headers
plugin/exim/exim_api.h exim.h
plugin/exim/exim_api.h version.h
EOF
)

make_tmpdir
T=$TEST_TMP
LIB_HEADERS=$(cd "$top_srcdir/lib" && ls ./*.h | sed 's|^\./||')
PLUGIN_DIR=$(cd "$top_srcdir/plugin" && pwd -P)

# includes FILE: "q NAME" or "a NAME" for each #include "NAME" / <NAME>
includes() {
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/q \1/p
		s/^[[:space:]]*#[[:space:]]*include[[:space:]]*<\([^>]*\)>.*/a \1/p' "$1"
}

# violations FILE DIR: one line per include of FILE (as if it were in DIR,
# a directory of plugin/) that crosses the boundary
violations() {
	local file=$1 dir=$2 kind name base internal=no d
	for d in $INTERNAL; do [ "$dir" = "$d" ] && internal=yes; done
	while read -r kind name; do
		base=${name##*/}
		grep -qxF -- "$file $name" <<< "$EXCEPTIONS" && continue
		case $kind:$name in
		q:config.h|q:tlsrelay.h) continue ;;
		q:tlsrelay_internal.h)
			[ "$internal" = yes ] || echo "$name: only the programs of INTERNAL use the internal interface"
			continue ;;
		esac
		if [ "$kind" = q ] && [ -f "$top_srcdir/$dir/$name" ]; then
			case $(cd "$top_srcdir/$dir/$(dirname "$name")" && pwd -P) in
			"$PLUGIN_DIR"|"$PLUGIN_DIR"/*) continue ;;	# a header of plugin/ (plugin/cli.h too)
			esac
			echo "$name: a header outside plugin/"
			continue
		fi
		if grep -qxF -- "$base" <<< "$LIB_HEADERS"; then
			echo "$name: a header of lib/ (use tlsrelay.h or tlsrelay_internal.h)"
		elif [ "$kind" = q ]; then
			echo "$name: not found in $dir"
		fi
	done < <(includes "$file")
}

# lib_violations FILE: one line per include of FILE (a file of lib/, or one
# checked as if it were) that names plugin/ or resolves outside lib/
lib_violations() {
	local file=$1 kind name
	while read -r kind name; do
		case $name in
		*plugin/*) echo "$name: the library includes an adapter's header" ; continue ;;
		esac
		[ "$kind" = q ] && [ "$name" != config.h ] && [ ! -f "$top_srcdir/lib/$name" ] &&
			echo "$name: not a header of lib/"
	done < <(includes "$file")
}

FILES=$(cd "$top_srcdir" && find plugin -name '*.[ch]' | sort)
[ -n "$FILES" ] || tap_bail "no sources in $top_srcdir/plugin"
LIB_FILES=$(cd "$top_srcdir" && find lib -name '*.[ch]' | sort)
[ -n "$LIB_FILES" ] || tap_bail "no sources in $top_srcdir/lib"
# the checker 5 + 3, each file 1, the two headers 2, lib/ 1, INTERNAL's
# entries 1 each, EXCEPTIONS' rows 1 each
tap_plan $((8 + $(grep -c . <<< "$FILES") + 2 + 1 + $(wc -w <<< "$INTERNAL") + $(grep -c . <<< "$EXCEPTIONS")))

# ------------------------------------------------------------- the checker
cat > "$T/bad.c" <<'EOF'
#include "config.h"
#include <stdio.h>
#include "tlsrelay.h"
#include "ctx.h"
 #  include <sts.h>
#include "../../lib/dns_txt.h"
#include "tlsrelay_internal.h"
#include "../transport/transport.h"
#include "../cli.h"
EOF
out=$(violations "$T/bad.c" plugin/probe)
tap_like "$out" '^ctx\.h: a header of lib/' "checker: a quoted header of lib/ is found"
tap_like "$out" '^sts\.h: a header of lib/' "checker: an angle-bracket header of lib/ is found"
tap_like "$out" '^\.\./\.\./lib/dns_txt\.h: a header outside plugin/' "checker: a relative path into lib/ is found"
tap_like "$out" '^tlsrelay_internal\.h: only the programs of INTERNAL' "checker: the internal interface outside INTERNAL is found"
tap_is "$(grep -c . <<< "$out")" 4 "checker: config.h, <stdio.h>, tlsrelay.h, the program's own header and plugin/cli.h pass"

cat > "$T/badlib.c" <<'EOF'
#include "config.h"
#include <stdio.h>
#include "status.h"
#include "../plugin/daemon/daemon.h"
#include <plugin/cli.h>
#include "nosuch.h"
EOF
out=$(lib_violations "$T/badlib.c")
tap_like "$out" '^\.\./plugin/daemon/daemon\.h: the library includes an adapter' "checker: lib/ including a header of plugin/ is found"
tap_like "$out" '^nosuch\.h: not a header of lib/' "checker: lib/ including a quoted header from elsewhere is found"
tap_is "$(grep -c . <<< "$out")" 3 "checker: config.h, <stdio.h> and a header of lib/ pass in lib/"

# --------------------------------------------------------------- the programs
while read -r f; do
	out=$(cd "$top_srcdir" && violations "$f" "$(dirname "$f")")
	tap_is "$out" "" "$f: of lib/, only tlsrelay.h$(case " $INTERNAL " in *" $(dirname "$f") "*) echo ' and tlsrelay_internal.h' ;; esac)"
done <<< "$FILES"

# ------------------------------------------------- the library, the other way
out=""
while read -r f; do
	out="$out$(cd "$top_srcdir" && lib_violations "$f" | sed "s|^|$f: |")"
done <<< "$LIB_FILES"
tap_is "$out" "" "lib/: no file includes anything of plugin/ or from outside lib/"

# ---------------------------------------------------------------- the headers
tap_is "$(includes "$top_srcdir/lib/tlsrelay.h" | awk '$1 == "q"')" "" \
	"lib/tlsrelay.h includes no header of lib/ (it stands alone)"
out=""
while read -r kind name; do
	[ "$kind" = q ] && [ ! -f "$top_srcdir/lib/$name" ] && out="$out$name "
done < <(includes "$top_srcdir/lib/tlsrelay_internal.h")
tap_is "$out" "" "lib/tlsrelay_internal.h includes headers of lib/ only"

# every program of INTERNAL uses the internal interface (else the list is stale)
for d in $INTERNAL; do
	grep -lq '#include "tlsrelay_internal.h"' "$top_srcdir/$d"/*.[ch] 2>/dev/null
	tap_status $? "$d includes tlsrelay_internal.h (INTERNAL is not stale)"
done
# every exception is still needed (else the list is stale)
while read -r f name; do
	includes "$top_srcdir/$f" | grep -qxF -- "q $name"
	tap_status $? "$f includes $name (EXCEPTIONS is not stale)"
done <<< "$EXCEPTIONS"
tap_done

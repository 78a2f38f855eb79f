#!/bin/bash
# test_program_headers.sh - no program in plugin/ sees the library
# context's inside (lib/ctx.h), directly or through another header: the
# programs are thin adapters over tlsrelay.h and a few internal calls
# (issue 14 item 4). Each plugin/*/*.c is run through the compiler's
# dependency listing (-MM -MG: a missing system or Exim header is no
# error), so a header that pulls ctx.h in is caught too. TAP output, one
# check a file.
#
# Environment: top_srcdir, top_builddir (config.h), CC (default cc).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
CC=${CC:-cc}

set -- "$top_srcdir"/plugin/*/*.c
[ -e "$1" ] || tap_bail "no plugin/*/*.c under $top_srcdir"
tap_plan $#
for src in "$@"; do
	name=${src#"$top_srcdir"/}
	deps=$($CC -MM -MG -I"$top_builddir" -I"$top_srcdir/lib" -I"$top_srcdir/plugin" "$src" 2>&1)
	if [ $? -ne 0 ]; then
		tap_ok 0 "$name does not include ctx.h" "dependency listing failed:
$deps"
	elif printf '%s\n' "$deps" | tr ' \\' '\n\n' | grep -q '\(^\|/\)ctx\.h$'; then
		tap_ok 0 "$name does not include ctx.h" "$(printf '%s\n' "$deps" | tr ' \\' '\n\n' | grep '\.h$')"
	else
		tap_ok 1 "$name does not include ctx.h"
	fi
done
tap_done

#!/bin/sh
# test_program_headers.sh - no program in plugin/ sees the library
# context's inside (lib/ctx.h), directly or through another header: the
# programs are thin adapters over tlsrelay.h and a few internal calls
# (issue 14 item 4). Each plugin/*/*.c is run through the compiler's
# dependency listing (-MM -MG: a missing system or Exim header is no
# error), so a header that pulls ctx.h in is caught too. TAP output.
#
# Environment: top_srcdir, top_builddir (config.h), CC (default cc).
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$here/../..}"
: "${top_builddir:=$top_srcdir}"
CC=${CC:-cc}

set -- "$top_srcdir"/plugin/*/*.c
[ -e "$1" ] || { echo "Bail out! no plugin/*/*.c under $top_srcdir"; exit 1; }
echo "1..$#"
n=0
failed=0
for src in "$@"; do
	n=$((n + 1))
	name=${src#"$top_srcdir"/}
	deps=$($CC -MM -MG -I"$top_builddir" -I"$top_srcdir/lib" -I"$top_srcdir/plugin" "$src" 2>&1)
	if [ $? -ne 0 ]; then
		echo "not ok $n - $name: dependency listing failed"
		printf '%s\n' "$deps" | sed 's/^/#   /'
		failed=$((failed + 1))
	elif printf '%s\n' "$deps" | tr ' \\' '\n\n' | grep -q '\(^\|/\)ctx\.h$'; then
		echo "not ok $n - $name does not include ctx.h"
		printf '%s\n' "$deps" | tr ' \\' '\n\n' | grep '\.h$' | sed 's/^/#   /'
		failed=$((failed + 1))
	else
		echo "ok $n - $name does not include ctx.h"
	fi
done
[ "$failed" -eq 0 ]

#!/bin/bash
# tests/docs/test_errors_documented.sh - every error line the transport can
# print is in doc/TROUBLESHOOTING.md. tests/docs/errors.py collects them from
# lib/*.c and plugin/*/*.c (tr_status_set, tr_config_error, sasl.c's
# map_error, "X.Y.Z tlsrelay: ..." literals of the programs (tlsrelayc's
# too) and tlsrelayd's "NN X.Y.Z tlsrelayd: ..." replies, multi-line
# calls included) and looks, for each, for one line of the page with its DSN
# and the first words of its text (see errors.py). One check per error, so
# the failure names the source line whose message is not documented.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
require_cmd python3

DOC=$top_srcdir/doc/TROUBLESHOOTING.md
out=$(python3 "$top_srcdir/tests/docs/errors.py" "$top_srcdir" --check "$DOC" 2>&1)
rc=$?
n=$(printf '%s\n' "$out" | grep -cE '^(ok|missing)	')
# the extractor 7, an empty page 1, one a message found, the verdict 1
tap_plan $((7 + 1 + n + 1))

# the extractor itself: it must find the messages (a broken parser finding
# nothing would pass everything), including a multi-line call
tap_status "$(test "$n" -ge 100; echo $?)" "errors.py finds the error messages ($n)" "$out"
tap_like "$out" '	lib/smtp_open\.c:[0-9]+	4\.7\.4	TLS is required%s, but was not offered by host %s$' \
	"errors.py finds the 4.7.4 STARTTLS requirement message"
tap_like "$out" '	lib/deliver\.c:[0-9]+	4\.3\.5	bad nexthop ' "errors.py reads a call spread over lines (DSN after a comment)"
tap_like "$out" '	plugin/transport/transport\.c:[0-9]+	4\.4\.2	delivery deadline exceeded' \
	"errors.py finds the program's own lines"
tap_like "$out" '	plugin/daemon/pool\.c:[0-9]+	4\.3\.0	no delivery process available' \
	"errors.py finds tlsrelayd's replies (an exit status before the DSN)"
tap_like "$out" '	plugin/transport/tlsrelayc\.c:[0-9]+	4\.3\.0	unreadable result from tlsrelayd' \
	"errors.py finds tlsrelayc's lines"
tap_unlike "$out" '	would be delivered' "errors.py leaves out success texts (TLSRELAY_OK)"

# a message the page does not have is reported
printf '# nothing\n' > "${TMPDIR:-/tmp}/tr-empty-doc.$$"
python3 "$top_srcdir/tests/docs/errors.py" "$top_srcdir" --check "${TMPDIR:-/tmp}/tr-empty-doc.$$" > /dev/null
tap_is "$?" 1 "an empty page fails the check"
rm -f "${TMPDIR:-/tmp}/tr-empty-doc.$$"

while IFS=$'\t' read -r verdict where dsn fmt; do
	case $verdict in ok|missing) ;; *) continue ;; esac
	tap_is "$verdict" ok "$where: $dsn $fmt"
done <<< "$out"
tap_status "$rc" "errors.py --check: every error documented"
tap_done

#!/bin/bash
# test_dns_txt.sh - tr_dns_txt (lib/dns_txt.c, through tests/unit/dnsq txt)
# against tests/dns/txt_server.py, a scripted DNS server on loopback whose
# answers include what a real resolver would scrub: TXT records of another
# owner beside (or instead of) the name's own, a CNAME chain with a stray
# record, another class, a broken rdata. Each case is one row: the name
# asked, the lines dnsq must print and its exit status. TAP output.
#
# Owner checks: only the records owned by the name (or by the end of its
# CNAME chain) count; a forged "v=STSv1; id=forged;" of another owner
# must never come back (it would change the MTA-STS id or a TLS-RPT rua).
#
# Safety: the server listens on 127.0.0.1 (a free port) only, dnsq is
# always given that resolver (never /etc/resolv.conf), both are bounded
# (timeouts, --max-lifetime), the server is stopped by its PID.
here=$(cd "$(dirname "$0")" && pwd)
. "${top_srcdir:-$(cd "$here/../.." && pwd)}/tests/lib.sh"

PY=$(command -v python3 2>/dev/null) || tap_skip_all "python3 not found"
DNSQ=${DNSQ:-$top_builddir/tests/unit/dnsq}
[ -x "$DNSQ" ] || tap_bail "$DNSQ not built"
require_cmd timeout

make_tmpdir TEST_TMP
PORT=$(free_port) || tap_bail "no free port"
start_bg txt-server "$PY" "$here/txt_server.py" --port "$PORT" --pidfile "$TEST_TMP/server.pid" \
	--max-lifetime 120
SERVER_PID=$BG_PID
wait_until 10 test -s "$TEST_TMP/server.pid" ||
	tap_bail "txt_server.py did not start: $(cat "$TEST_TMP/txt-server.out" 2>/dev/null)"

long=$(for c in a b c d e f g h i; do printf "%0255d" 0 | tr 0 "$c"; done)
long="txt ${long:0:2047}"
many=$(for i in 0 1 2 3 4 5 6 7; do printf 'txt r%d\n' "$i"; done)

# name | what dnsq prints | exit status | case
cases=$(cat <<'EOF_CASES'
plain.t.test|txt v=STSv1; id=1;|0|one record
split.t.test|txt v=STSv1; id=2;|0|character-strings joined without separator
case.t.test|txt owner in other case|0|owner name compared without case
foreign.t.test|txt mine|0|a record of another owner beside the name's own is ignored
onlyforeign.t.test|none|0|only a record of another owner: no record
cname.t.test|txt via the CNAME|0|CNAME followed to the target's record
cnamefor.t.test|txt the target|0|CNAME chain: a stray record of a third owner is ignored
chclass.t.test|none|0|class CH record ignored
nul.t.test|txt ab|0|a NUL byte ends the text
long.t.test|LONG|0|a longer record is cut to TR_DNS_TXT_MAX - 1 bytes
many.t.test|MANY|0|at most TR_DNS_TXT_COUNT records
nodata.t.test|none|0|no TXT record
nx.t.test|none|0|no such name
badrdata.t.test|error temporary 4.4.3 malformed DNS answer|1|a character-string longer than its rdata
servfail.t.test|error temporary 4.4.3 TXT lookup of servfail.t.test: DNS server failure or timeout|1|SERVFAIL is temporary
EOF_CASES
)
tap_plan $(($(grep -c . <<<"$cases") + 1))	# one check a row, the unreachable server

while IFS='|' read -r qname want rc what; do
	[ -n "$qname" ] || continue
	want=$(printf '%b' "$want")
	case $want in
	LONG) want=$long ;;
	MANY) want=$many ;;
	esac
	out=$(timeout -k 5 30 "$DNSQ" -t 2 "127.0.0.1:$PORT" txt "$qname" 2>&1)
	got=$?
	tap_is "$got/$out" "$rc/$want" "$what ($qname)"
done <<<"$cases"

stop_pid "$SERVER_PID"
out=$(timeout -k 5 30 "$DNSQ" -t 1 "127.0.0.1:$PORT" txt plain.t.test 2>&1)
tap_is "$?/$out" "1/error temporary 4.4.3 TXT lookup of plain.t.test: DNS server unreachable (connection refused)" \
	"no server: temporary failure, said as for MX lookups"
tap_done

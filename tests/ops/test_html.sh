#!/bin/bash
# tests/ops/test_html.sh - tlsrelay-report html, rendered by a real browser
# (headless Chromium, Debian's chromium).
#
# The history: real deliveries (tests/peer/peer.py) over 8 days (faketime)
# to a server Verified every day (suggested), a server without STARTTLS, a
# self-signed one (the shadow policy, verify, would defer it), and a server
# whose certificate (made here) expires in 10 days.
#
# The page: one file with nothing to fetch (no src=, href=, url(), @import
# or <link>); Chromium (--dump-dom, --screenshot, without network: a proxy
# on a closed loopback port, background networking off) renders it: the
# chart's element has a non-zero rendered size, the top destinations table
# names the servers, the shadow table the self-signed one, the expiring
# table the short-lived certificate, the suggestion the verified server;
# the screenshot (decoded here) shows the chart's colours.
#
# Nothing generated is kept (the test's temporary directory).

here=$(cd "$(dirname "$0")" && pwd)
. "${top_srcdir:-$(cd "$here/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"
. "$top_srcdir/tests/ops/ops.sh"

require_cmd openssl
ops_need_faketime
CHROMIUM=$(command -v chromium || command -v chromium-browser) ||
	tap_skip_all "chromium not installed (apt-get install chromium)"
ops_init
DESTS=(verified plain self short)
# the page 3; Chromium: the chart, one row a server, 5 about the tables; the screenshot 2
tap_plan $((3 + 1 + ${#DESTS[@]} + 5 + 2))

# a certificate of the test CA that expires in 10 days
cat > "$T/short.ext" <<'EOF'
subjectAltName = DNS:mx.example.test, IP:127.0.0.1
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
EOF
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=short.example.test \
	-keyout "$T/short.key" -out "$T/short.csr" >/dev/null 2>&1 &&
openssl x509 -req -in "$T/short.csr" -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca.key" -set_serial 0x7001 \
	-days 10 -sha256 -extfile "$T/short.ext" -out "$T/short.pem" >/dev/null 2>&1 ||
	tap_bail "cannot make the short-lived certificate"
chmod 0644 "$T/short.key"
printf '{"cert": "%s", "key": "%s"}\n' "$T/short.pem" "$T/short.key" > "$T/short.json"

declare -A PORT
for d in "${DESTS[@]}"; do PORT[$d]=$(free_port); done
deliver() {	# deliver DEST SCENARIO DAYS_AGO
	ops_peer "$1-$3" "$2" "${PORT[$1]}"
	ops_conf "$DIR/tlsrelay.conf" "$PEER_PORT" "tls_shadow_security_level = verify"
	ops_faketime "$3"
	ops_send "$1-$3"
	OPS_WRAP=()
	[ "$RC" = 0 ] || tap_diag "$1 $3 days ago: exit $RC $OUT"
}
for ago in 7 6 5 4 3 2 1 0; do
	deliver verified good $ago
	[ $((ago % 2)) = 0 ] && deliver plain no_starttls $ago
	[ $ago -le 3 ] && deliver self selfsigned_cert $ago
done
deliver short "$T/short.json" 0

ops_conf "$T/report.conf" 1 "tls_shadow_security_level = verify"
"$REPORT" -c "$T/report.conf" html -o "$T/report.html" --days 10
tap_is "$?" 0 "html -o FILE: exit 0"
H=$(cat "$T/report.html")
tap_like "$H" '^<!DOCTYPE html>' "the page is HTML"
tap_unlike "$(printf '%s' "$H" | sed 's/xmlns="[^"]*"//g')" '(src=|href=|url\(|@import|<link|https?:)' \
	"the page is self-contained: nothing to fetch"

# ---------------------------------------------------------------- Chromium
chrome() {	# chrome ARGS...: headless, no sandbox (root), no network at all
	timeout -k 5 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --user-data-dir="$T/chrome" \
		--no-first-run --no-default-browser-check --disable-background-networking \
		--disable-component-update --disable-sync --disable-default-apps --disable-extensions \
		--proxy-server=127.0.0.1:9 --proxy-bypass-list='<-loopback>' "$@" 2> "$T/chrome.err"
}
DOM=$(chrome --virtual-time-budget=3000 --dump-dom "file://$T/report.html")
tap_like "$DOM" '<svg id="posture-chart"[^>]* data-rendered="[1-9][0-9]*x[1-9][0-9]*"' \
	"Chromium: the chart has a non-zero rendered size" || tap_diag "$(tail -5 "$T/chrome.err")"
TOP=$(printf '%s' "$DOM" | tr '\n' ' ' | grep -o '<table id="top-destinations">.*</table>' | sed 's#</table>.*##')
for d in "${DESTS[@]}"; do
	tap_like "$TOP" "<td>\\[127\\.0\\.0\\.1\\]:${PORT[$d]}</td>" "Chromium: the top destinations table shows the $d server"
done
tap_like "$TOP" "<td>\\[127\\.0\\.0\\.1\\]:${PORT[verified]}</td><td>8</td><td>0%</td><td>100%</td><td>100%</td>" \
	"Chromium: the verified server: 8 messages, 100% TLS and verified"
SH=$(printf '%s' "$DOM" | tr '\n' ' ' | grep -o '<table id="shadow-breaks">.*' | sed 's#</table>.*##')
tap_like "$SH" "\\[127\\.0\\.0\\.1\\]:${PORT[self]}</td><td>4</td><td>4</td><td class=\"l\">certificate-not-trusted" \
	"Chromium: the shadow table: the self-signed server would be deferred"
tap_unlike "$SH" "\\]:${PORT[verified]}<" "Chromium: ... not the verified one"
EXP=$(printf '%s' "$DOM" | tr '\n' ' ' | grep -o '<table id="expiring">.*' | sed 's#</table>.*##')
tap_like "$EXP" "\\[127\\.0\\.0\\.1\\]:${PORT[short]}</td><td class=\"l\">127\\.0\\.0\\.1</td><td>[0-9-]+</td><td>in (9|10) days" \
	"Chromium: the expiring table: the certificate of 10 days"
tap_like "$DOM" "\\[127\\.0\\.0\\.1\\]:${PORT[verified]} verify" "Chromium: the suggestion for the verified server"

chrome --screenshot="$T/report.png" --window-size=1280,1600 "file://$T/report.html" > /dev/null
px=$("$PY" - "$T/report.png" <<'PYEOF'
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', "not a PNG"
pos, idat, w = 8, b'', 0
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'IHDR':
        w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
        assert depth == 8 and ctype in (2, 6), "unexpected PNG format"
        bpp = 3 if ctype == 2 else 4
    elif kind == b'IDAT':
        idat += body
    pos += 12 + n
raw, stride, prev, rows = zlib.decompress(idat), w * bpp, None, []
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x] if prev else 0
        c = prev[x - bpp] if prev and x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(bytes(line)); prev = line
want = {'verified': (0x2e, 0x85, 0x40), 'plaintext': (0xf0, 0xad, 0x4e)}
count = {k: 0 for k in want}
for line in rows:
    for x in range(0, stride, bpp):
        for k, v in want.items():
            if tuple(line[x:x + 3]) == v:
                count[k] += 1
print("%dx%d %d %d" % (w, h, count['verified'], count['plaintext']))
PYEOF
)
tap_like "$px" '^1280x1600 ' "Chromium: the screenshot is 1280x1600" || tap_diag "$(tail -5 "$T/chrome.err")"
read -r _ green orange <<< "$px"
tap_status "$([ "${green:-0}" -gt 500 ] && [ "${orange:-0}" -gt 100 ]; echo $?)" \
	"Chromium: the rendered chart shows verified and plaintext bars" "pixels: $px"

tap_done

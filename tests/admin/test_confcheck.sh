#!/bin/bash
# tests/admin/test_confcheck.sh - tlsrelay -n / -d (the settings, postconf
# style) and tlsrelay -t (every problem of the configuration and of the files
# it names, "file:line: reason", exit 78).
#
# No network, no message: every case runs the built tlsrelay on files made
# in a private directory, with standard input closed, under timeout 20.

: "${top_builddir:=/tmp/bld-admin}"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

require_cmd timeout openssl
TLSRELAY=${TLSRELAY_BIN:-$top_builddir/plugin/transport/tlsrelay}
[ -x "$TLSRELAY" ] || tap_bail "no tlsrelay at $TLSRELAY"

make_tmpdir
T=$TEST_TMP

run() {	# run ARGS...: sets OUT (stdout+stderr) and RC
	OUT=$(timeout 20 "$TLSRELAY" "$@" 2>&1 <&-)
	RC=$?
}

lines() { printf '%s\n' "$1" | grep -c "$2"; }

# ------------------------------------------------------------------ -n / -d
tap_plan 61	# a linear script (dane_row: 3 checks a row)
: > "$T/empty.conf"
run -c "$T/empty.conf" -n
tap_is "$RC" 0 "-n, empty config: exit 0"
tap_is "$OUT" "" "-n, empty config: nothing differs from the defaults"

cat > "$T/some.conf" <<EOF
# comment
deadline = 20m
relayhost = [smarthost.example.net]:587
tls_security_level = encrypt
connect_timeout = 30s
EOF
run -c "$T/some.conf" -n
tap_is "$RC" 0 "-n: exit 0"
tap_is "$OUT" "relayhost = [smarthost.example.net]:587
tls_security_level = encrypt
deadline = 20m" "-n: only the non-default settings, table order, default-valued connect_timeout left out"

run -c "$T/some.conf" -o mx_address_limit=7 -o deadline=600s -n
tap_is "$OUT" "relayhost = [smarthost.example.net]:587
tls_security_level = encrypt
mx_address_limit = 7" "-n with -o: overrides count, an override back to the default drops the line"

run -c "$T/some.conf" -d
tap_is "$RC" 0 "-d: exit 0"
tap_like "$OUT" '^connect_timeout = 30s$' "-d: defaults shown"
tap_like "$OUT" '^deadline = 20m$' "-d: file values shown"
tap_like "$OUT" '^helo_name =$' "-d: unset strings shown empty"
tap_is "$(printf '%s\n' "$OUT" | grep -vc ' =')" 0 "-d: every line is a setting"

run -c "$T/missing.conf" -n
tap_is "$RC" 78 "-n, missing -c file: exit 78"
tap_like "$OUT" '^4\.3\.5 tlsrelay: .*missing\.conf: cannot open' "-n, missing -c file: one-line reason"

# ---------------------------------------------------------------------- -t
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -out "$T/ca.pem" \
	-subj /CN=confcheck-ca -days 2 >/dev/null 2>&1 || tap_bail "openssl req failed"
mkdir -p "$T/spool" "$T/capath"
cp "$T/ca.pem" "$T/capath/"
openssl rehash "$T/capath" >/dev/null 2>&1 || tap_bail "openssl rehash failed"
printf 'example.com secure\n[mx.example.net]:587 verify match=mx.example.net\n' > "$T/good.pol"
printf '[smarthost.example.net]:587 user:s3cret-pass\n' > "$T/good.sasl"
chmod 600 "$T/good.sasl"
cat > "$T/good.conf" <<EOF
tls_policy_map = $T/good.pol
sasl_password_map = $T/good.sasl
tls_ca_file = $T/ca.pem
tls_ca_path = $T/capath
spool_directory = $T/spool
EOF
run -c "$T/good.conf" -t
tap_is "$RC" 0 "-t, good configuration: exit 0"
tap_like "$OUT" "^tlsrelay: configuration OK \\($T/good.conf\\)$" "-t, good configuration: says OK and names the file"
tap_is "$(printf '%s\n' "$OUT" | wc -l)" 1 "-t, good configuration: one line"

# Every kind of problem at once: each must be reported, not just the first.
printf 'example.com secure\nbad..key verify\nexample.com may\nfoo.com frobnicate\n  continued=1\nlast.example fingerprint\n' > "$T/bad.pol"
printf '[smarthost.example.net]:587 user:s3cret-pass\nnoport\n[x]:587 user:\n' > "$T/bad.sasl"
chmod 644 "$T/bad.sasl"
printf 'not a certificate\n' > "$T/junk.pem"
mkdir -p "$T/emptydir"
cat > "$T/bad.conf" <<EOF
relayhost = [smarthost.example.net]:587
bogus_key = 1
connect_timeout = abc
no equals sign here
tls_policy_map = $T/bad.pol
sasl_password_map = $T/bad.sasl
tls_ca_file = $T/junk.pem
tls_ca_path = $T/emptydir
spool_directory = $T/nospool
mx_session_limit = 99
EOF
run -c "$T/bad.conf" -t
tap_is "$RC" 78 "-t, broken configuration: exit 78"
tap_like "$OUT" "^tlsrelay: $T/bad.conf:2: unknown setting \"bogus_key\"$" "-t: unknown key with file:line"
tap_like "$OUT" "^tlsrelay: $T/bad.conf:3: bad value for connect_timeout" "-t: bad time value with file:line"
tap_like "$OUT" "^tlsrelay: $T/bad.conf:4: expected \"name = value\"" "-t: line without = with file:line"
tap_like "$OUT" "^tlsrelay: $T/bad.conf:10: bad value for mx_session_limit" "-t: out-of-range number (the reading went on after the errors)"
tap_like "$OUT" "^tlsrelay: $T/bad.pol:2: bad key \\(the first field\\): bad host name" "-t: bad policy map key with file:line"
tap_like "$OUT" "^tlsrelay: $T/bad.pol:3: duplicate key \"example.com\" \\(first at line 1\\)" "-t: duplicate policy key (after an earlier bad entry)"
tap_like "$OUT" "^tlsrelay: $T/bad.pol:4: unknown security level \\(the first word" "-t: unknown level in the policy map"
tap_like "$OUT" "^tlsrelay: $T/bad.pol:6: .*fingerprint" "-t: fingerprint without match= (the last entry is checked too)"
tap_like "$OUT" "^tlsrelay: $T/bad.sasl: is accessible by other users \\(mode 0644\\)" "-t: SASL map permissions"
tap_like "$OUT" "^tlsrelay: $T/bad.sasl:2: missing user:password" "-t: SASL map lines still checked after the permission problem"
tap_like "$OUT" "^tlsrelay: $T/bad.sasl:3: empty password" "-t: every SASL map line checked"
tap_like "$OUT" "^tlsrelay: tls_ca_file $T/junk.pem: no PEM certificate" "-t: CA file without a certificate"
tap_like "$OUT" "^tlsrelay: tls_ca_path $T/emptydir: no hashed certificate names" "-t: CA directory without hashed names"
tap_like "$OUT" "^tlsrelay: spool_directory $T/nospool: No such file" "-t: missing spool directory"
tap_like "$OUT" "^tlsrelay: 14 problems found in $T/bad.conf$" "-t: the count of problems is the last line"
tap_unlike "$OUT" 's3cret' "-t: no password in the output"

run -c "$T/good.conf" -o connect_timeout=never -o tls_security_level=verify -t
tap_is "$RC" 78 "-t with a bad -o: exit 78"
tap_like "$OUT" 'bad value for connect_timeout' "-t: -o values are checked too"

run -c "$T/nonexistent.conf" -t
tap_is "$RC" 78 "-t, missing -c file: exit 78"
tap_like "$OUT" "^tlsrelay: $T/nonexistent.conf: cannot open: No such file" "-t, missing -c file: named"

printf 'tls_policy_map = %s/nope.pol\n' "$T" > "$T/nomap.conf"
run -c "$T/nomap.conf" -t
tap_is "$RC" 78 "-t, policy map missing: exit 78"
tap_like "$OUT" "^tlsrelay: $T/nope.pol: cannot open" "-t, policy map missing: named"

# ------------------------------------ -t: DANE and a resolver not on loopback
# The AD bit is trusted as it comes (RES_TRUSTAD): -t warns when a dane
# level (tls_security_level, or any tls_policy_map entry) meets a resolver
# that is not on loopback. A warning, not a problem: exit 0. Every row sets
# dns_resolver (the system's /etc/resolv.conf is read by -t only without
# it; tests/unit/test_dane_resolver covers that with files of its own).
printf 'example.com secure\n' > "$T/nodane.pol"
printf 'example.com secure\n[mx.example.net]:587 dane-only\n' > "$T/dane.pol"
# dane_row NAME LEVEL MAP RESOLVER WARN_ERE|-: tlsrelay -t on those settings
dane_row() {
	local name=$1 level=$2 map=$3 resolver=$4 ere=$5
	{
		printf 'tls_security_level = %s\ndns_resolver = %s\n' "$level" "$resolver"
		[ "$map" = - ] || printf 'tls_policy_map = %s\n' "$T/$map"
	} > "$T/dane-$name.conf"
	run -c "$T/dane-$name.conf" -t
	tap_is "$RC" 0 "-t dane $name: exit 0 (a warning is not a problem)"
	tap_like "$OUT" "^tlsrelay: configuration OK" "-t dane $name: configuration OK"
	if [ "$ere" = - ]; then
		tap_unlike "$OUT" "warning" "-t dane $name: no warning"
	else
		tap_like "$OUT" "^tlsrelay: warning: $ere" "-t dane $name: warns"
	fi
}
#        NAME             LEVEL      MAP        RESOLVER            WARNING
dane_row loopback         dane       -          127.0.0.1:5353      -
dane_row loopback-v6      dane-only  -          '[::1]:53'          -
dane_row remote           dane       -          198.51.100.53       'DANE \(tls_security_level = dane\) trusts the AD bit of dns_resolver 198\.51\.100\.53, which is not on loopback'
dane_row remote-port      dane-only  -          198.51.100.53:5353  'DANE \(tls_security_level = dane-only\) trusts the AD bit of dns_resolver 198\.51\.100\.53:5353'
dane_row map-only         may        dane.pol   198.51.100.53       "DANE \\(tls_policy_map $T/dane\\.pol:2 key \\[mx\\.example\\.net\\]:587\\) trusts the AD bit of dns_resolver 198\\.51\\.100\\.53"
dane_row map-loopback     may        dane.pol   127.0.0.1           -
dane_row no-dane          verify     nodane.pol 198.51.100.53       -

# -t and -n never read standard input: a FIFO whose writer (fd 3 here)
# never closes would hold them until timeout 20 (exit 124).
mkfifo "$T/fifo"
exec 3<>"$T/fifo"
OUT=$(timeout 20 "$TLSRELAY" -c "$T/good.conf" -t 2>&1 < "$T/fifo")
tap_is "$?" 0 "-t does not read standard input"
OUT=$(timeout 20 "$TLSRELAY" -c "$T/good.conf" -n 2>&1 < "$T/fifo")
tap_is "$?" 0 "-n does not read standard input"
exec 3>&-

tap_done

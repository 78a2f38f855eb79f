#!/bin/bash
# tests/admin/test_confcheck.sh - tlsrelay -n / -d (the settings, postconf
# style, each with where its value comes from: FILE:LINE, -o or default)
# and tlsrelay -t (every problem of the configuration and of the files it
# names, "file:line: reason", exit 78; warnings: a line that lowers a
# security setting, a relay host without credentials; -t -u USER).
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
# Each section declares its checks (tap_expect) first; a row of a table
# (dane_row, lower_row, auth_row) declares its own.
tap_expect 40	# a linear script: -n, -d, then -t on good, broken and missing files
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
tap_is "$OUT" "$T/some.conf:3: relayhost = [smarthost.example.net]:587
$T/some.conf:4: tls_security_level = encrypt
$T/some.conf:2: deadline = 20m" "-n: only the non-default settings, table order, each with its file:line, default-valued connect_timeout left out"

run -c "$T/some.conf" -o mx_address_limit=7 -o deadline=600s -n
tap_is "$OUT" "$T/some.conf:3: relayhost = [smarthost.example.net]:587
$T/some.conf:4: tls_security_level = encrypt
-o: mx_address_limit = 7" "-n with -o: overrides count (origin -o), an override back to the default drops the line"

run -c "$T/some.conf" -d
tap_is "$RC" 0 "-d: exit 0"
tap_like "$OUT" '^default: data_timeout = 3m$' "-d: defaults shown, as default"
tap_like "$OUT" "^$T/some.conf:2: deadline = 20m\$" "-d: file values shown with file:line"
tap_like "$OUT" "^$T/some.conf:5: connect_timeout = 30s\$" "-d: a value set to the default by a line is that line's"
tap_like "$OUT" '^default: helo_name =$' "-d: unset strings shown empty"
tap_is "$(printf '%s\n' "$OUT" | grep -vc ' =')" 0 "-d: every line is a setting"
printf 'relayhost = [a.example]:25\n\nrelayhost = [b.example]:25\n' > "$T/twice.conf"
run -c "$T/twice.conf" -n
tap_is "$OUT" "$T/twice.conf:3: relayhost = [b.example]:25" "-n: a setting given twice: the last line, and its line number"

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
		# no resolver self-test here: it would query these addresses (one
		# outside loopback); tests/ops/test_dnssec.sh tests it with its own
		echo "dnssec_self_test = no"
	} > "$T/dane-$name.conf"
	tap_expect 3
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

# ------------------------ -t: a later line lowers a security setting
# "Last one wins": a block appended under a stricter one weakens it
# silently (issue 19). -t warns (exit 0: the file is valid); only lines of
# the file count, -o is a deliberate dry run. Each row: a file (\n for
# new lines), -o or -, the warning expected (ERE after "tlsrelay:
# warning: FILE:") or - for none.
lower_row() {
	local name=$1 body=$2 ov=$3 ere=$4
	tap_expect 2
	printf "$body" > "$T/lower-$name.conf"
	if [ "$ov" = - ]; then run -c "$T/lower-$name.conf" -t; else run -c "$T/lower-$name.conf" -o "$ov" -t; fi
	tap_is "$RC" 0 "-t lowering $name: exit 0 (a warning is not a problem)"
	if [ "$ere" = - ]; then
		tap_unlike "$OUT" "warning" "-t lowering $name: no warning"
	else
		tap_like "$OUT" "^tlsrelay: warning: $T/lower-$name\\.conf:$ere" "-t lowering $name: warns"
	fi
}
#         NAME             FILE                                                             -o                        WARNING
lower_row secure-may       'tls_security_level = secure\nhelo_name = h.example\ntls_security_level = may\n' - \
	"3: tls_security_level = may lowers secure of $T/lower-secure-may\\.conf:1 \\(the last line wins\\): remove one of the two lines\$"
# (dane without dns_resolver: no resolver self-test, it would ask the
# system's resolver, which tests must never use)
lower_row verify-dane      'tls_security_level = verify\ntls_security_level = dane\ndnssec_self_test = no\n' - "2: tls_security_level = dane lowers verify of .*:1 "
lower_row may-secure       'tls_security_level = may\ntls_security_level = secure\n'    -   -
lower_row same-twice       'tls_security_level = encrypt\ntls_security_level = encrypt\n' - -
lower_row none-alone       'tls_security_level = none\n'                                  -   -
lower_row o-lowers         'tls_security_level = secure\n'                                tls_security_level=may -
lower_row sts-off          'mta_sts = yes\nmta_sts = no\n'                                 -   "2: mta_sts = no lowers yes of "
lower_row header-off       'require_header = yes\nrequire_header = no\n'                   -   "2: require_header = no lowers yes of "
lower_row relax-on         'tls_required_enable = no\ntls_required_enable = yes\n'         -   "2: tls_required_enable = yes lowers no of "
printf 'to example.com verify\n' > "$T/rules"
lower_row rules-unset      "message_rules = $T/rules\nmessage_rules =\n"                  -   "2: message_rules = none lowers a file of "
lower_row deadline-twice   'deadline = 20m\ndeadline = 1m\n'                              -   -

# ------------------- -t: a bracketed relay host without credentials
# The map has no key for [relay]:port: mail goes without AUTH, and a relay
# host that requires it refuses (530). An MX-looked-up relayhost is not
# judged (its MX names are unknown without DNS).
auth_row() {
	local name=$1 relay=$2 key=$3 ere=$4
	printf '%s user:pw\n' "$key" > "$T/auth-$name.sasl" && chmod 600 "$T/auth-$name.sasl"
	printf 'relayhost = %s\nsasl_password_map = %s\n' "$relay" "$T/auth-$name.sasl" > "$T/auth-$name.conf"
	tap_expect 3
	run -c "$T/auth-$name.conf" -t
	tap_is "$RC" 0 "-t relay credentials $name: exit 0"
	if [ "$ere" = - ]; then
		tap_unlike "$OUT" "warning" "-t relay credentials $name: no warning"
	else
		tap_like "$OUT" "^tlsrelay: warning: $ere" "-t relay credentials $name: warns"
	fi
	tap_unlike "$OUT" 'user:pw|:pw' "-t relay credentials $name: no secret printed"
}
#        NAME        RELAYHOST                 KEY                       WARNING
auth_row match       '[smtp.example.net]:587'  '[smtp.example.net]:587'  -
auth_row any-port    '[smtp.example.net]:587'  'smtp.example.net'        -
auth_row bracket     '[smtp.example.net]:587'  '[smtp.example.net]'      -
auth_row wrong-port  '[smtp.example.net]:587'  '[smtp.example.net]:465'  "sasl_password_map $T/auth-wrong-port\\.sasl has no credentials for the relay host \\[smtp\\.example\\.net\\]:587 \\(keys looked up: \\[smtp\\.example\\.net\\]:587, \\[smtp\\.example\\.net\\], smtp\\.example\\.net\\): mail goes without AUTH"
auth_row wrong-host  '[smtp.example.net]:587'  '[mail.example.net]:587'  'sasl_password_map .* has no credentials for the relay host'
auth_row mx-relay    'smtp.example.net:587'    '[mail.example.net]:587'  -

# ------------------------------ -t -u USER: the checks with USER's rights
# A delivery runs as the pipe's user, -t as whoever runs it: -u makes -t
# open every file as that user, and each "cannot open" names the user.
printf '[smtp.example.net]:587 user:s3cret\n' > "$T/root.sasl" && chmod 600 "$T/root.sasl"
printf 'sasl_password_map = %s\n' "$T/root.sasl" > "$T/root.conf" && chmod 644 "$T/root.conf"
chmod 755 "$T"
tap_expect $((11 + 2))	# as root and -u (or 11 skips); -u without -t
if [ "$(id -u)" = 0 ] && getent passwd nobody >/dev/null; then
	run -c "$T/root.conf" -t
	tap_is "$RC" 0 "-t as root: root reads its 0600 password map"
	run -c "$T/root.conf" -t -u nobody
	tap_is "$RC" 78 "-t -u nobody: exit 78 (nobody cannot read the map)"
	tap_like "$OUT" "^tlsrelay: $T/root\\.sasl: cannot open: Permission denied \\(as user nobody\\)\$" \
		"-t -u nobody: the cannot-open line names the user"
	tap_like "$OUT" "^tlsrelay: 1 problem found in $T/root\\.conf as user nobody\$" "-t -u nobody: the summary names the user"
	chown nobody "$T/root.sasl"
	run -c "$T/root.conf" -t -u nobody
	tap_is "$RC" 0 "-t -u nobody: OK once the map is nobody's"
	tap_like "$OUT" "^tlsrelay: configuration OK \\($T/root\\.conf, as user nobody\\)\$" "-t -u nobody: OK names the user"
	OUT=$(runuser -u nobody -- timeout 20 "$TLSRELAY" -c "$T/root.conf" -t -u root 2>&1 <&-); RC=$?
	tap_is "$RC" 78 "-t -u root run by nobody: refused, exit 78"
	tap_like "$OUT" '^4\.3\.5 tlsrelay: -u root: only root can check as another user' "-t -u by a non-root user: one clear line"
	run -c "$T/root.conf" -t -u no-such-user-tr
	tap_like "$OUT" '^4\.3\.5 tlsrelay: -u no-such-user-tr: no such user$' "-t -u: an unknown user is named"
	tap_is "$RC" 78 "-t -u unknown user: exit 78"
	chmod 600 "$T/good.sasl"
	run -c "$T/nomap.conf" -t -u nobody
	tap_like "$OUT" "cannot open: No such file or directory \\(as user nobody\\)" "-t -u: a missing map names the user too"
else
	for t in "as root" "-u nobody refused" "names the user" "summary" "OK" "OK names" "non-root" "one line" "unknown" "exit" "missing"; do
		tap_skip "-t -u: $t" "needs root and the user nobody"
	done
fi
run -c "$T/good.conf" -n -u nobody
tap_is "$RC" 78 "-u without -t: exit 78"
tap_like "$OUT" '^4\.3\.5 tlsrelay: -u goes with -t only' "-u without -t: says -u goes with -t"

# ------------------------------------- --help and --version everywhere
# Every program answers them as its first argument, on standard output,
# exit 0, reading nothing else (tlsrelayc never sends them to the daemon).
PROGS=(plugin/transport/tlsrelay plugin/transport/tlsrelayc plugin/probe/tlsrelay-probe
	plugin/sts/tlsrelay-sts plugin/daemon/tlsrelayd plugin/milter/tlsrelay-milter
	plugin/report/tlsrelay-report)
tap_expect $((2 * ${#PROGS[@]}))	# --version and --help (or 2 skips)
for prog in "${PROGS[@]}"; do
	name=${prog##*/}
	if [ ! -x "$top_builddir/$prog" ]; then
		tap_skip "$name --version / --help" "not built here ($top_builddir/$prog)"
		tap_skip "$name --help: usage" "not built here"
		continue
	fi
	OUT=$(timeout 20 "$top_builddir/$prog" --version 2>/dev/null <&-); RC=$?
	tap_status "$([ "$RC" = 0 ] && [[ $OUT =~ ^$name\ [0-9]+\.[0-9]+ ]]; echo $?)" "$name --version: \"$name VERSION\", exit 0" "exit $RC: $OUT"
	OUT=$(timeout 20 "$top_builddir/$prog" --help 2>/dev/null <&-); RC=$?
	tap_status "$([ "$RC" = 0 ] && [[ $OUT == "usage: $name "* ]]; echo $?)" "$name --help: the synopsis on standard output, exit 0" "exit $RC: $OUT"
done

# -t and -n never read standard input: a FIFO whose writer (fd 3 here)
# never closes would hold them until timeout 20 (exit 124).
tap_expect 2
mkfifo "$T/fifo"
exec 3<>"$T/fifo"
OUT=$(timeout 20 "$TLSRELAY" -c "$T/good.conf" -t 2>&1 < "$T/fifo")
tap_is "$?" 0 "-t does not read standard input"
OUT=$(timeout 20 "$TLSRELAY" -c "$T/good.conf" -n 2>&1 < "$T/fifo")
tap_is "$?" 0 "-n does not read standard input"
exec 3>&-

tap_done

#!/bin/bash
# tests/exim/test_exim_dlfunc.sh - tlsrelay_exim.so, tlsrelay's policy for
# Exim's own smtp transport through ${dlfunc}.
#
# Part 1: "exim -C CONF -be" for every function and every return path:
#   OK with the answer (a table of policies), FAIL for bad arguments (the
#   expansion fails, nothing in the panic log), DEFER for an unreadable or
#   broken configuration or policy map (the expansion fails and Exim's panic
#   log says "failed (1)"), and the host-list functions failing closed.
# Part 2: an Exim daemon whose native smtp transport is the shipped
#   conf/exim/transport_tlsrelay_smtp.conf (its router mirrors
#   router_tlsrelay_smtp.conf with manualroute to the test receiver):
#   a. encrypt, receiver without STARTTLS: deferred, in the queue, not sent
#   b. may (another domain on the same server): delivered in plaintext;
#      a's message is not sent down that plaintext connection
#   c. broken policy map: the router defers; nothing sent
#   d. receiver with STARTTLS: the deferred message of a goes out over TLS
#   e. none, receiver with STARTTLS: delivered without TLS (hosts_avoid_tls)
#   f. secure (not "complete" for Exim): routed to the tlsrelay pipe
#      transport (conf/exim/router_tlsrelay.conf), delivered over TLS
#   g. verify, the receiver's certificate names 127.0.0.1 and comes from
#      the test CA (TLSRELAY_CA): delivered, CV=yes
#   h. verify, a certificate for another name: deferred
#   i. encrypt, the same certificate: delivered over TLS
#   j. mta_sts = yes in tlsrelay.conf, a domain without a map entry (level
#      encrypt, "complete" until then): not Exim's to enforce (MTA-STS is
#      decided at delivery): routed to the tlsrelay pipe transport
# Needs root, $EXIM, the built .so ($TLSRELAY_EXIM_SO), postfix, swaks.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
# shellcheck source=tests/e2e/relay_conf.sh
. "$top_srcdir/tests/e2e/relay_conf.sh"
. "$top_srcdir/tests/exim/exim.sh"

exim_require
require_cmd postfix postconf swaks runuser
# A sanitizer build's .so needs the ASan runtime loaded first, which Exim
# (not built with it) does not do: dlopen fails. The library code behind
# the functions is covered under the sanitizers by tests/unit/test_policy_api.
[ -n "${ASAN_OPTIONS:-}${UBSAN_OPTIONS:-}" ] &&
	tap_skip_all "sanitizer build: Exim cannot load an ASan-built tlsrelay_exim.so (test_policy_api covers the library)"
[ -f "${TLSRELAY_EXIM_SO:-}" ] || tap_skip_all "tlsrelay_exim.so not built (configure --enable-exim needs local_scan.h)"
"$EXIM" -bV 2>/dev/null | grep -q 'Expand_dlfunc' || tap_skip_all "$EXIM has no \${dlfunc} (exim -bV lacks Expand_dlfunc; Debian: exim4-daemon-heavy)"
make_tmpdir
T=$TEST_TMP

# Exim's transport user must be able to read the .so: stage it.
mkdir -p "$T/lib" && cp "$TLSRELAY_EXIM_SO" "$T/lib/tlsrelay_exim.so" && chmod -R a+rX "$T/lib"
SO=$T/lib/tlsrelay_exim.so
FP="01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef"

# ================================================================= part 1
exim_new be "$(free_port)" || tap_bail "exim_new failed"
BE=$EX_DIR
GOOD=$T/good.conf BAD=$T/badmap.conf
cat > "$T/good.map" <<EOF
enc.test          encrypt
may.test          may
none.test         none
ver.test          verify
verx.test         verify match=hostname:.example.com
sec.test          secure
fp.test           fingerprint match=$FP
[smart.test]:587  encrypt protocols=TLSv1.3
EOF
printf 'broken.test  bogus-level\n' > "$T/bad.map"
printf 'tls_policy_map = %s\nsyslog = no\n' "$T/good.map" > "$GOOD"
printf 'tls_policy_map = %s\nsyslog = no\n' "$T/bad.map" > "$BAD"
printf 'tls_policy_map = %s\nsyslog = no\n' "$T/missing.map" > "$T/nomap.conf"
printf 'no_such_setting = 1\n' > "$T/badkey.conf"
printf 'tls_policy_map = %s\nsyslog = no\nmta_sts = yes\n' "$T/good.map" > "$T/sts.conf"
chmod 0644 "$T"/*.conf "$T"/*.map
# the shipped router and transport snippets, with their default macros
# (but TLSRELAY_USER: its default, _tlsrelay, is made by the tlsrelay
# package, and Exim refuses a user that does not exist)
getent passwd _tlsrelay >/dev/null || printf 'TLSRELAY_USER = Debian-exim\n' >> "$BE/exim.conf"
cat >> "$BE/exim.conf" <<EOF
begin routers
.include $top_srcdir/conf/exim/router_tlsrelay_smtp.conf
.include $top_srcdir/conf/exim/router_tlsrelay.conf
begin transports
.include $top_srcdir/conf/exim/transport_tlsrelay_smtp.conf
.include $top_srcdir/conf/exim/transport_tlsrelay.conf
EOF
# One plan for the checks below: a linear script (ok_case 1, fail_case 2;
# the loops run over fixed lists).
tap_plan 102
out=$(exim_cmd "$BE" -bV 2>&1)
tap_status $? "be: exim -bV accepts the four conf/exim/ snippets with their default macros" "$out"
out=$(exim_cmd "$BE" -bP transport tlsrelay_smtp 2>&1)
tap_like "$out" "^hosts_require_tls = .*/usr/local/lib/tlsrelay/tlsrelay_exim.so\}\{require_tls\}" "be: the default TLSRELAY_EXIM_SO is \$(libdir)/tlsrelay of prefix /usr/local"

be() {	# be FN ARGS...: the expansion's output ("Failed: ..." when it fails)
	local fn=$1 a=""; shift
	for x in "$@"; do a="$a{$x}"; done
	exim_cmd "$BE" -be "\${dlfunc{$SO}{$fn}$a}" 2>&1
}
panic_lines() { cat "$BE/log/paniclog" 2>/dev/null | grep -c "{$1} failed (1)"; }

# ok_case FN NEXTHOP WANT: OK with WANT
ok_case() {
	tap_is "$(be "$1" "$2" "$GOOD")" "$3" "be: $1 $2 = \"$3\""
}
for row in \
	"level enc.test encrypt" "level may.test may" "level none.test none" \
	"level ver.test verify" "level sec.test secure" "level fp.test fingerprint" \
	"level [smart.test]:587 encrypt" "level other.test may" \
	"require_tls enc.test *" "require_tls may.test " "require_tls none.test " \
	"require_tls ver.test *" "require_tls sec.test *" "require_tls fp.test *" \
	"require_tls other.test " \
	"avoid_tls none.test *" "avoid_tls may.test " "avoid_tls enc.test " \
	"verify_hosts ver.test *" "verify_hosts sec.test *" "verify_hosts enc.test " \
	"verify_hosts fp.test " "verify_hosts may.test " \
	"verify_names ver.test *" "verify_names sec.test *" "verify_names enc.test " \
	"verify_names may.test " \
	"complete enc.test yes" "complete may.test yes" "complete none.test yes" \
	"complete ver.test yes" "complete other.test yes" "complete verx.test no" \
	"complete sec.test no" "complete fp.test no" "complete [smart.test]:587 no"; do
	read -r fn nh want <<< "$row"
	ok_case "$fn" "$nh" "$want"
done
tap_is "$(be describe sec.test "$GOOD")" "secure match=nexthop:dot-nexthop (from $T/good.map:6 key sec.test)" \
	"be: describe names the policy and its source"
# mta_sts = yes: an MX destination without a map entry is never complete (the
# tlsrelay transport decides MTA-STS at delivery); a map entry wins
for row in "complete other.test no" "complete enc.test yes" "complete [smart.test]:587 no" \
	"complete [other.test] yes" "level other.test may" "require_tls other.test "; do
	read -r fn nh want <<< "$row"
	tap_is "$(be "$fn" "$nh" "$T/sts.conf")" "$want" "be, mta_sts = yes: $fn $nh = \"$want\""
done
tap_is "$(be describe other.test "$T/sts.conf")" "may (from tls_security_level) [MTA-STS (mta_sts = yes) applies at delivery]" \
	"be, mta_sts = yes: describe says why other.test is not complete"

# the default configuration (SYSCONFDIR/tlsrelay.conf, may be missing)
defconf=$(sed -n 's/^#define SYSCONFDIR "\(.*\)"$/\1/p' "$top_builddir/config.h" 2>/dev/null)
if [ -z "$defconf" ] && [ -f "$top_builddir/Makefile" ]; then
	defconf=$(sed -n 's/^sysconfdir = //p' "$top_builddir/Makefile")
	[ "$defconf" = '${prefix}/etc' ] && defconf=$(sed -n 's/^prefix = //p' "$top_builddir/Makefile")/etc
fi
if [ -n "$defconf" ] && [ ! -e "$defconf/tlsrelay.conf" ]; then
	tap_is "$(be level enc.test)" "may" "be: without CONFIG, a missing default tlsrelay.conf means the defaults"
else
	tap_skip "be: default configuration" "$defconf/tlsrelay.conf exists here"
fi

# fail_case NAME CODE FN ARGS...: the expansion fails. Exim logs its DEFER
# (not its FAIL) as "dlfunc{..}{FN} failed (1)": to the panic log, or to
# standard error when it cannot write there (-C drops privileges).
fail_case() {
	local name=$1 code=$2 fn=$3 out before logged; shift 3
	before=$(panic_lines "$fn")
	out=$(be "$fn" "$@")
	logged=$(( $(panic_lines "$fn") - before + $(printf '%s\n' "$out" | grep -c "{$fn} failed (1)") ))
	tap_like "$out" "^Failed: tlsrelay_exim $fn: " "be: $name: the expansion fails with tlsrelay_exim's reason"
	if [ "$code" = DEFER ]; then
		tap_is "$logged" 1 "be: $name: DEFER (Exim logs \"failed (1)\")"
	else
		tap_is "$logged" 0 "be: $name: FAIL (not logged as a deferral)"
	fi
	LAST_OUT=$out
}
fail_case "no arguments" FAIL level
fail_case "three arguments" FAIL level enc.test "$GOOD" extra
fail_case "bad nexthop" FAIL level "[unbalanced" "$GOOD"
tap_like "$LAST_OUT" "bad nexthop" "be: bad nexthop: the reason says so"
fail_case "broken policy map" DEFER level broken.test "$BAD"
tap_like "$LAST_OUT" "bad.map:1: unknown security level" "be: broken map: file, line and reason"
tap_unlike "$LAST_OUT" "bogus-level" "be: broken map: the bad value is not quoted"
fail_case "missing policy map" DEFER level enc.test "$T/nomap.conf"
fail_case "missing configuration" DEFER level enc.test "$T/no-such.conf"
fail_case "bad configuration" DEFER level enc.test "$T/badkey.conf"
fail_case "complete, broken map" DEFER complete enc.test "$BAD"
fail_case "describe, broken map" DEFER describe enc.test "$BAD"

# One Exim process, several calls (stdin of "exim -be"): the context is kept
# between calls, but not across a change of tlsrelay.conf, and a failed load
# is not kept.
coproc BEPROC { exim_cmd "$BE" -be 2>&1; }
be_line() {	# be_line FN NEXTHOP CONF: one expansion in the running exim -be
	local line
	printf '${dlfunc{%s}{%s}{%s}{%s}}\n' "$SO" "$1" "$2" "$3" >&"${BEPROC[1]}"
	while IFS= read -r -t 30 line <&"${BEPROC[0]}"; do
		line=${line#> }
		case $line in *"failed (1)"*|'') continue ;; esac
		printf '%s\n' "$line"
		return 0
	done
	echo "(no answer)"
}
live_conf() { printf 'tls_policy_map = %s\nsyslog = no\ntls_security_level = %s\n' "$T/live.map" "$1" > "$T/live.conf"; }
cp "$T/bad.map" "$T/live.map"
live_conf encrypt
tap_like "$(be_line level enc.test "$T/live.conf")" "^Failed: tlsrelay_exim level: .*live.map:1: " \
	"be, one process: a broken map fails"
cp "$T/good.map" "$T/live.map"
tap_is "$(be_line level enc.test "$T/live.conf")" "encrypt" "be, one process: a failed map load is not kept (fixed map read)"
tap_is "$(be_line level may.test "$T/live.conf")" "may" "be, one process: the next call answers from the kept context"
tap_is "$(be_line level other.test "$T/live.conf")" "encrypt" "be, one process: tls_security_level encrypt"
live_conf none
tap_is "$(be_line level other.test "$T/live.conf")" "none" "be, one process: an edited tlsrelay.conf is read again"
exec {BEPROC[1]}>&-
wait "$BEPROC_PID" 2>/dev/null

# host lists fail closed, never FAIL or DEFER (Exim would read "no match")
for fn in require_tls verify_hosts verify_names; do
	tap_is "$(be "$fn" may.test "$BAD")" "*" "be: $fn with a broken map fails closed (\"*\")"
	tap_is "$(be "$fn" "[bad" "$GOOD")" "*" "be: $fn with a bad nexthop fails closed (\"*\")"
done
tap_is "$(be avoid_tls none.test "$BAD")" "" "be: avoid_tls with a broken map: STARTTLS is still tried"

# ================================================================= part 2
RPORT=$(free_port) && HPORT=$(free_port) || tap_bail "no free port"
TR=$(stage_tlsrelay "$T/bin") || tap_bail "cannot stage tlsrelay"
mkdir -p "$T/trspool" && chown Debian-exim "$T/trspool" && chmod 0700 "$T/trspool"
CONF=$T/tlsrelay.conf MAP=$T/tls_policy
# the shared object reads tls_policy_map; the pipe fallback all of it
relay_conf "$CONF" "$RPORT" encrypt "$T/trspool" "tls_policy_map = $MAP"
set_policy() { printf '%s\n' "$@" > "$MAP"; chmod 0644 "$MAP"; }
set_policy "example.test encrypt" "plain.test may"

receiver_new receiver "$RPORT" none || tap_bail "receiver_new failed"
RECV=$PF_DIR
# a second domain on the same server, with its own policy
map=""
for u in $RECEIVER_USERS; do map="$map $u@example.test=example.test/$u/,"; done
pf_set "$RECV" "virtual_mailbox_domains = example.test, plain.test" \
	"virtual_mailbox_maps = inline:{$map user@plain.test=plain.test/user/ }" || tap_bail "pf_set failed"
pf_start "$RECV" || tap_bail "receiver did not start"
wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver not listening"

exim_new host "$HPORT" || tap_bail "exim_new failed"
HOST=$EX_DIR
cat >> "$EX_CONF" <<EOF
TLSRELAY_EXIM_SO = $SO
TLSRELAY_CONFIG = $CONF
TLSRELAY_CA = $CERTS/ca.pem
TLSRELAY_PROGRAM = $TR
# -C: Exim cannot change user (the snippet's default is _tlsrelay)
TLSRELAY_USER = Debian-exim

begin acl
acl_check_rcpt:
  accept hosts = +relay_from_hosts
         domains = +relay_to_domains
  deny   message = relay not permitted

begin routers
# router_tlsrelay_smtp.conf with manualroute to the test receiver instead
# of dnslookup (the same address_data)
tlsrelay_smtp:
  driver = manualroute
  domains = ! +local_domains
  address_data = \${if eq{\${dlfunc{TLSRELAY_EXIM_SO}{complete}{\$domain}{TLSRELAY_CONFIG}}}{yes}{tlsrelay}fail}
  route_list = * 127.0.0.1
  self = send
  transport = tlsrelay_smtp
.include $top_srcdir/conf/exim/router_tlsrelay.conf

begin transports
.include $top_srcdir/conf/exim/transport_tlsrelay_smtp.conf
  port = $RPORT
  allow_localhost
.include $top_srcdir/conf/exim/transport_tlsrelay.conf

begin retry
*  *  F,1d,1d
EOF
exim_check_start "$HOST"
tap_diag "receiver 127.0.0.1:$RPORT (no STARTTLS), Exim 127.0.0.1:$HPORT ($HOST)"

send() {	# send NAME TO: sets MSGID, EXIM_ID
	# a's failure made a retry record for the receiver's address; hints
	# may be deleted at any time (Exim's spec), and each case starts fresh
	rm -f "$HOST"/spool/db/retry*
	MSGID="<dlfunc-$1.$$.$RANDOM@sender.test>"
	printf 'From: <sender@sender.test>\nTo: <%s>\nSubject: dlfunc %s\nMessage-ID: %s\n\nbody %s\n' \
		"$2" "$1" "$MSGID" "$1" > "$T/$1.eml"
	swaks_send "$HPORT" sender@sender.test "$2" "$T/$1.eml" --suppress-data
	EXIM_ID=$(printf '%s\n' "$SWAKS_OUT" | sed -n 's/.*<[-~] *250 OK id=\([-0-9A-Za-z]*\).*/\1/p' | tail -n 1)
	[ -n "$EXIM_ID" ]
}
in_queue() { exim_queue "$HOST" | grep -q -- "$1"; }
outcome() { exim_log_wait "$HOST" "$1 (=>|\*\*|==) .*$2" "${3:-60}"; }
received() { mail_header "$1" Received; }

# -------------------------------------------- a. encrypt, no STARTTLS: defer
send a user@example.test || tap_bail "swaks a failed: $SWAKS_OUT"
A_ID=$EXIM_ID A_MSGID=$MSGID
line=$(outcome "$A_ID" user@example.test)
tap_like "$line" "$A_ID == user@example.test R=tlsrelay_smtp T=tlsrelay_smtp defer.*TLS" \
	"a: encrypt, no STARTTLS offered: Exim's smtp transport defers (TLS required)"
in_queue "$A_ID"
tap_status $? "a: the message stays in Exim's queue"
_receiver_find "$(receiver_maildir "$RECV" user)" "$A_MSGID" >/dev/null
tap_status $((!$?)) "a: nothing reached the receiver in plaintext"

# --------------------------------------------- b. may, no STARTTLS: plaintext
send b user@plain.test || tap_bail "swaks b failed"
line=$(outcome "$EXIM_ID" user@plain.test)
tap_like "$line" "$EXIM_ID => user@plain.test R=tlsrelay_smtp T=tlsrelay_smtp" "b: may (another domain, same server): delivered by Exim's smtp transport"
mail=$(wait_until 30 _receiver_find "$(_pf_base "$RECV")/mail/plain.test/user" "$MSGID" >/dev/null &&
	_receiver_find "$(_pf_base "$RECV")/mail/plain.test/user" "$MSGID")
tap_status $? "b: the receiver stored it"
tap_unlike "$(received "$mail")" "ESMTPS|using TLS" "b: in plaintext (no STARTTLS offered)"
# Exim passes messages waiting for the same server down an open connection
# (log: "H=... [127.0.0.1]*"); a's must be refused there too. Wait (bounded)
# for such an attempt; whether Exim makes one is up to its hints.
exim_log_wait "$HOST" "$A_ID == .*\]\*: " 10 >/dev/null
grep -q "$A_ID => " "$(exim_log "$HOST")"
tap_status $((!$?)) "b: a's message was not delivered down b's plaintext connection" "$(grep "$A_ID" "$(exim_log "$HOST")")"
in_queue "$A_ID"
tap_status $? "b: a's message is still in the queue"

# ------------------------------------------------ c. broken map: router defers
set_policy "example.test no-such-level"
send c bob@example.test || tap_bail "swaks c failed"
line=$(outcome "$EXIM_ID" bob@example.test)
tap_like "$line" "$EXIM_ID == bob@example.test R=tlsrelay_smtp defer.*tls_policy:1" \
	"c: broken policy map: the router defers, naming the file and line"
in_queue "$EXIM_ID"
tap_status $? "c: the message stays in Exim's queue"

# ------------------------- d. receiver with STARTTLS: a's message goes out
receiver_tls "$RECV" may || tap_bail "receiver restart with STARTTLS failed"
wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver not listening"
set_policy "example.test encrypt"
rm -f "$HOST"/spool/db/retry*
exim_cmd "$HOST" -M "$A_ID" >/dev/null 2>&1
line=$(outcome "$A_ID" "user@example.test.*X=TLS")
tap_like "$line" "$A_ID => user@example.test R=tlsrelay_smtp T=tlsrelay_smtp .*X=TLS" "d: encrypt, STARTTLS offered: delivered with TLS"
mail=$(receiver_wait_mail "$RECV" user "$A_MSGID" 30)
tap_like "$(received "$mail")" "using TLSv1\.[23]" "d: the receiver's Received header shows TLS"

# -------------------------------------------- e. none: STARTTLS not used
set_policy "example.test none"
send e carol@example.test || tap_bail "swaks e failed"
line=$(outcome "$EXIM_ID" carol@example.test)
tap_like "$line" "$EXIM_ID => carol@example.test R=tlsrelay_smtp T=tlsrelay_smtp" "e: none: delivered by Exim's smtp transport"
mail=$(receiver_wait_mail "$RECV" carol "$MSGID" 30)
tap_unlike "$(received "$mail")" "ESMTPS|using TLS" "e: without TLS although offered (hosts_avoid_tls)"

# --------------------------- f. secure: not Exim's to enforce: via tlsrelay
set_policy "example.test secure"
send f dave@example.test || tap_bail "swaks f failed"
line=$(outcome "$EXIM_ID" dave@example.test)
tap_like "$line" "$EXIM_ID => dave <dave@example.test> R=tlsrelay T=tlsrelay" "f: secure: routed to the tlsrelay pipe transport"
mail=$(receiver_wait_mail "$RECV" dave "$MSGID" 30)
tap_like "$(received "$mail")" "using TLSv1\.[23]" "f: tlsrelay delivered it over TLS"

# ------------------- g. verify: chain and name checked by Exim (test CA)
set_policy "example.test verify"
send g erin@example.test || tap_bail "swaks g failed"
line=$(outcome "$EXIM_ID" erin@example.test)
tap_like "$line" "$EXIM_ID => erin@example.test R=tlsrelay_smtp T=tlsrelay_smtp .*X=TLS.* CV=yes" \
	"g: verify, certificate for the server's name from the CA: delivered, verified (CV=yes)"

# ------------ h. verify, certificate with another name: deferred (name check)
pf_set "$RECV" "smtpd_tls_cert_file = $CERTS/wrong-name.pem" "smtpd_tls_key_file = $CERTS/wrong-name.key" &&
	pf_restart "$RECV" && wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver restart with wrong-name.pem failed"
send h bob@example.test || tap_bail "swaks h failed"
line=$(outcome "$EXIM_ID" bob@example.test)
tap_like "$line" "$EXIM_ID == bob@example.test R=tlsrelay_smtp T=tlsrelay_smtp defer .*certificate verification failed" \
	"h: verify, certificate names another host: Exim defers (tls_verify_cert_hostnames)"
H_ID=$EXIM_ID
in_queue "$H_ID"
tap_status $? "h: the message stays in Exim's queue"

# ------------- i. encrypt, the same certificate: delivered (not verified)
set_policy "example.test encrypt"
rm -f "$HOST"/spool/db/retry*
exim_cmd "$HOST" -M "$H_ID" >/dev/null 2>&1
line=$(outcome "$H_ID" "bob@example.test.*X=TLS")
tap_like "$line" "$H_ID => bob@example.test R=tlsrelay_smtp T=tlsrelay_smtp .*X=TLS" \
	"i: encrypt: the same server is used over TLS (its name is not checked)"

# ------- j. mta_sts = yes: MX destinations go to the tlsrelay transport
set_policy "plain.test may"
relay_conf "$CONF" "$RPORT" encrypt "$T/trspool" "tls_policy_map = $MAP" "mta_sts = yes"
send j alice@example.test || tap_bail "swaks j failed"
line=$(outcome "$EXIM_ID" alice@example.test)
tap_like "$line" "$EXIM_ID => alice <alice@example.test> R=tlsrelay T=tlsrelay" \
	"j: mta_sts = yes, no map entry: routed to the tlsrelay pipe transport (complete = no)"
send j2 user@plain.test || tap_bail "swaks j2 failed"
line=$(outcome "$EXIM_ID" user@plain.test)
tap_like "$line" "$EXIM_ID => user@plain.test R=tlsrelay_smtp T=tlsrelay_smtp" \
	"j: mta_sts = yes, a map entry (may): still Exim's own smtp transport"

exim_stop "$HOST"
tap_done

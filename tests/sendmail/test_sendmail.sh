#!/bin/bash
# tests/sendmail/test_sendmail.sh - swaks -> sendmail 8 (unpacked, own
# config from conf/sendmail/tlsrelay.m4 through m4, own queue) -> the
# tlsrelay mailer -> Postfix (receiver, STARTTLS), all on 127.0.0.1.
#
# Needs root, postfix, swaks, m4 and sendmail unpacked by
# scripts/prepare.d/milter.sh (TR_SENDMAIL_DIR); skips otherwise.
#
# sendmail asks DNS about its own host name at start-up whatever its
# configuration says (ServiceSwitchFile is not used on Linux), and this
# machine's resolver must not be used by tests. So the whole test runs in a
# private network namespace (unshare -n) with only a loopback interface:
# every process of the test (receiver, sendmail, tlsrelay, swaks) is in it,
# and a DNS query fails at once (network unreachable), sending nothing. A
# private UTS namespace (unshare -u) gives it a qualified host name
# (sm.tlsrelay.test): with an unqualified one that DNS cannot qualify,
# sendmail sleeps 60 s at start-up ("My unqualified host name ... unknown;
# sleeping for retry"). Besides: mailertable routes example.test to
# tlsrelay, nocanonify, no MSA port, confDOMAIN_NAME.
#
# Cases:
#   a. the .mc with include(tlsrelay.m4) builds and the daemon starts
#   b. a message goes swaks -> sendmail -> tlsrelay -> receiver over TLS
#      (Received: ... with ESMTPS), sender and recipient as given
#   c. a temporary failure (receiver: 450) leaves the message in sendmail's
#      queue (mailq), retried on the next queue run, never bounced
#   f. a line of 998 octets (RFC 5322's limit) arrives intact: the mailer
#      has L=0 (the smtp mailer's L=990 broke it before tlsrelay saw it),
#      and a longer line is folded by tlsrelay at 998 as on Postfix's path
#   U=: the mailer runs as TLSRELAY_USER (here nobody, who alone may write
#   tlsrelay's spool directory), not as sendmail's DefaultUser (here
#   daemon): every delivery of b, c, e and f needs that
# Every wait is a bounded poll; no timing is asserted.

if [ "$(id -u)" = 0 ] && [ -z "${TR_IN_NETNS:-}" ] && command -v unshare >/dev/null 2>&1; then
	TR_IN_NETNS=1 exec unshare -n -u -- "$BASH" "$0" "$@"
fi
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
# shellcheck source=tests/e2e/relay_conf.sh
. "$top_srcdir/tests/e2e/relay_conf.sh"

require_root
require_cmd postfix postconf swaks m4 runuser ip
[ -n "${TR_IN_NETNS:-}" ] || tap_skip_all "unshare not found: cannot keep sendmail off this machine's DNS"
ip link set lo up || tap_bail "cannot bring up lo in the test's network namespace"
hostname sm.tlsrelay.test || tap_bail "cannot set the host name in the test's UTS namespace"
ip -o route show | grep -qv ' dev lo' && tap_bail "the test's network namespace has routes beyond loopback"
SMDIR=${TR_SENDMAIL_DIR:-/var/cache/tlsrelay-test/sendmail}/root
SM=$SMDIR/usr/libexec/sendmail/sendmail
[ -x "$SM" ] && [ -f "$SMDIR/usr/share/sendmail/cf/m4/cf.m4" ] ||
	tap_skip_all "sendmail not unpacked in $SMDIR (run tr_prepare: scripts/prepare.d/milter.sh)"
export LD_LIBRARY_PATH=$SMDIR/usr/lib/x86_64-linux-gnu:$SMDIR/lib/x86_64-linux-gnu
make_tmpdir

RPORT=$(free_port) && SPORT=$(free_port) || tap_bail "no free port"
T=$TEST_TMP
TR=$(stage_tlsrelay "$T/bin") || tap_bail "cannot stage tlsrelay for user nobody"
mkdir -p "$T/trspool" "$T/sm/queue" "$T/sm/etc" && chown nobody "$T/trspool" && chmod 0700 "$T/trspool" "$T/sm/queue"
RELAY_HELO=sm.tlsrelay.test relay_conf "$T/tlsrelay.conf" "$RPORT" encrypt "$T/trspool"
printf 'hosts\tfiles\naliases\tfiles\n' > "$T/sm/etc/service.switch"
printf 'example.test\ttlsrelay:example.test\nbroken.test\ttlsrelaybad:broken.test\n' > "$T/sm/etc/mailertable"
: > "$T/sm/etc/local-host-names"

CF=$SMDIR/usr/share/sendmail/cf
cat > "$T/sm/etc/test.mc" <<EOF
divert(0)dnl
include(\`$CF/m4/cf.m4')dnl
VERSIONID(\`tlsrelay test')dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`sm.tlsrelay.test')dnl
define(\`confSERVICE_SWITCH_FILE', \`$T/sm/etc/service.switch')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`QUEUE_DIR', \`$T/sm/queue')dnl
define(\`STATUS_FILE', \`$T/sm/etc/statistics')dnl
define(\`ALIAS_FILE', \`')dnl
define(\`confPID_FILE', \`$T/sm/sendmail.pid')dnl
define(\`confCW_FILE', \`-o $T/sm/etc/local-host-names')dnl
define(\`confDONT_BLAME_SENDMAIL', \`MapInUnsafeDirPath')dnl
define(\`confDEF_USER_ID', \`daemon:daemon')dnl
define(\`confLOG_LEVEL', \`9')dnl
define(\`confMIN_QUEUE_AGE', \`0')dnl
define(\`confDELIVERY_MODE', \`background')dnl
define(\`confTO_IDENT', \`0s')dnl
define(\`TLSRELAY_PATH', \`$TR')dnl
define(\`TLSRELAY_ARGS', \`-c $T/tlsrelay.conf')dnl
define(\`TLSRELAY_USER', \`nobody:nogroup')dnl
DAEMON_OPTIONS(\`Port=$SPORT, Addr=127.0.0.1, Name=MTA')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`mailertable', \`hash -o $T/sm/etc/mailertable')dnl
RELAY_DOMAIN(\`example.test')dnl
MAILER(\`smtp')dnl
include(\`$top_srcdir/conf/sendmail/tlsrelay.m4')dnl
dnl the same mailer with a configuration file that does not exist (case d)
Mtlsrelaybad,	P=$TR, F=mDFMun8, S=EnvFromSMTP/HdrFromSMTP, R=EnvToSMTP, E=\\r\\n, L=0, U=nobody:nogroup,
		T=DNS/RFC822/SMTP, A=tlsrelay -c $T/missing.conf -f \$f -- \$u
RELAY_DOMAIN(\`broken.test')dnl
EOF

tap_plan $((7 + 5 + 7 + 3 + 3 + 4))	# a linear script: cases a to f
# ------------------------------------------------------------- a. start
m4 "$T/sm/etc/test.mc" > "$T/sm/etc/test.cf" 2> "$T/m4.err"
tap_status $? "a. m4 builds the configuration" "$(cat "$T/m4.err")"
tap_is "$(cat "$T/m4.err")" "" "a. m4 has no complaint"
tap_like "$(grep -A2 '^Mtlsrelay' "$T/sm/etc/test.cf")" "A=tlsrelay -T -c $T/tlsrelay.conf -Q \\\$i -f \\\$f -- \\\$u" \
	"a. the Mtlsrelay line: A=tlsrelay -T ... -Q \$i -f \$f -- \$u"
tap_like "$(grep -A2 '^Mtlsrelay,' "$T/sm/etc/test.cf")" "L=0,\$" "a. the Mtlsrelay line: L=0 (no line length limit)"
tap_like "$(grep -A2 '^Mtlsrelay,' "$T/sm/etc/test.cf")" "^[[:space:]]*U=nobody:nogroup," "a. the Mtlsrelay line: U=TLSRELAY_USER"
"$SMDIR/usr/libexec/sendmail/makemap" -C "$T/sm/etc/test.cf" hash "$T/sm/etc/mailertable" < "$T/sm/etc/mailertable"
tap_status $? "a. makemap builds the mailertable"

receiver_new receiver "$RPORT" may || tap_bail "receiver_new failed"
RECV=$PF_DIR
pf_start "$RECV" || tap_bail "receiver Postfix did not start"
wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver not listening"

# -bD: daemon in the foreground (its PID is ours to stop); -q5s: queue runs
start_bg sendmail "$SM" -C "$T/sm/etc/test.cf" -bD -q5s -L sm-test
SMPID=$BG_PID
wait_port 127.0.0.1 "$SPORT" 15
tap_status $? "a. sendmail listens on 127.0.0.1:$SPORT" "$(cat "$T/sendmail.out")"
tap_diag "receiver :$RPORT, sendmail :$SPORT (pid $SMPID), tlsrelay $TR"

mailq() { "$SM" -C "$T/sm/etc/test.cf" -bp 2>&1; }

# --------------------------------------------------------------- b. TLS
MARK="sendmail-b-$$-$RANDOM"
printf 'From: <sender@sender.test>\nTo: <user@example.test>\nSubject: %s\n\n%s\n.leading dot\n' \
	"$MARK" "$MARK" > "$T/b.eml"
swaks_send "$SPORT" sender@sender.test user@example.test "$T/b.eml"
tap_status $? "b. sendmail accepts the message" "$SWAKS_OUT"
f=$(receiver_wait_mail "$RECV" user "$MARK" 60)
tap_status $? "b. delivered through tlsrelay" "$(mailq; cat "$T/sendmail.out")"
tap_like "$(mail_header "$f" Received)" "with ESMTPS id" "b. over TLS (ESMTPS)"
tap_like "$(mail_header "$f" Return-Path)" "<sender@sender.test>" "b. envelope sender kept"
tap_like "$(grep -c '^\.leading dot' "$f")" "^1$" "b. a leading dot arrives as one dot"

# ------------------------------------------------- c. temporary failure
MARK="sendmail-c-$$-$RANDOM"
printf 'From: <sender@sender.test>\nTo: <tempfail@example.test>\nSubject: %s\n\n%s\n' \
	"$MARK" "$MARK" > "$T/c.eml"
swaks_send "$SPORT" sender@sender.test tempfail@example.test "$T/c.eml"
tap_status $? "c. sendmail accepts the message"
queued() { mailq | grep -q "tempfail@example.test"; }
deferred_seen() { grep -qE "tempfail@example.test.*stat=Deferred" "$T/sm/queue"/* 2>/dev/null ||
	mailq | grep -qi "deferred"; }
wait_until 60 deferred_seen
tap_status $? "c. tlsrelay's 75 defers it" "$(mailq)"
tap_like "$(mailq)" "tempfail@example.test" "c. it stays in sendmail's queue (mailq)"
tap_like "$(mailq)" "Deferred" "c. mailq says Deferred"
# further queue runs (-q5s): the qf file counts the tries (N line)
tries() { sed -n 's/^N\([0-9]*\)$/\1/p' "$T/sm/queue"/qf* 2>/dev/null | sort -n | tail -n 1; }
more_tries() { [ "$(tries)" -ge 3 ] 2>/dev/null; }
wait_until 90 more_tries
tap_status $? "c. retried on later queue runs (tries: $(tries))"
tap_status "$(queued; echo $?)" "c. still queued, not bounced"
tap_unlike "$(receiver_maildir "$RECV" tempfail 2>/dev/null; ls "$(receiver_maildir "$RECV" tempfail)/new" 2>/dev/null)" \
	"^[0-9]" "c. nothing reached the receiver"

# ------------------------------------- d. exit 78 (configuration error)
# Without -T (the mailer "tlsrelaybad" below): sendmail treats only 75, 74
# and 71 as temporary, so tlsrelay's 78 bounces. This is why the shipped
# mailer (tlsrelay.m4) passes -T: see case e.
MARK="sendmail-d-$$-$RANDOM"
printf 'From: <sender@sender.test>\nTo: <user@broken.test>\nSubject: %s\n\n%s\n' \
	"$MARK" "$MARK" > "$T/d.eml"
swaks_send "$SPORT" sender@sender.test user@broken.test "$T/d.eml"
tap_status $? "d. sendmail accepts the message"
bounced() { mailq | grep -q 'MAILER-DAEMON\|<>'; }
wait_until 60 bounced
tap_status $? "d. exit 78: sendmail bounces it (a DSN to the sender is queued)" "$(mailq)"
tap_unlike "$(mailq)" "user@broken.test" "d. the original is no longer queued"

# ------------------------------------- e. configuration error with -T
# The shipped mailer passes -T: a configuration error (here an unknown key
# added to tlsrelay.conf for a moment) exits 75, and the message stays
# queued instead of bouncing.
cp "$T/tlsrelay.conf" "$T/tlsrelay.conf.good"
printf 'no_such_setting = 1\n' >> "$T/tlsrelay.conf"
MARK="sendmail-e-$$-$RANDOM"
printf 'From: <sender@sender.test>\nTo: <conferr@example.test>\nSubject: %s\n\n%s\n' \
	"$MARK" "$MARK" > "$T/e.eml"
swaks_send "$SPORT" sender@sender.test conferr@example.test "$T/e.eml"
tap_status $? "e. sendmail accepts the message"
e_deferred() { mailq | grep -A3 "conferr@example.test" | grep -qi "deferred\|4.3.5"; }
wait_until 60 e_deferred
tap_status $? "e. -T: the configuration error defers it (75)" "$(mailq)"
tap_like "$(mailq)" "conferr@example.test" "e. -T: it stays queued, not bounced"
cp "$T/tlsrelay.conf.good" "$T/tlsrelay.conf"

# ------------------------------------------- f. long lines kept intact
MARK="sendmail-f-$$-$RANDOM"
L998=$(printf '%0998d' 0 | tr 0 y)
L1200=$(printf '%01200d' 0 | tr 0 z)
printf 'From: <sender@sender.test>\nTo: <user@example.test>\nSubject: %s\n\n%s\n%s\n%s\n' \
	"$MARK" "$MARK" "$L998" "$L1200" > "$T/f.eml"
swaks_send "$SPORT" sender@sender.test user@example.test "$T/f.eml"
tap_status $? "f. sendmail accepts the message"
f=$(receiver_wait_mail "$RECV" user "$MARK" 60)
tap_status $? "f. delivered through tlsrelay" "$(mailq)"
tap_is "$(tr -d '\r' < "$f" | grep -cx "$L998")" 1 "f. the 998-octet line arrives intact (mailer L=0)" \
	"line lengths: $(awk '{ print length($0) }' "$f" | sort -n | tail -n 4 | tr '\n' ' ')"
tap_is "$(tr -d '\r' < "$f" | grep -cx "${L1200:0:998}")" 1 "f. a 1200-octet line is folded at 998, by tlsrelay as on Postfix's path"

stop_pid "$SMPID"
tap_done

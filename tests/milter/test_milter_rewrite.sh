#!/bin/bash
# tests/milter/test_milter_rewrite.sh - recipient and sender rules apply to
# the addresses the transport actually delivers to, after the MTA rewrote
# them (security issue 13, item 4): swaks -> Postfix (host, tlsrelay-milter)
# -> pipe(8) -> tlsrelay (message_rules) -> Postfix receiver WITHOUT
# STARTTLS, on 127.0.0.1.
#
# The rules file (message_rules in tlsrelay.conf; the milter reads the same
# file, having neither -r nor milter_rules):
#   to   user@example.test  encrypt
#   from boss@corp.test     encrypt
# The milter sees the SMTP envelope; Postfix then rewrites it (cleanup,
# trivial-rewrite) before the transport runs. Each of these must be
# deferred 4.7.4 (TLS required by the rule, the receiver offers none),
# never delivered in plaintext:
#   a. a virtual alias: RCPT TO:<alias@other.test> -> user@example.test (the
#      milter cannot know: no requirement header; the transport's rule
#      catches it)
#   b. a trailing dot: RCPT TO:<user@example.test.> -> user@example.test
#      (the milter's matcher ignores the dot too now: header encrypt; the
#      transport's rule catches it as well)
#   c. sender_canonical_maps: MAIL FROM:<ceo@internal.test> ->
#      boss@corp.test (no header; the transport's from rule)
#   d. control: alice@example.test, no rule: delivered in plaintext
# On the code before message_rules, a, b and c went out in plaintext.
#
# Needs root, postfix, swaks and the built tlsrelay-milter; skips otherwise.
# Every wait is a bounded poll; no timing is asserted.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/milter/milter.sh"

require_root
require_cmd postfix postconf postqueue postsuper postcat swaks runuser
MILTER=${TLSRELAY_MILTER_BIN:-$top_builddir/plugin/milter/tlsrelay-milter}
[ -x "$MILTER" ] || tap_skip_all "tlsrelay-milter not built (configure did not find libmilter-dev)"
make_tmpdir

RPORT=$(free_port) && HPORT=$(free_port) && MPORT=$(free_port) || tap_bail "no free port"
T=$TEST_TMP
RULES=$T/message_rules
HDR=X-TLSRelay-Require

milter_tlsrelay message_rules "$RULES"
cat > "$RULES" <<'EOF'
# message_rules written by tests/milter/test_milter_rewrite.sh
to      user@example.test       encrypt
from    boss@corp.test          encrypt
EOF
chmod 0644 "$CONF" "$RULES"

tap_plan 16	# a linear script (deferred: 2 checks)
# --------------------------------------------------------------- set-up
start_bg milter "$MILTER" -f -c "$CONF" -u nobody -p "inet:$MPORT@127.0.0.1"
MPID=$BG_PID
wait_port 127.0.0.1 "$MPORT" 15 || tap_bail "milter did not start: $(cat "$T/milter.out")"
tap_like "$(cat "$T/milter.out")" "listening on inet:$MPORT@127\.0\.0\.1, 2 rules" \
	"the milter reads message_rules when it has neither -r nor milter_rules"

receiver_new receiver "$RPORT" none || tap_bail "receiver_new failed"
RECV=$PF_DIR
host_new host "$HPORT" "$TR" "$CONF" || tap_bail "host_new failed"
HOST=$PF_DIR
pf_set "$HOST" "smtpd_milters = inet:127.0.0.1:$MPORT" \
	"non_smtpd_milters = \$smtpd_milters" "milter_default_action = tempfail" \
	"milter_connect_timeout = 10s" "milter_command_timeout = 30s" \
	"virtual_alias_domains = other.test" \
	"virtual_alias_maps = inline:{ alias@other.test=user@example.test }" \
	"sender_canonical_maps = inline:{ ceo@internal.test=boss@corp.test }"
pf_start "$RECV" || tap_bail "receiver Postfix did not start"
pf_start "$HOST" || tap_bail "host Postfix did not start"
wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver not listening"
wait_port 127.0.0.1 "$HPORT" 15 || tap_bail "host not listening"
tap_diag "receiver :$RPORT (no STARTTLS), host :$HPORT, milter :$MPORT (pid $MPID)"

# msg NAME: $T/NAME.eml with a unique marker line (MARK)
msg() {
	MARK="marker-$1-$$-$RANDOM"
	printf 'From: <sender@sender.test>\nTo: <someone@example.test>\nSubject: rewrite %s\nMessage-ID: <%s@sender.test>\n\n%s\nbody line\n' \
		"$1" "$MARK" "$MARK" > "$T/$1.eml"
}

queued_header() { postcat -c "$HOST" -hq "$1" 2>/dev/null; }

# deferred LABEL QID TO ORIG_TO: the host logs QID deferred by tlsrelay with
# 4.7.4 for TO (originally ORIG_TO, "-": not rewritten); the receiver got nothing
deferred() {
	local label=$1 qid=$2 to=$3 orig=$4 line re md
	re="$qid: to=<${to//./\\.}>, "
	[ "$orig" != - ] && re="${re}orig_to=<${orig//./\\.}>, "
	line=$(pf_log_wait "$HOST" "${re}relay=tlsrelay.*status=(deferred|sent|bounced)" 60)
	tap_like "$line" "dsn=4\.7\.4, status=deferred \(TLS is required, but was not offered" \
		"$label: deferred 4.7.4 (TLS required by the rule, not offered)" \
		"$(grep "$qid" "$(pf_log "$HOST")" | tail -n 4)"
	md=$(receiver_maildir "$RECV" user)
	tap_unlike "$(cat "$md"/new/* "$md"/cur/* "$(receiver_maildir "$RECV" alice)"/new/* 2>/dev/null)" "$MARK" \
		"$label: the receiver got nothing"
}

# ------------------------------------------------------- a. virtual alias
msg a
swaks_send "$HPORT" sender@sender.test alias@other.test "$T/a.eml"
tap_status $? "a. host accepts mail for alias@other.test" "$SWAKS_OUT"
QA=$SENT_QID
tap_unlike "$(queued_header "$QA")" "^$HDR:" "a. the milter saw alias@other.test: no requirement header"
deferred "a. virtual alias -> user@example.test" "$QA" user@example.test alias@other.test

# ----------------------------------------------------- b. trailing dot
msg b
swaks_send "$HPORT" sender@sender.test user@example.test. "$T/b.eml"
tap_status $? "b. host accepts RCPT TO:<user@example.test.>" "$SWAKS_OUT"
QB=$SENT_QID
tap_like "$(queued_header "$QB")" "^$HDR: encrypt$" "b. the milter ignores the trailing dot too: $HDR: encrypt"
deferred "b. trailing dot" "$QB" user@example.test user@example.test.

# ------------------------------------------------- c. sender canonical
msg c
swaks_send "$HPORT" ceo@internal.test alice@example.test "$T/c.eml"
tap_status $? "c. host accepts mail from ceo@internal.test" "$SWAKS_OUT"
QC=$SENT_QID
tap_unlike "$(queued_header "$QC")" "^$HDR:" "c. the milter saw ceo@internal.test: no requirement header"
tap_like "$(pf_log_wait "$HOST" "$QC: from=<" 30)" "$QC: from=<boss@corp\.test>" \
	"c. Postfix rewrote the sender to boss@corp.test"
deferred "c. sender_canonical_maps -> boss@corp.test" "$QC" alice@example.test -

# ------------------------------------------------------------ d. control
msg d
swaks_send "$HPORT" sender@sender.test alice@example.test "$T/d.eml"
QD=$SENT_QID
f=$(receiver_wait_mail "$RECV" alice "$MARK" 60)
tap_status $? "d. no rule: delivered" "$(grep "$QD" "$(pf_log "$HOST")" | tail -n 3)"
tap_like "$(mail_header "$f" Received)" "with ESMTP id" "d. in plaintext (the receiver has no STARTTLS)"

stop_pid "$MPID"
tap_done

#!/bin/bash
# tests/milter/test_milter.sh - tlsrelay-milter in a real Postfix:
# swaks -> Postfix (host, smtpd_milters + non_smtpd_milters = the milter)
# -> pipe(8) -> tlsrelay -> Postfix (receiver WITHOUT STARTTLS), on 127.0.0.1.
#
# Needs root, postfix, swaks and the built tlsrelay-milter (configure found
# libmilter-dev); skips otherwise.
#
# Cases:
#   a. start-up: -t checks the rules; a bad or unreadable rules file and a bad
#      socket stop the start with a clear message and exit 78; a socket in
#      use, 71
#   b. a sender rule (encrypt): the host queues the message with the milter's
#      X-TLSRelay-Require header; tlsrelay defers it (TLS required, receiver
#      has no STARTTLS): it stays in the queue, the receiver gets nothing
#   c. header rule + sender rule: the strongest level is written, once; a
#      recipient rule
#   d. the same message from a sender without a rule goes out in plaintext
#      (tls_security_level = may); the delivered copy has no requirement header
#   e. a forged X-TLSRelay-Require from outside (two copies) is removed by
#      the milter and has no effect: delivered in plaintext, no header
#   f. local submission (sendmail(1) -> pickup) goes through non_smtpd_milters
#   g. the transport alone: the header raises the level even without the
#      milter, require_header = no ignores it (and still removes it),
#      TLS-Required: No never relaxes a configured level
#   h. an allocation failure tempfails MAIL FROM with 451 4.3.0; nothing is
#      queued (the fault build tests/milter/tlsrelay-milter-allocfail, whose
#      message allocation always fails: plugin/milter/milter.h; the
#      installed milter has no fault switch)
#   i. SIGTERM stops the milter cleanly (exit 0); with the milter gone the
#      host tempfails new mail (milter_default_action = tempfail)
# Every wait is a bounded poll; no timing is asserted.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/milter/milter.sh"

require_root
require_cmd postfix postconf postqueue postsuper postcat swaks runuser
MILTER=${TLSRELAY_MILTER_BIN:-$top_builddir/plugin/milter/tlsrelay-milter}
[ -x "$MILTER" ] || tap_skip_all "tlsrelay-milter not built (configure did not find libmilter-dev)"
# the fault build (make check): every message's allocation fails (case h)
MILTER_ALLOCFAIL=$top_builddir/tests/milter/tlsrelay-milter-allocfail
make_tmpdir

RPORT=$(free_port) && HPORT=$(free_port) && MPORT=$(free_port) || tap_bail "no free port"
T=$TEST_TMP
RULES=$T/rules
HDR=X-TLSRelay-Require

milter_tlsrelay milter_rules "$RULES"
cat > "$RULES" <<'EOF'
# rules written by tests/milter/test_milter.sh
from    secret@sender.test      encrypt
header  Subject: [secure]       verify
to      carol@example.test      secure
EOF
chmod 0644 "$CONF" "$RULES"

# a linear script: a 13, set-up 3, b 7, c 3 + 2, d 5, e 5, f 2, g 11, h 3 (or 3
# skips), i 5
tap_plan $((13 + 3 + 7 + 3 + 2 + 5 + 5 + 2 + 11 + 3 + 5))
# ------------------------------------------------------------- a. start-up
out=$("$MILTER" -c "$CONF" -t 2>&1); rc=$?
tap_is "$rc" 0 "a. -t accepts the rules"
tap_like "$out" "^$RULES: 3 rules, ok$" "a. -t counts the rules"

sed -E 's/^#(from|to|header) /\1 /' "$top_srcdir/conf/milter/rules" > "$T/sample.rules"
out=$("$MILTER" -c "$CONF" -r "$T/sample.rules" -t 2>&1)
tap_like "$out" "^$T/sample.rules: 6 rules, ok$" "a. the sample conf/milter/rules, uncommented, is valid"

printf 'from secret@sender.test encrypt\nto example.test strongest\n' > "$T/bad.rules"
out=$("$MILTER" -f -c "$CONF" -r "$T/bad.rules" -p "inet:$MPORT@127.0.0.1" 2>&1); rc=$?
tap_is "$rc" 78 "a. bad rules: exit 78"
tap_like "$out" "^tlsrelay-milter: $T/bad.rules:2: unknown level \\(the last field" "a. bad rules: file, line, reason"
tap_unlike "$out" "strongest" "a. bad rules: the value is not quoted"
out=$("$MILTER" -f -c "$CONF" -r "$T/missing.rules" -p "inet:$MPORT@127.0.0.1" 2>&1); rc=$?
tap_is "$rc" 78 "a. unreadable rules: exit 78"
tap_like "$out" "^tlsrelay-milter: $T/missing.rules: cannot open: No such file or directory \\(as user [^)]*\\)$" \
	"a. unreadable rules: clear message, naming the user"
cp "$RULES" "$T/secret.rules" && chmod 0600 "$T/secret.rules"
out=$(as_nobody "$MILTER" -c "$CONF" -r "$T/secret.rules" -t 2>&1); rc=$?
tap_is "$rc" 78 "a. rules the milter's user cannot read: exit 78"
tap_like "$out" "^tlsrelay-milter: $T/secret.rules: cannot open: Permission denied \\(as user nobody\\)$" \
	"a. rules the milter's user cannot read: clear message, naming the user"
out=$("$MILTER" -f -c "$CONF" -p "127.0.0.1:$MPORT" 2>&1); rc=$?
tap_is "$rc" 78 "a. bad socket: exit 78"
tap_like "$out" "bad socket \"127.0.0.1:$MPORT\": expected inet:PORT@HOST" "a. bad socket: clear message"
tap_unlike "$(ss -Htln "sport = :$MPORT")" . "a. nothing listens after a failed start"

# --------------------------------------------------------------- set-up
start_milter() {	# start_milter [PROGRAM]: the milter (default $MILTER) as nobody on $MPORT; sets MPID
	start_bg milter "${1:-$MILTER}" -f -c "$CONF" -u nobody -p "inet:$MPORT@127.0.0.1"
	MPID=$BG_PID
	wait_port 127.0.0.1 "$MPORT" 15
}
start_milter || tap_bail "milter did not start: $(cat "$T/milter.out")"
tap_is "$(stat -c %U "/proc/$MPID")" nobody "milter runs as nobody (-u)"
# the socket in use (by the milter just started): INTERNAL, which the exit
# translation makes 71 for a program that holds no mail
out=$(timeout 30 "$MILTER" -f -c "$CONF" -u nobody -p "inet:$MPORT@127.0.0.1" 2>&1); rc=$?
tap_is "$rc" 71 "a. socket in use: exit 71 (EX_OSERR)"
tap_like "$out" "cannot open socket inet:$MPORT@127.0.0.1" "a. socket in use: clear message"

receiver_new receiver "$RPORT" none || tap_bail "receiver_new failed"
RECV=$PF_DIR
host_new host "$HPORT" "$TR" "$CONF" || tap_bail "host_new failed"
HOST=$PF_DIR
pf_set "$HOST" "smtpd_milters = inet:127.0.0.1:$MPORT" \
	"non_smtpd_milters = \$smtpd_milters" "milter_default_action = tempfail" \
	"milter_connect_timeout = 10s" "milter_command_timeout = 30s"
pf_start "$RECV" || tap_bail "receiver Postfix did not start"
pf_start "$HOST" || tap_bail "host Postfix did not start"
wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver not listening"
wait_port 127.0.0.1 "$HPORT" 15 || tap_bail "host not listening"
tap_diag "receiver :$RPORT (no STARTTLS), host :$HPORT, milter :$MPORT (pid $MPID)"

# msg NAME SUBJECT [EXTRA-HEADER...]: $T/NAME.eml with a unique marker line
msg() {
	local name=$1 subject=$2 h; shift 2
	MARK="marker-$name-$$-$RANDOM"
	{
		printf 'From: <sender@sender.test>\nTo: <user@example.test>\nSubject: %s\n' "$subject"
		printf 'Message-ID: <%s@sender.test>\n' "$MARK"
		for h in "$@"; do printf '%s\n' "$h"; done
		printf '\n%s\nbody line\n' "$MARK"
	} > "$T/$name.eml"
}

queued_header() {	# queued_header QID: the host's queued copy, header section only
	postcat -c "$HOST" -hq "$1" 2>/dev/null
}

deferred_with() {	# deferred_with QID ERE: the host log defers QID with a DSN matching ERE
	pf_log_wait "$HOST" "$1: .*relay=tlsrelay.*dsn=$2.*status=deferred" 60 >/dev/null
}

delivered() {		# delivered NAME: wait for the marker at the receiver; prints the file
	receiver_wait_mail "$RECV" user "$MARK" 60
}

# ------------------------------------------------------ b. sender rule
msg b "quarterly figures"
swaks_send "$HPORT" secret@sender.test user@example.test "$T/b.eml"
tap_status $? "b. host accepts the message" "$SWAKS_OUT"
QB=$SENT_QID
tap_like "$(queued_header "$QB")" "^$HDR: encrypt$" "b. the milter added $HDR: encrypt"
tap_like "$(cat "$T/milter.out")" "$HDR: encrypt \(from rule at line 2\)" "b. the milter logs the rule"
deferred_with "$QB" "4\.7\.[0-9]"
tap_status $? "b. tlsrelay defers it with 4.7.x (TLS required, not offered)" "$(tail -n 5 "$(pf_log "$HOST")")"
# qmgr moves it from the active to the deferred queue just after the
# delivery agent's verdict is logged: wait (bounded) for the move.
# With queue_run_delay and backoff at 1-2 s, and a sanitizer build's slow
# attempts, a poll can keep finding it active on its next retry (one CI run
# did for 20 s): active then counts as kept too, never delivered or bounced.
wait_until 20 eval 'pf_queue_ids "$HOST" deferred | grep -qx "$QB"'
st=$?
[ "$st" = 0 ] || ! pf_queue_ids "$HOST" active | grep -qx "$QB" || st=0
tap_status "$st" "b. it stays in the queue (deferred, or active on its next retry)" \
	"deferred: $(pf_queue_ids "$HOST" deferred | tr '\n' ' '); active: $(pf_queue_ids "$HOST" active | tr '\n' ' ')"
tap_like "$(postqueue -c "$HOST" -p)" "^$QB" "b. mailq lists it"
md=$(receiver_maildir "$RECV" user)
tap_unlike "$(cat "$md"/new/* "$md"/cur/* 2>/dev/null)" "$MARK" "b. the receiver got nothing"

# ------------------------------------------- c. strongest of two rules
msg c "[SECURE] merger" "$HDR: none"
swaks_send "$HPORT" secret@sender.test user@example.test "$T/c.eml"
QC=$SENT_QID
hdr=$(queued_header "$QC")
tap_like "$hdr" "^$HDR: verify$" "c. header rule (verify) beats sender rule (encrypt)"
tap_is "$(printf '%s\n' "$hdr" | grep -ci "^$HDR:")" 1 "c. exactly one requirement header (the forged 'none' removed)"
deferred_with "$QC" "4\.7\.[0-9]"
tap_status $? "c. deferred"

# ---------------------------------------------- c. recipient rule
msg c2 "hello"
swaks_send "$HPORT" other@sender.test carol@example.test "$T/c2.eml"
QC2=$SENT_QID
tap_like "$(queued_header "$QC2")" "^$HDR: secure$" "c. recipient rule: $HDR: secure"
deferred_with "$QC2" "4\.7\.[0-9]"
tap_status $? "c. recipient rule: deferred"

# ------------------------------------------- d. no rule: plaintext under may
# (also to tempfail@, which the receiver answers with 450: the queue file
# stays, so the host's copy can be read after user@ got the message)
msg d "quarterly figures"
swaks_send "$HPORT" other@sender.test user@example.test,tempfail@example.test "$T/d.eml"
QD=$SENT_QID
f=$(delivered) ; tap_status $? "d. delivered"
hdr=$(queued_header "$QD")
tap_like "$hdr" "^Subject: quarterly figures" "d. (the host's queued copy is readable)"
tap_unlike "$hdr" "^$HDR:" "d. no rule: no requirement header added"
tap_like "$(mail_header "$f" Received)" "with ESMTP id" "d. in plaintext (receiver has no STARTTLS: ESMTP, not ESMTPS)"
tap_unlike "$(sed '/^$/q' "$f")" "^$HDR:" "d. the delivered message has no requirement header"

# ------------------------------------------------- e. forged header
msg e "hello" "$HDR: secure" "x-tlsrelay-require: verify"
swaks_send "$HPORT" other@sender.test user@example.test,tempfail@example.test "$T/e.eml"
QE=$SENT_QID
tap_like "$(cat "$T/milter.out")" "$QE: removed 2 incoming $HDR fields" "e. the milter logs the removal"
f=$(delivered) ; tap_status $? "e. forged header has no effect: delivered"
hdr=$(queued_header "$QE" | tr '[:upper:]' '[:lower:]')
tap_like "$hdr" "^subject: hello" "e. (the host's queued copy is readable)"
tap_unlike "$hdr" "^x-tlsrelay-require:" "e. forged copies removed by the milter (host's queued copy)"
tap_unlike "$(sed '/^$/q' "$f" | tr '[:upper:]' '[:lower:]')" "^x-tlsrelay-require:" \
	"e. the delivered message has no requirement header"

# ----------------------------------------- f. local submission (pickup)
msg f "[secure] local"
sendmail -C "$HOST" -f other@sender.test user@example.test < "$T/f.eml"
tap_status $? "f. sendmail(1) accepts the message"
qf=$(pf_log_wait "$HOST" "message-id=<$MARK@sender.test>" 30 | sed -n 's/.*: \([0-9A-F]*\): message-id=.*/\1/p' | head -n 1)
deferred_with "$qf" "4\.7\.[0-9]"
tap_status $? "f. non_smtpd_milters: a local message matching a rule is deferred" "qid=$qf"

# ------------------------------------------------- g. the transport alone
run_tr() {	# run_tr FILE KEY=VALUE...: tlsrelay as the host would run it; sets TR_OUT, TR_RC
	local file=$1 o=(); shift
	for kv in "$@"; do o+=(-o "$kv"); done
	TR_OUT=$("$TR" -c "$CONF" "${o[@]}" -f other@sender.test -- user@example.test < "$file" 2>&1)
	TR_RC=$?
}
msg g1 "direct" "$HDR: encrypt"
run_tr "$T/g1.eml"
tap_is "$TR_RC" 75 "g. without the milter the header still raises may to encrypt: 75"
tap_like "$TR_OUT" "^4\.7\.[0-9] " "g. ... with 4.7.x"
run_tr "$T/g1.eml" require_header=no
tap_is "$TR_RC" 0 "g. require_header = no: the header is ignored, delivered"
f=$(delivered) ; tap_status $? "g. ... received"
tap_unlike "$(sed '/^$/q' "$f")" "^$HDR:" "g. ... and the header was removed all the same"
msg g2 "direct" "$HDR: maximum"
run_tr "$T/g2.eml"
tap_is "$TR_RC" 75 "g. unknown level in the header: deferred (75)"
tap_like "$TR_OUT" "^4\.7\.5 the message requires TLS level \"maximum\"" "g. ... saying so"
msg g3 "direct" "TLS-Required: No"
run_tr "$T/g3.eml" tls_required_enable=yes tls_security_level=encrypt
tap_is "$TR_RC" 75 "g. TLS-Required: No never relaxes a configured level (encrypt): 75"
run_tr "$T/g3.eml" tls_required_enable=yes
tap_is "$TR_RC" 0 "g. TLS-Required: No under may: delivered"
f=$(delivered) ; tap_status $? "g. ... received"
tap_like "$(mail_header "$f" TLS-Required)" "^TLS-Required: No" "g. ... and TLS-Required: No travels with the message"

# ------------------------------------------------ h. allocation failure
stop_pid "$MPID"
if [ -x "$MILTER_ALLOCFAIL" ]; then
	start_milter "$MILTER_ALLOCFAIL" || tap_bail "milter (fault build) did not start"
	msg h "hello"
	swaks_send "$HPORT" other@sender.test user@example.test "$T/h.eml"
	tap_like "$SWAKS_OUT" "^<.* 451 4\.3\.0 " "h. allocation failure: MAIL FROM tempfailed with 451 4.3.0"
	tap_is "$SENT_QID" "" "h. nothing queued"
	tap_like "$(cat "$T/milter.out")" "temporary failure: out of memory" "h. the milter logs why"
else	# an installed milter (TLSRELAY_MILTER_BIN) comes without the fault build
	for c in "MAIL FROM tempfailed" "nothing queued" "the milter logs why"; do
		tap_skip "h. allocation failure: $c" "no fault build at $MILTER_ALLOCFAIL (make check builds it)"
	done
	start_milter || tap_bail "milter did not start again"
fi

# ------------------------------------------------------------ i. SIGTERM
kill -TERM "$MPID"
wait_until 15 sh -c "! kill -0 $MPID 2>/dev/null"
tap_status $? "i. SIGTERM stops the milter"
wait "$MPID"; rc=$?
tap_is "$rc" 0 "i. clean exit status 0"
tap_like "$(cat "$T/milter.out")" "stopped$" "i. it logs the stop"
tap_unlike "$(ss -Htln "sport = :$MPORT")" . "i. the socket is closed"
msg i "hello"
swaks_send "$HPORT" other@sender.test user@example.test "$T/i.eml"
tap_like "$SWAKS_OUT" "^<.* 4[0-9][0-9] " "i. milter gone: the host tempfails new mail (milter_default_action)"

tap_done

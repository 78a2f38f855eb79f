#!/bin/bash
# tests/fuzz/test_corpus.sh - every fuzz target over its committed corpus
# (tests/fuzz/corpus/NAME: seeds and crash reproducers), through the
# replay_NAME programs that "make check" builds in every configuration.
# One check per target: the program ran every input without a broken
# promise (abort), a sanitizer report or a crash.
#
# Then the session target's "after TLS" seeds (option T) with
# FUZZ_SESSION_TRACE=1: they go through the library's own session, entered
# after a handshake (tr_session_params.tls_up), so the client sends EHLO
# again, then AUTH and the transaction as the seed's replies allow.
. "$top_srcdir/tests/lib.sh"

TARGETS="reply ehlo config policy sasl session msgreq sts rcpt lmtp dsn redirect hjournal"
# seed | what the client wrote (fuzz_session.c's trace)
AFTER_TLS=$(cat <<'EOF_T'
after_tls_auth_plain  ehlo=1 auth=1 mail=1 dot=1
after_tls_auth_login  ehlo=1 auth=1 mail=1 dot=1
after_tls_auth_535    ehlo=1 auth=1 mail=0 dot=0
EOF_T
)
tap_plan $(($(wc -w <<< "$TARGETS") + $(grep -c . <<< "$AFTER_TLS")))

for t in $TARGETS; do
	prog=$top_builddir/tests/fuzz/replay_$t
	dir=$top_srcdir/tests/fuzz/corpus/$t
	n=$(find "$dir" -maxdepth 1 -type f | wc -l)
	out=$(timeout -k 5 300 "$prog" "$dir" 2>&1); rc=$?
	if [ "$rc" = 0 ] && [ "$n" -gt 0 ] && printf '%s\n' "$out" | grep -q "^ok 1 - .*: $n inputs"; then
		tap_ok 1 "$t: $n corpus inputs run clean"
	else
		tap_ok 0 "$t: $n corpus inputs run clean" "$(printf 'exit %s\n%s' "$rc" "$(printf '%s' "$out" | tail -n 40)")"
	fi
done

while read -r seed want; do
	out=$(FUZZ_SESSION_TRACE=1 timeout -k 5 60 "$top_builddir/tests/fuzz/replay_session" \
		"$top_srcdir/tests/fuzz/corpus/session/$seed" 2>&1)
	tap_like "$out" "^session: $want " "session $seed: after TLS the client wrote $want"
done <<< "$AFTER_TLS"
tap_done

#!/bin/bash
# tests/e2e/test_session_cache.sh - TLS session resumption across tlsrelay
# processes (lib/tls_cache.c) against a real Postfix smtpd, which issues
# TLS 1.3 session tickets (its tlsmgr keeps the ticket keys, shared by all
# smtpd processes and both of its ports).
#
# tlsrelay runs directly (not through pipe(8)), with -v so that its log
# ("Verified TLS connection established|reused", the to= line) is on stderr.
# Cases:
#   a. first delivery: full handshake, the cache directory is made 0700,
#      one entry, mode 0600; second delivery: "reused", in the to= line too
#   b. the policy key: a session made under may is not offered under verify;
#      nor one of port A on port B (same server, same ticket keys); nor one
#      made with another pin; the same policy again does reuse
#   c. a corrupted, a truncated, an other-writable entry file: full
#      handshake, delivery succeeds, the entry is replaced by a good one
#   d. lifetime: tls_session_cache_timeout = 1s, 2 s later a full handshake
#   e. a cache directory writable by others, owned by someone else, or not
#      writable (run as nobody): a warning, no reuse, delivery succeeds
#   f. 20 concurrent deliveries: all succeed, no temporary file left, every
#      entry well-formed; size bound: tls_session_cache_size = 1 keeps one file
# Every wait is bounded; no timing is asserted.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

require_root
require_cmd postfix postconf timeout openssl runuser
make_tmpdir
T=$TEST_TMP

TR=$(stage_tlsrelay "$T/bin") || tap_bail "cannot stage tlsrelay (built? see stage_tlsrelay)"
PA=$(free_port) && PB=$(free_port) || tap_bail "no free port"

# ------------------------------------------------------------------- set-up
receiver_new recv "$PA" may || tap_bail "receiver_new failed"
RECV=$PF_DIR
pf_set "$RECV" "relay_domains = example.test" "relay_transport = discard:" \
	"virtual_mailbox_domains =" "virtual_mailbox_maps =" || tap_bail "pf_set failed"
pf_master "$RECV" "127.0.0.1:$PB inet n - n - - smtpd"
pf_start "$RECV" || tap_bail "receiver Postfix did not start"
wait_port 127.0.0.1 "$PA" 15 && wait_port 127.0.0.1 "$PB" 15 || tap_bail "receiver not listening"

CACHE=$T/cache
mkdir -p "$T/spool" "$T/nb" && chmod 1777 "$T/spool" && chown nobody "$T/nb" || tap_bail "mkdir failed"
NBCACHE=$T/nb/cache
printf 'Subject: session cache test\n\nhello\n' > "$T/msg"
chmod 0644 "$T/msg"
CERT_FP=$(openssl x509 -in "$CERTS/server.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
PKEY_FP=$(openssl x509 -in "$CERTS/server.pem" -noout -pubkey | openssl pkey -pubin -outform DER |
	openssl dgst -sha256 -c | sed 's/.*= *//' | tr '[:lower:]' '[:upper:]')

write_conf() {	# write_conf FILE PORT LEVEL [extra lines]
	local f=$1 port=$2 level=$3; shift 3
	{
		printf 'relayhost = [127.0.0.1]:%s\n' "$port"
		printf 'tls_security_level = %s\n' "$level"
		printf 'tls_ca_file = %s\n' "$CERTS/ca.pem"
		printf 'helo_name = client.tlsrelay.test\nsyslog = no\ndeadline = 60s\n'
		printf 'spool_directory = %s\n' "$T/spool"
		printf 'tls_session_cache = %s\n' "${CACHE_DIR:-$CACHE}"
		printf '%s\n' "$@"
	} > "$f"
	chmod 0644 "$f"
}

# run NAME CONF [OPTS...]: tlsrelay -v; sets RC, LOG (stderr), OUT (stdout)
run() {
	local name=$1 conf=$2; shift 2
	timeout -k 5 60 "$TR" -v -c "$conf" "$@" -f sender@tlsrelay.test -- user@example.test \
		< "$T/msg" > "$T/$name.out" 2> "$T/$name.err"
	RC=$?
	OUT=$(cat "$T/$name.out") LOG=$(cat "$T/$name.err")
}
run_nobody() {	# run_nobody NAME CONF: as run, as user nobody
	local name=$1 conf=$2
	timeout -k 5 60 runuser -u nobody -- "$TR" -v -c "$conf" -f sender@tlsrelay.test -- \
		user@example.test < "$T/msg" > "$T/$name.out" 2> "$T/$name.err"
	RC=$?
	OUT=$(cat "$T/$name.out") LOG=$(cat "$T/$name.err")
}

sent() {	# sent NAME: point "NAME: delivered (exit 0)"
	tap_status "$([ "$RC" = 0 ] && [ -z "$OUT" ]; echo $?)" "$1: delivered (exit 0)" \
		"exit $RC, stdout: $OUT; log: $LOG"
}
full() {	# full NAME: a full handshake
	tap_like "$LOG" "TLS connection established to \[127\.0\.0\.1\]:" "$1: full handshake"
	tap_unlike "$LOG" "TLS connection reused|session reused" "$1: no session reused"
}
reused() {	# reused NAME TRUST: the session was resumed
	tap_like "$LOG" "^tlsrelay: $2 TLS connection reused to \[127\.0\.0\.1\]:" "$1: $2 TLS connection reused"
	tap_like "$LOG" "to=<user@example.test>.*tls=TLSv1\.3:.*TLS session reused\).*status=sent" \
		"$1: the delivery line says TLS session reused"
}
entries() { find "$CACHE" -maxdepth 1 -type f -name 's*' | wc -l; }
clear_cache() { rm -rf "$CACHE"; }

write_conf "$T/verify.conf" "$PA" verify
write_conf "$T/may.conf" "$PA" may
write_conf "$T/portb.conf" "$PB" verify

# -------------------------------------------------------- a. reuse works
# One plan for the cases below: a linear script (sent: 1 check, full and
# reused: 2 each, corrupt_case: its own).
tap_plan 73
clear_cache
run a1 "$T/verify.conf"
sent "a1 first"
full "a1 first"
tap_is "$(stat -c %a "$CACHE" 2>/dev/null)" 700 "a1: cache directory created with mode 0700"
tap_is "$(entries)" 1 "a1: one entry in the cache"
tap_is "$(find "$CACHE" -type f -name 's*' -printf '%m\n' | sort -u)" 600 "a1: entry mode 0600"
run a2 "$T/verify.conf"
sent "a2 second"
reused "a2 second" Verified

# ----------------------------------------------------- b. the policy key
clear_cache
run b1 "$T/may.conf"
sent "b1 may"
tap_is "$(entries)" 1 "b1: a session stored under may"
run b2 "$T/verify.conf"
sent "b2 verify after may"
full "b2 verify after may"
run b3 "$T/verify.conf"
reused "b3 verify again" Verified

clear_cache
run b4 "$T/verify.conf"
run b5 "$T/portb.conf"
sent "b5 port B after port A"
full "b5 port B after port A"

printf '[127.0.0.1]:%s fingerprint match=%s\n' "$PA" "$CERT_FP" > "$T/pin1"
printf '[127.0.0.1]:%s fingerprint match=%s\n' "$PA" "$PKEY_FP" > "$T/pin2"
write_conf "$T/pin1.conf" "$PA" may "tls_policy_map = $T/pin1"
write_conf "$T/pin2.conf" "$PA" may "tls_policy_map = $T/pin2"
clear_cache
run b6 "$T/pin1.conf"
sent "b6 pin 1"
run b7 "$T/pin2.conf"
sent "b7 pin 2 after pin 1"
full "b7 pin 2 after pin 1"
run b8 "$T/pin2.conf"
reused "b8 pin 2 again" Verified

# ------------------------------------------------- c. bad entry files
corrupt_case() {	# corrupt_case NAME HOW: HOW mangles the one entry file $1
	local name=$1 how=$2 f
	clear_cache
	run "$name-0" "$T/verify.conf"
	f=$(find "$CACHE" -type f -name 's*' | head -n 1)
	[ -n "$f" ] || { tap_ok 0 "$name: an entry to mangle" "no entry file"; return; }
	eval "$how"
	run "$name" "$T/verify.conf"
	sent "$name"
	full "$name"
	run "$name-again" "$T/verify.conf"
	reused "$name: the entry was replaced" Verified
}
corrupt_case c1-garbage 'head -c 700 /dev/urandom > "$f"'
corrupt_case c2-truncated 'truncate -s $(( $(stat -c %s "$f") / 2 )) "$f"'
corrupt_case c3-one-byte 'printf x | dd of="$f" bs=1 seek=$(( $(stat -c %s "$f") - 20 )) conv=notrunc status=none'
corrupt_case c4-other-writable 'chmod 0666 "$f"'

# --------------------------------------------------------- d. lifetime
clear_cache
write_conf "$T/short.conf" "$PA" verify "tls_session_cache_timeout = 1s"
run d1 "$T/short.conf"
sleep 2.2
run d2 "$T/short.conf"
sent "d2 after the lifetime"
full "d2 after the lifetime"

# --------------------------------------------------- e. directory checks
clear_cache
mkdir -m 0777 "$CACHE" && chmod 0777 "$CACHE"
run e1 "$T/verify.conf"
run e1b "$T/verify.conf"
sent "e1 directory writable by others"
full "e1 directory writable by others"
tap_like "$LOG" "TLS session cache $CACHE: writable by group or others" "e1: warning about the mode"
tap_is "$(entries)" 0 "e1: nothing written there"

clear_cache
mkdir -m 0700 "$CACHE" && chown nobody "$CACHE"
run e2 "$T/verify.conf"
run e2b "$T/verify.conf"
sent "e2 directory owned by another user"
full "e2 directory owned by another user"
tap_like "$LOG" "TLS session cache $CACHE: owned by uid [0-9]+, not by uid 0" "e2: warning about the owner"

CACHE_DIR=$NBCACHE write_conf "$T/nobody.conf" "$PA" verify
mkdir -m 0500 "$NBCACHE" && chown nobody "$NBCACHE"
run_nobody e3 "$T/nobody.conf"
sent "e3 directory not writable (as nobody)"
tap_like "$LOG" "TLS session cache $NBCACHE: cannot create a file: Permission denied; this session is not saved" \
	"e3: warning that the session is not saved"

rm -rf "$NBCACHE"
run_nobody e4 "$T/nobody.conf"
sent "e4 as nobody, cache made by nobody"
run_nobody e4b "$T/nobody.conf"
reused "e4b as nobody" Verified
tap_is "$(stat -c %U:%a "$NBCACHE")" nobody:700 "e4: the directory belongs to nobody, mode 0700"

# ------------------------------------------------ f. concurrent writers
clear_cache
pids=()
for i in $(seq 1 20); do
	timeout -k 5 90 "$TR" -c "$T/verify.conf" -f sender@tlsrelay.test -- user@example.test \
		< "$T/msg" > "$T/f-$i.out" 2>&1 &
	pids+=($!)
done
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
tap_is "$bad" 0 "f: 20 concurrent deliveries all exit 0"
tap_is "$(find "$CACHE" -name 'tmp.*' | wc -l)" 0 "f: no temporary file left"
tap_is "$(entries)" 1 "f: one entry for one policy key"
hdr_ok=0
for f in "$CACHE"/s*; do
	# header "TRSC1 EXPIRY KEYLEN DERLEN": its length + KEYLEN + DERLEN = file size
	read -r magic _ klen dlen < "$f"
	hlen=$(head -n 1 "$f" | wc -c)
	[ "$magic" = TRSC1 ] && [ $((hlen + klen + dlen)) = "$(stat -c %s "$f")" ] || hdr_ok=1
done
tap_is "$hdr_ok" 0 "f: every entry is whole (header lengths match the file size)"
run f2 "$T/verify.conf"
reused "f2 after the concurrent run" Verified

clear_cache
write_conf "$T/size1a.conf" "$PA" verify "tls_session_cache_size = 1"
write_conf "$T/size1b.conf" "$PB" verify "tls_session_cache_size = 1"
run g1 "$T/size1a.conf"
run g2 "$T/size1b.conf"
sent "g2 second key with size 1"
tap_is "$(entries)" 1 "g: tls_session_cache_size = 1 keeps one entry"
run g3 "$T/size1b.conf"
reused "g3 the latest key is the one kept" Verified

tap_done

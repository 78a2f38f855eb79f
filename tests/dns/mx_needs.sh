# shellcheck shell=bash
# tests/dns/mx_needs.sh - the common needs of the tests that run tlsrelay
# without a relay host against tests/peer/peer.py instances on port 25 of
# loopback addresses named by an unbound test zone: tests/dns/test_mx_*.sh,
# tests/dane/test_dane.sh, tests/sts/test_sts.sh. Sourced after tests/lib.sh
# and tests/dns/unbound.sh.
#
#   mx_needs ADDRS MODULES [REASON]
#       python3 with MODULES (comma-separated imports; REASON: the skip
#       message when one is missing), unbound and root (ADDRS names the
#       addresses in that skip message); the whole test is skipped without
#       them. Sets PY, PEER, SCEN and TLSRELAY (bails out when the built
#       tlsrelay is missing).
#   mx_port25_free LO HI
#       skips the whole test when port 25 listens on every address or on one
#       of 127.0.0.LO-HI; sets MX_V6_BUSY to "[::1]:25" when something
#       listens there (else empty).
#   mx_listen25 [ADDR...]
#       local addresses listening on TCP port 25 (ss; without ss, a probe of
#       each ADDR).

# shellcheck disable=SC2034 # PY, PEER, SCEN, TLSRELAY: for the caller
mx_needs() {
	local addrs=$1 mods=$2 why=${3:-python3 without the ssl module}
	PY=/usr/bin/python3
	[ -x "$PY" ] || PY=$(command -v python3 2>/dev/null) || tap_skip_all "python3 not found"
	"$PY" -c "import $mods" 2>/dev/null || tap_skip_all "$why"
	ub_find || tap_skip_all "unbound not installed (apt-get install unbound)"
	[ "$(id -u)" = 0 ] || tap_skip_all "needs root (peers listen on $addrs:25)"
	# shellcheck disable=SC2154 # top_srcdir, top_builddir: set by tests/lib.sh
	PEER=$top_srcdir/tests/peer/peer.py
	SCEN=$top_srcdir/tests/peer/scenarios
	TLSRELAY=${TLSRELAY_BIN:-$top_builddir/plugin/transport/tlsrelay}
	[ -x "$TLSRELAY" ] ||
		tap_bail "no tlsrelay at $TLSRELAY (build it, or set top_builddir or TLSRELAY_BIN)"
}

mx_listen25() {
	local a
	if command -v ss >/dev/null 2>&1; then
		ss -Htln 'sport = :25' 2>/dev/null | awk '{print $4}'
		return
	fi
	for a in "$@"; do
		timeout 2 bash -c "exec 3<>/dev/tcp/$a/25" 2>/dev/null && echo "[$a]:25"
	done
}

# shellcheck disable=SC2034 # MX_V6_BUSY: for the caller
mx_port25_free() {
	local lo=$1 hi=$2 a o
	MX_V6_BUSY=
	for a in $(mx_listen25 $(seq -f "127.0.0.%g" "$lo" "$hi") ::1); do
		case $a in
		0.0.0.0:25|'*:25'|'[::]:25'|'[::ffff:0.0.0.0]:25')
			tap_skip_all "port 25 is taken on the test addresses ($a listens)" ;;
		'[::1]:25') MX_V6_BUSY=$a; continue ;;
		esac
		a=${a#[}; a=${a%:25}; a=${a%]}
		case $a in
		127.0.0.*)
			o=${a#127.0.0.}
			if [ "$o" -ge "$lo" ] 2>/dev/null && [ "$o" -le "$hi" ]; then
				tap_skip_all "port 25 is taken on the test addresses ($a:25 listens)"
			fi ;;
		esac
	done
}

# shellcheck shell=bash
# tests/fleet/fleet.sh - three tlsrelay hosts and one Redis (sourced by
# tests/fleet/test_*.sh after tests/lib.sh):
#   - a real redis-server on 127.0.0.1:$RP (free_port, --save '' --dir in
#     the test's directory, requirepass from a password file), stopped by
#     its PID (redis_start / redis_stop);
#   - unbound serving test. (MX, A, _mta-sts and _smtp._tls TXT records);
#   - tests/sts/https_policy.py serving the MTA-STS policies on 127.0.0.180
#     (its log: $T/fetches.log, one line per fetch);
#   - tests/fleet/sink.py as the MX of d1..d3.test and trap.test
#     (mx.example.test = 127.0.0.181:25) and of rpt.test, where the TLS-RPT
#     reports go (127.0.0.182:25; SINK_STALL=S: the first report stalls);
#   - hosts A and B run tlsrelay, host C runs tlsrelayd (-u nobody) and is
#     fed by tlsrelayc; each has its own spool, MTA-STS cache and TLS
#     history under $T/HOST, and all share shared_store. Host B's policy
#     fetches go to a closed port (an attacker blocks them).
# Functions: deliver HOST RCPT (RC, LOG), rcli ARGS (redis-cli), conf HOST.
# The tests of tests/fleet run one at a time (a flock in the build tree).

# shellcheck source=tests/dns/unbound.sh
. "$top_srcdir/tests/dns/unbound.sh"
# shellcheck source=tests/dns/mx_needs.sh
. "$top_srcdir/tests/dns/mx_needs.sh"

mx_needs 127.0.0.18x 'ssl, json, gzip, email' "python3 without ssl/json"
require_cmd timeout openssl redis-server redis-cli
CERTS=$top_srcdir/tests/certs
STS=${TLSRELAY_STS_BIN:-$top_builddir/plugin/sts/tlsrelay-sts}
REPORT=${TLSRELAY_REPORT_BIN:-$top_builddir/plugin/report/tlsrelay-report}
DAEMON=${TLSRELAYD_BIN:-$top_builddir/plugin/daemon/tlsrelayd}
CLIENT=${TLSRELAYC_BIN:-$top_builddir/plugin/transport/tlsrelayc}
for b in "$STS" "$REPORT" "$DAEMON" "$CLIENT"; do [ -x "$b" ] || tap_bail "not built: $b"; done
"$TLSRELAY" -o shared_store=redis://127.0.0.1:1/0 -o mta_sts_cache=/tmp/x -t 2>&1 |
	grep -q "no Redis support" && tap_skip_all "built without hiredis (shared_store not built in)"
# The fleet tests share 127.0.0.180-189:25: in a parallel make check they
# take turns (a lock in the build tree, held until the test exits; the
# processes it starts inherit it and are stopped at its exit).
require_cmd flock
mkdir -p "$top_builddir/tests/fleet"
exec 8> "$top_builddir/tests/fleet/.port25.lock"
flock -w 900 8 || tap_skip_all "another fleet test held 127.0.0.180-189:25 for 15 minutes"
mx_port25_free 180 189

make_tmpdir TEST_TMP
T=$TEST_TMP
chmod 0755 "$T"
DAY=$(date -u +%Y-%m-%d)

# ---------------------------------------------------------------- HTTPS, zone
DOMAINS="d1 d2 d3 trap"
san=
for d in $DOMAINS; do san="${san:+$san,}DNS:mta-sts.$d.test"; done
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/https.key" 2>/dev/null &&
openssl req -new -key "$T/https.key" -subj "/CN=mta-sts fleet" -out "$T/https.csr" 2>/dev/null &&
printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$san" > "$T/https.ext" &&
openssl x509 -req -in "$T/https.csr" -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca.key" \
	-set_serial 0x5152 -days 2 -extfile "$T/https.ext" -out "$T/https.pem" 2>/dev/null ||
	tap_bail "cannot make the HTTPS certificate"
{
	printf '$ORIGIN test.\n$TTL 60\n'
	printf '@ SOA ns.test. hostmaster.test. 1 3600 600 86400 60\n@ NS ns.test.\nns A 127.0.0.1\n'
	printf 'mx.example A 127.0.0.181\nmx-rpt.example A 127.0.0.182\nrpt MX 10 mx-rpt.example.test.\n'
	for d in $DOMAINS; do
		printf '%s MX 10 mx.example.test.\nmta-sts.%s A 127.0.0.180\n' "$d" "$d"
		printf '_mta-sts.%s TXT "v=STSv1; id=%s1;"\n' "$d" "$d"
		printf '_smtp._tls.%s TXT "v=TLSRPTv1; rua=mailto:tlsrpt@rpt.test"\n' "$d"
	done
} > "$T/fleet.zone"
at_exit ub_cleanup
ub_setup "$T" "$T/fleet.zone" || tap_bail "unbound setup failed"
ub_start_main ub_log_ready || tap_bail "cannot start unbound"

pol() { printf 'version: STSv1\\nmode: enforce\\nmx: %s\\nmax_age: 86400\\n' "$1"; }
cat > "$T/policies.json" <<EOF
{
 "mta-sts.d1.test": {"body": "$(pol mx.example.test)"},
 "mta-sts.d2.test": {"body": "$(pol mx.example.test)"},
 "mta-sts.d3.test": {"body": "$(pol mx.example.test)"},
 "mta-sts.trap.test": {"body": "$(pol '*.elsewhere.test')"}
}
EOF
HP=$(free_port) || tap_bail "no free port"
start_bg https "$PY" "$top_srcdir/tests/sts/https_policy.py" --address 127.0.0.180 --port "$HP" \
	--cert "$T/https.pem" --key "$T/https.key" --config "$T/policies.json" \
	--log "$T/fetches.log" --pidfile "$T/https.pid" --max-lifetime 900
wait_until 10 test -s "$T/https.pid" || tap_bail "HTTPS policy server did not start"
touch "$T/fetches.log"
fetches() { grep -c "^mta-sts.$1.test " "$T/fetches.log"; }

# ---------------------------------------------------------------- receivers
mkdir -p "$T/mx" "$T/rpt"
start_bg sink-mx "$PY" "$top_srcdir/tests/fleet/sink.py" --address 127.0.0.181 --port 25 \
	--cert "$CERTS/server.pem" --key "$CERTS/server.key" --outdir "$T/mx" --pidfile "$T/mx/pid"
start_bg sink-rpt "$PY" "$top_srcdir/tests/fleet/sink.py" --address 127.0.0.182 --port 25 \
	--cert "$CERTS/server.pem" --key "$CERTS/server.key" --outdir "$T/rpt" --pidfile "$T/rpt/pid" \
	--stall-first "${SINK_STALL:-0}"
wait_until 10 test -s "$T/mx/pid" || tap_bail "MX sink did not start"
wait_until 10 test -s "$T/rpt/pid" || tap_bail "report sink did not start"
accepted() { wc -l < "$T/$1/accepted.log"; }

# ---------------------------------------------------------------- Redis
RP=$(free_port) || tap_bail "no free port"
mkdir -p "$T/redis"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/redis/pw"
REDIS_PID=
redis_start() {
	start_bg redis redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$T/redis" --daemonize no --requirepass "$(cat "$T/redis/pw")"
	REDIS_PID=$BG_PID
	wait_until 10 rcli PING > /dev/null 2>&1
}
redis_stop() { [ -n "$REDIS_PID" ] && stop_pid "$REDIS_PID"; REDIS_PID=; }
rcli() { REDISCLI_AUTH=$(cat "$T/redis/pw") timeout 5 redis-cli -p "$RP" --no-auth-warning "$@"; }
if [ "${FLEET_CLUSTER:-0}" = 1 ]; then
	# FLEET_CLUSTER=1: a Redis Cluster of three primaries (no replicas) on
	# 127.0.0.1:$CP1..3 (bus ports from free_port too), the same password;
	# shared_store names the first node ($RP). rcli follows redirections
	# (-c); ncli PORT ARGS asks one node only.
	# shared_store_timeout = 2000 (the hosts' tlsrelay.conf): room for redirections on a
	# loaded test machine (the bound is checked by counting, never by time).
	CP1=$(free_port) && CP2=$(free_port) && CP3=$(free_port) || tap_bail "no free port"
	declare -A CPID=()
	node_start() {	# node_start PORT: one cluster node (its PID in CPID[PORT])
		local bus
		bus=$(free_port) || return 1
		mkdir -p "$T/redis/$1"
		start_bg "redis-$1" redis-server --port "$1" --cluster-port "$bus" --bind 127.0.0.1 \
			--save '' --appendonly no --dir "$T/redis/$1" --daemonize no \
			--cluster-enabled yes --cluster-config-file "$T/redis/$1/nodes.conf" \
			--cluster-node-timeout 3000 --requirepass "$(cat "$T/redis/pw")" \
			--masterauth "$(cat "$T/redis/pw")"
		CPID[$1]=$BG_PID
		wait_until 10 ncli "$1" PING > /dev/null 2>&1
	}
	ncli() { local p=$1; shift; REDISCLI_AUTH=$(cat "$T/redis/pw") timeout 5 redis-cli -p "$p" --no-auth-warning "$@"; }
	rcli() { ncli "$RP" -c "$@"; }
	cluster_ok() { [ "$(ncli "$1" CLUSTER INFO | tr -d '\r' | grep -c '^cluster_state:ok')" = 1 ]; }
	redis_start() {
		local p
		for p in "$CP1" "$CP2" "$CP3"; do node_start "$p" || return 1; done
		REDISCLI_AUTH=$(cat "$T/redis/pw") timeout 30 redis-cli --no-auth-warning --cluster create \
			"127.0.0.1:$CP1" "127.0.0.1:$CP2" "127.0.0.1:$CP3" --cluster-replicas 0 \
			--cluster-yes > "$T/redis/create.out" 2>&1 || return 1
		for p in "$CP1" "$CP2" "$CP3"; do wait_until 30 cluster_ok "$p" || return 1; done
	}
	redis_stop() { local p; for p in "${!CPID[@]}"; do stop_pid "${CPID[$p]}"; done; CPID=(); }
	RP=$CP1
fi
redis_start || tap_bail "redis-server did not start: $(cat "$T"/redis*.out "$T/redis/create.out" 2>/dev/null)"

# ---------------------------------------------------------------- hosts
CLOSED=$(free_port) || tap_bail "no free port"
for h in A B C; do
	mkdir -p "$T/$h/spool"
	install -m 0600 "$T/redis/pw" "$T/$h/redis-pw"
	cat > "$T/$h/tlsrelay.conf" <<EOF
helo_name = host-$h.test
connect_timeout = 5s
command_timeout = 10s
data_timeout = 30s
deadline = 90s
spool_directory = $T/$h/spool
tls_ca_file = $CERTS/ca.pem
tls_security_level = may
syslog = no
dns_resolver = 127.0.0.1:$ub_port
mta_sts = yes
mta_sts_cache = $T/$h/sts.db
mta_sts_https_port = $([ "$h" = B ] && echo "$CLOSED" || echo "$HP")
tls_history = $T/$h/history.db
shared_store = redis://127.0.0.1:$RP/0
shared_store_password_file = $T/$h/redis-pw
shared_store_lease = 5s
$([ "${FLEET_CLUSTER:-0}" = 1 ] && echo "shared_store_timeout = 2000")
EOF
done
chown -R nobody "$T/C" || tap_bail "cannot give host C's files to nobody"
conf() { printf '%s' "$T/$1/tlsrelay.conf"; }
printf 'Subject: fleet test\n\nhello\n' > "$T/msg"

CSOCK=$T/C/tlsrelayd.sock
start_bg tlsrelayd "$DAEMON" -v -u nobody -c "$(conf C)" -s "$CSOCK"
C_PID=$BG_PID
wait_until 15 grep -q "ready on $CSOCK" "$T/tlsrelayd.out" ||
	tap_bail "tlsrelayd did not start: $(cat "$T/tlsrelayd.out")"

# c_rows: the attempts in C's own history (0 before it exists)
c_rows() { python3 -c 'import sqlite3, sys
try: print(sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True).execute("SELECT count(*) FROM attempt").fetchone()[0])
except Exception: print(0)' "$T/C/history.db"; }
# deliver HOST RCPT [ARGS...]: RC, LOG (tlsrelay's -v log; host C: the
# daemon's log lines written during the delivery)
deliver() {
	local h=$1 rcpt=$2 before rows; shift 2
	if [ "$h" = C ]; then
		before=$(wc -l < "$T/tlsrelayd.out")
		rows=$(c_rows)
		timeout -k 5 90 "$CLIENT" -S "$CSOCK" -c "$(conf C)" -v "$@" -f sender@example.test -- "$rcpt" \
			< "$T/msg" > "$T/C/last.out" 2>&1
		RC=$?
		# its history (the fleet's share first) is written after the
		# result (lib/history.h DEFERRED): wait for its own store's row
		wait_until 10 eval '[ "$(c_rows)" -gt "$rows" ]'
		LOG=$(cat "$T/C/last.out"; tail -n +"$((before + 1))" "$T/tlsrelayd.out")
	else
		timeout -k 5 90 "$TLSRELAY" -c "$(conf "$h")" -v "$@" -f sender@example.test -- "$rcpt" \
			< "$T/msg" > "$T/$h/last.out" 2>&1
		RC=$?
		LOG=$(cat "$T/$h/last.out")
	fi
}

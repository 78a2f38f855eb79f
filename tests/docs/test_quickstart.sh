#!/bin/bash
# tests/docs/test_quickstart.sh - README.md's "Quick start: Postfix", run as
# written: the fenced blocks marked <!-- quickstart:postfix --> are extracted
# (tests/docs/readme_blocks.py) and run in order with bash, as root; the
# output marked <!-- quickstart:expect --> after a block must appear in that
# block's output ("..." = anything). Then the message the quick start sends
# must have arrived over TLS (the receiver's Received header).
#
# Against:
# - the packages built from this tree (tests/pkg/debs.sh, shared with
#   tests/pkg/test_debian.sh), installed by the README's own apt command and
#   purged at exit. So the test runs only with CI=true or
#   TR_TEST_PACKAGES=yes, as root, when no tlsrelay package is installed.
# - the system Postfix configuration: the blocks edit /etc/postfix and
#   /etc/tlsrelay.conf and run postfix, postconf and sendmail with their
#   default paths. Decision: the test runs in a private mount namespace
#   (unshare -m) in which /etc/postfix, /var/spool/postfix and
#   /var/lib/postfix are fresh directories, so the machine's own Postfix
#   configuration, queue and running instance (if any) are never touched,
#   and nothing needs restoring: the mounts end with the namespace. The
#   test plays the admin's running Postfix there (Debian's master.cf, a
#   minimal main.cf, no inet services: nothing listens on port 25) and
#   stops it at exit. /var/lib/tlsrelay, which the tlsrelay package makes
#   (for _tlsrelay, the user that runs deliveries), is a fresh directory in
#   the namespace if it exists (root's: the package gives it to _tlsrelay),
#   else removed at exit; the user _tlsrelay is removed at exit if the
#   packages made it.
# - a receiving server playing the smarthost: a private Postfix with
#   STARTTLS on a free loopback port (tests/lib.sh receiver_new), whose
#   certificate names localhost and is signed by tests/certs/ca.pem.
# - syslog: tests/docs/syslogd.py on /dev/log writes rsyslog-style lines to
#   a file (bound over /dev/log inside the namespace when it exists; else
#   created, and removed at exit).
#
# Substitutions made in the blocks and the expected output (keep this list
# short; the README tells the reader to make the first, third and fourth):
#   smtp.example.net                     -> localhost (the receiver's name)
#   :587                                 -> :PORT (the receiver's port)
#   /etc/ssl/certs/ca-certificates.crt   -> a copy of tests/certs/ca.pem
#   you@example.net                      -> user@example.test (a receiver mailbox)
#   /var/log/mail.log                    -> the syslog file of this test
# Block 1 (apt install ./...deb) runs in the directory of the built packages.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/pkg/debs.sh"

if [ -z "${TR_QUICKSTART_NS:-}" ]; then
	debs_gate
	require_cmd unshare mount postfix postconf sendmail python3 apt
	[ -d /var/spool/postfix ] && [ -d /var/lib/postfix ] ||
		tap_skip_all "the postfix package's directories are missing"
	unshare -m --propagation private true 2>/dev/null ||
		tap_skip_all "cannot create a mount namespace here (unshare -m)"
	TR_QUICKSTART_NS=1 exec unshare -m --propagation private -- bash "$0" "$@"
fi

make_tmpdir
T=$TEST_TMP

# ------------------------------------------------------------ packages
tap_expect 1
debs_lock
debs_build
tap_status "$DEBS_RC" "the packages are built (dpkg-buildpackage -us -uc -b)" "$(tail -n 30 "$DEBS_LOG")"
[ "$DEBS_RC" = 0 ] || tap_bail "no packages to install"
# (at_exit runs last first: the user goes after the packages)
getent passwd _tlsrelay >/dev/null || at_exit "userdel _tlsrelay; getent group _tlsrelay >/dev/null && groupdel _tlsrelay"
at_exit debs_purge

# ------------------------------------------- the README's blocks, substituted
mkdir -p "$T/blocks"
tap_expect 2
n=$(python3 "$top_srcdir/tests/docs/readme_blocks.py" "$top_srcdir/README.md" postfix "$T/blocks")
tap_status $? "README.md has quick start blocks for Postfix ($n)" "$n"
tap_status "$(test "${n:-0}" -ge 7; echo $?)" "at least 7 blocks: install, conf, -t, probe, master.cf, send, log"

RPORT=$(free_port) || tap_bail "no free port"
cp "$CERTS/ca.pem" "$T/ca.pem" && chmod 0644 "$T/ca.pem"
for f in "$T"/blocks/*; do
	sed -i -e 's|smtp\.example\.net|localhost|g' -e "s|:587|:$RPORT|g" \
		-e "s|/etc/ssl/certs/ca-certificates\\.crt|$T/ca.pem|g" \
		-e 's|you@example\.net|user@example.test|g' \
		-e "s|/var/log/mail\\.log|$T/mail.log|g" "$f"
done

# ------------------------------------ the admin's system, in this namespace
mkdir -p "$T/sys/etc" "$T/sys/spool" "$T/sys/lib"
cp -a /etc/postfix/. "$T/sys/etc/" && rm -f "$T/sys/etc/main.cf" "$T/sys/etc/master.cf"
cp /usr/share/postfix/master.cf.dist "$T/sys/etc/master.cf" || tap_bail "no master.cf.dist"
cat > "$T/sys/etc/main.cf" <<EOF
# made by tests/docs/test_quickstart.sh: a minimal local Postfix
compatibility_level = 3.6
myhostname = host.tlsrelay.test
mydomain = tlsrelay.test
myorigin = \$myhostname
mydestination = \$myhostname, localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
master_service_disable = inet
alias_maps =
alias_database =
biff = no
EOF
chown postfix "$T/sys/lib"
for m in /etc/postfix:"$T/sys/etc" /var/spool/postfix:"$T/sys/spool" /var/lib/postfix:"$T/sys/lib"; do
	mount --bind "${m#*:}" "${m%%:*}" || tap_bail "mount --bind ${m#*:} ${m%%:*} failed"
done

# syslog
touch "$T/mail.log"
if [ -e /dev/log ] || [ -L /dev/log ]; then
	start_bg syslogd python3 "$top_srcdir/tests/docs/syslogd.py" "$T/log.sock" "$T/mail.log"
	wait_until 10 test -S "$T/log.sock" || tap_bail "syslogd.py did not start"
	mount --bind "$T/log.sock" /dev/log || tap_bail "cannot bind over /dev/log"
else
	start_bg syslogd python3 "$top_srcdir/tests/docs/syslogd.py" /dev/log "$T/mail.log"
	at_exit "[ -S /dev/log ] && rm -f /dev/log"
	wait_until 10 test -S /dev/log || tap_bail "syslogd.py did not start"
fi

# /var/lib/tlsrelay (block 2 makes it): a fresh one in this namespace if
# it exists, else removed at exit
if [ -d /var/lib/tlsrelay ]; then
	mkdir -p "$T/sys/tlsrelay" && mount --bind "$T/sys/tlsrelay" /var/lib/tlsrelay ||
		tap_bail "cannot bind over /var/lib/tlsrelay"
else
	at_exit "rm -rf /var/lib/tlsrelay"
fi

# the smarthost
receiver_new receiver "$RPORT" may || tap_bail "receiver_new failed"
RECV=$PF_DIR
pf_start "$RECV" && wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver Postfix did not start"

# the admin's running Postfix
stop_system_postfix() {
	local pid
	pid=$(tr -dc '0-9' < /var/spool/postfix/pid/master.pid 2>/dev/null)
	postfix stop >/dev/null 2>&1
	[ -n "$pid" ] || return 0
	wait_until 15 eval "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null
}
at_exit stop_system_postfix
[ -x /usr/lib/postfix/configure-instance.sh ] && /usr/lib/postfix/configure-instance.sh - >/dev/null 2>&1
out=$(postfix start 2>&1)
tap_expect 1
tap_status $? "a system Postfix runs (postfix start, in the namespace)" "$out"
wait_until 15 test -s /var/spool/postfix/pid/master.pid || tap_bail "no master.pid"

# ------------------------------------------------------------- run them
run_block() {	# run_block I: run block I in its directory; output in $T/out.I
	local dir=/
	[ "$1" = 1 ] && dir=$DEBS_DIR
	(cd "$dir" && DEBIAN_FRONTEND=noninteractive timeout 120 bash -e "$T/blocks/$1.sh") \
		> "$T/out.$1" 2>&1 < /dev/null
}
# one check a block, one more for a block with its expected output
tap_expect $((n + $(find "$T/blocks" -name '*.expect' | wc -l)))
for ((i = 1; i <= n; i++)); do
	run_block "$i"; rc=$?
	if [ -f "$T/blocks/$i.expect" ]; then
		# the log lines come once Postfix has delivered: run it again until
		# they are there (bounded)
		for ((try = 0; try < 60; try++)); do
			python3 "$top_srcdir/tests/docs/readme_blocks.py" --match "$T/blocks/$i.expect" \
				"$T/out.$i" > "$T/miss.$i" && break
			sleep 1
			run_block "$i"; rc=$?
		done
	fi
	tap_status "$rc" "README Postfix block $i: $(head -n 1 "$T/blocks/$i.sh")" "$(tail -n 30 "$T/out.$i")"
	[ -f "$T/blocks/$i.expect" ] &&
		tap_status "$(test ! -s "$T/miss.$i"; echo $?)" "block $i prints what the README shows" \
			"$(cat "$T/miss.$i"; echo '--- output:'; tail -n 40 "$T/out.$i")"
done

# ------------------------------------------------------- what arrived
tap_expect 6	# stored, over TLS, Verified, no warning, /var/lib/tlsrelay 2
file=$(receiver_wait_mail "$RECV" user "tlsrelay test" 30)
tap_status $? "the smarthost stored the test message" "$(tail -n 20 "$T/mail.log")"
tap_like "$(mail_header "$file" Received)" 'using TLSv1\.[23]' "it arrived over TLS (Received header)"
tap_like "$(grep 'tlsrelay\[' "$T/mail.log")" 'Verified TLS connection (established|reused) to localhost\[127\.0\.0\.1\]' \
	"tlsrelay logged the session as Verified"
tap_unlike "$(grep 'tlsrelay\[' "$T/mail.log")" 'warning|TLS session cache .*: ' \
	"tlsrelay logged no warning (session cache directory, settings)"
tap_like "$(stat -c '%U %a' /var/lib/tlsrelay)" '^_tlsrelay 700$' "/var/lib/tlsrelay is _tlsrelay's (the package made it)"
tap_status "$(find /var/lib/tlsrelay -mindepth 1 ! -user _tlsrelay | grep -q . && echo 1 || echo 0)" \
	"everything in /var/lib/tlsrelay is _tlsrelay's (the probe run as root made nothing there)" \
	"$(ls -laR /var/lib/tlsrelay)"
tap_done

#!/bin/bash
# tests/pkg/test_debian.sh - the Debian packages: build them from a copy of
# the source tree with "dpkg-buildpackage -us -uc -b", check them with
# lintian (no errors, no warnings), install them with dpkg, deliver one message through
# the INSTALLED /usr/sbin/tlsrelay (swaks -> private Postfix -> pipe(8) ->
# tlsrelay -> private Postfix with STARTTLS), run the installed
# tlsrelay-probe and tlsrelay -t, start the installed tlsrelayd by hand (its
# own socket in the test's directory, as the package's user _tlsrelay) and
# deliver one message through the installed tlsrelayc and one through its
# fallback once the daemon is stopped, then purge the packages. The system
# user _tlsrelay that the tlsrelay package makes is kept on purge (Debian
# keeps system users); the test removes it if it made it.
# Issue 19: the tlsrelay package makes _tlsrelay and /var/lib/tlsrelay
# (its, mode 0700; purge removes the directory), ships the tlsrelay-sts
# timer (enabled) with its service, the Exim and sendmail snippets in
# /usr/share/tlsrelay/; no installed man page, sample or snippet names
# /usr/local; the tlsrelay-exim description keeps "${dlfunc}"; every
# installed program answers --help and --version.
#
# Installing packages changes the machine, so the test runs only when
# asked: CI=true (a throw-away machine) or TR_TEST_PACKAGES=yes, as root,
# and only when no tlsrelay package was installed before (it would not
# remove an admin's own). Otherwise it skips, saying why. The build is
# shared with tests/docs/test_quickstart.sh (tests/pkg/debs.sh: built once
# per source state, the two tests serialised by a lock).
# Build dependencies come from debian/control (scripts/packages.d/admin.list
# installs them with the rest). About 1-2 minutes, mostly the build.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

. "$top_srcdir/tests/pkg/debs.sh"
debs_gate
require_cmd lintian postfix swaks
make_tmpdir
T=$TEST_TMP

# Each section declares its checks (tap_expect) before it makes them.
PACKAGES=(tlsrelay tlsrelayd tlsrelay-milter tlsrelay-exim)
PROGRAMS=(tlsrelay tlsrelay-probe tlsrelay-sts tlsrelayd tlsrelayc tlsrelay-milter)

# ------------------------------------------------------------------ build
tap_expect $((1 + ${#PACKAGES[@]} + 2))	# the build, a package each, no library package or file
debs_lock
debs_build
tap_status "$DEBS_RC" "dpkg-buildpackage -us -uc -b" "$(tail -n 30 "$DEBS_LOG")"
ls "$DEBS_DIR"/*.deb 2>/dev/null | grep -v -- '-dbgsym_' > "$T/debs"
for p in "${PACKAGES[@]}"; do
	tap_status "$(grep -q "/${p}_[^/]*\\.deb$" "$T/debs"; echo $?)" "package $p built"
done
[ -s "$T/debs" ] || tap_bail "no package built"
# libtlsrelay is linked into each program (doc/DESIGN.md): no library
# package, and no package ships a libtlsrelay.so, tlsrelay.h or tlsrelay.pc
tap_unlike "$(cat "$T/debs")" '/libtlsrelay' "no libtlsrelay package is built"
shipped=$(for d in $(cat "$T/debs"); do dpkg-deb -c "$d"; done)
tap_unlike "$shipped" 'libtlsrelay\.so|/include/tlsrelay\.h|/tlsrelay\.pc$' \
	"no package ships libtlsrelay.so, tlsrelay.h or tlsrelay.pc"

tap_expect 2
lintian --fail-on error --no-tag-display-limit "$DEBS_DIR"/*.changes > "$T/lintian.out" 2>&1
tap_status $? "lintian: no errors" "$(cat "$T/lintian.out")"
tap_status "$(grep -q '^W:' "$T/lintian.out" && echo 1 || echo 0)" "lintian: no warnings" "$(cat "$T/lintian.out")"

# ---------------------------------------------------------------- install
# files 13, paths 4, the user and the timer 6, --version and --help of
# each program, no libtlsrelay.so, tlsrelay -t
tap_expect $((13 + 4 + 6 + 2 * ${#PROGRAMS[@]} + 2))
# (at_exit runs last first: the user goes after the packages)
getent passwd _tlsrelay >/dev/null || at_exit "userdel _tlsrelay; getent group _tlsrelay >/dev/null && groupdel _tlsrelay"
at_exit debs_purge
# shellcheck disable=SC2046
DEBIAN_FRONTEND=noninteractive dpkg -i $(cat "$T/debs") > "$T/install.log" 2>&1
tap_status $? "dpkg -i of the built packages" "$(tail -n 30 "$T/install.log")"
tap_status "$(test -x /usr/sbin/tlsrelay && test -x /usr/sbin/tlsrelay-probe; echo $?)" "installed: /usr/sbin/tlsrelay and tlsrelay-probe"
tap_status "$(test -f /etc/tlsrelay/tlsrelay.conf; echo $?)" "installed: /etc/tlsrelay/tlsrelay.conf (a conffile)"
tap_like "$(dpkg-query -W -f='${Conffiles}' tlsrelay)" '/etc/tlsrelay/tlsrelay\.conf' "tlsrelay.conf is a conffile"
tap_status "$(test -x /usr/sbin/tlsrelay-sts; echo $?)" "installed: /usr/sbin/tlsrelay-sts"
tap_status "$(test -x /usr/sbin/tlsrelay-milter; echo $?)" "installed: /usr/sbin/tlsrelay-milter"
tap_status "$(test -f /lib/systemd/system/tlsrelay-milter.service; echo $?)" "installed: the milter's systemd unit"
tap_status "$(test -f /etc/default/tlsrelay-milter; echo $?)" "installed: /etc/default/tlsrelay-milter"
OUT=$(/usr/sbin/tlsrelay-milter -t -r /etc/tlsrelay/milter_rules 2>&1)
tap_status $? "installed tlsrelay-milter -t accepts the shipped rules file" "$OUT"
tap_like "$(dpkg-query -L tlsrelay-exim)" '/tlsrelay/tlsrelay_exim\.so$' "installed: the Exim dlfunc object"
tap_like "$(dpkg-query -L tlsrelay)" '^/usr/share/tlsrelay/exim/transport_tlsrelay\.conf$' "installed: the Exim snippets in /usr/share/tlsrelay/exim/"
tap_like "$(dpkg-query -L tlsrelay)" '^/usr/share/tlsrelay/sendmail/tlsrelay\.m4$' "installed: the sendmail mailer in /usr/share/tlsrelay/sendmail/"
tap_unlike "$(dpkg-query -L tlsrelay)" '^/usr/share/doc/tlsrelay/(exim|examples/sendmail)' "no snippet left under /usr/share/doc (Debian policy: it may be absent)"
# /usr/local in what the packages install (man pages gzipped or not)
left=""
for p in $(dpkg-query -L "${PACKAGES[@]}" 2>/dev/null); do
	[ -f "$p" ] || continue
	case $p in
	/usr/share/man/*.gz) zcat "$p" | grep -q /usr/local && left="$left $p" ;;
	/usr/share/man/*|/usr/share/tlsrelay/*|/usr/share/doc/tlsrelay/examples/*|/etc/*)
		grep -q /usr/local "$p" && left="$left $p" ;;
	esac
done
tap_is "$left" "" "no installed man page, sample or snippet names /usr/local"
tap_status "$(zcat /usr/share/man/man5/tlsrelay.conf.5.gz | grep -q '/etc/tlsrelay/tlsrelay\.conf'; echo $?)" \
	"tlsrelay.conf(5) names /etc/tlsrelay/tlsrelay.conf"
tap_like "$(grep '^TLSRELAY_PROGRAM = ' /usr/share/tlsrelay/exim/transport_tlsrelay.conf)" '^TLSRELAY_PROGRAM = /usr/sbin/tlsrelay$' \
	"the Exim snippet's default program is /usr/sbin/tlsrelay"
tap_like "$(dpkg-query -W -f='${Description}' tlsrelay-exim)" '\$\{dlfunc\}' 'the tlsrelay-exim description keeps "${dlfunc}"'
# the user that runs deliveries and its directory: package tlsrelay
tap_like "$(dpkg-query -L tlsrelay)" '/sysusers\.d/tlsrelay\.conf$' "the tlsrelay package makes the user _tlsrelay (sysusers)"
tap_like "$(stat -c '%U %G %a' /var/lib/tlsrelay 2>&1)" '^_tlsrelay _tlsrelay 700$' "/var/lib/tlsrelay: _tlsrelay's, mode 0700"
tap_status "$(test -f /lib/systemd/system/tlsrelay-sts.timer && test -f /lib/systemd/system/tlsrelay-sts.service; echo $?)" \
	"installed: tlsrelay-sts.timer and its service"
tap_status "$(test -L /etc/systemd/system/timers.target.wants/tlsrelay-sts.timer; echo $?)" "tlsrelay-sts.timer is enabled"
tap_like "$(cat /lib/systemd/system/tlsrelay-sts.service)" 'ExecCondition=.*mta_sts = yes' "its service runs only with mta_sts = yes"
OUT=$(runuser -u _tlsrelay -- /bin/sh -c '/usr/sbin/tlsrelay -c /etc/tlsrelay/tlsrelay.conf -n | grep -q ": mta_sts = yes$"'; echo $?)
tap_is "$OUT" 1 "the shipped tlsrelay.conf: the timer's condition is false (mta_sts is not set)"
for prog in "${PROGRAMS[@]}"; do
	tap_like "$(/usr/sbin/$prog --version 2>&1)" "^$prog [0-9]" "installed $prog --version"
	tap_like "$(/usr/sbin/$prog --help 2>&1)" "^usage: $prog " "installed $prog --help"
done
tap_unlike "$(for p in tlsrelay tlsrelay-probe tlsrelay-sts tlsrelayd tlsrelay-milter; do LC_ALL=C ldd "/usr/sbin/$p"; done 2>&1)" \
	'libtlsrelay|not found' "the installed programs need no libtlsrelay.so (nor a missing library)"
OUT=$(/usr/sbin/tlsrelay -t 2>&1)
tap_status $? "installed tlsrelay -t: the shipped /etc/tlsrelay.conf is clean" "$OUT"

# tlsrelayd: files, unit, user (package tlsrelayd)
tap_expect 11	# systemd-analyze: 2 checks or 2 skips
tap_status "$(test -x /usr/sbin/tlsrelayd && test -x /usr/sbin/tlsrelayc; echo $?)" "installed: /usr/sbin/tlsrelayd and tlsrelayc"
tap_like "$(LC_ALL=C ldd /usr/sbin/tlsrelayc 2>&1)" 'not a dynamic executable|statically linked' \
	"the installed tlsrelayc is static (lintian override statically-linked-binary)"
tap_status "$(test -f /usr/share/man/man8/tlsrelayd.8.gz && test -e /usr/share/man/man8/tlsrelayc.8.gz; echo $?)" \
	"installed: tlsrelayd(8) and tlsrelayc(8)"
tap_status "$(test -f /lib/systemd/system/tlsrelayd.service; echo $?)" "installed: tlsrelayd's systemd unit"
tap_status "$(test -L /etc/systemd/system/multi-user.target.wants/tlsrelayd.service; echo $?)" "tlsrelayd.service is enabled"
if command -v systemd-analyze >/dev/null 2>&1; then
	OUT=$(systemd-analyze verify --man=no /lib/systemd/system/tlsrelayd.service 2>&1)
	tap_status "$(test -z "$OUT"; echo $?)" "systemd-analyze verify: tlsrelayd.service is clean (its programs installed)" "$OUT"
	OUT=$(systemd-analyze verify --man=no /lib/systemd/system/tlsrelay-sts.timer /lib/systemd/system/tlsrelay-sts.service 2>&1)
	tap_status "$(test -z "$OUT"; echo $?)" "systemd-analyze verify: tlsrelay-sts.timer and .service are clean" "$OUT"
else
	tap_skip "systemd-analyze verify tlsrelayd.service" "no systemd-analyze here"
	tap_skip "systemd-analyze verify tlsrelay-sts.timer and .service" "no systemd-analyze here"
fi
tap_like "$(dpkg-query -W -f='${Conffiles}' tlsrelayd)" '/etc/default/tlsrelayd' "/etc/default/tlsrelayd is a conffile"
tap_like "$(getent passwd _tlsrelay)" '^_tlsrelay:x:[0-9]+:[0-9]+:[^:]*:/nonexistent:' "the system user _tlsrelay exists"
OUT=$(runuser -u _tlsrelay -- /usr/sbin/tlsrelay -t -c /etc/tlsrelay/tlsrelay.conf 2>&1)
tap_status $? "the unit's ExecStartPre (tlsrelay -t as _tlsrelay) passes with the shipped configuration" "$OUT"
OUT=$(/usr/sbin/tlsrelay -t -u _tlsrelay 2>&1)
tap_like "$OUT" '^tlsrelay: configuration OK \(/etc/tlsrelay/tlsrelay\.conf, as user _tlsrelay\)$' "tlsrelay -t -u _tlsrelay, as root: OK"

# ------------------------------------------- one delivery through them all
tap_expect 6	# through Postfix 4, tlsrelay-probe 2
RPORT=$(free_port) && HPORT=$(free_port) || tap_bail "no free port"
mkdir -p "$T/trspool" && chown nobody "$T/trspool" && chmod 0700 "$T/trspool"
chmod 0755 "$T"
cat > "$T/tlsrelay.conf" <<EOF
relayhost = [127.0.0.1]:$RPORT
tls_security_level = verify
tls_ca_file = $CERTS/ca.pem
helo_name = host.tlsrelay.test
deadline = 60s
spool_directory = $T/trspool
syslog = no
EOF
chmod 0644 "$T/tlsrelay.conf"
receiver_new receiver "$RPORT" may || tap_bail "receiver_new failed"
RECV=$PF_DIR
host_new host "$HPORT" /usr/sbin/tlsrelay "$T/tlsrelay.conf" || tap_bail "host_new failed"
HOST=$PF_DIR
pf_start "$RECV" || tap_bail "receiver Postfix did not start"
pf_start "$HOST" || tap_bail "host Postfix did not start"
wait_port 127.0.0.1 "$RPORT" 15 && wait_port 127.0.0.1 "$HPORT" 15 || tap_bail "Postfix not listening"
printf 'Subject: package test %s\n\nDelivered by the packaged tlsrelay.\n' "$$" > "$T/msg.eml"
swaks_send "$HPORT" sender@sender.test user@example.test "$T/msg.eml"
tap_status $? "swaks handed the message to the host Postfix" "$SWAKS_OUT"
line=$(pf_log_wait "$HOST" "$SENT_QID: to=<user@example.test>, relay=tlsrelay.*status=(sent|deferred|bounced)" 60)
tap_like "$line" 'status=sent' "the installed tlsrelay delivered it (host log)"
file=$(receiver_wait_mail "$RECV" user "package test $$" 30)
tap_status $? "the receiver stored it"
tap_like "$(mail_header "$file" Received)" 'TLSv1\.[23]' "it arrived over TLS"

OUT=$(timeout 60 /usr/sbin/tlsrelay-probe -c "$T/tlsrelay.conf" "[localhost]:$RPORT" 2>&1)
tap_status $? "installed tlsrelay-probe: exit 0" "$OUT"
tap_like "$OUT" "would be delivered: Verified TLS to localhost" "installed tlsrelay-probe: Verified TLS"

# --------------------- the installed tlsrelayd and tlsrelayc deliver one
# The daemon as an admin starts it by hand (the unit's options): as root
# with -u, its socket in a directory of this test; tlsrelayc run as the
# daemon's user, as the pipe's user=_tlsrelay would.
# (the socket's directory belongs to the daemon's user, as the unit's
# RuntimeDirectory does: it removes the socket after it dropped root)
tap_expect 11
mkdir -p "$T/run" "$T/dspool" && chown _tlsrelay "$T/run" "$T/dspool" && chmod 0700 "$T/dspool"
sed "s|^spool_directory = .*|spool_directory = $T/dspool|" "$T/tlsrelay.conf" > "$T/tlsrelayd.conf"
chmod 0644 "$T/tlsrelayd.conf"
SOCK=$T/run/tlsrelayd.sock
start_bg tlsrelayd /usr/sbin/tlsrelayd -u _tlsrelay -c "$T/tlsrelayd.conf" -s "$SOCK" -v
DPID=$BG_PID
wait_until 15 test -S "$SOCK"
tap_status $? "the installed tlsrelayd listens on its socket" "$(cat "$T/tlsrelayd.out")"
tap_like "$(stat -c '%U %a' "$SOCK")" '^_tlsrelay 660$' "the socket belongs to _tlsrelay, mode 0660"
printf 'Subject: daemon test %s\n\nDelivered by the packaged tlsrelayd.\n' "$$" > "$T/msgd.eml"
OUT=$(runuser -u _tlsrelay -- timeout 60 /usr/sbin/tlsrelayc -S "$SOCK" -c "$T/tlsrelayd.conf" \
	-f sender@sender.test -- user@example.test < "$T/msgd.eml" 2>&1)
tap_status $? "the installed tlsrelayc: exit 0" "$OUT"
# a delivery process of the daemon, idle now (-i 60), served it
children=""
for p in /proc/[0-9]*; do [ "$(_lib_ppid "${p#/proc/}")" = "$DPID" ] && children="$children ${p#/proc/}"; done
tap_status "$(test -n "$children"; echo $?)" "tlsrelayd forked a delivery process for it" \
	"$(cat "$T/tlsrelayd.out")"
file=$(receiver_wait_mail "$RECV" user "daemon test $$" 30)
tap_status $? "the receiver stored the message tlsrelayd delivered"
tap_like "$(mail_header "$file" Received)" 'TLSv1\.[23]' "it arrived over TLS"
kill -TERM "$DPID"
wait_until 30 eval "! kill -0 $DPID 2>/dev/null"
tap_status $? "tlsrelayd stops on SIGTERM" "$(cat "$T/tlsrelayd.out")"
tap_status "$(test ! -e "$SOCK"; echo $?)" "it removed its socket"
tap_like "$(cat "$T/tlsrelayd.out")" 'tlsrelayd: stopped' "it logged that it stopped"
# the daemon gone: tlsrelayc runs the installed tlsrelay itself
printf 'Subject: fallback test %s\n\nDelivered by tlsrelay beside tlsrelayc.\n' "$$" > "$T/msgf.eml"
OUT=$(runuser -u _tlsrelay -- timeout 60 /usr/sbin/tlsrelayc -S "$SOCK" -c "$T/tlsrelayd.conf" \
	-f sender@sender.test -- user@example.test < "$T/msgf.eml" 2>&1)
tap_status $? "without the daemon the installed tlsrelayc delivers in its own process: exit 0" "$OUT"
receiver_wait_mail "$RECV" user "fallback test $$" 30 > /dev/null
tap_status $? "the receiver stored the fallback's message"

tap_expect 3
debs_purge
tap_status "$(test ! -e /usr/sbin/tlsrelay; echo $?)" "dpkg --purge removes /usr/sbin/tlsrelay"
tap_status "$(test ! -e /usr/sbin/tlsrelayd && test ! -e /lib/systemd/system/tlsrelayd.service && test ! -e /etc/default/tlsrelayd; echo $?)" \
	"dpkg --purge removes tlsrelayd, its unit and /etc/default/tlsrelayd"
tap_status "$(test ! -e /var/lib/tlsrelay; echo $?)" "dpkg --purge removes /var/lib/tlsrelay"
tap_done

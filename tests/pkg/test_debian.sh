#!/bin/bash
# tests/pkg/test_debian.sh - the Debian packages: build them from a copy of
# the source tree with "dpkg-buildpackage -us -uc -b", check them with
# lintian (no errors), install them with dpkg, deliver one message through
# the INSTALLED /usr/sbin/tlsrelay (swaks -> private Postfix -> pipe(8) ->
# tlsrelay -> private Postfix with STARTTLS), run the installed
# tlsrelay-probe and tlsrelay -t, then purge the packages.
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

# ------------------------------------------------------------------ build
debs_lock
debs_build
tap_ok "$DEBS_RC" "dpkg-buildpackage -us -uc -b" "$(tail -n 30 "$DEBS_LOG")"
ls "$DEBS_DIR"/*.deb 2>/dev/null | grep -v -- '-dbgsym_' > "$T/debs"
for p in libtlsrelay0 libtlsrelay-dev tlsrelay tlsrelay-milter tlsrelay-exim; do
	tap_ok "$(grep -q "/${p}_[^/]*\\.deb$" "$T/debs"; echo $?)" "package $p built"
done
[ -s "$T/debs" ] || tap_bail "no package built"

lintian --fail-on error --no-tag-display-limit "$DEBS_DIR"/*.changes > "$T/lintian.out" 2>&1
tap_ok $? "lintian: no errors" "$(cat "$T/lintian.out")"
tap_diag "lintian: $(grep -c '^W:' "$T/lintian.out") warnings"

# ---------------------------------------------------------------- install
at_exit debs_purge
# shellcheck disable=SC2046
DEBIAN_FRONTEND=noninteractive dpkg -i $(cat "$T/debs") > "$T/install.log" 2>&1
tap_ok $? "dpkg -i of the built packages" "$(tail -n 30 "$T/install.log")"
tap_ok "$(test -x /usr/sbin/tlsrelay && test -x /usr/sbin/tlsrelay-probe; echo $?)" "installed: /usr/sbin/tlsrelay and tlsrelay-probe"
tap_ok "$(test -f /etc/tlsrelay/tlsrelay.conf; echo $?)" "installed: /etc/tlsrelay/tlsrelay.conf (a conffile)"
tap_like "$(dpkg-query -W -f='${Conffiles}' tlsrelay)" '/etc/tlsrelay/tlsrelay\.conf' "tlsrelay.conf is a conffile"
tap_ok "$(test -x /usr/sbin/tlsrelay-sts; echo $?)" "installed: /usr/sbin/tlsrelay-sts"
tap_ok "$(test -x /usr/sbin/tlsrelay-milter; echo $?)" "installed: /usr/sbin/tlsrelay-milter"
tap_ok "$(test -f /lib/systemd/system/tlsrelay-milter.service; echo $?)" "installed: the milter's systemd unit"
tap_ok "$(test -f /etc/default/tlsrelay-milter; echo $?)" "installed: /etc/default/tlsrelay-milter"
OUT=$(/usr/sbin/tlsrelay-milter -t -r /etc/tlsrelay/milter_rules 2>&1)
tap_ok $? "installed tlsrelay-milter -t accepts the shipped rules file" "$OUT"
tap_like "$(dpkg-query -L tlsrelay-exim)" '/tlsrelay/tlsrelay_exim\.so$' "installed: the Exim dlfunc object"
tap_like "$(dpkg-query -L tlsrelay)" '/usr/share/doc/tlsrelay/exim/transport_tlsrelay\.conf' "installed: the Exim snippets"
tap_like "$(dpkg-query -L libtlsrelay-dev)" '/tlsrelay\.pc$' "installed: tlsrelay.pc"
tap_ok "$(pkg-config --exists tlsrelay; echo $?)" "pkg-config finds the installed library"
OUT=$(/usr/sbin/tlsrelay -t 2>&1)
tap_ok $? "installed tlsrelay -t: the shipped /etc/tlsrelay.conf is clean" "$OUT"

# ------------------------------------------- one delivery through them all
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
tap_ok $? "swaks handed the message to the host Postfix" "$SWAKS_OUT"
line=$(pf_log_wait "$HOST" "$SENT_QID: to=<user@example.test>, relay=tlsrelay.*status=(sent|deferred|bounced)" 60)
tap_like "$line" 'status=sent' "the installed tlsrelay delivered it (host log)"
file=$(receiver_wait_mail "$RECV" user "package test $$" 30)
tap_ok $? "the receiver stored it"
tap_like "$(mail_header "$file" Received)" 'TLSv1\.[23]' "it arrived over TLS"

OUT=$(timeout 60 /usr/sbin/tlsrelay-probe -c "$T/tlsrelay.conf" "[localhost]:$RPORT" 2>&1)
tap_ok $? "installed tlsrelay-probe: exit 0" "$OUT"
tap_like "$OUT" "would be delivered: Verified TLS to localhost" "installed tlsrelay-probe: Verified TLS"

debs_purge
tap_ok "$(test ! -e /usr/sbin/tlsrelay; echo $?)" "dpkg --purge removes /usr/sbin/tlsrelay"
tap_done

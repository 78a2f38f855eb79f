#!/bin/bash
# tests/docs/test_paths.sh - the man pages, samples and snippets that
# "make install" puts in place name the paths of the build, not those of a
# default "./configure" (issue 19: the Debian packages' man pages said
# /usr/local twelve times in tlsrelay.conf(5)).
#
# "make install-data" into a private DESTDIR with Debian's paths (prefix
# /usr, sysconfdir /etc/tlsrelay, the multiarch libdir), as dh_auto_install
# does; then:
#   - no installed man page, sample (docdir/examples) or snippet
#     (pkgdatadir/exim, pkgdatadir/sendmail) holds "/usr/local";
#   - they name the build's paths instead: tlsrelay.conf(5) the
#     configuration file, the Exim snippet the program, the sendmail mailer
#     the program, tlsrelay-exim(3) the shared object;
#   - the snippets are installed in pkgdatadir (/usr/share/tlsrelay), not
#     under docdir, which Debian policy lets a system leave out.
# No root, no network (tests/pkg/test_debian.sh checks the built packages
# the same way when it runs).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
: "${top_builddir:?top_builddir unset (run from make check)}"
[ -f "$top_builddir/Makefile" ] || tap_skip_all "no configured build tree at $top_builddir"
require_cmd make grep

installed=(man/man8/tlsrelay.8 man/man5/tlsrelay.conf.5 man/man8/tlsrelay-probe.8
	man/man8/tlsrelay-sts.8 man/man8/tlsrelayd.8 man/man8/tlsrelay-report.8
	doc/tlsrelay/examples/tlsrelay.conf
	doc/tlsrelay/examples/sasl_passwd doc/tlsrelay/examples/tls_policy
	doc/tlsrelay/examples/postfix/master.cf.snippet tlsrelay/exim/transport_tlsrelay.conf
	tlsrelay/exim/router_tlsrelay.conf tlsrelay/sendmail/tlsrelay.m4)
tap_plan $((2 + ${#installed[@]} + 11))	# install, files; one a file; /usr/local, 9 paths, docdir

make_tmpdir
T=$TEST_TMP
D=$T/inst
LIBDIR=/usr/lib/x86_64-linux-gnu
# a make of its own: not the jobserver of the make that runs this test
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top_builddir" install-data DESTDIR="$D" \
	prefix=/usr sysconfdir=/etc/tlsrelay libdir="$LIBDIR" > "$T/install.log" 2>&1
tap_status $? "make install-data with Debian's paths" "$(tail -n 20 "$T/install.log")"

files=$(find "$D/usr/share/man" "$D/usr/share/doc/tlsrelay/examples" "$D/usr/share/tlsrelay" \
	-type f 2>/dev/null | sort)
tap_status "$(test -n "$files"; echo $?)" "man pages, samples and snippets were installed"
for want in "${installed[@]}"; do
	tap_status "$(test -f "$D/usr/share/$want"; echo $?)" "installed: /usr/share/$want"
done
left=$(grep -l /usr/local $files 2>/dev/null | sed "s|^$D||")
tap_is "$left" "" "no installed man page, sample or snippet names /usr/local" \
	"$(grep -n /usr/local $files 2>/dev/null | sed "s|^$D||" | head -n 20)"
tap_like "$(cat "$D/usr/share/man/man5/tlsrelay.conf.5")" '^\.I /etc/tlsrelay/tlsrelay\.conf$' \
	"tlsrelay.conf(5) names /etc/tlsrelay/tlsrelay.conf"
tap_like "$(cat "$D/usr/share/man/man8/tlsrelay-report.8")" '^\.IR? /etc/tlsrelay/tlsrelay\.conf( |$)' \
	"tlsrelay-report(8) names /etc/tlsrelay/tlsrelay.conf"
tap_like "$(cat "$D/usr/share/doc/tlsrelay/examples/tlsrelay.conf")" '^tls_history = /var/lib/tlsrelay/history\.db$' \
	"the sample keeps its TLS history in /var/lib/tlsrelay (the rewriting leaves it)"
tap_like "$(cat "$D/usr/share/man/man8/tlsrelay.8")" 'argv=/usr/sbin/tlsrelay' \
	"tlsrelay(8)'s master.cf example runs /usr/sbin/tlsrelay"
tap_like "$(cat "$D/usr/share/tlsrelay/exim/transport_tlsrelay.conf")" '^TLSRELAY_PROGRAM = /usr/sbin/tlsrelay$' \
	"the Exim snippet's default program is /usr/sbin/tlsrelay"
tap_like "$(cat "$D/usr/share/tlsrelay/exim/transport_tlsrelay.conf")" '^TLSRELAY_CONFIG = /etc/tlsrelay/tlsrelay\.conf$' \
	"the Exim snippet's default configuration is /etc/tlsrelay/tlsrelay.conf"
tap_like "$(cat "$D/usr/share/tlsrelay/sendmail/tlsrelay.m4")" "define\\(\`TLSRELAY_PATH', \`/usr/sbin/tlsrelay'\\)" \
	"the sendmail mailer's default program is /usr/sbin/tlsrelay"
tap_like "$(cat "$D/usr/share/man/man3/tlsrelay-exim.3" 2>/dev/null || echo none)" "$LIBDIR/tlsrelay/tlsrelay_exim\\.so" \
	"tlsrelay-exim(3) names the shared object in the build's libdir"
tap_like "$(cat "$D/usr/share/doc/tlsrelay/examples/postfix/master.cf.snippet")" \
	'user=_tlsrelay argv=/usr/sbin/tlsrelay -c /etc/tlsrelay/tlsrelay\.conf ' "the master.cf sample: _tlsrelay, the build's paths"
tap_unlike "$(find "$D/usr/share/doc" -path '*exim*' -o -name '*.m4' 2>/dev/null)" . \
	"no snippet under /usr/share/doc"
tap_done

#!/bin/bash
# tests/docs/test_readme.sh - README.md against the tree (no root, no network):
# - the Exim quick start block (<!-- quickstart:exim -->) includes the
#   snippet files the tlsrelay package ships, by the path where it installs
#   them (debian/tlsrelay.install: usr/share/tlsrelay/exim, from make
#   install's $(pkgdatadir)/exim: not under /usr/share/doc, which Debian
#   policy lets a system leave out), sets only macros those files use, and
#   runs the pipe as the user the package makes (_tlsrelay); every
#   .include'd file exists in conf/exim/ and tests/exim/test_exim.sh runs
#   the same files unchanged;
# - with an Exim (EXIM from configure, as root): the block, split into the
#   main, router and transport sections as Debian's split configuration
#   does, with the package's snippet path pointing at conf/exim/, passes
#   "exim -bV", and "exim -bt" routes a remote address to router and
#   transport tlsrelay;
# - the Postfix quick start's master.cf line names the paths the package
#   installs (debian/tlsrelay.install) and the quick start has its blocks;
# - the tlsrelayd block (<!-- quickstart:tlsrelayd -->) installs the package
#   that ships tlsrelayc, runs it with the Postfix quick start's arguments
#   as the user the package creates and its unit runs as, and names the
#   socket the unit makes;
# - the two commands at the top exist and are executable;
# - the troubleshooting page exists and README and tlsrelay(8) link it.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
require_cmd python3

R=$top_srcdir/README.md
blocks() { python3 "$top_srcdir/tests/docs/readme_blocks.py" "$R" "$1"; }

# Each section declares its checks (tap_expect) before it makes them; a
# loop over what README lists declares one (or three) a listed item.

# ------------------------------------------------------------------ Exim
tap_expect 4
EXIM_BLOCK=$(blocks exim)
tap_status $? "README has a block marked quickstart:exim"
grep -qx 'usr/share/tlsrelay/exim' "$top_srcdir/debian/tlsrelay.install"
tap_status $? "debian/tlsrelay.install ships /usr/share/tlsrelay/exim/"
grep -q '^eximconfdir = $(pkgdatadir)/exim$' "$top_srcdir/mk/programs.mk"
tap_status $? "make install puts conf/exim in \$(pkgdatadir)/exim (never compressed, never left out)"
incs=$(printf '%s\n' "$EXIM_BLOCK" | sed -n 's/^\.include[ \t]\{1,\}//p')
tap_status "$(test -n "$incs"; echo $?)" "the Exim block .includes the snippet files"
tap_expect $((3 * $(printf '%s\n' $incs | grep -c .)))	# package path, in conf/exim, in tests/exim
for inc in $incs; do
	case $inc in
	/usr/share/tlsrelay/exim/*) tap_ok 1 "$inc: the package's path" ;;
	*) tap_ok 0 "$inc: the package's path" "expected /usr/share/tlsrelay/exim/FILE" ;;
	esac
	base=${inc##*/}
	tap_status "$(test -f "$top_srcdir/conf/exim/$base"; echo $?)" "$base is a file of conf/exim/"
	grep -qx "\\.include \\\$top_srcdir/conf/exim/$base" "$top_srcdir"/tests/exim/*.sh
	tap_status $? "tests/exim .includes $base unchanged"
done
macros=$(printf '%s\n' "$EXIM_BLOCK" | sed -n 's/^\([A-Z][A-Z0-9_]*\)[ \t]*=.*/\1/p')
tap_expect $((1 + $(printf '%s\n' $macros | grep -c .) + 3))	# macros set, one a macro, 3 values
tap_status "$(test -n "$macros"; echo $?)" "the Exim block sets the path macros"
for m in $macros; do
	used=no
	for inc in $incs; do
		grep -q "^\\.ifndef $m\$" "$top_srcdir/conf/exim/${inc##*/}" && used=yes
	done
	tap_is "$used" yes "macro $m is one the included files take"
done
want_prog=$(sed -n 's#^usr/sbin/tlsrelay$#/usr/sbin/tlsrelay#p' "$top_srcdir/debian/tlsrelay.install")
tap_like "$EXIM_BLOCK" "^TLSRELAY_PROGRAM = $want_prog\$" "TLSRELAY_PROGRAM is the packaged $want_prog"
tap_like "$EXIM_BLOCK" '^TLSRELAY_CONFIG = /etc/tlsrelay/tlsrelay\.conf$' "TLSRELAY_CONFIG is the packaged /etc/tlsrelay/tlsrelay.conf"
tap_like "$EXIM_BLOCK" '^TLSRELAY_USER = _tlsrelay$' "TLSRELAY_USER is the user that runs deliveries, _tlsrelay"

# Exim reads the block (split as update-exim4.conf would put the files)
exim_checks() {	# 3 checks
	local main routers transports out
	tap_expect 3
	. "$top_srcdir/tests/exim/exim.sh"
	EXIM_UID=$(id -u Debian-exim) EXIM_GID=$(id -g Debian-exim)
	make_tmpdir
	exim_new readme 25 || return 1
	section() {	# the lines of the block under "# /etc/exim4/conf.d/$1/..."
		printf '%s\n' "$EXIM_BLOCK" | awk -v want="$1" '
			/^# \/etc\/exim4\/conf\.d\// { split($2, p, "/"); cur = p[5]; next }
			cur == want && $0 != "----"' | sed -e "s#/usr/share/tlsrelay/exim/#$top_srcdir/conf/exim/#" \
			-e 's#^TLSRELAY_USER = .*#TLSRELAY_USER = Debian-exim#' 
	}
	main=$(section main) routers=$(section router) transports=$(section transport)
	tap_status "$(test -n "$main" && test -n "$routers" && test -n "$transports"; echo $?)" \
		"the Exim block has main, router and transport parts"
	printf '%s\n\nbegin acl\nacl_check_rcpt:\n  accept\n\nbegin routers\n%s\n\nbegin transports\n%s\n' \
		"$main" "$routers" "$transports" >> "$EX_CONF"
	out=$(exim_cmd "$EX_DIR" -bV 2>&1)
	tap_status $? "exim -bV accepts the README's Exim configuration" "$out"
	out=$(exim_cmd "$EX_DIR" -bt someone@example.net 2>&1)
	tap_like "$out" 'router = tlsrelay, transport = tlsrelay' "exim -bt: remote mail goes to router and transport tlsrelay" 
}
if [ -n "${EXIM:-}" ] && [ -x "$EXIM" ] && [ "$(id -u)" = 0 ] && getent passwd Debian-exim >/dev/null; then
	exim_checks
else
	tap_expect 1
	tap_skip "exim -bV / -bt of the README's Exim block" "no Exim here (EXIM from configure, root, user Debian-exim)"
fi

# ---------------------------------------------------------------- Postfix
tap_expect 11
PF=$(blocks postfix)
tap_status $? "README has blocks marked quickstart:postfix"
tap_like "$PF" 'argv=/usr/sbin/tlsrelay -c /etc/tlsrelay/tlsrelay\.conf -Q \$\{queue_id\} -f \$\{sender\} -- \$\{recipient\}' \
	"the master.cf line runs the packaged tlsrelay with the packaged config"
grep -qx 'usr/share/doc/tlsrelay/examples/tlsrelay.conf etc/tlsrelay/' "$top_srcdir/debian/tlsrelay.install"
tap_status $? "the package installs /etc/tlsrelay/tlsrelay.conf (the installed sample, with the package's paths)"
grep -q -- '--sysconfdir=/etc/tlsrelay ' "$top_srcdir/debian/rules"
tap_status $? "the packaged tlsrelay reads /etc/tlsrelay/tlsrelay.conf by default (sysconfdir)"
tap_like "$PF" 'tlsrelay_destination_recipient_limit = 1' "the quick start sets the recipient limit 1"
tap_like "$PF" '^runuser -u _tlsrelay -- tlsrelay-probe ' "the quick start runs tlsrelay-probe as the pipe user"
tap_like "$PF" '^tlsrelay -t -u _tlsrelay$' "the quick start checks with the pipe user's rights (tlsrelay -t -u)"
tap_like "$PF" ' user=_tlsrelay argv=' "the pipe runs as _tlsrelay, the user the tlsrelay package makes"
tap_like "$(cat "$top_srcdir/debian/tlsrelay.sysusers")" '^u _tlsrelay ' "the tlsrelay package makes the user _tlsrelay"
tap_unlike "$(cat "$R")" '(chown|install -d -o|runuser -u|user=) ?nobody' "README never gives a file to nobody or runs tlsrelay as nobody"
tap_like "$PF" 'tls_security_level = verify' "the quick start's smarthost is checked (verify)"

# --------------------------------------------------------------- sendmail
tap_expect 7
SM=$(blocks sendmail)
tap_status $? "README has a block marked quickstart:sendmail"
grep -qx 'usr/share/tlsrelay/sendmail' "$top_srcdir/debian/tlsrelay.install"
tap_status $? "debian/tlsrelay.install ships /usr/share/tlsrelay/sendmail/"
grep -q '^dist_sendmailconf_DATA = conf/sendmail/tlsrelay.m4$' "$top_srcdir/mk/programs.mk" &&
	grep -q '^sendmailconfdir = $(pkgdatadir)/sendmail$' "$top_srcdir/mk/programs.mk"
tap_status $? "make install puts conf/sendmail/tlsrelay.m4 in \$(pkgdatadir)/sendmail"
inc=$(printf '%s\n' "$SM" | sed -n "s/^include(\`\([^']*\)')dnl\$/\1/p")
tap_is "$inc" /usr/share/tlsrelay/sendmail/tlsrelay.m4 "the sendmail block includes the packaged tlsrelay.m4"
tap_status "$(test -f "$top_srcdir/conf/sendmail/${inc##*/}"; echo $?)" "${inc##*/} is a file of conf/sendmail/"
grep -q "^include(.*/conf/sendmail/tlsrelay.m4')dnl\$" "$top_srcdir/tests/sendmail/test_sendmail.sh"
tap_status $? "tests/sendmail includes the same tlsrelay.m4 unchanged"
sm_macros=$(printf '%s\n' "$SM" | sed -n "s/^define(\`\([A-Z_]*\)'.*/\1/p")
tap_expect "$(printf '%s\n' $sm_macros | grep -c .)"
for m in $sm_macros; do
	grep -q "ifdef(\`$m'" "$top_srcdir/conf/sendmail/tlsrelay.m4"
	tap_status $? "macro $m is one tlsrelay.m4 takes"
done
tap_like "$SM" "^define\(\`TLSRELAY_ARGS', \`-c /etc/tlsrelay/tlsrelay\.conf'\)dnl\$" \
	"TLSRELAY_ARGS names the packaged configuration"

# -------------------------------------------------------------- tlsrelayd
tap_expect 13
TD=$(blocks tlsrelayd)
tap_status $? "README has a block marked quickstart:tlsrelayd"
tap_like "$TD" '^apt install \./tlsrelayd_\*\.deb$' "the tlsrelayd block installs the tlsrelayd package"
grep -qx 'Package: tlsrelayd' "$top_srcdir/debian/control"
tap_status $? "debian/control builds a package tlsrelayd"
grep -qx 'usr/sbin/tlsrelayc' "$top_srcdir/debian/tlsrelayd.install"
tap_status $? "the tlsrelayd package ships /usr/sbin/tlsrelayc"
pf_args=$(printf '%s\n' "$PF" | sed -n 's#.*argv=/usr/sbin/tlsrelay \(.*\)$#\1#p')
tap_status "$(test -n "$pf_args"; echo $?)" "the Postfix quick start's arguments of tlsrelay ($pf_args)"
td_args=$(printf '%s\n' "$TD" | sed -n "s#.*argv=/usr/sbin/tlsrelayc \(.*\)'\$#\1#p")
tap_is "$td_args" "$pf_args" "tlsrelayc gets the same arguments as tlsrelay in the Postfix quick start"
tap_like "$TD" 'user=_tlsrelay argv=' "the pipe runs tlsrelayc as the daemon's user"
UNIT=$(cat "$top_srcdir/conf/tlsrelayd/tlsrelayd.service")
tap_like "$UNIT" '^User=_tlsrelay$' "the unit runs tlsrelayd as _tlsrelay"
tap_like "$UNIT" '^RuntimeDirectory=tlsrelay$' "the unit makes /run/tlsrelay"
tap_like "$UNIT" '^ExecStart=.* -s /run/tlsrelay/tlsrelayd\.sock ' "the unit's socket is /run/tlsrelay/tlsrelayd.sock"
tap_like "$(cat "$R")" '`/run/tlsrelay/tlsrelayd\.sock`' "README names that socket"
tap_like "$UNIT" '^KillMode=mixed$' "SIGTERM goes to the daemon alone (it waits for its deliveries)"
tap_unlike "$TD" 'chown' "the daemon's user is the one that ran deliveries already: nothing changes owner"

# ------------------------------------------------------------ the top
top_cmds=(demo test)
tap_expect $((2 * ${#top_cmds[@]}))
for c in "${top_cmds[@]}"; do
	tap_like "$(sed -n '1,30p' "$R")" "^    \\./scripts/$c\$" "README shows ./scripts/$c near the top"
	tap_status "$(test -x "$top_srcdir/scripts/$c"; echo $?)" "scripts/$c is executable"
done

# ----------------------------------------------------------- links
tap_expect 3
tap_status "$(test -f "$top_srcdir/doc/TROUBLESHOOTING.md"; echo $?)" "doc/TROUBLESHOOTING.md exists"
tap_like "$(cat "$R")" '\(doc/TROUBLESHOOTING\.md\)' "README links doc/TROUBLESHOOTING.md"
tap_like "$(cat "$top_srcdir/doc/tlsrelay.8")" 'TROUBLESHOOTING\.md' "tlsrelay(8) points to TROUBLESHOOTING.md"
tap_done

# scripts/prepare.d/milter.sh - an unpacked sendmail 8 from Debian's
# packages, for tests/sendmail/test_sendmail.sh (sourced by tr_prepare, bash).
#
# Debian's sendmail packages conflict with postfix, which the other tests
# need, so sendmail is not installed: sendmail-bin (the binary), sendmail-cf
# (the m4 configuration kit) and libwrap0 (its one library that Debian 12
# does not already have) are downloaded (apt-get download) and unpacked
# (dpkg-deb -x) into a cache directory:
#
#   TR_SENDMAIL_DIR  default /var/cache/tlsrelay-test/sendmail (root only:
#                    the test needs root anyway)
#     root/usr/libexec/sendmail/sendmail   the MTA (set-group-ID bit removed,
#                                          so LD_LIBRARY_PATH is honoured)
#     root/usr/libexec/sendmail/makemap
#     root/usr/share/sendmail/cf/          cf.m4 and friends
#     root/usr/lib/x86_64-linux-gnu/       libwrap.so.0
#     stamp                                the packages unpacked
#
# Idempotent; quick when done (one stat of the stamp). sendmail is optional
# for the build: any failure prints one line and returns 0, and the test
# then says why it skips.

_tr_sendmail_prepare() {
	local dir=${TR_SENDMAIL_DIR:-/var/cache/tlsrelay-test/sendmail}
	local pkgs="sendmail-bin sendmail-cf libwrap0" tmp f
	[ "$(id -u)" = 0 ] || return 0
	[ -s "$dir/stamp" ] && [ -x "$dir/root/usr/libexec/sendmail/sendmail" ] &&
		[ -f "$dir/root/usr/share/sendmail/cf/m4/cf.m4" ] && return 0
	command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 ||
		{ echo "prepare sendmail: no apt-get/dpkg-deb: the sendmail test will skip"; return 0; }
	mkdir -p "$dir" || { echo "prepare sendmail: cannot create $dir"; return 0; }
	tmp=$(mktemp -d "$dir/.new.XXXXXX") || return 0
	chmod 0755 "$tmp"
	# shellcheck disable=SC2086
	if ! (cd "$tmp" && apt-get download -q $pkgs) > "$tmp/download.out" 2>&1; then
		echo "prepare sendmail: apt-get download $pkgs failed: the sendmail test will skip"
		sed 's/^/    /' "$tmp/download.out" | tail -n 5
		rm -rf "$tmp"
		return 0
	fi
	mkdir -p "$tmp/root"
	for f in "$tmp"/*.deb; do
		dpkg-deb -x "$f" "$tmp/root" || { echo "prepare sendmail: dpkg-deb -x $f failed"; rm -rf "$tmp"; return 0; }
	done
	chmod g-s "$tmp/root/usr/libexec/sendmail/"* 2>/dev/null
	(cd "$tmp" && ls ./*.deb | sed 's|^\./||') > "$tmp/root.stamp"
	rm -rf "$dir/root" && mv "$tmp/root" "$dir/root" && mv "$tmp/root.stamp" "$dir/stamp"
	rm -rf "$tmp"
	echo "prepare sendmail: unpacked $(tr '\n' ' ' < "$dir/stamp")into $dir"
	return 0
}
_tr_sendmail_prepare

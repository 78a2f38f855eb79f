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

# shellcheck source=scripts/prepare.d/unpack.inc
. "${BASH_SOURCE[0]%/*}/unpack.inc"

_tr_sendmail_prepare() {
	local dir=${TR_SENDMAIL_DIR:-/var/cache/tlsrelay-test/sendmail}
	local pkgs="sendmail-bin sendmail-cf libwrap0"
	[ "$(id -u)" = 0 ] || return 0
	[ -s "$dir/stamp" ] && [ -x "$dir/root/usr/libexec/sendmail/sendmail" ] &&
		[ -f "$dir/root/usr/share/sendmail/cf/m4/cf.m4" ] && return 0
	# shellcheck disable=SC2086 # pkgs: a list
	tr_unpack_debs sendmail "$dir" "the sendmail test will skip" $pkgs || return 0
	chmod g-s "$dir/root/usr/libexec/sendmail/"* 2>/dev/null
	return 0
}
_tr_sendmail_prepare

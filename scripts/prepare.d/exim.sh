# scripts/prepare.d/exim.sh - an unpacked Exim 4 from Debian's packages, for
# the Exim tests and the Exim shared object (sourced by tr_prepare, bash).
#
# Debian's exim4 packages conflict with postfix, which the other tests need,
# so Exim is not installed: its packages are downloaded (apt-get download)
# and unpacked (dpkg-deb -x) into a cache directory:
#
#   TR_EXIM_DIR   default /var/cache/tlsrelay-test/exim as root, else
#                 $TR_BUILD/.exim (header only: a non-root user cannot run
#                 Exim's tests anyway)
#     root/usr/sbin/exim4            the daemon (exim4-daemon-heavy: dlfunc)
#     root/usr/include/exim4/        local_scan.h (exim4-dev)
#     stamp                          the package versions unpacked
#
# Its library dependencies come from scripts/packages.d/exim.list (apt).
# As root it also creates the system user Debian-exim, compiled into
# Debian's binary as its Exim user.
#
# Appends to TR_CONFIGURE_FLAGS: --with-exim-include=DIR and EXIM=BINARY
# (configure passes EXIM to the tests). Idempotent; quick when done (one
# stat of the stamp). Exim is optional: any failure prints one line and
# returns 0, and the Exim parts of the build and tests are then skipped.

# shellcheck source=scripts/prepare.d/unpack.inc
. "${BASH_SOURCE[0]%/*}/unpack.inc"

_tr_exim_prepare() {
	local dir=${TR_EXIM_DIR:-} pkgs="exim4-daemon-heavy exim4-base exim4-dev"
	if [ -z "$dir" ]; then
		if [ "$(id -u)" = 0 ]; then dir=/var/cache/tlsrelay-test/exim
		else dir=${TR_BUILD:-$TR_ROOT/_build}/.exim; fi
	fi
	if [ ! -s "$dir/stamp" ] || [ ! -x "$dir/root/usr/sbin/exim4" ] ||
	   [ ! -f "$dir/root/usr/include/exim4/local_scan.h" ]; then
		# shellcheck disable=SC2086 # pkgs: a list
		tr_unpack_debs exim "$dir" "Exim parts skipped" $pkgs || return 0
	fi
	if [ "$(id -u)" = 0 ] && ! getent passwd Debian-exim >/dev/null 2>&1; then
		useradd -r -M -d /nonexistent -s /usr/sbin/nologin -U Debian-exim 2>/dev/null ||
			echo "prepare exim: useradd Debian-exim failed: the Exim daemon tests will skip"
	fi
	case " ${TR_CONFIGURE_FLAGS:-} " in
	*" --with-exim-include="*) ;;
	*) TR_CONFIGURE_FLAGS="${TR_CONFIGURE_FLAGS:+$TR_CONFIGURE_FLAGS }--with-exim-include=$dir/root/usr/include/exim4 EXIM=$dir/root/usr/sbin/exim4" ;;
	esac
	export TR_CONFIGURE_FLAGS
	return 0
}
_tr_exim_prepare
unset -f _tr_exim_prepare

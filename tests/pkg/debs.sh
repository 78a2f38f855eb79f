#!/bin/bash
# tests/pkg/debs.sh - the Debian packages built from this tree, shared by the
# tests that install them (tests/pkg/test_debian.sh,
# tests/docs/test_quickstart.sh). Sourced after tests/lib.sh.
#
#   debs_gate        skip the test unless CI=true or TR_TEST_PACKAGES=yes,
#                    as root, with no tlsrelay package installed already
#                    (checked under the lock below, so that another package
#                    test's own install is waited for, not a reason to skip)
#   debs_lock        serialise the tests that install and purge the
#                    packages, and every other test that changes the
#                    machine (tests/lib.sh system_lock: one lock for the
#                    machine, not per build tree: dpkg is the machine's)
#   debs_build       build once per source state: copy the tree, hash the
#                    copy, and reuse $top_builddir/tests/pkg/debs.HASH/ if a
#                    build of the same sources succeeded there. Sets
#                    DEBS_DIR (the .deb and .changes files), DEBS_LOG, and
#                    DEBS_RC (dpkg-buildpackage's exit status, 0 when reused)
#   debs_purge       dpkg --purge every tlsrelay package and its -dbgsym
#                    (test_debian.sh installs every .deb built; ignores errors)
#
# TR_DEBS_DIR=DIR uses the .deb files in DIR instead of building (a build
# made by hand, or by CI in an earlier step).

DEBS_PACKAGES="tlsrelay tlsrelayd tlsrelay-milter tlsrelay-exim"

debs_gate() {
	# The packages are built by dpkg-buildpackage with Debian's flags, the
	# same in both runs of scripts/test: the sanitizer run tests memory,
	# not packaging, so it leaves them to the normal run.
	[ -n "${ASAN_OPTIONS:-}${UBSAN_OPTIONS:-}" ] &&
		tap_skip_all "package tests run in the normal build only (sanitizer run)"
	case "${TR_TEST_PACKAGES:-}:${CI:-}" in
	yes:*|*:true) ;;
	*) tap_skip_all "installs packages system-wide: set TR_TEST_PACKAGES=yes (CI sets CI=true)" ;;
	esac
	require_root
	require_cmd dpkg-buildpackage dpkg flock
	debs_lock
	local p
	for p in $DEBS_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' &&
			tap_skip_all "package $p is already installed: not touching it"
	done
	return 0
}

debs_lock() {
	system_lock
}

debs_build() {
	local src hash dir
	if [ -n "${TR_DEBS_DIR:-}" ]; then
		DEBS_DIR=$TR_DEBS_DIR DEBS_LOG=/dev/null DEBS_RC=0
		return 0
	fi
	src=$(mktemp -d "$top_builddir/tests/pkg/src.XXXXXX") || tap_bail "mktemp failed"
	at_exit "rm -rf '$src'"
	(cd "$top_srcdir" && tar --exclude='./_build*' --exclude=./.git --exclude='*.o' \
		--exclude='*.lo' --exclude='*.la' --exclude=.libs --exclude=.deps \
		--exclude=./autom4te.cache -cf - .) | (cd "$src" && tar xf -) ||
		tap_bail "cannot copy the source tree"
	# a checkout's own configure output must not leak into the package build
	(cd "$src" && { [ ! -f Makefile ] || make distclean >/dev/null 2>&1 || :; })
	hash=$(cd "$src" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum)
	dir=$top_builddir/tests/pkg/debs.${hash:0:16}
	DEBS_DIR=$dir DEBS_LOG=$dir/build.log
	if [ -f "$dir/ok" ]; then
		DEBS_RC=0
		return 0
	fi
	rm -rf "$top_builddir"/tests/pkg/debs.*
	mkdir -p "$dir" && mv "$src" "$dir/src" || tap_bail "cannot set up $dir"
	(cd "$dir/src" && timeout 900 dpkg-buildpackage -us -uc -b > "$DEBS_LOG" 2>&1)
	DEBS_RC=$?
	rm -rf "$dir/src"
	[ "$DEBS_RC" = 0 ] && touch "$dir/ok"
	return 0
}

debs_purge() {
	# dependents first (the -dbgsym packages depend on theirs): dpkg refuses
	# to remove a package another installed one depends on
	local p all=""
	for p in $DEBS_PACKAGES; do all="${p}-dbgsym $all"; done
	# shellcheck disable=SC2086
	dpkg --purge $all tlsrelay-exim tlsrelay-milter tlsrelayd tlsrelay \
		> /dev/null 2>&1 || :
}

#!/bin/bash
# tests/exim-module/test_configure.sh - configure --with-exim-source
# (ac/exim_module.ac) refuses what the transport module cannot be built
# against, each with its own message, and accepts a built Exim >= 4.99.
#
# The refused trees are copies of the real tree's generated headers
# (build-OS-ARCH/version.h and config.h, as Exim's build writes them) with
# one thing changed:
#   old       EXIM_RELEASE_VERSION "4.98.2"  -> "older than 4.99"
#   nomodule  no LOOKUP_MODULE_DIR           -> "cannot load modules"
#   unbuilt   the sources, no build directory -> "run make there first"
#   twobuilds two build directories           -> "several build directories"
# and the real tree (EXIM_MODULE_BIN's, from scripts/prepare.d/
# exim_module.sh) is accepted. configure runs in a scratch directory with a
# shared cache file; nothing is built. Needs no root. Skipped without the
# real tree (failed in CI: tests/exim-module/module.sh).

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

if [ -z "${EXIM_MODULE_BIN:-}" ] || [ ! -x "${EXIM_MODULE_BIN:-}" ]; then
	if [ "${CI:-}" = true ]; then
		tap_plan 1
		tap_ok 0 "a built Exim >= 4.99 tree (CI=true: required)" "configure had no --with-exim-source (scripts/prepare.d/exim_module.sh)"
		tap_done
	fi
	tap_skip_all "no Exim >= 4.99 tree (configure --with-exim-source; scripts/prepare.d/exim_module.sh builds one)"
fi
[ -x "$top_srcdir/configure" ] || tap_skip_all "no $top_srcdir/configure (autoreconf -fi first)"
[ -z "${ASAN_OPTIONS:-}${UBSAN_OPTIONS:-}" ] ||
	tap_skip_all "sanitizer run: configure's checks are shell, the same as in the normal run"
tap_plan 15	# a linear script: good 3, moddir 1, none 2, four refused trees 2 each, missing 1
make_tmpdir
T=$TEST_TMP
BUILD=$(dirname "$EXIM_MODULE_BIN")      # the real tree's build-OS-ARCH
TREE=$(dirname "$BUILD")
OS_ARCH=${BUILD##*/}

fake_tree() {	# fake_tree NAME: $T/NAME/build-OS-ARCH with the real headers
	mkdir -p "$T/$1/$OS_ARCH" &&
		cp "$BUILD/version.h" "$BUILD/config.h" "$T/$1/$OS_ARCH/"
}
fake_tree old && sed -i 's/^#define EXIM_RELEASE_VERSION ".*"/#define EXIM_RELEASE_VERSION "4.98.2"/' "$T/old/$OS_ARCH/version.h"
fake_tree nomodule && sed -i '/^#define LOOKUP_MODULE_DIR/d' "$T/nomodule/$OS_ARCH/config.h"
mkdir -p "$T/unbuilt/src" && cp "$TREE/src/EDITME" "$T/unbuilt/src/"
fake_tree twobuilds && cp -r "$T/twobuilds/$OS_ARCH" "$T/twobuilds/build-Other-arch"

# run_configure NAME ARGS...: configure in $T/b-NAME; OUT, RC
run_configure() {
	local name=$1; shift
	mkdir -p "$T/b-$name"
	OUT=$(cd "$T/b-$name" && "$top_srcdir/configure" --cache-file="$T/config.cache" \
		--disable-exim --enable-milter=no "$@" 2>&1 </dev/null); RC=$?
}

run_configure good --with-exim-source="$TREE"
tap_is "$RC" 0 "good: configure accepts the built $TREE"
tap_like "$OUT" "Exim transport module: built against Exim [0-9.]+ \\($TREE\\), installed in /" "good: it says what it builds against and where it installs"
tap_like "$(grep -E '^EXIM_MODULE_(DIR|INSTALLDIR|BIN) ' "$T/b-good/Makefile")" "^EXIM_MODULE_INSTALLDIR = $(sed -n 's/^#define LOOKUP_MODULE_DIR  *"\(.*\)"$/\1/p' "$BUILD/config.h")\$" "good: installs into that Exim's LOOKUP_MODULE_DIR by default"

run_configure moddir --with-exim-source="$TREE" --with-exim-moduledir=/opt/exim/modules
tap_like "$(grep -E '^EXIM_MODULE_INSTALLDIR ' "$T/b-moddir/Makefile")" "^EXIM_MODULE_INSTALLDIR = /opt/exim/modules\$" "moddir: --with-exim-moduledir sets where it installs"

run_configure none
tap_is "$RC" 0 "none: without --with-exim-source configure succeeds"
tap_like "$OUT" "Exim transport module: no \\(--with-exim-source=DIR\\)" "none: and builds no module"

run_configure old --with-exim-source="$T/old"
tap_status "$(test "$RC" != 0; echo $?)" "old: configure refuses Exim 4.98.2"
tap_like "$OUT" "error: --with-exim-source: Exim 4\\.98\\.2 in $T/old is older than 4\\.99: loadable transport drivers came with Exim 4\\.99" "old: the message names the version and the minimum"

run_configure nomodule --with-exim-source="$T/nomodule"
tap_status "$(test "$RC" != 0; echo $?)" "nomodule: configure refuses an Exim built without LOOKUP_MODULE_DIR"
tap_like "$OUT" "error: --with-exim-source: that Exim was built without LOOKUP_MODULE_DIR and cannot load modules" "nomodule: the message says why and what to set"

run_configure unbuilt --with-exim-source="$T/unbuilt"
tap_status "$(test "$RC" != 0; echo $?)" "unbuilt: configure refuses a tree without a build"
tap_like "$OUT" "error: --with-exim-source: no build-OS-ARCH/config.h and version.h under $T/unbuilt: configure Exim \\(Local/Makefile\\) and run make there first" "unbuilt: the message says to build Exim first"

run_configure twobuilds --with-exim-source="$T/twobuilds"
tap_status "$(test "$RC" != 0; echo $?)" "twobuilds: configure refuses a tree with two build directories"
tap_like "$OUT" "error: --with-exim-source: $T/twobuilds has several build directories" "twobuilds: the message names them"

run_configure missing --with-exim-source
tap_like "$OUT" "error: --with-exim-source needs the directory" "missing: --with-exim-source without a directory is refused"

tap_done

#!/bin/bash
# tests/exim-module/test_quickstart.sh - README.md's "Quick start: Exim 4.99
# or later: the tlsrelay transport", run as written: the fenced blocks
# marked <!-- quickstart:exim-module --> are extracted (tests/docs/
# readme_blocks.py) and run in order with bash, as root; the output marked
# <!-- quickstart:expect --> after a block must appear in that block's
# output ("..." = anything). Then the test message must have arrived over
# TLS.
#
# Against:
# - a copy of this source tree (the files git has or would add, else the tree without
#   build directories) in which the blocks run: autoreconf, configure
#   --with-exim-source, make, make install. A whole build: so the test runs
#   only with CI=true or TR_TEST_QUICKSTART=yes, as root, and not in the
#   sanitizer run (the module it installs is loaded by Exim).
# - the Exim that scripts/prepare.d/exim_module.sh built and installed from
#   Debian's exim4 source (EXIM_MODULE_BIN's tree; its bin/, etc/configure
#   (Exim's default configuration), spool/ and modules/ in its cache
#   directory), playing the admin's Exim of the README (EDITME's default
#   paths, substituted below).
# - a private mount namespace (tests/exim-module/module.sh): /usr/local (the
#   install prefix; its empty directories as Debian's base-files makes
#   them), Exim's etc/, spool/ and module directory are fresh directories of
#   this test; /var/lib/tlsrelay (block 2 makes it) is a
#   fresh directory if it exists, else removed at exit. Nothing of the
#   machine is changed.
# - a receiving server playing the smarthost: a private Postfix with
#   STARTTLS on a free loopback port, certificate for localhost from
#   tests/certs/ca.pem.
#
# Substitutions made in the blocks and the expected output:
#   4.100.1 (the README's Exim version)  -> the tree's version
#   /usr/src/exim-VERSION                -> the tree
#   /usr/exim/bin/exim, /usr/exim/configure, /var/spool/exim
#                                        -> that Exim's BIN_DIRECTORY,
#                                           CONFIGURE_FILE, SPOOL_DIRECTORY
#   -o exim                              -> -o Debian-exim (its EXIM_USER)
#   smtp.example.net -> localhost, :587 -> :PORT, you@example.net ->
#   user@example.test, /etc/ssl/certs/ca-certificates.crt -> the test CA
# Block 1 runs with MAKEFLAGS=-j2 (the machine's cores), in the copy of
# the tree, as the other blocks.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/exim-module/module.sh"
[ "${CI:-}" = true ] || [ "${TR_TEST_QUICKSTART:-}" = yes ] ||
	tap_skip_all "builds and installs a copy of the tree: only with CI=true or TR_TEST_QUICKSTART=yes"
[ -z "${ASAN_OPTIONS:-}${UBSAN_OPTIONS:-}" ] ||
	tap_skip_all "sanitizer run: the quick start builds its own copy without the sanitizers, the same as in the normal run"
module_ns "$@"
make_tmpdir
T=$TEST_TMP
module_require
require_cmd postfix postconf python3 autoreconf make

EXIM_TREE=$(dirname "$(dirname "$EXIM_MODULE_BIN")")
EXIM_DIR=$(dirname "$EXIM_MODULE_DIR")       # the cache: bin/ etc/ spool/ modules/
V=$EXIM_MODULE_VERSION
[ -x "$EXIM_DIR/bin/exim" ] && [ -f "$EXIM_DIR/etc/configure" ] ||
	_module_missing "Exim is not installed in $EXIM_DIR (bin/exim, etc/configure: scripts/prepare.d/exim_module.sh runs its make install as root)"
tap_expect 1
tap_is "$("$EXIM_DIR/bin/exim" -bP -n spool_directory 2>/dev/null)" "$EXIM_DIR/spool" "the test Exim's spool is $EXIM_DIR/spool"

# ------------------------------------------------------------ the blocks
mkdir -p "$T/blocks"
tap_expect 2
n=$(python3 "$top_srcdir/tests/docs/readme_blocks.py" "$top_srcdir/README.md" exim-module "$T/blocks")
tap_status $? "README.md has quick start blocks for the Exim module ($n)" "$n"
tap_status "$(test "${n:-0}" -ge 4; echo $?)" "at least 4 blocks: build, tlsrelay.conf, Exim configuration, test message"
RPORT=$(free_port) || tap_bail "no free port"
cp "$CERTS/ca.pem" "$T/ca.pem" && chmod 0644 "$T/ca.pem"
for f in "$T"/blocks/*; do
	sed -i -e "s|4\\.100\\.1|$V|g" -e "s|/usr/src/exim-$V|$EXIM_TREE|g" \
		-e "s|/usr/exim/bin/exim|$EXIM_DIR/bin/exim|g" -e "s|/usr/exim/configure|$EXIM_DIR/etc/configure|g" \
		-e "s|/var/spool/exim|$EXIM_DIR/spool|g" -e 's|-o exim |-o Debian-exim |g' \
		-e 's|smtp\.example\.net|localhost|g' -e "s|:587|:$RPORT|g" \
		-e "s|/etc/ssl/certs/ca-certificates\\.crt|$T/ca.pem|g" \
		-e 's|you@example\.net|user@example.test|g' "$f"
done

# ------------------------------------------------ the source tree, copied
tap_expect 1
mkdir -p "$T/src"
if git -C "$top_srcdir" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$top_srcdir" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | tar -C "$T/src" -xf -
else
	tar -C "$top_srcdir" --exclude='./_build*' --exclude=./autom4te.cache -cf - . | tar -C "$T/src" -xf -
fi
tap_status $? "a copy of the source tree in $T/src"

# ----------------------------------- the admin's system, in this namespace
mkdir -p "$T/usrlocal" "$T/eximetc" "$T/eximspool" "$T/modules"
# /usr/local as Debian makes it (base-files): its empty directories
(cd "$T/usrlocal" && mkdir -p bin etc games include lib man sbin share src)
cp "$EXIM_DIR/etc/configure" "$T/eximetc/configure" && chmod 0644 "$T/eximetc/configure"
chown Debian-exim:Debian-exim "$T/eximspool" && chmod 0750 "$T/eximspool"
for m in /usr/local:"$T/usrlocal" "$EXIM_DIR/etc":"$T/eximetc" "$EXIM_DIR/spool":"$T/eximspool" \
	 "$EXIM_MODULE_DIR":"$T/modules"; do
	mount --bind "${m#*:}" "${m%%:*}" || tap_bail "mount --bind ${m#*:} ${m%%:*} failed"
done
system_lock	# /var/lib/tlsrelay below is the machine's (tests/lib.sh)
if [ -d /var/lib/tlsrelay ]; then
	mkdir -p "$T/varlib" && mount --bind "$T/varlib" /var/lib/tlsrelay ||
		tap_bail "cannot bind over /var/lib/tlsrelay"
else
	at_exit "rm -rf /var/lib/tlsrelay"
fi

# the smarthost: mailboxes for user@example.test; certificate for localhost
receiver_new receiver "$RPORT" may || tap_bail "receiver_new failed"
RECV=$PF_DIR
pf_start "$RECV" && wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver Postfix did not start"

# ------------------------------------------------------------- run them
# one check a block, one more for a block with its expected output
tap_expect $((n + $(find "$T/blocks" -name '*.expect' | wc -l)))
for ((i = 1; i <= n; i++)); do
	t0=$(date +%s)
	(cd "$T/src" && MAKEFLAGS=-j2 timeout 1200 bash -e "$T/blocks/$i.sh") > "$T/out.$i" 2>&1 < /dev/null
	rc=$?
	tap_status "$rc" "README Exim module block $i: $(head -n 1 "$T/blocks/$i.sh") ($(( $(date +%s) - t0 )) s)" "$(tail -n 30 "$T/out.$i")"
	if [ -f "$T/blocks/$i.expect" ]; then
		python3 "$top_srcdir/tests/docs/readme_blocks.py" --match "$T/blocks/$i.expect" "$T/out.$i" > "$T/miss.$i"
		tap_status $? "block $i prints what the README shows" "$(cat "$T/miss.$i"; echo '--- output:'; tail -n 40 "$T/out.$i")"
	fi
done

# ------------------------------------------------------- what arrived
tap_expect 4
file=$(receiver_wait_mail "$RECV" user "tlsrelay test" 30)
tap_status $? "the smarthost stored the test message" "$(tail -n 20 "$EXIM_DIR/spool/log/mainlog" 2>/dev/null)"
tap_like "$(mail_header "$file" Received)" 'using TLSv1\.[23]' "it arrived over TLS (Received header)"
tap_status "$(test -f "$EXIM_MODULE_DIR/tlsrelay_transport.so"; echo $?)" "make install put tlsrelay_transport.so in Exim's module directory"
tap_status "$(test ! -e "$EXIM_MODULE_DIR/tlsrelay_transport.la"; echo $?)" "and no libtool .la file next to it"
tap_done

# shellcheck shell=bash
# scripts/prepare.d/exim_module.sh - Exim >= 4.99 built from the upstream
# tarball in Debian's source packages, for the tlsrelay transport module
# (plugin/exim/tlsrelay_transport.c, tests/exim-module/). Sourced by
# tr_prepare (bash).
#
# Debian 12 ships Exim 4.96; loadable transports came with 4.99. A later
# suite's source package carries the upstream tarball: a private apt
# configuration (DIR/apt: its own sources.list with deb-src lines for sid,
# forky and trixie, its own lists; the system's apt state is not touched)
# fetches exim4_VERSION.orig.tar.xz and its .asc for the highest version
# >= 4.99 there. Only Debian's archive is asked.
#
# Integrity: apt checks the tarball's SHA-256 against the Sources index,
# which is signed by the Debian archive keys (debian-archive-keyring); this
# script checks it again against that index (apt-get exits non-zero when
# the .dsc or .debian.tar.xz are missing, as seen here: 404). The upstream
# signature (.asc) is checked with gpgv when the Debian source's
# debian/upstream/signing-key.asc could be fetched (the .debian.tar.xz);
# where it cannot, one line says so and the archive's signature stands.
#
# Then Exim is built with a minimal Local/Makefile (from src/EDITME:
# OpenSSL, DANE, no X11 monitor, no Perl, LOOKUP_MODULE_DIR with
# CFLAGS_DYNAMIC and -export-dynamic so that modules can be loaded and can
# call into Exim) in the cache directory:
#
#   TR_EXIM_SRC_DIR   default /var/cache/tlsrelay-test/exim-src as root,
#                     else $TR_BUILD/.exim-src
#     apt/                  the private apt configuration and lists
#     dl/                   the tarball and its .asc
#     exim-VERSION/         the configured and built tree (build-*/exim)
#     bin/, etc/configure   Exim's "make install" (root only): BIN_DIRECTORY
#                           and CONFIGURE_FILE (Exim's default configuration)
#     spool/                SPOOL_DIRECTORY (its log/ is the default log)
#     modules/              the LOOKUP_MODULE_DIR compiled into that Exim,
#                           left empty: the tests bind-mount their own
#                           directory over it (and over etc/ and spool/) in
#                           a private mount namespace
#     build.log             the last build's output
#     stamp                 "VERSION TREE SECONDS RECIPE": the tree built,
#                           how long the build took, this script's recipe
#
# Appends --with-exim-source=TREE to TR_CONFIGURE_FLAGS (ac/exim_module.ac).
# Idempotent; quick when done (a stat of the stamp and the binary). The
# module is optional: any failure prints one line "prepare exim-module:
# ...", returns 0, and the module is then not built; its tests skip, or
# fail when CI=true (tests/exim-module/module.sh). As root it also creates
# the system user Debian-exim (the built Exim's EXIM_USER), as exim.sh does.
#
# Build dependencies (scripts/packages.d/exim_module.list): libpcre2-dev,
# libdb5.3-dev, libssl-dev, make, xz-utils.

_tr_exim_module_apt() {	# _tr_exim_module_apt DIR apt-get|apt-cache ARGS...: with DIR's private configuration
	local d=$1 cmd=$2; shift 2
	"$cmd" -q -o Dir::Etc::SourceList="$d/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$d/apt/lists" -o Dir::Cache="$d/apt/cache" \
		-o APT::Sandbox::User=root "$@"
}

# _tr_exim_module_fetch DIR: the newest exim4 >= 4.99 source in DIR/dl;
# prints "VERSION" (upstream, e.g. 4.100.1). Status 1 with one line on error.
_tr_exim_module_fetch() {
	local d=$1 ver up sha tarball key f
	mkdir -p "$d/apt/lists/partial" "$d/apt/cache/archives/partial" "$d/dl" || return 1
	cat > "$d/apt/sources.list" <<-'EOF'
	# private to scripts/prepare.d/exim_module.sh: the exim4 source package
	deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main
	deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian forky main
	deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
	EOF
	if ! _tr_exim_module_apt "$d" apt-get update > "$d/apt/update.out" 2>&1; then
		echo "prepare exim-module: apt-get update (deb-src sid/forky/trixie) failed: $(tail -n 1 "$d/apt/update.out")" >&2
		return 1
	fi
	# the highest exim4 source version; its upstream part must be >= 4.99
	ver=$(_tr_exim_module_apt "$d" apt-cache showsrc --only-source exim4 2>/dev/null | sed -n 's/^Version: //p' |
		sort -V | tail -n 1)
	up=${ver%%-*}; up=${up#*:}
	if [ -z "$ver" ] || ! dpkg --compare-versions "$up" ge 4.99; then
		echo "prepare exim-module: no exim4 >= 4.99 in Debian's sid/forky/trixie sources (found: ${ver:-none})" >&2
		return 1
	fi
	tarball=exim4_$up.orig.tar.xz
	# the tarball's SHA-256 in that version's paragraph of the Sources index
	sha=$(_tr_exim_module_apt "$d" apt-cache showsrc --only-source exim4 2>/dev/null |
		awk -v ver="$ver" -v f="$tarball" 'BEGIN { RS = "" }
			$0 ~ "(^|\n)Version: " ver "\n" {
				n = split($0, l, "\n"); in_sha = 0
				for (i = 1; i <= n; i++) {
					if (l[i] ~ /^Checksums-Sha256:/) { in_sha = 1; continue }
					if (l[i] !~ /^ /) in_sha = 0
					split(l[i], w, " ")
					if (in_sha && w[3] == f) { print w[1]; exit }
				}
			}')
	[ -n "$sha" ] || { echo "prepare exim-module: no SHA-256 for $tarball in the Sources index" >&2; return 1; }
	if ! { [ -f "$d/dl/$tarball" ] && echo "$sha  $d/dl/$tarball" | sha256sum -c --status; }; then
		# exits non-zero when the .dsc/.debian.tar.xz are missing (404): the
		# checksum below decides
		(cd "$d/dl" && _tr_exim_module_apt "$d" apt-get source --download-only "exim4=$ver") \
			> "$d/dl/source.out" 2>&1
	fi
	if ! { [ -f "$d/dl/$tarball" ] && echo "$sha  $d/dl/$tarball" | sha256sum -c --status; }; then
		echo "prepare exim-module: $tarball missing or its SHA-256 differs from the signed Sources index ($sha): $(grep -m1 '^E:' "$d/dl/source.out")" >&2
		rm -f "$d/dl/$tarball"
		return 1
	fi
	# the upstream signature, with the key Debian's source ships
	key=
	for f in "$d"/dl/exim4_"$up"-*.debian.tar.xz; do [ -f "$f" ] && key=$f; done
	if [ -n "$key" ] && [ -f "$d/dl/$tarball.asc" ] && command -v gpgv >/dev/null 2>&1 &&
	   tar -xJOf "$key" debian/upstream/signing-key.asc > "$d/dl/signing-key.asc" 2>/dev/null &&
	   mkdir -p "$d/dl/gnupg" && chmod 0700 "$d/dl/gnupg" &&
	   gpg --homedir "$d/dl/gnupg" --batch --dearmor < "$d/dl/signing-key.asc" > "$d/dl/signing-key.gpg" 2>/dev/null; then
		if gpgv --keyring "$d/dl/signing-key.gpg" "$d/dl/$tarball.asc" "$d/dl/$tarball" > "$d/dl/gpgv.out" 2>&1; then
			echo "prepare exim-module: $tarball: upstream signature good (debian/upstream/signing-key.asc)" >&2
		else
			echo "prepare exim-module: $tarball: BAD upstream signature: $(tail -n 1 "$d/dl/gpgv.out")" >&2
			rm -f "$d/dl/$tarball"
			return 1
		fi
	else
		echo "prepare exim-module: $tarball: SHA-256 matches Debian's signed Sources index; upstream .asc not checked (no exim4_$up-*.debian.tar.xz with debian/upstream/signing-key.asc could be fetched: $d/dl/source.out)" >&2
	fi
	echo "$up"
}

# _tr_exim_module_makefile TREE DIR: TREE/Local/Makefile from src/EDITME.
# Every path Exim compiles in has a directory of its own under DIR, so that
# a test can bind-mount its own over it (tests/exim-module/).
_tr_exim_module_makefile() {
	local t=$1 d=$2
	mkdir -p "$t/Local" || return 1
	sed -e "s|^BIN_DIRECTORY=.*|BIN_DIRECTORY=$d/bin|" \
	    -e "s|^CONFIGURE_FILE=.*|CONFIGURE_FILE=$d/etc/configure|" \
	    -e "s|^EXIM_USER=.*|EXIM_USER=ref:Debian-exim|" \
	    -e "s|^SPOOL_DIRECTORY=.*|SPOOL_DIRECTORY=$d/spool|" \
	    -e 's|^EXIM_MONITOR=|# EXIM_MONITOR=|' \
	    -e 's|^EXIM_PERL=|# EXIM_PERL=|' \
	    "$t/src/EDITME" > "$t/Local/Makefile" || return 1
	cat >> "$t/Local/Makefile" <<-EOF

	# --- scripts/prepare.d/exim_module.sh (recipe $TR_EXIM_MODULE_RECIPE): loadable
	# modules (LOOKUP_MODULE_DIR, CFLAGS_DYNAMIC, -export-dynamic), OpenSSL
	LOOKUP_MODULE_DIR=$d/modules
	CFLAGS_DYNAMIC=-shared -rdynamic -fPIC
	EXTRALIBS=-export-dynamic -rdynamic -ldl
	USE_OPENSSL=yes
	TLS_LIBS=-lssl -lcrypto
	DISABLE_PERL=yes
	EOF
}

# Bump when the build changes: a cache built by another recipe is rebuilt.
TR_EXIM_MODULE_RECIPE=2

_tr_exim_module_prepare() {
	local dir=${TR_EXIM_SRC_DIR:-} ver tree t0 t1 c
	if [ -z "$dir" ]; then
		if [ "$(id -u)" = 0 ]; then dir=/var/cache/tlsrelay-test/exim-src
		else dir=${TR_BUILD:-$TR_ROOT/_build}/.exim-src; fi
	fi
	if [ "$(id -u)" = 0 ] && ! getent passwd Debian-exim >/dev/null 2>&1; then
		useradd -r -M -d /nonexistent -s /usr/sbin/nologin -U Debian-exim 2>/dev/null ||
			echo "prepare exim-module: useradd Debian-exim failed: the Exim module tests will skip"
	fi
	tree=$( [ -s "$dir/stamp" ] && [ "$(cut -d' ' -f4 "$dir/stamp")" = "$TR_EXIM_MODULE_RECIPE" ] &&
		cut -d' ' -f2 "$dir/stamp")
	if [ -z "$tree" ] || ! ls "$tree"/build-*/exim >/dev/null 2>&1; then
		for c in apt-get dpkg make xz sha256sum; do
			command -v "$c" >/dev/null 2>&1 ||
				{ echo "prepare exim-module: no $c: the Exim transport module is not built"; return 0; }
		done
		mkdir -p "$dir" || { echo "prepare exim-module: cannot create $dir"; return 0; }
		ver=$(_tr_exim_module_fetch "$dir") ||
			{ echo "prepare exim-module: the Exim transport module is not built"; return 0; }
		tree=$dir/exim-$ver
		rm -f "$dir/stamp"
		rm -rf "${tree:?}" "${dir:?}/bin" "${dir:?}/etc" "${dir:?}/log" &&
			mkdir -p "$tree" "$dir/modules" "$dir/spool" "$dir/etc" &&
			tar -xJf "$dir/dl/exim4_$ver.orig.tar.xz" -C "$tree" --strip-components=1 ||
			{ echo "prepare exim-module: cannot unpack exim4_$ver.orig.tar.xz"; return 0; }
		_tr_exim_module_makefile "$tree" "$dir" ||
			{ echo "prepare exim-module: cannot write Local/Makefile"; return 0; }
		t0=$(date +%s)
		if ! (cd "$tree" && make -j"${TR_JOBS:-2}" </dev/null) > "$dir/build.log" 2>&1; then
			echo "prepare exim-module: building Exim $ver failed (see $dir/build.log): the Exim transport module is not built"
			tail -n 5 "$dir/build.log" | sed 's/^/    /'
			return 0
		fi
		t1=$(date +%s)
		# as Exim's own "make install" does: DIR/bin/exim (the exim_path
		# compiled in) and the default configuration DIR/etc/configure (the
		# README quick start edits a copy of it)
		if [ "$(id -u)" = 0 ] &&
		   ! (cd "$tree" && make install </dev/null) >> "$dir/build.log" 2>&1; then
			echo "prepare exim-module: make install of Exim $ver failed (see $dir/build.log): the quick start test will not run"
		fi
		chmod 0755 "$dir" "$dir/modules"
		echo "$ver $tree $((t1 - t0)) $TR_EXIM_MODULE_RECIPE" > "$dir/stamp"
		echo "prepare exim-module: built Exim $ver in $((t1 - t0)) s: $tree"
	fi
	case " ${TR_CONFIGURE_FLAGS:-} " in
	*" --with-exim-source="*) ;;
	*) TR_CONFIGURE_FLAGS="${TR_CONFIGURE_FLAGS:+$TR_CONFIGURE_FLAGS }--with-exim-source=$tree" ;;
	esac
	export TR_CONFIGURE_FLAGS
	return 0
}
_tr_exim_module_prepare
unset -f _tr_exim_module_prepare _tr_exim_module_fetch _tr_exim_module_makefile _tr_exim_module_apt
unset TR_EXIM_MODULE_RECIPE

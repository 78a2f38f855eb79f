# mk/programs.mk - included by Makefile.am: the programs in plugin/, thin
# adapters over libtlsrelay, with their man pages and samples.
#
# Defaults (Makefile.am): every program links lib/libtlsrelay.la (LDADD)
# and is compiled with AM_CPPFLAGS. A program includes lib/tlsrelay.h and,
# only when it needs more than the public API, lib/tlsrelay_internal.h;
# tests/build/test_api_boundary.sh holds the list of those programs and
# fails any other include of lib/. Each program below says what it needs
# beyond the defaults.
#
# Optional programs are chosen by configure (AM_CONDITIONAL, ac/programs.ac):
# the milter (ENABLE_MILTER, libmilter), the Exim object (ENABLE_EXIM,
# exim4-dev), tlsrelayc built by musl-gcc (TLSRELAYC_MUSL); the Exim
# transport module (ENABLE_EXIM_MODULE, ac/exim_module.ac) is built by
# mk/exim_module.mk, included at the end.
#
# plugin/cli.h (--help and --version, one way for every program) is a
# header of plugin/, listed with each program that includes it.

# ------------------------------------------------- tlsrelay, the transport
# One process per message: it links the library's objects (no
# libtlsrelay.so to map and relocate at each start; doc/PERFORMANCE.md).
sbin_PROGRAMS = plugin/transport/tlsrelay
plugin_transport_tlsrelay_SOURCES = plugin/transport/main.c plugin/transport/transport.c \
	plugin/transport/transport.h plugin/cli.h
man_MANS += doc/tlsrelay.8 doc/tlsrelay.conf.5

# ----------------------------------------------- tlsrelay-probe (tlsrelay.h)
sbin_PROGRAMS += plugin/probe/tlsrelay-probe
plugin_probe_tlsrelay_probe_SOURCES = plugin/probe/main.c plugin/cli.h
man_MANS += doc/tlsrelay-probe.8

# ---------------------------------------------- tlsrelay-report (tlsrelay.h)
# Summaries, explanations, suggestions, HTML and metrics of the TLS history
# (tlsrelay_report(), lib/report*.c).
sbin_PROGRAMS += plugin/report/tlsrelay-report
plugin_report_tlsrelay_report_SOURCES = plugin/report/main.c plugin/cli.h
man_MANS += doc/tlsrelay-report.8

# ------------------------------------------- tlsrelay-sts (tlsrelay_internal.h)
# MTA-STS cache refresh (cron), show, TLS-RPT reports: argument parsing
# and printing over lib/sts_admin.h.
sbin_PROGRAMS += plugin/sts/tlsrelay-sts
plugin_sts_tlsrelay_sts_SOURCES = plugin/sts/main.c plugin/cli.h
man_MANS += doc/tlsrelay-sts.8

# ------------------------- tlsrelayd (tlsrelay_internal.h) and tlsrelayc
# tlsrelayd, the delivery daemon: its delivery processes run the
# transport's own code (plugin/transport/transport.c) and keep connections
# for reuse (the connection cache, lib/conn_cache.h, routed by nexthop:
# route.c); metrics.c is its metrics listener. tlsrelayc, the thin
# transport that hands each delivery to it, links nothing but libc, never
# the library: static where the toolchain can (ac/programs.ac), built by
# musl-gcc where installed (doc/PERFORMANCE.md). The protocol both speak
# is lib/trd_proto.h (header-only, with trd_client.h and trd_fdpass.h; in
# the library's sources too, which lib/daemon_client.c shares). doc/tlsrelayd.8 and
# doc/tlsrelayc.8 (a .so link; dh_installman makes it a symlink).
# tlsrelayc's exits are the library's translation, compiled from the
# header-only lib/status_exit.h (the one declared exception of
# tests/build/test_api_boundary.sh: it links no library).
sbin_PROGRAMS += plugin/daemon/tlsrelayd plugin/transport/tlsrelayc
plugin_daemon_tlsrelayd_SOURCES = plugin/daemon/main.c plugin/daemon/serve.c \
	plugin/daemon/route.c plugin/daemon/pool.c plugin/daemon/worker.c \
	plugin/daemon/request.c plugin/daemon/metrics.c plugin/daemon/lmtp.c \
	plugin/daemon/daemon.h \
	plugin/transport/transport.c plugin/transport/transport.h plugin/cli.h
plugin_daemon_tlsrelayd_CPPFLAGS = $(AM_CPPFLAGS) -DRUNSTATEDIR='"$(runstatedir)"'
TLSRELAYC_SRC = plugin/transport/tlsrelayc.c lib/trd_client.h lib/trd_proto.h lib/trd_fdpass.h plugin/cli.h
EXTRA_DIST += $(TLSRELAYC_SRC)
plugin_transport_tlsrelayc_LDADD =
if TLSRELAYC_MUSL
# Built by musl-gcc, statically (glibc's start-up CPUIDs trap on VMs). No
# objects of the C compiler: the link command compiles the source itself.
plugin_transport_tlsrelayc_SOURCES =
EXTRA_plugin_transport_tlsrelayc_DEPENDENCIES = $(TLSRELAYC_SRC) config.h
plugin_transport_tlsrelayc_LINK = $(MUSL_GCC) $(WARN_CFLAGS) $(CFLAGS) $(DEFS) -I. \
	-DRUNSTATEDIR='"$(runstatedir)"' $(LDFLAGS) -static -o $@ $(srcdir)/plugin/transport/tlsrelayc.c
else
plugin_transport_tlsrelayc_SOURCES = $(TLSRELAYC_SRC)
plugin_transport_tlsrelayc_CPPFLAGS = $(AM_CPPFLAGS) -DRUNSTATEDIR='"$(runstatedir)"'
plugin_transport_tlsrelayc_LDFLAGS = $(TLSRELAYC_LDFLAGS)
# Automake's own link command: it writes none once _LINK is set in a branch.
plugin_transport_tlsrelayc_LINK = $(LIBTOOL) $(AM_V_lt) --tag=CC $(AM_LIBTOOLFLAGS) $(LIBTOOLFLAGS) \
	--mode=link $(CCLD) $(AM_CFLAGS) $(CFLAGS) $(plugin_transport_tlsrelayc_LDFLAGS) $(LDFLAGS) -o $@
endif
man_MANS += doc/tlsrelayd.8 doc/tlsrelayc.8

# ------------------------------- tlsrelay-milter (tlsrelay_internal.h)
# Per-message TLS requirements: matches the rules (lib/msgrules.c) and
# writes the header the transport reads (lib/msgreq.c). Only with libmilter.
# milter_alloc.c is its message allocation, the link-time seam that the
# fault build of mk/tests.mk replaces.
if ENABLE_MILTER
sbin_PROGRAMS += plugin/milter/tlsrelay-milter
plugin_milter_tlsrelay_milter_SOURCES = plugin/milter/main.c plugin/milter/milter.c plugin/milter/milter.h \
	plugin/milter/milter_alloc.c plugin/cli.h
plugin_milter_tlsrelay_milter_CFLAGS = $(AM_CFLAGS) -pthread
plugin_milter_tlsrelay_milter_LDADD = $(LDADD) $(MILTER_LIBS)
endif
man_MANS += doc/tlsrelay-milter.8

# --------------------------------------- the Exim ${dlfunc} object (tlsrelay.h)
# Installed in $(libdir)/tlsrelay/, next to nothing else: Exim loads it by
# absolute path. The library's objects are linked in, so the .so needs no
# libtlsrelay.so at run time, and only the seven ${dlfunc} functions are
# exported. Exim's header is included with -isystem (ac/programs.ac).
if ENABLE_EXIM
eximmoddir = $(libdir)/tlsrelay
eximmod_LTLIBRARIES = plugin/exim/tlsrelay_exim.la
plugin_exim_tlsrelay_exim_la_SOURCES = plugin/exim/tlsrelay_exim.c
plugin_exim_tlsrelay_exim_la_CPPFLAGS = $(AM_CPPFLAGS) $(EXIM_CPPFLAGS)
plugin_exim_tlsrelay_exim_la_LIBADD = lib/libtlsrelay.la
plugin_exim_tlsrelay_exim_la_LDFLAGS = -module -avoid-version -shared -no-undefined \
	-export-symbols-regex '^(level|require_tls|verify_hosts|verify_names|avoid_tls|complete|describe)$$'
endif
man_MANS += doc/tlsrelay-exim.3

# ------------------------------------------- samples and snippets
# What make install puts beside the programs for the admin:
# - the Exim snippets (pipe transport, smtp transport with the object, the
#   transport module's), .include'd by path: $(pkgdatadir)/exim/, not with
#   the docs, which a system may leave out (Debian policy 12.3);
# - the sendmail mailer, include()d by path: $(pkgdatadir)/sendmail/;
# - the samples: tlsrelay.conf (every setting with its default), the two
#   maps, the Postfix snippets, in $(docdir)/examples/ (the Debian
#   package installs tlsrelay.conf from there as /etc/tlsrelay/).
eximconfdir = $(pkgdatadir)/exim
dist_eximconf_DATA = conf/exim/README conf/exim/router_tlsrelay.conf \
	conf/exim/transport_tlsrelay.conf conf/exim/router_tlsrelay_smtp.conf \
	conf/exim/transport_tlsrelay_smtp.conf conf/exim/transport_tlsrelay_module.conf
sendmailconfdir = $(pkgdatadir)/sendmail
dist_sendmailconf_DATA = conf/sendmail/tlsrelay.m4
examplesdir = $(docdir)/examples
dist_examples_DATA = conf/tlsrelay.conf conf/tls_policy conf/sasl_passwd
postfixexamplesdir = $(docdir)/examples/postfix
dist_postfixexamples_DATA = conf/postfix/main.cf.snippet conf/postfix/master.cf.snippet

# The sources of the samples, the man pages and the snippets are written
# for a default "./configure" (/usr/local/...): install-data-hook rewrites
# those paths in the installed copies to this build's (sysconfdir, sbindir,
# libdir, pkgdatadir, docdir), so that a package built with --prefix=/usr
# --sysconfdir=/etc/tlsrelay names its own paths. tests/docs/test_paths.sh
# installs with Debian's paths and finds no /usr/local left. The Exim
# transport module's hook (mk/exim_module.mk) runs first.
TR_EDIT_PATHS = sed -i \
	-e 's|/usr/local/etc/tlsrelay\.conf|$(sysconfdir)/tlsrelay.conf|g' \
	-e 's|/usr/local/etc/tls_policy|$(sysconfdir)/tls_policy|g' \
	-e 's|/usr/local/etc/sasl_passwd|$(sysconfdir)/sasl_passwd|g' \
	-e 's|/usr/local/sbin/|$(sbindir)/|g' \
	-e 's|/usr/local/lib/tlsrelay/|$(libdir)/tlsrelay/|g' \
	-e 's|/usr/local/share/tlsrelay/|$(pkgdatadir)/|g' \
	-e 's|/usr/local/share/doc/tlsrelay/|$(docdir)/|g'

install-data-hook: $(EXIM_MODULE_INSTALL_HOOK)
	@for f in $(man_MANS); do \
		b=$${f##*/}; p="$(DESTDIR)$(mandir)/man$${b##*.}/$$b"; \
		if test -f "$$p"; then echo "  EDIT     $$p"; $(TR_EDIT_PATHS) "$$p" || exit 1; fi; \
	done
	@for p in "$(DESTDIR)$(examplesdir)"/* "$(DESTDIR)$(postfixexamplesdir)"/* \
	          "$(DESTDIR)$(eximconfdir)"/* "$(DESTDIR)$(sendmailconfdir)"/*; do \
		if test -f "$$p"; then echo "  EDIT     $$p"; $(TR_EDIT_PATHS) "$$p" || exit 1; fi; \
	done

# ------------------------------------------ the Exim transport module
include mk/exim_module.mk

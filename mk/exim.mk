# mk/exim.mk - included by Makefile.am (one fragment per area; use += on the shared
# variables: TESTS, check_PROGRAMS, EXTRA_DIST, SCRIPT_DIRS, lib_libtlsrelay_core_la_SOURCES ...).
#
# Exim: tlsrelay_policy_get() in the library (always built), the ${dlfunc}
# shared object plugin/exim/tlsrelay_exim.so (ENABLE_EXIM, see ac/exim.ac),
# the pipe-transport snippet in conf/exim/ and the tests in tests/exim/.
lib_libtlsrelay_core_la_SOURCES += lib/policy_api.c

if ENABLE_EXIM
# Installed in $(libdir)/tlsrelay/, next to nothing else: Exim loads it by
# absolute path. The library is linked in (the convenience archive), so the
# .so needs no libtlsrelay.so at run time, and only the seven ${dlfunc}
# functions are exported.
eximmoddir = $(libdir)/tlsrelay
eximmod_LTLIBRARIES = plugin/exim/tlsrelay_exim.la
plugin_exim_tlsrelay_exim_la_SOURCES = plugin/exim/tlsrelay_exim.c
plugin_exim_tlsrelay_exim_la_CPPFLAGS = -I$(top_srcdir)/lib $(EXIM_CPPFLAGS)
plugin_exim_tlsrelay_exim_la_LIBADD = lib/libtlsrelay-core.la
plugin_exim_tlsrelay_exim_la_LDFLAGS = -module -avoid-version -shared -no-undefined \
	-export-symbols-regex '^(level|require_tls|verify_hosts|verify_names|avoid_tls|complete|describe)$$'
endif

# The snippets, .include'd by path: $(pkgdatadir)/exim/, not with the docs,
# which a system may leave out (Debian policy 12.3). h-admin, issue 19.
eximconfdir = $(pkgdatadir)/exim
dist_eximconf_DATA = conf/exim/README conf/exim/router_tlsrelay.conf \
	conf/exim/transport_tlsrelay.conf conf/exim/router_tlsrelay_smtp.conf \
	conf/exim/transport_tlsrelay_smtp.conf

# The tests: they need EXIM (configure) and, for the dlfunc ones, the .so.
AM_TESTS_ENVIRONMENT += EXIM='$(EXIM)'; export EXIM; \
	TLSRELAY_EXIM_SO='$(abs_top_builddir)/plugin/exim/.libs/tlsrelay_exim.so'; export TLSRELAY_EXIM_SO;
SCRIPT_DIRS += tests/exim
TESTS += tests/exim/test_exim.sh tests/exim/test_exim_dlfunc.sh
EXTRA_DIST += tests/exim/exim.sh tests/exim/test_exim.sh tests/exim/test_exim_dlfunc.sh
man_MANS += doc/tlsrelay-exim.3

# tlsrelay_policy_get, table-driven (runs whether or not the .so is built)
check_PROGRAMS += tests/unit/test_policy_api
TESTS += tests/unit/test_policy_api
tests_unit_test_policy_api_SOURCES = tests/unit/test_policy_api.c tests/unit/tap.h tests/unit/testutil.h
tests_unit_test_policy_api_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_policy_api_LDADD = $(UNIT_LDADD)

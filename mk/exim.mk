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
# .so needs no libtlsrelay.so at run time, and only the six ${dlfunc}
# functions are exported.
eximmoddir = $(libdir)/tlsrelay
eximmod_LTLIBRARIES = plugin/exim/tlsrelay_exim.la
plugin_exim_tlsrelay_exim_la_SOURCES = plugin/exim/tlsrelay_exim.c
plugin_exim_tlsrelay_exim_la_CPPFLAGS = -I$(top_srcdir)/lib $(EXIM_CPPFLAGS)
plugin_exim_tlsrelay_exim_la_LIBADD = lib/libtlsrelay-core.la
plugin_exim_tlsrelay_exim_la_LDFLAGS = -module -avoid-version -shared -no-undefined \
	-export-symbols-regex '^(level|require_tls|verify_hosts|verify_names|complete|describe)$$'
endif

# The tests: they need EXIM (configure) and, for the dlfunc ones, the .so.
AM_TESTS_ENVIRONMENT += EXIM='$(EXIM)'; export EXIM; \
	TLSRELAY_EXIM_SO='$(abs_top_builddir)/plugin/exim/.libs/tlsrelay_exim.so'; export TLSRELAY_EXIM_SO;
SCRIPT_DIRS += tests/exim
TESTS += tests/exim/test_exim.sh tests/exim/test_exim_dlfunc.sh
EXTRA_DIST += tests/exim
man_MANS += doc/tlsrelay-exim.3

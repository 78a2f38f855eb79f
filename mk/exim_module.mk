# mk/exim_module.mk - included by Makefile.am (one fragment per area; use += on the shared
# variables: TESTS, check_PROGRAMS, EXTRA_DIST, SCRIPT_DIRS, lib_libtlsrelay_core_la_SOURCES ...).
#
# The Exim transport module plugin/exim/tlsrelay_transport.so ("driver =
# tlsrelay" in Exim >= 4.99), built against the Exim source tree given to
# configure (--with-exim-source, ac/exim_module.ac), installed in that
# Exim's module directory (--with-exim-moduledir). The result translation
# (transport_result.c) is unit-tested without Exim; the module itself by
# tests/exim-module/ with that tree's Exim.

if ENABLE_EXIM_MODULE
# The library is linked in (the convenience archive): Exim dlopen()s one
# file. Only _transport_info is exported; Exim's own functions
# (transport_write_message, log_write ...) stay undefined until Exim loads
# the module (Exim is linked with -export-dynamic).
eximmoduledir = $(EXIM_MODULE_INSTALLDIR)
eximmodule_LTLIBRARIES = plugin/exim/tlsrelay_transport.la
plugin_exim_tlsrelay_transport_la_SOURCES = plugin/exim/tlsrelay_transport.c \
	plugin/exim/exim_api.h plugin/exim/transport_result.h
# transport_result.c includes tlsrelay's config.h: compiled without the
# Exim tree's -iquote, in its own convenience library
noinst_LTLIBRARIES += plugin/exim/libtransport_result.la
plugin_exim_libtransport_result_la_SOURCES = plugin/exim/transport_result.c \
	plugin/exim/transport_result.h
plugin_exim_tlsrelay_transport_la_CPPFLAGS = -I$(top_srcdir)/lib $(EXIM_MODULE_CPPFLAGS)
plugin_exim_tlsrelay_transport_la_CFLAGS = $(WARN_CFLAGS) $(EXIM_MODULE_CFLAGS)
plugin_exim_tlsrelay_transport_la_LIBADD = plugin/exim/libtransport_result.la lib/libtlsrelay-core.la
plugin_exim_tlsrelay_transport_la_LDFLAGS = -module -avoid-version -shared \
	-export-symbols-regex '^_transport_info$$'

# Exim looks for NAME_transport.so only: no libtool .la file in its module
# directory (and so uninstall removes the .so by name). The one
# install-data-hook is mk/admin.mk's; it runs this one first.
EXIM_MODULE_INSTALL_HOOK = exim-module-install-hook
exim-module-install-hook:
	rm -f $(DESTDIR)$(eximmoduledir)/tlsrelay_transport.la
uninstall-local:
	rm -f $(DESTDIR)$(eximmoduledir)/tlsrelay_transport.so
man_MANS += doc/tlsrelay-exim-transport.5
endif
EXTRA_DIST += doc/tlsrelay-exim-transport.5

# The translation of statuses into Exim results, table-driven; built and
# run whether or not the module is (it needs no Exim).
check_PROGRAMS += tests/unit/test_exim_result
TESTS += tests/unit/test_exim_result
tests_unit_test_exim_result_SOURCES = tests/unit/test_exim_result.c tests/unit/tap.h \
	plugin/exim/transport_result.c plugin/exim/transport_result.h
tests_unit_test_exim_result_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/plugin/exim
tests_unit_test_exim_result_LDADD = $(UNIT_LDADD)

# The tests with Exim: they need the tree's binary and the module; in CI
# (CI=true) their absence fails them instead of skipping (module.sh).
AM_TESTS_ENVIRONMENT += EXIM_MODULE_BIN='$(EXIM_MODULE_BIN)'; EXIM_MODULE_DIR='$(EXIM_MODULE_DIR)'; \
	EXIM_MODULE_SO='$(abs_top_builddir)/plugin/exim/.libs/tlsrelay_transport.so'; \
	EXIM_MODULE_VERSION='$(EXIM_MODULE_VERSION)'; \
	export EXIM_MODULE_BIN EXIM_MODULE_DIR EXIM_MODULE_SO EXIM_MODULE_VERSION;
SCRIPT_DIRS += tests/exim-module
TESTS += tests/exim-module/test_module.sh tests/exim-module/test_configure.sh \
	tests/exim-module/test_quickstart.sh
EXTRA_DIST += tests/exim-module

# The transport snippet, with the other Exim snippets (mk/exim.mk).
dist_eximconf_DATA += conf/exim/transport_tlsrelay_module.conf

# mk/exim_module.mk - included by mk/programs.mk: the Exim transport module
# plugin/exim/tlsrelay_transport.so ("driver = tlsrelay" in Exim >= 4.99),
# a program of plugin/ with a build of its own: it is compiled against the
# Exim source tree given to configure (--with-exim-source,
# ac/exim_module.ac), with that tree's flags, and installed in that Exim's
# module directory (--with-exim-moduledir). Its tests are in mk/tests.mk:
# the result translation (transport_result.c, tests/unit/test_exim_result,
# always) and the module with that tree's Exim (tests/exim-module/).

# The translation of statuses into Exim results needs no Exim: built always
# (the unit test links it), linked into the module when there is one.
# transport_result.c includes tlsrelay's config.h, so it is compiled
# without the Exim tree's -iquote, in its own convenience library.
noinst_LTLIBRARIES += plugin/exim/libtransport_result.la
plugin_exim_libtransport_result_la_SOURCES = plugin/exim/transport_result.c \
	plugin/exim/transport_result.h

if ENABLE_EXIM_MODULE
# The library is linked in (the convenience archive): Exim dlopen()s one
# file. Only _transport_info is exported; Exim's own functions
# (transport_write_message, log_write ...) stay undefined until Exim loads
# the module (Exim is linked with -export-dynamic). Not AM_CPPFLAGS nor
# AM_CFLAGS: the tree's headers and flags (exim_api.h says why -iquote).
eximmoduledir = $(EXIM_MODULE_INSTALLDIR)
eximmodule_LTLIBRARIES = plugin/exim/tlsrelay_transport.la
plugin_exim_tlsrelay_transport_la_SOURCES = plugin/exim/tlsrelay_transport.c \
	plugin/exim/transport_daemon.c plugin/exim/transport_job.h \
	plugin/exim/exim_api.h plugin/exim/transport_result.h
plugin_exim_tlsrelay_transport_la_CPPFLAGS = -I$(top_srcdir)/lib $(EXIM_MODULE_CPPFLAGS)
plugin_exim_tlsrelay_transport_la_CFLAGS = $(WARN_CFLAGS) $(EXIM_MODULE_CFLAGS)
plugin_exim_tlsrelay_transport_la_LIBADD = plugin/exim/libtransport_result.la lib/libtlsrelay.la
plugin_exim_tlsrelay_transport_la_LDFLAGS = -module -avoid-version -shared \
	-export-symbols-regex '^_transport_info$$'

# Exim looks for NAME_transport.so only: no libtool .la file in its module
# directory (and so uninstall removes the .so by name). The one
# install-data-hook is mk/programs.mk's; it runs this one first.
EXIM_MODULE_INSTALL_HOOK = exim-module-install-hook
exim-module-install-hook:
	rm -f $(DESTDIR)$(eximmoduledir)/tlsrelay_transport.la
uninstall-local:
	rm -f $(DESTDIR)$(eximmoduledir)/tlsrelay_transport.so
man_MANS += doc/tlsrelay-exim-transport.5
endif
EXTRA_DIST += doc/tlsrelay-exim-transport.5

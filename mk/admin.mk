# mk/admin.mk - included by Makefile.am: the admin tools (tlsrelay -n/-d/-t,
# tlsrelay-probe) and their tests.
SCRIPT_DIRS += tests/admin
TESTS += tests/admin/test_confcheck.sh tests/admin/test_probe.sh tests/admin/test_session.sh
EXTRA_DIST += tests/admin

# h-admin: loop detection of the session (loop.h)
lib_libtlsrelay_core_la_SOURCES += lib/loop.c lib/loop.h

# tlsrelay-probe: glue over tlsrelay_probe() (lib/probe.c, lib/probe_cert.c)
sbin_PROGRAMS += plugin/probe/tlsrelay-probe
plugin_probe_tlsrelay_probe_SOURCES = plugin/probe/main.c
plugin_probe_tlsrelay_probe_LDADD = lib/libtlsrelay.la
man_MANS += doc/tlsrelay-probe.8

# The Debian packages (tests/pkg/test_debian.sh runs only with CI=true or
# TR_TEST_PACKAGES=yes: it installs them).
SCRIPT_DIRS += tests/pkg
TESTS += tests/pkg/test_debian.sh
EXTRA_DIST += tests/pkg debian

# h-admin (issue 19): the session's 530 and loop rules against a scripted
# server, loop.c, syslog_name, local_mta_ports, origins and strengths
check_PROGRAMS += tests/unit/test_admin
tests_unit_test_admin_SOURCES = tests/unit/test_admin.c tests/unit/tap.h
tests_unit_test_admin_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_admin_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_admin

# mk/status.mk - included by Makefile.am (one fragment per area; use += on the shared
# variables: TESTS, check_PROGRAMS, EXTRA_DIST, SCRIPT_DIRS, lib_libtlsrelay_core_la_SOURCES ...).
#
# One status convention (lib/status.h) and one exit translation
# (lib/status_exit.h, also compiled into tlsrelayc), checked on every
# prototype of lib/*.h by tests/docs/test_status_convention.sh; test seams
# built only for the tests.

lib_libtlsrelay_core_la_SOURCES += lib/status_exit.h

# Every prototype of lib/*.h that can fail says which categories it returns;
# no bare tri-state int; the documented exceptions are counted (lib/status.h
# EXCEPTIONS, doc/DESIGN.md "Status convention"). tests/docs is in
# SCRIPT_DIRS and EXTRA_DIST already (mk/docs.mk).
TESTS += tests/docs/test_status_convention.sh

if ENABLE_MILTER
# The fault build of tlsrelay-milter: the same code with a message
# allocation that always fails (tests/milter/alloc_fail.c, the link-time
# seam of plugin/milter/milter.h), for tests/milter/test_milter.sh case h.
# Built by "make check" only; never installed.
check_PROGRAMS += tests/milter/tlsrelay-milter-allocfail
tests_milter_tlsrelay_milter_allocfail_SOURCES = plugin/milter/main.c plugin/milter/milter.c \
	plugin/milter/milter.h tests/milter/alloc_fail.c
tests_milter_tlsrelay_milter_allocfail_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugin/milter
tests_milter_tlsrelay_milter_allocfail_CFLAGS = $(AM_CFLAGS) -pthread
tests_milter_tlsrelay_milter_allocfail_LDADD = lib/libtlsrelay-core.la $(MILTER_LIBS)
endif
EXTRA_DIST += tests/milter/alloc_fail.c

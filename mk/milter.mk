# mk/milter.mk - included by Makefile.am (one fragment per area; use += on the shared
# variables: TESTS, check_PROGRAMS, EXTRA_DIST, SCRIPT_DIRS, lib_libtlsrelay_core_la_SOURCES ...).
#
# Per-message TLS requirements: the rules (lib/msgrules.c) that the milter
# matches, the header the transport reads and removes (lib/msgreq.c), the
# milter itself (plugin/milter/, only with libmilter: ENABLE_MILTER).

lib_libtlsrelay_core_la_SOURCES += \
	lib/msgrules.c lib/msgrules.h \
	lib/msgreq.c lib/msgreq.h

check_PROGRAMS += tests/unit/test_msgrules tests/unit/test_msgreq tests/unit/test_msgreq_prop
tests_unit_test_msgrules_SOURCES = tests/unit/test_msgrules.c tests/unit/tap.h tests/unit/testutil.h
tests_unit_test_msgrules_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_msgrules_LDADD = $(UNIT_LDADD)
tests_unit_test_msgreq_SOURCES = tests/unit/test_msgreq.c tests/unit/tap.h
tests_unit_test_msgreq_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_msgreq_LDADD = $(UNIT_LDADD)
tests_unit_test_msgreq_prop_SOURCES = tests/unit/test_msgreq_prop.c tests/unit/tap.h
tests_unit_test_msgreq_prop_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_msgreq_prop_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_msgrules tests/unit/test_msgreq tests/unit/test_msgreq_prop
# message_rules applied by the transport itself (tests/peer is in SCRIPT_DIRS)
TESTS += tests/peer/test_rules.sh

if ENABLE_MILTER
# The milter links the library's objects directly (libtlsrelay-core): the
# rules API is internal, not part of libtlsrelay's exported ABI.
sbin_PROGRAMS += plugin/milter/tlsrelay-milter
plugin_milter_tlsrelay_milter_SOURCES = plugin/milter/main.c plugin/milter/milter.c plugin/milter/milter.h \
	plugin/milter/milter_alloc.c
plugin_milter_tlsrelay_milter_CFLAGS = $(AM_CFLAGS) -pthread
plugin_milter_tlsrelay_milter_LDADD = lib/libtlsrelay-core.la $(MILTER_LIBS)
endif

man_MANS += doc/tlsrelay-milter.8
SCRIPT_DIRS += tests/milter
TESTS += tests/milter/test_milter.sh tests/milter/test_milter_rewrite.sh tests/milter/test_milter_headers.sh
EXTRA_DIST += tests/milter/test_milter.sh tests/milter/test_milter_rewrite.sh tests/milter/test_milter_headers.sh

# sendmail 8 (unpacked by scripts/prepare.d/milter.sh) with the tlsrelay
# mailer of conf/sendmail/tlsrelay.m4.
SCRIPT_DIRS += tests/sendmail
TESTS += tests/sendmail/test_sendmail.sh
EXTRA_DIST += tests/sendmail/test_sendmail.sh

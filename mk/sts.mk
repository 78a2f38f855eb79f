# mk/sts.mk - included by Makefile.am (one fragment per area; use += on the shared
# variables: TESTS, check_PROGRAMS, EXTRA_DIST, SCRIPT_DIRS, lib_libtlsrelay_core_la_SOURCES ...).
#
# MTA-STS (RFC 8461) and TLS-RPT (RFC 8460): policy parser, TXT lookup,
# HTTPS fetch (libcurl), cache and results store (SQLite), the decision
# used by deliver.c, and the tlsrelay-sts command. libcurl and SQLite are
# loaded with dlopen on first use (lib/dynload.h), not linked: only their
# headers are used at build time.
lib_libtlsrelay_core_la_SOURCES += \
	lib/sts_policy.c lib/sts_policy.h \
	lib/dns_txt.c lib/dns_txt.h lib/dns_res.h \
	lib/sts_fetch.c lib/sts_fetch.h \
	lib/sts_cache.c lib/sts_cache.h \
	lib/sts.c lib/sts.h \
	lib/tlsrpt.c lib/tlsrpt_record.c lib/tlsrpt_send.c lib/tlsrpt.h \
	lib/sts_admin.c lib/sts_admin.h \
	lib/dynload.c lib/dynload.h
lib_libtlsrelay_core_la_CFLAGS += $(CURL_CFLAGS) $(SQLITE_CFLAGS) $(ZLIB_CFLAGS)
lib_libtlsrelay_core_la_LIBADD += $(DL_LIBS) $(ZLIB_LIBS)

# tlsrelay-sts: cache refresh (cron), show, TLS-RPT reports: argument
# parsing and printing over lib/sts_admin.h, internal calls, so it links the
# core, not libtlsrelay.la.
sbin_PROGRAMS += plugin/sts/tlsrelay-sts
plugin_sts_tlsrelay_sts_SOURCES = plugin/sts/main.c
plugin_sts_tlsrelay_sts_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
plugin_sts_tlsrelay_sts_LDADD = lib/libtlsrelay-core.la

check_PROGRAMS += tests/unit/test_sts_policy
tests_unit_test_sts_policy_SOURCES = tests/unit/test_sts_policy.c tests/unit/tap.h
tests_unit_test_sts_policy_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_sts_policy_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_sts_policy

# End-to-end: unbound + HTTPS policy server + peers on 127.0.0.80-99:25.
TESTS += tests/sts/test_sts.sh
SCRIPT_DIRS += tests/sts
EXTRA_DIST += tests/sts

man_MANS += doc/tlsrelay-sts.8
EXTRA_DIST += doc/tlsrelay-sts.8 doc/MTA-STS.md

check_PROGRAMS += tests/unit/test_tlsrpt
tests_unit_test_tlsrpt_SOURCES = tests/unit/test_tlsrpt.c tests/unit/tap.h
tests_unit_test_tlsrpt_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_tlsrpt_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_tlsrpt

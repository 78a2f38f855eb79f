# mk/dane.mk - included by Makefile.am (one fragment per area; use += on the shared
# variables: TESTS, check_PROGRAMS, EXTRA_DIST, SCRIPT_DIRS, lib_libtlsrelay_core_la_SOURCES ...).

# DANE (RFC 7672): DNSSEC-aware resolver core, TLSA lookups, the per-host
# DANE policy, OpenSSL's DANE verification, and the -q description.
lib_libtlsrelay_core_la_SOURCES += \
	lib/dns_res.c lib/dns_res.h \
	lib/dns_tlsa.c lib/dns_tlsa.h \
	lib/dane.c lib/dane.h \
	lib/tls_dane.c lib/tls_dane.h \
	lib/query_dane.c

TESTS += tests/dane/test_dane.sh
SCRIPT_DIRS += tests/dane
EXTRA_DIST += tests/dane

check_PROGRAMS += tests/unit/test_dane
tests_unit_test_dane_SOURCES = tests/unit/test_dane.c tests/unit/tap.h
tests_unit_test_dane_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_dane_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_dane
EXTRA_DIST += doc/DANE.md

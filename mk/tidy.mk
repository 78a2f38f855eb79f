# mk/tidy.mk - included by Makefile.am (one fragment per area; use += on the shared
# variables). Issue 14 items 4 and 5: the growable buffer (lib/buf.c) and the
# TXT lookup on the shared resolver core (lib/dns_txt.c).

check_PROGRAMS += tests/unit/test_buf
tests_unit_test_buf_SOURCES = tests/unit/test_buf.c tests/unit/tap.h
tests_unit_test_buf_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_buf_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_buf

# No program in plugin/ includes lib/ctx.h, directly or through a header.
TESTS += tests/layers/test_program_headers.sh
SCRIPT_DIRS += tests/layers
EXTRA_DIST += tests/layers

# TXT lookups on the resolver core, against a scripted DNS server.
TESTS += tests/dns/test_dns_txt.sh

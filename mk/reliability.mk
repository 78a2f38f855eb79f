# mk/reliability.mk - included by Makefile.am (one fragment per area; use += on the shared
# variables: TESTS, check_PROGRAMS, EXTRA_DIST, SCRIPT_DIRS, lib_libtlsrelay_core_la_SOURCES ...).

# Issue 4 (first half): fault injection at every step, multiple recipients
# and MX hosts, bad input to the program.
TESTS += tests/peer/test_faults.sh tests/peer/test_rcpts.sh tests/peer/test_badinput.sh
TESTS += tests/dns/test_mx_faults.sh
TESTS += tests/e2e/test_postfix_rcpts.sh

# test_io: the waits of lib/io.c end at the operation timeout or the deadline
check_PROGRAMS += tests/unit/test_io
tests_unit_test_io_SOURCES = tests/unit/test_io.c tests/unit/tap.h
tests_unit_test_io_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_io_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_io

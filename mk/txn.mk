# mk/txn.mk - included by Makefile.am (one fragment per area; use += on the shared
# variables: TESTS, check_PROGRAMS, EXTRA_DIST, SCRIPT_DIRS, lib_libtlsrelay_core_la_SOURCES ...).
TESTS += tests/peer/test_integrity.sh
TESTS += tests/e2e/test_bdat_postfix.sh

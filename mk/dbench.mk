# mk/dbench.mk - included by Makefile.am (one fragment per area; use += on the shared
# variables: TESTS, check_PROGRAMS, EXTRA_DIST, SCRIPT_DIRS, lib_libtlsrelay_core_la_SOURCES ...).
#
# dbench: the tlsrelayd rows of the benchmark (bench/, doc/PERFORMANCE.md)
# and the session memo of lib/tls_cache.c that a long-lived delivery
# process resumes from (tests/perf is in SCRIPT_DIRS and EXTRA_DIST by
# mk/perf.mk).
TESTS += tests/perf/test_cache_memo.sh

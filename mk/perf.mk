# mk/perf.mk - included by Makefile.am (one fragment per area; use += on the shared
# variables: TESTS, check_PROGRAMS, EXTRA_DIST, SCRIPT_DIRS, lib_libtlsrelay_core_la_SOURCES ...).
#
# perf: the on-disk TLS session cache (lib/tls_cache.c) and its test; the
# benchmark (bench/run, not part of make check) and doc/PERFORMANCE.md.
lib_libtlsrelay_core_la_SOURCES += lib/tls_cache.c lib/tls_cache.h
TESTS += tests/e2e/test_session_cache.sh
EXTRA_DIST += bench doc/PERFORMANCE.md

# The transport, the library and tlsrelay-sts do not link libcurl nor SQLite
# (loaded with dlopen for MTA-STS: lib/dynload.h).
TESTS += tests/perf/test_linked.sh
SCRIPT_DIRS += tests/perf
EXTRA_DIST += tests/perf

# mk/ops.mk - included by Makefile.am (one fragment per area; use += on the shared
# variables: TESTS, check_PROGRAMS, EXTRA_DIST, SCRIPT_DIRS, lib_libtlsrelay_core_la_SOURCES ...).
#
# Know before you enforce (issue 15): the TLS history (an observer of each
# delivery, stored in SQLite loaded with dlopen), the shadow policy, the
# verdict of a demand on what a session showed, tlsrelay-report (summary,
# explain, suggest, html, metrics), tlsrelayd's metrics listener, the
# resolver self-test.
lib_libtlsrelay_core_la_SOURCES += \
	lib/tls_verdict.c \
	lib/sqlite_dl.c lib/sqlite_dl.h \
	lib/history_store.h lib/history_sqlite.c \
	lib/history.c lib/history.h \
	lib/shadow.c lib/shadow.h \
	lib/dnssec_check.c

check_PROGRAMS += tests/unit/test_verdict tests/unit/test_history
tests_unit_test_verdict_SOURCES = tests/unit/test_verdict.c tests/unit/tap.h
tests_unit_test_verdict_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_verdict_LDADD = $(UNIT_LDADD)
tests_unit_test_history_SOURCES = tests/unit/test_history.c tests/unit/tap.h
tests_unit_test_history_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_history_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_verdict tests/unit/test_history

lib_libtlsrelay_core_la_SOURCES += \
	lib/query.h \
	lib/report.c lib/report.h lib/report_agg.c lib/report_explain.c \
	lib/report_html.c lib/report_metrics.c

# tlsrelay-report: glue over tlsrelay_report() (lib/report*.c)
sbin_PROGRAMS += plugin/report/tlsrelay-report
plugin_report_tlsrelay_report_SOURCES = plugin/report/main.c
plugin_report_tlsrelay_report_LDADD = lib/libtlsrelay-core.la
man_MANS += doc/tlsrelay-report.8

# tlsrelayd's metrics listener and resolver self-test (glue; mk/daemon.mk has the rest)
plugin_daemon_tlsrelayd_SOURCES += plugin/daemon/metrics.c

SCRIPT_DIRS += tests/ops
TESTS += tests/ops/test_history.sh tests/ops/test_shadow.sh tests/ops/test_report.sh tests/ops/test_html.sh tests/ops/test_dnssec.sh tests/ops/test_readme_enforce.sh
EXTRA_DIST += tests/ops

# mk/tests.mk - included by Makefile.am: "make check".
#
# Every test prints TAP (Automake's tap-driver.sh counts each check) and
# declares its plan first: C tests with tap_plan() (tests/unit/tap.h),
# shell tests with tap_plan (tests/lib.sh). A check that does not run (an
# early return, an empty loop, a crash) then fails the test instead of
# shrinking it, and a test without a plan fails. tests/build/ tests the
# harness itself: the helpers, the plans, and that every test file of the
# tree is in TESTS.
#
# Adding a test:
# - a C unit test tests/unit/test_NAME.c: add tests/unit/test_NAME to
#   UNIT_TESTS (no stanza: its source is the default, it links LDADD and may
#   include any header of lib/);
# - a shell test: add it to SHELL_TESTS under its directory; a new directory
#   goes into TEST_DIRS (the build tree needs it for the .log files) and,
#   with what the tests read, into EXTRA_DIST.
# tests/build/test_harness.sh fails when a test file of the tree is in
# neither list.

LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
TEST_EXTENSIONS = .sh
SH_LOG_DRIVER = $(LOG_DRIVER)
# The Exim tests need EXIM (configure) and the ${dlfunc} object; those of
# the transport module the Exim source tree's binary and the module (in CI,
# CI=true, their absence fails them instead of skipping: module.sh).
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(abs_top_srcdir)'; top_builddir='$(abs_top_builddir)'; \
	export top_srcdir top_builddir; \
	EXIM='$(EXIM)'; export EXIM; \
	TLSRELAY_EXIM_SO='$(abs_top_builddir)/plugin/exim/.libs/tlsrelay_exim.so'; \
	export TLSRELAY_EXIM_SO; \
	EXIM_MODULE_BIN='$(EXIM_MODULE_BIN)'; EXIM_MODULE_DIR='$(EXIM_MODULE_DIR)'; \
	EXIM_MODULE_SO='$(abs_top_builddir)/plugin/exim/.libs/tlsrelay_transport.so'; \
	EXIM_MODULE_VERSION='$(EXIM_MODULE_VERSION)'; \
	export EXIM_MODULE_BIN EXIM_MODULE_DIR EXIM_MODULE_SO EXIM_MODULE_VERSION;

# --------------------------------------------------------------- unit tests
# Table-driven C tests of the library's parts (tests/unit/tap.h).
UNIT_TESTS = \
	tests/unit/test_admin \
	tests/unit/test_buf \
	tests/unit/test_config \
	tests/unit/test_ctx_warm \
	tests/unit/test_dane \
	tests/unit/test_dane_resolver \
	tests/unit/test_deliver_status \
	tests/unit/test_demand \
	tests/unit/test_dns_order \
	tests/unit/test_exim_result \
	tests/unit/test_fleet \
	tests/unit/test_history \
	tests/unit/test_history_journal \
	tests/unit/test_io \
	tests/unit/test_lmtp_server \
	tests/unit/test_message \
	tests/unit/test_msgreq \
	tests/unit/test_msgreq_prop \
	tests/unit/test_msgrules \
	tests/unit/test_no_echo \
	tests/unit/test_policy \
	tests/unit/test_policy_api \
	tests/unit/test_rcpt_dsn \
	tests/unit/test_dsn_params \
	tests/unit/test_rcpt_result \
	tests/unit/test_reply \
	tests/unit/test_sasl \
	tests/unit/test_status \
	tests/unit/test_sts_policy \
	tests/unit/test_tlsrpt \
	tests/unit/test_verdict
# dnsq prints tr_dns_mx/tr_dns_addrs results for tests/dns/test_dns.sh;
# tap_selftest runs tap.h's ways of declaring checks for
# tests/build/test_harness.sh (it needs nothing of the library).
check_PROGRAMS = $(UNIT_TESTS) tests/unit/dnsq tests/build/tap_selftest
tests_build_tap_selftest_LDADD =
noinst_HEADERS = tests/unit/tap.h tests/unit/testutil.h
# The one unit test of a program's part rather than the library's: the
# Exim transport module's translation of statuses into Exim results
# (mk/exim_module.mk builds it always; no Exim needed).
tests_unit_test_exim_result_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugin/exim
tests_unit_test_exim_result_LDADD = plugin/exim/libtransport_result.la $(LDADD)

# The fault build of tlsrelay-milter: the same code with a message
# allocation that always fails (tests/milter/alloc_fail.c replaces
# plugin/milter/milter_alloc.c, the link-time seam of
# plugin/milter/milter.h), for tests/milter/test_milter.sh case h. Built
# by "make check" only; never installed.
if ENABLE_MILTER
check_PROGRAMS += tests/milter/tlsrelay-milter-allocfail
tests_milter_tlsrelay_milter_allocfail_SOURCES = plugin/milter/main.c plugin/milter/milter.c \
	plugin/milter/milter.h tests/milter/alloc_fail.c
tests_milter_tlsrelay_milter_allocfail_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugin/milter
tests_milter_tlsrelay_milter_allocfail_CFLAGS = $(AM_CFLAGS) -pthread
tests_milter_tlsrelay_milter_allocfail_LDADD = $(LDADD) $(MILTER_LIBS)
endif

# ------------------------------------------------------- fuzz targets
# Every target tests/fuzz/fuzz_NAME.c is built twice (doc/FUZZING.md):
# - always, as tests/fuzz/replay_NAME (tests/fuzz/replay.c as main):
#   tests/fuzz/test_corpus.sh runs it over tests/fuzz/corpus/NAME, so the
#   seeds and every crash reproducer are regression tests in every build,
#   the sanitizer build included;
# - with --enable-fuzz (clang), as the libFuzzer program tests/fuzz/fuzz_NAME.
# "make fuzz" runs each libFuzzer program for FUZZ_SECONDS on a scratch copy
# of its corpus (tests/fuzz/run.sh); FUZZ_TARGETS picks some, FUZZ_SAVE=1
# merges new coverage back into the committed corpus.
FUZZ_NAMES = reply ehlo config policy sasl session msgreq sts rcpt lmtp dsn redirect hjournal
FUZZ_SECONDS = 60
FUZZ_TARGETS = $(FUZZ_NAMES)
check_PROGRAMS += \
	tests/fuzz/replay_reply tests/fuzz/replay_ehlo tests/fuzz/replay_config \
	tests/fuzz/replay_policy tests/fuzz/replay_sasl tests/fuzz/replay_session \
	tests/fuzz/replay_msgreq tests/fuzz/replay_sts tests/fuzz/replay_rcpt \
	tests/fuzz/replay_lmtp tests/fuzz/replay_dsn tests/fuzz/replay_redirect tests/fuzz/replay_hjournal
tests_fuzz_replay_reply_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_reply.c
tests_fuzz_replay_ehlo_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_ehlo.c
tests_fuzz_replay_config_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_config.c
tests_fuzz_replay_policy_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_policy.c
tests_fuzz_replay_sasl_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_sasl.c
tests_fuzz_replay_session_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_session.c
tests_fuzz_replay_msgreq_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_msgreq.c
tests_fuzz_replay_sts_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_sts.c
tests_fuzz_replay_rcpt_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_rcpt.c
tests_fuzz_replay_lmtp_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_lmtp.c
tests_fuzz_replay_dsn_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_dsn.c
tests_fuzz_replay_redirect_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_redirect.c
tests_fuzz_replay_hjournal_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_hjournal.c
noinst_HEADERS += tests/fuzz/fuzz.h
if TR_FUZZ
# Same objects as the replay programs (tests/fuzz/fuzz_NAME.c is each one's
# default source); only the link differs.
check_PROGRAMS += \
	tests/fuzz/fuzz_reply tests/fuzz/fuzz_ehlo tests/fuzz/fuzz_config \
	tests/fuzz/fuzz_policy tests/fuzz/fuzz_sasl tests/fuzz/fuzz_session \
	tests/fuzz/fuzz_msgreq tests/fuzz/fuzz_sts tests/fuzz/fuzz_rcpt tests/fuzz/fuzz_lmtp \
	tests/fuzz/fuzz_dsn tests/fuzz/fuzz_redirect tests/fuzz/fuzz_hjournal
tests_fuzz_fuzz_reply_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_ehlo_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_config_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_policy_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_sasl_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_session_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_msgreq_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_sts_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_rcpt_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_lmtp_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_dsn_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_redirect_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_hjournal_LDFLAGS = $(FUZZ_LDFLAGS)

fuzz: $(FUZZ_TARGETS:%=tests/fuzz/fuzz_%)
	$(SHELL) $(top_srcdir)/tests/fuzz/run.sh -s '$(FUZZ_SECONDS)' \
		-S '$(top_srcdir)/tests/fuzz' -B '$(abs_top_builddir)/tests/fuzz' $(FUZZ_TARGETS)
else
fuzz:
	@echo "make fuzz: configure with --enable-fuzz (and CC=clang) first; see doc/FUZZING.md" >&2
	@exit 1
endif
.PHONY: fuzz

# -------------------------------------------------------------- shell tests
# By directory, each with what it exercises. They use tests/lib.sh; most
# start private Postfix instances, peers and resolvers on loopback and need
# root (they skip, saying why, when something is missing).
SHELL_TESTS =
# the harness itself: the TAP helpers, plans, the test lists; the API
# boundary of the programs; no program sees the context's inside (ctx.h),
# through any header
SHELL_TESTS += tests/build/test_harness.sh tests/build/test_api_boundary.sh \
	tests/layers/test_program_headers.sh
# the transport against tests/peer/peer.py, a scripted adversarial server:
# the fault matrix, recipients, bad input, byte integrity, message_rules
SHELL_TESTS += tests/peer/test_transport.sh tests/peer/test_policy.sh \
	tests/peer/test_faults.sh tests/peer/test_rcpts.sh tests/peer/test_badinput.sh \
	tests/peer/test_integrity.sh tests/peer/test_rules.sh
# DNS (unbound on loopback): the resolver, MX delivery and its faults; TXT
# lookups on the resolver core against a scripted DNS server
SHELL_TESTS += tests/dns/test_dns.sh tests/dns/test_mx_delivery.sh tests/dns/test_mx_faults.sh \
	tests/dns/test_dns_txt.sh
# DANE (a signed zone)
SHELL_TESTS += tests/dane/test_dane.sh
# MTA-STS and TLS-RPT (unbound, an HTTPS policy server, peers)
SHELL_TESTS += tests/sts/test_sts.sh
# end to end: real Postfix instances around the transport; the TLS session
# cache; valgrind
SHELL_TESTS += tests/e2e/test_postfix.sh tests/e2e/test_postfix_policy.sh \
	tests/e2e/test_postfix_rcpts.sh tests/e2e/test_bdat_postfix.sh \
	tests/e2e/test_session_cache.sh tests/e2e/test_valgrind.sh
# the admin tools: tlsrelay -n/-d/-t, tlsrelay-probe; the session's 530
# and loop rules against a scripted server
SHELL_TESTS += tests/admin/test_confcheck.sh tests/admin/test_probe.sh \
	tests/admin/test_session.sh
# tlsrelayd and tlsrelayc: against real Postfix, the fault matrix through the
# daemon (via_daemon.sh), who may use the socket; connection reuse (peer.py
# and Postfix; routed by nexthop between processes; processes killed during
# a burst; no descriptor or memory leak over 10,000 messages)
SHELL_TESTS += tests/daemon/test_daemon.sh tests/daemon/test_faults_daemon.sh \
	tests/daemon/test_daemon_access.sh tests/daemon/test_reuse.sh \
	tests/daemon/test_reuse_routing.sh tests/daemon/test_reuse_faults.sh \
	tests/daemon/test_reuse_soak.sh tests/daemon/test_lmtp.sh
# the operations layer: the TLS history, shadow policy, tlsrelay-report
# (summary, explain, html), the resolver's DNSSEC self-test, the README's
# "enforce" walk-through
SHELL_TESTS += tests/ops/test_history.sh tests/ops/test_history_busy.sh tests/ops/test_history_daemon.sh tests/ops/test_shadow.sh tests/ops/test_report.sh \
	tests/ops/test_html.sh tests/ops/test_dnssec.sh tests/ops/test_readme_enforce.sh
# the fleet store: a real redis-server on loopback and three tlsrelay hosts
# (tests/fleet/fleet.sh; tlsrelayd for one)
SHELL_TESTS += tests/fleet/test_fleet_sts.sh tests/fleet/test_fleet_rpt.sh \
	tests/fleet/test_fleet_show.sh tests/fleet/test_fleet_tls.sh \
	tests/fleet/test_fleet_cluster.sh
# the lock that makes the fleet tests take turns on 127.0.0.180-189:25
CLEANFILES += tests/fleet/.port25.lock
# the milter (with Postfix) and sendmail 8 (scripts/prepare.d/milter.sh)
SHELL_TESTS += tests/milter/test_milter.sh tests/milter/test_milter_rewrite.sh \
	tests/milter/test_milter_headers.sh tests/sendmail/test_sendmail.sh
# Exim: the pipe transport and the ${dlfunc} object; the transport module
# with the Exim of --with-exim-source (its configure checks, a quick start,
# deliveries handed to tlsrelayd: daemon_socket)
SHELL_TESTS += tests/exim/test_exim.sh tests/exim/test_exim_dlfunc.sh \
	tests/exim-module/test_module.sh tests/exim-module/test_configure.sh \
	tests/exim-module/test_quickstart.sh tests/exim-module/test_daemon.sh \
	tests/exim-module/test_dsn.sh
# what is linked (no libcurl, SQLite, libtlsrelay.so...); the session memo
# of tlsrelayd's delivery processes
SHELL_TESTS += tests/perf/test_linked.sh tests/perf/test_cache_memo.sh
# the committed fuzz corpora, replayed
SHELL_TESTS += tests/fuzz/test_corpus.sh
# the docs: README blocks, every error documented, the quick starts as
# written (test_quickstart.sh and test_debian.sh install packages: only with
# CI=true or TR_TEST_PACKAGES=yes), the paths in the installed pages and
# samples, the status convention on every prototype of lib/*.h
SHELL_TESTS += tests/docs/test_readme.sh tests/docs/test_errors_documented.sh \
	tests/docs/test_quickstart.sh tests/docs/test_paths.sh \
	tests/docs/test_status_convention.sh
# the Debian packages
SHELL_TESTS += tests/pkg/test_debian.sh

TESTS = $(UNIT_TESTS) $(SHELL_TESTS)

# The test scripts live in the source tree, their .log/.trs files in the
# build tree, whose directories a VPATH build (distcheck) lacks.
TEST_DIRS = tests/build tests/layers tests/peer tests/dns tests/dane tests/sts tests/e2e \
	tests/admin tests/daemon tests/ops tests/fleet tests/milter tests/sendmail tests/exim \
	tests/exim-module tests/perf tests/fuzz tests/docs tests/pkg
check_DATA = tests/.testdirs
tests/.testdirs: Makefile
	$(MKDIR_P) $(TEST_DIRS)
	touch $@
CLEANFILES += tests/.testdirs

# What the shell tests read: their directories whole (scripts, peers,
# zones, scenarios, corpora), the certificates and tests/lib.sh.
EXTRA_DIST += tests/lib.sh tests/certs $(TEST_DIRS)

# For tests/build/test_harness.sh: the lists as make has them.
print-tests:
	@echo $(TESTS)
.PHONY: print-tests

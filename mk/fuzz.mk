# mk/fuzz.mk - fuzzing (tests/fuzz/, doc/FUZZING.md). Included by Makefile.am.
#
# Every target tests/fuzz/fuzz_NAME.c is built twice:
# - always, as tests/fuzz/replay_NAME (with tests/fuzz/replay.c as main):
#   "make check" runs it over tests/fuzz/corpus/NAME (test_corpus.sh), so the
#   seeds and every crash reproducer are regression tests in every build,
#   the sanitizer build of scripts/test included;
# - with --enable-fuzz (clang), as the libFuzzer program tests/fuzz/fuzz_NAME.
# "make fuzz" runs each libFuzzer program for FUZZ_SECONDS on a scratch copy
# of its corpus (tests/fuzz/run.sh); FUZZ_TARGETS picks some, FUZZ_SAVE=1
# merges new coverage back into the committed corpus.

FUZZ_NAMES = reply ehlo config policy sasl session msgreq
FUZZ_SECONDS = 60
FUZZ_TARGETS = $(FUZZ_NAMES)
FUZZ_CFLAGS_COMMON = $(UNIT_CFLAGS)
FUZZ_LIBS = lib/libtlsrelay-core.la

check_PROGRAMS += \
	tests/fuzz/replay_reply tests/fuzz/replay_ehlo tests/fuzz/replay_config \
	tests/fuzz/replay_policy tests/fuzz/replay_sasl tests/fuzz/replay_session \
	tests/fuzz/replay_msgreq
tests_fuzz_replay_reply_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_reply.c tests/fuzz/fuzz.h
tests_fuzz_replay_reply_CFLAGS = $(FUZZ_CFLAGS_COMMON)
tests_fuzz_replay_reply_LDADD = $(FUZZ_LIBS)
tests_fuzz_replay_ehlo_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_ehlo.c tests/fuzz/fuzz.h
tests_fuzz_replay_ehlo_CFLAGS = $(FUZZ_CFLAGS_COMMON)
tests_fuzz_replay_ehlo_LDADD = $(FUZZ_LIBS)
tests_fuzz_replay_config_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_config.c tests/fuzz/fuzz.h
tests_fuzz_replay_config_CFLAGS = $(FUZZ_CFLAGS_COMMON)
tests_fuzz_replay_config_LDADD = $(FUZZ_LIBS)
tests_fuzz_replay_policy_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_policy.c tests/fuzz/fuzz.h
tests_fuzz_replay_policy_CFLAGS = $(FUZZ_CFLAGS_COMMON)
tests_fuzz_replay_policy_LDADD = $(FUZZ_LIBS)
tests_fuzz_replay_sasl_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_sasl.c tests/fuzz/fuzz.h
tests_fuzz_replay_sasl_CFLAGS = $(FUZZ_CFLAGS_COMMON)
tests_fuzz_replay_sasl_LDADD = $(FUZZ_LIBS)
tests_fuzz_replay_session_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_session.c tests/fuzz/fuzz.h
tests_fuzz_replay_session_CFLAGS = $(FUZZ_CFLAGS_COMMON)
tests_fuzz_replay_session_LDADD = $(FUZZ_LIBS)
tests_fuzz_replay_msgreq_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_msgreq.c tests/fuzz/fuzz.h
tests_fuzz_replay_msgreq_CFLAGS = $(FUZZ_CFLAGS_COMMON)
tests_fuzz_replay_msgreq_LDADD = $(FUZZ_LIBS)

TESTS += tests/fuzz/test_corpus.sh tests/e2e/test_valgrind.sh
SCRIPT_DIRS += tests/fuzz
EXTRA_DIST += tests/fuzz doc/FUZZING.md

if TR_FUZZ
check_PROGRAMS += \
	tests/fuzz/fuzz_reply tests/fuzz/fuzz_ehlo tests/fuzz/fuzz_config \
	tests/fuzz/fuzz_policy tests/fuzz/fuzz_sasl tests/fuzz/fuzz_session \
	tests/fuzz/fuzz_msgreq
tests_fuzz_fuzz_reply_SOURCES = tests/fuzz/fuzz_reply.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_reply_CFLAGS = $(FUZZ_CFLAGS_COMMON)
tests_fuzz_fuzz_reply_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_reply_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_ehlo_SOURCES = tests/fuzz/fuzz_ehlo.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_ehlo_CFLAGS = $(FUZZ_CFLAGS_COMMON)
tests_fuzz_fuzz_ehlo_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_ehlo_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_config_CFLAGS = $(FUZZ_CFLAGS_COMMON)
tests_fuzz_fuzz_config_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_config_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_policy_SOURCES = tests/fuzz/fuzz_policy.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_policy_CFLAGS = $(FUZZ_CFLAGS_COMMON)
tests_fuzz_fuzz_policy_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_policy_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_sasl_SOURCES = tests/fuzz/fuzz_sasl.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_sasl_CFLAGS = $(FUZZ_CFLAGS_COMMON)
tests_fuzz_fuzz_sasl_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_sasl_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_session_SOURCES = tests/fuzz/fuzz_session.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_session_CFLAGS = $(FUZZ_CFLAGS_COMMON)
tests_fuzz_fuzz_session_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_session_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_msgreq_SOURCES = tests/fuzz/fuzz_msgreq.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_msgreq_CFLAGS = $(FUZZ_CFLAGS_COMMON)
tests_fuzz_fuzz_msgreq_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_msgreq_LDADD = $(FUZZ_LIBS)

fuzz: $(FUZZ_TARGETS:%=tests/fuzz/fuzz_%)
	$(SHELL) $(top_srcdir)/tests/fuzz/run.sh -s '$(FUZZ_SECONDS)' \
		-S '$(top_srcdir)/tests/fuzz' -B '$(abs_top_builddir)/tests/fuzz' $(FUZZ_TARGETS)
else
fuzz:
	@echo "make fuzz: configure with --enable-fuzz (and CC=clang) first; see doc/FUZZING.md" >&2
	@exit 1
endif
.PHONY: fuzz

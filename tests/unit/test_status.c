/*
 * test_status.c - status -> exit code (and its flags), the multi-recipient summary,
 * envelope address checks and xtext encoding. Table-driven, named cases.
 */
#include "config.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "tap.h"
#include "deliver.h"
#include "log.h"
#include "observe.h"
#include "smtp_client.h"
#include "status.h"

static void test_exit_codes(void)
{
	static const struct {
		const char *name;
		tlsrelay_cat cat;
		const char *dsn;
		int want;
	} cases[] = {
		{ "ok is 0",                        TLSRELAY_OK,       "2.0.0", 0 },
		{ "temporary is EX_TEMPFAIL",       TLSRELAY_TEMP,     "4.7.5", 75 },
		{ "internal is EX_TEMPFAIL",        TLSRELAY_INTERNAL, "4.3.0", 75 },
		{ "unknown user is EX_NOUSER",      TLSRELAY_PERM,     "5.1.1", 67 },
		{ "other permanent is EX_UNAVAILABLE", TLSRELAY_PERM,  "5.7.1", 69 },
		{ "5.1.10 null MX is EX_UNAVAILABLE", TLSRELAY_PERM,   "5.1.10", 69 },
		{ "usage is EX_USAGE",              TLSRELAY_USAGE,    "5.1.3", 64 },
		{ "data is EX_DATAERR",             TLSRELAY_DATAERR,  "5.6.0", 65 },
		{ "config is EX_CONFIG",            TLSRELAY_CONFIG,   "4.3.5", 78 },
		{ "unknown category is EX_TEMPFAIL", (tlsrelay_cat)99, "", 75 },
	};
	tap_expect(NROWS(cases) * 2);   /* the translation; flags 0 the same */
	for (size_t i = 0; i < NROWS(cases); i++) {
		tlsrelay_status st;
		tr_status_set(&st, cases[i].cat, cases[i].dsn, "x");
		TAP_INT(tlsrelay_status_exit(&st), cases[i].want, cases[i].name);
		TAP_INT(tlsrelay_status_exit_flags(&st, 0), cases[i].want, "flags 0: the same");
	}
}

/* The program variants: flags of the one translation, each changing one
 * row and leaving the others alone. */
static void test_exit_flags(void)
{
	static const struct {
		const char *name;
		unsigned flags;
		tlsrelay_cat cat;
		const char *dsn;
		int want;
	} cases[] = {
		{ "-T: config is EX_TEMPFAIL",        TLSRELAY_EXIT_CONFIG_TEMP, TLSRELAY_CONFIG, "4.3.5", 75 },
		{ "-T: usage stays EX_USAGE",          TLSRELAY_EXIT_CONFIG_TEMP, TLSRELAY_USAGE,  "5.1.3", 64 },
		{ "-T: unknown user stays EX_NOUSER",  TLSRELAY_EXIT_CONFIG_TEMP, TLSRELAY_PERM,   "5.1.1", 67 },
		{ "-T: data stays EX_DATAERR",         TLSRELAY_EXIT_CONFIG_TEMP, TLSRELAY_DATAERR, "5.6.0", 65 },
		{ "-T: ok stays 0",                    TLSRELAY_EXIT_CONFIG_TEMP, TLSRELAY_OK,     "2.0.0", 0 },
		{ "probe: 5.1.1 is EX_UNAVAILABLE",    TLSRELAY_EXIT_NO_NOUSER,   TLSRELAY_PERM,   "5.1.1", 69 },
		{ "probe: other permanent EX_UNAVAILABLE", TLSRELAY_EXIT_NO_NOUSER, TLSRELAY_PERM, "5.7.1", 69 },
		{ "probe: config stays EX_CONFIG",     TLSRELAY_EXIT_NO_NOUSER,   TLSRELAY_CONFIG, "4.3.5", 78 },
		{ "service: internal is EX_OSERR",     TLSRELAY_EXIT_OSERR,       TLSRELAY_INTERNAL, "4.3.0", 71 },
		{ "service: temporary stays EX_TEMPFAIL", TLSRELAY_EXIT_OSERR,    TLSRELAY_TEMP,   "4.4.3", 75 },
		{ "service: config stays EX_CONFIG",   TLSRELAY_EXIT_OSERR,       TLSRELAY_CONFIG, "4.3.5", 78 },
		{ "all flags: config EX_TEMPFAIL",     ~0u,                       TLSRELAY_CONFIG, "4.3.5", 75 },
		{ "all flags: 5.1.1 EX_UNAVAILABLE",   ~0u,                       TLSRELAY_PERM,   "5.1.1", 69 },
		{ "all flags: internal EX_OSERR",      ~0u,                       TLSRELAY_INTERNAL, "4.3.0", 71 },
	};
	tap_expect(NROWS(cases));
	for (size_t i = 0; i < NROWS(cases); i++) {
		tlsrelay_status st;
		tr_status_set(&st, cases[i].cat, cases[i].dsn, "x");
		TAP_INT(tlsrelay_status_exit_flags(&st, cases[i].flags), cases[i].want, cases[i].name);
	}
}

static void no_event(void *arg, const tr_event *ev)
{
	(void)arg;
	(void)ev;
}

/* What fn does in a child: its standard error, and how it ended. */
static void in_child(void (*fn)(void), char *err, size_t cap, int *status)
{
	int p[2];
	ssize_t n;
	size_t got = 0;
	pid_t pid;

	err[0] = '\0';
	*status = -1;
	if (pipe(p) != 0 || (pid = fork()) < 0)
		return;
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		fn();
		_exit(0);
	}
	close(p[1]);
	while (got < cap - 1 && (n = read(p[0], err + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	err[got] = '\0';
	close(p[0]);
	waitpid(pid, status, 0);
}

static void add_too_many(void)
{
	tr_observers obs = { 0 };

	for (int i = 0; i <= TR_OBSERVERS_MAX; i++)
		tr_observe_add(&obs, no_event, NULL);
}

static void panic_now(void)
{
	tr_panic(NULL, "a test of %s\r\nwith a line break", "tr_panic");
}

/* An impossible state is an assertion: logged, then abort(). */
static void test_panic(void)
{
	char err[4096], want[100];
	int status;

	tap_expect(4);
	in_child(panic_now, err, sizeof err, &status);
	TAP_INT(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, 1, "tr_panic: abort()");
	tap_ok(strstr(err, "internal error: a test of tr_panic  with a line break\n") != NULL,
	       "tr_panic: one line \"internal error: ...\" (no logger: standard error)", err);
	in_child(add_too_many, err, sizeof err, &status);
	TAP_INT(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, 1,
	        "observers: one more than TR_OBSERVERS_MAX is a panic, not a silent drop");
	snprintf(want, sizeof want, "internal error: more than %d observers of a delivery",
	         TR_OBSERVERS_MAX);
	tap_ok(strstr(err, want) != NULL, "observers: the panic says why", err);
}

static void test_status_text(void)
{
	tlsrelay_status st;
	char longtext[2000];

	tap_expect(5);
	tr_status_set(&st, TLSRELAY_TEMP, "4.4.2", "a\r\nb\tc%s", "\x01");
	TAP_STR(st.text, "a  b c ", "control bytes become spaces (one line)");
	memset(longtext, 'x', sizeof longtext - 1);
	longtext[sizeof longtext - 1] = '\0';
	tr_status_set(&st, TLSRELAY_TEMP, NULL, "%s", longtext);
	TAP_INT(strlen(st.text), TLSRELAY_TEXT_MAX - 1, "long text is truncated");
	TAP_STR(st.dsn, "", "NULL dsn is empty");
	TAP_STR(tlsrelay_cat_name(TLSRELAY_PERM), "permanent", "category name");
	TAP_STR(tlsrelay_cat_name((tlsrelay_cat)42), "unknown", "unknown category name");
}

/* The DSN field (copied, truncated to TLSRELAY_DSN_MAX - 1 as snprintf
 * would) and tr_status_ok over a status that held something else. */
static void test_status_fields(void)
{
	static const struct {
		const char *name, *dsn, *want;
	} cases[] = {
		{ "dsn copied", "4.7.5", "4.7.5" },
		{ "NULL dsn empty", NULL, "" },
		{ "empty dsn", "", "" },
		{ "dsn of 15 bytes kept", "5.123.456789012", "5.123.456789012" },
		{ "dsn over 15 bytes truncated", "5.123.4567890123456", "5.123.456789012" },
	};
	tlsrelay_status st;
	char name[128];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		tap_expect(1);
		memset(&st, 'z', sizeof st);
		tr_status_set(&st, TLSRELAY_TEMP, cases[i].dsn, "t");
		snprintf(name, sizeof name, "status: %s", cases[i].name);
		TAP_STR(st.dsn, cases[i].want, name);
	}
	tap_expect(4);
	memset(&st, 'z', sizeof st);
	tr_status_set(&st, TLSRELAY_PERM, "5.1.1", "user unknown");
	TAP_INT(tr_status_ok(&st), TLSRELAY_OK, "status ok: returns OK");
	tap_ok(st.cat == TLSRELAY_OK, "status ok: category ok", NULL);
	TAP_STR(st.dsn, "2.0.0", "status ok: dsn 2.0.0");
	TAP_STR(st.text, "", "status ok: text empty");
	tap_expect(1);
	TAP_INT(tr_status_ok(NULL), TLSRELAY_OK, "status ok: NULL status");
}

/* Summary: a row gives each recipient's (cat, dsn). */
#define MAXR 4
static void test_summary(void)
{
	static const struct {
		const char *name;
		int n;
		tlsrelay_cat cat[MAXR];
		const char *dsn[MAXR];
		tlsrelay_cat want;
		const char *want_dsn;
		int want_exit;
	} cases[] = {
		{ "all sent", 2, { TLSRELAY_OK, TLSRELAY_OK }, { "2.0.0", "2.0.0" },
		  TLSRELAY_OK, "2.0.0", 0 },
		{ "one deferred of two", 2, { TLSRELAY_OK, TLSRELAY_TEMP }, { "2.0.0", "4.2.0" },
		  TLSRELAY_TEMP, "4.2.0", 75 },
		{ "internal counts as temporary", 1, { TLSRELAY_INTERNAL }, { "4.3.0" },
		  TLSRELAY_TEMP, "4.3.0", 75 },
		{ "sent + bounced is retried (no loss)", 2, { TLSRELAY_OK, TLSRELAY_PERM },
		  { "2.0.0", "5.1.1" }, TLSRELAY_TEMP, "4.3.0", 75 },
		{ "temp wins over perm", 2, { TLSRELAY_PERM, TLSRELAY_TEMP }, { "5.7.1", "4.4.1" },
		  TLSRELAY_TEMP, "4.4.1", 75 },
		{ "every recipient unknown", 2, { TLSRELAY_PERM, TLSRELAY_PERM },
		  { "5.1.1", "5.1.1" }, TLSRELAY_PERM, "5.1.1", 67 },
		{ "unknown + other permanent", 2, { TLSRELAY_PERM, TLSRELAY_PERM },
		  { "5.1.1", "5.7.1" }, TLSRELAY_PERM, "5.0.0", 69 },
		{ "other permanent first", 2, { TLSRELAY_PERM, TLSRELAY_PERM },
		  { "5.7.1", "5.1.1" }, TLSRELAY_PERM, "5.7.1", 69 },
	};
	tap_expect(NROWS(cases) * 3);
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		tlsrelay_rcpt r[MAXR];
		tlsrelay_request q = { "", NULL, NULL, NULL, NULL, r, (size_t)cases[c].n };
		tlsrelay_status st;
		char name[200];

		for (int i = 0; i < cases[c].n; i++) {
			r[i].addr = "x@example.test";
			tr_status_set(&r[i].status, cases[c].cat[i], cases[c].dsn[i], "r%d", i);
		}
		tr_deliver_summary(&q, &st);
		snprintf(name, sizeof name, "summary: %s: category", cases[c].name);
		TAP_INT(st.cat, cases[c].want, name);
		snprintf(name, sizeof name, "summary: %s: dsn", cases[c].name);
		TAP_STR(st.dsn, cases[c].want_dsn, name);
		snprintf(name, sizeof name, "summary: %s: exit", cases[c].name);
		TAP_INT(tlsrelay_status_exit(&st), cases[c].want_exit, name);
	}
}

static void test_addresses(void)
{
	static const struct {
		const char *name, *addr;
		int allow_empty;
		tlsrelay_cat want;
	} cases[] = {
		{ "plain address", "user@example.test", 0, TLSRELAY_OK },
		{ "utf-8 address", "j\xc3\xb8rn@example.test", 0, TLSRELAY_OK },
		{ "null sender allowed", "", 1, TLSRELAY_OK },
		{ "empty recipient refused", "", 0, TLSRELAY_USAGE },
		{ "CR LF injection refused", "a@b\r\nRCPT TO:<c@d>", 0, TLSRELAY_USAGE },
		{ "angle bracket refused", "<a@b>", 0, TLSRELAY_USAGE },
		{ "DEL refused", "a\x7f@b", 0, TLSRELAY_USAGE },
	};
	tap_expect(NROWS(cases) + 1);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		tlsrelay_status st;
		TAP_INT(tlsrelay_check_address(cases[i].addr, cases[i].allow_empty, &st),
		        cases[i].want, cases[i].name);
	}
	{
		char big[600];
		tlsrelay_status st;
		memset(big, 'a', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		TAP_INT(tlsrelay_check_address(big, 0, &st), TLSRELAY_USAGE, "over-long address refused");
	}
}

static void test_xtext(void)
{
	static const struct { const char *name, *in, *want; } cases[] = {
		{ "xtext plain", "abc-123", "abc-123" },
		{ "xtext plus and equals", "a+b=c", "a+2Bb+3Dc" },
		{ "xtext space and 8-bit", "a b\xc3", "a+20b+C3" },
		{ "xtext empty", "", "" },
	};
	char out[64];

	tap_expect(NROWS(cases) + 1);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		TAP_STR(tr_xtext(cases[i].in, out, sizeof out), cases[i].want, cases[i].name);
	TAP_STR(tr_xtext("++++", out, 9), "+2B+2B", "xtext truncates on whole escapes");
}

/* Several recipients: the output line names them, bounded. */
static void test_summary_lists(void)
{
	static char addrs[60][120];
	tlsrelay_rcpt r[60];
	tlsrelay_request q = { "", NULL, NULL, NULL, NULL, r, 3 };
	tlsrelay_status st;

	tap_expect(5);
	r[0].addr = "a@example.test";
	tr_status_set(&r[0].status, TLSRELAY_OK, "2.0.0", "sent");
	r[1].addr = "b@example.test";
	tr_status_set(&r[1].status, TLSRELAY_TEMP, "4.2.0", "busy");
	r[2].addr = "c@example.test";
	tr_status_set(&r[2].status, TLSRELAY_PERM, "5.1.1", "unknown");
	tr_deliver_summary(&q, &st);
	TAP_STR(st.text, "busy [deferred: <b@example.test>; refused: <c@example.test>; "
	        "accepted: <a@example.test>]", "summary lists: who was deferred, refused, accepted");
	q.rcpts = r + 1;
	q.nrcpts = 1;
	tr_deliver_summary(&q, &st);
	TAP_STR(st.text, "busy", "summary lists: none for one recipient");
	/* A temporary result never prints a 5.x.x DSN (Postfix would bounce). */
	tr_status_set(&r[1].status, TLSRELAY_TEMP, "5.7.1", "odd");
	tr_deliver_summary(&q, &st);
	TAP_STR(st.dsn, "4.0.0", "summary: temporary with a 5.x.x DSN prints 4.0.0");
	/* 60 long addresses: the line stays within TLSRELAY_TEXT_MAX, ends with "more]". */
	for (int i = 0; i < 60; i++) {
		snprintf(addrs[i], sizeof addrs[i], "%0100d@example.test", i);
		r[i].addr = addrs[i];
		tr_status_set(&r[i].status, i % 3 == 0 ? TLSRELAY_OK : i % 3 == 1 ? TLSRELAY_TEMP
		              : TLSRELAY_PERM, "4.0.0", "%0400d", i);
	}
	q.rcpts = r;
	q.nrcpts = 60;
	tr_deliver_summary(&q, &st);
	TAP_INT(strlen(st.text) < TLSRELAY_TEXT_MAX, 1, "summary lists: bounded");
	TAP_INT(strstr(st.text, "... 20 more]") != NULL, 1, "summary lists: \"... N more\" at the end");
}

int main(void)
{
	test_exit_codes();
	test_exit_flags();
	test_panic();
	test_status_text();
	test_status_fields();
	test_summary();
	test_summary_lists();
	test_addresses();
	test_xtext();
	return tap_done();
}

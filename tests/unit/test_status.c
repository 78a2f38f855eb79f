/*
 * test_status.c - status -> exit code, the multi-recipient summary,
 * envelope address checks and xtext encoding. Table-driven, named cases.
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "tap.h"
#include "deliver.h"
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
	tap_expect(NROWS(cases));
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		tlsrelay_status st;
		tr_status_set(&st, cases[i].cat, cases[i].dsn, "x");
		TAP_INT(tlsrelay_status_exit(&st), cases[i].want, cases[i].name);
	}
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
	test_status_text();
	test_summary();
	test_summary_lists();
	test_addresses();
	test_xtext();
	return tap_done();
}

/*
 * test_rcpt_result.c - lib/rcpt_result.c: each recipient's result as a line
 * (tlsrelay -P) and its reading back by the Exim module. Tables of named
 * cases: lines that parse and lines that do not (hostile or damaged
 * output of another process), whole results (exit status, the daemon's
 * line, missing and duplicate recipients, too much output), the settling
 * rule, and format -> parse giving the same status back; dsn_aware
 * ("ok+dsn") read, written and read back, a line without it (an older
 * tlsrelay) read as 0.
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "tap.h"
#include "rcpt_result.h"

#define NROWS(a) (sizeof (a) / sizeof (a)[0])

typedef struct line_case {
	const char *name, *line;
	int ok;                 /* parses */
	size_t index;
	tlsrelay_cat cat;
	const char *dsn, *text;
	int aware;              /* dsn_aware read */
} line_case;

static const line_case lines[] = {
	{ "ok line", "rcpt 0 ok 2.0.0 250 2.0.0 Ok", 1, 0, TLSRELAY_OK, "2.0.0", "250 2.0.0 Ok", 0 },
	{ "temporary, no DSN, empty text", "rcpt 2 temporary - ", 1, 2, TLSRELAY_TEMP, "", "", 0 },
	{ "permanent 5.1.1", "rcpt 1 permanent 5.1.1 host h said: 550 5.1.1 no", 1, 1,
	  TLSRELAY_PERM, "5.1.1", "host h said: 550 5.1.1 no", 0 },
	{ "config 4.3.5", "rcpt 0 config 4.3.5 f:1: bad", 1, 0, TLSRELAY_CONFIG, "4.3.5", "f:1: bad", 0 },
	{ "8-bit text passes", "rcpt 0 temporary 4.0.0 caf\xc3\xa9", 1, 0, TLSRELAY_TEMP, "4.0.0", "caf\xc3\xa9", 0 },
	{ "index out of range", "rcpt 3 ok 2.0.0 x", 0, 0, 0, NULL, NULL, 0 },
	{ "no tag", "cpt 0 ok 2.0.0 x", 0, 0, 0, NULL, NULL, 0 },
	{ "index with a sign", "rcpt +1 ok 2.0.0 x", 0, 0, 0, NULL, NULL, 0 },
	{ "index zero-padded", "rcpt 01 ok 2.0.0 x", 0, 0, 0, NULL, NULL, 0 },
	{ "index huge", "rcpt 99999999999999999999 ok 2.0.0 x", 0, 0, 0, NULL, NULL, 0 },
	{ "unknown category", "rcpt 0 fine 2.0.0 x", 0, 0, 0, NULL, NULL, 0 },
	{ "category prefix", "rcpt 0 o 2.0.0 x", 0, 0, 0, NULL, NULL, 0 },
	{ "bad DSN class", "rcpt 0 ok 3.0.0 x", 0, 0, 0, NULL, NULL, 0 },
	{ "DSN with letters", "rcpt 0 ok 2.a.0 x", 0, 0, 0, NULL, NULL, 0 },
	{ "DSN too long", "rcpt 0 ok 2.1234.0 x", 0, 0, 0, NULL, NULL, 0 },
	{ "DSN with 4 parts", "rcpt 0 ok 2.0.0.0 x", 0, 0, 0, NULL, NULL, 0 },
	{ "no text separator", "rcpt 0 ok 2.0.0", 0, 0, 0, NULL, NULL, 0 },
	{ "control byte in text", "rcpt 0 ok 2.0.0 a\tb", 0, 0, 0, NULL, NULL, 0 },
	{ "double space", "rcpt  0 ok 2.0.0 x", 0, 0, 0, NULL, NULL, 0 },
	{ "other tag", "rcpts 0 ok 2.0.0 x", 0, 0, 0, NULL, NULL, 0 },
	{ "empty", "", 0, 0, 0, NULL, NULL, 0 },
	{ "ok+dsn: dsn_aware", "rcpt 1 ok+dsn 2.0.0 host h said: 250 Ok", 1, 1, TLSRELAY_OK, "2.0.0",
	  "host h said: 250 Ok", 1 },
	{ "ok without +dsn (older tlsrelay): dsn_aware 0", "rcpt 1 ok 2.0.0 250 Ok", 1, 1, TLSRELAY_OK,
	  "2.0.0", "250 Ok", 0 },
	{ "+dsn in the text is text", "rcpt 0 ok 2.0.0 +dsn x", 1, 0, TLSRELAY_OK, "2.0.0", "+dsn x", 0 },
	{ "+dsn after a category other than ok", "rcpt 0 temporary+dsn 4.2.0 x", 0, 0, 0, NULL, NULL, 0 },
	{ "+dsn as its own word", "rcpt 0 ok +dsn 2.0.0 x", 0, 0, 0, NULL, NULL, 0 },
	{ "+DSN in capitals", "rcpt 0 ok+DSN 2.0.0 x", 0, 0, 0, NULL, NULL, 0 },
	{ "+dsn with more after it", "rcpt 0 ok+dsnx 2.0.0 x", 0, 0, 0, NULL, NULL, 0 },
};

/* line (len bytes) after a summary line, as the output of a run (exit 75)
 * for 3 recipients:
 * 0 and recipient *idx's status when it was read, -1 when refused */
static int parse(const char *line, size_t len, size_t *idx, tlsrelay_status *st, int *aware)
{
	tlsrelay_rcpt r[3] = { { .addr = "a@x" }, { .addr = "b@x" }, { .addr = "c@x" } };
	char out[TR_RCPT_LINE_MAX + 700];
	tlsrelay_status sum;

	memcpy(out, "4.0.0 SUMMARY\n", 14);
	memcpy(out + 14, line, len);
	out[14 + len] = '\n';
	if (tr_rcpt_results_read(out, 14 + len + 1, 75, "", r, 3, &sum) != TLSRELAY_OK)
		return -1;
	/* the recipient that did not take the run's summary */
	for (size_t i = 0; i < 3; i++)
		if (strcmp(r[i].status.text, "SUMMARY") != 0) {
			*idx = i;
			*st = r[i].status;
			*aware = r[i].dsn_aware;
			return 0;
		}
	return -1;
}

static void test_lines(void)
{
	for (size_t i = 0; i < NROWS(lines); i++) {
		const line_case *c = &lines[i];
		tlsrelay_status st;
		size_t idx = 99;
		char name[160];
		int aware = -1, r = parse(c->line, strlen(c->line), &idx, &st, &aware);

		snprintf(name, sizeof name, "line: %s: %s", c->name, c->ok ? "parses" : "refused");
		tap_ok((r == 0) == c->ok, name, c->line);
		snprintf(name, sizeof name, "line: %s: fields", c->name);
		if (!c->ok)
			tap_ok(1, name, NULL);
		else
			tap_ok(idx == c->index && st.cat == c->cat && strcmp(st.dsn, c->dsn) == 0 &&
			       strcmp(st.text, c->text) == 0 && aware == c->aware, name, st.text);
	}
}

static void test_long_text(void)
{
	char line[TR_RCPT_LINE_MAX + 600];
	tlsrelay_status st;
	size_t idx;
	int aware;

	memcpy(line, "rcpt 0 ok 2.0.0 ", 16);
	memset(line + 16, 'x', TLSRELAY_TEXT_MAX);
	tap_ok(parse(line, 16 + TLSRELAY_TEXT_MAX, &idx, &st, &aware) < 0,
	       "line: a text of TLSRELAY_TEXT_MAX bytes is refused", NULL);
	tap_ok(parse(line, 16 + TLSRELAY_TEXT_MAX - 1, &idx, &st, &aware) == 0,
	       "line: one byte less parses", NULL);
}

static void test_roundtrip(void)
{
	tlsrelay_status in = { TLSRELAY_TEMP, "4.2.0", "host [h]:25 said: 450 4.2.0 \x01 later" }, out;
	char buf[TR_RCPT_LINE_MAX];
	tlsrelay_status ok = { TLSRELAY_OK, "2.0.0", "host [h]:25 said: 250 2.0.0 Ok" };
	size_t len = tr_rcpt_line_format(buf, sizeof buf, 2, &in, 1), idx = 0;
	int aware = -1;

	tap_ok(len > 0 && buf[len - 1] == '\n', "format: one line ending with LF", buf);
	tap_ok(parse(buf, len - 1, &idx, &out, &aware) == 0 && idx == 2 &&
	       out.cat == TLSRELAY_TEMP && strcmp(out.dsn, "4.2.0") == 0 &&
	       strcmp(out.text, "host [h]:25 said: 450 4.2.0 ? later") == 0 && aware == 0,
	       "format -> parse: the same status (a control byte as '?'), dsn_aware only with ok", buf);
	for (int want = 0; want <= 1; want++) {
		len = tr_rcpt_line_format(buf, sizeof buf, 1, &ok, want);
		tap_ok(parse(buf, len - 1, &idx, &out, &aware) == 0 && idx == 1 &&
		       out.cat == TLSRELAY_OK && strcmp(out.text, ok.text) == 0 && aware == want,
		       want ? "format -> parse: ok with dsn_aware 1 (\"ok+dsn\")"
		            : "format -> parse: ok with dsn_aware 0 (\"ok\")", buf);
	}
}

typedef struct result_case {
	const char *name, *out;
	int exit_status;
	const char *daemon_line;
	tlsrelay_cat want;              /* the function's return */
	tlsrelay_cat cats[3];           /* each recipient's category */
	const char *text1;              /* a part of recipient 1's text */
} result_case;

#define OK_ TLSRELAY_OK
#define TMP TLSRELAY_TEMP
#define PRM TLSRELAY_PERM
#define CFG TLSRELAY_CONFIG

static const result_case results[] = {
	{ "all delivered", "rcpt 0 ok 2.0.0 a\nrcpt 1 ok 2.0.0 b\nrcpt 2 ok 2.0.0 c\n", 0, "",
	  OK_, { OK_, OK_, OK_ }, "b" },
	{ "mixed after the summary line",
	  "4.2.0 deferred\nrcpt 0 ok 2.0.0 a\nrcpt 1 temporary 4.2.0 450 later\nrcpt 2 permanent 5.1.1 550 no\n",
	  75, NULL, OK_, { OK_, TMP, PRM }, "450 later" },
	{ "exit 0 but one not ok: malformed", "rcpt 0 ok 2.0.0 a\nrcpt 1 temporary 4.2.0 x\nrcpt 2 ok 2.0.0 c\n",
	  0, "", TMP, { TMP, TMP, TMP }, "malformed" },
	{ "exit 0 and a recipient missing: malformed", "rcpt 0 ok 2.0.0 a\nrcpt 2 ok 2.0.0 c\n",
	  0, "", TMP, { TMP, TMP, TMP }, "malformed" },
	{ "duplicate recipient: malformed", "rcpt 0 ok 2.0.0 a\nrcpt 0 ok 2.0.0 a\nrcpt 1 ok 2.0.0 b\nrcpt 2 ok 2.0.0 c\n",
	  0, "", TMP, { TMP, TMP, TMP }, "malformed" },
	{ "a bad tag line: malformed", "rcpt 0 ok 2.0.0 a\nrcpt x\n", 75, "", TMP, { TMP, TMP, TMP }, "malformed" },
	{ "last line without LF: malformed", "rcpt 0 permanent 5.0.0 a\nrcpt 1 permanent 5.0.0 b", 69, "",
	  TMP, { TMP, TMP, TMP }, "malformed" },
	{ "no lines, exit 78: config, the summary's text", "4.3.5 tlsrelay: f:3: unknown setting\n", 78, "",
	  OK_, { CFG, CFG, CFG }, "f:3: unknown setting" },
	{ "no lines, exit 75: temporary", "4.3.0 tlsrelay: standard input is closed\n", 75, "",
	  OK_, { TMP, TMP, TMP }, "standard input is closed" },
	{ "no output at all, exit 75", "", 75, "", OK_, { TMP, TMP, TMP }, "no result for this recipient" },
	{ "some lines missing, exit 75: the others take the summary",
	  "4.4.2 tlsrelay: delivery deadline exceeded\nrcpt 0 permanent 5.1.1 no\n", 75, "",
	  OK_, { PRM, TMP, TMP }, "delivery deadline exceeded" },
	{ "the daemon's line wins over any output", "rcpt 0 ok 2.0.0 a\nrcpt 1 ok 2.0.0 b\nrcpt 2 ok 2.0.0 c\n",
	  75, "4.3.0 tlsrelayd: delivery process ended by signal 9", TMP, { TMP, TMP, TMP }, "signal 9" },
	{ "exit status out of range", "", 300, "", TMP, { TMP, TMP, TMP }, "malformed" },
};

static void test_results(void)
{
	for (size_t i = 0; i < NROWS(results); i++) {
		const result_case *c = &results[i];
		tlsrelay_rcpt r[3] = { { .addr = "a@x" }, { .addr = "b@x" }, { .addr = "c@x" } };
		tlsrelay_status st;
		char name[200];
		tlsrelay_cat got = tr_rcpt_results_read(c->out, strlen(c->out), c->exit_status,
		                                        c->daemon_line, r, 3, &st);

		snprintf(name, sizeof name, "result: %s: returns %s", c->name, tlsrelay_cat_name(c->want));
		tap_ok(got == c->want, name, st.text);
		snprintf(name, sizeof name, "result: %s: each recipient", c->name);
		tap_ok(r[0].status.cat == c->cats[0] && r[1].status.cat == c->cats[1] &&
		       r[2].status.cat == c->cats[2], name, r[1].status.text);
		snprintf(name, sizeof name, "result: %s: recipient 1's text", c->name);
		tap_ok(strstr(r[1].status.text, c->text1) != NULL, name, r[1].status.text);
	}
}

/* dsn_aware of each recipient after a whole result */
static void test_results_aware(void)
{
	static const struct {
		const char *name, *out;
		int exit_status;
		int aware[3];
	} cases[] = {
		{ "per recipient", "rcpt 0 ok+dsn 2.0.0 a\nrcpt 1 ok 2.0.0 b\nrcpt 2 ok+dsn 2.0.0 c\n", 0,
		  { 1, 0, 1 } },
		{ "older tlsrelay: none", "rcpt 0 ok 2.0.0 a\nrcpt 1 ok 2.0.0 b\nrcpt 2 ok 2.0.0 c\n", 0,
		  { 0, 0, 0 } },
		{ "malformed: none", "rcpt 0 ok+dsn 2.0.0 a\nrcpt 1 ok+dsn 2.0.0 b\nrcpt 2 temporary+dsn 4.0.0 c\n",
		  75, { 0, 0, 0 } },
		{ "missing lines: none for them", "4.4.2 deadline\nrcpt 1 ok+dsn 2.0.0 b\n", 75, { 0, 1, 0 } },
	};

	for (size_t i = 0; i < NROWS(cases); i++) {
		tlsrelay_rcpt r[3] = { { .addr = "a@x", .dsn_aware = 7 }, { .addr = "b@x", .dsn_aware = 7 },
		                       { .addr = "c@x", .dsn_aware = 7 } };
		tlsrelay_status st;
		char name[200];

		tr_rcpt_results_read(cases[i].out, strlen(cases[i].out), cases[i].exit_status, "", r, 3, &st);
		snprintf(name, sizeof name, "result dsn_aware: %s", cases[i].name);
		tap_ok(r[0].dsn_aware == cases[i].aware[0] && r[1].dsn_aware == cases[i].aware[1] &&
		       r[2].dsn_aware == cases[i].aware[2], name, st.text);
	}
}

static void test_too_much(void)
{
	static char big[(1 + 4) * TR_RCPT_LINE_MAX + 2];
	tlsrelay_rcpt r[1] = { { .addr = "a@x" } };
	tlsrelay_status st;

	memset(big, 'y', sizeof big - 1);
	tap_ok(tr_rcpt_results_read(big, sizeof big - 1, 75, "", r, 1, &st) == TLSRELAY_TEMP &&
	       r[0].status.cat == TLSRELAY_TEMP, "result: more output than the recipients can make: deferred",
	       st.text);
}

static void test_settle(void)
{
	tlsrelay_rcpt r[3] = { { .addr = "a@x" }, { .addr = "b@x" }, { .addr = "c@x" } };
	tlsrelay_status temp = { TLSRELAY_TEMP, "4.4.1", "connect failed" };
	tlsrelay_status conf = { TLSRELAY_CONFIG, "4.3.5", "f:1: bad" };

	r[1].dsn_aware = 1;
	tr_rcpts_unsettled(r, 3);
	tap_ok(r[1].dsn_aware == 0, "unsettled: dsn_aware 0", NULL);
	r[0].status.cat = TLSRELAY_OK;
	r[0].dsn_aware = 1;
	r[1].status.cat = TLSRELAY_PERM;
	tr_rcpts_settle(r, 3, &temp);
	tap_ok(r[0].status.cat == TLSRELAY_OK && r[1].status.cat == TLSRELAY_PERM &&
	       r[2].status.cat == TLSRELAY_TEMP && strcmp(r[2].status.text, "connect failed") == 0,
	       "settle: a TEMP summary fills only the unsettled", NULL);
	tr_rcpts_settle(r, 3, &conf);
	tap_ok(r[0].status.cat == TLSRELAY_OK && r[1].status.cat == TLSRELAY_CONFIG &&
	       r[2].status.cat == TLSRELAY_CONFIG && r[0].dsn_aware == 1 && r[2].dsn_aware == 0,
	       "settle: a failure of the whole request replaces every one not OK "
	       "(an OK one keeps its dsn_aware)", NULL);
}

int main(void)
{
	tap_plan((int)(NROWS(lines) * 2 + 2 + 4 + NROWS(results) * 3 + 4 + 1 + 3));
	test_lines();
	test_long_text();
	test_roundtrip();
	test_results();
	test_results_aware();
	test_too_much();
	test_settle();
	return tap_done();
}

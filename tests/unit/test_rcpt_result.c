/*
 * test_rcpt_result.c - lib/rcpt_result.c: each recipient's result as a line
 * (tlsrelay -P) and its reading back by the Exim module. Tables of named
 * cases: lines that parse and lines that do not (hostile or damaged
 * output of another process), whole results (exit status, the daemon's
 * line, missing and duplicate recipients, too much output), the settling
 * rule, and format -> parse giving the same status back.
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
} line_case;

static const line_case lines[] = {
	{ "ok line", "rcpt 0 ok 2.0.0 250 2.0.0 Ok", 1, 0, TLSRELAY_OK, "2.0.0", "250 2.0.0 Ok" },
	{ "temporary, no DSN, empty text", "rcpt 2 temporary - ", 1, 2, TLSRELAY_TEMP, "", "" },
	{ "permanent 5.1.1", "rcpt 1 permanent 5.1.1 host h said: 550 5.1.1 no", 1, 1,
	  TLSRELAY_PERM, "5.1.1", "host h said: 550 5.1.1 no" },
	{ "config 4.3.5", "rcpt 0 config 4.3.5 f:1: bad", 1, 0, TLSRELAY_CONFIG, "4.3.5", "f:1: bad" },
	{ "8-bit text passes", "rcpt 0 temporary 4.0.0 caf\xc3\xa9", 1, 0, TLSRELAY_TEMP, "4.0.0", "caf\xc3\xa9" },
	{ "index out of range", "rcpt 3 ok 2.0.0 x", 0, 0, 0, NULL, NULL },
	{ "no tag", "cpt 0 ok 2.0.0 x", 0, 0, 0, NULL, NULL },
	{ "index with a sign", "rcpt +1 ok 2.0.0 x", 0, 0, 0, NULL, NULL },
	{ "index zero-padded", "rcpt 01 ok 2.0.0 x", 0, 0, 0, NULL, NULL },
	{ "index huge", "rcpt 99999999999999999999 ok 2.0.0 x", 0, 0, 0, NULL, NULL },
	{ "unknown category", "rcpt 0 fine 2.0.0 x", 0, 0, 0, NULL, NULL },
	{ "category prefix", "rcpt 0 o 2.0.0 x", 0, 0, 0, NULL, NULL },
	{ "bad DSN class", "rcpt 0 ok 3.0.0 x", 0, 0, 0, NULL, NULL },
	{ "DSN with letters", "rcpt 0 ok 2.a.0 x", 0, 0, 0, NULL, NULL },
	{ "DSN too long", "rcpt 0 ok 2.1234.0 x", 0, 0, 0, NULL, NULL },
	{ "DSN with 4 parts", "rcpt 0 ok 2.0.0.0 x", 0, 0, 0, NULL, NULL },
	{ "no text separator", "rcpt 0 ok 2.0.0", 0, 0, 0, NULL, NULL },
	{ "control byte in text", "rcpt 0 ok 2.0.0 a\tb", 0, 0, 0, NULL, NULL },
	{ "double space", "rcpt  0 ok 2.0.0 x", 0, 0, 0, NULL, NULL },
	{ "other tag", "rcpts 0 ok 2.0.0 x", 0, 0, 0, NULL, NULL },
	{ "empty", "", 0, 0, 0, NULL, NULL },
};

/* line (len bytes) after a summary line, as the output of a run (exit 75)
 * for 3 recipients:
 * 0 and recipient *idx's status when it was read, -1 when refused */
static int parse(const char *line, size_t len, size_t *idx, tlsrelay_status *st)
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
		int r = parse(c->line, strlen(c->line), &idx, &st);

		snprintf(name, sizeof name, "line: %s: %s", c->name, c->ok ? "parses" : "refused");
		tap_ok((r == 0) == c->ok, name, c->line);
		snprintf(name, sizeof name, "line: %s: fields", c->name);
		if (!c->ok)
			tap_ok(1, name, NULL);
		else
			tap_ok(idx == c->index && st.cat == c->cat && strcmp(st.dsn, c->dsn) == 0 &&
			       strcmp(st.text, c->text) == 0, name, st.text);
	}
}

static void test_long_text(void)
{
	char line[TR_RCPT_LINE_MAX + 600];
	tlsrelay_status st;
	size_t idx;

	memcpy(line, "rcpt 0 ok 2.0.0 ", 16);
	memset(line + 16, 'x', TLSRELAY_TEXT_MAX);
	tap_ok(parse(line, 16 + TLSRELAY_TEXT_MAX, &idx, &st) < 0,
	       "line: a text of TLSRELAY_TEXT_MAX bytes is refused", NULL);
	tap_ok(parse(line, 16 + TLSRELAY_TEXT_MAX - 1, &idx, &st) == 0,
	       "line: one byte less parses", NULL);
}

static void test_roundtrip(void)
{
	tlsrelay_status in = { TLSRELAY_TEMP, "4.2.0", "host [h]:25 said: 450 4.2.0 \x01 later" }, out;
	char buf[TR_RCPT_LINE_MAX];
	size_t len = tr_rcpt_line_format(buf, sizeof buf, 2, &in), idx = 0;

	tap_ok(len > 0 && buf[len - 1] == '\n', "format: one line ending with LF", buf);
	tap_ok(parse(buf, len - 1, &idx, &out) == 0 && idx == 2 &&
	       out.cat == TLSRELAY_TEMP && strcmp(out.dsn, "4.2.0") == 0 &&
	       strcmp(out.text, "host [h]:25 said: 450 4.2.0 ? later") == 0,
	       "format -> parse: the same status (a control byte as '?')", buf);
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

	tr_rcpts_unsettled(r, 3);
	r[0].status.cat = TLSRELAY_OK;
	r[1].status.cat = TLSRELAY_PERM;
	tr_rcpts_settle(r, 3, &temp);
	tap_ok(r[0].status.cat == TLSRELAY_OK && r[1].status.cat == TLSRELAY_PERM &&
	       r[2].status.cat == TLSRELAY_TEMP && strcmp(r[2].status.text, "connect failed") == 0,
	       "settle: a TEMP summary fills only the unsettled", NULL);
	tr_rcpts_settle(r, 3, &conf);
	tap_ok(r[0].status.cat == TLSRELAY_OK && r[1].status.cat == TLSRELAY_CONFIG &&
	       r[2].status.cat == TLSRELAY_CONFIG,
	       "settle: a failure of the whole request replaces every one not OK", NULL);
}

int main(void)
{
	tap_plan((int)(NROWS(lines) * 2 + 2 + 2 + NROWS(results) * 3 + 1 + 2));
	test_lines();
	test_long_text();
	test_roundtrip();
	test_results();
	test_too_much();
	test_settle();
	return tap_done();
}

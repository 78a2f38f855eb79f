/*
 * test_reply.c - table-driven tests of smtp_reply.c: reply lines, enhanced
 * status codes, log formatting and EHLO capabilities.
 *
 * Reply inputs are written as one string with the lines separated by '\n'
 * (the CR LF the reader strips); the length is explicit so that lines may
 * contain NUL bytes.
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "smtp_reply.h"
#include "tap.h"

#define IN(s) s, sizeof(s) - 1

/* Feed every line of in (even after DONE or BAD) into r; write one letter
 * per line to rcs: M (MORE), D (DONE), B (BAD). */
static void feed_all(tr_reply *r, const char *in, size_t len, char *rcs, size_t cap)
{
	size_t start = 0, i, n = 0;

	tr_reply_init(r);
	for (i = 0; i <= len; i++) {
		if (i < len && in[i] != '\n')
			continue;
		int rc = tr_reply_feed(r, in + start, i - start);
		if (n + 1 < cap)
			rcs[n++] = rc == TR_REPLY_MORE ? 'M' : rc == TR_REPLY_DONE ? 'D' : 'B';
		start = i + 1;
	}
	rcs[n] = '\0';
}

static void check(const char *cname, const char *what, char *name, size_t cap)
{
	snprintf(name, cap, "%s: %s", cname, what);
}

/* ---------------------------------------------------------------- replies */

static const struct reply_case {
	const char *name;
	const char *in;
	size_t len;
	const char *rcs;          /* expected result of each line */
	int code;
	const char *dsn;
	size_t nlines;
	const char *lines[4];     /* expected text of the first lines (NULL: stop) */
	const char *fmt;          /* tr_reply_format() with room to spare */
	const char *err;          /* substring of r->error, NULL: error must be "" */
} reply_cases[] = {
	{ "single-line reply", IN("250 OK"), "D", 250, "", 1, { "OK" }, "250 OK", NULL },
	{ "single-line 220 greeting", IN("220 mx.example.com ESMTP ready"), "D", 220, "", 1,
	  { "mx.example.com ESMTP ready" }, "220 mx.example.com ESMTP ready", NULL },
	{ "multi-line reply", IN("250-mx.example.com\n250-PIPELINING\n250 8BITMIME"), "MMD",
	  250, "", 3, { "mx.example.com", "PIPELINING", "8BITMIME" },
	  "250 mx.example.com PIPELINING 8BITMIME", NULL },
	{ "STARTTLS on the last line", IN("250-mx\n250 STARTTLS"), "MD", 250, "", 2,
	  { "mx", "STARTTLS" }, "250 mx STARTTLS", NULL },
	{ "STARTTLS in the middle", IN("250-mx\n250-STARTTLS\n250 SIZE 100"), "MMD", 250, "", 3,
	  { "mx", "STARTTLS", "SIZE 100" }, "250 mx STARTTLS SIZE 100", NULL },
	{ "bare 250 is a final line", IN("250"), "D", 250, "", 1, { "" }, "250", NULL },
	{ "bare 250 ends a multi-line reply", IN("250-mx\n250"), "MD", 250, "", 2, { "mx", "" },
	  "250 mx", NULL },
	{ "code and space only", IN("354 "), "D", 354, "", 1, { "" }, "354", NULL },
	{ "empty continuation text", IN("250-\n250 last"), "MD", 250, "", 2, { "", "last" },
	  "250 last", NULL },
	{ "code mismatch across lines", IN("250-mx\n251 oops"), "MB", 250, "", 1, { "mx" },
	  NULL, "differs" },
	{ "bad separator 250x", IN("250xSTARTTLS"), "B", 0, "", 0, { NULL }, "", "separator" },
	{ "bad separator on continuation", IN("250-mx\n250_x"), "MB", 250, "", 1, { "mx" },
	  NULL, "separator" },
	{ "short line 25", IN("25"), "B", 0, "", 0, { NULL }, "", "malformed" },
	{ "empty line", IN(""), "B", 0, "", 0, { NULL }, "", "malformed" },
	{ "non-digit code abc", IN("abc def"), "B", 0, "", 0, { NULL }, "", "malformed" },
	{ "code 199 rejected", IN("199 x"), "B", 0, "", 0, { NULL }, "", "malformed" },
	{ "code 150 rejected (first digit)", IN("150 x"), "B", 0, "", 0, { NULL }, "",
	  "malformed" },
	{ "code 650 rejected (first digit)", IN("650 x"), "B", 0, "", 0, { NULL }, "",
	  "malformed" },
	{ "code 600 rejected", IN("600 x"), "B", 0, "", 0, { NULL }, "", "malformed" },
	{ "code 260 rejected (second digit)", IN("260 x"), "B", 0, "", 0, { NULL }, "",
	  "malformed" },
	{ "code 25x rejected (third digit)", IN("25x ok"), "B", 0, "", 0, { NULL }, "",
	  "malformed" },
	{ "code 200 accepted", IN("200 x"), "D", 200, "", 1, { "x" }, "200 x", NULL },
	{ "code 559 accepted", IN("559 no"), "D", 559, "", 1, { "no" }, "559 no", NULL },
	{ "empty line after the final line", IN("250 ok\n"), "DB", 250, "", 1, { "ok" },
	  "250 ok", "after the final" },
	{ "enhanced code present", IN("550 5.1.1 <x@y>: Recipient address rejected"), "D",
	  550, "5.1.1", 1, { "5.1.1 <x@y>: Recipient address rejected" },
	  "550 5.1.1 <x@y>: Recipient address rejected", NULL },
	{ "enhanced code absent", IN("550 Recipient rejected"), "D", 550, "", 1,
	  { "Recipient rejected" }, "550 Recipient rejected", NULL },
	{ "enhanced code class mismatch", IN("250 4.1.1 x"), "D", 250, "", 1, { "4.1.1 x" },
	  "250 4.1.1 x", NULL },
	{ "enhanced code at end of text", IN("550 5.1.1"), "D", 550, "5.1.1", 1, { "5.1.1" },
	  "550 5.1.1", NULL },
	{ "enhanced code followed by junk", IN("550 5.1.1x"), "D", 550, "", 1, { "5.1.1x" },
	  "550 5.1.1x", NULL },
	{ "enhanced code from the first line only", IN("451-busy\n451 4.3.0 try later"), "MD",
	  451, "", 2, { "busy", "4.3.0 try later" }, "451 busy 4.3.0 try later", NULL },
	{ "enhanced code on first of several lines", IN("421-4.7.0 slow down\n421 bye"), "MD",
	  421, "4.7.0", 2, { "4.7.0 slow down", "bye" }, "421 4.7.0 slow down bye", NULL },
	{ "enhanced code with 3-digit parts", IN("554 5.123.456 x"), "D", 554, "5.123.456", 1,
	  { "5.123.456 x" }, "554 5.123.456 x", NULL },
	{ "NUL and control bytes sanitized", IN("250 a\0b\rc\td\x1b\x7f\xc3\xa9"), "D", 250, "",
	  1, { "a?b?c\td??\xc3\xa9" }, "250 a?b?c d??\xc3\xa9", NULL },
	{ "NUL in the code", IN("2\00050 x"), "B", 0, "", 0, { NULL }, "", "malformed" },
	{ "feeding after done", IN("250 OK\n250 again"), "DB", 250, "", 1, { "OK" }, "250 OK",
	  "after the final" },
	{ "feeding after bad keeps the first error", IN("250-a\n25\n250 ok"), "MBB", 250, "", 1,
	  { "a" }, NULL, "malformed" },
};

static void test_reply_case(const struct reply_case *c)
{
	static tr_reply r;
	char rcs[16], name[256], fmt[256];
	size_t i, nl = 0;

	while (nl < 4 && c->lines[nl] != NULL && nl < c->nlines)
		nl++;                   /* the lines the case checks */
	tap_expect(4 + nl + 1 + (c->fmt != NULL) + 1);
	feed_all(&r, c->in, c->len, rcs, sizeof rcs);
	check(c->name, "line results", name, sizeof name);
	TAP_STR(rcs, c->rcs, name);
	check(c->name, "code", name, sizeof name);
	TAP_INT(r.code, c->code, name);
	check(c->name, "dsn", name, sizeof name);
	TAP_STR(r.dsn, c->dsn, name);
	check(c->name, "nlines", name, sizeof name);
	TAP_INT(r.nlines, c->nlines, name);
	for (i = 0; i < 4 && c->lines[i] != NULL && i < r.nlines; i++) {
		char what[32];
		snprintf(what, sizeof what, "line %zu", i);
		check(c->name, what, name, sizeof name);
		TAP_STR(r.line[i], c->lines[i], name);
	}
	check(c->name, "done flag", name, sizeof name);
	TAP_INT(r.done, strchr(c->rcs, 'D') != NULL, name);
	if (c->fmt != NULL) {
		check(c->name, "format", name, sizeof name);
		TAP_STR(tr_reply_format(&r, fmt, sizeof fmt), c->fmt, name);
	}
	check(c->name, "error", name, sizeof name);
	if (c->err == NULL)
		TAP_STR(r.error, "", name);
	else
		tap_ok(strstr(r.error, c->err) != NULL, name, r.error);
}

/* ------------------------------------------------------ bounds (generated) */

/* nlines lines of line_len bytes each ("250-xxx..." then "250 xxx..."
 * unless endless: then all are continuations); the last line is last_len
 * bytes long if that is not 0. */
static const struct bound_case {
	const char *name;
	size_t line_len;
	size_t nlines;
	size_t last_len;
	int endless;
	size_t bad_at;            /* 1-based line that must be BAD, 0: none */
	int last_rc;
	const char *err;
} bound_cases[] = {
	{ "line of exactly TR_REPLY_LINE_MAX bytes", TR_REPLY_LINE_MAX, 1, 0, 0, 0,
	  TR_REPLY_DONE, NULL },
	{ "over-long line", TR_REPLY_LINE_MAX + 1, 1, 0, 0, 1, TR_REPLY_BAD, "too long" },
	{ "very long line", 100000, 1, 0, 0, 1, TR_REPLY_BAD, "too long" },
	{ "exactly TR_REPLY_LINES_MAX lines", 10, TR_REPLY_LINES_MAX, 0, 0, 0, TR_REPLY_DONE,
	  NULL },
	{ "one line more than TR_REPLY_LINES_MAX", 10, TR_REPLY_LINES_MAX + 1, 0, 0,
	  TR_REPLY_LINES_MAX + 1, TR_REPLY_BAD, "more than" },
	{ "endless multi-line reply", 5, 1000, 0, 1, TR_REPLY_LINES_MAX + 1, TR_REPLY_BAD,
	  "more than" },
	/* 2000-byte lines: 1996 bytes of text + NUL each; the 5th overflows */
	{ "text overflow", 2000, 6, 0, 0, 5, TR_REPLY_BAD, "text longer" },
	/* 64 lines of 127 bytes of text + NUL: 64 * 128 = 8192 exactly fills buf */
	{ "text exactly TR_REPLY_TEXT_MAX", 131, 64, 0, 0, 0, TR_REPLY_DONE, NULL },
	{ "text one byte over TR_REPLY_TEXT_MAX", 131, 64, 132, 0, 64, TR_REPLY_BAD,
	  "text longer" },
	{ "text far over TR_REPLY_TEXT_MAX", 132, 64, 0, 0, 64, TR_REPLY_BAD, "text longer" },
};

static void test_bound_case(const struct bound_case *c)
{
	static tr_reply r;
	static char line[100001];    /* the longest line_len or last_len */
	char name[256];
	size_t i, bad_at = 0;
	int rc = TR_REPLY_MORE;

	tap_expect(4);
	tr_reply_init(&r);
	memcpy(line, "250-", 4);
	for (i = 1; i <= c->nlines; i++) {
		size_t len = (i == c->nlines && c->last_len) ? c->last_len : c->line_len;
		memset(line + 4, 'x', len - 4);
		line[3] = (i == c->nlines && !c->endless) ? ' ' : '-';
		rc = tr_reply_feed(&r, line, len);
		if (rc == TR_REPLY_BAD && bad_at == 0)
			bad_at = i;
		if (rc != TR_REPLY_MORE && c->endless)
			break;
	}
	check(c->name, "first bad line", name, sizeof name);
	TAP_INT(bad_at, c->bad_at, name);
	check(c->name, "last result", name, sizeof name);
	TAP_INT(rc, c->last_rc, name);
	check(c->name, "stored lines within bounds", name, sizeof name);
	tap_ok(r.nlines <= TR_REPLY_LINES_MAX && r.used <= TR_REPLY_TEXT_MAX, name, NULL);
	check(c->name, "error", name, sizeof name);
	if (c->err == NULL)
		TAP_STR(r.error, "", name);
	else
		tap_ok(strstr(r.error, c->err) != NULL, name, r.error);
}

/* ------------------------------------------------------------ tr_parse_dsn */

static const struct dsn_case {
	const char *name;
	const char *text;
	int class_digit;
	size_t cap;
	size_t ret;
	const char *dsn;
} dsn_cases[] = {
	{ "dsn followed by text", "5.1.1 <x@y> unknown", 5, 16, 6, "5.1.1" },
	{ "dsn at end of text", "5.1.1", 5, 16, 5, "5.1.1" },
	{ "dsn any class", "4.7.0 later", 0, 16, 6, "4.7.0" },
	{ "dsn class 2", "2.0.0 OK", 2, 16, 6, "2.0.0" },
	{ "dsn longest parts", "5.999.999 x", 5, 16, 10, "5.999.999" },
	{ "dsn class mismatch", "4.1.1 x", 5, 16, 0, "" },
	{ "dsn class 3 invalid", "3.1.1 x", 0, 16, 0, "" },
	{ "dsn trailing junk", "5.1.1x", 5, 16, 0, "" },
	{ "dsn followed by tab", "5.1.1\tx", 5, 16, 0, "" },
	{ "dsn subject too long", "5.1234.1 x", 5, 16, 0, "" },
	{ "dsn detail too long", "5.1.1234 x", 5, 16, 0, "" },
	{ "dsn empty subject", "5..1 x", 5, 16, 0, "" },
	{ "dsn missing detail", "5.1 x", 5, 16, 0, "" },
	{ "dsn empty detail", "5.1.", 5, 16, 0, "" },
	{ "dsn empty text", "", 0, 16, 0, "" },
	{ "dsn not at start", " 5.1.1 x", 5, 16, 0, "" },
	{ "dsn out too small", "5.123.456 x", 5, 9, 0, "" },
	{ "dsn out just big enough", "5.123.456 x", 5, 10, 10, "5.123.456" },
};

static void test_dsn_case(const struct dsn_case *c)
{
	char out[32], name[256];
	size_t ret;

	tap_expect(3);
	memset(out, '#', sizeof out);
	ret = tr_parse_dsn(c->text, c->class_digit, out, c->cap);
	check(c->name, "return", name, sizeof name);
	TAP_INT(ret, c->ret, name);
	check(c->name, "out", name, sizeof name);
	TAP_STR(out, c->dsn, name);
	check(c->name, "no write past cap", name, sizeof name);
	tap_ok(out[c->cap] == '#', name, NULL);
}

/* --------------------------------------------------------- tr_reply_format */

static const struct fmt_case {
	const char *name;
	const char *in;
	size_t len;
	size_t cap;
	const char *want;
} fmt_cases[] = {
	{ "format joins lines", IN("250-a b\n250-c\n250 d"), 64, "250 a b c d" },
	{ "format bare code", IN("250"), 64, "250" },
	{ "format truncated mid text", IN("550 5.1.1 rejected"), 8, "550 5.1" },
	{ "format truncated in code", IN("550 5.1.1 rejected"), 3, "55" },
	{ "format cap 1", IN("550 5.1.1 rejected"), 1, "" },
	{ "format cap exactly fits", IN("250 OK"), 7, "250 OK" },
	{ "format cap one short", IN("250 OK"), 6, "250 O" },
	{ "format truncated across lines", IN("250-abc\n250 def"), 10, "250 abc d" },
	{ "format code 421", IN("421 4.3.0 bye"), 64, "421 4.3.0 bye" },
	{ "format code 559", IN("559"), 64, "559" },
	{ "format code 200", IN("200-x\n200 y"), 64, "200 x y" },
	{ "format no lines", "", 0, 16, "" },
};

static void test_fmt_case(const struct fmt_case *c)
{
	static tr_reply r;
	char out[80], rcs[16], name[256];
	char *ret;

	tap_expect(3);
	if (c->len > 0)
		feed_all(&r, c->in, c->len, rcs, sizeof rcs);
	else
		tr_reply_init(&r);
	memset(out, '#', sizeof out);
	ret = tr_reply_format(&r, out, c->cap);
	check(c->name, "text", name, sizeof name);
	TAP_STR(out, c->want, name);
	check(c->name, "returns out", name, sizeof name);
	tap_ok(ret == out, name, NULL);
	check(c->name, "no write past cap", name, sizeof name);
	tap_ok(out[c->cap] == '#', name, NULL);
}

static void test_fmt_cap0(void)
{
	static tr_reply r;
	char out[4] = "###", rcs[4];

	tap_expect(2);
	feed_all(&r, IN("250 OK"), rcs, sizeof rcs);
	tr_reply_format(&r, out, 0);
	TAP_STR(out, "###", "format cap 0 writes nothing");
	tap_ok(tr_reply_format(&r, NULL, 0) == NULL,
	       "format NULL out with cap 0: returns NULL, writes nothing", NULL);
}

/* ------------------------------------------------------------ capabilities */

#define ALL_CAPS (TR_CAP_STARTTLS | TR_CAP_PIPELINING | TR_CAP_8BITMIME | TR_CAP_SIZE | \
	TR_CAP_DSN | TR_CAP_SMTPUTF8 | TR_CAP_CHUNKING | TR_CAP_ENHANCEDSTATUSCODES | \
	TR_CAP_AUTH | TR_CAP_BINARYMIME)

static const struct caps_case {
	const char *name;
	const char *in;
	size_t len;
	unsigned flags;
	unsigned long long size_max;
	unsigned auth;
	const char *fmt;
} caps_cases[] = {
	{ "caps STARTTLS on the last line", IN("250-mx.example.com\n250 STARTTLS"),
	  TR_CAP_STARTTLS, 0, 0, "STARTTLS" },
	{ "caps STARTTLS in the middle", IN("250-mx\n250-STARTTLS\n250 HELP"),
	  TR_CAP_STARTTLS, 0, 0, "STARTTLS" },
	{ "caps mixed case starttls", IN("250-mx\n250-starttls\n250 PipeLining"),
	  TR_CAP_STARTTLS | TR_CAP_PIPELINING, 0, 0, "STARTTLS PIPELINING" },
	{ "caps STARTTLSX not matched", IN("250-mx\n250-STARTTLSX\n250-XSTARTTLS\n250 START"),
	  0, 0, 0, "" },
	{ "caps keyword with a hyphen prefix", IN("250-mx\n250 X-STARTTLS"), 0, 0, 0, "" },
	{ "caps first line is the greeting", IN("250 STARTTLS"), 0, 0, 0, "" },
	{ "caps greeting line ignored", IN("250-STARTTLS PIPELINING\n250 8BITMIME"),
	  TR_CAP_8BITMIME, 0, 0, "8BITMIME" },
	{ "caps all keywords", IN("250-mx\n250-PIPELINING\n250-8BITMIME\n250-SIZE 1000\n"
	  "250-DSN\n250-SMTPUTF8\n250-CHUNKING\n250-ENHANCEDSTATUSCODES\n250-AUTH PLAIN\n"
	  "250-BINARYMIME\n250 STARTTLS"), ALL_CAPS, 1000, TR_AUTH_PLAIN,
	  "STARTTLS PIPELINING 8BITMIME SIZE DSN SMTPUTF8 CHUNKING ENHANCEDSTATUSCODES AUTH "
	  "BINARYMIME" },
	{ "caps SIZE with number", IN("250-mx\n250 SIZE 52428800"), TR_CAP_SIZE, 52428800ULL,
	  0, "SIZE" },
	{ "caps SIZE without number", IN("250-mx\n250 SIZE"), TR_CAP_SIZE, 0, 0, "SIZE" },
	{ "caps SIZE garbage", IN("250-mx\n250 SIZE abc"), TR_CAP_SIZE, 0, 0, "SIZE" },
	{ "caps SIZE number with junk", IN("250-mx\n250 SIZE 123abc"), TR_CAP_SIZE, 0, 0,
	  "SIZE" },
	{ "caps SIZE negative", IN("250-mx\n250 SIZE -5"), TR_CAP_SIZE, 0, 0, "SIZE" },
	{ "caps SIZE max value", IN("250-mx\n250 SIZE 18446744073709551615"), TR_CAP_SIZE,
	  18446744073709551615ULL, 0, "SIZE" },
	{ "caps SIZE huge overflows", IN("250-mx\n250 SIZE 18446744073709551616"), TR_CAP_SIZE,
	  0, 0, "SIZE" },
	{ "caps SIZE very huge", IN("250-mx\n250 SIZE 99999999999999999999999999999999"),
	  TR_CAP_SIZE, 0, 0, "SIZE" },
	{ "caps SIZEX not SIZE", IN("250-mx\n250 SIZEX 10"), 0, 0, 0, "" },
	{ "caps AUTH PLAIN LOGIN", IN("250-mx\n250 AUTH PLAIN LOGIN"), TR_CAP_AUTH, 0,
	  TR_AUTH_PLAIN | TR_AUTH_LOGIN, "AUTH" },
	{ "caps AUTH all mechanisms, mixed case",
	  IN("250-mx\n250-auth cram-md5 Xoauth2 GSSAPI\n250 AUTH=login plain"), TR_CAP_AUTH, 0,
	  TR_AUTH_PLAIN | TR_AUTH_LOGIN | TR_AUTH_CRAM_MD5 | TR_AUTH_XOAUTH2, "AUTH" },
	{ "caps AUTH=LOGIN old form", IN("250-mx\n250 AUTH=LOGIN"), TR_CAP_AUTH, 0,
	  TR_AUTH_LOGIN, "AUTH" },
	{ "caps AUTH unknown mechanisms only", IN("250-mx\n250 AUTH GSSAPI PLAINX"),
	  TR_CAP_AUTH, 0, 0, "AUTH" },
	{ "caps AUTH without mechanisms", IN("250-mx\n250 AUTH"), TR_CAP_AUTH, 0, 0, "AUTH" },
	{ "caps AUTHX not AUTH", IN("250-mx\n250 AUTHX PLAIN"), 0, 0, 0, "" },
	{ "caps PIPELINING and CHUNKING", IN("250-mx\n250-PIPELINING\n250 CHUNKING"),
	  TR_CAP_PIPELINING | TR_CAP_CHUNKING, 0, 0, "PIPELINING CHUNKING" },
	{ "caps unknown keywords ignored", IN("250-mx\n250-VRFY\n250-ETRN\n250 DSN"),
	  TR_CAP_DSN, 0, 0, "DSN" },
	{ "caps not a 250 reply", IN("502-mx\n502 STARTTLS"), 0, 0, 0, "" },
	{ "caps incomplete reply", IN("250-mx\n250-STARTTLS"), 0, 0, 0, "" },
	{ "caps reply with a line after the final one", IN("250-mx\n250 STARTTLS\n250 x"),
	  0, 0, 0, "" },
	{ "caps bad reply", IN("250-mx\n250-STARTTLS\n251 PIPELINING"), 0, 0, 0, "" },
};

static void test_caps_case(const struct caps_case *c)
{
	static tr_reply r;
	tr_caps caps;
	char rcs[32], name[256], out[256];

	tap_expect(4);
	feed_all(&r, c->in, c->len, rcs, sizeof rcs);
	memset(&caps, 0xa5, sizeof caps);
	tr_caps_parse(&r, &caps);
	check(c->name, "flags", name, sizeof name);
	TAP_INT(caps.flags, c->flags, name);
	check(c->name, "size_max", name, sizeof name);
	tap_ok(caps.size_max == c->size_max, name, "size_max differs");
	check(c->name, "auth", name, sizeof name);
	TAP_INT(caps.auth, c->auth, name);
	check(c->name, "format", name, sizeof name);
	TAP_STR(tr_caps_format(&caps, out, sizeof out), c->fmt, name);
}

static const struct caps_fmt_case {
	const char *name;
	unsigned flags;
	size_t cap;
	const char *want;
} caps_fmt_cases[] = {
	{ "caps format none", 0, 32, "" },
	{ "caps format order", TR_CAP_AUTH | TR_CAP_STARTTLS | TR_CAP_SIZE, 32,
	  "STARTTLS SIZE AUTH" },
	{ "caps format truncated", TR_CAP_STARTTLS | TR_CAP_PIPELINING, 12, "STARTTLS PI" },
	{ "caps format cap 1", TR_CAP_STARTTLS, 1, "" },
};

static void test_caps_fmt_case(const struct caps_fmt_case *c)
{
	tr_caps caps = { c->flags, 0, 0 };
	char out[64], name[256];

	tap_expect(2);
	memset(out, '#', sizeof out);
	tr_caps_format(&caps, out, c->cap);
	check(c->name, "text", name, sizeof name);
	TAP_STR(out, c->want, name);
	check(c->name, "no write past cap", name, sizeof name);
	tap_ok(out[c->cap] == '#', name, NULL);
}

static void test_caps_fmt_cap0(void)
{
	tr_caps caps = { TR_CAP_STARTTLS, 0, 0 };
	char out[4] = "###";

	tap_expect(1);
	tr_caps_format(&caps, out, 0);
	TAP_STR(out, "###", "caps format cap 0 writes nothing");
}

/* Reply structs are reused: init must clear everything of a previous reply. */
static void test_reinit(void)
{
	static tr_reply r;
	char rcs[8];

	tap_expect(4);
	feed_all(&r, IN("550-5.1.1 a\n551 b"), rcs, sizeof rcs);
	TAP_STR(rcs, "MB", "reinit: first reply is bad");
	tr_reply_init(&r);
	TAP_INT(tr_reply_feed(&r, IN("250 OK")), TR_REPLY_DONE, "reinit: feed after init");
	TAP_STR(r.dsn, "", "reinit: dsn cleared");
	TAP_STR(r.error, "", "reinit: error cleared");
}

/* tr_reply_init resets only the counters, code, dsn and error: a reply
 * fed into a struct full of garbage (or of a longer earlier reply) reads
 * the same as one fed into a zeroed struct: format, caps, code, dsn, lines. */
static const struct dirty_case {
	const char *name;
	const char *in;
	size_t len;
} dirty_cases[] = {
	{ "one line", IN("250 2.0.0 OK") },
	{ "code only", IN("250") },
	{ "empty texts", IN("250-\n250-\n250 x") },
	{ "EHLO", IN("250-mx.test\n250-PIPELINING\n250-SIZE 100\n250 CHUNKING") },
	{ "bad after a line", IN("250-a\n251 b") },
	{ "first line bad", IN("2x0 no") },
};

static void test_dirty_case(const struct dirty_case *c)
{
	static tr_reply clean, dirty;
	tr_caps cc, cd;
	char a[256], b[256], rcs[16], rcs2[16], name[256];

	tap_expect(3);
	memset(&clean, 0, sizeof clean);
	feed_all(&clean, c->in, c->len, rcs, sizeof rcs);
	memset(&dirty, 0xa5, sizeof dirty);
	feed_all(&dirty, IN("220-x\n220-y\n220-zzzzzzzzzzzzzzzzzzzzzzz\n220 w"), rcs2, sizeof rcs2);
	feed_all(&dirty, c->in, c->len, rcs2, sizeof rcs2);
	check(c->name, "dirty struct: same results", name, sizeof name);
	TAP_STR(rcs2, rcs, name);
	check(c->name, "dirty struct: same text", name, sizeof name);
	TAP_STR(tr_reply_format(&dirty, b, sizeof b), tr_reply_format(&clean, a, sizeof a), name);
	tr_caps_parse(&clean, &cc);
	tr_caps_parse(&dirty, &cd);
	check(c->name, "dirty struct: same fields and caps", name, sizeof name);
	tap_ok(clean.code == dirty.code && strcmp(clean.dsn, dirty.dsn) == 0 &&
	       clean.nlines == dirty.nlines && clean.used == dirty.used && clean.done == dirty.done &&
	       strcmp(clean.error, dirty.error) == 0 && cc.flags == cd.flags &&
	       cc.size_max == cd.size_max && cc.auth == cd.auth, name, NULL);
}

/* Defensive handling of NULL arguments: no crash, a defined result. */
static void test_null_args(void)
{
	static tr_reply r;
	tr_caps caps = { 1, 2, 3 };
	char out[8];

	tap_expect(7);
	tr_reply_init(&r);
	TAP_INT(tr_reply_feed(&r, NULL, 5), TR_REPLY_BAD, "null: NULL line is BAD");
	TAP_INT(tr_reply_feed(NULL, IN("250 OK")), TR_REPLY_BAD, "null: NULL reply is BAD");
	TAP_INT(tr_parse_dsn(NULL, 0, out, sizeof out), 0, "null: parse_dsn NULL text");
	TAP_INT(tr_parse_dsn("5.1.1 x", 5, NULL, 0), 6, "null: parse_dsn NULL out measures");
	tr_caps_parse(NULL, &caps);
	tap_ok(caps.flags == 0 && caps.size_max == 0 && caps.auth == 0,
	       "null: caps_parse NULL reply zeroes caps", NULL);
	TAP_STR(tr_caps_format(NULL, out, sizeof out), "", "null: caps_format NULL caps");
	TAP_STR(tr_reply_format(NULL, out, sizeof out), "", "null: reply_format NULL reply");
}

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof reply_cases / sizeof reply_cases[0]; i++)
		test_reply_case(&reply_cases[i]);
	for (i = 0; i < sizeof bound_cases / sizeof bound_cases[0]; i++)
		test_bound_case(&bound_cases[i]);
	for (i = 0; i < sizeof dsn_cases / sizeof dsn_cases[0]; i++)
		test_dsn_case(&dsn_cases[i]);
	for (i = 0; i < sizeof fmt_cases / sizeof fmt_cases[0]; i++)
		test_fmt_case(&fmt_cases[i]);
	test_fmt_cap0();
	for (i = 0; i < sizeof caps_cases / sizeof caps_cases[0]; i++)
		test_caps_case(&caps_cases[i]);
	for (i = 0; i < sizeof caps_fmt_cases / sizeof caps_fmt_cases[0]; i++)
		test_caps_fmt_case(&caps_fmt_cases[i]);
	test_caps_fmt_cap0();
	test_reinit();
	for (i = 0; i < sizeof dirty_cases / sizeof dirty_cases[0]; i++)
		test_dirty_case(&dirty_cases[i]);
	test_null_args();
	return tap_done();
}

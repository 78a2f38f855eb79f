/*
 * test_sts_policy.c - MTA-STS policy parser, MX pattern matcher and TXT
 * record parser (sts_policy.c). Table-driven, each case named.
 *
 * The rows follow RFC 8461 3.1 and 3.2 (the grammar, and "all entries
 * except for the first SHOULD be ignored" for a repeated field); several
 * come from the test corpora of other implementations (mox's
 * mtasts/parse_test.go, chasquid's internal/sts, postfix-mta-sts-resolver's
 * tests/test_utils.py), written again here: where those disagree with
 * each other the grammar decides, and the row says so.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sts_policy.h"
#include "tap.h"

struct pcase {
	const char *name;
	const char *text;
	const char *want;    /* tr_sts_policy_format output, or NULL = refused */
	const char *err;     /* expected error text when refused */
};

#define GOOD "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 86400\n"
#define HEAD "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 5\n"
#define HEAD_OUT "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 5"

static const struct pcase pcases[] = {
	{ "minimal enforce", GOOD,
	  "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 86400", NULL },
	{ "RFC 8461 3.2 example",
	  "version: STSv1\nmode: testing\nmx: mx1.example.com\nmx: mx2.example.com\n"
	  "mx: mx.backup-example.com\nmax_age: 1296000\n",
	  "version: STSv1\nmode: testing\nmx: mx1.example.com\nmx: mx2.example.com\n"
	  "mx: mx.backup-example.com\nmax_age: 1296000", NULL },
	{ "CRLF, no final line end, several mx, wildcard",
	  "version: STSv1\r\nmode: testing\r\nmx: MX1.Example.COM\r\nmx: *.example.net\r\nmax_age: 604800",
	  "version: STSv1\nmode: testing\nmx: mx1.example.com\nmx: *.example.net\nmax_age: 604800", NULL },
	{ "white space after colon and at line end",
	  "version:STSv1 \nmode:\tenforce\t\nmx:   a.example.com\nmax_age:  60\n",
	  "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 60", NULL },
	{ "mox: tabs and spaces, CRLF and LF mixed, extension with inner spaces",
	  "version:STSv1\r\nmode:\tenforce\r\nmx:  \t\t *.example.com\nmax_age: 1\nmore:ext e  ns ion",
	  "version: STSv1\nmode: enforce\nmx: *.example.com\nmax_age: 1", NULL },
	{ "fields in any order, extension ignored",
	  "max_age: 10\nmx: a.example.com\nfoo_bar.x-1: whatever value\nmode: enforce\nversion: STSv1\n",
	  "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 10", NULL },
	{ "mode none needs no mx", "version: STSv1\nmode: none\nmax_age: 1\n",
	  "version: STSv1\nmode: none\nmax_age: 1", NULL },
	{ "mode none with mx", "version: STSv1\nmode: none\nmx: a.b\nmax_age: 1\n",
	  "version: STSv1\nmode: none\nmx: a.b\nmax_age: 1", NULL },
	{ "max_age 0 (1*10 DIGIT)", "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 0\n",
	  "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 0", NULL },
	{ "max_age of 10 digits with a leading zero",
	  "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 0000086400\n",
	  "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 86400", NULL },
	{ "max_age above a year is clamped",
	  "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 9999999999\n",
	  "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 31557600", NULL },
	{ "trailing dot on mx dropped (accepted outside the grammar)",
	  "version: STSv1\nmode: enforce\nmx: a.example.com.\nmax_age: 5\n",
	  "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 5", NULL },
	{ "one empty line at the end (accepted outside the grammar)", HEAD "\n", HEAD_OUT, NULL },
	{ "CRLF and one empty line at the end",
	  "version: STSv1\r\nmode: enforce\r\nmx: a.example.com\r\nmax_age: 5\r\n\r\n", HEAD_OUT, NULL },

	/* RFC 8461 3.2: a repeated non-mx field: the first counts */
	{ "repeated mode: the first counts",
	  "version: STSv1\nmode: testing\nmode: enforce\nmx: a.example.com\nmax_age: 5\n",
	  "version: STSv1\nmode: testing\nmx: a.example.com\nmax_age: 5", NULL },
	{ "repeated version: the first counts",
	  "version: STSv1\nversion: STSv1\nmode: enforce\nmx: a.b.c\nmax_age: 5\n",
	  "version: STSv1\nmode: enforce\nmx: a.b.c\nmax_age: 5", NULL },
	{ "repeated max_age: the first counts", GOOD "max_age: 5\n",
	  "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 86400", NULL },
	{ "repeated mode, later value not a mode: ignored", HEAD "mode: bogus\n", HEAD_OUT, NULL },
	{ "repeated version, later STSv2: ignored", HEAD "version: STSv2\n", HEAD_OUT, NULL },
	{ "repeated max_age, later value not digits: ignored", HEAD "max_age: soon\n", HEAD_OUT, NULL },
	{ "repeated mode with an empty value: refused", HEAD "mode:\n", NULL,
	  "line 5: repeated field with a bad value" },
	{ "first mode bad, a later one good: refused",
	  "version: STSv1\nmode: bogus\nmode: enforce\nmx: a.b\nmax_age: 5\n", NULL,
	  "line 2: mode is not enforce, testing or none" },

	/* mx patterns: ["*."] Domain */
	{ "wildcard of a TLD (grammar: \"*.\" Domain)",
	  "version: STSv1\nmode: enforce\nmx: *.com\nmax_age: 5\n",
	  "version: STSv1\nmode: enforce\nmx: *.com\nmax_age: 5", NULL },
	{ "single-label host", "version: STSv1\nmode: enforce\nmx: mx1\nmax_age: 5\n",
	  "version: STSv1\nmode: enforce\nmx: mx1\nmax_age: 5", NULL },
	{ "labels starting with a digit", "version: STSv1\nmode: enforce\nmx: 1mx.2example.com\nmax_age: 5\n",
	  "version: STSv1\nmode: enforce\nmx: 1mx.2example.com\nmax_age: 5", NULL },
	{ "wildcard in the middle", "version: STSv1\nmode: enforce\nmx: a.*.com\nmax_age: 5\n", NULL,
	  "line 3: bad mx pattern" },
	{ "two wildcards", "version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 5\n", NULL,
	  "line 3: bad mx pattern" },
	{ "double star", "version: STSv1\nmode: enforce\nmx: **.example\nmax_age: 5\n", NULL,
	  "line 3: bad mx pattern" },
	{ "partial wildcard", "version: STSv1\nmode: enforce\nmx: mx*.example.com\nmax_age: 5\n", NULL,
	  "line 3: bad mx pattern" },
	{ "wildcard without its star (seen in the wild)",
	  "version: STSv1\nmode: enforce\nmx: .example.com\nmax_age: 5\n", NULL, "line 3: bad mx pattern" },
	{ "lone wildcard", "version: STSv1\nmode: enforce\nmx: *\nmax_age: 5\n", NULL,
	  "line 3: bad mx pattern" },
	{ "wildcard and dot only", "version: STSv1\nmode: enforce\nmx: *.\nmax_age: 5\n", NULL,
	  "line 3: bad mx pattern" },
	{ "empty label", "version: STSv1\nmode: enforce\nmx: a..example.com\nmax_age: 5\n", NULL,
	  "line 3: bad mx pattern" },
	{ "empty mx", "version: STSv1\nmode: enforce\nmx:\nmax_age: 5\n", NULL,
	  "line 3: bad mx pattern" },
	{ "label with hyphen at end", "version: STSv1\nmode: enforce\nmx: a-.example.com\nmax_age: 5\n",
	  NULL, "line 3: bad mx pattern" },
	{ "last label with hyphen at end", "version: STSv1\nmode: enforce\nmx: test.example-\nmax_age: 5\n",
	  NULL, "line 3: bad mx pattern" },
	{ "label of 64 bytes",
	  "version: STSv1\nmode: enforce\nmx: a234567890123456789012345678901234567890123456789012345678901234.b\n"
	  "max_age: 5\n", NULL, "line 3: bad mx pattern" },
	{ "underscore in mx", "version: STSv1\nmode: enforce\nmx: a_b.example\nmax_age: 5\n", NULL,
	  "line 3: bad mx pattern" },
	{ "U-label in mx (A-labels only)", "version: STSv1\nmode: enforce\nmx: m\xc3\xb8x.example\nmax_age: 5\n",
	  NULL, "line 3: bad mx pattern" },
	{ "space inside an mx pattern", "version: STSv1\nmode: enforce\nmx: a.example com\nmax_age: 5\n",
	  NULL, "line 3: bad mx pattern" },

	/* extensions: name and value grammar */
	{ "UTF-8 in an extension value (RFC 3629)",
	  HEAD "note: caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e\n", HEAD_OUT, NULL },
	{ "trailing tab after an extension value", HEAD "ext: a\t\n", HEAD_OUT, NULL },
	{ "extension name of 32 bytes", HEAD "a1234567890123456789012345678901: 1\n", HEAD_OUT, NULL },
	{ "extension name with . - _ inside", HEAD "a.b-c_d: 1\n", HEAD_OUT, NULL },
	{ "extension name starting with a digit", HEAD "1ext: x\n", HEAD_OUT, NULL },
	{ "empty extension value", HEAD "ext:\n", NULL, "line 5: bad extension value" },
	{ "extension value of spaces only", HEAD "ext:   \n", NULL, "line 5: bad extension value" },
	{ "tab inside an extension value", HEAD "ext: a\tb\n", NULL, "line 5: bad extension value" },
	{ "invalid UTF-8 in an extension value", HEAD "ext: \xc3\x28\n", NULL,
	  "line 5: extension value is not UTF-8" },
	{ "overlong UTF-8 in an extension value", HEAD "ext: \xc0\xaf\n", NULL,
	  "line 5: extension value is not UTF-8" },
	{ "UTF-8 surrogate in an extension value", HEAD "ext: \xed\xa0\x80\n", NULL,
	  "line 5: extension value is not UTF-8" },
	{ "UTF-8 above U+10FFFF in an extension value", HEAD "ext: \xf4\x90\x80\x80\n", NULL,
	  "line 5: extension value is not UTF-8" },
	{ "truncated UTF-8 at the end of an extension value", HEAD "ext: a\xe2\x82\n", NULL,
	  "line 5: extension value is not UTF-8" },
	{ "extension name starting with _", HEAD "_bad: test\n", NULL, "line 5: bad field name" },
	{ "extension name starting with -", HEAD "-bad: test\n", NULL, "line 5: bad field name" },
	{ "extension name of 33 bytes", HEAD "a12345678901234567890123456789012: 123\n", NULL,
	  "line 5: bad field name" },
	{ "bad extension name", HEAD "foo bar: x\n", NULL, "line 5: bad field name" },
	{ "UTF-8 in a field name", HEAD "caf\xc3\xa9: x\n", NULL, "line 5: bad field name" },
	{ "empty key", HEAD ": x\n", NULL, "line 5: bad field name" },

	/* required fields and their values */
	{ "no version", "mode: enforce\nmx: a.example.com\nmax_age: 5\n", NULL,
	  "line 3: no version: STSv1" },
	{ "wrong version", "version: STSv2\nmode: enforce\nmx: a.example.com\nmax_age: 5\n", NULL,
	  "line 1: version is not STSv1" },
	{ "version STSv10", "version: STSv10\nmode: none\nmax_age: 0\n", NULL,
	  "line 1: version is not STSv1" },
	{ "version case-sensitive", "version: stsv1\nmode: enforce\nmx: a.example.com\nmax_age: 5\n", NULL,
	  "line 1: version is not STSv1" },
	{ "bad mode", "version: STSv1\nmode: Enforce\nmx: a.example.com\nmax_age: 5\n", NULL,
	  "line 2: mode is not enforce, testing or none" },
	{ "no mode", "version: STSv1\nmx: a.example.com\nmax_age: 5\n", NULL, "line 3: no mode" },
	{ "no max_age", "version: STSv1\nmode: enforce\nmx: a.example.com\n", NULL,
	  "line 3: no max_age" },
	{ "max_age not digits", "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 5d\n", NULL,
	  "line 4: max_age is not 1 to 10 digits" },
	{ "max_age 11 digits", "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 12345678901\n", NULL,
	  "line 4: max_age is not 1 to 10 digits" },
	{ "max_age negative", "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: -5\n", NULL,
	  "line 4: max_age is not 1 to 10 digits" },
	{ "enforce without mx", "version: STSv1\nmode: enforce\nmax_age: 5\n", NULL,
	  "line 3: no mx pattern" },
	{ "testing without mx", "version: STSv1\nmax_age: 0\nmode: testing\n", NULL,
	  "line 3: no mx pattern" },
	{ "empty policy", "", NULL, "line 0: no version: STSv1" },

	/* lines */
	{ "line without colon", "version: STSv1\nmode enforce\nmx: a.example.com\nmax_age: 5\n", NULL,
	  "line 2: no ':' in the line" },
	{ "empty line in the middle", "version: STSv1\n\nmode: enforce\nmx: a.example.com\nmax_age: 5\n",
	  NULL, "line 2: empty line" },
	{ "two empty lines at the end", HEAD "\n\n", NULL, "line 5: empty line" },
	{ "space before the key", "version: STSv1\n mode: enforce\nmx: a.b\nmax_age: 5\n", NULL,
	  "line 2: bad field name" },
	{ "space before the colon", "version: STSv1\nmode : enforce\nmx: a.b\nmax_age: 5\n", NULL,
	  "line 2: bad field name" },
	{ "indented policy (chasquid's test server writes one)",
	  "\n  version: STSv1\n  mode: enforce\n  mx: *.mail.example.com\n  max_age: 123456\n", NULL,
	  "line 1: empty line" },
	{ "HTML instead of a policy", "<html><body>Not here</body></html>\n", NULL,
	  "line 1: no ':' in the line" },
	{ "control byte", "version: STSv1\nmode: enforce\x01\nmx: a.example.com\nmax_age: 5\n", NULL,
	  "line 2: control byte" },
	{ "DEL byte", "version: STSv1\nmode: enforce\x7f\nmx: a.example.com\nmax_age: 5\n", NULL,
	  "line 2: control byte" },
	{ "lone CR inside a line", "version: STSv1\nmode: enforce\rx: y\nmx: a.b\nmax_age: 5\n", NULL,
	  "line 2: control byte" },
	{ "CR at the very end without LF", "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 5\r", NULL,
	  "line 4: control byte" },
};

struct mcase {
	const char *pattern, *host;
	int want;
};

static const struct mcase mcases[] = {
	{ "mx.example.com", "mx.example.com", 1 },
	{ "mx.example.com", "MX.Example.Com", 1 },
	{ "mx.example.com", "mx.example.com.", 1 },
	{ "mx.example.com", "mx2.example.com", 0 },
	{ "mx.example.com", "a.mx.example.com", 0 },
	{ "mx.example.com", "example.com", 0 },
	{ "*.example.com", "mx1.example.com", 1 },
	{ "*.example.com", "MX1.EXAMPLE.COM.", 1 },
	{ "*.example.com", "example.com", 0 },
	{ "*.example.com", "a.b.example.com", 0 },
	{ "*.example.com", ".example.com", 0 },
	{ "*.example.com", "mx1.example.net", 0 },
	{ "*.example.com", "mx1example.com", 0 },
	{ "*.example.com", "xexample.com", 0 },
	{ "*.com", "abc.com", 1 },
	{ "*.com", "x.abc.com", 0 },
	{ "*.com", "com", 0 },
	{ "mx1", "mx1", 1 },
	{ "mx1", "mx1.", 1 },
};

struct tcase {
	const char *name, *txt;
	tr_sts_txt_res want;
	const char *id;
};

#define W_ID      TR_STS_TXT_ID
#define W_OTHER   TR_STS_TXT_OTHER
#define W_INVALID TR_STS_TXT_INVALID

static const struct tcase tcases[] = {
	{ "RFC example", "v=STSv1; id=20160831085700Z;", W_ID, "20160831085700Z" },
	{ "no spaces, no final ;", "v=STSv1;id=abc", W_ID, "abc" },
	{ "extension field", "v=STSv1; foo=bar; id=1x ;", W_ID, "1x" },
	{ "mox: tabs and spaces around ;", "v=STSv1; \t id=20160831085700Z  \t;", W_ID, "20160831085700Z" },
	{ "mox: id then extensions", "v=STSv1; id=a; more=a; ext=2", W_ID, "a" },
	{ "space before the first ;", "v=STSv1 ; id=a", W_ID, "a" },
	{ "final ; then white space", "v=STSv1; id=a; ", W_ID, "a" },
	{ "extension name with _ . - inside", "v=STSv1; a_b.c-d=1; id=a", W_ID, "a" },
	{ "extension value with every allowed sign", "v=STSv1; id=a; x=!\"#$%&'()*+,-./0:<>?@[\\]^_`{|}~", W_ID, "a" },
	{ "repeated id: the first counts", "v=STSv1; id=a; id=b", W_ID, "a" },
	{ "repeated id, the later one not an id value: ignored", "v=STSv1; id=a; id=b-c", W_ID, "a" },
	{ "id of 32 bytes", "v=STSv1; id=12345678901234567890123456789012", W_ID,
	  "12345678901234567890123456789012" },
	{ "extension name of 32 bytes", "v=STSv1; id=a; a1234567890123456789012345678901=1", W_ID, "a" },
	/* not an STS record (discarded, RFC 8461 3.1) */
	{ "SPF record", "v=spf1 -all", W_OTHER, "" },
	{ "v not first", "id=1; v=STSv1;", W_OTHER, "" },
	{ "version case", "v=stsv1; id=1", W_OTHER, "" },
	{ "v=STSv0", "v=STSv0", W_OTHER, "" },
	{ "v=STSv10", "v=STSv10; id=a", W_OTHER, "" },
	{ "v=STSv2", "v=STSv2; id=a", W_OTHER, "" },
	{ "v=STSv1 alone (no ;)", "v=STSv1", W_OTHER, "" },
	{ "no ; after the version", "v=STSv1 id=a", W_OTHER, "" },
	{ "white space before v=", " v=STSv1; id=a", W_OTHER, "" },
	/* STS records outside the grammar: no policy */
	{ "no id", "v=STSv1;", W_INVALID, "" },
	{ "only an extension, no id", "v=STSv1; ext=1", W_INVALID, "" },
	{ "ID in upper case is an extension: no id", "v=STSv1; ID=a", W_INVALID, "" },
	{ "empty id", "v=STSv1; id=", W_INVALID, "" },
	{ "id with a dash", "v=STSv1; id=test-123", W_INVALID, "" },
	{ "id of 33 bytes", "v=STSv1; id=123456789012345678901234567890123", W_INVALID, "" },
	{ "extension with an empty value", "v=STSv1; id=a; more=", W_INVALID, "" },
	{ "extension name of 33 bytes", "v=STSv1; id=a; a12345678901234567890123456789012=1", W_INVALID, "" },
	{ "extension name with %", "v=STSv1; id=a; 1%=a", W_INVALID, "" },
	{ "extension name starting with -", "v=STSv1; id=a; -x=1", W_INVALID, "" },
	{ "= in an extension value", "v=STSv1; id=a; test==", W_INVALID, "" },
	{ "empty field (;;)", "v=STSv1; id=a;;", W_INVALID, "" },
	{ "postfix-mta-sts-resolver's ;;; (grammar: no policy)", "v=STSv1; id=20160831085700Z;;;", W_INVALID, "" },
	{ "white space at the end without ; (grammar: no policy)", "v=STSv1;        id=20160831085700Z   ", W_INVALID, "" },
	{ "field without =", "v=STSv1; id=1; junk", W_INVALID, "" },
	{ "space inside a value", "v=STSv1; id=a; x=a b", W_INVALID, "" },
	{ "8-bit byte in an extension value", "v=STSv1; id=a; x=caf\xc3\xa9", W_INVALID, "" },
	{ "control byte", "v=STSv1; id=a;\x01", W_INVALID, "" },
	{ "empty field before the id", "v=STSv1; ; id=a", W_INVALID, "" },
};

static void test_policies(void)
{
	char out[4096], err[256], name[300];
	static tr_sts_policy p;

	tap_expect(NROWS(pcases) * 2 + 3);
	for (size_t i = 0; i < sizeof pcases / sizeof pcases[0]; i++) {
		const struct pcase *c = &pcases[i];
		int r = tr_sts_policy_parse(c->text, strlen(c->text), &p, err, sizeof err);

		snprintf(name, sizeof name, "policy: %s", c->name);
		if (c->want) {
			tap_ok(r == 0, name, err);
			if (r == 0)
				TAP_STR(tr_sts_policy_format(&p, out, sizeof out), c->want, name);
		} else {
			TAP_INT(r, -1, name);
			TAP_STR(err, c->err, name);
		}
	}
	/* Size limit and embedded NUL (length given, not strlen). */
	{
		static char big[TR_STS_POLICY_MAX + 2];
		memset(big, 'x', sizeof big);
		TAP_INT(tr_sts_policy_parse(big, sizeof big, &p, err, sizeof err), -1, "policy: over 64 KB refused");
		TAP_STR(err, "line 0: policy larger than 64 KB", "policy: over 64 KB reason");
		TAP_INT(tr_sts_policy_parse(GOOD "\0", sizeof GOOD, &p, err, sizeof err), -1,
		        "policy: NUL byte refused");
	}
}

/* A policy with n mx lines "mxN.example.com" (or patterns of len bytes). */
static char *many_mx(int n, int len)
{
	size_t cap = (size_t)n * ((size_t)len + 32) + 128, used;
	char *t = malloc(cap);

	if (t == NULL)
		return NULL;
	used = (size_t)snprintf(t, cap, "version: STSv1\nmode: enforce\n");
	for (int i = 0; i < n; i++) {
		if (len == 0) {
			used += (size_t)snprintf(t + used, cap - used, "mx: mx%d.example.com\n", i);
			continue;
		}
		/* labels of 60 bytes: "NNNNN" + 55 x, then "a...": len bytes */
		used += (size_t)snprintf(t + used, cap - used, "mx: %05d", i);
		for (int k = 5; k < len; k++)
			t[used++] = k % 61 == 60 ? '.' : 'x';
		t[used++] = '\n';
	}
	snprintf(t + used, cap - used, "max_age: 86400\n");
	return t;
}

/* RFC 8461 sets no limit on mx lines: the old limit of 32 dropped the whole
 * policy; now TR_STS_MAX_MX patterns (and TR_STS_MX_BYTES) are kept and the
 * policy survives past them. */
static void test_many_mx(void)
{
	static tr_sts_policy p, q;
	static char fmt[TR_STS_POLICY_TEXT_MAX];
	char err[256], want[64];
	char *t;

	tap_expect(2 + 3 + 4 + 2 + 4);
	t = many_mx(33, 0);
	TAP_INT(t ? tr_sts_policy_parse(t, strlen(t), &p, err, sizeof err) : -2, 0, "policy: 33 mx lines kept");
	TAP_INT(p.nmx, 33, "policy: 33 mx lines: 33 patterns");
	free(t);
	t = many_mx(1000, 0);
	TAP_INT(t ? tr_sts_policy_parse(t, strlen(t), &p, err, sizeof err) : -2, 0, "policy: 1000 mx lines kept");
	TAP_INT(p.nmx * 10000 + p.mx_ignored, 1000 * 10000, "policy: 1000 mx lines: all kept, none ignored");
	TAP_INT(tr_sts_mx_match(&p, "mx999.example.com"), 1, "policy: 1000 mx lines: the last one matches");
	free(t);
	t = many_mx(TR_STS_MAX_MX + 76, 0);
	TAP_INT(t ? tr_sts_policy_parse(t, strlen(t), &p, err, sizeof err) : -2, 0,
	        "policy: past TR_STS_MAX_MX mx lines the policy is kept");
	TAP_INT(p.nmx, TR_STS_MAX_MX, "policy: past the limit: TR_STS_MAX_MX patterns kept");
	TAP_INT(p.mx_ignored, 76, "policy: past the limit: the others counted as ignored");
	snprintf(want, sizeof want, "mx%d.example.com", TR_STS_MAX_MX - 1);
	TAP_STR(tr_sts_policy_mx(&p, TR_STS_MAX_MX - 1), want, "policy: past the limit: the first ones are kept, in order");
	/* the cache stores the formatted text and parses it again */
	tr_sts_policy_format(&p, fmt, sizeof fmt);
	TAP_INT(tr_sts_policy_parse(fmt, strlen(fmt), &q, err, sizeof err), 0, "policy: formatted at the limit, parsed again");
	TAP_INT(q.nmx * 10000 + q.mx_ignored, TR_STS_MAX_MX * 10000, "policy: formatted: the same patterns");
	free(t);
	/* 200 patterns of 250 bytes (50 KB, under the 64 KB fetch limit) */
	t = many_mx(200, 250);
	TAP_INT(t ? tr_sts_policy_parse(t, strlen(t), &p, err, sizeof err) : -2, 0,
	        "policy: past TR_STS_MX_BYTES of patterns the policy is kept");
	TAP_INT(p.nmx, TR_STS_MX_BYTES / 251, "policy: long patterns: as many as fit are kept");
	TAP_INT(p.mx_ignored, 200 - TR_STS_MX_BYTES / 251, "policy: long patterns: the others counted");
	tr_sts_policy_format(&p, fmt, sizeof fmt);
	TAP_INT(tr_sts_policy_parse(fmt, strlen(fmt), &q, err, sizeof err) == 0 && q.nmx == p.nmx, 1,
	        "policy: long patterns: formatted and parsed again");
	free(t);
}

int main(void)
{
	char err[256], id[TR_STS_ID_MAX], name[300];
	static tr_sts_policy p;

	test_policies();
	test_many_mx();
	tap_expect(NROWS(mcases) + 3);      /* the patterns, then mx_match */
	for (size_t i = 0; i < sizeof mcases / sizeof mcases[0]; i++) {
		snprintf(name, sizeof name, "match: %s vs %s", mcases[i].pattern, mcases[i].host);
		TAP_INT(tr_sts_pattern_match(mcases[i].pattern, mcases[i].host), mcases[i].want, name);
	}
	static const char two[] =
		"version: STSv1\nmode: enforce\nmx: a.example.com\nmx: *.example.net\nmax_age: 5";
	if (tr_sts_policy_parse(two, strlen(two), &p, err, sizeof err) == 0) {
		TAP_INT(tr_sts_mx_match(&p, "a.example.com"), 1, "mx_match: first pattern");
		TAP_INT(tr_sts_mx_match(&p, "b.example.net"), 1, "mx_match: second pattern");
		TAP_INT(tr_sts_mx_match(&p, "b.example.com"), 0, "mx_match: no pattern");
	} else {
		tap_ok(0, "mx_match: policy parses", err);
	}
	for (size_t i = 0; i < sizeof tcases / sizeof tcases[0]; i++) {
		tap_expect(1 + (tcases[i].want == 1));
		snprintf(name, sizeof name, "txt: %s", tcases[i].name);
		id[0] = '\0';
		TAP_INT(tr_sts_txt_parse(tcases[i].txt, id), tcases[i].want, name);
		if (tcases[i].want == TR_STS_TXT_ID)
			TAP_STR(id, tcases[i].id, name);
	}
	return tap_done();
}

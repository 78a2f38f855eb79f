/*
 * test_sts_policy.c - MTA-STS policy parser, MX pattern matcher and TXT
 * record parser (sts_policy.c). Table-driven, each case named.
 */
#include "config.h"
#include <stdio.h>
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

static const struct pcase pcases[] = {
	{ "minimal enforce", GOOD,
	  "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 86400", NULL },
	{ "CRLF, no final line end, several mx, wildcard",
	  "version: STSv1\r\nmode: testing\r\nmx: MX1.Example.COM\r\nmx: *.example.net\r\nmax_age: 604800",
	  "version: STSv1\nmode: testing\nmx: mx1.example.com\nmx: *.example.net\nmax_age: 604800", NULL },
	{ "white space after colon and at line end",
	  "version:STSv1 \nmode:\tenforce\t\nmx:   a.example.com\nmax_age:  60\n",
	  "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 60", NULL },
	{ "fields in any order, extension ignored",
	  "max_age: 10\nmx: a.example.com\nfoo_bar.x-1: whatever value\nmode: enforce\nversion: STSv1\n",
	  "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 10", NULL },
	{ "mode none needs no mx", "version: STSv1\nmode: none\nmax_age: 1\n",
	  "version: STSv1\nmode: none\nmax_age: 1", NULL },
	{ "max_age above a year is clamped",
	  "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 9999999999\n",
	  "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 31557600", NULL },
	{ "trailing dot on mx dropped",
	  "version: STSv1\nmode: enforce\nmx: a.example.com.\nmax_age: 5\n",
	  "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 5", NULL },
	{ "no version", "mode: enforce\nmx: a.example.com\nmax_age: 5\n", NULL,
	  "line 3: no version: STSv1" },
	{ "wrong version", "version: STSv2\nmode: enforce\nmx: a.example.com\nmax_age: 5\n", NULL,
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
	{ "repeated mode", "version: STSv1\nmode: testing\nmode: enforce\nmx: a.example.com\nmax_age: 5\n",
	  NULL, "line 3: mode repeated" },
	{ "repeated version", "version: STSv1\nversion: STSv1\nmode: enforce\nmx: a.b.c\nmax_age: 5\n",
	  NULL, "line 2: version repeated" },
	{ "repeated max_age", GOOD "max_age: 5\n", NULL, "line 5: max_age repeated" },
	{ "line without colon", "version: STSv1\nmode enforce\nmx: a.example.com\nmax_age: 5\n", NULL,
	  "line 2: no ':' in the line" },
	{ "empty line in the middle", "version: STSv1\n\nmode: enforce\nmx: a.example.com\nmax_age: 5\n",
	  NULL, "line 2: empty line" },
	{ "HTML instead of a policy", "<html><body>Not here</body></html>\n", NULL,
	  "line 1: no ':' in the line" },
	{ "control byte", "version: STSv1\nmode: enforce\x01\nmx: a.example.com\nmax_age: 5\n", NULL,
	  "line 2: control byte" },
	{ "8-bit byte", "version: STSv1\nmode: enforce\nmx: a.ex\xc3\xa4mple.com\nmax_age: 5\n", NULL,
	  "line 3: byte outside printable ASCII" },
	{ "wildcard of a TLD", "version: STSv1\nmode: enforce\nmx: *.com\nmax_age: 5\n", NULL,
	  "line 3: bad mx pattern" },
	{ "wildcard in the middle", "version: STSv1\nmode: enforce\nmx: a.*.com\nmax_age: 5\n", NULL,
	  "line 3: bad mx pattern" },
	{ "partial wildcard", "version: STSv1\nmode: enforce\nmx: mx*.example.com\nmax_age: 5\n", NULL,
	  "line 3: bad mx pattern" },
	{ "empty label", "version: STSv1\nmode: enforce\nmx: a..example.com\nmax_age: 5\n", NULL,
	  "line 3: bad mx pattern" },
	{ "empty mx", "version: STSv1\nmode: enforce\nmx:\nmax_age: 5\n", NULL,
	  "line 3: bad mx pattern" },
	{ "label with hyphen at end", "version: STSv1\nmode: enforce\nmx: a-.example.com\nmax_age: 5\n",
	  NULL, "line 3: bad mx pattern" },
	{ "bad extension name", "version: STSv1\nmode: enforce\nmx: a.b.c\nmax_age: 5\nfoo bar: x\n",
	  NULL, "line 5: bad field name" },
	{ "empty key", "version: STSv1\nmode: enforce\nmx: a.b.c\nmax_age: 5\n: x\n",
	  NULL, "line 5: bad field name" },
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
};

struct tcase {
	const char *name, *txt;
	int want;
	const char *id;
};

static const struct tcase tcases[] = {
	{ "RFC example", "v=STSv1; id=20160831085700Z;", 1, "20160831085700Z" },
	{ "no spaces, no final ;", "v=STSv1;id=abc", 1, "abc" },
	{ "extension field", "v=STSv1; foo=bar; id=1x ;", 1, "1x" },
	{ "SPF record", "v=spf1 -all", 0, "" },
	{ "v not first", "id=1; v=STSv1;", 0, "" },
	{ "version case", "v=stsv1; id=1", 0, "" },
	{ "no id", "v=STSv1;", -1, "" },
	{ "id with a dash", "v=STSv1; id=a-b", -1, "" },
	{ "id of 33 bytes", "v=STSv1; id=123456789012345678901234567890123", -1, "" },
	{ "id of 32 bytes", "v=STSv1; id=12345678901234567890123456789012", 1,
	  "12345678901234567890123456789012" },
	{ "field without =", "v=STSv1; id=1; junk", -1, "" },
};

int main(void)
{
	char out[4096], err[256], id[TR_STS_ID_MAX], name[300];
	tr_sts_policy p;

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
		snprintf(name, sizeof name, "txt: %s", tcases[i].name);
		id[0] = '\0';
		TAP_INT(tr_sts_txt_parse(tcases[i].txt, id), tcases[i].want, name);
		if (tcases[i].want == 1)
			TAP_STR(id, tcases[i].id, name);
	}
	return tap_done();
}

/*
 * test_msgrules.c - the rules of tlsrelay-milter (msgrules.c): syntax,
 * errors, matching.
 *
 * Table-driven: every case names itself and states its exact outcome (the
 * level matched and its line, or the exact error text).
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "msgrules.h"
#include "status.h"
#include "tap.h"
#include "testutil.h"

/* ---------------------------------------------------------------- errors */

static const struct bad_case {
	const char *name, *text, *error;
} bad_cases[] = {
	{ "unknown type", "sender a@b.example encrypt\n",
	  "R:1: unknown rule type (the first field; expected from, to or header)" },
	{ "type alone", "from\n", "R:1: expected \"from PATTERN LEVEL\"" },
	{ "no level", "from a@b.example\n", "R:1: expected \"from PATTERN LEVEL\"" },
	{ "unknown level", "from a@b.example strong\n",
	  "R:1: unknown level (the last field; expected encrypt, dane, dane-only, verify or secure)" },
	{ "level is case-sensitive", "from a@b.example Encrypt\n",
	  "R:1: unknown level (the last field; expected encrypt, dane, dane-only, verify or secure)" },
	{ "level none refused", "to b.example none\n",
	  "R:1: level none requires nothing: use encrypt, dane, dane-only, verify or secure" },
	{ "level may refused", "to b.example may\n",
	  "R:1: level may requires nothing: use encrypt, dane, dane-only, verify or secure" },
	{ "level fingerprint refused", "to b.example fingerprint\n",
	  "R:1: level fingerprint needs digests: pin them in the destination's tls_policy_map entry" },
	{ "two @", "from a@b@c.example encrypt\n",
	  "R:1: bad address pattern (expected user@domain, @domain, domain or .domain)" },
	{ "empty domain", "from user@ encrypt\n",
	  "R:1: bad address pattern (expected user@domain, @domain, domain or .domain)" },
	{ "angle brackets", "from <a@b.example> encrypt\n",
	  "R:1: bad address pattern (expected user@domain, @domain, domain or .domain)" },
	{ "space in address", "to a b.example encrypt\n",
	  "R:1: bad address pattern (expected user@domain, @domain, domain or .domain)" },
	{ "double dot", "to a..example encrypt\n",
	  "R:1: bad address pattern (expected user@domain, @domain, domain or .domain)" },
	{ "header without colon", "header Subject secure\n",
	  "R:1: bad header pattern (expected \"Name: text\")" },
	{ "header empty name", "header : x secure\n",
	  "R:1: bad header pattern (expected \"Name: text\")" },
	{ "header name with space", "header Sub ject: x secure\n",
	  "R:1: bad header name (printable characters but space and \":\")" },
	{ "error names the line", "# c\n\nfrom a@b.example encrypt\nto x verify extra\n",
	  "R:4: unknown level (the last field; expected encrypt, dane, dane-only, verify or secure)" },
	{ "control byte", "from a@b.example\x01 encrypt\n", "R:1: control character in line" },
	{ "bare CR inside", "from a@b.example\r encrypt\n", "R:1: control character in line" },
};

static void test_errors(void)
{
	tap_expect(NROWS(bad_cases) * 2);
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const struct bad_case *c = &bad_cases[i];
		tlsrelay_status st;
		tr_msgrules *r = tr_msgrules_parse(c->text, "R", &st);
		char name[200];

		snprintf(name, sizeof name, "refused: %s", c->name);
		tap_ok(r == NULL && st.cat == TLSRELAY_CONFIG && strcmp(st.dsn, "4.3.5") == 0,
		       name, st.text);
		snprintf(name, sizeof name, "error text: %s", c->name);
		check_str(r ? "(accepted)" : st.text, c->error, name);
		tr_msgrules_free(r);
	}
}

static void test_limits(void)
{
	tlsrelay_status st;
	char *big = malloc(TR_MSGRULES_LINE_MAX + 64), text[512];
	tr_msgrules *r;

	tap_expect(3);
	memset(big, 'a', TR_MSGRULES_LINE_MAX + 1);
	memcpy(big, "to ", 3);
	big[TR_MSGRULES_LINE_MAX + 1] = '\0';
	r = tr_msgrules_parse(big, "R", &st);
	check_str(r ? "(accepted)" : st.text, "R:1: line longer than 4096 bytes",
	          "a line longer than TR_MSGRULES_LINE_MAX is refused");
	tr_msgrules_free(r);
	free(big);

	snprintf(text, sizeof text, "header Subject: %0*d verify\n", TR_MSGRULES_TEXT_MAX + 1, 0);
	r = tr_msgrules_parse(text, "R", &st);
	check_str(r ? "(accepted)" : st.text, "R:1: header text longer than 200 bytes",
	          "a header text longer than TR_MSGRULES_TEXT_MAX is refused");
	tr_msgrules_free(r);

	r = tr_msgrules_parse("a\0b", "R", &st);   /* parse stops at the NUL: "a" */
	tap_ok(r == NULL, "text parse: a one-word line is refused", st.text);
	tr_msgrules_free(r);
}

static void test_files(void)
{
	tlsrelay_status st;
	char path[256], want[512], as[TR_AS_USER_MAX];
	tr_msgrules *r;
	static const char nul[] = "to a.example encrypt\nto b.exa\0mple verify\n";

	tap_expect(7);
	r = tr_msgrules_load("/nonexistent/rules", &st);
	snprintf(want, sizeof want, "/nonexistent/rules: cannot open: No such file or directory%s",
	         tr_as_user(as));
	check_str(r ? "(loaded)" : st.text, want, "missing file: cannot open, naming the user");
	tap_ok(st.cat == TLSRELAY_CONFIG, "missing file is a configuration error", NULL);
	r = tr_msgrules_load(tmpdir, &st);
	snprintf(want, sizeof want, "%s: cannot open: not a regular file", tmpdir);
	check_str(r ? "(loaded)" : st.text, want, "a directory is refused");

	write_temp("nul", nul, sizeof nul - 1, path, sizeof path);
	r = tr_msgrules_load(path, &st);
	expand("FILE:2: NUL byte in line", path, want, sizeof want);
	check_str(r ? "(loaded)" : st.text, want, "a NUL byte is refused with its line");
	unlink(path);

	write_temp("empty", "", 0, path, sizeof path);
	r = tr_msgrules_load(path, &st);
	tap_ok(r != NULL && tr_msgrules_size(r) == 0, "an empty file is an empty table", st.text);
	tr_msgrules_free(r);
	unlink(path);

	static const char crlf[] = "# rules\r\nfrom a@b.example encrypt\r\n\r\n  to  .c.example   secure  \r\n";
	write_temp("crlf", crlf, sizeof crlf - 1, path, sizeof path);
	r = tr_msgrules_load(path, &st);
	TAP_INT(tr_msgrules_size(r), 2, "CRLF lines, comments, blank lines, extra blanks: 2 rules");
	tr_msgrules_free(r);
	unlink(path);
	if (getuid() != 0) {
		write_temp("unreadable", "to a.example encrypt\n", 21, path, sizeof path);
		chmod(path, 0);
		r = tr_msgrules_load(path, &st);
		snprintf(want, sizeof want, "%s: cannot open: Permission denied%s", path, tr_as_user(as));
		check_str(r ? "(loaded)" : st.text, want, "an unreadable file is refused");
		unlink(path);
	} else {
		tap_skip("an unreadable file is refused", "root reads every file");
	}
}

/* ------------------------------------------------------------- matching */

static const char rules_text[] =
	"# test rules\n"
	"from   alice@Sender.example     encrypt\n"        /* 2 */
	"from   @sender.example          verify\n"         /* 3 */
	"from   .sub.example             dane\n"           /* 4 */
	"to     partner.example          secure\n"         /* 5 */
	"to     @.partner.example        verify\n"         /* 6 */
	"to     bob@other.example        encrypt\n"        /* 7 */
	"header Subject: [secure]        verify\n"         /* 8 */
	"header X-Classification:        encrypt\n"        /* 9 */
	"header subject: [SECURE]        secure\n"         /* 10 */
	"to     partner.example          encrypt\n";       /* 11: weaker, same key */

static const struct match_case {
	const char *name;
	tr_rule_type type;
	const char *a, *b;
	const char *level;      /* "invalid" = no match */
	int line;
} match_cases[] = {
	{ "sender: address rule (weaker than its domain rule)", TR_RULE_FROM, "alice@sender.example", NULL, "verify", 3 },
	{ "sender: domain rule", TR_RULE_FROM, "carol@sender.example", NULL, "verify", 3 },
	{ "sender: case-insensitive, angle brackets", TR_RULE_FROM, "<CAROL@SENDER.Example>", NULL, "verify", 3 },
	{ "sender: source route dropped", TR_RULE_FROM, "<@relay.example:carol@sender.example>", NULL, "verify", 3 },
	{ "sender: subdomain of the domain rule does not match", TR_RULE_FROM, "x@a.sender.example", NULL, "invalid", 0 },
	{ "sender: .sub.example matches a subdomain", TR_RULE_FROM, "x@a.sub.example", NULL, "dane", 4 },
	{ "sender: .sub.example does not match sub.example itself", TR_RULE_FROM, "x@sub.example", NULL, "invalid", 0 },
	{ "sender: .sub.example does not match xsub.example", TR_RULE_FROM, "x@xsub.example", NULL, "invalid", 0 },
	{ "sender: null sender matches nothing", TR_RULE_FROM, "<>", NULL, "invalid", 0 },
	{ "sender: empty matches nothing", TR_RULE_FROM, "", NULL, "invalid", 0 },
	{ "sender: rules for recipients do not apply", TR_RULE_FROM, "x@partner.example", NULL, "invalid", 0 },
	{ "recipient: strongest of two rules on one key", TR_RULE_TO, "<x@partner.example>", NULL, "secure", 5 },
	{ "recipient: subdomain rule", TR_RULE_TO, "x@mx.partner.example", NULL, "verify", 6 },
	{ "recipient: address rule", TR_RULE_TO, "Bob@Other.Example", NULL, "encrypt", 7 },
	{ "recipient: other user in that domain", TR_RULE_TO, "eve@other.example", NULL, "invalid", 0 },
	{ "recipient: no match", TR_RULE_TO, "x@elsewhere.example", NULL, "invalid", 0 },
	{ "recipient: trailing dot of the domain ignored", TR_RULE_TO, "x@partner.example.", NULL, "secure", 5 },
	{ "recipient: trailing dot, brackets, upper case", TR_RULE_TO, "<X@PARTNER.Example.>", NULL, "secure", 5 },
	{ "recipient: several trailing dots ignored", TR_RULE_TO, "x@partner.example..", NULL, "secure", 5 },
	{ "recipient: address rule with a trailing dot", TR_RULE_TO, "Bob@Other.Example.", NULL, "encrypt", 7 },
	{ "recipient: subdomain rule with a trailing dot", TR_RULE_TO, "x@mx.partner.example.", NULL, "verify", 6 },
	{ "recipient: a dot elsewhere still counts", TR_RULE_TO, "x@partner.example.x", NULL, "invalid", 0 },
	{ "recipient: only a dot for a domain matches nothing", TR_RULE_TO, "x@.", NULL, "invalid", 0 },
	{ "recipient: a local part's trailing dot is kept", TR_RULE_TO, "bob.@other.example", NULL, "invalid", 0 },
	{ "sender: domain rule with a trailing dot", TR_RULE_FROM, "<carol@sender.example.>", NULL, "verify", 3 },
	{ "header: substring, any case, strongest rule", TR_RULE_HEADER, "SUBJECT", "Re: [Secure] plans", "secure", 10 },
	{ "header: unfolding keeps the continuation's white space", TR_RULE_HEADER, "Subject", "Re: [sec\r\n ure]", "invalid", 0 },
	{ "header: folding CR LF skipped", TR_RULE_HEADER, "Subject", "Re:\r\n [secure]", "secure", 10 },
	{ "header: other text", TR_RULE_HEADER, "Subject", "Re: secure plans", "invalid", 0 },
	{ "header: other field with the text", TR_RULE_HEADER, "Comments", "[secure]", "invalid", 0 },
	{ "header: Name: alone matches any value", TR_RULE_HEADER, "x-classification", "", "encrypt", 9 },
	{ "header: rules for senders do not apply", TR_RULE_HEADER, "from", "alice@sender.example", "invalid", 0 },
};

static void test_match(void)
{
	tlsrelay_status st;
	tr_msgrules *r = tr_msgrules_parse(rules_text, "R", &st);

	tap_expect(2 + NROWS(match_cases) + 1);
	tap_ok(r != NULL, "the test rules load", st.text);
	if (r == NULL)
		return;
	TAP_INT(tr_msgrules_size(r), 10, "10 rules");
	for (size_t i = 0; i < sizeof match_cases / sizeof match_cases[0]; i++) {
		const struct match_case *c = &match_cases[i];
		int line = 0;
		tr_tls_level lv = tr_msgrules_match(r, c->type, c->a, c->b, &line);
		char got[64], want[64];

		snprintf(got, sizeof got, "%s line %d", tr_tls_level_name(lv), lv == TR_TLS_INVALID ? 0 : line);
		snprintf(want, sizeof want, "%s line %d", c->level, c->line);
		check_str(got, want, c->name);
	}
	tap_ok(tr_msgrules_match(NULL, TR_RULE_TO, "a@b", NULL, NULL) == TR_TLS_INVALID,
	       "NULL table matches nothing", NULL);
	tr_msgrules_free(r);
}

/* tr_msgrules_describe: the rule of a line, as a requirement's origin. */
static void test_describe(void)
{
	static const struct { int line; const char *want; } cases[] = {
		{ 2, "from alice@sender.example" }, { 3, "from sender.example" },
		{ 4, "from .sub.example" }, { 5, "to partner.example" }, { 6, "to .partner.example" },
		{ 8, "header subject: [secure]" }, { 9, "header x-classification:" },
		{ 1, "" }, { 99, "" },
	};
	tlsrelay_status st;
	tr_msgrules *r = tr_msgrules_parse(rules_text, "R", &st);
	char out[64], name[64], small[8];

	tap_expect(NROWS(cases) + 2);
	for (size_t i = 0; r && i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(name, sizeof name, "describe line %d", cases[i].line);
		check_str(tr_msgrules_describe(r, cases[i].line, out, sizeof out), cases[i].want, name);
	}
	check_str(tr_msgrules_describe(r, 5, small, sizeof small), "to part", "describe: cut to the buffer");
	check_str(tr_msgrules_describe(NULL, 5, out, sizeof out), "", "describe: NULL table");
	tr_msgrules_free(r);
}

int main(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_msgrulesXXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	test_errors();
	test_limits();
	test_files();
	test_match();
	test_describe();
	rmdir(tmpdir);
	return tap_done();
}

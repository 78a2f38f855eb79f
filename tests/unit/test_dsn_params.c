/*
 * test_dsn_params.c - tr_dsn_rcpt_params (lib/dsn.h): one recipient's DSN
 * parameters as tlsrelay -D takes them ("NOTIFY=... ORCPT=..."), a table
 * of values: what is taken (NOTIFY upper-cased, ORCPT as given, either
 * absent), and every refusal with the word it names (a bad NOTIFY or
 * ORCPT by the library's own rules, an unknown or repeated keyword).
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "dsn.h"
#include "tlsrelay.h"
#include "tap.h"

#define X10 "xxxxxxxxxx"
#define X100 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10
/* "rfc822;" and 493 x: 500 characters, the most the library sends */
#define ORCPT_500 "rfc822;" X100 X100 X100 X100 X10 X10 X10 X10 X10 X10 X10 X10 X10 "xxx"

static const struct {
	const char *name, *arg;
	int ok;
	const char *notify, *orcpt;   /* when ok (NULL: absent) */
	const char *why;              /* when not: a part of the reason */
} cases[] = {
	{ "empty: none", "", 1, NULL, NULL, NULL },
	{ "spaces only: none", "  ", 1, NULL, NULL, NULL },
	{ "NOTIFY only", "NOTIFY=SUCCESS,FAILURE", 1, "SUCCESS,FAILURE", NULL, NULL },
	{ "NOTIFY lower case: upper-cased", "notify=never", 1, "NEVER", NULL, NULL },
	{ "ORCPT only, xtext kept", "ORCPT=rfc822;a+2Bb@example.test", 1, NULL, "rfc822;a+2Bb@example.test", NULL },
	{ "both, ORCPT first", "orcpt=rfc822;a@example.test NOTIFY=DELAY", 1, "DELAY", "rfc822;a@example.test", NULL },
	{ "both, extra spaces", " NOTIFY=SUCCESS   ORCPT=utf-8;a@example.test ", 1, "SUCCESS", "utf-8;a@example.test", NULL },
	{ "ORCPT of 500 characters", "ORCPT=" ORCPT_500, 1, NULL, ORCPT_500, NULL },
	{ "ORCPT 8-bit quoted, lower-case hex", "ORCPT=rfc822;caf+c3+a9@example.test", 1, NULL, "rfc822;caf+c3+a9@example.test", NULL },
	{ "NOTIFY unknown word", "NOTIFY=SOMETIMES", 0, NULL, NULL, "bad NOTIFY \"SOMETIMES\"" },
	{ "NOTIFY NEVER with another", "NOTIFY=NEVER,SUCCESS", 0, NULL, NULL, "bad NOTIFY" },
	{ "NOTIFY empty", "NOTIFY=", 0, NULL, NULL, "bad NOTIFY \"\"" },
	{ "NOTIFY trailing comma", "NOTIFY=SUCCESS,", 0, NULL, NULL, "bad NOTIFY" },
	{ "NOTIFY over 64 characters", "NOTIFY=SUCCESS,FAILURE,DELAY,SUCCESS,FAILURE,DELAY,SUCCESS,FAILURE,DELAY", 0, NULL, NULL, "bad NOTIFY" },
	{ "ORCPT over 500 characters", "ORCPT=" ORCPT_500 "x", 0, NULL, NULL, "at most 500 characters" },
	{ "ORCPT without addr-type", "ORCPT=a@example.test", 0, NULL, NULL, "bad ORCPT \"a@example.test\"" },
	{ "ORCPT bad xtext", "ORCPT=rfc822;a+2Gb@example.test", 0, NULL, NULL, "bad ORCPT" },
	{ "ORCPT empty", "ORCPT=", 0, NULL, NULL, "bad ORCPT" },
	{ "ORCPT with a space splits it", "ORCPT=rfc822;a b@example.test", 0, NULL, NULL, "\"b@example.test\" is not NOTIFY=value or ORCPT=value" },
	{ "unknown keyword", "RET=FULL", 0, NULL, NULL, "\"RET=FULL\" is not NOTIFY=value or ORCPT=value" },
	{ "no =", "NOTIFY", 0, NULL, NULL, "is not NOTIFY=value" },
	{ "keyword prefix only", "NOTIF=SUCCESS", 0, NULL, NULL, "is not NOTIFY=value" },
	{ "NOTIFY twice", "NOTIFY=SUCCESS NOTIFY=DELAY", 0, NULL, NULL, "NOTIFY given twice" },
	{ "ORCPT twice", "ORCPT=rfc822;a@x.test ORCPT=rfc822;b@x.test", 0, NULL, NULL, "ORCPT given twice" },
	{ "a tab is not a separator", "NOTIFY=SUCCESS\tORCPT=rfc822;a@x.test", 0, NULL, NULL, "bad NOTIFY" },
};

static void check(size_t i)
{
	char buf[1024], name[200];
	const char *notify = "unset", *orcpt = "unset";
	tlsrelay_status st;
	tlsrelay_cat rc;

	snprintf(buf, sizeof buf, "%s", cases[i].arg);
	rc = tr_dsn_rcpt_params(buf, &notify, &orcpt, &st);
	snprintf(name, sizeof name, "%s: %s", cases[i].name, cases[i].ok ? "taken (OK)" : "refused (USAGE)");
	TAP_INT(rc, cases[i].ok ? TLSRELAY_OK : TLSRELAY_USAGE, name);
	if (cases[i].ok) {
		snprintf(name, sizeof name, "%s: NOTIFY %s", cases[i].name,
		         cases[i].notify ? cases[i].notify : "absent");
		tap_ok(cases[i].notify ? notify && strcmp(notify, cases[i].notify) == 0 : notify == NULL,
		       name, notify ? notify : "(null)");
		snprintf(name, sizeof name, "%s: ORCPT %s", cases[i].name, cases[i].orcpt ? "as given" : "absent");
		tap_ok(cases[i].orcpt ? orcpt && strcmp(orcpt, cases[i].orcpt) == 0 : orcpt == NULL,
		       name, orcpt ? orcpt : "(null)");
	} else {
		snprintf(name, sizeof name, "%s: 5.5.4, the reason says %s", cases[i].name, cases[i].why);
		tap_ok(strcmp(st.dsn, "5.5.4") == 0 && strstr(st.text, cases[i].why) != NULL, name, st.text);
	}
}

int main(void)
{
	size_t ok = 0;

	for (size_t i = 0; i < NROWS(cases); i++)
		ok += cases[i].ok;
	/* taken: the result, NOTIFY, ORCPT; refused: the result, the reason */
	tap_plan((int)(3 * ok + 2 * (NROWS(cases) - ok)));
	for (size_t i = 0; i < NROWS(cases); i++)
		check(i);
	return tap_done();
}

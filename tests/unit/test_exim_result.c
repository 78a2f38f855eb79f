/*
 * test_exim_result.c - plugin/exim/transport_result.c: a recipient's
 * tlsrelay_status as the Exim transport module's result. One table of
 * named cases: every category, the reason texts of the library for 4xx at
 * each SMTP stage (the documented forms), 4.7.x security refusals, texts
 * that look alike but are not replies, and the names.
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "tap.h"
#include "transport_result.h"

typedef struct tcase {
	const char *name;
	tlsrelay_cat cat;
	const char *dsn, *text;
	tr_exim_rc rc;
	tr_exim_err err;
	int code4, pass;
} tcase;

static const tcase cases[] = {
	{ "ok: delivered", TLSRELAY_OK, "2.0.0", "250 2.0.0 Ok: queued as 4Xy",
	  TR_EXIM_OK, TR_EXIM_ERR_NONE, 0, 0 },
	{ "perm: 550 to RCPT fails, server's words passed on", TLSRELAY_PERM, "5.1.1",
	  "host mx.example[192.0.2.1]:25 said: 550 5.1.1 <u@example.com>: unknown (in reply to RCPT TO command)",
	  TR_EXIM_FAIL, TR_EXIM_ERR_NONE, 0, 1 },
	{ "dataerr: NUL bytes fail", TLSRELAY_DATAERR, "5.6.0", "message contains NUL bytes",
	  TR_EXIM_FAIL, TR_EXIM_ERR_NONE, 0, 1 },
	{ "usage 5.1.3: a bad address fails", TLSRELAY_USAGE, "5.1.3",
	  "bad address \"a b@c\": white space outside a quoted local part",
	  TR_EXIM_FAIL, TR_EXIM_ERR_NONE, 0, 1 },
	{ "usage 4.x: defers, not passed", TLSRELAY_USAGE, "4.3.0", "no message to deliver",
	  TR_EXIM_DEFER, TR_EXIM_ERR_NONE, 0, 0 },
	{ "usage without dsn: defers", TLSRELAY_USAGE, "", "odd",
	  TR_EXIM_DEFER, TR_EXIM_ERR_NONE, 0, 0 },
	{ "config: defers, file:line not passed to senders", TLSRELAY_CONFIG, "4.3.5",
	  "/etc/tlsrelay/tlsrelay.conf:3: unknown setting \"x\"",
	  TR_EXIM_DEFER, TR_EXIM_ERR_NONE, 0, 0 },
	{ "internal: defers", TLSRELAY_INTERNAL, "4.3.0", "out of memory",
	  TR_EXIM_DEFER, TR_EXIM_ERR_NONE, 0, 0 },
	{ "temp: 450 to RCPT is rcpt_4xx/50", TLSRELAY_TEMP, "4.2.0",
	  "host 127.0.0.1[127.0.0.1]:2525 said: 450 4.2.0 <t@example.test>: try later (in reply to RCPT TO command)",
	  TR_EXIM_DEFER, TR_EXIM_ERR_RCPT4XX, 50, 1 },
	{ "temp: 421 to MAIL is mail_4xx/21", TLSRELAY_TEMP, "4.3.0",
	  "host h[192.0.2.1]:25 said: 421 busy (in reply to MAIL FROM command)",
	  TR_EXIM_DEFER, TR_EXIM_ERR_MAIL4XX, 21, 1 },
	{ "temp: 451 to DATA is data_4xx", TLSRELAY_TEMP, "4.3.0",
	  "host h[192.0.2.1]:25 said: 451 4.3.0 no (in reply to DATA command)",
	  TR_EXIM_DEFER, TR_EXIM_ERR_DATA4XX, 51, 1 },
	{ "temp: 452 at end of DATA is data_4xx", TLSRELAY_TEMP, "4.3.1",
	  "host h[192.0.2.1]:25 said: 452 4.3.1 full (in reply to end of DATA command)",
	  TR_EXIM_DEFER, TR_EXIM_ERR_DATA4XX, 52, 1 },
	{ "temp: 4xx to BDAT LAST is data_4xx", TLSRELAY_TEMP, "4.0.0",
	  "host h[192.0.2.1]:25 said: 454 no (in reply to end of data (BDAT LAST))",
	  TR_EXIM_DEFER, TR_EXIM_ERR_DATA4XX, 54, 1 },
	{ "temp: 4xx to BDAT is data_4xx", TLSRELAY_TEMP, "4.0.0",
	  "host h[192.0.2.1]:25 said: 453-first line (in reply to BDAT command)",
	  TR_EXIM_DEFER, TR_EXIM_ERR_DATA4XX, 53, 1 },
	{ "temp: 4xx to EHLO is no stage kind", TLSRELAY_TEMP, "4.0.0",
	  "host h[192.0.2.1]:25 said: 421 bye (in reply to EHLO command)",
	  TR_EXIM_DEFER, TR_EXIM_ERR_NONE, 0, 1 },
	{ "temp: TLS required, not offered: tls", TLSRELAY_TEMP, "4.7.4",
	  "TLS is required, but host h[192.0.2.1]:25 did not offer STARTTLS",
	  TR_EXIM_DEFER, TR_EXIM_ERR_TLS, 0, 1 },
	{ "temp: certificate verification: tls", TLSRELAY_TEMP, "4.7.5",
	  "Server certificate not verified for h[192.0.2.1]:25",
	  TR_EXIM_DEFER, TR_EXIM_ERR_TLS, 0, 1 },
	{ "temp: a 4.7.x reply to RCPT stays rcpt_4xx", TLSRELAY_TEMP, "4.7.1",
	  "host h[192.0.2.1]:25 said: 450 4.7.1 greylisted (in reply to RCPT TO command)",
	  TR_EXIM_DEFER, TR_EXIM_ERR_RCPT4XX, 50, 1 },
	{ "temp: connection refused: no kind", TLSRELAY_TEMP, "4.4.1",
	  "connect to h[192.0.2.1]:25: Connection refused",
	  TR_EXIM_DEFER, TR_EXIM_ERR_NONE, 0, 1 },
	{ "temp: 'said:' inside another text is not a reply", TLSRELAY_TEMP, "4.4.2",
	  "lost connection with host x said: 450 y while sending message body (in reply to RCPT TO command)",
	  TR_EXIM_DEFER, TR_EXIM_ERR_NONE, 0, 1 },
	{ "temp: a 5xx in a TEMP text is not 4xx", TLSRELAY_TEMP, "4.0.0",
	  "host h[192.0.2.1]:25 said: 554 nope (in reply to RCPT TO command)",
	  TR_EXIM_DEFER, TR_EXIM_ERR_NONE, 0, 1 },
	{ "temp: short code is not a reply", TLSRELAY_TEMP, "4.0.0",
	  "host h said: 45 (in reply to RCPT TO command)",
	  TR_EXIM_DEFER, TR_EXIM_ERR_NONE, 0, 1 },
};

int main(void)
{
	char name[200];

	tap_plan((int)NROWS(cases) * 4 + 2);    /* a case 4, the names of unknown values 2 */
	for (size_t i = 0; i < NROWS(cases); i++) {
		const tcase *c = &cases[i];
		tlsrelay_status st;
		tr_exim_result r;

		memset(&r, 0x5a, sizeof r);      /* every field must be set */
		st.cat = c->cat;
		snprintf(st.dsn, sizeof st.dsn, "%s", c->dsn);
		snprintf(st.text, sizeof st.text, "%s", c->text);
		tr_exim_result_of(&st, &r);
		snprintf(name, sizeof name, "%s: result", c->name);
		TAP_STR(tr_exim_rc_name(r.rc), tr_exim_rc_name(c->rc), name);
		snprintf(name, sizeof name, "%s: kind", c->name);
		TAP_STR(tr_exim_err_name(r.err), tr_exim_err_name(c->err), name);
		snprintf(name, sizeof name, "%s: code", c->name);
		TAP_INT(r.code4, c->code4, name);
		snprintf(name, sizeof name, "%s: passed to the sender", c->name);
		TAP_INT(r.pass, c->pass, name);
	}
	TAP_STR(tr_exim_rc_name((tr_exim_rc)7), "?", "names: an unknown result is ?");
	TAP_STR(tr_exim_err_name((tr_exim_err)9), "?", "names: an unknown kind is ?");
	return tap_done();
}

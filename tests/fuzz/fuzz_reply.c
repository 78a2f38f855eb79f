/*
 * fuzz_reply.c - libFuzzer target: the SMTP reply parser (smtp_reply.c).
 *
 * The input is what a server sends: it is cut into lines at LF (a CR
 * before the LF is dropped, as tr_io_readline does) and fed to
 * tr_reply_feed() until the reply is complete or bad; the next line starts
 * a new reply. Checked: a complete reply has 1..TR_REPLY_LINES_MAX lines
 * and a code 200..559 equal to the first three digits; its enhanced code
 * (if any) has the reply's class; tr_reply_format() and tr_caps_format()
 * produce one printable line that fits; an error text is printable;
 * tr_parse_dsn() never reports more bytes than the text has.
 */
#include "config.h"
#include "fuzz.h"
#include "smtp_reply.h"

static void check_done(const tr_reply *r)
{
	char out[TR_REPLY_TEXT_MAX + 16], small[7], caps[256];
	tr_caps c;

	fuzz_check(r->nlines >= 1 && r->nlines <= TR_REPLY_LINES_MAX, "line count");
	fuzz_check(r->code >= 200 && r->code <= 559, "reply code range");
	fuzz_check(r->dsn[0] == '\0' || r->dsn[0] - '0' == r->code / 100, "dsn class");
	tr_reply_format(r, out, sizeof out);
	fuzz_check(fuzz_printable(out), "formatted reply is one printable line");
	fuzz_check(strlen(out) < sizeof out, "formatted reply fits");
	tr_reply_format(r, small, sizeof small);
	fuzz_check(strlen(small) < sizeof small, "truncated format fits");
	tr_caps_parse(r, &c);
	fuzz_check(r->code == 250 || c.flags == 0, "caps only from 250");
	tr_caps_format(&c, caps, sizeof caps);
	fuzz_check(fuzz_printable(caps), "caps text printable");
	for (size_t i = 0; i < r->nlines; i++) {
		char dsn[16];
		size_t n = tr_parse_dsn(r->line[i], 0, dsn, sizeof dsn);
		fuzz_check(n <= strlen(r->line[i]), "dsn length within text");
		fuzz_check(n == 0 || strlen(dsn) <= 11, "dsn fits x.yyy.zzz");
		fuzz_check(fuzz_printable(r->line[i]) || strchr(r->line[i], '\t'),
		           "stored line has no control byte but TAB");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static tr_reply r;      /* ~9 KB: not on the stack */
	const char *p = (const char *)data, *end = p + size;

	tr_reply_init(&r);
	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		size_t len = lf ? (size_t)(lf - p) : (size_t)(end - p);
		int rc;

		if (len > 0 && p[len - 1] == '\r')
			len--;
		rc = tr_reply_feed(&r, p, len);
		if (rc == TR_REPLY_DONE) {
			check_done(&r);
			rc = tr_reply_feed(&r, "250 x", 5);   /* out of step: refused */
			fuzz_check(rc == TR_REPLY_BAD && r.done, "line after the final one");
			tr_reply_init(&r);
		} else if (rc == TR_REPLY_BAD) {
			fuzz_check(r.error[0] != '\0' && fuzz_printable(r.error), "error text");
			tr_reply_init(&r);
		}
		p = lf ? lf + 1 : end;
	}
	return 0;
}

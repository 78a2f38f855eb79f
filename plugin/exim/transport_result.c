/*
 * transport_result.c - a recipient's tlsrelay_status as Exim's result (see
 * transport_result.h for the table).
 *
 * Decisions:
 * - The kind of a temporary error is read from the reason text, whose
 *   forms are documented for admins (doc/TROUBLESHOOTING.md), rather than
 *   from a new field in the library's public header: only Exim's optional
 *   error-specific retry rules need it, and a text that does not match
 *   leaves the kind NONE, which rules for "*" still cover. Nothing here can
 *   turn a deferral into a bounce or a success.
 * - A 4.7.x DSN is the security class (RFC 3463): every way tlsrelay
 *   refuses to send below the policy ends there, so Exim's "tls_required"
 *   retry rules (which also cover TLS failures) apply to them.
 */
#include "config.h"
#include <ctype.h>
#include <string.h>
#include "transport_result.h"

static const struct {
	const char *what;       /* the end of the reason text */
	tr_exim_err err;
} stages[] = {
	{ "(in reply to RCPT TO command)", TR_EXIM_ERR_RCPT4XX },
	{ "(in reply to MAIL FROM command)", TR_EXIM_ERR_MAIL4XX },
	{ "(in reply to DATA command)", TR_EXIM_ERR_DATA4XX },
	{ "(in reply to end of DATA command)", TR_EXIM_ERR_DATA4XX },
	{ "(in reply to BDAT command)", TR_EXIM_ERR_DATA4XX },
	{ "(in reply to end of data (BDAT LAST))", TR_EXIM_ERR_DATA4XX },
};

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && strcmp(s + n - m, tail) == 0;
}

/* "host H said: 4NN ..." -> 4NN - 400 in *code4; -1 if not that form. */
static int reply_code4(const char *text)
{
	const char *p = strstr(text, " said: ");

	if (strncmp(text, "host ", 5) != 0 || p == NULL)
		return -1;
	p += 7;
	if (p[0] != '4' || !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) ||
	    (p[3] != ' ' && p[3] != '-' && p[3] != '\0'))
		return -1;
	return (p[1] - '0') * 10 + (p[2] - '0');
}

static void classify_defer(const tlsrelay_status *st, tr_exim_result *out)
{
	int code4 = reply_code4(st->text);

	if (code4 >= 0)
		for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++)
			if (ends_with(st->text, stages[i].what)) {
				out->err = stages[i].err;
				out->code4 = code4;
				return;
			}
	if (strncmp(st->dsn, "4.7.", 4) == 0)
		out->err = TR_EXIM_ERR_TLS;
}

void tr_exim_result_of(const tlsrelay_status *st, tr_exim_result *out)
{
	memset(out, 0, sizeof *out);
	switch (st->cat) {
	case TLSRELAY_OK:
		out->rc = TR_EXIM_OK;
		return;
	case TLSRELAY_PERM:
	case TLSRELAY_DATAERR:
		out->rc = TR_EXIM_FAIL;
		out->pass = 1;
		return;
	case TLSRELAY_USAGE:
		out->rc = st->dsn[0] == '5' ? TR_EXIM_FAIL : TR_EXIM_DEFER;
		out->pass = out->rc == TR_EXIM_FAIL;
		return;
	case TLSRELAY_TEMP:
		out->rc = TR_EXIM_DEFER;
		out->pass = 1;
		classify_defer(st, out);
		return;
	case TLSRELAY_CONFIG:
	case TLSRELAY_INTERNAL:
	default:
		out->rc = TR_EXIM_DEFER;
		return;
	}
}

const char *tr_exim_rc_name(tr_exim_rc rc)
{
	static const char *const names[] = { "ok", "defer", "fail" };

	return (unsigned)rc < sizeof names / sizeof names[0] ? names[rc] : "?";
}

const char *tr_exim_err_name(tr_exim_err err)
{
	static const char *const names[] = { "none", "rcpt_4xx", "mail_4xx", "data_4xx", "tls" };

	return (unsigned)err < sizeof names / sizeof names[0] ? names[err] : "?";
}

/*
 * lmtp_server.c - the LMTP (RFC 2033) server state machine: command
 * lines, the DATA reader (dot-unstuffing, the size bound), and the reply
 * formatter. Contract and bounds: lmtp_server.h.
 *
 * Decisions:
 * - Commands are read a whole line at a time from the caller's bytes (LF
 *   or CR LF ends one; a CR alone is data of the line and refused as a
 *   control byte). Pipelined commands are answered in order into out; the
 *   caller sends out when the input holds no whole line more (RFC 2920's
 *   server side: flush before blocking).
 * - HELO and EHLO are refused 500 5.5.1 (RFC 2033 section 4.1); commands
 *   this server does not offer (AUTH, STARTTLS, BDAT, EXPN, HELP, ETRN,
 *   TURN) 502 5.5.1; anything else 500 5.5.2. VRFY 252 2.5.0.
 * - A line with a NUL or another control byte is refused 500 5.5.2 and
 *   reading goes on with the next line (still in step: lines are framed
 *   by LF only); a line over TR_LMTP_LINE_MAX closes the session (its
 *   end is unknown).
 * - The DATA reader takes bytes, not lines: a message line has no length
 *   bound here (the library's sending side has its own), and "." alone on
 *   a line (CR LF or LF) ends it. A leading dot of any other line is
 *   removed. Bytes over size_max are counted, not stored.
 * - XFORWARD (Postfix's lmtp_send_xforward_command) is offered with IDENT
 *   only; an IDENT usable as a log ID (tlsrelay_ctx_set_log_id's
 *   characters) is kept for the transaction, any other value ignored.
 * - NOTIFY and ORCPT are checked with lib/dsn.h's rules (the library's
 *   own, so that the delivery never refuses what was accepted here) and
 *   kept per recipient; the caller passes both on (tlsrelay_rcpt's
 *   notify, orcpt). A malformed ORCPT (not addr-type ";" xtext) is
 *   refused 501, as Postfix's smtpd does. One longer than RFC 3461's 500
 *   characters is well formed but more than the library sends: the
 *   recipient is taken and the ORCPT not passed on (a 5xx would bounce a
 *   good recipient; Postfix passes such a value on, and only the DSN's
 *   "Original-Recipient" is lost). Likewise an ENVID that decodes to more
 *   than RFC 3461's 100 characters: the MAIL is taken and the ENVID not
 *   passed on, where a 501 would bounce the whole message (Postfix's
 *   smtpd checks only that ENVID is printable xtext, as this does).
 */
#include "config.h"
#include "lmtp_server.h"
#include "dsn.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REPLY(out, line) tr_buf_puts((out), line "\r\n")

static const char *const state_names[] = {
	"greeted", "ready", "mail", "data", "deliver", "closed"
};

const char *tr_lmtp_state_name(tr_lmtp_state st)
{
	return (unsigned)st < sizeof state_names / sizeof state_names[0] ? state_names[st] : "?";
}

void tr_lmtp_init(tr_lmtp *s, const char *host, unsigned long long size_max,
                  size_t rcpts_max, tr_lmtp_sink sink, void *sink_arg)
{
	memset(s, 0, sizeof *s);
	snprintf(s->host, sizeof s->host, "%s", host && *host ? host : "localhost");
	for (char *c = s->host; *c; c++)
		if (*c <= 0x20 || *c == 0x7f)
			*c = '?';
	s->size_max = size_max ? size_max : TR_LMTP_SIZE_DEFAULT;
	s->rcpts_max = rcpts_max ? rcpts_max : TR_LMTP_RCPTS_MAX;
	s->sink = sink;
	s->sink_arg = sink_arg;
}

/* Forget the transaction (not the session). */
static void txn_reset(tr_lmtp *s)
{
	for (size_t i = 0; i < s->nrcpts; i++) {
		free(s->rcpts[i].addr);
		free(s->rcpts[i].orcpt);
	}
	free(s->rcpts);
	free(s->sender);
	s->rcpts = NULL;
	s->sender = NULL;
	s->nrcpts = s->rcpts_cap = 0;
	s->ret[0] = s->envid[0] = s->ident[0] = '\0';
	s->smtputf8 = s->body8 = 0;
	s->dstate = 0;
	s->dsize = 0;
	s->oversize = s->sink_failed = s->nomem = 0;
}

void tr_lmtp_free(tr_lmtp *s)
{
	txn_reset(s);
}

void tr_lmtp_greeting(tr_lmtp *s, tr_buf *out)
{
	tr_buf_printf(out, "220 %s LMTP tlsrelayd ready\r\n", s->host);
}

void tr_lmtp_timeout(tr_lmtp *s, tr_buf *out)
{
	tr_buf_printf(out, "421 4.4.2 %s Error: timeout exceeded\r\n", s->host);
	s->state = TR_LMTP_S_CLOSED;
}

/* ------------------------------------------------------------ parameters */

/* One "KEY=VALUE" or "KEY" parameter of MAIL (rcpt NULL) or RCPT (the
 * recipient being made). 0, or the reply line (static). */
static const char *mail_param(tr_lmtp *s, const char *k, size_t kn, const char *v, size_t vn)
{
	char num[24];

	if (kn == 4 && strncasecmp(k, "SIZE", 4) == 0 && v) {
		if (vn == 0 || vn > 20 || strspn(v, "0123456789") < vn)
			return "501 5.5.4 Bad SIZE value";
		memcpy(num, v, vn);
		num[vn] = '\0';
		if (vn == 20 || strtoull(num, NULL, 10) > s->size_max)
			return "552 5.3.4 Message size exceeds fixed limit";
		return NULL;
	}
	if (kn == 4 && strncasecmp(k, "BODY", 4) == 0 && v) {
		if (vn == 4 && strncasecmp(v, "7BIT", 4) == 0)
			return NULL;
		if (vn == 8 && strncasecmp(v, "8BITMIME", 8) == 0)
			return s->body8 = 1, NULL;
		return "501 5.5.4 Bad BODY value";
	}
	if (kn == 3 && strncasecmp(k, "RET", 3) == 0 && v) {
		if (vn != 4 || (strncasecmp(v, "FULL", 4) != 0 && strncasecmp(v, "HDRS", 4) != 0))
			return "501 5.5.4 Bad RET value";
		for (size_t i = 0; i < 4; i++)
			s->ret[i] = (char)toupper((unsigned char)v[i]);
		s->ret[4] = '\0';
		return NULL;
	}
	if (kn == 5 && strncasecmp(k, "ENVID", 5) == 0 && v) {
		char tmp[TR_LMTP_LINE_MAX + 1];    /* a value is shorter than its line */
		size_t n;

		s->envid[0] = '\0';
		if (vn == 0 || tr_dsn_xtext_decode(v, vn, tmp, sizeof tmp) != 0)
			return "501 5.5.4 Bad ENVID value";
		if ((n = strlen(tmp)) <= TR_LMTP_ENVID_MAX)    /* longer: see the header */
			memcpy(s->envid, tmp, n + 1);
		return NULL;
	}
	if (kn == 8 && strncasecmp(k, "SMTPUTF8", 8) == 0 && !v)
		return s->smtputf8 = 1, NULL;
	return "555 5.5.4 Unsupported MAIL parameter";
}

static const char *rcpt_param(tr_lmtp_rcpt *r, const char *k, size_t kn, const char *v, size_t vn)
{
	if (kn == 6 && strncasecmp(k, "NOTIFY", 6) == 0 && v) {
		if (vn >= sizeof r->notify || !tr_dsn_notify_ok(v, vn))
			return "501 5.5.4 Bad NOTIFY value";
		for (size_t i = 0; i < vn; i++)
			r->notify[i] = (char)toupper((unsigned char)v[i]);
		r->notify[vn] = '\0';
		return NULL;
	}
	if (kn == 5 && strncasecmp(k, "ORCPT", 5) == 0 && v) {
		if (r->orcpt || r->orcpt_dropped || !tr_dsn_orcpt_form_ok(v, vn))
			return "501 5.5.4 Bad ORCPT value";
		if (vn > TR_DSN_ORCPT_MAX) {	/* taken, not passed on: see the header */
			r->orcpt_dropped = 1;
			return NULL;
		}
		if (!(r->orcpt = strndup(v, vn)))
			return "452 4.3.0 Insufficient system resources";
		return NULL;
	}
	return "555 5.5.4 Unsupported RCPT parameter";
}

/* The parameters after the address (p, up to end), each given to
 * mail_param or rcpt_param. 0, or the reply line. */
static const char *params(tr_lmtp *s, tr_lmtp_rcpt *r, const char *p, const char *end)
{
	while (p < end) {
		const char *k, *eq, *e;
		const char *bad;

		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		k = p;
		while (p < end && *p != ' ')
			p++;
		e = p;
		eq = memchr(k, '=', (size_t)(e - k));
		if (eq == k)
			return "501 5.5.4 Bad parameter syntax";
		if (eq)
			bad = r ? rcpt_param(r, k, (size_t)(eq - k), eq + 1, (size_t)(e - eq - 1))
			        : mail_param(s, k, (size_t)(eq - k), eq + 1, (size_t)(e - eq - 1));
		else
			bad = r ? rcpt_param(r, k, (size_t)(e - k), NULL, 0)
			        : mail_param(s, k, (size_t)(e - k), NULL, 0);
		if (bad)
			return bad;
	}
	return NULL;
}

/* "<addr>" at *pp (after "FROM:"/"TO:" and optional spaces) into a heap
 * string; *pp moves after ">". 0, or the reply line. */
static const char *path_arg(tr_lmtp *s, const char **pp, const char *end, int allow_empty, char **addr)
{
	const char *p = *pp, *close;
	tlsrelay_status st;

	while (p < end && *p == ' ')
		p++;
	if (p == end || *p != '<' || !(close = memchr(p, '>', (size_t)(end - p))))
		return "501 5.5.4 Syntax: address in angle brackets";
	if (close + 1 < end && close[1] != ' ')
		return "501 5.5.4 Syntax: address in angle brackets";
	if (!(*addr = strndup(p + 1, (size_t)(close - p - 1))))
		return "452 4.3.0 Insufficient system resources";
	if (tlsrelay_check_address(*addr, allow_empty, &st) != TLSRELAY_OK) {
		free(*addr);
		*addr = NULL;
		return allow_empty ? "553 5.1.7 Bad sender address syntax"
		                   : "553 5.1.3 Bad recipient address syntax";
	}
	if (!s->smtputf8)
		for (const char *c = *addr; *c; c++)
			if ((unsigned char)*c >= 0x80) {
				free(*addr);
				*addr = NULL;
				return "553 5.6.7 8-bit address without SMTPUTF8";
			}
	*pp = close + 1;
	return NULL;
}

/* ------------------------------------------------------------- commands */

static void cmd_lhlo(tr_lmtp *s, const char *arg, size_t an, tr_buf *out)
{
	if (an == 0) {
		REPLY(out, "501 5.5.4 Syntax: LHLO hostname");
		return;
	}
	txn_reset(s);
	s->state = TR_LMTP_S_READY;
	tr_buf_printf(out, "250-%s\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n"
	              "250-8BITMIME\r\n250-SMTPUTF8\r\n250-SIZE %llu\r\n250-DSN\r\n"
	              "250 XFORWARD IDENT\r\n", s->host, s->size_max);
}

/* MAIL and XFORWARD need LHLO done and no transaction open: 1 when so,
 * else 0 after the 503 (busy: what to say of an open transaction). */
static int ready_for(const tr_lmtp *s, tr_buf *out, const char *busy)
{
	if (s->state == TR_LMTP_S_GREETED) {
		REPLY(out, "503 5.5.1 Error: send LHLO first");
		return 0;
	}
	if (s->state != TR_LMTP_S_READY) {
		tr_buf_printf(out, "503 5.5.1 Error: %s\r\n", busy);
		return 0;
	}
	return 1;
}

static void cmd_mail(tr_lmtp *s, const char *arg, size_t an, tr_buf *out)
{
	const char *p = arg, *end = arg + an, *bad;
	char *addr = NULL;

	if (!ready_for(s, out, "nested MAIL command"))
		return;
	if (an < 5 || strncasecmp(p, "FROM:", 5) != 0) {
		REPLY(out, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	p += 5;
	/* the parameters first (SMTPUTF8 decides which addresses pass), once
	 * the path's syntax is known */
	{
		const char *close = memchr(p, '>', an - 5);
		if (!close || (close + 1 < end && close[1] != ' '))
			bad = "501 5.5.4 Syntax: address in angle brackets";
		else
			bad = params(s, NULL, close + 1, end);
	}
	if (!bad)
		bad = path_arg(s, &p, end, 1, &addr);
	if (bad) {
		char ident[sizeof s->ident];
		memcpy(ident, s->ident, sizeof ident);
		txn_reset(s);
		memcpy(s->ident, ident, sizeof ident);
		tr_buf_printf(out, "%s\r\n", bad);
		return;
	}
	s->sender = addr;
	s->state = TR_LMTP_S_MAIL;
	REPLY(out, "250 2.1.0 Ok");
}

static void cmd_rcpt(tr_lmtp *s, const char *arg, size_t an, tr_buf *out)
{
	const char *p = arg, *end = arg + an, *bad;
	tr_lmtp_rcpt r = { 0 };

	if (s->state != TR_LMTP_S_MAIL) {
		REPLY(out, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (an < 3 || strncasecmp(p, "TO:", 3) != 0) {
		REPLY(out, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	if (s->nrcpts >= s->rcpts_max) {
		REPLY(out, "452 4.5.3 Error: too many recipients");
		return;
	}
	p += 3;
	bad = path_arg(s, &p, end, 0, &r.addr);
	if (!bad)
		bad = params(s, &r, p, end);
	if (!bad && s->nrcpts == s->rcpts_cap) {
		size_t cap = s->rcpts_cap ? s->rcpts_cap * 2 : 8;
		tr_lmtp_rcpt *n = realloc(s->rcpts, cap * sizeof *n);
		if (!n)
			bad = "452 4.3.0 Insufficient system resources";
		else
			s->rcpts = n, s->rcpts_cap = cap;
	}
	if (bad) {
		free(r.addr);
		free(r.orcpt);
		tr_buf_printf(out, "%s\r\n", bad);
		return;
	}
	s->rcpts[s->nrcpts++] = r;
	REPLY(out, "250 2.1.5 Ok");
}

static void cmd_data(tr_lmtp *s, tr_buf *out)
{
	if (s->state != TR_LMTP_S_MAIL) {
		REPLY(out, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->nrcpts == 0) {
		REPLY(out, "503 5.5.1 Error: no valid recipients");
		return;
	}
	s->state = TR_LMTP_S_DATA;
	s->dstate = 1;          /* at the start of a line */
	s->dsize = 0;
	REPLY(out, "354 End data with <CR><LF>.<CR><LF>");
}

static void cmd_xforward(tr_lmtp *s, const char *arg, size_t an, tr_buf *out)
{
	char v[TR_LMTP_LINE_MAX];

	if (!ready_for(s, out, "MAIL transaction in progress"))
		return;
	if (an < 6 || strncasecmp(arg, "IDENT=", 6) != 0 || memchr(arg, ' ', an)) {
		REPLY(out, "501 5.5.4 Syntax: XFORWARD IDENT=value");
		return;
	}
	s->ident[0] = '\0';
	if (tr_dsn_xtext_decode(arg + 6, an - 6, v, sizeof v) == 0 && strlen(v) <= TR_LMTP_IDENT_MAX &&
	    v[0] != '-' && strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                             "0123456789._-") == strlen(v))
		memcpy(s->ident, v, strlen(v) + 1);
	REPLY(out, "250 2.0.0 Ok");
}

typedef enum verb {
	V_LHLO, V_MAIL, V_RCPT, V_DATA, V_RSET, V_NOOP, V_QUIT, V_VRFY, V_XFORWARD,
	V_SMTP, V_NOTHERE, V_UNKNOWN
} verb;

static const struct { const char *name; verb v; } verbs[] = {
	{ "LHLO", V_LHLO }, { "MAIL", V_MAIL }, { "RCPT", V_RCPT }, { "DATA", V_DATA },
	{ "RSET", V_RSET }, { "NOOP", V_NOOP }, { "QUIT", V_QUIT }, { "VRFY", V_VRFY },
	{ "XFORWARD", V_XFORWARD }, { "HELO", V_SMTP }, { "EHLO", V_SMTP },
	{ "AUTH", V_NOTHERE }, { "STARTTLS", V_NOTHERE }, { "BDAT", V_NOTHERE },
	{ "EXPN", V_NOTHERE }, { "HELP", V_NOTHERE }, { "ETRN", V_NOTHERE }, { "TURN", V_NOTHERE },
};

/* One command line (len bytes, no line end). */
static tr_lmtp_act command(tr_lmtp *s, const char *line, size_t len, tr_buf *out)
{
	size_t vn = 0, an;
	const char *arg;
	verb v = V_UNKNOWN;

	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) {
			REPLY(out, "500 5.5.2 Error: bad character in command");
			return TR_LMTP_MORE;
		}
	while (vn < len && line[vn] != ' ')
		vn++;
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strlen(verbs[i].name) == vn && strncasecmp(line, verbs[i].name, vn) == 0)
			v = verbs[i].v;
	arg = line + vn;
	an = len - vn;
	while (an > 0 && *arg == ' ')
		arg++, an--;
	while (an > 0 && arg[an - 1] == ' ')
		an--;
	switch (v) {
	case V_LHLO: cmd_lhlo(s, arg, an, out); break;
	case V_MAIL: cmd_mail(s, arg, an, out); break;
	case V_RCPT: cmd_rcpt(s, arg, an, out); break;
	case V_DATA:
		if (an)
			REPLY(out, "501 5.5.4 Syntax: DATA");
		else
			cmd_data(s, out);
		break;
	case V_XFORWARD: cmd_xforward(s, arg, an, out); break;
	case V_RSET:
		txn_reset(s);
		if (s->state != TR_LMTP_S_GREETED)
			s->state = TR_LMTP_S_READY;
		REPLY(out, "250 2.0.0 Ok");
		break;
	case V_NOOP: REPLY(out, "250 2.0.0 Ok"); break;
	case V_VRFY: REPLY(out, "252 2.5.0 Cannot VRFY user"); break;
	case V_QUIT:
		tr_buf_printf(out, "221 2.0.0 %s Bye\r\n", s->host);
		s->state = TR_LMTP_S_CLOSED;
		return TR_LMTP_CLOSE;
	case V_SMTP: REPLY(out, "500 5.5.1 Error: this is LMTP, use LHLO"); break;
	case V_NOTHERE: REPLY(out, "502 5.5.1 Error: command not implemented"); break;
	case V_UNKNOWN: REPLY(out, "500 5.5.2 Error: command not recognized"); break;
	}
	return TR_LMTP_MORE;
}

/* ------------------------------------------------------------ the data */

/* Pass n bytes at p to the sink, counting them; over size_max or after a
 * sink failure only counted. */
static void data_out(tr_lmtp *s, const char *p, size_t n)
{
	if (n == 0)
		return;
	if (s->dsize + n > s->size_max)
		s->oversize = 1;
	s->dsize += n;
	if (s->oversize || s->sink_failed || !s->sink)
		return;
	if (s->sink(s->sink_arg, p, n) != 0)
		s->sink_failed = 1;
}

/* Every recipient answered the same line (the data was not stored). */
static void data_refused(tr_lmtp *s, const char *line, tr_buf *out)
{
	if (s->sink)
		(void)s->sink(s->sink_arg, NULL, 0);
	for (size_t i = 0; i < s->nrcpts; i++)
		tr_buf_printf(out, "%s\r\n", line);
	txn_reset(s);
	s->state = TR_LMTP_S_READY;
	s->transactions++;
}

/*
 * The data reader, over bytes. dstate:
 *   0 inside a line   1 at the start of a line   2 after a leading "."
 *   3 after a leading ".\r"
 * p[run..i) is data not passed yet; a leading "." is dropped
 * (dot-unstuffing), the "\r" of state 3 held until the next byte shows
 * whether it ends the data. Returns the bytes used; *end = 1 when ".",
 * CR LF (or LF) was read.
 */
static size_t data_input(tr_lmtp *s, const char *p, size_t n, int *end)
{
	size_t i, run = 0;

	*end = 0;
	for (i = 0; i < n; i++) {
		char c = p[i];
		switch (s->dstate) {
		case 0:
			if (c == '\n')
				s->dstate = 1;
			break;
		case 1:
			if (c == '.') {
				data_out(s, p + run, i - run);
				run = i + 1;
				s->dstate = 2;
			} else {
				s->dstate = c == '\n' ? 1 : 0;
			}
			break;
		case 2:
			if (c == '\n')
				return *end = 1, i + 1;
			if (c == '\r')
				run = i + 1;
			s->dstate = c == '\r' ? 3 : 0;
			break;
		default:
			if (c == '\n')
				return *end = 1, i + 1;
			data_out(s, "\r", 1);
			run = i;
			s->dstate = 0;
			break;
		}
	}
	data_out(s, p + run, n - run);
	return n;
}

tr_lmtp_act tr_lmtp_input(tr_lmtp *s, const char *p, size_t n, size_t *used, tr_buf *out)
{
	size_t u = 0;

	*used = 0;
	while (u < n || s->state == TR_LMTP_S_CLOSED || s->state == TR_LMTP_S_DELIVER) {
		if (s->state == TR_LMTP_S_CLOSED)
			return *used = u, TR_LMTP_CLOSE;
		if (s->state == TR_LMTP_S_DELIVER)
			return *used = u, TR_LMTP_DELIVER;
		if (s->state == TR_LMTP_S_DATA) {
			int end;
			u += data_input(s, p + u, n - u, &end);
			if (!end)
				break;
			if (s->oversize)
				data_refused(s, "552 5.3.4 Error: message file too big", out);
			else if (s->sink_failed)
				data_refused(s, "451 4.3.0 Error: cannot store the message", out);
			else
				s->state = TR_LMTP_S_DELIVER;
			continue;
		}
		const char *lf = memchr(p + u, '\n', n - u);
		size_t len = lf ? (size_t)(lf - (p + u)) : n - u;
		size_t body = len > 0 && lf && p[u + len - 1] == '\r' ? len - 1 : len;
		if (lf ? body > TR_LMTP_LINE_MAX
	       : len > TR_LMTP_LINE_MAX + 1 || (len == TR_LMTP_LINE_MAX + 1 && p[n - 1] != '\r')) {
			REPLY(out, "500 5.5.2 Error: line too long");
			s->state = TR_LMTP_S_CLOSED;
			continue;
		}
		if (!lf)
			break;
		tr_lmtp_act a = command(s, p + u, body, out);
		u += len + 1;
		if (a == TR_LMTP_CLOSE)
			return *used = u, a;
	}
	*used = u;
	return TR_LMTP_MORE;
}

/* -------------------------------------------------------------- replies */

void tr_lmtp_rcpt_reply(const tlsrelay_status *st, const char *addr, char *line, size_t cap)
{
	int cls, code;
	const char *text = st->text;
	char dsn[TLSRELAY_DSN_MAX], safe[TR_LMTP_TEXT_MAX + 1];
	size_t n = 0;

	switch (st->cat) {
	case TLSRELAY_OK: cls = 2, code = 250; break;
	case TLSRELAY_PERM: cls = 5, code = 550; break;
	case TLSRELAY_USAGE: cls = 5, code = 553; break;
	case TLSRELAY_DATAERR: cls = 5, code = 554; break;
	case TLSRELAY_TEMP: cls = 4, code = 451; break;
	default: cls = 4, code = 451, text = "temporary local problem, see the log"; break;
	}
	if (st->dsn[0] - '0' == cls && strnlen(st->dsn, sizeof st->dsn) < sizeof st->dsn)
		snprintf(dsn, sizeof dsn, "%s", st->dsn);
	else
		snprintf(dsn, sizeof dsn, "%d.0.0", cls);
	for (; n < TR_LMTP_TEXT_MAX && n < sizeof st->text && text[n]; n++)
		safe[n] = (unsigned char)text[n] < 0x20 || text[n] == 0x7f ? '?' : text[n];
	safe[n] = '\0';
	snprintf(line, cap, "%d %s <%.100s> %s", code, dsn, addr ? addr : "", n ? safe : "-");
	for (char *c = line; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

void tr_lmtp_results(tr_lmtp *s, const tlsrelay_status *st, tr_buf *out)
{
	char line[TR_LMTP_TEXT_MAX + 200];

	for (size_t i = 0; i < s->nrcpts; i++) {
		tr_lmtp_rcpt_reply(&st[i], s->rcpts[i].addr, line, sizeof line);
		tr_buf_printf(out, "%s\r\n", line);
	}
	txn_reset(s);
	s->state = TR_LMTP_S_READY;
	s->transactions++;
}

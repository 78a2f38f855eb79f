/*
 * smtp_reply.c - SMTP replies (RFC 5321 4.2), enhanced status codes
 * (RFC 3463) and EHLO capabilities (RFC 5321 4.1.1.1, RFC 1870 SIZE,
 * RFC 2920 PIPELINING, RFC 3030 CHUNKING/BINARYMIME, RFC 4954 AUTH).
 *
 * Everything here works on bytes the server sent, so everything is bounded:
 * no allocation, no I/O, no global state, no locale-dependent functions.
 */
#include "config.h"
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "smtp_reply.h"

/* Capability names in flag order: tr_caps_parse() matches them and
 * tr_caps_format() prints them in this order. */
static const struct {
	const char *name;
	unsigned flag;
} cap_names[] = {
	{ "STARTTLS", TR_CAP_STARTTLS },
	{ "PIPELINING", TR_CAP_PIPELINING },
	{ "8BITMIME", TR_CAP_8BITMIME },
	{ "SIZE", TR_CAP_SIZE },
	{ "DSN", TR_CAP_DSN },
	{ "SMTPUTF8", TR_CAP_SMTPUTF8 },
	{ "CHUNKING", TR_CAP_CHUNKING },
	{ "ENHANCEDSTATUSCODES", TR_CAP_ENHANCEDSTATUSCODES },
	{ "AUTH", TR_CAP_AUTH },
	{ "BINARYMIME", TR_CAP_BINARYMIME },
};

static const struct {
	const char *name;
	unsigned flag;
} auth_names[] = {
	{ "PLAIN", TR_AUTH_PLAIN },
	{ "LOGIN", TR_AUTH_LOGIN },
	{ "CRAM-MD5", TR_AUTH_CRAM_MD5 },
	{ "XOAUTH2", TR_AUTH_XOAUTH2 },
};

#define COUNT(a) (sizeof (a) / sizeof (a)[0])

/* ------------------------------------------------------------- helpers */

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static unsigned char ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* The n bytes at w equal NUL-terminated name, ignoring ASCII case. */
static int word_eq(const char *w, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (name[i] == '\0' ||
		    ascii_lower((unsigned char)w[i]) != ascii_lower((unsigned char)name[i]))
			return 0;
	return name[n] == '\0';
}

/* Next word of s (separated by SP or TAB): returns its start, *n its length
 * (0 at the end of s). */
static const char *next_word(const char *s, size_t *n)
{
	while (*s == ' ' || *s == '\t')
		s++;
	*n = 0;
	while (s[*n] != '\0' && s[*n] != ' ' && s[*n] != '\t')
		(*n)++;
	return s;
}

/* Append n bytes of s at out[pos] (pos < cap), truncating so that out stays
 * NUL-terminated within cap. Returns the new position. */
static size_t append(char *out, size_t cap, size_t pos, const char *s, size_t n)
{
	size_t room = cap - 1 - pos;

	if (n > room)
		n = room;
	memcpy(out + pos, s, n);
	pos += n;
	out[pos] = '\0';
	return pos;
}

/* A printable copy of the start of a (hostile) line, for r->error. */
static void excerpt(const char *line, size_t len, char *out, size_t cap)
{
	size_t i, n = len < cap - 1 ? len : cap - 1;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)line[i];
		out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[n] = '\0';
}

/* ---------------------------------------------------------------- replies */

/* Only the fields read before a line is stored: line[i] is read only for
 * i < nlines and buf only through line[], both written by store_line first.
 * Zeroing the whole 9 KB (line[] and buf) three times per message was 8 %
 * of a warm delivery's instructions in tlsrelayd (doc/PERFORMANCE.md). */
void tr_reply_init(tr_reply *r)
{
	r->code = 0;
	r->dsn[0] = '\0';
	r->nlines = 0;
	r->used = 0;
	r->done = 0;
	r->error[0] = '\0';
}

/* Reply code of a line: three digits, 2-5, 0-5, 0-9 (RFC 5321 4.2).
 * Returns -1 if the line does not start with one. */
static int parse_code(const char *line, size_t len)
{
	if (len < 3 || line[0] < '2' || line[0] > '5' ||
	    line[1] < '0' || line[1] > '5' || !is_digit((unsigned char)line[2]))
		return -1;
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

/* Store tlen bytes of text as the next line, control bytes but TAB
 * replaced with '?'. The caller has checked the bounds. */
static void store_line(tr_reply *r, const char *text, size_t tlen)
{
	char *dst = r->buf + r->used;
	size_t i;

	for (i = 0; i < tlen; i++) {
		unsigned char c = (unsigned char)text[i];
		dst[i] = ((c < 0x20 && c != '\t') || c == 0x7f) ? '?' : (char)c;
	}
	dst[tlen] = '\0';
	r->line[r->nlines++] = dst;
	r->used += tlen + 1;
}

/* Check one line against the syntax and the bounds: TR_REPLY_DONE for a
 * final line, TR_REPLY_MORE for a continuation, TR_REPLY_BAD (r->error set)
 * if it is bad. */
static tr_reply_res check_line(tr_reply *r, const char *line, size_t len, int *code)
{
	char ex[24];

	if (len > TR_REPLY_LINE_MAX) {
		snprintf(r->error, sizeof r->error,
		         "reply line too long (%zu bytes, limit %d)", len, TR_REPLY_LINE_MAX);
		return TR_REPLY_BAD;
	}
	excerpt(line, len, ex, sizeof ex);
	*code = parse_code(line, len);
	if (*code < 0) {
		snprintf(r->error, sizeof r->error, "malformed reply code in \"%s\"", ex);
		return TR_REPLY_BAD;
	}
	if (len > 3 && line[3] != ' ' && line[3] != '-') {
		snprintf(r->error, sizeof r->error,
		         "bad separator after reply code in \"%s\"", ex);
		return TR_REPLY_BAD;
	}
	if (r->nlines > 0 && *code != r->code) {
		snprintf(r->error, sizeof r->error,
		         "reply line code %d differs from the first line's %d", *code, r->code);
		return TR_REPLY_BAD;
	}
	if (r->nlines >= TR_REPLY_LINES_MAX) {
		snprintf(r->error, sizeof r->error,
		         "reply has more than %d lines", TR_REPLY_LINES_MAX);
		return TR_REPLY_BAD;
	}
	if ((len > 4 ? len - 4 : 0) + 1 > sizeof r->buf - r->used) {
		snprintf(r->error, sizeof r->error,
		         "reply text longer than %d bytes", TR_REPLY_TEXT_MAX);
		return TR_REPLY_BAD;
	}
	return len == 3 || line[3] == ' ' ? TR_REPLY_DONE : TR_REPLY_MORE;
}

tr_reply_res tr_reply_feed(tr_reply *r, const char *line, size_t len)
{
	tr_reply_res kind;
	int code = 0;

	if (r == NULL)
		return TR_REPLY_BAD;
	if (r->error[0] != '\0')
		return TR_REPLY_BAD;    /* already rejected: keep the first reason */
	if (r->done) {
		snprintf(r->error, sizeof r->error,
		         "line after the final line of a %d reply", r->code);
		return TR_REPLY_BAD;
	}
	if (line == NULL)
		len = 0;
	kind = check_line(r, line, len, &code);
	if (kind == TR_REPLY_BAD)
		return TR_REPLY_BAD;
	store_line(r, len > 4 ? line + 4 : "", len > 4 ? len - 4 : 0);
	if (r->nlines == 1) {
		r->code = code;
		tr_parse_dsn(r->line[0], code / 100, r->dsn, sizeof r->dsn);
	}
	if (kind == TR_REPLY_MORE)
		return TR_REPLY_MORE;
	r->done = 1;
	return TR_REPLY_DONE;
}

/* Number of leading digits of s, counting at most 4. */
static size_t count_digits(const char *s)
{
	size_t n = 0;

	while (n < 4 && is_digit((unsigned char)s[n]))
		n++;
	return n;
}

size_t tr_parse_dsn(const char *text, int class_digit, char *out, size_t cap)
{
	size_t i, n;

	if (out != NULL && cap > 0)
		out[0] = '\0';
	if (text == NULL || (text[0] != '2' && text[0] != '4' && text[0] != '5'))
		return 0;
	if (class_digit != 0 && text[0] - '0' != class_digit)
		return 0;
	if (text[1] != '.')
		return 0;
	i = 2;
	n = count_digits(text + i);           /* subject: 1*3digit */
	if (n < 1 || n > 3 || text[i + n] != '.')
		return 0;
	i += n + 1;
	n = count_digits(text + i);           /* detail: 1*3digit */
	if (n < 1 || n > 3)
		return 0;
	i += n;
	if (text[i] != ' ' && text[i] != '\0')
		return 0;
	if (out != NULL) {
		if (cap <= i)
			return 0;
		memcpy(out, text, i);
		out[i] = '\0';
	}
	return i + (text[i] == ' ');
}

char *tr_reply_format(const tr_reply *r, char *out, size_t cap)
{
	char code[16];
	size_t pos, i;

	if (out == NULL || cap == 0)
		return out;
	out[0] = '\0';
	if (r == NULL || r->nlines == 0)
		return out;
	if (r->code >= 100 && r->code <= 999) {   /* always, from parse_code */
		code[0] = (char)('0' + r->code / 100);
		code[1] = (char)('0' + r->code / 10 % 10);
		code[2] = (char)('0' + r->code % 10);
		code[3] = '\0';
	} else {
		snprintf(code, sizeof code, "%03d", r->code);
	}
	pos = append(out, cap, 0, code, strlen(code));
	for (i = 0; i < r->nlines && i < TR_REPLY_LINES_MAX; i++) {
		if (r->line[i] == NULL || r->line[i][0] == '\0')
			continue;
		pos = append(out, cap, pos, " ", 1);
		pos = append(out, cap, pos, r->line[i], strlen(r->line[i]));
	}
	for (i = 0; i < pos; i++)
		if (out[i] == '\t')
			out[i] = ' ';
	return out;
}

/* ----------------------------------------------------------- capabilities */

/* A SIZE parameter: decimal digits only, 0 if not a number or too big. */
static unsigned long long parse_size(const char *w, size_t n)
{
	unsigned long long v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned d;
		if (!is_digit((unsigned char)w[i]))
			return 0;
		d = (unsigned)(w[i] - '0');
		if (v > (ULLONG_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	return v;
}

static unsigned auth_mech(const char *w, size_t n)
{
	size_t k;

	for (k = 0; k < COUNT(auth_names); k++)
		if (word_eq(w, n, auth_names[k].name))
			return auth_names[k].flag;
	return 0;
}

/* Every word of s is a SASL mechanism name. */
static void auth_mechs(const char *s, tr_caps *caps)
{
	const char *w;
	size_t n;

	for (w = next_word(s, &n); n > 0; w = next_word(w + n, &n))
		caps->auth |= auth_mech(w, n);
}

/* One EHLO line: keyword, then parameters. */
static void caps_line(const char *s, tr_caps *caps)
{
	const char *w, *v;
	size_t n, m, k;

	w = next_word(s, &n);
	if (n >= 5 && word_eq(w, 5, "AUTH=")) {     /* old form: AUTH=LOGIN PLAIN */
		caps->flags |= TR_CAP_AUTH;
		caps->auth |= auth_mech(w + 5, n - 5);
		auth_mechs(w + n, caps);
		return;
	}
	for (k = 0; k < COUNT(cap_names); k++)
		if (word_eq(w, n, cap_names[k].name))
			break;
	if (n == 0 || k == COUNT(cap_names))
		return;                                 /* unknown keyword */
	caps->flags |= cap_names[k].flag;
	if (cap_names[k].flag == TR_CAP_AUTH) {
		auth_mechs(w + n, caps);
	} else if (cap_names[k].flag == TR_CAP_SIZE) {
		v = next_word(w + n, &m);
		caps->size_max = parse_size(v, m);
	}
}

void tr_caps_parse(const tr_reply *r, tr_caps *caps)
{
	size_t i;

	if (caps == NULL)
		return;
	memset(caps, 0, sizeof *caps);
	if (r == NULL || !r->done || r->error[0] != '\0' || r->code != 250)
		return;
	for (i = 1; i < r->nlines && i < TR_REPLY_LINES_MAX; i++)
		if (r->line[i] != NULL)
			caps_line(r->line[i], caps);
}

char *tr_caps_format(const tr_caps *caps, char *out, size_t cap)
{
	size_t pos = 0, k;

	if (out == NULL || cap == 0)
		return out;
	out[0] = '\0';
	if (caps == NULL)
		return out;
	for (k = 0; k < COUNT(cap_names); k++) {
		if (!(caps->flags & cap_names[k].flag))
			continue;
		if (pos > 0)
			pos = append(out, cap, pos, " ", 1);
		pos = append(out, cap, pos, cap_names[k].name, strlen(cap_names[k].name));
	}
	return out;
}

/*
 * rcpt_result.c - each recipient's result as a line of text, and the rule
 * that settles every recipient after a delivery (rcpt_result.h has the
 * form and the decisions).
 */
#include "config.h"
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "rcpt_result.h"
#include "status.h"

/* A category no status of the library has: "not settled". */
#define UNSETTLED ((tlsrelay_cat)-1)

void tr_rcpts_unsettled(tlsrelay_rcpt *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		memset(&r[i].status, 0, sizeof r[i].status);
		r[i].status.cat = UNSETTLED;
		r[i].dsn_aware = 0;
	}
}

void tr_rcpts_settle(tlsrelay_rcpt *r, size_t n, const tlsrelay_status *summary)
{
	int whole = summary->cat != TLSRELAY_OK && summary->cat != TLSRELAY_TEMP &&
	            summary->cat != TLSRELAY_PERM;

	for (size_t i = 0; i < n; i++)
		if (r[i].status.cat == UNSETTLED || (whole && r[i].status.cat != TLSRELAY_OK)) {
			tr_status_copy(&r[i].status, summary);
			r[i].dsn_aware = 0;
		}
}

size_t tr_rcpt_line_format(char *buf, size_t cap, size_t index, const tlsrelay_status *st,
                           int dsn_aware)
{
	int n = snprintf(buf, cap, TR_RCPT_LINE_TAG "%zu %s%s %s ", index, tlsrelay_cat_name(st->cat),
	                 st->cat == TLSRELAY_OK && dsn_aware ? TR_RCPT_DSN_AWARE : "",
	                 st->dsn[0] ? st->dsn : "-");
	size_t len = n < 0 ? 0 : (size_t)n;

	for (const char *p = st->text; *p && len + 2 < cap && p - st->text < TLSRELAY_TEXT_MAX - 1; p++) {
		unsigned char c = (unsigned char)*p;
		buf[len++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	buf[len++] = '\n';
	buf[len] = '\0';
	return len;
}

/* The next word of [*p, end) ending with a space; its length, 0 if none. */
static size_t word(const char **p, const char *end, const char **w)
{
	const char *sp = memchr(*p, ' ', (size_t)(end - *p));

	if (sp == NULL || sp == *p)
		return 0;
	*w = *p;
	*p = sp + 1;
	return (size_t)(sp - *w);
}

static int parse_index(const char *w, size_t len, size_t n, size_t *index)
{
	size_t v = 0;

	if (len == 0 || len > 9 || (w[0] == '0' && len > 1))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)w[i]))
			return -1;
		v = v * 10 + (size_t)(w[i] - '0');
	}
	if (v >= n)
		return -1;
	*index = v;
	return 0;
}

/* CATEGORY, or "ok" TR_RCPT_DSN_AWARE (*dsn_aware 1). */
static int parse_cat(const char *w, size_t len, tlsrelay_cat *cat, int *dsn_aware)
{
	size_t m = sizeof TR_RCPT_DSN_AWARE - 1;

	*dsn_aware = 0;
	if (len == 2 + m && memcmp(w, "ok" TR_RCPT_DSN_AWARE, len) == 0) {
		*cat = TLSRELAY_OK;
		*dsn_aware = 1;
		return 0;
	}
	for (int c = TLSRELAY_OK; c <= TLSRELAY_INTERNAL; c++) {
		const char *name = tlsrelay_cat_name((tlsrelay_cat)c);
		if (strlen(name) == len && memcmp(name, w, len) == 0) {
			*cat = (tlsrelay_cat)c;
			return 0;
		}
	}
	return -1;
}

/* "X.Y.Z" (class 2, 4 or 5; 1-3 digits each further part) or "-". */
static int parse_dsn(const char *w, size_t len, char *dsn)
{
	size_t i = 1, parts = 0;

	if (len == 1 && w[0] == '-') {
		dsn[0] = '\0';
		return 0;
	}
	if (len >= TLSRELAY_DSN_MAX || len < 5 || (w[0] != '2' && w[0] != '4' && w[0] != '5'))
		return -1;
	while (i < len) {
		size_t d = 0;
		if (w[i++] != '.')
			return -1;
		while (i < len && isdigit((unsigned char)w[i]) && d < 3)
			i++, d++;
		if (d == 0)
			return -1;
		parts++;
	}
	if (parts != 2)
		return -1;
	memcpy(dsn, w, len);
	dsn[len] = '\0';
	return 0;
}

/* One line (without its LF) into *index, *st and *dsn_aware; 0, or -1 if
 * it is not exactly the form of rcpt_result.h or index >= n. */
static int line_parse(const char *line, size_t len, size_t n, size_t *index,
                      tlsrelay_status *st, int *dsn_aware)
{
	const char *p = line, *end = line + len, *w;
	size_t wl, tl;

	if (len >= TR_RCPT_LINE_MAX || len < sizeof TR_RCPT_LINE_TAG - 1 ||
	    memcmp(line, TR_RCPT_LINE_TAG, sizeof TR_RCPT_LINE_TAG - 1) != 0)
		return -1;
	p += sizeof TR_RCPT_LINE_TAG - 1;
	memset(st, 0, sizeof *st);
	if ((wl = word(&p, end, &w)) == 0 || parse_index(w, wl, n, index) < 0 ||
	    (wl = word(&p, end, &w)) == 0 || parse_cat(w, wl, &st->cat, dsn_aware) < 0 ||
	    (wl = word(&p, end, &w)) == 0 || parse_dsn(w, wl, st->dsn) < 0)
		return -1;
	if ((tl = (size_t)(end - p)) >= TLSRELAY_TEXT_MAX)
		return -1;
	for (size_t i = 0; i < tl; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return -1;
	memcpy(st->text, p, tl);
	st->text[tl] = '\0';
	return 0;
}

/* Every recipient TEMP with the reason; TEMP. */
static tlsrelay_cat defer_all(tlsrelay_rcpt *r, size_t n, tlsrelay_status *st)
{
	for (size_t i = 0; i < n; i++) {
		tr_status_copy(&r[i].status, st);
		r[i].dsn_aware = 0;
	}
	return TLSRELAY_TEMP;
}

/* "X.Y.Z text" or "text" into *st (category cat). */
static void summary_of(const char *line, size_t len, tlsrelay_cat cat, tlsrelay_status *st)
{
	const char *sp = memchr(line, ' ', len);
	char dsn[TLSRELAY_DSN_MAX];

	if (sp != NULL && parse_dsn(line, (size_t)(sp - line), dsn) == 0 && dsn[0] != '2') {
		tr_status_set(st, cat, dsn, "%.*s", (int)(len - (size_t)(sp + 1 - line)), sp + 1);
		return;
	}
	tr_status_set(st, cat, "4.3.0", "%.*s", (int)len, line);
}

tlsrelay_cat tr_rcpt_results_read(const char *out, size_t len, int exit_status,
                                  const char *daemon_line, tlsrelay_rcpt *r, size_t n,
                                  tlsrelay_status *st)
{
	tlsrelay_cat miss = exit_status == 75 ? TLSRELAY_TEMP : TLSRELAY_CONFIG;
	const char *p = out, *end = out + len, *summary = NULL;
	size_t slen = 0, idx;
	tlsrelay_status one;
	int aware;

	if (daemon_line != NULL && daemon_line[0]) {
		summary_of(daemon_line, strlen(daemon_line), TLSRELAY_TEMP, st);
		return defer_all(r, n, st);
	}
	tr_rcpts_unsettled(r, n);
	if (len > (n + 4) * TR_RCPT_LINE_MAX || exit_status < 0 || exit_status > 255)
		goto malformed;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (ll >= sizeof TR_RCPT_LINE_TAG - 1 && memcmp(p, TR_RCPT_LINE_TAG, sizeof TR_RCPT_LINE_TAG - 1) == 0) {
			if (nl == NULL || line_parse(p, ll, n, &idx, &one, &aware) < 0 ||
			    r[idx].status.cat != UNSETTLED)
				goto malformed;
			r[idx].status = one;
			r[idx].dsn_aware = aware;
		} else if (summary == NULL && ll > 0) {
			summary = p;
			slen = ll;
		}
		p += ll + (nl != NULL);
	}
	for (size_t i = 0; i < n; i++) {
		if (exit_status == 0 && r[i].status.cat != TLSRELAY_OK)
			goto malformed;
		if (r[i].status.cat == UNSETTLED) {
			if (summary)
				summary_of(summary, slen, miss, &r[i].status);
			else
				tr_status_set(&r[i].status, miss, "4.3.0", "delivery ended with status %d "
				              "and no result for this recipient", exit_status);
		}
	}
	return tr_status_ok(st);
malformed:
	tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "malformed result from the delivery process "
	              "(exit status %d): delivery status unknown", exit_status);
	return defer_all(r, n, st);
}

/*
 * msgreq.c - per-message TLS requirements on the transport side: the
 * X-TLSRelay-Require header of a spooled message (read, remove), the
 * envelope's level from message_rules, and both as inputs of the TLS
 * demand (see msgreq.h; the rule itself is demand.h R4).
 *
 * The spool is in canonical CR LF form (message.h). The header section is
 * read through a small buffered line reader that keeps only the first bytes
 * of each line (enough for a field name, or for the value of a field we
 * care about), so memory stays fixed whatever the header holds. Removal
 * shifts the rest of the file over the removed ranges (pread/pwrite, the
 * write offset never passes the read offset) and truncates it; nothing is
 * copied when the message has no requirement field, the usual case.
 *
 * Decisions:
 * - An unusable requirement value defers (4.7.5) rather than counting as
 *   the strongest level: it can only come from a newer milter or from a
 *   sender when no milter strips forgeries, and a deferral names the
 *   problem in the queue instead of guessing.
 * - Honouring the header is safe even without the milter: it can only
 *   raise a level. A forged header makes a sender's own mail stricter (at
 *   worst deferred), never weaker.
 * - One rule combines a requirement with a destination policy (demand.h
 *   R4), for the header and the envelope rules alike; the strongest
 *   requirement is applied once, so the result does not depend on which
 *   source came first. A requirement never replaces DANE: it becomes the
 *   floor of the servers DANE does not cover.
 * - Recipients of one nexthop group share the strongest level (one SMTP
 *   transaction) rather than being split into one session per level:
 *   raising is never weaker, a split costs sessions for a rare case, and
 *   an MTA recipient limit of 1 already keeps recipients apart. Documented
 *   in tlsrelay.conf(5) message_rules.
 */
#include "config.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "message.h"
#include "msgreq.h"
#include "status.h"

#define KEEP_MAX 128          /* bytes kept of each header line */
#define CHUNK    (16 * 1024)

typedef struct reader {
	int fd;
	off_t off;                /* file offset of buf[0] */
	char buf[CHUNK];
	size_t pos, len;
	int err;
} reader;

typedef struct line {
	char keep[KEEP_MAX + 1];  /* first bytes, NUL-terminated, no CR LF */
	size_t len;               /* whole length without CR LF */
	off_t start, end;         /* file offsets; end is after the LF */
} line;

/* A removed range of the file. */
typedef struct range { off_t start, end; unsigned long long lines; } range;

enum field { F_NONE, F_OTHER, F_REQUIRE, F_TLSREQ };

typedef struct scan {
	tr_msgreq *out;
	enum field cur;
	char value[TR_MSGREQ_VALUE_MAX + 2];
	size_t vlen;
	int vlong;
	range *ranges;
	size_t nranges;
} scan;

/* ------------------------------------------------------------- reading */

static int fill(reader *r)
{
	ssize_t n;

	r->off += (off_t)r->len;
	r->pos = r->len = 0;
	do
		n = pread(r->fd, r->buf, sizeof r->buf, r->off);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r->err = errno;
		return -1;
	}
	r->len = (size_t)n;
	return n > 0;
}

/* The next line into *ln. 1 = a line, 0 = end of file, -1 = read error. */
static int next_line(reader *r, line *ln)
{
	int any = 0;

	ln->len = 0;
	ln->start = r->off + (off_t)r->pos;
	for (;;) {
		if (r->pos == r->len) {
			int f = fill(r);
			if (f <= 0) {
				ln->end = r->off + (off_t)r->pos;
				ln->keep[ln->len < KEEP_MAX ? ln->len : KEEP_MAX] = '\0';
				return f < 0 ? -1 : any;
			}
		}
		char c = r->buf[r->pos++];
		any = 1;
		if (c == '\n')
			break;
		if (ln->len < KEEP_MAX)
			ln->keep[ln->len] = c;
		ln->len++;
	}
	ln->end = r->off + (off_t)r->pos;
	if (ln->len > 0 && (ln->len > KEEP_MAX || ln->keep[ln->len - 1] == '\r'))
		ln->len--;       /* the CR of CR LF (canonical form) */
	ln->keep[ln->len < KEEP_MAX ? ln->len : KEEP_MAX] = '\0';
	return 1;
}

/* -------------------------------------------------------------- fields */

/* Length of the field name of s (up to optional white space and ':'), or
 * 0 when s is not a header field line. *colon gets the value's start. */
static size_t field_name(const char *s, const char **colon)
{
	size_t n = 0;
	const char *p;

	while (s[n] > ' ' && s[n] < 0x7f && s[n] != ':')
		n++;
	for (p = s + n; *p == ' ' || *p == '\t'; p++)
		;
	if (n == 0 || *p != ':')
		return 0;
	*colon = p + 1;
	return n;
}

static void value_add(scan *sc, const char *v, size_t n)
{
	for (size_t i = 0; i < n && v[i]; i++) {
		if (sc->vlen >= TR_MSGREQ_VALUE_MAX) {
			sc->vlong = 1;
			return;
		}
		sc->value[sc->vlen++] = v[i];
	}
}

/* The value of the field just finished, trimmed and lower-cased. */
static char *value_trim(scan *sc)
{
	char *v = sc->value, *e;

	sc->value[sc->vlen] = '\0';
	while (*v == ' ' || *v == '\t')
		v++;
	for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	*e = '\0';
	for (char *p = v; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return v;
}

static void mark_bad(tr_msgreq *o, const char *v, int cut)
{
	if (o->bad)
		return;
	o->bad = 1;
	snprintf(o->bad_value, sizeof o->bad_value, "%s%s", v, cut ? "..." : "");
	for (char *p = o->bad_value; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

static void field_done(scan *sc)
{
	tr_msgreq *o = sc->out;
	char *v;
	tr_tls_level lv;

	if (sc->cur == F_REQUIRE) {
		v = value_trim(sc);
		lv = tr_tls_level_from_name(v);
		if (sc->vlong || lv == TR_TLS_INVALID || lv == TR_TLS_FINGERPRINT)
			mark_bad(o, v, sc->vlong);
		else if (lv > o->level)
			o->level = lv;
	} else if (sc->cur == F_TLSREQ) {
		v = value_trim(sc);
		if (!sc->vlong && strcmp(v, "no") == 0)
			o->tls_required_no = 1;
	}
	sc->cur = F_NONE;
}

static int add_range(scan *sc, off_t start)
{
	range *p;

	if (sc->nranges >= TR_MSGREQ_FIELDS_MAX)
		return -1;
	p = realloc(sc->ranges, (sc->nranges + 1) * sizeof *p);
	if (p == NULL)
		return -1;
	sc->ranges = p;
	p[sc->nranges].start = p[sc->nranges].end = start;
	p[sc->nranges].lines = 0;
	sc->nranges++;
	return 0;
}

static void extend_range(scan *sc, const line *ln)
{
	range *rg = &sc->ranges[sc->nranges - 1];

	rg->end = ln->end;
	rg->lines++;
}

/* One line of the header section: 1 = go on, 0 = header ended, -1 = too
 * many requirement fields or out of memory. */
static int header_line(scan *sc, const line *ln)
{
	const char *colon;
	size_t n;

	if (ln->len == 0)
		return 0;
	if (ln->keep[0] == ' ' || ln->keep[0] == '\t') {
		if (ln->len > KEEP_MAX)
			sc->vlong = 1;
		if (sc->cur == F_REQUIRE || sc->cur == F_TLSREQ)
			value_add(sc, ln->keep, strlen(ln->keep));
		if (sc->cur == F_REQUIRE)
			extend_range(sc, ln);
		return sc->cur != F_NONE;
	}
	field_done(sc);
	if ((n = field_name(ln->keep, &colon)) == 0)
		return 0;
	sc->vlen = 0;
	sc->vlong = ln->len > KEEP_MAX;
	sc->cur = F_OTHER;
	if (n == strlen(TR_MSGREQ_HEADER) && strncasecmp(ln->keep, TR_MSGREQ_HEADER, n) == 0) {
		sc->cur = F_REQUIRE;
		sc->out->nfields++;
		if (add_range(sc, ln->start) < 0)
			return -1;
		extend_range(sc, ln);
	} else if (n == 12 && strncasecmp(ln->keep, "TLS-Required", n) == 0) {
		sc->cur = F_TLSREQ;
	}
	if (sc->cur != F_OTHER)
		value_add(sc, colon, strlen(colon));
	return 1;
}

/* ------------------------------------------------------------- removal */

static int copy_down(int fd, off_t from, off_t to, off_t end, char *buf)
{
	while (from < end) {
		size_t want = (size_t)(end - from) < CHUNK ? (size_t)(end - from) : CHUNK;
		ssize_t n = pread(fd, buf, want, from);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		for (ssize_t w = 0; w < n;) {
			ssize_t k = pwrite(fd, buf + w, (size_t)(n - w), to + w);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return -1;
			w += k;
		}
		from += n;
		to += n;
	}
	return 0;
}

/* Remove the ranges (ascending, disjoint) from the spool file. */
static int remove_ranges(tlsrelay_message *msg, const range *rg, size_t n)
{
	char *buf = malloc(CHUNK);
	off_t size = (off_t)msg->size, to = rg[0].start;
	unsigned long long lines = 0;
	int rc = 0;

	if (buf == NULL)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		off_t next = i + 1 < n ? rg[i + 1].start : size;
		rc = copy_down(msg->fd, rg[i].end, to, next, buf);
		to += next - rg[i].end;
		lines += rg[i].lines;
	}
	free(buf);
	if (rc == 0 && ftruncate(msg->fd, to) != 0)
		rc = -1;
	if (rc == 0) {
		msg->size = (unsigned long long)to;
		msg->lines -= lines;
	}
	return rc;
}

/* --------------------------------------------------------------- public */

tlsrelay_cat tr_msgreq_take(tlsrelay_message *msg, tr_msgreq *out,
                            tlsrelay_status *st)
{
	reader *rd = calloc(1, sizeof *rd);
	scan sc = { out, F_NONE, "", 0, 0, NULL, 0 };
	line ln;
	int r = 1, more = 1;

	memset(out, 0, sizeof *out);
	out->level = TR_TLS_INVALID;
	if (rd == NULL)
		return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
	rd->fd = msg->fd;
	while (more > 0 && (r = next_line(rd, &ln)) > 0)
		more = header_line(&sc, &ln);
	if (r >= 0 && more >= 0)
		field_done(&sc);
	if (r < 0)
		tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "cannot read spool file: %s", strerror(rd->err));
	else if (more < 0)
		tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "more than %d %s fields, or out of memory",
		              TR_MSGREQ_FIELDS_MAX, TR_MSGREQ_HEADER);
	else if (sc.nranges > 0 && remove_ranges(msg, sc.ranges, sc.nranges) != 0)
		tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "cannot remove the %s header from the "
		              "spool file: %s", TR_MSGREQ_HEADER, strerror(errno));
	else
		tr_status_ok(st);
	free(sc.ranges);
	free(rd);
	return st->cat;
}

/* ------------------------------------------------------------ envelope */

/* One address of type against rules: raise *best, record why. */
static void envelope_one(const tr_msgrules *rules, tr_rule_type type, const char *addr,
                         tr_tls_level *best, char *why, size_t cap)
{
	char rule[120];
	int ln = 0;
	tr_tls_level lv = tr_msgrules_match(rules, type, addr, NULL, &ln);

	if (lv <= *best)
		return;
	*best = lv;
	snprintf(why, cap, "message_rules:%d %.100s %s", ln,
	         tr_msgrules_describe(rules, ln, rule, sizeof rule), tr_tls_level_name(lv));
}

tr_tls_level tr_msgreq_envelope(const tr_msgrules *rules, const char *sender,
                                const tlsrelay_rcpt *rcpts, const unsigned char *sel,
                                size_t n, char *origin, size_t cap)
{
	tr_tls_level best = TR_TLS_INVALID;

	if (cap > 0)
		origin[0] = '\0';
	if (rules == NULL)
		return best;
	if (sender != NULL && sender[0] != '\0')
		envelope_one(rules, TR_RULE_FROM, sender, &best, origin, cap);
	for (size_t i = 0; i < n; i++)
		if (sel == NULL || sel[i])
			envelope_one(rules, TR_RULE_TO, rcpts[i].addr, &best, origin, cap);
	return best;
}

/* ------------------------------------------------------------ the demand */

tlsrelay_cat tr_msgreq_demand(const tr_msgreq *rq, int honour_header, int honour_no,
                              tr_tls_level env, const char *env_why, tr_demand_in *in,
                              char *source, size_t cap, tlsrelay_status *st)
{
	int header = honour_header && rq->nfields > 0;

	if (header && rq->bad)
		return tr_status_set(st, TLSRELAY_TEMP, "4.7.5", "the message requires TLS level "
		                     "\"%s\" (%s header), which this tlsrelay cannot enforce",
		                     rq->bad_value, TR_MSGREQ_HEADER);
	in->tls_required_no = honour_no && rq->tls_required_no;
	if (header && rq->level >= env) {
		in->msg_level = rq->level;
		snprintf(source, cap, "%s: %s", TR_MSGREQ_HEADER, tr_tls_level_name(rq->level));
	} else if (env != TR_TLS_INVALID) {
		in->msg_level = env;
		snprintf(source, cap, "%s", env_why ? env_why : "message_rules");
	} else {
		return tr_status_ok(st);
	}
	in->msg_source = source;
	return tr_status_ok(st);
}

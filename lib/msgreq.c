/*
 * msgreq.c - per-message TLS requirements on the transport side: the
 * X-TLSRelay-Require header of a spooled message (read, remove), the
 * envelope's level from message_rules, and both as inputs of the TLS
 * demand (see msgreq.h; the rule itself is demand.h R4).
 *
 * WHERE THE HEADER SECTION IS. tlsrelay-milter adds its field with
 * smfi_addheader, and the MTA appends it at the end of the header section
 * as the MTA parsed it. So the transport must read the header section as
 * the MTA did, which the spool alone cannot tell: the spool is in canonical
 * CR LF form (message.h), where a bare CR of the input has become a line
 * end ("Subject: a\rb" is two lines, "Subject: a\r\r\n" holds an empty
 * line), and where a line longer than 998 octets is folded. The spooler
 * therefore records where the input's own header section ends: the start
 * of its first empty line (msg->header_end). Every MTA ends its header
 * section there at the latest (RFC 5322; Postfix 3.7 and sendmail 8.17
 * also end it at the first line they do not take for a field, and then
 * write an empty line themselves, the milter's field before it; an MTA
 * whose idea of "a field" differs from this file's still puts the field
 * before the first empty line). This file reads the spool from offset 0 to
 * header_end, all of it: a line that is neither a header field nor a
 * continuation (an over-long or odd field name, a piece after a bare CR,
 * an empty line made from one) is NOT taken as the end of the header, as
 * the first version did, which lost the milter's field behind a field
 * name longer than 128 bytes or a bare CR (security issue 13).
 *
 * Why counting more is safe, and counting less is not: the strongest
 * level of all requirement fields counts, and an unusable value defers.
 * So a line that only some reader takes for an X-TLSRelay-Require field
 * (after a bare CR, after a line the MTA did not take for a field) can
 * only make delivery stricter, never weaker; it is removed like the
 * others, so that no receiver sees a requirement field. The one field
 * that relaxes something, RFC 8689 "TLS-Required: No", is recorded only
 * where it is a header field beyond doubt: before the first line that is
 * neither a field nor a continuation, and only when the header section
 * holds no bare CR (msg->header_bare_cr).
 *
 * Nothing is left uncertain, so no message is deferred for the shape of
 * its header: lines and field names are read to their end whatever their
 * length (a small state machine classifies each line while it is read and
 * keeps only the first bytes of a value), so memory stays fixed whatever
 * the header holds. The limits that remain fail closed: more than
 * TR_MSGREQ_FIELDS_MAX requirement fields, or a value longer than
 * TR_MSGREQ_VALUE_MAX bytes, defer the message.
 *
 * Removal shifts the rest of the file over the removed ranges
 * (pread/pwrite, the write offset never passes the read offset) and
 * truncates it; nothing is copied when the message has no requirement
 * field, the usual case.
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

#define VAL_KEEP (TR_MSGREQ_VALUE_MAX + 1)  /* value bytes kept of a line */
#define CHUNK    (16 * 1024)

typedef struct reader {
	int fd;
	off_t off;                /* file offset of buf[0] */
	char buf[CHUNK];
	size_t pos, len;
	int err;
} reader;

enum field { F_NONE, F_OTHER, F_REQUIRE, F_TLSREQ };
enum kind { L_EMPTY, L_CONT, L_FIELD, L_OTHER };
/* Where the classifier is in a line: at its start, in the field name, in
 * white space after it, in the value (of a field or a continuation line),
 * or skipping to the LF (the line is "other", or its value overflowed). */
enum lstate { S_START, S_NAME, S_WSP, S_VALUE, S_SKIP };

typedef struct line {
	enum kind kind;
	enum field name;          /* L_FIELD: which field */
	char val[VAL_KEEP];       /* L_FIELD: first bytes after the colon;
	                             L_CONT: first bytes of the line */
	size_t vkept;
	int vlong;                /* the value had more than VAL_KEEP bytes */
	off_t start, end;         /* file offsets; end is after the LF */
	/* classifier state */
	enum lstate st;
	size_t nlen;              /* field name bytes so far */
	int may_req, may_tls;     /* the name so far matches that field's */
} line;

/* A removed range of the file. */
typedef struct range { off_t start, end; unsigned long long lines; } range;

typedef struct scan {
	tr_msgreq *out;
	enum field cur;
	char value[TR_MSGREQ_VALUE_MAX + 2];
	size_t vlen;
	int vlong;
	int sure;                 /* every line so far a field or continuation,
	                             and no bare CR in the header section */
	range *ranges;
	size_t nranges;
} scan;

static const char tls_required[] = "TLS-Required";

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

static int name_char(unsigned char c)
{
	return c > ' ' && c < 0x7f && c != ':';
}

static void name_byte(line *ln, unsigned char c)
{
	size_t i = ln->nlen++;

	ln->may_req = ln->may_req && i < sizeof TR_MSGREQ_HEADER - 1 &&
	              tolower(c) == tolower((unsigned char)TR_MSGREQ_HEADER[i]);
	ln->may_tls = ln->may_tls && i < sizeof tls_required - 1 &&
	              tolower(c) == tolower((unsigned char)tls_required[i]);
}

/* The colon after a field name: the value starts. */
static void field_start(line *ln)
{
	ln->kind = L_FIELD;
	ln->st = S_VALUE;
	ln->name = F_OTHER;
	if (ln->may_req && ln->nlen == sizeof TR_MSGREQ_HEADER - 1)
		ln->name = F_REQUIRE;
	else if (ln->may_tls && ln->nlen == sizeof tls_required - 1)
		ln->name = F_TLSREQ;
	else
		ln->st = S_SKIP;          /* its value does not matter */
}

/* One byte of a line (not its LF; the spool's only CRs end lines, so a CR
 * is skipped). A field is a name of printable ASCII other than ':', white
 * space, ':' (as Postfix's is_header()); a continuation starts with space
 * or tab. */
static void line_byte(line *ln, unsigned char c)
{
	if (c == '\r')
		return;
	switch (ln->st) {
	case S_START:
		if (c == ' ' || c == '\t') {
			ln->kind = L_CONT;
			ln->st = S_VALUE;
			line_byte(ln, c);
		} else if (name_char(c)) {
			ln->st = S_NAME;
			name_byte(ln, c);
		} else {
			ln->kind = L_OTHER;
			ln->st = S_SKIP;
		}
		break;
	case S_NAME:
	case S_WSP:
		if (c == ':') {
			field_start(ln);
		} else if (c == ' ' || c == '\t') {
			ln->st = S_WSP;
		} else if (ln->st == S_NAME && name_char(c)) {
			name_byte(ln, c);
		} else {
			ln->kind = L_OTHER;
			ln->st = S_SKIP;
		}
		break;
	case S_VALUE:
		if (ln->vkept < sizeof ln->val) {
			ln->val[ln->vkept++] = c == '\0' ? 0x7f : (char)c;  /* never a level */
		} else {
			ln->vlong = 1;
			ln->st = S_SKIP;
		}
		break;
	case S_SKIP:
		break;
	}
}

/* The next line into *ln, classified. 1 = a line, 0 = end of file, -1 =
 * read error. */
static int next_line(reader *r, line *ln)
{
	int any = 0;

	ln->kind = L_EMPTY;
	ln->name = F_NONE;
	ln->vkept = 0;
	ln->vlong = 0;
	ln->st = S_START;
	ln->nlen = 0;
	ln->may_req = ln->may_tls = 1;
	ln->start = r->off + (off_t)r->pos;
	for (;;) {
		if (r->pos == r->len) {
			int f = fill(r);
			if (f <= 0) {
				if (f < 0)
					return -1;
				break;
			}
		}
		any = 1;
		if (ln->st == S_SKIP) {   /* nothing more to learn: find the LF */
			char *lf = memchr(r->buf + r->pos, '\n', r->len - r->pos);
			r->pos = lf ? (size_t)(lf - r->buf) + 1 : r->len;
			if (lf)
				break;
			continue;
		}
		unsigned char c = (unsigned char)r->buf[r->pos++];
		if (c == '\n')
			break;
		line_byte(ln, c);
	}
	if (ln->st == S_NAME || ln->st == S_WSP)
		ln->kind = L_OTHER;       /* a name without a colon */
	ln->end = r->off + (off_t)r->pos;
	return any;
}

/* -------------------------------------------------------------- fields */

static void value_add(scan *sc, const line *ln)
{
	if (ln->vlong)
		sc->vlong = 1;
	for (size_t i = 0; i < ln->vkept; i++) {
		if (sc->vlen >= TR_MSGREQ_VALUE_MAX) {
			sc->vlong = 1;
			return;
		}
		sc->value[sc->vlen++] = ln->val[i];
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

/* One line of the header section (see the file header: no line ends it):
 * 0 = go on, -1 = too many requirement fields or out of memory. */
static int header_line(scan *sc, const line *ln)
{
	switch (ln->kind) {
	case L_CONT:
		if (sc->cur == F_REQUIRE || sc->cur == F_TLSREQ)
			value_add(sc, ln);
		if (sc->cur == F_REQUIRE)
			extend_range(sc, ln);
		return 0;
	case L_FIELD:
		field_done(sc);
		sc->vlen = 0;
		sc->vlong = 0;
		sc->cur = ln->name;
		if (sc->cur == F_TLSREQ && !sc->sure)
			sc->cur = F_OTHER;        /* relaxes: only beyond doubt */
		if (sc->cur == F_REQUIRE) {
			sc->out->nfields++;
			if (add_range(sc, ln->start) < 0)
				return -1;
			extend_range(sc, ln);
		}
		if (sc->cur != F_OTHER)
			value_add(sc, ln);
		return 0;
	case L_EMPTY:
	case L_OTHER:
		break;
	}
	field_done(sc);                   /* neither field nor continuation */
	sc->sure = 0;
	return 0;
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
		/* every range lies before header_end */
		msg->header_end -= msg->size - (unsigned long long)to;
		msg->size = (unsigned long long)to;
		msg->lines -= lines;
	}
	return rc;
}

/* --------------------------------------------------------------- public */

tlsrelay_cat tr_msgreq_take(tlsrelay_message *msg, tr_msgreq *out,
                            tlsrelay_status *st)
{
	reader *rd = malloc(sizeof *rd);   /* buf: read only below len (fill) */
	scan sc = { out, F_NONE, "", 0, 0, !msg->header_bare_cr, NULL, 0 };
	off_t limit = (off_t)(msg->header_end < msg->size ? msg->header_end : msg->size);
	line ln;
	int r = 1, more = 0;

	memset(out, 0, sizeof *out);
	out->level = TR_TLS_INVALID;
	if (rd == NULL)
		return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
	rd->fd = msg->fd;
	rd->off = 0;
	rd->pos = rd->len = 0;
	rd->err = 0;
	while (more == 0 && rd->off + (off_t)rd->pos < limit && (r = next_line(rd, &ln)) > 0)
		more = header_line(&sc, &ln);
	if (r >= 0 && more == 0)
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

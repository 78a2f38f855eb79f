/*
 * test_msgreq_prop.c - a property of the header parser (msgreq.c): in
 * every well-formed message that carries one X-TLSRelay-Require field,
 * wherever in the header section it stands, tr_msgreq_take() finds it
 * (its level, once), removes it, and changes nothing else: the spool
 * afterwards is, byte for byte, the spool of the same message made without
 * the field (same size, lines, header end). The message without the field
 * must give no requirement at all.
 *
 * Messages are generated from fixed seeds, so a failure is reproducible;
 * its check names the shape, the round and the first differing offset.
 * "Well-formed" is RFC 5322 as MTAs pass it on: field names of any length
 * (1*ftext: printable ASCII but ':'), white space before the colon
 * (obsolete syntax), values folded over several lines, lines longer than
 * 998 octets (the spooler folds them), LF or CR LF line ends, an mbox
 * "From " line first (Exim without message_prefix =), UTF-8 in values;
 * the body (after an empty line, or none) holds look-alike fields. No
 * bare CR, no NUL: those are not well-formed (test_msgreq.c and the fuzz
 * target cover them).
 *
 * Shapes, each its own check: random mixes; the field first, in the
 * middle, last; after long field names; folded; CR LF line ends; after an
 * mbox From line; 10,000 fields (first, middle, last); a 1 MB header of
 * many fields and of one folded field; after a 100 KB field name; after
 * a 100 KB single-line value.
 */
#include "config.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "message.h"
#include "msgreq.h"
#include "status.h"
#include "tap.h"

/* ------------------------------------------------------------- buffers */

struct buf { char *p; size_t len, cap; };

static void add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((b->p = realloc(b->p, cap)) == NULL)
			abort();
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void adds(struct buf *b, const char *s) { add(b, s, strlen(s)); }
static void addc(struct buf *b, char c) { add(b, &c, 1); }

/* ---------------------------------------------------------- generation */

static unsigned long long rng_state;

static unsigned rnd(unsigned n)       /* 0..n-1 (xorshift64*) */
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (unsigned)(((rng_state * 2685821657736338717ULL) >> 33) % n);
}

static const char *const levels[] = {
	"none", "may", "encrypt", "dane", "dane-only", "verify", "secure"
};

typedef struct gen {
	const char *eol;        /* "\n" (pipe(8)) or "\r\n" (sendmail E=\r\n) */
	size_t name_min, name_max;   /* field names; 0: the random mix */
	int fold_req;           /* the requirement's value on a continuation line */
} gen;

static size_t name_len(const gen *g)
{
	unsigned r = rnd(100);

	if (g->name_max)
		return g->name_min + rnd((unsigned)(g->name_max - g->name_min + 1));
	return r < 80 ? 1 + rnd(20) : r < 95 ? 21 + rnd(180) : r < 99 ? 201 + rnd(1000) : 1201 + rnd(1800);
}

/* A field name (1*ftext) that is neither of the two msgreq reads. */
static void gen_name(struct buf *b, size_t n)
{
	size_t at = b->len;

	do {
		b->len = at;
		for (size_t i = 0; i < n; i++) {
			char c = (char)(33 + rnd(94));
			addc(b, c == ':' ? '-' : c);
		}
	} while ((n == strlen(TR_MSGREQ_HEADER) && strncasecmp(b->p + at, TR_MSGREQ_HEADER, n) == 0) ||
	         (n == 12 && strncasecmp(b->p + at, "TLS-Required", n) == 0));
}

static void gen_text(struct buf *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned r = rnd(100);
		if (r < 12)
			addc(b, ' ');
		else if (r < 13)
			adds(b, "\xc3\xa9");          /* UTF-8 (RFC 6532) */
		else
			addc(b, (char)(33 + rnd(94)));
	}
}

/* One field: name, maybe white space, ':', a value over 1..4 lines.
 * Returns 1 when the name (and the white space and colon) is longer than
 * 998 octets: the spooler folds inside it, so receivers see a line that is
 * no field (msgreq.c then no longer takes TLS-Required: No as certain). */
static int gen_field(struct buf *b, const gen *g)
{
	unsigned parts = rnd(10) < 8 ? 1 : 2 + rnd(3);
	size_t at = b->len, colon;

	gen_name(b, name_len(g));
	if (rnd(20) == 0)
		adds(b, rnd(2) ? " " : "\t");
	addc(b, ':');
	colon = b->len - at;
	for (unsigned i = 0; i < parts; i++) {
		if (i > 0)
			adds(b, g->eol);
		if (i > 0 || rnd(5) > 0)
			addc(b, rnd(4) ? ' ' : '\t');
		gen_text(b, rnd(30) == 0 ? 999 + rnd(2000) : rnd(80));
	}
	adds(b, g->eol);
	return colon > TR_LINE_MAX;
}

/* The requirement field, any case, maybe folded; returns its level. */
static const char *gen_require(struct buf *b, const gen *g)
{
	const char *lv = levels[rnd(sizeof levels / sizeof levels[0])];

	for (const char *p = TR_MSGREQ_HEADER; *p; p++) {
		unsigned r = rnd(4);
		addc(b, r == 0 ? (char)toupper((unsigned char)*p) : r == 1 ? (char)tolower((unsigned char)*p) : *p);
	}
	if (rnd(10) == 0)
		adds(b, " ");
	addc(b, ':');
	if (g->fold_req || rnd(8) == 0) {
		adds(b, g->eol);
		adds(b, rnd(2) ? " " : "\t");
	} else if (rnd(4)) {
		adds(b, " ");
	}
	for (const char *p = lv; *p; p++)
		addc(b, rnd(4) ? *p : (char)toupper((unsigned char)*p));
	if (rnd(6) == 0)
		adds(b, "  ");
	adds(b, g->eol);
	return lv;
}

static void gen_body(struct buf *b, const gen *g)
{
	static const char *const looks[] = {
		"X-TLSRelay-Require: secure", "x-tlsrelay-require: maximum", "TLS-Required: No",
		"From: someone", "", ".", "..", " folded?",
	};
	unsigned n = rnd(12);

	adds(b, g->eol);           /* the empty line */
	for (unsigned i = 0; i < n; i++) {
		if (rnd(3) == 0)
			adds(b, looks[rnd(sizeof looks / sizeof looks[0])]);
		else
			gen_text(b, rnd(20) == 0 ? 1500 : rnd(70));
		adds(b, g->eol);
	}
}

/* Append piece to both messages and empty it. */
static void both(struct buf *with, struct buf *without, struct buf *piece)
{
	add(with, piece->p, piece->len);
	add(without, piece->p, piece->len);
	piece->len = 0;
}

/* A message with (*with) and without (*without) one requirement field
 * before field number pos of nfields (pos == nfields: last). *tls_no: a
 * TLS-Required: No field that msgreq must record is in the header.
 * Returns the requirement's level. */
static const char *gen_message(struct buf *with, struct buf *without, const gen *g,
                               unsigned nfields, unsigned pos, int *tls_no)
{
	struct buf piece = { 0 };
	const char *lv = NULL;
	unsigned tls_at = rnd(6) == 0 ? rnd(nfields + 1) : ~0u;
	int doubt = 0;

	with->len = without->len = 0;
	*tls_no = 0;
	if (rnd(20) == 0) {
		adds(&piece, "From sender@example.org Mon Jan  1 00:00:00 2024");
		adds(&piece, g->eol);
		both(with, without, &piece);
	}
	for (unsigned i = 0; i <= nfields; i++) {
		if (i == tls_at) {
			adds(&piece, rnd(2) ? "TLS-Required: No" : "tls-required:\tno ");
			adds(&piece, g->eol);
			both(with, without, &piece);
			*tls_no = !doubt;
		}
		if (i == pos)
			lv = gen_require(with, g);
		if (i < nfields) {
			doubt |= gen_field(&piece, g);
			both(with, without, &piece);
		}
	}
	if (rnd(10) > 0) {         /* else: no empty line, no body */
		gen_body(&piece, g);
		both(with, without, &piece);
	}
	free(piece.p);
	return lv;
}

/* ------------------------------------------------------------ checking */

static struct tlsrelay_message *spool(const struct buf *b)
{
	tlsrelay_status st;
	struct tlsrelay_message *m;
	FILE *f = tmpfile();

	if (f == NULL || fwrite(b->p ? b->p : "", 1, b->len, f) != b->len || fflush(f) != 0)
		abort();
	rewind(f);
	m = tr_message_spool(fileno(f), NULL, &st);
	fclose(f);
	if (m == NULL)
		abort();
	return m;
}

static char *slurp(const struct tlsrelay_message *m)
{
	char *p = malloc((size_t)m->size + 1);

	if (p == NULL || pread(m->fd, p, (size_t)m->size, 0) != (ssize_t)m->size)
		abort();
	return p;
}

/* Check one pair; on the first failure of a shape, describe it in diag. */
static int check_pair(const struct buf *with, const struct buf *without, const char *lv,
                      int tls_no, char *diag, size_t dsize)
{
	struct tlsrelay_message *a = spool(with), *b = spool(without);
	tlsrelay_status st;
	tr_msgreq rq, rb;
	char *pa = NULL, *pb = NULL;
	int ok = 0;

	if (tr_msgreq_take(a, &rq, &st) != TLSRELAY_OK) {
		snprintf(diag, dsize, "take: %.200s", st.text);
		goto out;
	}
	if (rq.nfields != 1 || rq.bad || strcmp(tr_tls_level_name(rq.level), lv) != 0 ||
	    rq.tls_required_no != tls_no) {
		snprintf(diag, dsize, "found %d fields, bad %d (%s), level %s (want 1, 0, %s), "
		         "TLS-Required: No %d (want %d)", rq.nfields, rq.bad, rq.bad_value,
		         tr_tls_level_name(rq.level), lv, rq.tls_required_no, tls_no);
		goto out;
	}
	if (tr_msgreq_take(b, &rb, &st) != TLSRELAY_OK || rb.nfields != 0) {
		snprintf(diag, dsize, "the message without the field: %d fields", rb.nfields);
		goto out;
	}
	if (a->size != b->size || a->lines != b->lines || a->header_end != b->header_end) {
		snprintf(diag, dsize, "size %llu/%llu, lines %llu/%llu, header end %llu/%llu",
		         a->size, b->size, a->lines, b->lines, a->header_end, b->header_end);
		goto out;
	}
	pa = slurp(a);
	pb = slurp(b);
	for (size_t i = 0; i < (size_t)a->size; i++)
		if (pa[i] != pb[i]) {
			snprintf(diag, dsize, "the spool differs at offset %zu", i);
			goto out;
		}
	ok = 1;
out:
	free(pa);
	free(pb);
	tlsrelay_message_free(a);
	tlsrelay_message_free(b);
	return ok;
}

enum where { FIRST, MIDDLE, LAST, ANYWHERE };

/* rounds messages of nfields_max fields at most, the field at where. */
static void shape(const char *name, unsigned long long seed, unsigned rounds,
                  unsigned nfields_min, unsigned nfields_max, enum where where, const gen *g)
{
	struct buf with = { 0 }, without = { 0 };
	char diag[400] = "", full[400];
	unsigned bad = 0;

	rng_state = seed;
	for (unsigned r = 0; r < rounds; r++) {
		unsigned n = nfields_min + rnd(nfields_max - nfields_min + 1);
		unsigned pos = where == FIRST ? 0 : where == LAST ? n : where == MIDDLE ? n / 2 : rnd(n + 1);
		int tls_no;
		const char *lv = gen_message(&with, &without, g, n, pos, &tls_no);
		char d[250];

		if (!check_pair(&with, &without, lv, tls_no, d, sizeof d) && bad++ == 0)
			snprintf(diag, sizeof diag, "round %u (%u fields, field at %u, %zu bytes): %s",
			         r, n, pos, with.len, d);
	}
	snprintf(full, sizeof full, "%s (%u messages): found, removed, nothing else changed", name, rounds);
	tap_ok(bad == 0, full, diag);
	if (bad)
		printf("# %u of %u failed\n", bad, rounds);
	free(with.p);
	free(without.p);
}

/* One big message: head, nbefore times before, the requirement, nafter
 * times after, an empty line, a body. */
static void big(const char *name, const char *head, const char *before, size_t nbefore,
                const char *after, size_t nafter, const char *eol)
{
	struct buf with = { 0 }, without = { 0 };
	char diag[300] = "", full[300];

	adds(&with, head);
	for (size_t i = 0; i < nbefore; i++)
		adds(&with, before);
	add(&without, with.p ? with.p : "", with.len);
	adds(&with, "X-TLSRelay-Require: verify");
	adds(&with, eol);
	for (size_t i = 0; i < nafter; i++) {
		adds(&with, after);
		adds(&without, after);
	}
	adds(&with, eol);
	adds(&without, eol);
	adds(&with, "body");
	adds(&without, "body");
	snprintf(full, sizeof full, "%s (%zu bytes): found, removed, nothing else changed", name, with.len);
	tap_ok(check_pair(&with, &without, "verify", 0, diag, sizeof diag), full, diag);
	free(with.p);
	free(without.p);
}

/* A field whose name, or whose one-line value, is n bytes, in a buffer
 * the caller frees. */
static char *long_field(size_t n, int in_name)
{
	char *p = malloc(n + 16);

	if (p == NULL)
		abort();
	if (in_name) {
		memset(p, 'N', n);
		strcpy(p + n, ": v\n");
	} else {
		strcpy(p, "X-Long: ");
		memset(p + 8, 'v', n);
		strcpy(p + 8 + n, "\n");
	}
	return p;
}

int main(void)
{
	const gen lf = { "\n", 0, 0, 0 }, crlf = { "\r\n", 0, 0, 0 };
	const gen longn = { "\n", 129, 3000, 0 }, folded = { "\n", 0, 0, 1 };
	char *p;

	tap_plan(10 + 6);       /* one check a call: 10 shapes, 6 big headers */
	shape("random mix", 1, 3000, 0, 30, ANYWHERE, &lf);
	shape("first field", 2, 500, 0, 30, FIRST, &lf);
	shape("middle field", 3, 500, 1, 30, MIDDLE, &lf);
	shape("last field (where the milter puts it)", 4, 500, 0, 30, LAST, &lf);
	shape("after field names of 129-3000 bytes", 5, 300, 1, 10, ANYWHERE, &longn);
	shape("folded requirement", 6, 500, 0, 20, ANYWHERE, &folded);
	shape("CR LF line ends", 7, 500, 0, 30, ANYWHERE, &crlf);
	shape("10,000 fields, first", 8, 1, 10000, 10000, FIRST, &lf);
	shape("10,000 fields, middle", 9, 1, 10000, 10000, MIDDLE, &lf);
	shape("10,000 fields, last", 10, 1, 10000, 10000, LAST, &lf);
	big("1 MB header of 13,000 fields, last", "", "X-Field: 0123456789012345678901234567890123456789"
	    "01234567890123456789012345678\n", 13000, "", 0, "\n");
	big("1 MB header in one folded field, last", "X-Big:\n", " 0123456789012345678901234567890123456789"
	    "012345678901234567890123456789012345\n", 13800, "", 0, "\n");
	big("1 MB header, CR LF, the field in the middle", "", "X-Field: 0123456789012345678901234567890123456789"
	    "0123456789012345678901234567\r\n", 6500, "X-After: 0123456789012345678901234567890123456789"
	    "0123456789012345678901234567\r\n", 6500, "\r\n");
	p = long_field(100 * 1024, 1);
	big("after a 100 KB field name", "", p, 1, "Subject: s\n", 1, "\n");
	big("before a 100 KB field name", "", "Subject: s\n", 1, p, 1, "\n");
	free(p);
	p = long_field(100 * 1024, 0);
	big("after a 100 KB value on one line (folded by the spooler)", "", p, 1, "", 0, "\n");
	free(p);
	return tap_done();
}

/*
 * fuzz_msgreq.c - libFuzzer target: the header parser of the transport
 * (msgreq.c, tr_msgreq_take) behind the spooler (message.c), the way a
 * message reaches it: the input is a message as the MTA hands it over.
 *
 * The target puts an "X-TLSRelay-Require: encrypt" field where an MTA's
 * milter would: at the end of the input's header section, just before its
 * first empty line (lines split at LF; "" or "\r" is empty), or at the end
 * when there is none (an unterminated last line gets its LF first). Both
 * messages, with and without that field, are spooled and taken. Checked,
 * besides the sanitizers:
 * - the field is always found: one field more than without it, the level
 *   is the stronger of encrypt and the message's own, the same unusable
 *   value (if any) and the same TLS-Required: No;
 * - after the removal both spools are the same bytes (size, lines, header
 *   end): the field took nothing else with it;
 * - independently of msgreq.c: in the header region left, no line is an
 *   X-TLSRelay-Require field; every line removed from the message lay in
 *   the header region and was such a field or a continuation line right
 *   after one; nothing else moved;
 * - status texts and the shown bad value are printable.
 * The only failure allowed is the documented limit, more than
 * TR_MSGREQ_FIELDS_MAX fields (4.3.0).
 *
 * Big shapes from small inputs: a first byte 0xF0 prepends 10,000 short
 * fields, 0xF1 a field with a 100 KB name, 0xF2 repeats the rest 100
 * times (as a header it is then 100 times as many fields).
 */
#include "config.h"
#include <ctype.h>
#include "fuzz.h"
#include "message.h"
#include "msgreq.h"
#include "status.h"

struct buf { char *p; size_t len, cap; };

static void add(struct buf *b, const void *s, size_t n)
{
	if (b->len + n > b->cap || b->p == NULL) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		fuzz_check(b->p != NULL, "realloc");
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* The message as the MTA hands it over, amplified by a first byte. */
static void build(struct buf *m, const uint8_t *data, size_t size)
{
	static const char field[] = "X-F: v\n";

	m->len = 0;
	if (size > 0 && data[0] == 0xF0) {
		for (int i = 0; i < 10000; i++)
			add(m, field, sizeof field - 1);
	} else if (size > 0 && data[0] == 0xF1) {
		for (int i = 0; i < 100 * 1024; i++)
			add(m, "N", 1);
		add(m, ": v\n", 4);
	} else if (size > 0 && data[0] == 0xF2) {
		for (int i = 0; i < 99; i++)
			add(m, data + 1, size - 1);
	}
	add(m, size > 0 && data[0] >= 0xF0 && data[0] <= 0xF2 ? data + 1 : data,
	    size > 0 && data[0] >= 0xF0 && data[0] <= 0xF2 ? size - 1 : size);
	if (m->len > 0 && m->p[m->len - 1] != '\n')
		add(m, "\n", 1);
}

/* Input offset of the first empty line, or len. */
static size_t header_end_in(const char *p, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++)
		if (p[i] == '\n') {
			if (i == start || (i == start + 1 && p[start] == '\r'))
				return start;
			start = i + 1;
		}
	return len;
}

static struct tlsrelay_message *spool(const char *p, size_t len)
{
	static int fd = -1;
	tlsrelay_status st;
	struct tlsrelay_message *m;

	if (fd < 0) {
		fd = memfd_create("tlsrelay-fuzz-in", MFD_CLOEXEC);
		fuzz_check(fd >= 0, "memfd_create");
	}
	fuzz_check(ftruncate(fd, 0) == 0, "ftruncate");
	fuzz_check(len == 0 || pwrite(fd, p, len, 0) == (ssize_t)len, "pwrite");
	fuzz_check(lseek(fd, 0, SEEK_SET) == 0, "lseek");
	m = tr_message_spool(fd, NULL, &st);
	fuzz_check(m != NULL, "spooled");
	return m;
}

static char *slurp(const struct tlsrelay_message *m)
{
	char *p = malloc((size_t)m->size + 1);

	fuzz_check(p != NULL, "malloc");
	fuzz_check(pread(m->fd, p, (size_t)m->size, 0) == (ssize_t)m->size, "pread");
	fuzz_check(lseek(m->fd, 0, SEEK_END) == (off_t)m->size, "file size is msg->size");
	return p;
}

/* Written independently of msgreq.c: is this spool line (without CR LF)
 * an X-TLSRelay-Require field? A continuation line? */
static int is_require(const char *s, size_t n)
{
	size_t k = strlen(TR_MSGREQ_HEADER);

	if (n < k || strncasecmp(s, TR_MSGREQ_HEADER, k) != 0)
		return 0;
	while (k < n && (s[k] == ' ' || s[k] == '\t'))
		k++;
	return k < n && s[k] == ':';
}

static int is_cont(const char *s, size_t n)
{
	return n > 0 && (s[0] == ' ' || s[0] == '\t');
}

/* Length of the line at p (up to the LF), its length without CR LF in *n. */
static size_t line_at(const char *p, const char *end, size_t *n)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));
	size_t len = lf ? (size_t)(lf - p) + 1 : (size_t)(end - p);

	*n = len >= 2 && lf && lf[-1] == '\r' ? len - 2 : lf ? len - 1 : len;
	return len;
}

/* before: the spool before the take (hend: its header end); after: the
 * spool after it (ahend). Every removed line was a requirement field in
 * the header region or a continuation right after a removed one; no
 * requirement field is left in the region. */
static void check_removal(const char *before, size_t blen, size_t hend,
                          const char *after, size_t alen, size_t ahend)
{
	const char *b = before, *a = after;
	int removing = 0;

	while (b < before + blen) {
		size_t bn, an = 0;
		size_t bl = line_at(b, before + blen, &bn);
		size_t al = a < after + alen ? line_at(a, after + alen, &an) : 0;
		int in_region = (size_t)(b - before) < hend;

		if (in_region && (is_require(b, bn) || (removing && is_cont(b, bn)))) {
			removing = 1;      /* must be gone */
			b += bl;
			continue;
		}
		removing = 0;
		fuzz_check(al == bl && memcmp(a, b, bl) == 0, "a line that is no requirement field was kept as it was");
		fuzz_check(((size_t)(a - after) < ahend) == in_region, "the header region moved with the removal");
		a += al;
		b += bl;
	}
	fuzz_check(a == after + alen, "nothing was added");
}

static void check_status(const tlsrelay_status *st, const tr_msgreq *rq)
{
	fuzz_check(fuzz_printable(st->text), "status text printable");
	fuzz_check(fuzz_printable(rq->bad_value), "bad value printable");
	if (st->cat != TLSRELAY_OK)
		fuzz_check(st->cat == TLSRELAY_TEMP && strcmp(st->dsn, "4.3.0") == 0 &&
		           strstr(st->text, "more than") != NULL, "only the documented limit fails");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct buf without, with;
	struct tlsrelay_message *mw, *mo;
	tlsrelay_status sw, so;
	tr_msgreq rw, ro;
	static const char req[] = "X-TLSRelay-Require: encrypt\n";
	size_t at, hend, bsize;
	char *before, *pw, *po;

	build(&without, data, size);
	at = header_end_in(without.p, without.len);
	with.len = 0;
	add(&with, without.p, at);
	add(&with, req, sizeof req - 1);
	add(&with, without.p + at, without.len - at);

	mo = spool(without.p, without.len);
	mw = spool(with.p, with.len);
	before = slurp(mo);
	bsize = (size_t)mo->size;
	hend = (size_t)mo->header_end;
	fuzz_check(mo->header_end <= mo->size && mw->header_end <= mw->size, "header end within the spool");
	tr_msgreq_take(mo, &ro, &so);
	tr_msgreq_take(mw, &rw, &sw);
	check_status(&so, &ro);
	check_status(&sw, &rw);
	if (so.cat == TLSRELAY_OK && sw.cat == TLSRELAY_OK) {
		tr_tls_level want = ro.level > TR_TLS_ENCRYPT ? ro.level : TR_TLS_ENCRYPT;
		fuzz_check(rw.nfields == ro.nfields + 1, "the added field is found");
		fuzz_check(rw.level == want, "level: the stronger of encrypt and the message's own");
		fuzz_check(rw.bad == ro.bad && strcmp(rw.bad_value, ro.bad_value) == 0, "same unusable value");
		fuzz_check(rw.tls_required_no == ro.tls_required_no, "same TLS-Required: No");
		fuzz_check(mw->size == mo->size && mw->lines == mo->lines &&
		           mw->header_end == mo->header_end, "same size, lines, header end after removal");
		pw = slurp(mw);
		po = slurp(mo);
		fuzz_check(memcmp(pw, po, (size_t)mo->size) == 0, "same bytes after removal");
		check_removal(before, bsize, hend, po, (size_t)mo->size, (size_t)mo->header_end);
		free(pw);
		free(po);
	}
	free(before);
	tlsrelay_message_free(mo);
	tlsrelay_message_free(mw);
	return 0;
}

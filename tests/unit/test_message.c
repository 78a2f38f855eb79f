/*
 * test_message.c - canonicalisation, dot-stuffing and spooling (message.c).
 *
 * Every canonicalisation and dot-stuffing case is checked four ways: fed in
 * one piece, split in two at every possible offset, fed one byte at a time
 * (with empty chunks in between), and each chunk's output buffer is
 * allocated at exactly the documented bound so that an overrun shows up
 * under AddressSanitizer or valgrind.
 *
 * A full file system (ENOSPC) is not simulated: that needs a small mounted
 * file system (root). The same error path is exercised portably by lowering
 * RLIMIT_FSIZE, which makes write(2) fail with EFBIG.
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ctx.h"
#include "message.h"
#include "status.h"
#include "tap.h"

/* A string literal as (pointer, length), so that NUL bytes are kept. */
#define B(s) s, sizeof(s) - 1

/* --------------------------------------------------------------- helpers */

/* A growable byte buffer for collected output. */
struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const char *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 16;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL)
			abort();
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* Copy of n bytes in a block of exactly n bytes (at least 1). */
static char *dup_exact(const char *p, size_t n)
{
	char *q = malloc(n ? n : 1);

	if (q == NULL)
		abort();
	if (n > 0)
		memcpy(q, p, n);
	return q;
}

/* Feed one chunk to the canonicaliser with an exact-size output buffer. */
static int canon_chunk(tr_canon_state *c, const char *in, size_t n,
                       struct buf *out)
{
	char *cin = dup_exact(in, n);
	size_t bound = TR_CANON_OUT_MAX(n);
	char *cout = malloc(bound);
	size_t got;

	if (cout == NULL)
		abort();
	got = tr_canon_feed(c, cin, n, cout);
	buf_add(out, cout, got <= bound ? got : 0);
	free(cin);
	free(cout);
	return got <= bound;
}

static int canon_end(tr_canon_state *c, struct buf *out)
{
	char *cout = malloc(TR_CANON_OUT_MAX(0));
	size_t got;

	if (cout == NULL)
		abort();
	got = tr_canon_finish(c, cout);
	buf_add(out, cout, got <= TR_CANON_OUT_MAX(0) ? got : 0);
	free(cout);
	return got <= TR_CANON_OUT_MAX(0);
}

/* Canonicalise in[0..n) cut at cuts[0..ncuts) (ascending offsets);
 * step > 0 instead feeds step bytes at a time with empty chunks between.
 * Returns 0 if some output exceeded its bound. */
static int canon_run(const char *in, size_t n, const size_t *cuts,
                     size_t ncuts, size_t step, struct buf *out,
                     tr_canon_state *c)
{
	size_t i, at = 0;
	int ok = 1;

	tr_canon_init(c);
	out->len = 0;
	if (step > 0) {
		for (; at < n; at += step) {
			ok &= canon_chunk(c, in + at, n - at < step ? n - at : step, out);
			ok &= canon_chunk(c, in + at, 0, out);
		}
	} else {
		for (i = 0; i < ncuts; i++) {
			ok &= canon_chunk(c, in + at, cuts[i] - at, out);
			at = cuts[i];
		}
		ok &= canon_chunk(c, in + at, n - at, out);
	}
	return ok & canon_end(c, out);
}

static int same_stats(const tr_canon_state *a, const tr_canon_state *b)
{
	return a->has_8bit == b->has_8bit && a->has_nul == b->has_nul &&
	       a->max_line == b->max_line && a->lines == b->lines &&
	       a->folds == b->folds && a->out_bytes == b->out_bytes &&
	       a->in_header == b->in_header && a->header_end == b->header_end &&
	       a->header_bare_cr == b->header_bare_cr;
}

/* The lowest free descriptor: equal before and after = nothing leaked. */
static int next_fd(void)
{
	int fd = open("/dev/null", O_RDONLY);

	if (fd >= 0)
		close(fd);
	return fd;
}

/* Read all of fd from its current offset. */
static void read_all(int fd, struct buf *out)
{
	char tmp[4096];
	ssize_t r;

	out->len = 0;
	while ((r = read(fd, tmp, sizeof tmp)) > 0)
		buf_add(out, tmp, (size_t)r);
}

/* Number of entries in dir besides "." and "..", -1 on error. */
static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* A file holding n bytes of p, opened for reading; -1 on failure. */
static int input_file(const char *dir, const char *p, size_t n)
{
	char path[512];
	int fd;

	snprintf(path, sizeof path, "%s/input", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, p, n) != (ssize_t)n || lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		fd = -1;
	}
	unlink(path);
	return fd;
}

static int has_text(const tlsrelay_status *st, const char *needle)
{
	return strstr(st->text, needle) != NULL;
}

/* ------------------------------------------------------ canonicalisation */

struct canon_case {
	const char *name;
	const char *in;
	size_t inlen;
	const char *out;
	size_t outlen;
	int has_8bit, has_nul;
	size_t max_line;
	unsigned long long lines;
};

static const struct canon_case canon_cases[] = {
	{ "LF input", B("a\nbc\n"), B("a\r\nbc\r\n"), 0, 0, 2, 2 },
	{ "CRLF input", B("a\r\nbc\r\n"), B("a\r\nbc\r\n"), 0, 0, 2, 2 },
	{ "mixed LF and CRLF", B("a\r\nb\nc\r\n"), B("a\r\nb\r\nc\r\n"), 0, 0, 1, 3 },
	{ "bare CR in the middle", B("ab\rcd\n"), B("ab\r\ncd\r\n"), 0, 0, 2, 2 },
	{ "bare CR at the end", B("ab\r"), B("ab\r\n"), 0, 0, 2, 1 },
	{ "CR CR LF", B("a\r\r\nb"), B("a\r\n\r\nb\r\n"), 0, 0, 1, 3 },
	{ "LF CR", B("a\n\rb"), B("a\r\n\r\nb\r\n"), 0, 0, 1, 3 },
	{ "smuggling bare LF dot", B("x\n.\rMAIL"), B("x\r\n.\r\nMAIL\r\n"), 0, 0, 4, 3 },
	{ "no final newline", B("abc\ndefg"), B("abc\r\ndefg\r\n"), 0, 0, 4, 2 },
	{ "empty input", B(""), B(""), 0, 0, 0, 0 },
	{ "only LF", B("\n"), B("\r\n"), 0, 0, 0, 1 },
	{ "only CR", B("\r"), B("\r\n"), 0, 0, 0, 1 },
	{ "blank lines", B("\n\r\n\n"), B("\r\n\r\n\r\n"), 0, 0, 0, 3 },
	{ "From line dropped", B("From sender@example.org Mon Jan  1 00:00:00 2024\n"
	  "Subject: x\n\nbody\n"), B("Subject: x\r\n\r\nbody\r\n"), 0, 0, 10, 3 },
	{ "From line with CRLF dropped", B("From a\r\nb\r\n"), B("b\r\n"), 0, 0, 1, 1 },
	{ "From line with bare CR dropped", B("From a\rb\n"), B("b\r\n"), 0, 0, 1, 1 },
	{ "From line, then CR CR LF", B("From x\r\r\n"), B("\r\n"), 0, 0, 0, 1 },
	{ "only an unterminated From line", B("From a b c"), B(""), 0, 0, 0, 0 },
	{ "only a From line", B("From \n"), B(""), 0, 0, 0, 0 },
	{ "only From and CR", B("From \r"), B(""), 0, 0, 0, 0 },
	{ "8bit in the From line not counted", B("From \xff\nx\n"), B("x\r\n"), 0, 0, 1, 1 },
	{ "second From line kept", B("From a\nFrom b\n"), B("From b\r\n"), 0, 0, 6, 1 },
	{ "From: header kept", B("From: a@b\n\nx\n"), B("From: a@b\r\n\r\nx\r\n"), 0, 0, 9, 3 },
	{ "From not at the start kept", B("X\nFrom a\n"), B("X\r\nFrom a\r\n"), 0, 0, 6, 2 },
	{ "space before From kept", B(" From a\n"), B(" From a\r\n"), 0, 0, 7, 1 },
	{ "lower-case from kept", B("from a\n"), B("from a\r\n"), 0, 0, 6, 1 },
	{ "From without space kept", B("From\n"), B("From\r\n"), 0, 0, 4, 1 },
	{ "short prefix Fro kept", B("Fro"), B("Fro\r\n"), 0, 0, 3, 1 },
	{ "prefix then CR kept", B("Fr\rx"), B("Fr\r\nx\r\n"), 0, 0, 2, 2 },
	{ "dots are not stuffed", B(".\n..\n.a\n"), B(".\r\n..\r\n.a\r\n"), 0, 0, 2, 3 },
	{ "8bit", B("caf\xc3\xa9\n"), B("caf\xc3\xa9\r\n"), 1, 0, 5, 1 },
	{ "NUL", B("a\0b\n"), B("a\0b\r\n"), 0, 1, 3, 1 },
	{ "max_line and lines", B("ab\nabcdef\r\nabc"), B("ab\r\nabcdef\r\nabc\r\n"), 0, 0, 6, 3 },
	/* The word-at-a-time scan (8 bytes) and the in-place line ends: */
	{ "8bit after 15 plain bytes", B("abcdefghijklmno\xe9\n"), B("abcdefghijklmno\xe9\r\n"), 1, 0, 16, 1 },
	{ "8bit as the 8th byte", B("abcdefg\x80\n"), B("abcdefg\x80\r\n"), 1, 0, 8, 1 },
	{ "NUL as the 9th byte", B("abcdefgh\0ij\n"), B("abcdefgh\0ij\r\n"), 0, 1, 11, 1 },
	{ "NUL as the 8th byte", B("abcdefg\0\n"), B("abcdefg\0\r\n"), 0, 1, 8, 1 },
	{ "NUL alone", B("\0"), B("\0\r\n"), 0, 1, 1, 1 },
	{ "0x01 and 0xff are no NUL", B("\x01\xff\x01\xff\x01\xff\x01\xff\x01\n"),
	  B("\x01\xff\x01\xff\x01\xff\x01\xff\x01\r\n"), 1, 0, 9, 1 },
	{ "8bit and NUL in one run", B("0123456789\xff" "0123456789\0x\n"),
	  B("0123456789\xff" "0123456789\0x\r\n"), 1, 1, 23, 1 },
	{ "body line ends LF, CR LF, bare CR", B("H: v\r\n\r\na\r\nbb\nc\rd\r\n\n"),
	  B("H: v\r\n\r\na\r\nbb\r\nc\r\nd\r\n\r\n"), 0, 0, 4, 7 },
	{ "body ends in CR", B("\nab\r"), B("\r\nab\r\n"), 0, 0, 2, 2 },
	{ "body CR CR LF", B("\na\r\r\nb\n"), B("\r\na\r\n\r\nb\r\n"), 0, 0, 1, 4 },
	{ "body bare dots", B("\n.\n.\r\n..\r"), B("\r\n.\r\n.\r\n..\r\n"), 0, 0, 2, 4 },
};

static void test_canon_case(const struct canon_case *t)
{
	struct buf out = { 0 }, alt = { 0 };
	tr_canon_state c, c2;
	char name[200], diag[200];
	size_t cut;
	int ok, bad_at = -1;

	tap_expect(8);
	ok = canon_run(t->in, t->inlen, NULL, 0, 0, &out, &c);
	snprintf(name, sizeof name, "canon %s: output bytes", t->name);
	TAP_MEM(out.p ? out.p : "", out.len, t->out, t->outlen, name);
	snprintf(name, sizeof name, "canon %s: within output bound", t->name);
	tap_ok(ok, name, "");
	snprintf(name, sizeof name, "canon %s: has_8bit", t->name);
	TAP_INT(c.has_8bit, t->has_8bit, name);
	snprintf(name, sizeof name, "canon %s: has_nul", t->name);
	TAP_INT(c.has_nul, t->has_nul, name);
	snprintf(name, sizeof name, "canon %s: max_line", t->name);
	TAP_INT(c.max_line, t->max_line, name);
	snprintf(name, sizeof name, "canon %s: lines", t->name);
	TAP_INT(c.lines, t->lines, name);

	for (cut = 0; cut <= t->inlen && bad_at < 0; cut++) {
		ok = canon_run(t->in, t->inlen, &cut, 1, 0, &alt, &c2);
		if (!ok || alt.len != t->outlen || !same_stats(&c, &c2) ||
		    (alt.len && memcmp(alt.p, t->out, alt.len) != 0))
			bad_at = (int)cut;
	}
	snprintf(diag, sizeof diag, "differs when split at %d", bad_at);
	snprintf(name, sizeof name, "canon %s: split at every offset", t->name);
	tap_ok(bad_at < 0, name, diag);

	ok = canon_run(t->in, t->inlen, NULL, 0, 1, &alt, &c2);
	snprintf(name, sizeof name, "canon %s: one byte at a time", t->name);
	tap_ok(ok && alt.len == t->outlen && same_stats(&c, &c2) &&
	       (alt.len == 0 || memcmp(alt.p, t->out, alt.len) == 0), name, "");
	free(out.p);
	free(alt.p);
}

/* Where the input's header section ends (message.h), as a spool offset,
 * and whether a bare CR came before: -1 = no empty line, the whole spool.
 * Each case also runs split at every offset and byte by byte. */
static const struct head_case {
	const char *name;
	const char *in;
	size_t inlen;
	long long header_end;
	int bare_cr;
} head_cases[] = {
	{ "header: no empty line, all of it", B("a: b\nc: d\n"), -1, 0 },
	{ "header: ends at the empty line", B("a: b\n\nbody\n"), 6, 0 },
	{ "header: CR LF empty line", B("a: b\r\n\r\nbody"), 6, 0 },
	{ "header: empty first line", B("\nx: y\n"), 0, 0 },
	{ "header: CR CR LF line is not empty", B("a: b\n\r\r\nc: d\n\nx"), 16, 1 },
	{ "header: field ending in bare CR, then empty line", B("a: b\r\r\n\nx"), 8, 1 },
	{ "header: bare CR in a field", B("Subject: a\rb\n\nx"), 15, 1 },
	{ "header: line starting with a bare CR", B("a\n\rb\n\nx"), 8, 1 },
	{ "header: bare CR in the body not counted", B("a: b\n\nx\ry\n"), 6, 0 },
	{ "header: after a dropped From line", B("From x\nA: b\n\nx"), 6, 0 },
	{ "header: From line ended by a bare CR", B("From x\rA: b\n\nx"), 6, 1 },
	{ "header: From line, bare CR, CR LF: no empty line", B("From x\r\r\nA: b\n\nx"), 8, 1 },
	{ "header: unterminated CR line at the end", B("a: b\n\r"), -1, 0 },
	{ "header: empty input", B(""), -1, 0 },
};

static void test_head_case(const struct head_case *t)
{
	struct buf out = { 0 }, alt = { 0 };
	tr_canon_state c, c2;
	char name[200];
	int ok = canon_run(t->in, t->inlen, NULL, 0, 0, &out, &c), same = 1;
	long long want = t->header_end < 0 ? (long long)out.len : t->header_end;

	tap_expect(5);
	snprintf(name, sizeof name, "canon %s: header_end", t->name);
	TAP_INT(c.in_header ? (long long)out.len : (long long)c.header_end, want, name);
	snprintf(name, sizeof name, "canon %s: header ended", t->name);
	TAP_INT(c.in_header, t->header_end < 0, name);
	snprintf(name, sizeof name, "canon %s: bare CR in it", t->name);
	TAP_INT(c.header_bare_cr, t->bare_cr, name);
	snprintf(name, sizeof name, "canon %s: out_bytes", t->name);
	TAP_INT(c.out_bytes, out.len, name);
	for (size_t cut = 0; cut <= t->inlen; cut++)
		same &= canon_run(t->in, t->inlen, &cut, 1, 0, &alt, &c2) && same_stats(&c, &c2);
	same &= canon_run(t->in, t->inlen, NULL, 0, 1, &alt, &c2) && same_stats(&c, &c2);
	snprintf(name, sizeof name, "canon %s: same split anywhere, byte by byte", t->name);
	tap_ok(ok && same, name, "");
	free(out.p);
	free(alt.p);
}

/* A reference canonicaliser written for clarity, not speed (no "From "
 * handling: inputs start with 'X'): line ends to CR LF, folds after 998
 * octets. */
static void ref_canon(const char *in, size_t n, struct buf *out, size_t *max_line,
                      int *has_8bit, int *has_nul)
{
	size_t i, line = 0;

	out->len = 0;
	*max_line = 0;
	*has_8bit = *has_nul = 0;
	for (i = 0; i < n; i++) {
		unsigned char u = (unsigned char)in[i];

		if (u == '\r' || u == '\n') {
			buf_add(out, "\r\n", 2);
			*max_line = line > *max_line ? line : *max_line;
			line = 0;
			if (u == '\r' && i + 1 < n && in[i + 1] == '\n')
				i++;
			continue;
		}
		if (line == 998) {
			buf_add(out, "\r\n ", 3);
			*max_line = 998;
			line = 1;
		}
		buf_add(out, in + i, 1);
		line++;
		*has_8bit |= u >= 0x80;
		*has_nul |= u == 0;
	}
	if (line > 0) {
		buf_add(out, "\r\n", 2);
		*max_line = line > *max_line ? line : *max_line;
	}
}

/* The reference for the header section (message.h): the input offset of
 * the first empty line ("" or "\r" before the LF), -1 if none; *bare: a
 * CR not followed by LF came before it. */
static long long ref_header(const char *in, size_t n, int *bare)
{
	size_t start = 0;

	*bare = 0;
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '\n') {
			if (i == start || (i == start + 1 && in[start] == '\r'))
				return (long long)start;
			start = i + 1;
		} else if (in[i] == '\r' && i + 1 < n && in[i + 1] != '\n') {
			*bare = 1;
		}
	}
	return -1;
}

/* Random inputs (CR, LF, NUL, 8-bit, long runs) fed in random chunk
 * sizes: output and statistics equal the reference's. */
static void test_canon_random(void)
{
	struct buf want = { 0 }, got = { 0 };
	unsigned seed = 12345;
	int bad = -1;

	tap_expect(1);
	for (int round = 0; round < 200 && bad < 0; round++) {
		size_t n = 1 + (seed = seed * 1103515245 + 12345) % 6000, max, cut;
		char *in = malloc(n);
		tr_canon_state c;
		int h8, h0, hbare;

		if (in == NULL)
			abort();
		for (size_t i = 0; i < n; i++) {
			unsigned r = (seed = seed * 1103515245 + 12345) >> 16;
			in[i] = r % 50 == 0 ? '\r' : r % 50 == 1 ? '\n' : r % 997 == 2 ? '\0' :
			        r % 301 == 3 ? (char)0xe9 : (char)('a' + r % 26);
		}
		in[0] = 'X';
		if (round % 3 == 0)   /* some inputs with a line far over 998 */
			for (size_t i = 1; i < n && i < 4000; i++)
				in[i] = (char)('a' + i % 26);
		long long hin = ref_header(in, n, &hbare);
		size_t hend;
		if (hin >= 0) {   /* the canonical length of the input before it */
			ref_canon(in, (size_t)hin, &want, &max, &h8, &h0);
			hend = want.len;
		}
		ref_canon(in, n, &want, &max, &h8, &h0);
		if (hin < 0)
			hend = want.len;
		cut = (seed >> 8) % (n + 1);
		if (!canon_run(in, n, &cut, 1, 0, &got, &c) || got.len != want.len ||
		    (got.len && memcmp(got.p, want.p, got.len) != 0) || c.max_line != max ||
		    c.has_8bit != h8 || c.has_nul != h0 || c.out_bytes != got.len ||
		    (c.in_header ? got.len : c.header_end) != hend || c.header_bare_cr != hbare)
			bad = round;
		free(in);
	}
	tap_ok(bad < 0, "canon: 200 random inputs equal the reference (bytes, statistics, header end)", "");
	free(want.p);
	free(got.p);
}

/* ------------------------------------------------------ long-line folding */

/* Append n copies of ch to b. */
static void buf_rep(struct buf *b, char ch, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_add(b, &ch, 1);
}

/* Lines over 998 octets get CR LF SPACE after each 998 octets (Postfix's
 * smtp_line_length_limit). Each case runs through test_canon_case (whole,
 * split at every offset, byte by byte, exact output bounds) and checks
 * the fold count. in/out: "x" runs given by their length, then a tail. */
struct fold_case {
	const char *name;
	size_t xs;              /* leading run of 'x' (after head) */
	const char *head, *tail;
	size_t out_runs[4];     /* output: runs of 'x', joined by "\r\n " */
	const char *out_head, *out_tail;
	size_t max_line;
	unsigned long long lines, folds;
};

static const struct fold_case fold_cases[] = {
	{ "998 octets: not folded", 998, "", "\n", { 998 }, "", "\r\n", 998, 1, 0 },
	{ "999 octets: one fold", 999, "", "\n", { 998, 1 }, "", "\r\n", 998, 2, 1 },
	{ "1995 octets: one fold, full continuation", 1995, "", "\n", { 998, 997 }, "", "\r\n", 998, 2, 1 },
	{ "1997 octets: two folds", 1997, "", "\n", { 998, 997, 2 }, "", "\r\n", 998, 3, 2 },
	{ "999 octets, no final newline", 999, "", "", { 998, 1 }, "", "\r\n", 998, 2, 1 },
	{ "998 octets then CR LF", 998, "", "\r\nnext\n", { 998 }, "", "\r\nnext\r\n", 998, 2, 0 },
	{ "998 octets then bare CR", 998, "", "\rnext", { 998 }, "", "\r\nnext\r\n", 998, 2, 0 },
	{ "999 octets then bare CR", 999, "", "\ry", { 998, 1 }, "", "\r\ny\r\n", 998, 3, 1 },
	{ "leading dot kept, continuation starts with space", 1000, ".", "\n", { 997, 3 }, ".", "\r\n", 998, 2, 1 },
	{ "long From line dropped whole", 1200, "From ", "\na\n", { 0 }, "", "a\r\n", 1, 1, 0 },
	{ "second line long", 1000, "ab\n", "\n", { 998, 2 }, "ab\r\n", "\r\n", 998, 3, 1 },
};

static void test_fold_case(const struct fold_case *f)
{
	struct buf in = { 0 }, out = { 0 }, scratch = { 0 };
	struct canon_case t;
	tr_canon_state c;
	char name[200];
	size_t i;

	tap_expect(1);              /* and test_canon_case's */
	buf_add(&in, f->head, strlen(f->head));
	buf_rep(&in, 'x', f->xs);
	buf_add(&in, f->tail, strlen(f->tail));
	buf_add(&out, f->out_head, strlen(f->out_head));
	for (i = 0; i < 4 && f->out_runs[i] > 0; i++) {
		if (i > 0)
			buf_add(&out, "\r\n ", 3);
		buf_rep(&out, 'x', f->out_runs[i]);
	}
	buf_add(&out, f->out_tail, strlen(f->out_tail));
	t = (struct canon_case){ f->name, in.p, in.len, out.p, out.len, 0, 0,
	                         f->max_line, f->lines };
	test_canon_case(&t);
	canon_run(in.p, in.len, NULL, 0, 0, &scratch, &c);
	snprintf(name, sizeof name, "canon %s: folds", f->name);
	TAP_INT(c.folds, f->folds, name);
	free(in.p);
	free(out.p);
	free(scratch.p);
}

/* A 100000-octet line with every kind of chunking: no line over 998, and
 * removing the folds gives the input back. */
static void test_fold_huge(void)
{
	static const size_t n = 100000;
	struct buf in = { 0 }, out = { 0 }, back = { 0 };
	tr_canon_state c;
	size_t i, line = 0, longest = 0, cut = 4097;
	int ok;

	tap_expect(5);
	for (i = 0; i < n; i++) {
		char ch = (char)('a' + i % 26);
		buf_add(&in, &ch, 1);
	}
	ok = canon_run(in.p, n, &cut, 1, 0, &out, &c);
	for (i = 0; i < out.len; i++) {
		if (out.p[i] == '\r' && i + 2 < out.len && out.p[i + 1] == '\n' && out.p[i + 2] == ' ') {
			i += 2;
			continue;
		}
		if (out.p[i] == '\r' || out.p[i] == '\n')
			continue;
		buf_add(&back, out.p + i, 1);
	}
	for (i = 0; i < out.len; i++) {
		if (out.p[i] == '\n') {
			longest = line > longest ? line : longest;
			line = 0;
		} else if (out.p[i] != '\r') {
			line++;
		}
	}
	tap_ok(ok, "fold 100000-octet line: within output bounds", "");
	TAP_INT(longest, 998, "fold 100000-octet line: longest line sent 998");
	TAP_INT(c.max_line, 998, "fold 100000-octet line: max_line 998");
	TAP_INT(c.folds, (n - 998 + 996) / 997, "fold 100000-octet line: folds");
	TAP_MEM(back.p, back.len, in.p, in.len, "fold 100000-octet line: unfolded equals input");
	free(in.p);
	free(out.p);
	free(back.p);
}

/* ----------------------------------------------------------- dot-stuffing */

struct dot_case {
	const char *name;
	const char *in;
	size_t inlen;
	const char *out;
	size_t outlen;
};

static const struct dot_case dot_cases[] = {
	{ "empty", B(""), B("") },
	{ "no dots", B("a\r\nb\r\n"), B("a\r\nb\r\n") },
	{ "lone dot", B(".\r\n"), B("..\r\n") },
	{ "two dots", B("..\r\n"), B("...\r\n") },
	{ "dot and text", B(".a\r\n"), B("..a\r\n") },
	{ "dot inside a line", B("a.b.\r\n"), B("a.b.\r\n") },
	{ "dots on later lines", B("a\r\n.\r\nb\r\n..x\r\n"),
	  B("a\r\n..\r\nb\r\n...x\r\n") },
	{ "blank lines then dot", B("\r\n\r\n.\r\n"), B("\r\n\r\n..\r\n") },
	{ "only dots", B(".\r\n.\r\n.\r\n"), B("..\r\n..\r\n..\r\n") },
	{ "line start is after LF only", B("a\r.\r\n"), B("a\r.\r\n") },
};

/* Dot-stuff one chunk with an exact-size output buffer. */
static int dot_chunk(tr_dotstuff_state *st, const char *in, size_t n,
                     struct buf *out)
{
	char *cin = dup_exact(in, n);
	char *cout = malloc(n ? 2 * n : 1);
	size_t got;

	if (cout == NULL)
		abort();
	got = tr_dotstuff(st, cin, n, cout);
	buf_add(out, cout, got <= 2 * n ? got : 0);
	free(cin);
	free(cout);
	return got <= 2 * n;
}

/* Dot-stuff in[0..n) split once at cut, or (step > 0) step bytes at a
 * time. Returns 0 if some output exceeded its bound. */
static int dot_run(const char *in, size_t n, size_t cut, size_t step,
                   struct buf *out)
{
	tr_dotstuff_state st = { 1 };
	size_t at;
	int ok = 1;

	out->len = 0;
	if (step == 0)
		return dot_chunk(&st, in, cut, out) &
		       dot_chunk(&st, in + cut, n - cut, out);
	for (at = 0; at < n; at += step)
		ok &= dot_chunk(&st, in + at, n - at < step ? n - at : step, out);
	return ok;
}

static void test_dot_case(const struct dot_case *t)
{
	struct buf out = { 0 };
	char name[200], diag[200];
	size_t cut;
	int bad_at = -1;

	tap_expect(3);
	dot_run(t->in, t->inlen, t->inlen, 0, &out);
	snprintf(name, sizeof name, "dotstuff %s: output bytes", t->name);
	TAP_MEM(out.p ? out.p : "", out.len, t->out, t->outlen, name);

	for (cut = 0; cut <= t->inlen && bad_at < 0; cut++)
		if (!dot_run(t->in, t->inlen, cut, 0, &out) ||
		    out.len != t->outlen ||
		    (out.len && memcmp(out.p, t->out, out.len) != 0))
			bad_at = (int)cut;
	snprintf(diag, sizeof diag, "differs when split at %d", bad_at);
	snprintf(name, sizeof name, "dotstuff %s: split at every offset", t->name);
	tap_ok(bad_at < 0, name, diag);

	snprintf(name, sizeof name, "dotstuff %s: one byte at a time", t->name);
	tap_ok(dot_run(t->in, t->inlen, 0, 1, &out) && out.len == t->outlen &&
	       (out.len == 0 || memcmp(out.p, t->out, out.len) == 0), name, "");
	free(out.p);
}

/* Canonical form then dot-stuffing, as DATA sends the spool. */
static void test_canon_then_dotstuff(void)
{
	static const char in[] = "From x\n.\n..\nx.\n.a";
	static const char want[] = "..\r\n...\r\nx.\r\n..a\r\n";
	struct buf canon = { 0 }, out = { 0 };
	tr_canon_state c;

	tap_expect(1);
	canon_run(in, sizeof in - 1, NULL, 0, 0, &canon, &c);
	dot_run(canon.p, canon.len, canon.len, 0, &out);
	TAP_MEM(out.p, out.len, want, sizeof want - 1, "canon then dotstuff");
	free(canon.p);
	free(out.p);
}

/* --------------------------------------------------------------- spooling */

static const char spool_in[] = "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n"
	"Subject: t\xe9st\r\n\nline\rbare\n.\nnul\0byte";
static const char spool_want[] = "Subject: t\xe9st\r\n\r\nline\r\nbare\r\n"
	".\r\nnul\0byte\r\n";

/* Check a spooled message against spool_want; prefix names the checks. */
static void check_spooled(tlsrelay_message *msg, const char *prefix)
{
	struct buf got = { 0 };
	char name[200];
	int flags;

	snprintf(name, sizeof name, "%s: at offset 0", prefix);
	TAP_INT(lseek(msg->fd, 0, SEEK_CUR), 0, name);
	flags = fcntl(msg->fd, F_GETFD);
	snprintf(name, sizeof name, "%s: close-on-exec", prefix);
	tap_ok(flags >= 0 && (flags & FD_CLOEXEC), name, "");
	read_all(msg->fd, &got);
	snprintf(name, sizeof name, "%s: content", prefix);
	TAP_MEM(got.p, got.len, spool_want, sizeof spool_want - 1, name);
	snprintf(name, sizeof name, "%s: size", prefix);
	TAP_INT(tlsrelay_message_size(msg), sizeof spool_want - 1, name);
	snprintf(name, sizeof name, "%s: stats", prefix);
	tap_ok(msg->has_8bit == 1 && msg->has_nul == 1 && msg->max_line == 13 &&
	       msg->lines == 6, name, "");
	free(got.p);
}

static void test_spool_file(const char *work, const char *spool)
{
	tlsrelay_status st;
	tlsrelay_message *msg;
	int fd = input_file(work, spool_in, sizeof spool_in - 1);

	tap_expect(2 + 1 + 5 + 1 + 1);  /* check_spooled: 5 */
	tap_ok(fd >= 0, "spool file: input file", strerror(errno));
	msg = tr_message_spool(fd, spool, &st);
	tap_ok(msg != NULL, "spool file: spooled", st.text);
	if (msg != NULL) {
		TAP_INT(st.cat, TLSRELAY_OK, "spool file: status ok");
		check_spooled(msg, "spool file");
		TAP_INT(dir_entries(spool), 0, "spool file: not visible in dir");
	}
	tlsrelay_message_free(msg);
	TAP_INT(dir_entries(spool), 0, "spool file: dir empty after free");
	close(fd);
}

/* NUL bytes are refused before sending (5.6.0, DATAERR = exit 65); the
 * same message without them passes. */
static void test_message_check(void)
{
	struct tlsrelay_message m;
	tlsrelay_status st;

	tap_expect(6);
	memset(&m, 0, sizeof m);
	m.fd = -1;
	TAP_INT(tr_message_check(&m, &st), TLSRELAY_OK, "check: clean message ok");
	m.has_8bit = 1;
	m.folds = 3;
	TAP_INT(tr_message_check(&m, &st), TLSRELAY_OK, "check: 8-bit, folded message ok");
	m.has_nul = 1;
	TAP_INT(tr_message_check(&m, &st), TLSRELAY_DATAERR, "check: NUL refused as DATAERR");
	TAP_STR(st.dsn, "5.6.0", "check: NUL DSN 5.6.0");
	tap_ok(has_text(&st, "NUL"), "check: NUL named in the reason", st.text);
	TAP_INT(tlsrelay_status_exit(&st), 65, "check: NUL exit status 65");
}

/* Through a pipe and the public API, spool directory from the context. */
static void test_spool_pipe_ctx(const char *spool)
{
	struct tlsrelay_ctx ctx;
	tlsrelay_status st;
	tlsrelay_message *msg = NULL;
	int p[2];

	tap_expect(1 + 5 + 1);      /* check_spooled: 5 */
	memset(&ctx, 0, sizeof ctx);
	ctx.cfg.spool_directory = (char *)spool;
	if (pipe(p) != 0 || write(p[1], spool_in, sizeof spool_in - 1) !=
	                        (ssize_t)(sizeof spool_in - 1)) {
		tap_ok(0, "spool pipe: set up", strerror(errno));
		return;
	}
	close(p[1]);
	msg = tlsrelay_message_spool(&ctx, p[0], &st);
	tap_ok(msg != NULL, "spool pipe: spooled", st.text);
	if (msg != NULL)
		check_spooled(msg, "spool pipe");
	TAP_INT(dir_entries(spool), 0, "spool pipe: dir empty");
	tlsrelay_message_free(msg);
	close(p[0]);
}

/* Where the spool file of msg lives, by /proc; 0 if unknown. */
static int spool_location(tlsrelay_message *msg, char *path, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof link, "/proc/self/fd/%d", msg->fd);
	n = readlink(link, path, size - 1);
	if (n < 0)
		return 0;
	path[n] = '\0';
	return 1;
}

static void test_spool_tmpdir(const char *work, const char *spool)
{
	const char *dirs[] = { NULL, "" };
	char *old = getenv("TMPDIR"), path[600], name[100];
	tlsrelay_status st;
	tlsrelay_message *msg;
	size_t i;
	int fd;

	tap_expect(NROWS(dirs));
	old = old ? strdup(old) : NULL;
	setenv("TMPDIR", spool, 1);
	for (i = 0; i < NROWS(dirs); i++) {
		fd = input_file(work, B("x\n"));
		msg = tr_message_spool(fd, dirs[i], &st);
		snprintf(name, sizeof name, "spool dir %s uses $TMPDIR",
		         dirs[i] ? "\"\"" : "NULL");
		if (msg != NULL && !spool_location(msg, path, sizeof path))
			tap_skip(name, "no /proc");
		else
			tap_ok(msg != NULL && strncmp(path, spool, strlen(spool)) == 0 &&
			       path[strlen(spool)] == '/', name, msg ? path : st.text);
		tlsrelay_message_free(msg);
		close(fd);
	}
	if (old)
		setenv("TMPDIR", old, 1);
	else
		unsetenv("TMPDIR");
	free(old);
}

static void test_spool_missing_dir(const char *work)
{
	char dir[512];
	tlsrelay_status st;
	tlsrelay_message *msg;
	int fd = input_file(work, B("x\n")), before = next_fd();

	tap_expect(5);
	snprintf(dir, sizeof dir, "%s/does-not-exist", work);
	msg = tr_message_spool(fd, dir, &st);
	tap_ok(msg == NULL, "missing dir: fails", "");
	TAP_INT(st.cat, TLSRELAY_TEMP, "missing dir: temporary");
	TAP_STR(st.dsn, "4.3.0", "missing dir: dsn");
	tap_ok(has_text(&st, dir) && has_text(&st, strerror(ENOENT)),
	       "missing dir: text names the dir and the reason", st.text);
	TAP_INT(next_fd(), before, "missing dir: no descriptor leaked");
	tlsrelay_message_free(msg);
	close(fd);
}

static void test_spool_read_error(const char *spool)
{
	tlsrelay_status st;
	tlsrelay_message *msg;
	int p[2], before;

	tap_expect(6 + 1);          /* a read error, then fd -1 */
	if (pipe(p) != 0) {
		tap_ok(0, "read error: pipe", strerror(errno));
		return;
	}
	before = next_fd();
	msg = tr_message_spool(p[1], spool, &st); /* write end: EBADF */
	tap_ok(msg == NULL, "read error: fails", "");
	TAP_INT(st.cat, TLSRELAY_TEMP, "read error: temporary");
	TAP_STR(st.dsn, "4.3.0", "read error: dsn");
	TAP_STR(st.text, "cannot read message: Bad file descriptor",
	        "read error: text");
	TAP_INT(next_fd(), before, "read error: spool descriptor closed");
	TAP_INT(dir_entries(spool), 0, "read error: dir empty");
	close(p[0]);
	close(p[1]);
	msg = tr_message_spool(-1, spool, &st);
	tap_ok(msg == NULL && st.cat == TLSRELAY_USAGE, "fd -1: usage error",
	       st.text);
}

/* Write failure: RLIMIT_FSIZE makes write(2) fail with EFBIG. */
static void test_spool_write_error(const char *work, const char *spool)
{
	static const char *const names[] = {
		"write error: fails", "write error: temporary", "write error: dsn",
		"write error: text", "write error: spool descriptor closed",
		"write error: dir empty",
	};
	static char big[100000];
	struct rlimit old, lim;
	tlsrelay_status st;
	tlsrelay_message *msg;
	char want[400];
	int fd, before, limited;
	void (*oldsig)(int);

	tap_expect(NROWS(names));
	memset(big, 'x', sizeof big);
	fd = input_file(work, big, sizeof big);
	before = next_fd();
	oldsig = signal(SIGXFSZ, SIG_IGN);
	limited = getrlimit(RLIMIT_FSIZE, &old) == 0;
	lim = old;
	lim.rlim_cur = 4096;
	limited = limited && setrlimit(RLIMIT_FSIZE, &lim) == 0;
	msg = tr_message_spool(fd, spool, &st);
	if (limited)
		setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, oldsig);
	if (!limited) {
		for (size_t i = 0; i < NROWS(names); i++)
			tap_skip(names[i], "cannot set RLIMIT_FSIZE");
		tlsrelay_message_free(msg);
		close(fd);
		return;
	}
	snprintf(want, sizeof want, "cannot write spool file in %s: %s", spool,
	         strerror(EFBIG));
	tap_ok(msg == NULL, names[0], "");
	TAP_INT(st.cat, TLSRELAY_TEMP, names[1]);
	TAP_STR(st.dsn, "4.3.0", names[2]);
	TAP_STR(st.text, want, names[3]);
	TAP_INT(next_fd(), before, names[4]);
	TAP_INT(dir_entries(spool), 0, names[5]);
	close(fd);
}

/* -------------------------------------------------------- memory spool */

/* Where the spool's descriptor points: 1 a memfd, 0 a file in dir. */
static int is_memfd(int fd)
{
	char link[64], target[600];
	ssize_t n;

	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	if ((n = readlink(link, target, sizeof target - 1)) < 0)
		return -1;
	target[n] = '\0';
	return strncmp(target, "/memfd:", 7) == 0;
}

/* tr_message_spool_mem (tlsrelayd's processes): in memory up to mem_max,
 * then moved to a file, the content the same either way. */
static const struct mem_case {
	const char *name;
	size_t input;                 /* bytes of LF lines ("x...x\n", 99 + 1) */
	unsigned long long mem_max;   /* 0: a file at once */
	int want_memfd;
} mem_cases[] = {
	{ "mem_max 0: a file", 2000, 0, 0 },
	{ "small: in memory", 2000, 1024 * 1024, 1 },
	{ "exactly mem_max (canonical): in memory", 1000, 1010, 1 },
	{ "one byte over: moved to a file", 1000, 1009, 0 },
	{ "over in a later read: moved, content whole", 300000, 100000, 0 },
};

static void test_spool_mem_case(const struct mem_case *c, const char *work, const char *spool)
{
	char *in = malloc(c->input), name[200];
	struct buf got = { 0 };
	tlsrelay_status st;
	tlsrelay_message *msg;
	int fd, before = next_fd();

	char *want = malloc(c->input * 2);
	size_t wlen = 0;

	tap_expect(1 + 5 + 2);      /* not spooled: the 5 do not run, and the count fails too */
	for (size_t i = 0; i < c->input; i++) {
		in[i] = i % 100 == 99 ? '\n' : (char)('a' + i / 100 % 26);
		if (in[i] == '\n')
			want[wlen++] = '\r';
		want[wlen++] = in[i];
	}
	fd = input_file(work, in, c->input);
	msg = tr_message_spool_mem(fd, spool, c->mem_max, &st);
	snprintf(name, sizeof name, "memory spool, %s: spooled", c->name);
	tap_ok(msg != NULL, name, st.text);
	if (msg != NULL) {
		snprintf(name, sizeof name, "memory spool, %s: %s", c->name,
		         c->want_memfd ? "a memfd" : "a file");
		TAP_INT(is_memfd(msg->fd), c->want_memfd, name);
		snprintf(name, sizeof name, "memory spool, %s: canonical size", c->name);
		TAP_INT(msg->size, c->input + c->input / 100, name);
		read_all(msg->fd, &got);
		snprintf(name, sizeof name, "memory spool, %s: content byte for byte", c->name);
		TAP_MEM(got.p, got.len, want, wlen, name);
		snprintf(name, sizeof name, "memory spool, %s: close-on-exec", c->name);
		tap_ok((fcntl(msg->fd, F_GETFD) & FD_CLOEXEC) != 0, name, "");
		snprintf(name, sizeof name, "memory spool, %s: at offset 0", c->name);
		lseek(msg->fd, 0, SEEK_SET);
		TAP_INT(lseek(msg->fd, 0, SEEK_CUR), 0, name);
		lseek(msg->fd, 0, SEEK_SET);
	}
	tlsrelay_message_free(msg);
	close(fd);
	snprintf(name, sizeof name, "memory spool, %s: no descriptor left", c->name);
	TAP_INT(next_fd(), before, name);
	snprintf(name, sizeof name, "memory spool, %s: spool dir empty", c->name);
	TAP_INT(dir_entries(spool), 0, name);
	free(got.p);
	free(want);
	free(in);
}

/* Moving to a file that cannot be made: the same 4.3.0 as without memory. */
static void test_spool_mem_no_dir(const char *work)
{
	static char big[5000];
	char dir[700], want[800];
	tlsrelay_status st;
	tlsrelay_message *msg;
	int fd;

	tap_expect(3);
	memset(big, 'y', sizeof big);
	snprintf(dir, sizeof dir, "%s/no-such-dir", work);
	fd = input_file(work, big, sizeof big);
	msg = tr_message_spool_mem(fd, dir, 100, &st);
	snprintf(want, sizeof want, "cannot create spool file in %s: %s", dir, strerror(ENOENT));
	tap_ok(msg == NULL, "memory spool, no dir to move to: fails", "");
	TAP_STR(st.dsn, "4.3.0", "memory spool, no dir to move to: dsn");
	TAP_STR(st.text, want, "memory spool, no dir to move to: text");
	tlsrelay_message_free(msg);
	close(fd);
}

/* tlsrelay_spool_fd (the Exim transport module writes the message there):
 * the same spool function as the library's own, a memfd up to
 * TLSRELAY_SPOOL_MEMORY_MAX when the size is known, else a file in dir. */
static const struct fd_case {
	const char *name;
	long long size;
	int bad_dir;                  /* dir does not exist */
	tlsrelay_cat want;
	int want_memfd;
} fd_cases[] = {
	{ "small: a memfd", 2000, 0, TLSRELAY_OK, 1 },
	{ "exactly the limit: a memfd", TLSRELAY_SPOOL_MEMORY_MAX, 0, TLSRELAY_OK, 1 },
	{ "one byte over: a file", TLSRELAY_SPOOL_MEMORY_MAX + 1, 0, TLSRELAY_OK, 0 },
	{ "size unknown: a file", -1, 0, TLSRELAY_OK, 0 },
	{ "small, no dir: a memfd (dir not needed)", 10, 1, TLSRELAY_OK, 1 },
	{ "large, no dir: 4.3.0", TLSRELAY_SPOOL_MEMORY_MAX + 1, 1, TLSRELAY_TEMP, -1 },
};

static void test_spool_fd_case(const struct fd_case *c, const char *work, const char *spool)
{
	char dir[700], name[200], want[800];
	tlsrelay_status st;
	int fd = -2, before = next_fd();

	tap_expect(c->want != TLSRELAY_OK ? 1 + 3 : 1 + 5);    /* the category; the failure or the spool */
	if (c->bad_dir)
		snprintf(dir, sizeof dir, "%s/no-such-dir", work);
	else
		snprintf(dir, sizeof dir, "%s", spool);
	snprintf(name, sizeof name, "spool fd, %s: category", c->name);
	TAP_INT(tlsrelay_spool_fd(dir, c->size, &fd, &st), c->want, name);
	if (c->want != TLSRELAY_OK) {
		snprintf(want, sizeof want, "cannot create spool file in %s: %s", dir,
		         strerror(ENOENT));
		snprintf(name, sizeof name, "spool fd, %s: text", c->name);
		TAP_STR(st.text, want, name);
		snprintf(name, sizeof name, "spool fd, %s: dsn", c->name);
		TAP_STR(st.dsn, "4.3.0", name);
		snprintf(name, sizeof name, "spool fd, %s: no descriptor", c->name);
		TAP_INT(fd, -1, name);
		return;
	}
	snprintf(name, sizeof name, "spool fd, %s: %s", c->name,
	         c->want_memfd ? "a memfd" : "a file");
	TAP_INT(is_memfd(fd), c->want_memfd, name);
	snprintf(name, sizeof name, "spool fd, %s: close-on-exec", c->name);
	tap_ok(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, name, "");
	snprintf(name, sizeof name, "spool fd, %s: writable and readable back", c->name);
	tap_ok(write(fd, "abc", 3) == 3 && lseek(fd, 0, SEEK_SET) == 0 &&
	       read(fd, want, sizeof want) == 3 && memcmp(want, "abc", 3) == 0, name, "");
	if (fd >= 0)
		close(fd);
	snprintf(name, sizeof name, "spool fd, %s: no descriptor left", c->name);
	TAP_INT(next_fd(), before, name);
	snprintf(name, sizeof name, "spool fd, %s: spool dir empty (unlinked)", c->name);
	TAP_INT(dir_entries(spool), 0, name);
}

/* ----------------------------------------------------------- large input */

#define LARGE_SIZE (20u * 1024 * 1024)

/* A deterministic stream of lines; crlf selects the canonical form. Line i
 * is "line NNNNNNNN " plus i*7%997 letters; every 100th raw line ends in
 * CR LF, the others in LF. */
struct gen {
	unsigned long long line, emitted;
	char cur[1100];
	size_t len, pos;
	int crlf;
};

static void gen_line(struct gen *g)
{
	size_t fill = (size_t)(g->line * 7 % 985), n;   /* lines up to 998: no fold */

	n = (size_t)snprintf(g->cur, sizeof g->cur, "line %08llu ", g->line);
	memset(g->cur + n, 'a' + (int)(g->line % 26), fill);
	n += fill;
	if (g->crlf || g->line % 100 == 0)
		g->cur[n++] = '\r';
	g->cur[n++] = '\n';
	g->len = n;
	g->pos = 0;
	g->line++;
}

/* Fill buf with up to n bytes; the raw stream stops after the line that
 * reaches LARGE_SIZE raw bytes, the canonical one after the same line. */
static size_t gen_fill(struct gen *g, char *buf, size_t n, unsigned long long nlines)
{
	size_t o = 0, k;

	while (o < n) {
		if (g->pos == g->len) {
			if (g->line == nlines)
				break;
			gen_line(g);
		}
		k = g->len - g->pos < n - o ? g->len - g->pos : n - o;
		memcpy(buf + o, g->cur + g->pos, k);
		g->pos += k;
		o += k;
	}
	g->emitted += o;
	return o;
}

/* Lines, canonical size and longest line of the large stream. */
static unsigned long long large_lines(unsigned long long *size, size_t *max)
{
	struct gen g = { 0 };
	unsigned long long raw = 0;

	*size = 0;
	*max = 0;
	while (raw < LARGE_SIZE) {
		gen_line(&g);
		raw += g.len;
		*size += g.len + (g.cur[g.len - 2] != '\r');
		if (g.len - 2 + (g.cur[g.len - 2] != '\r') > *max)
			*max = g.len - 2 + (g.cur[g.len - 2] != '\r');
	}
	return g.line;
}

static void large_writer(int wfd, unsigned long long nlines)
{
	struct gen g = { 0 };
	char buf[4093];
	size_t n;

	while ((n = gen_fill(&g, buf, sizeof buf, nlines)) > 0)
		if (write(wfd, buf, n) != (ssize_t)n)
			_exit(1);
	close(wfd);
	_exit(0);
}

/* Compare the spool with the canonical stream, 64 KiB at a time. */
static int large_compare(int fd, unsigned long long nlines)
{
	static char a[65536], b[65536];
	struct gen g = { 0 };
	size_t n, got;
	ssize_t r;

	g.crlf = 1;
	do {
		n = gen_fill(&g, b, sizeof b, nlines);
		got = 0;
		while (got < n && (r = read(fd, a + got, n - got)) > 0)
			got += (size_t)r;
		if (got != n || memcmp(a, b, n) != 0)
			return 0;
	} while (n > 0);
	return read(fd, a, 1) == 0;
}

static void test_spool_large(const char *spool)
{
	unsigned long long size, nlines;
	size_t max;
	tlsrelay_status st;
	tlsrelay_message *msg;
	pid_t pid;
	int p[2], status;

	tap_expect(2 + 5 + 1);
	nlines = large_lines(&size, &max);
	if (pipe(p) != 0 || (pid = fork()) < 0) {
		tap_ok(0, "large: set up", strerror(errno));
		return;
	}
	if (pid == 0) {
		close(p[0]);
		large_writer(p[1], nlines);
	}
	close(p[1]);
	msg = tr_message_spool(p[0], spool, &st);
	close(p[0]);
	waitpid(pid, &status, 0);
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "large: writer", "");
	tap_ok(msg != NULL, "large: spooled", st.text);
	if (msg != NULL) {
		TAP_INT(msg->size, size, "large: size");
		tap_ok(size > LARGE_SIZE, "large: more than 20 MB", "");
		TAP_INT(msg->lines, nlines, "large: lines");
		TAP_INT(msg->max_line, max, "large: max_line");
		tap_ok(large_compare(msg->fd, nlines), "large: content", "");
	}
	tlsrelay_message_free(msg);
	TAP_INT(dir_entries(spool), 0, "large: dir empty");
}

int main(void)
{
	char work[] = "/tmp/test_message.XXXXXX", spool[600];
	size_t i;

	tap_expect(3);              /* main's own: free(NULL), two rmdir */
	for (i = 0; i < sizeof canon_cases / sizeof canon_cases[0]; i++)
		test_canon_case(&canon_cases[i]);
	for (i = 0; i < sizeof head_cases / sizeof head_cases[0]; i++)
		test_head_case(&head_cases[i]);
	for (i = 0; i < sizeof dot_cases / sizeof dot_cases[0]; i++)
		test_dot_case(&dot_cases[i]);
	test_canon_then_dotstuff();
	for (i = 0; i < sizeof fold_cases / sizeof fold_cases[0]; i++)
		test_fold_case(&fold_cases[i]);
	test_fold_huge();
	test_canon_random();
	test_message_check();

	if (mkdtemp(work) == NULL) {
		tap_ok(0, "mkdtemp", strerror(errno));
		return tap_done();
	}
	snprintf(spool, sizeof spool, "%s/spool", work);
	if (mkdir(spool, 0700) != 0)
		tap_ok(0, "mkdir spool", strerror(errno));
	test_spool_file(work, spool);
	test_spool_pipe_ctx(spool);
	test_spool_tmpdir(work, spool);
	test_spool_missing_dir(work);
	test_spool_read_error(spool);
	test_spool_write_error(work, spool);
	test_spool_large(spool);
	for (i = 0; i < sizeof mem_cases / sizeof mem_cases[0]; i++)
		test_spool_mem_case(&mem_cases[i], work, spool);
	test_spool_mem_no_dir(work);
	for (i = 0; i < sizeof fd_cases / sizeof fd_cases[0]; i++)
		test_spool_fd_case(&fd_cases[i], work, spool);
	tlsrelay_message_free(NULL);
	tap_ok(tlsrelay_message_size(NULL) == 0, "free(NULL) and size(NULL)", "");

	tap_ok(rmdir(spool) == 0, "spool dir left empty", strerror(errno));
	tap_ok(rmdir(work) == 0, "work dir left empty", strerror(errno));
	return tap_done();
}

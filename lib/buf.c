/*
 * buf.c - the growable, bounded string buffer (see buf.h).
 *
 * Growth doubles the storage (at least 64 bytes), capped at max + 1; an
 * append that would pass max keeps what fits and sets lost, so a bounded
 * text (a log line, a reply, a key) stays bounded whatever the input.
 */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"

#define DEFAULT_MAX (1024 * 1024)

void tr_buf_init(tr_buf *b, size_t max)
{
	memset(b, 0, sizeof *b);
	b->max = max ? max : DEFAULT_MAX;
}

void tr_buf_fixed(tr_buf *b, char *mem, size_t cap)
{
	memset(b, 0, sizeof *b);
	b->s = mem;
	b->cap = cap;
	b->max = cap ? cap - 1 : 0;
	b->fixed = 1;
	if (cap)
		mem[0] = '\0';
}

/* Room for want more bytes of text, or as many as the bounds allow. */
static size_t room(tr_buf *b, size_t want)
{
	size_t need, ncap;
	char *p;

	if (b->len + want > b->max)
		want = b->max - b->len;
	need = b->len + want + 1;
	if (need <= b->cap || b->fixed)
		return b->cap > b->len ? (need <= b->cap ? want : b->cap - b->len - 1) : 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap *= 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	if ((p = realloc(b->s, ncap)) == NULL) {
		b->nomem = b->lost = 1;
		return 0;
	}
	b->s = p;
	b->cap = ncap;
	return want;
}

/* tr_buf_add; -1 when something was lost (for tr_buf_hex, which stops
 * there). */
static int append(tr_buf *b, const char *s, size_t n)
{
	size_t k = room(b, n);

	if (k > 0) {
		memcpy(b->s + b->len, s, k);
		b->len += k;
	}
	if (b->s && b->cap)
		b->s[b->len] = '\0';
	if (k < n)
		b->lost = 1;
	return k < n ? -1 : 0;
}

void tr_buf_add(tr_buf *b, const char *s, size_t n)
{
	(void)append(b, s, n);
}

void tr_buf_puts(tr_buf *b, const char *s)
{
	(void)append(b, s, strlen(s));
}

void tr_buf_putc(tr_buf *b, char c)
{
	(void)append(b, &c, 1);
}

void tr_buf_vprintf(tr_buf *b, const char *fmt, va_list ap)
{
	char small[256], *big = NULL;
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(small, sizeof small, fmt, ap);
	if (n < 0 || (size_t)n < sizeof small) {
		va_end(again);
		if (n < 0)
			b->lost = 1;
		else
			(void)append(b, small, (size_t)n);
		return;
	}
	if ((big = malloc((size_t)n + 1)) == NULL) {
		va_end(again);
		b->nomem = b->lost = 1;
		return;
	}
	vsnprintf(big, (size_t)n + 1, fmt, again);
	va_end(again);
	(void)append(b, big, (size_t)n);
	free(big);
}

void tr_buf_printf(tr_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tr_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void tr_buf_hex(tr_buf *b, const unsigned char *p, size_t n, char sep)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++) {
		char two[3] = { hex[p[i] >> 4], hex[p[i] & 15], sep };
		r = append(b, two, sep && i + 1 < n ? 3 : 2);
	}
}

void tr_buf_reset(tr_buf *b)
{
	b->len = 0;
	b->lost = b->nomem = 0;
	if (b->s)
		b->s[0] = '\0';
}

const char *tr_buf_str(const tr_buf *b)
{
	return b->s ? b->s : "";
}

char *tr_buf_take(tr_buf *b)
{
	char *s = b->fixed ? NULL : b->s;

	if (!b->fixed) {
		b->s = NULL;
		b->len = b->cap = 0;
	}
	return s;
}

void tr_buf_free(tr_buf *b)
{
	if (!b->fixed)
		free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

/*
 * buf.h - a growable, bounded string buffer (buf.c), in the manner of
 * Postfix's VSTRING and curl's dynbuf: appends never overflow, and one
 * flag says whether anything was lost, so that callers write a sequence of
 * appends and check once, instead of a chain of
 * "used += snprintf(buf + used, cap - used, ...)" with a guard each.
 *
 * Two kinds of storage, one interface:
 *   tr_buf_init(b, max)        heap storage that grows up to max bytes of
 *                              text (the protocol's or the caller's bound);
 *                              release with tr_buf_free;
 *   tr_buf_fixed(b, mem, cap)  the caller's array (no allocation: for pure
 *                              functions and fixed-size results); text is
 *                              cut at cap - 1 bytes.
 * The text is always NUL-terminated (when any storage exists). An append
 * that does not fit whole appends what fits (cut at a UTF-8 boundary is
 * NOT attempted: callers that show text cut it themselves) and sets
 * b->lost; an allocation failure sets b->lost and b->nomem. tr_buf_str()
 * is "" for a buffer that holds nothing.
 *
 * Nothing fails: the appends return nothing; b->lost (b->nomem) says,
 * once, after a sequence of them, whether the text is whole.
 */
#ifndef TR_BUF_H
#define TR_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include "status.h"

typedef struct tr_buf {
	char *s;          /* the text, NUL-terminated; NULL before any storage */
	size_t len;       /* bytes of text */
	size_t cap;       /* bytes of storage */
	size_t max;       /* at most this many bytes of text */
	int fixed;        /* the caller's storage: never reallocated or freed */
	int lost;         /* something did not fit (or memory ran out) */
	int nomem;        /* an allocation failed */
} tr_buf;

/* Heap storage, at most max bytes of text (max 0: 1 MiB). */
void tr_buf_init(tr_buf *b, size_t max);

/* The caller's array mem of cap bytes (cap >= 1), emptied. */
void tr_buf_fixed(tr_buf *b, char *mem, size_t cap);

/* Append n bytes of s / a NUL-terminated s / formatted text / one byte. */
void tr_buf_add(tr_buf *b, const char *s, size_t n);
void tr_buf_puts(tr_buf *b, const char *s);
void tr_buf_printf(tr_buf *b, const char *fmt, ...) TR_PRINTF(2, 3);
void tr_buf_vprintf(tr_buf *b, const char *fmt, va_list ap) TR_PRINTF(2, 0);
void tr_buf_putc(tr_buf *b, char c);

/* Bytes as upper-case hex pairs, separated by sep (0: none); stops at
 * the first that does not fit. */
void tr_buf_hex(tr_buf *b, const unsigned char *p, size_t n, char sep);

/* Empty the text (storage kept). */
void tr_buf_reset(tr_buf *b);

/* The text ("" when none). Valid until the next append, reset or free. */
const char *tr_buf_str(const tr_buf *b);

/* The heap text handed over to the caller (free() it), the buffer left
 * empty; NULL for fixed storage or when nothing was ever stored. */
char *tr_buf_take(tr_buf *b);

/* Release heap storage (fixed storage is left alone). */
void tr_buf_free(tr_buf *b);

#endif

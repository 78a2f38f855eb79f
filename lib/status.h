/*
 * status.h - building tlsrelay_status values (status.c).
 *
 * One error convention for the whole library: a function that can fail
 * fills a caller-owned tlsrelay_status and returns its category. The text
 * is always one printable line: tr_status_set() replaces CR, LF and other
 * control bytes with spaces and truncates to TLSRELAY_TEXT_MAX-1.
 * Translation to sysexits lives in tlsrelay_status_exit() only.
 */
#ifndef TR_STATUS_H
#define TR_STATUS_H

#include "tlsrelay.h"

#if defined(__GNUC__)
#define TR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TR_PRINTF(a, b)
#endif

/* Set *st (may be NULL: then nothing happens); returns cat. dsn may be
 * NULL or "" for none. */
tlsrelay_cat tr_status_set(tlsrelay_status *st, tlsrelay_cat cat,
                           const char *dsn, const char *fmt, ...) TR_PRINTF(4, 5);

/* st = OK, "2.0.0", empty text. Returns TLSRELAY_OK. */
tlsrelay_cat tr_status_ok(tlsrelay_status *st);

/* Copy src to dst (both non-NULL). */
void tr_status_copy(tlsrelay_status *dst, const tlsrelay_status *src);

/* TLSRELAY_CONFIG, dsn 4.3.5, text "where: reason" (no prefix when where
 * is NULL): the one form of every configuration error. */
tlsrelay_cat tr_config_error(tlsrelay_status *st, const char *where,
                             const char *fmt, ...) TR_PRINTF(3, 4);

/* Receives one problem text ("file:line: reason") in check mode, where a
 * reader reports every problem and goes on instead of stopping at the
 * first (tlsrelay -t). */
typedef tlsrelay_report_fn tr_report_fn;

/* s made safe for an error text: control bytes become '?', at most
 * TR_QUOTE_MAX bytes (cut at a UTF-8 character boundary) then "...".
 * buf holds TR_QUOTE_MAX + 4 bytes. Returns buf. */
#define TR_QUOTE_MAX 64
const char *tr_quote(const char *s, char *buf);

/* " (as user NAME)": who could not open a file, for "cannot open" texts
 * (the effective user; "uid N" without a name). buf holds
 * TR_AS_USER_MAX bytes. Returns buf; errno is left as it was. */
#define TR_AS_USER_MAX 96
const char *tr_as_user(char *buf);

/* Replace control bytes in s (NUL-terminated, in place) with spaces. */
void tr_sanitize_line(char *s);

#endif

/*
 * smtp_reply.h - SMTP reply and EHLO capability parsing (smtp_reply.c).
 *
 * Pure functions over bytes: no I/O, no allocation. A reply is fed one line
 * at a time (without its CR LF) until tr_reply_feed() says it is complete.
 *
 * Bounds (hostile servers): a line longer than TR_REPLY_LINE_MAX, more than
 * TR_REPLY_LINES_MAX lines, or more than TR_REPLY_TEXT_MAX bytes of text
 * make the reply TR_REPLY_BAD; so do a code that is not three digits with a
 * first digit 2-5, a separator other than ' ' or '-' (a bare "250" is a
 * final line), and continuation lines whose code differs from the first.
 *
 * A tr_reply is about 9 KB (mind small thread stacks) and holds pointers
 * into itself: never copy one by value (the copy's line[] would still point
 * into the original's buf).
 */
#ifndef TR_SMTP_REPLY_H
#define TR_SMTP_REPLY_H

#include <stddef.h>

#define TR_REPLY_LINE_MAX   2048   /* bytes of one line, without CR LF */
#define TR_REPLY_LINES_MAX  128
#define TR_REPLY_TEXT_MAX   8192   /* all lines' text, NULs included */

typedef struct tr_reply {
	int code;                     /* e.g. 250; 0 until the first line */
	char dsn[16];                 /* enhanced status of the first line, "" if none */
	size_t nlines;
	/* text of each line after "NNN-"/"NNN " (may be empty), NUL-terminated,
	 * stored back to back in buf; line[i] points into buf. Control bytes
	 * (0x00-0x1f and 0x7f) other than TAB are replaced with '?'; bytes
	 * 0x80-0xff (UTF-8) are kept. */
	const char *line[TR_REPLY_LINES_MAX];
	char buf[TR_REPLY_TEXT_MAX];
	size_t used;
	int done;
	char error[128];              /* why TR_REPLY_BAD, for the log */
} tr_reply;

/* What one fed line did (tr_reply_feed). */
typedef enum tr_reply_res { TR_REPLY_MORE = 0, TR_REPLY_DONE = 1, TR_REPLY_BAD = -1 } tr_reply_res;

/* Start *r empty; also to reuse a tr_reply for the next reply. Resets
 * code, dsn, nlines, used, done and error; line[] and buf are not cleared
 * (only line[0..nlines) is ever read, and store_line writes it first). */
void tr_reply_init(tr_reply *r);

/* Feed one line (len bytes, may contain NULs, no CR LF). Returns
 * TR_REPLY_MORE (a continuation line was taken), TR_REPLY_DONE (the final
 * line was taken: r->done = 1) or TR_REPLY_BAD (r->error says why; the
 * reply must not be used). Feeding after DONE or BAD returns TR_REPLY_BAD:
 * after BAD, r->error keeps the first reason; after DONE, r->error is set
 * (a line after the final one means the session is out of step) and
 * r->done stays 1. A rejected line changes nothing but r->error. r->dsn is
 * set from the first line, with class digit code/100. */
tr_reply_res tr_reply_feed(tr_reply *r, const char *line, size_t len);

/* Enhanced status code ("x.y.z", RFC 3463) at the start of text, whose class
 * digit must equal class_digit (2, 4 or 5; 0 = any). On success copies it to
 * out (cap >= 12) and returns the number of bytes it occupies in text,
 * including one following space if there is one; 0 if there is none.
 * Syntax: class "." 1*3DIGIT "." 1*3DIGIT, then a space or the end of
 * text (so "5.1.1x" is none). out is set to "" when there is none (or when
 * cap is too small: then 0 is returned); out may be NULL to only measure. */
size_t tr_parse_dsn(const char *text, int class_digit, char *out, size_t cap);

/* The reply as one printable line for logs and status text:
 * "550 5.1.1 <x@y>: Recipient address rejected" with continuation lines
 * joined by single spaces; truncated to cap-1 bytes. Returns out.
 * Lines with empty text add nothing (a bare "250" gives "250"); TABs become
 * spaces. Always NUL-terminated if cap > 0; cap 0 writes nothing. A reply
 * with no line gives "". */
char *tr_reply_format(const tr_reply *r, char *out, size_t cap);

/* ------------------------------------------------------- EHLO capabilities */

enum {
	TR_CAP_STARTTLS            = 1u << 0,
	TR_CAP_PIPELINING          = 1u << 1,
	TR_CAP_8BITMIME            = 1u << 2,
	TR_CAP_SIZE                = 1u << 3,
	TR_CAP_DSN                 = 1u << 4,
	TR_CAP_SMTPUTF8            = 1u << 5,
	TR_CAP_CHUNKING            = 1u << 6,
	TR_CAP_ENHANCEDSTATUSCODES = 1u << 7,
	TR_CAP_AUTH                = 1u << 8,
	TR_CAP_BINARYMIME          = 1u << 9
};

enum {
	TR_AUTH_PLAIN    = 1u << 0,
	TR_AUTH_LOGIN    = 1u << 1,
	TR_AUTH_CRAM_MD5 = 1u << 2,
	TR_AUTH_XOAUTH2  = 1u << 3
};

typedef struct tr_caps {
	unsigned flags;               /* TR_CAP_* */
	unsigned long long size_max;  /* SIZE parameter; 0 = none declared */
	unsigned auth;                /* TR_AUTH_* offered (AUTH and AUTH=) */
} tr_caps;

/* Capabilities from a 250 EHLO reply: every line after the first, keywords
 * matched case-insensitively in any order, the last line as well as the
 * others. "AUTH=LOGIN PLAIN" (old form) counts as AUTH. Unknown keywords
 * are ignored. A SIZE value that is not a decimal number is ignored.
 * A keyword matches only as a whole word (SP/TAB separated): "STARTTLSX"
 * is not STARTTLS. SIZE without a value, with a non-number or with a value
 * that overflows unsigned long long sets TR_CAP_SIZE with size_max 0.
 * *caps is zeroed first and stays zero unless r is complete (done, no
 * error) with code 250. */
void tr_caps_parse(const tr_reply *r, tr_caps *caps);

/* Space-separated names of the flags set in caps->flags, for logs, in
 * TR_CAP_* bit order ("STARTTLS PIPELINING SIZE AUTH"); "" if none.
 * Truncated to cap-1 bytes like tr_reply_format(); cap 0 writes nothing. */
char *tr_caps_format(const tr_caps *caps, char *out, size_t cap);

#endif

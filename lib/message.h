/*
 * message.h - the spooled message (message.c).
 *
 * tlsrelay_message_spool() copies the input to an unlinked temporary file
 * (O_TMPFILE, else mkstemp + unlink: it never outlives the process) in
 * canonical form: every line ends in CR LF; LF alone becomes CR LF; a CR
 * not followed by LF becomes CR LF too (a bare CR is a line break to many
 * servers, so sending it raw would allow SMTP smuggling); the last line is
 * terminated; an mbox "From " line at the very start (Exim's message_prefix)
 * is dropped; a line longer than TR_LINE_MAX (998) octets is folded by
 * inserting CR LF SPACE after each 998 octets, as Postfix does with
 * smtp_line_length_limit = 998 (RFC 5321 4.5.3.1.6). The spool is NOT
 * dot-stuffed: BDAT sends it as is, DATA dot-stuffs it while sending
 * (tr_dotstuff). Its size is therefore exactly the BDAT byte count and the
 * SIZE= value. Memory use is a fixed buffer, whatever the message size.
 * NUL bytes are kept in the spool and counted; tr_message_check() refuses
 * such a message before anything is sent (see message.c for why).
 *
 * The header section is delimited in the INPUT's own line structure, the
 * one the MTA parsed (lines end at LF; a CR just before the LF belongs to
 * the line end): it ends where the first empty input line ("" or "\r"
 * before the LF) starts. The spooler records that place as a spool offset
 * (header_end), because canonicalisation can make it impossible to find
 * again in the spool: a bare CR becomes CR LF, so "Subject: a\r\r\n" holds
 * an empty spool line, and "Subject: a\rb" a line "b" that is neither a
 * field nor a continuation. It also records whether a bare CR occurred in
 * the header section (header_bare_cr): the spool's lines and the MTA's
 * lines then differ there. msgreq.c reads exactly that region.
 */
#ifndef TR_MESSAGE_H
#define TR_MESSAGE_H

#include <stddef.h>
#include <sys/types.h>
#include "tlsrelay.h"

struct tlsrelay_message {
	int fd;                       /* spool file, read from offset 0 */
	unsigned long long size;      /* bytes in canonical form */
	int has_8bit;                 /* some byte >= 0x80 */
	int has_nul;                  /* some NUL byte */
	size_t max_line;              /* longest line, without CR LF (<= 998) */
	unsigned long long lines;
	unsigned long long folds;     /* CR LF SPACE inserted in long lines */
	unsigned long long header_end; /* spool offset where the input's first
	                                  empty line starts (the header section
	                                  ends); size when it has none */
	int header_bare_cr;           /* a bare CR occurred before header_end */
};

/* Longest line sent, in octets without CR LF (RFC 5321 4.5.3.1.6). */
#define TR_LINE_MAX 998

/* Spool from fd into a file in dir (NULL = $TMPDIR, else /tmp).
 * Returns: the message, or NULL with *st TEMP 4.3.0 (read or write error),
 * USAGE (a bad descriptor), INTERNAL 4.3.0 (out of memory). */
struct tlsrelay_message *tr_message_spool(int fd, const char *dir,
                                          tlsrelay_status *st);

/* The same, kept in memory (a memfd) while it is at most mem_max bytes,
 * in a file in dir once it grows past that (0: a file at once).
 * Returns: the message, or NULL with *st TEMP 4.3.0 (read or write error,
 * the move to a file), USAGE (a bad descriptor), INTERNAL 4.3.0 (out of
 * memory). */
struct tlsrelay_message *tr_message_spool_mem(int fd, const char *dir,
                                              unsigned long long mem_max,
                                              tlsrelay_status *st);

/* Content checks before any server is contacted: TLSRELAY_OK, or
 * TLSRELAY_DATAERR (exit 65) with DSN 5.6.0 for NUL bytes.
 * Returns: OK, DATAERR 5.6.0. */
tlsrelay_cat tr_message_check(const struct tlsrelay_message *msg,
                              tlsrelay_status *st);

/* Streaming dot-stuffer for DATA. Start with st->bol = 1. Copies in[0..n)
 * to out, doubling a '.' at the start of each line; returns bytes written
 * to out. out must hold 2*n bytes. The canonical spool always ends with
 * CR LF, so after the last chunk the caller sends ".\r\n". */
typedef struct tr_dotstuff_state { int bol; } tr_dotstuff_state;
size_t tr_dotstuff(tr_dotstuff_state *st, const char *in, size_t n, char *out);

/* Canonicalising copier used by the spooler, exposed for unit tests: feed
 * raw input chunks, get canonical bytes. Call tr_canon_finish at EOF to
 * terminate an unterminated last line. Up to 4 bytes of a possible leading
 * "From " are held back and emitted by a later call, so out must hold
 * TR_CANON_OUT_MAX(n) bytes for tr_canon_feed and TR_CANON_OUT_MAX(0) for
 * tr_canon_finish. The statistics describe the bytes emitted so far.
 * Bound: each input byte (and each of the 4 held back) gives at most 2
 * bytes; a fold adds 3 and needs 997 content bytes since the last one, so
 * one call folds at most (n + 4) / 997 + 1 times. */
#define TR_CANON_OUT_MAX(n) (2 * (size_t)(n) + 3 * ((size_t)(n) / 997) + 16)
typedef struct tr_canon_state {
	int phase;                    /* internal: head, "From " line, body */
	size_t headlen;               /* bytes of "From " matched and held */
	int from_cr;                  /* CR seen in the dropped "From " line */
	int pending_cr;               /* a CR was emitted, its LF not yet */
	int mid_line;                 /* bytes emitted since the last LF */
	size_t cur_line;              /* length of the current line so far */
	size_t max_line;              /* longest line, without CR LF */
	unsigned long long lines;     /* lines emitted (CR LF count) */
	unsigned long long folds;     /* long-line folds emitted */
	int has_8bit, has_nul;
	unsigned long long out_bytes; /* bytes emitted so far */
	/* The input's header section (see above), tracked until it ends: */
	int in_header;                /* its first empty line not seen yet */
	size_t head_len;              /* input bytes of the current line so far */
	unsigned long long head_line; /* spool offset where that line starts */
	unsigned long long header_end;/* set when in_header drops to 0 */
	int header_bare_cr;           /* a CR not followed by LF in it */
} tr_canon_state;
void tr_canon_init(tr_canon_state *c);
size_t tr_canon_feed(tr_canon_state *c, const char *in, size_t n, char *out);
size_t tr_canon_finish(tr_canon_state *c, char *out);

#endif

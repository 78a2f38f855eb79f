/*
 * lmtp_server.h - the server side of LMTP (RFC 2033) as a pure state
 * machine (lmtp_server.c): bytes from a local LMTP client (Postfix's
 * lmtp(8)) in, replies and the message's unstuffed bytes out. No I/O, no
 * clock: the caller reads the socket, writes the replies, stores the
 * message (the sink) and delivers it, so that the whole protocol is
 * table-tested and fuzzed without sockets.
 *
 * The conversation:
 *   tr_lmtp_init() + tr_lmtp_greeting()    220
 *   tr_lmtp_input() with what was read     replies appended to out; act:
 *     TR_LMTP_MORE     everything that makes a whole line was used: send
 *                      out, keep the unused bytes (a partial line, at
 *                      most TR_LMTP_LINE_MAX + 1 bytes: the caller's
 *                      buffer holds TR_LMTP_LINE_MAX + 2), read more
 *     TR_LMTP_DELIVER  the end of a message's data: send out, deliver the
 *                      transaction (s->sender, s->rcpts...), then
 *                      tr_lmtp_results() with one status per recipient;
 *                      the unused bytes are the next commands
 *     TR_LMTP_CLOSE    send out, then close (QUIT, a line too long, an
 *                      earlier CLOSE)
 *   tr_lmtp_timeout()                      421 4.4.2, then close
 *
 * Bounds (the client is local but trusted for nothing):
 * - a command line of at most TR_LMTP_LINE_MAX bytes without CR LF; a
 *   longer one is answered 500 5.5.2 and the session closes (the rest of
 *   it could be read as commands);
 * - at most rcpts_max recipients a transaction (452 4.5.3 for more);
 * - at most size_max bytes of message (SIZE= over it: 552 5.3.4 at MAIL;
 *   data over it: nothing more reaches the sink, and every recipient is
 *   answered 552 5.3.4 at the end of the data);
 * - every text echoed from the client is cut and printable; every reply
 *   line has a code and an enhanced status code.
 *
 * Nothing the client says reaches the policy: it gives the envelope and
 * the DSN parameters only (the delivery runs under the daemon's
 * configuration). Addresses are checked with tlsrelay_check_address() as
 * the transport checks its arguments; 8-bit addresses only after MAIL
 * with SMTPUTF8 (RFC 6531).
 *
 * Memory: the recipients' strings are the session's (heap), freed at the
 * end of each transaction and by tr_lmtp_free(); bounded by the line
 * length times rcpts_max.
 */
#ifndef TR_LMTP_SERVER_H
#define TR_LMTP_SERVER_H

#include <stddef.h>
#include "buf.h"
#include "tlsrelay.h"

#define TR_LMTP_LINE_MAX   2048        /* bytes of a command, without CR LF */
#define TR_LMTP_RCPTS_MAX  1000        /* the default rcpts_max */
#define TR_LMTP_SIZE_DEFAULT (50ull << 20) /* the default size_max */
#define TR_LMTP_ENVID_MAX  100         /* decoded ENVID bytes (RFC 3461) */
#define TR_LMTP_IDENT_MAX  63          /* XFORWARD IDENT used as the log ID */
#define TR_LMTP_TEXT_MAX   400         /* bytes of a status text in a reply */
#define TR_LMTP_OUT_MAX    (4u << 20)  /* bound of the caller's out buffer */

typedef enum tr_lmtp_state {
	TR_LMTP_S_GREETED = 0,  /* before LHLO */
	TR_LMTP_S_READY,        /* after LHLO, no transaction */
	TR_LMTP_S_MAIL,         /* MAIL accepted, RCPTs */
	TR_LMTP_S_DATA,         /* after 354: message bytes */
	TR_LMTP_S_DELIVER,      /* end of data: waiting for tr_lmtp_results */
	TR_LMTP_S_CLOSED        /* nothing more is read */
} tr_lmtp_state;

typedef enum tr_lmtp_act { TR_LMTP_MORE = 0, TR_LMTP_DELIVER, TR_LMTP_CLOSE } tr_lmtp_act;

/* Takes n bytes of the message (dot-unstuffed, line ends as sent);
 * returns 0, or -1 when they cannot be stored (every recipient is then
 * answered 451 4.3.0 at the end of the data; nothing more is passed).
 * p NULL (n 0): the data was refused (too big, not stored): forget the
 * bytes of this message; its return value is not used. */
typedef int (*tr_lmtp_sink)(void *arg, const char *p, size_t n);

typedef struct tr_lmtp_rcpt {
	char *addr;                    /* checked, no angle brackets */
	char notify[40];               /* NOTIFY= as given (upper case), or "" */
	char *orcpt;                   /* ORCPT= as given (xtext), or NULL */
	int orcpt_dropped;             /* 1: an ORCPT over 500 characters was given */
} tr_lmtp_rcpt;

typedef struct tr_lmtp {
	tr_lmtp_state state;
	char host[128];                /* the name in 220/250/421 */
	unsigned long long size_max;
	size_t rcpts_max;
	tr_lmtp_sink sink;
	void *sink_arg;
	/* the transaction, read-only for the caller at TR_LMTP_DELIVER */
	char *sender;                  /* "" = null sender */
	char ret[5];                   /* "FULL", "HDRS" or "" */
	char envid[TR_LMTP_ENVID_MAX + 1]; /* decoded, printable ASCII, or "" */
	char ident[TR_LMTP_IDENT_MAX + 1]; /* XFORWARD IDENT when usable, or "" */
	int smtputf8, body8;           /* MAIL had SMTPUTF8, BODY=8BITMIME */
	tr_lmtp_rcpt *rcpts;
	size_t nrcpts, rcpts_cap;
	/* the data reader */
	int dstate;                    /* position in the end-of-data marker */
	unsigned long long dsize;      /* bytes passed (or that would be) */
	int oversize, sink_failed, nomem;
	unsigned long transactions;    /* messages answered */
} tr_lmtp;

/* A session for a client; host: the server's name (cut to 127 bytes,
 * NULL: "localhost"); size_max (0: TR_LMTP_SIZE_DEFAULT);
 * rcpts_max (0: TR_LMTP_RCPTS_MAX). Never fails. */
void tr_lmtp_init(tr_lmtp *s, const char *host, unsigned long long size_max,
                  size_t rcpts_max, tr_lmtp_sink sink, void *sink_arg);
void tr_lmtp_free(tr_lmtp *s);

/* The 220 greeting, appended to out. */
void tr_lmtp_greeting(tr_lmtp *s, tr_buf *out);

/* Read the n bytes at p (what the client sent after what earlier calls
 * used), appending replies to out. *used: how many were used (the rest,
 * at act MORE a partial line, must be offered again with what follows).
 * Returns the act (see the top). Never fails: out of memory is answered
 * 452 4.3.0 / 451 4.3.0 as a temporary failure. */
tr_lmtp_act tr_lmtp_input(tr_lmtp *s, const char *p, size_t n, size_t *used, tr_buf *out);

/* After TR_LMTP_DELIVER: one reply per recipient, in order, from st[i]
 * (recipient i's final status, lib/rcpt_result.h's settling done):
 * OK 250, TEMP/CONFIG/INTERNAL (or anything else) 4xx, PERM/USAGE/DATAERR
 * 5xx, with st's DSN when its class matches (else X.0.0) and its text,
 * cut and printable (CONFIG and INTERNAL texts are not shown: they may
 * name local files). Ends the transaction (state READY). */
void tr_lmtp_results(tr_lmtp *s, const tlsrelay_status *st, tr_buf *out);

/* The idle or command timeout: 421 4.4.2, state CLOSED. */
void tr_lmtp_timeout(tr_lmtp *s, tr_buf *out);

/* The reply code and text for one recipient's status (tr_lmtp_results'
 * rule), as a line without CR LF into line (cap >= TR_LMTP_TEXT_MAX + 64). */
void tr_lmtp_rcpt_reply(const tlsrelay_status *st, const char *addr, char *line, size_t cap);

/* Name of a state ("greeted", "ready", ...), for logs. */
const char *tr_lmtp_state_name(tr_lmtp_state st);

#endif

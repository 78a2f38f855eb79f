/*
 * smtp_client.h - one SMTP session with one server address (smtp_client.c,
 * smtp_open.c, smtp_txn.c).
 *
 * A session has three parts, each in one place:
 *   open         connect, read the greeting, say EHLO (HELO if EHLO is
 *                refused), upgrade with STARTTLS as the demand asks, AUTH
 *                (smtp_open.c) - or take an idle connection with the same
 *                key from the connection cache (conn_cache.h: tlsrelayd's
 *                delivery processes only), which skips all of it;
 *   transaction  one mail transaction for the recipients that are still
 *                pending (status TEMP) (smtp_txn.c);
 *   keep or quit the connection goes back to the connection cache when it
 *                is clean and within its limits, else QUIT (smtp_client.c).
 *                Without a connection cache (the tlsrelay program, the
 *                probe, the Exim object) it is always QUIT.
 * It settles recipients by setting req->rcpts[i].status:
 *   OK   - the server said 2xx to the end of data;
 *   PERM - the server refused permanently (5xx to RCPT, or to MAIL/DATA/
 *          end of data, or a message-level limit such as SIZE);
 *   TEMP - not settled (4xx, lost connection, TLS policy not met...): the
 *          caller may try another server.
 * With credentials (p->cred), TLS becomes mandatory whatever the level and
 * AUTH follows the EHLO after STARTTLS (once per connection).
 * Site failures (no connection, greeting refused, TLS required but not
 * available) set every pending recipient's status to the failure.
 * A cached connection that the server closed while it was idle (end of
 * file, a reset, or 421) before this transaction's MAIL was accepted is
 * replaced by a new connection in the same call: that is never a failure.
 *
 * States are an enum with a name table; every change goes through one
 * function that logs "old -> new" at verbosity 1.
 */
#ifndef TR_SMTP_CLIENT_H
#define TR_SMTP_CLIENT_H

#include "tlsrelay.h"
#include "dns.h"
#include "io.h"
#include "smtp_reply.h"
#include "observe.h"
#include "tls.h"
#include "tls_level.h"

typedef enum tr_state {
	TR_ST_CONNECT = 0,
	TR_ST_TLS_WRAP,        /* implicit TLS handshake */
	TR_ST_GREETING,
	TR_ST_EHLO,
	TR_ST_HELO,
	TR_ST_STARTTLS,
	TR_ST_TLS_HANDSHAKE,
	TR_ST_EHLO_TLS,
	TR_ST_AUTH,
	TR_ST_MAIL,
	TR_ST_RCPT,
	TR_ST_DATA,
	TR_ST_BODY,
	TR_ST_DOT,
	TR_ST_QUIT,
	TR_ST_DONE,
	TR_ST_FAILED,
	TR_ST_COUNT
} tr_state;

const char *tr_state_name(tr_state s);

/* What the caller should do next with this address. */
typedef enum tr_outcome {
	TR_OUT_DONE = 0,       /* look at the recipients' statuses */
	TR_OUT_PLAIN           /* level may: TLS failed; reconnect without TLS */
} tr_outcome;

/* Where a recipient was settled, for its log line. */
typedef struct tr_rcpt_trace {
	char relay[TR_HOSTNAME_MAX + 80];    /* "host[addr]:port" */
	char tls[128];                       /* "TLSv1.3:CIPHER (trusted)" or "none" */
	char sasl_user[256];                 /* the user AUTH succeeded as, "" none */
	unsigned conn_use;                   /* transactions on that connection,
	                                      * this one included (Postfix's
	                                      * conn_use); 0: no connection */
} tr_rcpt_trace;

#define TR_CONN_LABEL_MAX (TR_HOSTNAME_MAX + 8)   /* "host:port" */

typedef struct tr_session_params {
	const char *helo;          /* name for EHLO/HELO */
	const char *host;          /* server host name (MX name or relay host) */
	const tr_addr *addr;       /* address (with port) to connect to */
	const char *nexthop;       /* the nexthop host (TLS session cache key;
	                            * with addr's port the routing label of a
	                            * cached connection, conn_cache.h) */
	const struct tr_demand *demand; /* what this server must satisfy
	                            * (demand.h); never NULL, never changed */
	const struct tr_sasl_cred *cred; /* AUTH with these after TLS; NULL = none */
	int is_relay;              /* the server is the relay host (relayhost, -r):
	                            * a 530 defers (smtp_client.c), a missing
	                            * greeting hints at smtps (smtp_open.c) */
	int implicit_tls;          /* TLS from the first byte (smtps) */
	int no_tls;                /* plaintext retry: never STARTTLS */
	int dry_run;               /* stop after the EHLO that follows STARTTLS
	                            * (or the first EHLO without TLS), QUIT: never
	                            * AUTH or MAIL; pending recipients are settled
	                            * OK "would be delivered: ..." */
	int cache_readonly;        /* the TLS session cache is only read (and
	                            * no connection is cached or reused) */
	const unsigned char *select; /* recipients of this nexthop; NULL = all */
	const tr_observers *obs;   /* who watches (observe.h); NULL = nobody */
	tr_tls_outcome *outcome;   /* filled at the end when not NULL */
	const tr_io_ops *io_ops;   /* NULL: connect to addr. Tests and fuzzing:
	                            * the server is these operations, already
	                            * "connected"; there is no socket (io.fd -1),
	                            * so a TLS handshake fails */
	const tr_tls_info *tls_up; /* NULL. Tests and fuzzing, with io_ops only
	                            * (ignored without): the session starts as
	                            * STARTTLS leaves it after a handshake with
	                            * this posture, which is then enforced; EHLO
	                            * is sent and the next reply read answers it
	                            * (tests/fuzz/fuzz_session.c) */
	int reused_up;             /* 0. Tests and fuzzing, with tls_up and
	                            * io_ops only: the connection opened that way
	                            * (AUTH included) is then given to the
	                            * transaction as a cached one is (no
	                            * greeting; a failure before MAIL's 2xx is
	                            * stale and a new connection is opened), 2:
	                            * with RSET first (its last transaction was
	                            * left open) */
} tr_session_params;

/* One SMTP connection: what outlives a transaction when the connection is
 * kept for the next message (conn_cache.h). Made by the open step
 * (smtp_open.c), freed by tr_conn_close(). */
typedef struct tr_conn {
	tr_io io;
	tr_caps caps;              /* of the last EHLO */
	int esmtp;
	int tls_active, starttls_sent;
	int greeted;               /* initial handshake completed (session limit) */
	int enforced;              /* the certificate met the demand */
	int in_sync;               /* last reply read whole: QUIT may be sent */
	int authed;                /* AUTH succeeded (the log line names the user) */
	int needs_rset;            /* MAIL was sent and no 2xx to the end of data
	                            * followed: RSET before the next MAIL */
	tr_tls_info tls;
	char relay[TR_HOSTNAME_MAX + 80];
	char local_ip[64];         /* our address once connected (TLS-RPT) */
	char label[TR_CONN_LABEL_MAX]; /* "nexthop:port", lower case */
	unsigned uses;             /* transactions it was given (conn_use) */
	long long born_ms;         /* when it was opened (tr_now_ms) */
	long long idle_ms;         /* when it was last kept idle */
	char *key;                 /* its cache key (conn_cache.c), or NULL */
} tr_conn;

typedef struct tr_session {
	struct tlsrelay_ctx *ctx;
	const tr_session_params *p;
	tlsrelay_request *req;
	tlsrelay_message *msg;
	tr_rcpt_trace *trace;      /* req->nrcpts entries */
	tr_conn *c;                /* the connection; NULL before the open step */
	char relay[TR_HOSTNAME_MAX + 80]; /* "host[addr]:port", as c->relay */
	int reused;                /* c came from the connection cache */
	int stale;                 /* ... and was found closed: its END (stale) */
	int mail_accepted;         /* 2xx to this transaction's MAIL */
	int rset_pending;          /* RSET sent, its reply not read yet */
	int rset_refused;          /* RSET was answered other than 2xx */
	int last_io;               /* TR_IO_* of the last failed read or flush */
	tr_state state;
	/* session_init zeroes every field but reply (tr_reply_init) and line:
	 * a new field goes before reply or between accepted and line */
	tr_reply reply;
	unsigned char *accepted;   /* per recipient: 2xx to RCPT in this session */
	unsigned char *trying;     /* per recipient: pending at session start */
	size_t ntrying, naccepted;
	char line[TR_REPLY_LINE_MAX + 2];
} tr_session;

/* Run a session. deadline_ms: absolute (tr_now_ms() based). *st receives
 * the session-level outcome (for the summary when no recipient is
 * settled). Recipient statuses are updated in req.
 * Returns: the outcome (TR_OUT_PLAIN: retry in plaintext); *st OK, TEMP
 * (4.4.x connection, 4.7.x TLS policy, the server's 4xx), PERM (the server's
 * 5xx), INTERNAL 4.3.0 (out of memory), CONFIG 4.3.5 (the TLS context: a CA
 * file, protocols, ciphers). */
tr_outcome tr_session_run(struct tlsrelay_ctx *ctx, const tr_session_params *p,
                          tlsrelay_request *req, tlsrelay_message *msg,
                          tr_rcpt_trace *trace, long long deadline_ms,
                          int *greeted, tlsrelay_status *st);

/* Close c and free it: QUIT first when quit is set and the dialogue is in
 * step (its reply is not awaited), then TLS shutdown (one try), close.
 * ctx: for the log. NULL: nothing. */
void tr_conn_close(struct tlsrelay_ctx *ctx, tr_conn *c, int quit);

/* xtext (RFC 3461) encoding of s into out; returns out (truncated to cap). */
char *tr_xtext(const char *s, char *out, size_t cap);

#endif

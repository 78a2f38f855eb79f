/*
 * smtp_client.h - one SMTP session with one server address (smtp_client.c).
 *
 * A session connects, reads the greeting, says EHLO (HELO if EHLO is
 * refused), upgrades with STARTTLS as the TLS level asks, and runs one mail
 * transaction for the recipients that are still pending (status TEMP).
 * It settles recipients by setting req->rcpts[i].status:
 *   OK   - the server said 2xx to the end of data;
 *   PERM - the server refused permanently (5xx to RCPT, or to MAIL/DATA/
 *          end of data, or a message-level limit such as SIZE);
 *   TEMP - not settled (4xx, lost connection, TLS policy not met...): the
 *          caller may try another server.
 * With credentials (p->cred), TLS becomes mandatory whatever the level and
 * AUTH follows the EHLO after STARTTLS.
 * Site failures (no connection, greeting refused, TLS required but not
 * available) set every pending recipient's status to the failure.
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
} tr_rcpt_trace;

typedef struct tr_session_params {
	const char *helo;          /* name for EHLO/HELO */
	const char *host;          /* server host name (MX name or relay host) */
	const tr_addr *addr;       /* address (with port) to connect to */
	const char *nexthop;       /* the nexthop host (TLS session cache key) */
	const struct tr_demand *demand; /* what this server must satisfy
	                            * (demand.h); never NULL, never changed */
	const struct tr_sasl_cred *cred; /* AUTH with these after TLS; NULL = none */
	int implicit_tls;          /* TLS from the first byte (smtps) */
	int no_tls;                /* plaintext retry: never STARTTLS */
	int dry_run;               /* stop after the EHLO that follows STARTTLS
	                            * (or the first EHLO without TLS), QUIT: never
	                            * AUTH or MAIL; pending recipients are settled
	                            * OK "would be delivered: ..." */
	int cache_readonly;        /* the TLS session cache is only read */
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
} tr_session_params;

typedef struct tr_session {
	struct tlsrelay_ctx *ctx;
	const tr_session_params *p;
	tlsrelay_request *req;
	tlsrelay_message *msg;
	tr_rcpt_trace *trace;      /* req->nrcpts entries */
	tr_io io;
	tr_state state;
	tr_reply reply;
	tr_caps caps;
	int esmtp;
	int tls_active, starttls_sent;
	int greeted;               /* initial handshake completed (session limit) */
	int enforced;              /* the certificate met the demand */
	int in_sync;               /* last reply read whole: QUIT may be sent */
	tr_tls_info tls;
	char relay[TR_HOSTNAME_MAX + 80];
	unsigned char *accepted;   /* per recipient: 2xx to RCPT in this session */
	unsigned char *trying;     /* per recipient: pending at session start */
	size_t ntrying, naccepted;
	char line[TR_REPLY_LINE_MAX + 2];
	char local_ip[64];         /* our address once connected (TLS-RPT) */
} tr_session;

/* Run a session. deadline_ms: absolute (tr_now_ms() based). *st receives
 * the session-level outcome (for the summary when no recipient is
 * settled). Recipient statuses are updated in req. */
tr_outcome tr_session_run(struct tlsrelay_ctx *ctx, const tr_session_params *p,
                          tlsrelay_request *req, tlsrelay_message *msg,
                          tr_rcpt_trace *trace, long long deadline_ms,
                          int *greeted, tlsrelay_status *st);

/* xtext (RFC 3461) encoding of s into out; returns out (truncated to cap). */
char *tr_xtext(const char *s, char *out, size_t cap);

#endif

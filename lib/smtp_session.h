/*
 * smtp_session.h - helpers shared by smtp_client.c (the session's
 * lifecycle, chat and events), smtp_open.c (connection, greeting, EHLO,
 * STARTTLS, AUTH), smtp_auth.c and smtp_txn.c (RSET, MAIL, RCPT, DATA,
 * BDAT). Private to the SMTP client; not part of any other module's
 * interface.
 */
#ifndef TR_SMTP_SESSION_H
#define TR_SMTP_SESSION_H

#include "smtp_client.h"
#include "status.h"

/* An event of s with the fields every session event carries (observe.h). */
void tr_sess_event(const tr_session *s, tr_event *ev, tr_ev_type type);

/* Emit an event of s carrying st; one carrying the reply just read. */
void tr_sess_emit_st(const tr_session *s, tr_ev_type type, const tlsrelay_status *st);
void tr_sess_emit_reply(const tr_session *s, const char *label);

/* The one place where the state changes (logs "old -> new"). */
void tr_sess_state(tr_session *s, tr_state to);

/* Queue one command line (CRLF added); logs it at verbosity 2. Masked
 * commands log only their verb. Returns the stream's code (io.h; buffered:
 * TR_IO_OK normally; a failure shows again at the reply). */
tr_io_res tr_sess_send(tr_session *s, int masked, const char *fmt, ...) TR_PRINTF(3, 4);

/* Flush and read one complete reply into s->reply (*st untouched then).
 * On failure s->last_io is the stream's code (TR_IO_OK for a malformed
 * reply).
 * Returns: OK; TEMP 4.4.2 ("lost connection with H while <what>"), 4.5.0
 * ("malformed reply"). */
tlsrelay_cat tr_sess_reply(tr_session *s, const char *what, tlsrelay_status *st);

/* Text "host H said: REPLY (in reply to WHAT)" into st, with the reply's
 * enhanced code or "C.0.0"; category from the code. A 530 of the relay
 * host (p->is_relay) is TEMP with a 4.x.x code (smtp_client.c).
 * Returns: OK (2xx), PERM (5xx), TEMP (anything else). */
tlsrelay_cat tr_sess_reply_status(tr_session *s, const char *what, tlsrelay_status *st);

/* Set every recipient that is still being tried (and not settled in this
 * session) to *st. */
void tr_sess_fail_pending(tr_session *s, const tlsrelay_status *st);

/* Settle recipient i with *st, recording relay and TLS for its log line. */
void tr_sess_settle(tr_session *s, size_t i, const tlsrelay_status *st);

/* How the open step ended (smtp_open.c). */
typedef enum tr_open_end {
	TR_OPEN_READY = 0,     /* the transaction may follow */
	TR_OPEN_FAILED,        /* a site failure: pending recipients settled
	                        * with *st */
	TR_OPEN_PLAIN          /* level may wants a new plaintext connection
	                        * (TR_OUT_PLAIN); *st says why */
} tr_open_end;

/* The open step (smtp_open.c) on s->c, a new connection: connect (TLS
 * at once for smtps), greeting, EHLO/HELO, STARTTLS and the certificate
 * check as the demand asks, AUTH with p->cred (not for a dry run). The
 * loop checks (loop.h: the address before connecting, the greeting's and
 * EHLO reply's name) skip the server with 4.4.6. *greeted is set once EHLO
 * or HELO was answered.
 * Returns: the outcome; *st OK, TEMP (4.4.1 connect, 4.4.2 lost connection,
 * 4.4.6 a loop, 4.5.0 malformed or unexpected reply, 4.7.x TLS policy,
 * the server's refusal as 4.x.x, AUTH failures), CONFIG 4.3.5 (the TLS
 * context), INTERNAL 4.3.0 (unusable credentials, OpenSSL). */
tr_open_end tr_sess_open(tr_session *s, int *greeted, tlsrelay_status *st);

/* A dry run (tlsrelay-probe) in place of the transaction: every pending
 * recipient settled OK with the TLS posture (smtp_open.c).
 * Returns: nothing; *st OK 2.0.0. */
void tr_sess_dry_run(tr_session *s, tlsrelay_status *st);

/* How a transaction ended (smtp_txn.c). */
typedef enum tr_txn_end {
	TR_TXN_DONE = 0,       /* look at the recipients' statuses */
	TR_TXN_STALE           /* a reused connection was found closed (end of
	                        * file, reset, 421) before MAIL was accepted:
	                        * nothing settled, nothing delivered; the caller
	                        * opens a new connection */
} tr_txn_end;

/* The mail transaction (smtp_txn.c): RSET when needed, MAIL, RCPT...,
 * DATA, body, end.
 * Returns: the outcome; *st OK, TEMP (the server's 4xx, 4.4.2 lost
 * connection, 4.5.0 malformed reply, 4.3.0 the spool cannot be read), PERM
 * (the server's 5xx, 5.3.4 over SIZE, 5.6.7 SMTPUTF8 needed). */
tr_txn_end tr_txn_run(tr_session *s, tlsrelay_status *st);

#endif

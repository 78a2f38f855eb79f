/*
 * smtp_session.h - helpers shared by smtp_client.c (connection, greeting,
 * EHLO, STARTTLS) and smtp_txn.c (MAIL, RCPT, DATA, BDAT). Private to the
 * SMTP client; not part of any other module's interface.
 */
#ifndef TR_SMTP_SESSION_H
#define TR_SMTP_SESSION_H

#include "smtp_client.h"
#include "status.h"

/* An event of s with the fields every session event carries (observe.h). */
void tr_sess_event(const tr_session *s, tr_event *ev, tr_ev_type type);

/* The one place where the state changes (logs "old -> new"). */
void tr_sess_state(tr_session *s, tr_state to);

/* Queue one command line (CRLF added); logs it at verbosity 2. Masked
 * commands log only their verb. Returns the stream's code (io.h; buffered:
 * TR_IO_OK normally; a failure shows again at the reply). */
tr_io_res tr_sess_send(tr_session *s, int masked, const char *fmt, ...) TR_PRINTF(3, 4);

/* Flush and read one complete reply into s->reply (*st untouched then).
 * Returns: OK; TEMP 4.4.2 ("lost connection with H while <what>"), 4.5.0
 * ("malformed reply"). */
tlsrelay_cat tr_sess_reply(tr_session *s, const char *what, tlsrelay_status *st);

/* Text "host H said: REPLY (in reply to WHAT)" into st, with the reply's
 * enhanced code or "C.0.0"; category from the code.
 * Returns: OK (2xx), PERM (5xx), TEMP (anything else). */
tlsrelay_cat tr_sess_reply_status(tr_session *s, const char *what, tlsrelay_status *st);

/* Set every recipient that is still being tried (and not settled in this
 * session) to *st. */
void tr_sess_fail_pending(tr_session *s, const tlsrelay_status *st);

/* Settle recipient i with *st, recording relay and TLS for its log line. */
void tr_sess_settle(tr_session *s, size_t i, const tlsrelay_status *st);

/* The mail transaction (smtp_txn.c): MAIL, RCPT..., DATA, body, end.
 * Returns: nothing; *st OK, TEMP (the server's 4xx, 4.4.2 lost connection,
 * 4.5.0 malformed reply, 4.3.0 the spool cannot be read), PERM (the
 * server's 5xx, 5.3.4 over SIZE, 5.6.7 SMTPUTF8 needed). */
void tr_txn_run(tr_session *s, tlsrelay_status *st);

#endif

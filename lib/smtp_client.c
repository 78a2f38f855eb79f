/*
 * smtp_client.c - one SMTP session: its lifecycle (open or take a cached
 * connection, the transaction, keep or quit), the chat helpers every part
 * uses, and its events. The open step is smtp_open.c, the transaction
 * smtp_txn.c, the connection cache conn_cache.c.
 *
 * See smtp_client.h for the contract. Decisions:
 * - The lifecycle is one function, tr_session_run(): the parts know
 *   nothing of each other. A connection from the cache goes straight to
 *   the transaction; the open step never asks whether it was cached.
 * - A cached connection found closed before MAIL was accepted
 *   (TR_TXN_STALE) is closed without QUIT and replaced by a new one in the
 *   same call, with the same deadline: nothing was settled and nothing
 *   delivered, so the caller's limits (mx_address_limit,
 *   mx_session_limit) do not count it. Its CONNECT and END events are
 *   emitted (reused), with the reason as END's status.
 * - Keep or quit: kept when the connection cache is usable, the session
 *   ended in state DONE, the last reply was read whole and was not 421,
 *   nothing more was received, and the cache's limits allow; otherwise QUIT
 *   (reply not awaited) when in step, then close.
 * - A 530 ("authentication required", or "must issue STARTTLS first")
 *   from the relay host defers (4.x.x) whatever the command: it is this
 *   host's configuration (no or wrong credentials, TLS off), like a refused
 *   password, which defers too (smtp_auth.c). From an MX host it stays
 *   what the server says. (tr_sess_reply_status, here: every step reads
 *   its replies through it.)
 */
#include "config.h"
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <openssl/crypto.h>
#include "conn_cache.h"
#include "ctx.h"
#include "demand.h"
#include "log.h"
#include "sasl.h"
#include "smtp_session.h"

static const char *const state_names[TR_ST_COUNT] = {
	"CONNECT", "TLS_WRAP", "GREETING", "EHLO", "HELO", "STARTTLS",
	"TLS_HANDSHAKE", "EHLO_TLS", "AUTH", "MAIL", "RCPT", "DATA", "BODY", "DOT",
	"QUIT", "DONE", "FAILED"
};

const char *tr_state_name(tr_state s)
{
	return (unsigned)s < TR_ST_COUNT ? state_names[s] : "?";
}

void tr_sess_state(tr_session *s, tr_state to)
{
	if (s->state == to)
		return;
	tr_vlog(s->ctx, 1, "%s: %s -> %s", s->relay, tr_state_name(s->state),
	        tr_state_name(to));
	s->state = to;
}

/* ------------------------------------------------------------ events */

/* An event of this session with the fields every event carries. */
void tr_sess_event(const tr_session *s, tr_event *ev, tr_ev_type type)
{
	memset(ev, 0, sizeof *ev);
	ev->type = type;
	ev->host = s->p->host;
	ev->addr = s->p->addr;
	ev->demand = s->p->demand;
	ev->plain_retry = s->p->no_tls;
	ev->reused = s->reused;
	ev->conn_use = s->c ? s->c->uses : 0;
	ev->relay = s->relay;
}

void tr_sess_emit_st(const tr_session *s, tr_ev_type type, const tlsrelay_status *st)
{
	tr_event ev;

	tr_sess_event(s, &ev, type);
	ev.st = st;
	tr_emit(s->p->obs, &ev);
}

void tr_sess_emit_reply(const tr_session *s, const char *label)
{
	tr_event ev;

	tr_sess_event(s, &ev, TR_EV_REPLY);
	ev.label = label;
	ev.reply = &s->reply;
	tr_emit(s->p->obs, &ev);
}

/* ------------------------------------------------------------ chat */

tr_io_res tr_sess_send(tr_session *s, int masked, const char *fmt, ...)
{
	/* the longest: RCPT TO:<512-byte address> NOTIFY=<64> ORCPT=<500>,
	 * 1101 bytes (RFC 3461 lets ORCPT lengthen the command line) */
	char cmd[1200];
	va_list ap;
	tr_io_res r;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof cmd - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof cmd - 2) {
		/* never a cut command: the inputs are bounded so that none is
		 * this long (deliver.c check_request); should one be, the
		 * connection fails (temporary) instead */
		OPENSSL_cleanse(cmd, sizeof cmd);
		tr_io_fail(&s->c->io, "a command too long to send (not sent)");
		return TR_IO_ERROR;
	}
	if (masked && strchr(cmd, ' '))        /* "AUTH PLAIN ********" */
		tr_vlog(s->ctx, 2, "> %s: %.*s ********", s->c->relay,
		        (int)strcspn(cmd, " "), cmd);
	else if (masked)                       /* a bare secret line */
		tr_vlog(s->ctx, 2, "> %s: ********", s->c->relay);
	else
		tr_vlog(s->ctx, 2, "> %s: %s", s->c->relay, cmd);
	memcpy(cmd + n, "\r\n", 2);
	r = tr_io_write(&s->c->io, cmd, (size_t)n + 2);
	if (masked)
		OPENSSL_cleanse(cmd, sizeof cmd);
	return r;
}

tlsrelay_cat tr_sess_reply(tr_session *s, const char *what, tlsrelay_status *st)
{
	tr_conn *c = s->c;
	tr_io_res r = tr_io_flush(&c->io);
	size_t len;

	c->in_sync = 0;
	tr_reply_init(&s->reply);
	while (r == TR_IO_OK) {
		r = tr_io_readline(&c->io, s->line, sizeof s->line, &len);
		if (r != TR_IO_OK)
			break;
		switch (tr_reply_feed(&s->reply, s->line, len)) {
		case TR_REPLY_DONE: {
			char text[TLSRELAY_TEXT_MAX];
			tr_vlog(s->ctx, 2, "< %s: %s", c->relay,
			        tr_reply_format(&s->reply, text, sizeof text));
			c->in_sync = 1;
			return TLSRELAY_OK;
		}
		case TR_REPLY_BAD:
			s->last_io = TR_IO_OK;
			return tr_status_set(st, TLSRELAY_TEMP, "4.5.0",
			                     "malformed reply from %s while %s: %s",
			                     c->relay, what, s->reply.error);
		default:
			break;
		}
	}
	s->last_io = r;
	if (r == TR_IO_TOOLONG)
		return tr_status_set(st, TLSRELAY_TEMP, "4.5.0",
		                     "malformed reply from %s while %s: %s",
		                     c->relay, what, c->io.err);
	return tr_status_set(st, TLSRELAY_TEMP, "4.4.2",
	                     "lost connection with %s while %s: %s",
	                     c->relay, what, c->io.err);
}

tlsrelay_cat tr_sess_reply_status(tr_session *s, const char *what,
                                  tlsrelay_status *st)
{
	char text[TLSRELAY_TEXT_MAX], dsn[16];
	int cls = s->reply.code / 100;
	tlsrelay_cat cat = cls == 2 ? TLSRELAY_OK : cls == 5 ? TLSRELAY_PERM
	                                                     : TLSRELAY_TEMP;

	if (s->reply.dsn[0])
		snprintf(dsn, sizeof dsn, "%s", s->reply.dsn);
	else
		snprintf(dsn, sizeof dsn, "%d.0.0", cls == 5 || cls == 2 ? cls : 4);
	tr_reply_format(&s->reply, text, sizeof text);
	if (cat == TLSRELAY_OK)     /* logged as status=sent (REPLY) */
		return tr_status_set(st, cat, dsn, "%s", text);
	if (s->reply.code == 530 && s->p->is_relay) {   /* our configuration: defer */
		dsn[0] = '4';
		return tr_status_set(st, TLSRELAY_TEMP, dsn, "host %s said: %.300s (in reply to %s); "
		                     "a 530 of the relay host is deferred%s", s->c->relay, text, what,
		                     s->p->cred ? "" : ": no credentials of sasl_password_map "
		                     "match it (tlsrelay -t)");
	}
	return tr_status_set(st, cat, dsn, "host %s said: %s (in reply to %s)",
	                     s->c->relay, text, what);
}

void tr_sess_settle(tr_session *s, size_t i, const tlsrelay_status *st)
{
	const tr_conn *c = s->c;
	tr_rcpt_trace *t = &s->trace[i];
	tr_event ev;

	tr_status_copy(&s->req->rcpts[i].status, st);
	s->req->rcpts[i].dsn_aware = st->cat == TLSRELAY_OK && c && (c->caps.flags & TR_CAP_DSN);
	snprintf(t->relay, sizeof t->relay, "%s", s->relay);
	t->conn_use = c ? c->uses : 0;
	if (c && c->tls_active)
		snprintf(t->tls, sizeof t->tls, "%s:%s (%s%s%s)", c->tls.protocol,
		         c->tls.cipher, tr_trust_name(c->tls.trust),
		         c->tls.dane_ok ? ", DANE" : "",
		         s->reused ? ", connection reused"
		         : c->tls.resumed ? ", TLS session reused" : "");
	else
		snprintf(t->tls, sizeof t->tls, "none%s", s->reused ? " (connection reused)" : "");
	snprintf(t->sasl_user, sizeof t->sasl_user, "%s",
	         c && c->authed && s->p->cred ? s->p->cred->user : "");
	tr_sess_event(s, &ev, TR_EV_RCPT);
	ev.rcpt = i;
	ev.st = &s->req->rcpts[i].status;
	tr_emit(s->p->obs, &ev);
}

void tr_sess_fail_pending(tr_session *s, const tlsrelay_status *st)
{
	for (size_t i = 0; i < s->req->nrcpts; i++)
		if (s->trying[i] && s->req->rcpts[i].status.cat == TLSRELAY_TEMP)
			tr_sess_settle(s, i, st);
}


/* ------------------------------------------------------------ connection */

/* A new, unconnected connection for s. NULL when out of memory. */
static tr_conn *conn_new(const tr_session *s, long long deadline_ms)
{
	tr_conn *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	tr_io_init(&c->io, deadline_ms);
	snprintf(c->relay, sizeof c->relay, "%s", s->relay);
	tr_conn_label(s->p, c->label, sizeof c->label);
	c->born_ms = tr_now_ms();
	c->uses = 1;
	return c;
}

void tr_conn_close(struct tlsrelay_ctx *ctx, tr_conn *c, int quit)
{
	if (c == NULL)
		return;
	if (quit && c->in_sync && c->io.fd >= 0) {
		/* The reply to QUIT is not awaited: the mail is settled already. */
		tr_vlog(ctx, 2, "> %s: QUIT", c->relay);
		if (tr_io_write(&c->io, "QUIT\r\n", 6) == TR_IO_OK)
			(void)tr_io_flush(&c->io);
	}
	tr_tls_stop(&c->io);
	tr_io_close(&c->io);
	free(c->key);
	free(c);
}

/* ------------------------------------------------------------ session */

static int session_init(tr_session *s, struct tlsrelay_ctx *ctx,
                        const tr_session_params *p, tlsrelay_request *req,
                        tlsrelay_message *msg, tr_rcpt_trace *trace)
{
	/* Every field but reply and line (11 KB, zeroed per message before):
	 * tr_reply_init starts the reply, and line holds only what
	 * tr_io_readline wrote. */
	_Static_assert(offsetof(tr_session, line) + sizeof s->line + _Alignof(tr_session) > sizeof(tr_session),
	               "tr_session: line must stay the last field (it is not zeroed, nor what follows it)");
	memset(s, 0, offsetof(tr_session, reply));
	tr_reply_init(&s->reply);
	memset(&s->accepted, 0, offsetof(tr_session, line) - offsetof(tr_session, accepted));
	s->ctx = ctx;
	s->p = p;
	s->req = req;
	s->msg = msg;
	s->trace = trace;
	s->state = TR_ST_COUNT;     /* "?" -> CONNECT is the first transition */
	if (strcmp(p->host, p->addr->text) == 0)
		snprintf(s->relay, sizeof s->relay, "[%s]:%d", p->addr->text, tr_addr_port(p->addr));
	else
		snprintf(s->relay, sizeof s->relay, "%s[%s]:%d", p->host, p->addr->text,
		         tr_addr_port(p->addr));
	s->accepted = calloc(req->nrcpts ? req->nrcpts : 1, 1);
	s->trying = calloc(req->nrcpts ? req->nrcpts : 1, 1);
	if (s->accepted == NULL || s->trying == NULL)
		return -1;
	for (size_t i = 0; i < req->nrcpts; i++)
		if (req->rcpts[i].status.cat == TLSRELAY_TEMP && (!p->select || p->select[i])) {
			s->trying[i] = 1;
			s->ntrying++;
			trace[i].sasl_user[0] = '\0';
		}
	return 0;
}

/* What this session showed of the server's TLS (observers: TLS-RPT,
 * history). */
static void tls_outcome(const tr_session *s, tr_tls_outcome *o)
{
	const tr_conn *c = s->c;

	memset(o, 0, sizeof *o);
	if (c == NULL)
		return;
	o->greeted = c->greeted || c->tls_active;
	o->offered = c->starttls_sent || s->p->implicit_tls || c->tls_active ||
	             (c->caps.flags & TR_CAP_STARTTLS) != 0;
	o->tried = c->starttls_sent || s->p->implicit_tls;
	o->up = c->tls_active;
	o->enforced = c->enforced;
	if (o->up)
		o->info = c->tls;
	memcpy(o->sending_ip, c->local_ip, sizeof o->sending_ip);
}

/* END for the observers, and the caller's outcome. */
static void session_end_event(tr_session *s, const tlsrelay_status *st)
{
	tr_tls_outcome o;
	tr_event ev;

	tls_outcome(s, &o);
	if (s->p->outcome)
		*s->p->outcome = o;
	tr_sess_event(s, &ev, TR_EV_END);
	ev.outcome = &o;
	ev.st = st;
	ev.ssl = s->c ? s->c->io.tls : NULL;
	ev.stale = s->stale;
	tr_emit(s->p->obs, &ev);
}

/* The end of the session; its connection, if it still has one, is closed
 * (QUIT first when quit). */
static void session_close(tr_session *s, int quit, const tlsrelay_status *st)
{
	if (quit && s->c && s->c->in_sync && s->c->io.fd >= 0)
		tr_sess_state(s, TR_ST_QUIT);
	session_end_event(s, st);
	tr_conn_close(s->ctx, s->c, quit);
	s->c = NULL;
}

static void session_free(tr_session *s)
{
	tr_conn_close(s->ctx, s->c, 0);
	free(s->accepted);
	free(s->trying);
}

/* A new connection, opened (tr_sess_open's outcome). */
static tr_open_end session_open(tr_session *s, long long deadline_ms, int *greeted,
                                tlsrelay_status *st)
{
	if ((s->c = conn_new(s, deadline_ms)) == NULL) {
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		tr_sess_fail_pending(s, st);
		return TR_OPEN_FAILED;
	}
	return tr_sess_open(s, greeted, st);
}

/* A connection from the cache for this session: 1 (s->c set, CONNECT
 * emitted), or 0 when there is none. */
static int session_take(tr_session *s, const char *key, long long deadline_ms)
{
	tr_event ev;

	if (key == NULL || (s->c = tr_conn_cache_take(s->ctx, key)) == NULL)
		return 0;
	s->reused = 1;
	s->c->io.deadline_ms = deadline_ms;
	tr_vlog(s->ctx, 1, "%s: reusing the cached connection (conn_use=%u)", s->relay,
	        s->c->uses);
	tr_sess_state(s, TR_ST_MAIL);
	tr_sess_event(s, &ev, TR_EV_CONNECT);
	tr_emit(s->p->obs, &ev);
	return 1;
}

/* The test seam (smtp_client.h reused_up, with tls_up and io_ops): a
 * connection opened through the tls_up seam, then handed to the
 * transaction as session_take hands a cached one. 1 (s->c set), 0 without
 * the seam, -1 when the opening failed (recipients settled). */
static int session_take_seam(tr_session *s, long long deadline_ms, int *greeted,
                             tlsrelay_status *st)
{
	if (!s->p->reused_up || s->p->tls_up == NULL || s->p->io_ops == NULL)
		return 0;
	if (session_open(s, deadline_ms, greeted, st) != TR_OPEN_READY)
		return -1;
	s->reused = 1;
	s->c->needs_rset = s->p->reused_up > 1;
	tr_sess_state(s, TR_ST_MAIL);
	return 1;
}

/* The cached connection was found closed before MAIL was accepted: close
 * it (its END event says why) and forget it; the session opens a new one. */
static void session_drop_stale(tr_session *s, const tlsrelay_status *why)
{
	tr_log(s->ctx, LOG_INFO, "%s; the message goes on a new connection (cached "
	       "connection, conn_use=%u)", why->text, s->c->uses);
	s->stale = 1;
	session_close(s, 0, why);
	s->stale = 0;
	s->reused = 0;
	s->mail_accepted = 0;
	s->state = TR_ST_COUNT;
}

/* The connection may go to the cache (key: NULL when the session may not
 * use it): the session ended DONE, the dialogue is in step with nothing
 * more received, no 421, and the cache's limits allow it. */
static int keepable(const tr_session *s, const char *key)
{
	const tr_conn *c = s->c;

	return key != NULL && c != NULL && s->state == TR_ST_DONE && c->in_sync &&
	       tr_io_unread(&c->io) == 0 && s->reply.code != 421 &&
	       tr_conn_cache_would_keep(s->ctx, c);
}

/* Keep the connection for the next message, or QUIT; END either way. */
static void session_finish(tr_session *s, const char *key, const tlsrelay_status *st)
{
	tr_conn *c = s->c;

	if (!keepable(s, key)) {
		session_close(s, 1, st);
		return;
	}
	session_end_event(s, st);
	s->c = NULL;
	tr_conn_cache_put(s->ctx, c, key);
}


tr_outcome tr_session_run(struct tlsrelay_ctx *ctx, const tr_session_params *p,
                          tlsrelay_request *req, tlsrelay_message *msg,
                          tr_rcpt_trace *trace, long long deadline_ms,
                          int *greeted, tlsrelay_status *st)
{
	char keybuf[TR_CONN_KEY_MAX];
	const char *key = NULL;
	tr_session s;
	tr_outcome out = TR_OUT_DONE;
	tr_open_end r;
	int taken;

	*greeted = 0;
	if (session_init(&s, ctx, p, req, msg, trace) < 0) {
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		session_free(&s);
		return out;
	}
	if (p->demand->skip) {     /* the caller's mistake: never connect */
		tr_status_set(st, TLSRELAY_TEMP, "4.7.5", "%s", p->demand->why);
		tr_sess_fail_pending(&s, st);
		session_free(&s);
		return out;
	}
	if (tr_conn_cache_usable(ctx, p) && tr_conn_key(p, keybuf, sizeof keybuf) >= 0)
		key = keybuf;
	taken = s.ntrying > 0 ? session_take(&s, key, deadline_ms) : 0;
	if (s.ntrying > 0 && !taken && (taken = session_take_seam(&s, deadline_ms, greeted, st)) < 0)
		goto out;
	if (taken) {
		*greeted = 1;
		if (tr_txn_run(&s, st) == TR_TXN_DONE)
			goto done;
		session_drop_stale(&s, st);
	}
	if ((r = session_open(&s, deadline_ms, greeted, st)) != TR_OPEN_READY) {
		out = r == TR_OPEN_PLAIN ? TR_OUT_PLAIN : TR_OUT_DONE;
		goto out;
	}
	if (p->dry_run)            /* never AUTH, never MAIL FROM */
		tr_sess_dry_run(&s, st);
	else
		(void)tr_txn_run(&s, st);     /* a new connection is never stale */
done:
	if (s.state != TR_ST_FAILED)
		tr_sess_state(&s, TR_ST_DONE);
out:
	session_finish(&s, s.state == TR_ST_DONE && !p->dry_run ? key : NULL, st);
	session_free(&s);
	return out;
}

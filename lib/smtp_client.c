/*
 * smtp_client.c - one SMTP session: connect, greeting, EHLO/HELO, STARTTLS,
 * then the transaction (smtp_txn.c) and QUIT.
 *
 * See smtp_client.h for the contract. Decisions (Postfix conventions):
 * - A 4xx or 5xx greeting, EHLO after STARTTLS or HELO skips this server
 *   with a temporary failure (Postfix smtp_skip_5xx_greeting = yes; for
 *   HELO stricter than Postfix, which bounces): another MX may work.
 * - EHLO refused -> HELO (no extensions, so no STARTTLS and no PIPELINING).
 * - STARTTLS hygiene lives in do_starttls() alone: only 220 means go; bytes
 *   already received after the 220 abort the connection (response
 *   injection); every pre-TLS capability is forgotten; EHLO is sent again;
 *   STARTTLS is never sent twice on one connection.
 * - Level may: STARTTLS refused (4xx other than 421, 5xx) continues in
 *   plaintext on the same connection; a failed handshake, an injected
 *   reply or a nonsense reply to STARTTLS reconnect in plaintext
 *   (TR_OUT_PLAIN). Level encrypt and above: each is a temporary failure
 *   with 4.7.x, and the caller tries the next server.
 * - A plaintext session (p->no_tls) when TLS is required (level encrypt and
 *   above, or credentials) fails with 4.7.4 before MAIL: the caller asks for
 *   one only at level may, and no caller mistake may send mail in clear.
 */
#include "config.h"
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <openssl/crypto.h>
#include "ctx.h"
#include "dane.h"
#include "demand.h"
#include "log.h"
#include "sasl.h"
#include "smtp_session.h"

static int addr_port(const tr_addr *a)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->sa;

	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return ntohs(((const struct sockaddr_in *)sa)->sin_port);
}

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
	ev->relay = s->relay;
	ev->demand = s->p->demand;
	ev->plain_retry = s->p->no_tls;
}

static void emit_st(const tr_session *s, tr_ev_type type, const tlsrelay_status *st)
{
	tr_event ev;

	tr_sess_event(s, &ev, type);
	ev.st = st;
	tr_emit(s->p->obs, &ev);
}

static void emit_reply(const tr_session *s, const char *label)
{
	tr_event ev;

	tr_sess_event(s, &ev, TR_EV_REPLY);
	ev.label = label;
	ev.reply = &s->reply;
	tr_emit(s->p->obs, &ev);
}

/* ------------------------------------------------------------ chat */

int tr_sess_send(tr_session *s, int masked, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof cmd - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof cmd - 2)
		n = (int)strlen(cmd);
	if (masked && strchr(cmd, ' '))        /* "AUTH PLAIN ********" */
		tr_vlog(s->ctx, 2, "> %s: %.*s ********", s->relay,
		        (int)strcspn(cmd, " "), cmd);
	else if (masked)                       /* a bare secret line */
		tr_vlog(s->ctx, 2, "> %s: ********", s->relay);
	else
		tr_vlog(s->ctx, 2, "> %s: %s", s->relay, cmd);
	memcpy(cmd + n, "\r\n", 2);
	r = tr_io_write(&s->io, cmd, (size_t)n + 2);
	if (masked)
		OPENSSL_cleanse(cmd, sizeof cmd);
	return r;
}

int tr_sess_reply(tr_session *s, const char *what, tlsrelay_status *st)
{
	int r = tr_io_flush(&s->io);
	size_t len;

	s->in_sync = 0;
	tr_reply_init(&s->reply);
	while (r == TR_IO_OK) {
		r = tr_io_readline(&s->io, s->line, sizeof s->line, &len);
		if (r != TR_IO_OK)
			break;
		switch (tr_reply_feed(&s->reply, s->line, len)) {
		case TR_REPLY_DONE: {
			char text[TLSRELAY_TEXT_MAX];
			tr_vlog(s->ctx, 2, "< %s: %s", s->relay,
			        tr_reply_format(&s->reply, text, sizeof text));
			s->in_sync = 1;
			return 0;
		}
		case TR_REPLY_BAD:
			tr_status_set(st, TLSRELAY_TEMP, "4.5.0",
			              "malformed reply from %s while %s: %s",
			              s->relay, what, s->reply.error);
			return -1;
		default:
			break;
		}
	}
	if (r == TR_IO_TOOLONG)
		tr_status_set(st, TLSRELAY_TEMP, "4.5.0",
		              "malformed reply from %s while %s: %s",
		              s->relay, what, s->io.err);
	else
		tr_status_set(st, TLSRELAY_TEMP, "4.4.2",
		              "lost connection with %s while %s: %s",
		              s->relay, what, s->io.err);
	return -1;
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
	return tr_status_set(st, cat, dsn, "host %s said: %s (in reply to %s)",
	                     s->relay, text, what);
}

void tr_sess_settle(tr_session *s, size_t i, const tlsrelay_status *st)
{
	tr_rcpt_trace *t = &s->trace[i];
	tr_event ev;

	tr_status_copy(&s->req->rcpts[i].status, st);
	snprintf(t->relay, sizeof t->relay, "%s", s->relay);
	if (s->tls_active)
		snprintf(t->tls, sizeof t->tls, "%s:%s (%s%s%s)", s->tls.protocol,
		         s->tls.cipher, tr_trust_name(s->tls.trust),
		         s->tls.dane_ok ? ", DANE" : "",
		         s->tls.resumed ? ", TLS session reused" : "");
	else
		snprintf(t->tls, sizeof t->tls, "none");
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

/* ------------------------------------------------------------ stages */

/* A failure at site level: every pending recipient gets it. Returns -1. */
static int site_fail(tr_session *s, tlsrelay_status *st)
{
	emit_st(s, TR_EV_FAIL, st);
	tr_sess_fail_pending(s, st);
	tr_sess_state(s, TR_ST_FAILED);
	return -1;
}

static void log_tls(tr_session *s)
{
	const tr_tls_info *t = &s->tls;

	tr_log(s->ctx, LOG_INFO, "%s TLS connection %s to %s: %s with cipher %s (%d/%d bits)%s%s",
	       tr_trust_label(t->trust), t->resumed ? "reused" : "established", s->relay,
	       t->protocol, t->cipher, t->bits, t->alg_bits,
	       t->dane_ok ? ", DANE " : "", t->dane_ok ? t->dane_match : "");
	if (t->have_cert)
		tr_vlog(s->ctx, 1, "%s: subject=%s issuer=%s cert-sha256=%s pkey-sha256=%s%s%s",
		        s->relay, t->subject, t->issuer, t->cert_sha256, t->pkey_sha256,
		        t->chain_ok ? "" : " verify-error=", t->chain_ok ? "" : t->verify_error);
}

/* Check the certificate against the demand, then log the posture. A
 * pinned fingerprint that matched is "Verified", as in Postfix. -1 on
 * failure. */
static int tls_enforce(tr_session *s, tlsrelay_status *st)
{
	const tr_demand *d = s->p->demand;

	if (tr_tls_enforce(&s->tls, d, s->relay, st) != TLSRELAY_OK) {
		log_tls(s);
		tr_log(s->ctx, LOG_INFO, "%s", st->text);
		return -1;
	}
	s->enforced = 1;
	if (d->auth == TR_AUTH_PINS)
		s->tls.trust = TR_TRUST_VERIFIED;
	else if (s->tls.dane_ok)    /* via an insecure MX RRset: Trusted only */
		s->tls.trust = d->dane_trusted_only ? TR_TRUST_TRUSTED : TR_TRUST_VERIFIED;
	log_tls(s);
	if (!s->p->cache_readonly)
		tr_tls_approve(&s->io);
	return 0;
}

/* TLS is up: tell the observers (the posture, before enforcement). */
static void emit_tls(tr_session *s)
{
	tr_event ev;

	tr_sess_event(s, &ev, TR_EV_TLS);
	ev.tls = &s->tls;
	ev.ssl = s->io.tls;
	tr_emit(s->p->obs, &ev);
}

/* Start TLS on the connection under the session's demand. */
static tlsrelay_cat start_tls(tr_session *s, tlsrelay_status *st)
{
	tr_tls_conn c = { s->p->demand, s->p->nexthop, s->relay, s->p->cache_readonly };

	return tr_tls_start(s->ctx, &s->io, &c, &s->tls, st);
}

/* Our address of the connection (getsockname), for TLS-RPT's
 * sending-mta-ip (RFC 8460 4.4); "" when unknown. */
static void local_ip(tr_session *s)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof sa;
	const void *a = NULL;

	if (s->io.fd < 0 || getsockname(s->io.fd, (struct sockaddr *)&sa, &len) != 0)
		return;
	if (sa.ss_family == AF_INET)
		a = &((const struct sockaddr_in *)&sa)->sin_addr;
	else if (sa.ss_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)&sa)->sin6_addr;
	if (a == NULL || inet_ntop(sa.ss_family, a, s->local_ip, sizeof s->local_ip) == NULL)
		s->local_ip[0] = '\0';
}

static int do_connect(tr_session *s, tlsrelay_status *st)
{
	const tr_config *cfg = &s->ctx->cfg;
	tr_event ev;

	tr_sess_state(s, TR_ST_CONNECT);
	tr_sess_event(s, &ev, TR_EV_CONNECT);
	tr_emit(s->p->obs, &ev);
	if (s->p->io_ops != NULL)
		s->io.ops = s->p->io_ops;     /* scripted server (fuzzing) */
	else if (tr_io_connect(&s->io, (const struct sockaddr *)&s->p->addr->sa,
	                  s->p->addr->len, cfg->connect_timeout * 1000) != TR_IO_OK) {
		tr_status_set(st, TLSRELAY_TEMP, "4.4.1", "connect to %s: %s",
		              s->relay, s->io.err);
		return site_fail(s, st);
	}
	local_ip(s);
	if (!s->p->implicit_tls)
		return 0;
	tr_sess_state(s, TR_ST_TLS_WRAP);
	tr_io_set_timeout(&s->io, cfg->command_timeout * 1000);
	if (start_tls(s, st) != TLSRELAY_OK) {
		if (st->cat == TLSRELAY_CONFIG)
			st->cat = TLSRELAY_TEMP;    /* a CA problem must not bounce mail */
		return site_fail(s, st);
	}
	s->tls_active = 1;
	emit_tls(s);
	if (tls_enforce(s, st) < 0)
		return site_fail(s, st);
	return 0;
}

/* The server refused the session itself (greeting, EHLO after TLS, HELO):
 * skip it with a temporary failure whatever its code. A refusal of our
 * HELO says nothing about the message, and another MX may accept it; so,
 * unlike Postfix for a 5xx HELO, no bounce here. */
static int refused_us(tr_session *s, const char *what, tlsrelay_status *st)
{
	if (tr_sess_reply_status(s, what, st) == TLSRELAY_OK || s->reply.code / 100 == 3)
		tr_status_set(st, TLSRELAY_TEMP, "4.5.0", "unexpected reply to %s from %s: %d",
		              what, s->relay, s->reply.code);
	st->cat = TLSRELAY_TEMP;
	st->dsn[0] = '4';
	return site_fail(s, st);
}

static int do_greeting(tr_session *s, tlsrelay_status *st)
{
	tr_sess_state(s, TR_ST_GREETING);
	tr_io_set_timeout(&s->io, s->ctx->cfg.command_timeout * 1000);
	if (tr_sess_reply(s, "receiving the initial server greeting", st) < 0)
		return site_fail(s, st);
	emit_reply(s, "greeting");
	if (s->reply.code == 220)
		return 0;
	/* Skip a server that refuses us: never bounce because of one MX. */
	return refused_us(s, "the initial server greeting", st);
}

/* EHLO, falling back to HELO when EHLO is refused (not after TLS). */
static int do_ehlo(tr_session *s, int after_tls, tlsrelay_status *st)
{
	const char *helo = s->p->helo;
	const char *what = after_tls ? "performing the EHLO handshake after STARTTLS"
	                             : "performing the EHLO handshake";

	memset(&s->caps, 0, sizeof s->caps);   /* forget what came before */
	s->esmtp = 0;
	tr_sess_state(s, after_tls ? TR_ST_EHLO_TLS : TR_ST_EHLO);
	tr_sess_send(s, 0, "EHLO %s", helo);
	if (tr_sess_reply(s, what, st) < 0)
		return site_fail(s, st);
	emit_reply(s, after_tls ? "EHLO after TLS" : "EHLO");
	if (s->reply.code == 250) {
		s->esmtp = 1;
		tr_caps_parse(&s->reply, &s->caps);
		return 0;
	}
	if (after_tls || s->reply.code == 421 || s->reply.code / 100 == 2)
		return refused_us(s, "EHLO", st);
	tr_sess_state(s, TR_ST_HELO);
	tr_sess_send(s, 0, "HELO %s", helo);
	if (tr_sess_reply(s, "performing the HELO handshake", st) < 0)
		return site_fail(s, st);
	emit_reply(s, "HELO");
	if (s->reply.code == 250)
		return 0;
	return refused_us(s, "HELO", st);
}

/* ------------------------------------------------------------ STARTTLS */

/* TLS failed at a level that allows plaintext: reconnect without TLS. */
static int tls_fallback(tr_session *s, const tlsrelay_status *why)
{
	tr_log(s->ctx, LOG_INFO, "%s; retrying in plaintext (tls_security_level = may)", why->text);
	emit_st(s, TR_EV_FALLBACK, why);
	tr_sess_state(s, TR_ST_FAILED);
	return 1;
}

/* TLS is required and could not be had: 4.7.x, try the next server. */
static int tls_required_fail(tr_session *s, tlsrelay_status *st)
{
	st->cat = TLSRELAY_TEMP;
	return site_fail(s, st);
}

/* TLS is required by the demand (credentials make it so: demand.h R7). */
static int tls_required(const tr_session *s)
{
	return tr_demand_tls_required(s->p->demand);
}

/* Reply to STARTTLS other than 220. */
static int starttls_refused(tr_session *s, tlsrelay_status *st)
{
	char text[TLSRELAY_TEXT_MAX];
	int code = s->reply.code, required = tls_required(s);

	tr_reply_format(&s->reply, text, sizeof text);
	if (code == 421) {
		tr_sess_reply_status(s, "STARTTLS", st);
		return site_fail(s, st);
	}
	if (code / 100 == 4 || code / 100 == 5) {
		tr_status_set(st, TLSRELAY_TEMP, "4.7.4", "TLS is required, but host %s refused to start TLS: %s",
		              s->relay, text);
		if (required)
			return tls_required_fail(s, st);
		tr_log(s->ctx, LOG_INFO, "host %s refused to start TLS: %s; continuing in plaintext",
		       s->relay, text);
		return 0;
	}
	/* 2xx other than 220, 3xx: the dialogue is out of step. */
	tr_status_set(st, TLSRELAY_TEMP, "4.7.4", "host %s sent an unexpected reply to STARTTLS: %s",
	              s->relay, text);
	return required ? tls_required_fail(s, st) : tls_fallback(s, st);
}

static int tls_established(tr_session *s, tlsrelay_status *st);

/* Returns 0 to go on, -1 after a site failure, 1 for a plaintext retry. */
static int do_starttls(tr_session *s, tlsrelay_status *st)
{
	int required = tls_required(s);
	tr_event ev;

	if (s->tls_active || !tr_demand_uses_tls(s->p->demand) || (s->p->no_tls && !required))
		return 0;
	if (s->p->no_tls) {      /* a plaintext retry is never right here */
		tr_status_set(st, TLSRELAY_TEMP, "4.7.4", "TLS is required, but a plaintext session "
		              "with host %s was asked for", s->relay);
		return tls_required_fail(s, st);
	}
	tr_sess_event(s, &ev, TR_EV_STARTTLS);
	ev.offered = (s->caps.flags & TR_CAP_STARTTLS) != 0;
	tr_emit(s->p->obs, &ev);
	if (!(s->caps.flags & TR_CAP_STARTTLS)) {
		if (!required)
			return 0;
		tr_status_set(st, TLSRELAY_TEMP, "4.7.4", "TLS is required%s, but was not offered by host %s",
		              s->p->demand->level_src.kind == TR_SRC_CREDENTIALS
		              ? " (SASL credentials are configured)" : "", s->relay);
		return tls_required_fail(s, st);
	}
	if (s->starttls_sent)      /* cannot happen: never twice */
		return 0;
	tr_sess_state(s, TR_ST_STARTTLS);
	s->starttls_sent = 1;
	tr_sess_send(s, 0, "STARTTLS");
	if (tr_sess_reply(s, "sending STARTTLS", st) < 0)
		return site_fail(s, st);
	emit_reply(s, "reply to STARTTLS");
	if (s->reply.code != 220)
		return starttls_refused(s, st);
	if (tr_io_unread(&s->io) > 0) {
		s->in_sync = 0;
		tr_status_set(st, TLSRELAY_TEMP, "4.7.5",
		              "host %s sent %zu bytes after its 220 reply to STARTTLS (response injection?)",
		              s->relay, tr_io_unread(&s->io));
		tr_log(s->ctx, LOG_WARNING, "%s", st->text);
		return required ? tls_required_fail(s, st) : tls_fallback(s, st);
	}
	tr_sess_state(s, TR_ST_TLS_HANDSHAKE);
	s->in_sync = 0;
	if (start_tls(s, st) != TLSRELAY_OK) {
		if (st->cat != TLSRELAY_TEMP)
			return tls_required_fail(s, st);   /* CA load failure: defer */
		tr_log(s->ctx, LOG_INFO, "%s", st->text);
		return required ? tls_required_fail(s, st) : tls_fallback(s, st);
	}
	return tls_established(s, st);
}

/* The handshake after STARTTLS succeeded (s->tls holds its posture): the
 * observers are told, the certificate is checked against the demand
 * before anything else is sent, and EHLO is sent again. 0 to go on, -1
 * after a site failure. */
static int tls_established(tr_session *s, tlsrelay_status *st)
{
	s->tls_active = 1;
	s->in_sync = 1;     /* the server now waits for EHLO: QUIT is fine */
	emit_tls(s);
	if (tls_enforce(s, st) < 0)
		return tls_required_fail(s, st);
	return do_ehlo(s, 1, st);
}

/* ------------------------------------------------------------ session */

static void do_quit(tr_session *s)
{
	/* The reply to QUIT is not awaited: the mail is settled already. */
	tr_sess_state(s, TR_ST_QUIT);
	tr_sess_send(s, 0, "QUIT");
	(void)tr_io_flush(&s->io);
}

static int session_init(tr_session *s, struct tlsrelay_ctx *ctx,
                        const tr_session_params *p, tlsrelay_request *req,
                        tlsrelay_message *msg, tr_rcpt_trace *trace,
                        long long deadline_ms)
{
	memset(s, 0, sizeof *s);
	s->ctx = ctx;
	s->p = p;
	s->req = req;
	s->msg = msg;
	s->trace = trace;
	tr_io_init(&s->io, deadline_ms);
	s->state = TR_ST_COUNT;     /* "?" -> CONNECT is the first transition */
	if (strcmp(p->host, p->addr->text) == 0)
		snprintf(s->relay, sizeof s->relay, "[%s]:%d", p->addr->text, addr_port(p->addr));
	else
		snprintf(s->relay, sizeof s->relay, "%s[%s]:%d", p->host, p->addr->text,
		         addr_port(p->addr));
	s->accepted = calloc(req->nrcpts ? req->nrcpts : 1, 1);
	s->trying = calloc(req->nrcpts ? req->nrcpts : 1, 1);
	if (s->accepted == NULL || s->trying == NULL)
		return -1;
	for (size_t i = 0; i < req->nrcpts; i++)
		if (req->rcpts[i].status.cat == TLSRELAY_TEMP && (!p->select || p->select[i])) {
			s->trying[i] = 1;
			s->ntrying++;
		}
	return 0;
}

/* Connect, greeting, EHLO (HELO), STARTTLS: 0 to go on, -1 after a site
 * failure, 1 for a plaintext retry (TR_OUT_PLAIN). */
static int session_start(tr_session *s, int *greeted, tlsrelay_status *st)
{
	if (s->p->tls_up != NULL && s->p->io_ops != NULL) {
		/* the test seam (smtp_client.h): as do_starttls leaves it after
		 * a handshake with that posture, then its own last step */
		s->io.ops = s->p->io_ops;
		*greeted = s->greeted = s->starttls_sent = 1;
		s->tls = *s->p->tls_up;
		tr_sess_state(s, TR_ST_TLS_HANDSHAKE);
		return tls_established(s, st);
	}
	if (do_connect(s, st) < 0 || do_greeting(s, st) < 0)
		return -1;
	if (do_ehlo(s, 0, st) < 0)
		return -1;
	*greeted = 1;
	s->greeted = 1;
	return do_starttls(s, st);
}

/* A dry run (tlsrelay-probe): in place of AUTH and the transaction, every
 * pending recipient is settled OK with the TLS posture; QUIT follows. */
static void dry_run(tr_session *s, tlsrelay_status *st)
{
	tr_event ev;

	if (s->p->cred) {
		tr_sess_event(s, &ev, TR_EV_AUTH);
		ev.cred_key = s->p->cred->key;
		ev.dry_run = 1;
		tr_emit(s->p->obs, &ev);
	}
	if (s->tls_active)
		tr_status_set(st, TLSRELAY_OK, "2.0.0", "%s TLS to %s (%s with cipher %s)",
		              tr_trust_label(s->tls.trust), s->relay, s->tls.protocol,
		              s->tls.cipher);
	else
		tr_status_set(st, TLSRELAY_OK, "2.0.0", "plaintext to %s (%s)", s->relay,
		              !tr_demand_uses_tls(s->p->demand) ? "TLS is off for it"
		              : s->starttls_sent ? "STARTTLS failed, level may allows plaintext"
		              : "STARTTLS not offered, level may allows plaintext");
	tr_sess_fail_pending(s, st);
}

/* AUTH with the session's credentials; -1 after a failure (recipients
 * settled with it). */
static int do_auth(tr_session *s, tlsrelay_status *st)
{
	tr_event ev;
	int r;

	tr_sess_state(s, TR_ST_AUTH);
	r = tr_auth_run(s, s->p->cred, st);
	tr_sess_event(s, &ev, TR_EV_AUTH);
	ev.cred_key = s->p->cred->key;
	ev.st = st;
	tr_emit(s->p->obs, &ev);
	if (r < 0) {
		tr_sess_fail_pending(s, st);
		tr_sess_state(s, TR_ST_FAILED);
	}
	return r;
}

/* What this session showed of the server's TLS (observers: TLS-RPT,
 * history). */
static void tls_outcome(const tr_session *s, tr_tls_outcome *o)
{
	memset(o, 0, sizeof *o);
	o->greeted = s->greeted || s->tls_active;
	o->offered = s->starttls_sent || s->p->implicit_tls || s->tls_active ||
	             (s->caps.flags & TR_CAP_STARTTLS) != 0;
	o->tried = s->starttls_sent || s->p->implicit_tls;
	o->up = s->tls_active;
	o->enforced = s->enforced;
	if (o->up)
		o->info = s->tls;
	memcpy(o->sending_ip, s->local_ip, sizeof o->sending_ip);
}

static void session_end(tr_session *s)
{
	tr_tls_stop(&s->io);
	tr_io_close(&s->io);
	free(s->accepted);
	free(s->trying);
}

/* The session's end for the observers (and the caller's outcome). */
static void session_close(tr_session *s, const tlsrelay_status *st)
{
	tr_tls_outcome o;
	tr_event ev;

	tls_outcome(s, &o);
	if (s->p->outcome)
		*s->p->outcome = o;
	tr_sess_event(s, &ev, TR_EV_END);
	ev.outcome = &o;
	ev.st = st;
	tr_emit(s->p->obs, &ev);
	session_end(s);
}

tr_outcome tr_session_run(struct tlsrelay_ctx *ctx, const tr_session_params *p,
                          tlsrelay_request *req, tlsrelay_message *msg,
                          tr_rcpt_trace *trace, long long deadline_ms,
                          int *greeted, tlsrelay_status *st)
{
	tr_session s;
	tr_outcome out = TR_OUT_DONE;
	int r;

	*greeted = 0;
	if (session_init(&s, ctx, p, req, msg, trace, deadline_ms) < 0) {
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		session_end(&s);
		return out;
	}
	if (p->demand->skip) {     /* the caller's mistake: never connect */
		tr_status_set(st, TLSRELAY_TEMP, "4.7.5", "%s", p->demand->why);
		tr_sess_fail_pending(&s, st);
		session_end(&s);
		return out;
	}
	if ((r = session_start(&s, greeted, st)) != 0) {
		if (r > 0)
			out = TR_OUT_PLAIN;
		goto out;
	}
	if (p->dry_run) {          /* never AUTH, never MAIL FROM */
		dry_run(&s, st);
		goto out;
	}
	if (p->cred && do_auth(&s, st) < 0)
		goto out;
	tr_txn_run(&s, st);
	if (s.state != TR_ST_FAILED)
		tr_sess_state(&s, TR_ST_DONE);
out:
	if (s.in_sync && s.io.fd >= 0)
		do_quit(&s);
	session_close(&s, st);
	return out;
}

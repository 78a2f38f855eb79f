/*
 * smtp_open.c - the open step of a session: connect, greeting, EHLO/HELO,
 * STARTTLS, the certificate check, AUTH (smtp_session.h: tr_sess_open).
 * What follows on the connection (the transaction, keep or quit) is
 * smtp_txn.c and smtp_client.c. A connection taken from the connection
 * cache (conn_cache.h) went through all of this once, under an identical
 * key, and skips it.
 *
 * Decisions (Postfix conventions):
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
 * - Loops (loop.h, Postfix's "mail for X loops back to myself"): a server
 *   that is this host by its address and port (checked before connecting),
 *   or that greets or answers EHLO with the name tlsrelay says EHLO with,
 *   is skipped with 4.4.6: the next server is tried, and when none is
 *   left the mail waits (a loop is a configuration mistake, never a
 *   bounce). A cached connection passed these checks when it was opened
 *   (its key holds the address, port and HELO name).
 * - A relay host whose greeting does not come (time-out), or on port 465
 *   does not come at all, may expect TLS from the first byte: the error
 *   text suggests smtps:[host]:port.
 * - A 530 of the relay host defers whatever the command (smtp_client.c,
 *   tr_sess_reply_status).
 */
#include "config.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include "ctx.h"
#include "demand.h"
#include "log.h"
#include "loop.h"
#include "sasl.h"
#include "smtp_session.h"

/* A failure at site level: every pending recipient gets it. Returns -1. */
static int site_fail(tr_session *s, tlsrelay_status *st)
{
	tr_sess_emit_st(s, TR_EV_FAIL, st);
	tr_sess_fail_pending(s, st);
	tr_sess_state(s, TR_ST_FAILED);
	return -1;
}

/* The server is this host (loop.h): 4.4.6, skip it. Returns -1. */
static int loops(tr_session *s, const char *how, tlsrelay_status *st)
{
	tr_status_set(st, TLSRELAY_TEMP, "4.4.6", "mail for %s loops back to myself: %s",
	              s->p->nexthop, how);
	tr_log(s->ctx, LOG_WARNING, "%s", st->text);
	return site_fail(s, st);
}

/* The server's name (first word of a greeting or EHLO reply) is ours. */
static int loops_by_name(tr_session *s, const char *what, tlsrelay_status *st)
{
	char how[TLSRELAY_TEXT_MAX];

	if (s->reply.nlines == 0 || !tr_loop_name(s->reply.line[0], s->p->helo))
		return 0;
	snprintf(how, sizeof how, "host %s %s as %s, the name this host says EHLO with "
	         "(helo_name)", s->c->relay, what, s->p->helo);
	return loops(s, how, st);
}

static void log_tls(tr_session *s)
{
	const tr_tls_info *t = &s->c->tls;

	tr_log(s->ctx, LOG_INFO, "%s TLS connection %s to %s: %s with cipher %s (%d/%d bits)%s%s",
	       tr_trust_label(t->trust), t->resumed ? "reused" : "established", s->c->relay,
	       t->protocol, t->cipher, t->bits, t->alg_bits,
	       t->dane_ok ? ", DANE " : "", t->dane_ok ? t->dane_match : "");
	if (t->have_cert)
		tr_vlog(s->ctx, 1, "%s: subject=%s issuer=%s cert-sha256=%s pkey-sha256=%s%s%s",
		        s->c->relay, t->subject, t->issuer, t->cert_sha256, t->pkey_sha256,
		        t->chain_ok ? "" : " verify-error=", t->chain_ok ? "" : t->verify_error);
}

/* Check the certificate against the demand, then log the posture. A
 * pinned fingerprint that matched is "Verified", as in Postfix. -1 on
 * failure. */
static int tls_enforce(tr_session *s, tlsrelay_status *st)
{
	const tr_demand *d = s->p->demand;
	tr_conn *c = s->c;

	if (tr_tls_enforce(&c->tls, d, c->relay, st) != TLSRELAY_OK) {
		log_tls(s);
		tr_log(s->ctx, LOG_INFO, "%s", st->text);
		return -1;
	}
	c->enforced = 1;
	if (d->auth == TR_AUTH_PINS)
		c->tls.trust = TR_TRUST_VERIFIED;
	else if (c->tls.dane_ok)    /* via an insecure MX RRset: Trusted only */
		c->tls.trust = d->dane_trusted_only ? TR_TRUST_TRUSTED : TR_TRUST_VERIFIED;
	log_tls(s);
	if (!s->p->cache_readonly)
		tr_tls_approve(&c->io);
	return 0;
}

/* TLS is up: tell the observers (the posture, before enforcement). */
static void emit_tls(tr_session *s)
{
	tr_event ev;

	tr_sess_event(s, &ev, TR_EV_TLS);
	ev.tls = &s->c->tls;
	ev.ssl = s->c->io.tls;
	tr_emit(s->p->obs, &ev);
}

/* Start TLS on the connection under the session's demand. */
static tlsrelay_cat start_tls(tr_session *s, tlsrelay_status *st)
{
	tr_tls_conn c = { s->p->demand, s->p->nexthop, s->c->relay, s->p->cache_readonly };

	return tr_tls_start(s->ctx, &s->c->io, &c, &s->c->tls, st);
}

/* Our address of the connection (getsockname), for TLS-RPT's
 * sending-mta-ip (RFC 8460 4.4); "" when unknown. */
static void local_ip(tr_conn *c)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof sa;
	const void *a = NULL;

	if (c->io.fd < 0 || getsockname(c->io.fd, (struct sockaddr *)&sa, &len) != 0)
		return;
	if (sa.ss_family == AF_INET)
		a = &((const struct sockaddr_in *)&sa)->sin_addr;
	else if (sa.ss_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)&sa)->sin6_addr;
	if (a == NULL || inet_ntop(sa.ss_family, a, c->local_ip, sizeof c->local_ip) == NULL)
		c->local_ip[0] = '\0';
}

static int do_connect(tr_session *s, tlsrelay_status *st)
{
	const tr_config *cfg = &s->ctx->cfg;
	tr_conn *c = s->c;
	tr_event ev;

	tr_sess_state(s, TR_ST_CONNECT);
	tr_sess_event(s, &ev, TR_EV_CONNECT);
	tr_emit(s->p->obs, &ev);
	if (s->p->io_ops == NULL && tr_loop_addr(cfg, (const struct sockaddr *)&s->p->addr->sa)) {
		char how[TLSRELAY_TEXT_MAX];
		snprintf(how, sizeof how, "%s is an address of this host, at a port of "
		         "local_mta_ports (this host's MTA)", c->relay);
		return loops(s, how, st);
	}
	if (s->p->io_ops != NULL)
		c->io.ops = s->p->io_ops;     /* scripted server (fuzzing) */
	else if (tr_io_connect(&c->io, (const struct sockaddr *)&s->p->addr->sa,
	                  s->p->addr->len, cfg->connect_timeout * 1000) != TR_IO_OK) {
		tr_status_set(st, TLSRELAY_TEMP, "4.4.1", "connect to %s: %s",
		              c->relay, c->io.err);
		return site_fail(s, st);
	}
	local_ip(c);
	if (!s->p->implicit_tls)
		return 0;
	tr_sess_state(s, TR_ST_TLS_WRAP);
	tr_io_set_timeout(&c->io, cfg->command_timeout * 1000);
	if (start_tls(s, st) != TLSRELAY_OK)    /* a CA problem: 4.3.5, never a bounce */
		return site_fail(s, st);
	c->tls_active = 1;
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
		              what, s->c->relay, s->reply.code);
	st->cat = TLSRELAY_TEMP;
	st->dsn[0] = '4';
	return site_fail(s, st);
}

/* No greeting from a relay host that may want TLS at once (smtps). */
static void smtps_hint(tr_session *s, tlsrelay_status *st)
{
	char text[TLSRELAY_TEXT_MAX], dsn[TLSRELAY_DSN_MAX];
	int port = tr_addr_port(s->p->addr);

	if (s->p->implicit_tls || !s->p->is_relay || s->c->io.fd < 0 ||
	    (port != 465 && strcmp(s->c->io.err, "timeout") != 0))
		return;
	snprintf(text, sizeof text, "%s", st->text);
	snprintf(dsn, sizeof dsn, "%s", st->dsn);
	tr_status_set(st, st->cat, dsn, "%.300s; a server that expects TLS from the first "
	              "byte (port 465) is written smtps:[%s]:%d", text, s->p->host, port);
}

static int do_greeting(tr_session *s, tlsrelay_status *st)
{
	tr_sess_state(s, TR_ST_GREETING);
	tr_io_set_timeout(&s->c->io, s->ctx->cfg.command_timeout * 1000);
	if (tr_sess_reply(s, "receiving the initial server greeting", st) != TLSRELAY_OK) {
		smtps_hint(s, st);
		return site_fail(s, st);
	}
	tr_sess_emit_reply(s, "greeting");
	if (s->reply.code == 220)
		return loops_by_name(s, "greets", st);
	/* Skip a server that refuses us: never bounce because of one MX. */
	return refused_us(s, "the initial server greeting", st);
}

/* EHLO, falling back to HELO when EHLO is refused (not after TLS). */
static int do_ehlo(tr_session *s, int after_tls, tlsrelay_status *st)
{
	const char *helo = s->p->helo;
	const char *what = after_tls ? "performing the EHLO handshake after STARTTLS"
	                             : "performing the EHLO handshake";
	tr_conn *c = s->c;

	memset(&c->caps, 0, sizeof c->caps);   /* forget what came before */
	c->esmtp = 0;
	tr_sess_state(s, after_tls ? TR_ST_EHLO_TLS : TR_ST_EHLO);
	tr_sess_send(s, 0, "EHLO %s", helo);
	if (tr_sess_reply(s, what, st) != TLSRELAY_OK)
		return site_fail(s, st);
	tr_sess_emit_reply(s, after_tls ? "EHLO after TLS" : "EHLO");
	if (s->reply.code == 250) {
		c->esmtp = 1;
		tr_caps_parse(&s->reply, &c->caps);
		return loops_by_name(s, "answers EHLO", st);
	}
	if (after_tls || s->reply.code == 421 || s->reply.code / 100 == 2)
		return refused_us(s, "EHLO", st);
	tr_sess_state(s, TR_ST_HELO);
	tr_sess_send(s, 0, "HELO %s", helo);
	if (tr_sess_reply(s, "performing the HELO handshake", st) != TLSRELAY_OK)
		return site_fail(s, st);
	tr_sess_emit_reply(s, "HELO");
	if (s->reply.code == 250)
		return 0;
	return refused_us(s, "HELO", st);
}

/* ------------------------------------------------------------ STARTTLS */

/* TLS failed at a level that allows plaintext: reconnect without TLS. */
static int tls_fallback(tr_session *s, const tlsrelay_status *why)
{
	tr_log(s->ctx, LOG_INFO, "%s; retrying in plaintext (tls_security_level = may)", why->text);
	tr_sess_emit_st(s, TR_EV_FALLBACK, why);
	tr_sess_state(s, TR_ST_FAILED);
	return 1;
}

/* TLS is required and could not be had: 4.7.x, try the next server. A
 * configuration error (tls_ca_file, the policy's protocols= or ciphers=:
 * 4.3.5) stays one, which never bounces either: exit 78 like the others. */
static int tls_required_fail(tr_session *s, tlsrelay_status *st)
{
	if (st->cat != TLSRELAY_CONFIG)
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
		              s->c->relay, text);
		if (required)
			return tls_required_fail(s, st);
		tr_log(s->ctx, LOG_INFO, "host %s refused to start TLS: %s; continuing in plaintext",
		       s->c->relay, text);
		return 0;
	}
	/* 2xx other than 220, 3xx: the dialogue is out of step. */
	tr_status_set(st, TLSRELAY_TEMP, "4.7.4", "host %s sent an unexpected reply to STARTTLS: %s",
	              s->c->relay, text);
	return required ? tls_required_fail(s, st) : tls_fallback(s, st);
}

/* STARTTLS is not to be sent: 0, or -1 when TLS is required but cannot
 * be had on this connection (a plaintext retry asked for, or not offered);
 * 1 when it is to be sent. */
static int starttls_wanted(tr_session *s, tlsrelay_status *st)
{
	int required = tls_required(s);
	tr_conn *c = s->c;
	tr_event ev;

	if (c->tls_active || !tr_demand_uses_tls(s->p->demand) || (s->p->no_tls && !required))
		return 0;
	if (s->p->no_tls) {      /* a plaintext retry is never right here */
		tr_status_set(st, TLSRELAY_TEMP, "4.7.4", "TLS is required, but a plaintext session "
		              "with host %s was asked for", c->relay);
		return tls_required_fail(s, st);
	}
	tr_sess_event(s, &ev, TR_EV_STARTTLS);
	ev.offered = (c->caps.flags & TR_CAP_STARTTLS) != 0;
	tr_emit(s->p->obs, &ev);
	if (!(c->caps.flags & TR_CAP_STARTTLS)) {
		if (!required)
			return 0;
		tr_status_set(st, TLSRELAY_TEMP, "4.7.4", "TLS is required%s, but was not offered by host %s",
		              s->p->demand->level_src.kind == TR_SRC_CREDENTIALS
		              ? " (SASL credentials are configured)" : "", c->relay);
		return tls_required_fail(s, st);
	}
	return 1;
}

static int tls_established(tr_session *s, tlsrelay_status *st);

/* Returns 0 to go on, -1 after a site failure, 1 for a plaintext retry. */
static int do_starttls(tr_session *s, tlsrelay_status *st)
{
	int required = tls_required(s), r;
	tr_conn *c = s->c;

	if ((r = starttls_wanted(s, st)) <= 0)
		return r;
	if (c->starttls_sent)      /* do_starttls runs once a connection */
		tr_panic(s->ctx, "STARTTLS would be sent twice to %s", c->relay);
	tr_sess_state(s, TR_ST_STARTTLS);
	c->starttls_sent = 1;
	tr_sess_send(s, 0, "STARTTLS");
	if (tr_sess_reply(s, "sending STARTTLS", st) != TLSRELAY_OK)
		return site_fail(s, st);
	tr_sess_emit_reply(s, "reply to STARTTLS");
	if (s->reply.code != 220)
		return starttls_refused(s, st);
	if (tr_io_unread(&c->io) > 0) {
		c->in_sync = 0;
		tr_status_set(st, TLSRELAY_TEMP, "4.7.5",
		              "host %s sent %zu bytes after its 220 reply to STARTTLS (response injection?)",
		              c->relay, tr_io_unread(&c->io));
		tr_log(s->ctx, LOG_WARNING, "%s", st->text);
		return required ? tls_required_fail(s, st) : tls_fallback(s, st);
	}
	tr_sess_state(s, TR_ST_TLS_HANDSHAKE);
	c->in_sync = 0;
	if (start_tls(s, st) != TLSRELAY_OK) {
		if (st->cat != TLSRELAY_TEMP)
			return tls_required_fail(s, st);   /* CA load failure: defer */
		tr_log(s->ctx, LOG_INFO, "%s", st->text);
		return required ? tls_required_fail(s, st) : tls_fallback(s, st);
	}
	return tls_established(s, st);
}

/* The handshake after STARTTLS succeeded (c->tls holds its posture): the
 * observers are told, the certificate is checked against the demand
 * before anything else is sent, and EHLO is sent again. 0 to go on, -1
 * after a site failure. */
static int tls_established(tr_session *s, tlsrelay_status *st)
{
	tr_conn *c = s->c;

	c->tls_active = 1;
	c->in_sync = 1;     /* the server now waits for EHLO: QUIT is fine */
	emit_tls(s);
	if (tls_enforce(s, st) < 0)
		return tls_required_fail(s, st);
	return do_ehlo(s, 1, st);
}

/* The test seam (smtp_client.h tr_session_params.tls_up, with io_ops):
 * the connection is as do_starttls leaves it after a handshake with that
 * posture, then its own last step runs. 0 to go on, -1 after a site
 * failure. */
static int tls_up_seam(tr_session *s, int *greeted, tlsrelay_status *st)
{
	tr_conn *c = s->c;

	c->io.ops = s->p->io_ops;
	*greeted = c->greeted = c->starttls_sent = 1;
	c->tls = *s->p->tls_up;
	tr_sess_state(s, TR_ST_TLS_HANDSHAKE);
	return tls_established(s, st);
}

/* ------------------------------------------------------------ AUTH */

/* AUTH with the session's credentials; -1 after a failure (recipients
 * settled with it). */
static int do_auth(tr_session *s, tlsrelay_status *st)
{
	tr_event ev;
	int r;

	tr_sess_state(s, TR_ST_AUTH);
	r = tr_auth_run(s, s->p->cred, st) == TLSRELAY_OK ? 0 : -1;
	tr_sess_event(s, &ev, TR_EV_AUTH);
	ev.cred_key = s->p->cred->key;
	ev.st = st;
	tr_emit(s->p->obs, &ev);
	if (r < 0) {
		tr_sess_fail_pending(s, st);
		tr_sess_state(s, TR_ST_FAILED);
	}
	s->c->authed = r == 0;
	return r;
}

void tr_sess_dry_run(tr_session *s, tlsrelay_status *st)
{
	const tr_conn *c = s->c;
	tr_event ev;

	if (s->p->cred) {
		tr_sess_event(s, &ev, TR_EV_AUTH);
		ev.cred_key = s->p->cred->key;
		ev.dry_run = 1;
		tr_emit(s->p->obs, &ev);
	}
	if (c->tls_active)
		tr_status_set(st, TLSRELAY_OK, "2.0.0", "%s TLS to %s (%s with cipher %s)",
		              tr_trust_label(c->tls.trust), c->relay, c->tls.protocol,
		              c->tls.cipher);
	else
		tr_status_set(st, TLSRELAY_OK, "2.0.0", "plaintext to %s (%s)", c->relay,
		              !tr_demand_uses_tls(s->p->demand) ? "TLS is off for it"
		              : c->starttls_sent ? "STARTTLS failed, level may allows plaintext"
		              : "STARTTLS not offered, level may allows plaintext");
	tr_sess_fail_pending(s, st);
}

/* ------------------------------------------------------------ the step */

tr_open_end tr_sess_open(tr_session *s, int *greeted, tlsrelay_status *st)
{
	int r;

	if (s->p->tls_up != NULL && s->p->io_ops != NULL) {
		if (tls_up_seam(s, greeted, st) < 0)
			return TR_OPEN_FAILED;
	} else {
		if (do_connect(s, st) < 0 || do_greeting(s, st) < 0 || do_ehlo(s, 0, st) < 0)
			return TR_OPEN_FAILED;
		*greeted = 1;
		s->c->greeted = 1;
		if ((r = do_starttls(s, st)) != 0)
			return r > 0 ? TR_OPEN_PLAIN : TR_OPEN_FAILED;
	}
	if (s->p->cred && !s->p->dry_run && do_auth(s, st) < 0)
		return TR_OPEN_FAILED;
	return TR_OPEN_READY;
}

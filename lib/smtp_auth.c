/*
 * smtp_auth.c - the SMTP AUTH dialogue (RFC 4954) with PLAIN (RFC 4616,
 * initial response) or LOGIN. See tr_auth_run() in sasl.h.
 *
 * Decisions:
 * - Credentials are only ever sent over TLS; and only PLAIN and LOGIN are
 *   spoken (both send the password itself, which TLS protects).
 * - Every failure defers (Postfix smtp_sasl_auth_soft_bounce = yes): a 5xx
 *   enhanced code is turned into class 4. A wrong password must not bounce
 *   the mail queued behind it.
 * - Credential lines do not go through tr_sess_send(): its masked log
 *   keeps the first word of the line, which for a LOGIN line (bare base64,
 *   no space) is the secret itself, and its stack copy of the line is not
 *   wiped. send_secret() queues the line directly, logs only "********"
 *   and the caller wipes its buffer; after the reply the session's write
 *   buffer is wiped too.
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include "buf.h"
#include "log.h"
#include "sasl.h"
#include "smtp_session.h"

#define AUTH_DSN  "4.7.0"
#define AUTH_WHAT "performing SASL authentication"

static const struct {
	unsigned bit;
	const char *name;
} mech_names[] = {
	{ TR_AUTH_PLAIN, "PLAIN" }, { TR_AUTH_LOGIN, "LOGIN" },
	{ TR_AUTH_CRAM_MD5, "CRAM-MD5" }, { TR_AUTH_XOAUTH2, "XOAUTH2" },
};

#define NMECHS (sizeof mech_names / sizeof mech_names[0])

/* The mechanisms the server offered, for the error text. */
static const char *offered_text(const tr_caps *c, char *buf, size_t cap)
{
	tr_buf b;

	tr_buf_fixed(&b, buf, cap);
	for (size_t i = 0; i < NMECHS; i++)
		if (c->auth & mech_names[i].bit)
			tr_buf_printf(&b, "%s%s", b.len ? " " : "", mech_names[i].name);
	if (b.len > 0)
		return buf;
	return (c->flags & TR_CAP_AUTH) ? "only mechanisms unknown to tlsrelay" : "none";
}

/* Queue a line that carries credentials; shown is what the log gets. */
static void send_secret(tr_session *s, const char *shown, const char *line)
{
	tr_vlog(s->ctx, 2, "> %s: %s", s->relay, shown);
	(void)tr_io_write(&s->c->io, line, strlen(line));
	(void)tr_io_write(&s->c->io, "\r\n", 2);    /* errors show at the flush */
}

/* Read the reply to a credential line, then wipe what was sent: the
 * flush has emptied the write buffer, but not cleared its bytes. */
static int secret_reply(tr_session *s, tlsrelay_status *st)
{
	int r = tr_sess_reply(s, AUTH_WHAT, st) == TLSRELAY_OK ? 0 : -1;

	OPENSSL_cleanse(s->c->io.wbuf + s->c->io.wlen, sizeof s->c->io.wbuf - s->c->io.wlen);
	return r;
}

/* RFC 4954 cancel ("*") while the server waits for a response; its answer
 * (501 expected) is read so the session stays in step for QUIT. */
static void auth_cancel(tr_session *s)
{
	tlsrelay_status ignored;

	tr_sess_send(s, 0, "*");
	if (tr_sess_reply(s, "cancelling SASL authentication", &ignored) == TLSRELAY_OK &&
	    s->reply.code / 100 == 3)
		s->c->in_sync = 0;       /* still waiting for us: only hang up */
}

/* The reply was not the one wanted: set *st (always TEMP). Returns -1. */
static int auth_failed(tr_session *s, tlsrelay_status *st)
{
	char text[TLSRELAY_TEXT_MAX], dsn[TLSRELAY_DSN_MAX];
	int cls = s->reply.code / 100;

	tr_reply_format(&s->reply, text, sizeof text);
	if (cls == 4 || cls == 5) {
		snprintf(dsn, sizeof dsn, "%s", s->reply.dsn[0] ? s->reply.dsn : AUTH_DSN);
		dsn[0] = '4';         /* soft bounce: never a permanent failure */
		tr_status_set(st, TLSRELAY_TEMP, dsn, "SASL authentication failed; server %s said: %s",
		              s->relay, text);
		return -1;
	}
	tr_status_set(st, TLSRELAY_TEMP, AUTH_DSN,
	              "SASL authentication failed; unexpected reply from server %s: %s",
	              s->relay, text);
	if (cls == 3)
		auth_cancel(s);
	return -1;
}

static int auth_plain(tr_session *s, const tr_sasl_cred *cred,
                      tlsrelay_status *st)
{
	static const char verb[] = "AUTH PLAIN ";
	char line[sizeof verb + TR_SASL_PLAIN_B64_MAX];
	int n;

	memcpy(line, verb, sizeof verb);
	n = tr_sasl_plain(cred->user, cred->pass, line + sizeof verb - 1,
	                  sizeof line - (sizeof verb - 1));
	if (n > 0)
		send_secret(s, "AUTH PLAIN ********", line);
	OPENSSL_cleanse(line, sizeof line);
	if (n <= 0) {
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "cannot encode SASL PLAIN credentials");
		return -1;
	}
	if (secret_reply(s, st) < 0)
		return -1;
	return s->reply.code == 235 ? 0 : auth_failed(s, st);
}

/* One LOGIN step: send base64(secret), expect reply code want. */
static int login_step(tr_session *s, const char *shown, const char *secret,
                      int want, tlsrelay_status *st)
{
	char b64[TR_SASL_B64_LEN(TR_SASL_PASS_MAX > TR_SASL_USER_MAX ?
	                         TR_SASL_PASS_MAX : TR_SASL_USER_MAX) + 1];
	int n = tr_sasl_b64(secret, strlen(secret), b64, sizeof b64);

	if (n >= 0)
		send_secret(s, shown, b64);
	OPENSSL_cleanse(b64, sizeof b64);
	if (n < 0) {
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "cannot encode SASL LOGIN credentials");
		return -1;
	}
	if (secret_reply(s, st) < 0)
		return -1;
	return s->reply.code == want ? 0 : auth_failed(s, st);
}

/* AUTH LOGIN: 334 (user name prompt), user, 334 (password prompt),
 * password, 235. The prompts' text is not interpreted (servers vary). */
static int auth_login(tr_session *s, const tr_sasl_cred *cred,
                      tlsrelay_status *st)
{
	tr_sess_send(s, 0, "AUTH LOGIN");
	if (tr_sess_reply(s, AUTH_WHAT, st) != TLSRELAY_OK)
		return -1;
	if (s->reply.code != 334)
		return auth_failed(s, st);
	if (login_step(s, "******** (user name)", cred->user, 334, st) < 0)
		return -1;
	return login_step(s, "******** (password)", cred->pass, 235, st);
}

/* Credentials as the map guarantees them (they may come from elsewhere). */
static int cred_ok(const tr_sasl_cred *cred)
{
	size_t ulen, plen;

	if (cred == NULL || cred->user == NULL || cred->pass == NULL)
		return 0;
	ulen = strnlen(cred->user, TR_SASL_USER_MAX + 1);
	plen = strnlen(cred->pass, TR_SASL_PASS_MAX + 1);
	return ulen > 0 && ulen <= TR_SASL_USER_MAX && plen <= TR_SASL_PASS_MAX;
}

tlsrelay_cat tr_auth_run(tr_session *s, const tr_sasl_cred *cred, tlsrelay_status *st)
{
	char offered[64];
	unsigned mech;

	if (!cred_ok(cred))
		return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "unusable SASL credentials for %s",
		                     s->relay);
	if (!s->c->tls_active)
		return tr_status_set(st, TLSRELAY_TEMP, AUTH_DSN,
		                     "credentials for %s are configured, but TLS is not active: AUTH refused",
		                     s->relay);
	mech = (s->c->caps.auth & TR_AUTH_PLAIN) ? TR_AUTH_PLAIN : s->c->caps.auth & TR_AUTH_LOGIN;
	if (mech == 0)
		return tr_status_set(st, TLSRELAY_TEMP, AUTH_DSN,
		                     "credentials configured for %s, but it offers no supported AUTH mechanism (offered: %s)",
		                     s->relay, offered_text(&s->c->caps, offered, sizeof offered));
	tr_sess_state(s, TR_ST_AUTH);
	if ((mech == TR_AUTH_PLAIN ? auth_plain(s, cred, st) : auth_login(s, cred, st)) < 0)
		return st->cat;
	tr_vlog(s->ctx, 1, "%s: SASL %s authentication succeeded (credentials of key %s)",
	        s->relay, mech == TR_AUTH_PLAIN ? "PLAIN" : "LOGIN", cred->key);
	return tr_status_ok(st);
}

/*
 * probe.c - tlsrelay_probe(): "what will happen to mail for DEST?", answered
 * by the delivery code itself (routing, policy, MX order, limits, STARTTLS,
 * certificate checks, the plaintext retry of level may) running in probe
 * mode: every session stops after the EHLO that follows STARTTLS (or the
 * first EHLO when TLS is not used) and sends QUIT. No MAIL FROM, no AUTH.
 *
 * Decisions:
 * - DEST "example.com" is probed as mail to postmaster@example.com would be
 *   delivered: through the relayhost when one is configured, else by MX.
 *   "[host]:port" (or "[host]") goes to that server, as with -r. A port
 *   given with -p turns a domain into "example.com:PORT" (MX lookup, that
 *   port) and replaces the port of a bracketed destination.
 * - Like a delivery, it stops at the first server that would take the mail
 *   (and goes on to the next MX, address by address, until then, within
 *   mx_address_limit and mx_session_limit).
 * - The verdict's category is the delivery's: OK (would be delivered),
 *   TEMP (would be deferred), PERM (would bounce), CONFIG, USAGE.
 * - Credentials in sasl_password_map make TLS required exactly as for a
 *   delivery; AUTH itself is not tried (it would need the secret on the
 *   wire for no gain): the probe says which credentials would be used.
 */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctx.h"
#include "nexthop.h"
#include "policy.h"
#include "probe.h"
#include "sasl.h"
#include "smtp_session.h"
#include "status.h"

void tr_probe_say(struct tlsrelay_ctx *ctx, const char *fmt, ...)
{
	char line[TLSRELAY_TEXT_MAX * 2];
	va_list ap;

	if (ctx == NULL || ctx->probe == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	tr_sanitize_line(line);
	ctx->probe->fn(ctx->probe->arg, line);
}

void tr_probe_reply(struct tlsrelay_ctx *ctx, const char *label, const tr_reply *r)
{
	char text[TLSRELAY_TEXT_MAX];

	if (ctx == NULL || ctx->probe == NULL)
		return;
	tr_reply_format(r, text, sizeof text);
	tr_probe_say(ctx, "  %s: %s", label, text);
}

void tr_probe_policy(struct tlsrelay_ctx *ctx, struct tr_policy *pol)
{
	char text[TR_POLICY_TEXT_MAX];

	if (ctx == NULL || ctx->probe == NULL)
		return;
	if (ctx->probe->level >= 0) {
		tr_policy_from_level((tr_tls_level)ctx->probe->level, pol);
		snprintf(pol->source, sizeof pol->source, "tlsrelay-probe -l");
	}
	tr_probe_say(ctx, "policy: %s", tr_policy_format(pol, text, sizeof text));
}

int tr_probe_instead_of_mail(struct tr_session *s, tlsrelay_status *st)
{
	if (s->ctx->probe == NULL)
		return 0;
	if (s->p->cred)
		tr_probe_say(s->ctx, "  AUTH: the credentials of sasl_password_map key %s "
		             "would be used (not tried by the probe)", s->p->cred->key);
	if (s->tls_active)
		tr_status_set(st, TLSRELAY_OK, "2.0.0", "%s TLS to %s (%s with cipher %s)",
		              tr_trust_label(s->tls.trust), s->relay, s->tls.protocol,
		              s->tls.cipher);
	else
		tr_status_set(st, TLSRELAY_OK, "2.0.0", "plaintext to %s (%s)", s->relay,
		              s->p->level < TR_TLS_MAY ? "TLS is off for it"
		              : s->starttls_sent ? "STARTTLS failed, level may allows plaintext"
		              : "STARTTLS not offered, level may allows plaintext");
	for (size_t i = 0; i < s->req->nrcpts; i++)
		if (s->trying[i] && s->req->rcpts[i].status.cat == TLSRELAY_TEMP)
			tr_sess_settle(s, i, st);
	return 1;
}

/* ------------------------------------------------------------- the API */

/* The request's nexthop (NULL: the configured route for the domain) and
 * recipient for dest, with -p port. -1 with *st set when dest is bad. */
static int probe_target(const char *dest, int port, char *hop, size_t hcap,
                        char *rcpt, size_t rcap, tlsrelay_status *st)
{
	tr_nexthop nh;
	char err[128];

	if (tr_nexthop_parse(dest, &nh, err, sizeof err) < 0)
		return tr_status_set(st, TLSRELAY_USAGE, "4.3.5", "bad destination \"%.100s\": %s",
		                     dest, err), -1;
	if (port < 0 || port > 65535)
		return tr_status_set(st, TLSRELAY_USAGE, "4.3.5", "bad port %d", port), -1;
	if (nh.mx_lookup && strchr(dest, ':') == NULL && port == 0) {
		hop[0] = '\0';
		snprintf(rcpt, rcap, "postmaster@%s", nh.host);
		return 0;
	}
	snprintf(rcpt, rcap, "postmaster@%s", nh.mx_lookup ? nh.host : "probe.invalid");
	if (nh.mx_lookup)
		snprintf(hop, hcap, "%s:%d", nh.host, port ? port : nh.port);
	else
		snprintf(hop, hcap, "%s[%s]:%d", nh.implicit_tls ? "smtps:" : "", nh.host,
		         port ? port : nh.port);
	return 0;
}

tlsrelay_cat tlsrelay_probe(tlsrelay_ctx *ctx, const char *dest, const char *level,
                            int port, tlsrelay_report_fn fn, void *arg,
                            tlsrelay_status *st)
{
	char hop[TR_HOSTNAME_MAX + 40], rcpt[TR_HOSTNAME_MAX + 20];
	tlsrelay_rcpt r = { 0 };
	tlsrelay_request req = { "", NULL, NULL, NULL, NULL, &r, 1 };
	tr_probe probe = { fn, arg, -1 };

	if (level != NULL) {
		tr_tls_level lv = tr_tls_level_from_name(level);
		if (lv == TR_TLS_INVALID || !tr_tls_level_supported(lv) || lv == TR_TLS_FINGERPRINT)
			return tr_status_set(st, TLSRELAY_USAGE, "4.3.5",
			                     "bad level \"%.40s\" for -l (fingerprint needs the "
			                     "policy map's match=)", level);
		probe.level = (int)lv;
	}
	if (probe_target(dest, port, hop, sizeof hop, rcpt, sizeof rcpt, st) < 0)
		return st->cat;
	req.nexthop = hop[0] ? hop : NULL;
	r.addr = rcpt;
	ctx->probe = &probe;
	tlsrelay_deliver(ctx, &req, NULL, st);
	ctx->probe = NULL;
	if (st->cat == TLSRELAY_OK)
		tr_status_set(st, TLSRELAY_OK, "2.0.0", "mail for %s would be delivered: %s",
		              dest, r.status.text);
	else if (st->cat == TLSRELAY_TEMP || st->cat == TLSRELAY_INTERNAL)
		tr_status_set(st, TLSRELAY_TEMP, st->dsn, "mail for %s would be deferred: %.400s",
		              dest, r.status.cat == TLSRELAY_OK ? st->text : r.status.text);
	else if (st->cat == TLSRELAY_PERM)
		tr_status_set(st, TLSRELAY_PERM, st->dsn, "mail for %s would be bounced: %.400s",
		              dest, r.status.text);
	return st->cat;
}

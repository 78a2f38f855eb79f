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
 * - A relay host that offers AUTH (in its last EHLO reply: after
 *   STARTTLS when TLS is used) while no credentials match it gets a
 *   warning line: the mail would go without AUTH, and a relay host that
 *   wants it refuses it (530, deferred): a wrong key or port in the map.
 *   Not for MX hosts, which offer AUTH for their own users.
 */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "deliver.h"
#include "nexthop.h"
#include "observe.h"
#include "policy.h"
#include "probe.h"
#include "status.h"

void tr_probe_say(const tr_probe *p, const char *fmt, ...)
{
	char line[TLSRELAY_TEXT_MAX * 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	tr_sanitize_line(line);
	p->fn(p->arg, line);
}

/* Does an EHLO reply offer AUTH? */
static int ehlo_offers_auth(const tr_reply *r)
{
	tr_caps caps;

	tr_caps_parse(r, &caps);
	return (caps.flags & TR_CAP_AUTH) != 0;
}

/* The observer: what the delivery does, as the probe's report. */
static void observe(void *arg, const tr_event *ev)
{
	tr_probe *p = arg;
	char text[TR_POLICY_TEXT_MAX];

	switch (ev->type) {
	case TR_EV_NEXTHOP:
		p->is_relay = ev->is_relay;
		tr_probe_say(p, "policy: %s", tr_policy_format(ev->policy, text, sizeof text));
		break;
	case TR_EV_CONNECT:
		p->auth_offered = p->cred_used = 0;
		tr_probe_say(p, "server %s%s", ev->relay, ev->plain_retry ? " (again, without TLS)" : "");
		break;
	case TR_EV_FAIL:
		tr_probe_say(p, "  -> %s", ev->st->text);
		break;
	case TR_EV_REPLY:
		tr_probe_say(p, "  %s: %s", ev->label, tr_reply_format(ev->reply, text, sizeof text));
		if (ev->reply->code == 250 && strncmp(ev->label, "EHLO", 4) == 0)
			p->auth_offered = ehlo_offers_auth(ev->reply);
		break;
	case TR_EV_FALLBACK:
		tr_probe_say(p, "  -> %s; level may: retrying in plaintext", ev->st->text);
		break;
	case TR_EV_STARTTLS:
		tr_probe_say(p, "  STARTTLS: %s", ev->offered ? "offered" : "not offered");
		break;
	case TR_EV_TLS:
		tr_probe_tls(p, ev->ssl, ev->tls);
		break;
	case TR_EV_AUTH:
		p->cred_used = 1;
		if (ev->dry_run)
			tr_probe_say(p, "  AUTH: the credentials of sasl_password_map key %s "
			             "would be used (not tried by the probe)", ev->cred_key);
		break;
	case TR_EV_END:
		if (p->is_relay && p->auth_offered && !p->cred_used)
			tr_probe_say(p, "  warning: relay host %s offers AUTH, but no credentials of "
			             "sasl_password_map match it (a wrong key or port?): mail would "
			             "go without AUTH", ev->relay);
		break;
	default:
		break;
	}
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
	tr_probe probe = { fn, arg, 0, 0, 0 };
	tr_observers obs = { 0 };
	tr_deliver_opts o = { 1, 1, TR_TLS_INVALID, &obs };

	if (level != NULL) {
		tr_tls_level lv = tr_tls_level_from_name(level);
		if (lv == TR_TLS_INVALID || lv == TR_TLS_FINGERPRINT)
			return tr_status_set(st, TLSRELAY_USAGE, "4.3.5",
			                     "bad level \"%.40s\" for -l (fingerprint needs the "
			                     "policy map's match=)", level);
		o.force_level = lv;
	}
	if (probe_target(dest, port, hop, sizeof hop, rcpt, sizeof rcpt, st) < 0)
		return st->cat;
	req.nexthop = hop[0] ? hop : NULL;
	r.addr = rcpt;
	tr_observe_add(&obs, observe, &probe);
	tr_deliver(ctx, &req, NULL, &o, st);
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

/*
 * shadow.c - the shadow policy as an observer of the delivery (see
 * shadow.h for what it does and what "would defer" means).
 *
 * Decisions:
 * - The candidate map is loaded once per context (ctx->shadow_policy, like
 *   tls_policy_map: tlsrelayd's delivery processes keep it; stamped by
 *   tlsrelay_ctx_prepare). A map that does not load is logged at every
 *   delivery (LOG_WARNING) and turns the shadow off: never a delivery
 *   error, the live policy alone decides.
 * - When the candidate is DANE-based and the live policy is not, the
 *   shadow makes the DNS lookups delivery would make under the candidate
 *   (MX with DNSSEC once per nexthop, addresses and TLSA per server),
 *   through dns_resolver with a short timeout (2 s per try): an observer
 *   must not hold a delivery long, and these are the only waits it has.
 * - The verdict is logged only for a session that delivered mail the
 *   candidate would have refused: that is the "what would break" an admin
 *   asks about; everything else goes to the history.
 * - A session on a connection kept by tlsrelayd has no TLS event: its END
 *   carries the connection's outcome and SSL, judged as a new session's
 *   would be (the same certificate, under the candidate). A kept
 *   connection found closed before MAIL (END stale) is not judged.
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include "ctx.h"
#include "log.h"
#include "shadow.h"
#include "status.h"

#define SHADOW_DNS_TIMEOUT 2

int tr_shadow_configured(const struct tlsrelay_ctx *ctx)
{
	return ctx->cfg.tls_shadow_level != TR_TLS_INVALID || ctx->cfg.tls_shadow_policy_map;
}

tlsrelay_cat tr_shadow_load(struct tlsrelay_ctx *ctx, tlsrelay_status *st)
{
	const char *path = ctx->cfg.tls_shadow_policy_map;

	if (path == NULL || ctx->shadow_policy != NULL)
		return tr_status_ok(st);
	if ((ctx->shadow_policy = tr_policy_map_load(path, st)) == NULL) {
		char text[TLSRELAY_TEXT_MAX];

		snprintf(text, sizeof text, "%s", st->text);
		return tr_status_set(st, TLSRELAY_CONFIG, "4.3.5", "tls_shadow_policy_map %s", text);
	}
	return tr_status_ok(st);
}

tlsrelay_cat tr_shadow_inputs(struct tlsrelay_ctx *ctx, const tr_demand_in *live,
                              tr_policy *pol, tr_demand_in *out, tlsrelay_status *st)
{
	const tr_config *cfg = &ctx->cfg;
	tr_tls_level level = cfg->tls_shadow_level != TR_TLS_INVALID ? cfg->tls_shadow_level
	                                                              : cfg->tls_level;

	if (!tr_shadow_configured(ctx))
		return tr_status_set(st, TLSRELAY_CONFIG, "4.3.5", "no shadow policy configured");
	if (tr_shadow_load(ctx, st) != TLSRELAY_OK)
		return st->cat;
	*out = *live;
	out->policy = pol;
	out->mapped = tr_policy_for_nexthop(cfg->tls_shadow_policy_map ? ctx->shadow_policy
	                                                               : ctx->policy,
	                                    live->nh, level, pol);
	if (!out->mapped && cfg->tls_shadow_level != TR_TLS_INVALID)
		snprintf(pol->source, sizeof pol->source, "tls_shadow_security_level");
	return tr_status_ok(st);
}

void tr_shadow_init(tr_shadow *sh, struct tlsrelay_ctx *ctx)
{
	tlsrelay_status st;

	memset(sh, 0, sizeof *sh);
	sh->ctx = ctx;
	if (!tr_shadow_configured(ctx))
		return;
	if (tr_shadow_load(ctx, &st) != TLSRELAY_OK) {
		tr_log(ctx, LOG_WARNING, "shadow policy off for this delivery: %s", st.text);
		return;
	}
	if (tr_dns_init(&sh->dns, ctx->cfg.dns_resolver, SHADOW_DNS_TIMEOUT) < 0)
		return;
	sh->on = 1;
}

void tr_shadow_end(tr_shadow *sh)
{
	tr_dane_host_free(&sh->facts);
}

/* ------------------------------------------------------------ events */

static void on_nexthop(tr_shadow *sh, const tr_event *ev)
{
	tlsrelay_status st;
	tr_mx mx[TR_DNS_MAX_HOSTS];
	tr_dns_sec sec;
	int n = 0;

	sh->own_dane = 0;
	sh->mx_state = TR_DANE_MX_NONE;
	if (tr_shadow_inputs(sh->ctx, ev->in, &sh->pol, &sh->in, &st) != TLSRELAY_OK) {
		sh->on = 0;
		return;
	}
	tr_demand_for_nexthop(&sh->in, &sh->nhd);
	if (!tr_level_dane(sh->nhd.level) || tr_level_dane(ev->demand->level))
		return;
	sh->own_dane = 1;                   /* the live delivery looks nothing up */
	if (ev->nh->mx_lookup &&
	    tr_dns_mx_sec(&sh->dns, ev->nh->host, mx, &n, &sec, &st) == TLSRELAY_OK && n > 0)
		sh->mx_state = sec.secure ? TR_DANE_MX_SECURE : TR_DANE_MX_INSECURE;
	else if (ev->nh->mx_lookup)
		sh->mx_state = TR_DANE_MX_INSECURE;
}

/* The DANE facts of ev's server under the candidate. */
static const tr_dane_host *server_facts(tr_shadow *sh, const tr_event *ev)
{
	tr_addr addrs[TR_DNS_MAX_ADDRS];
	tlsrelay_status st;
	int n;

	if (!sh->own_dane)
		return ev->dane;
	tr_dane_host_free(&sh->facts);
	if (tr_dane_route_host(&sh->dns, sh->nhd.level, sh->mx_state, ev->nh->host, ev->host,
	                       ev->nh->port, addrs, TR_DNS_MAX_ADDRS, &n, &sh->facts,
	                       &st) != TLSRELAY_OK) {
		memset(&sh->facts, 0, sizeof sh->facts);
		sh->facts.state = TR_DANE_NONE;
		sh->facts.tlsa_failed = 1;
		snprintf(sh->facts.why, sizeof sh->facts.why, "%.300s", st.text);
	}
	return &sh->facts;
}

/* A verdict on an attempt without a session (the live demand skipped the
 * server): the candidate's skip, or unknown. */
static void judge_skip(tr_shadow *sh, const char *host)
{
	tlsrelay_status st;

	sh->last.verdict = tr_tls_judge(&sh->d, sh->dane, NULL, host, &sh->last.why, &st);
	snprintf(sh->last.text, sizeof sh->last.text, "%s", st.text);
	sh->last.valid = 1;
}

static void on_server(tr_shadow *sh, const tr_event *ev)
{
	memset(&sh->last, 0, sizeof sh->last);
	sh->in.host = ev->in->host;
	sh->in.cred_key = ev->in->cred_key;
	sh->dane = server_facts(sh, ev);
	sh->in.dane = tr_level_dane(sh->nhd.level) ? sh->dane : NULL;
	tr_demand_for_server(&sh->in, &sh->d);
	snprintf(sh->last.level, sizeof sh->last.level, "%s", tr_tls_level_name(sh->d.level));
	if (ev->demand->skip)
		judge_skip(sh, ev->host);
}

static void on_tls(tr_shadow *sh, const tr_event *ev)
{
	sh->seen_ok = tr_tls_posture_for(&sh->d, ev->ssl, ev->tls, &sh->seen) ? 1 : -1;
}

/* Mail the live policy delivered and the candidate would have refused. */
static void log_defer(const tr_shadow *sh, const char *relay)
{
	const tr_demand_src *src = &sh->d.level_src;

	tr_log(sh->ctx, LOG_INFO, "shadow policy: would defer: %s (%s; candidate level %s "
	       "from %s): %s", tr_tls_fail_words(sh->last.why), relay, sh->last.level,
	       src->text[0] ? src->text : tr_src_name(src->kind), sh->last.text);
}

static void on_end(tr_shadow *sh, const tr_event *ev)
{
	tr_tls_outcome o = *ev->outcome;
	tlsrelay_status st;
	char level[16];

	if (ev->stale)            /* a kept connection found closed: not tried */
		return;
	if (ev->reused && o.up)   /* no TLS event: the kept connection's TLS */
		sh->seen_ok = tr_tls_posture_for(&sh->d, ev->ssl, &o.info, &sh->seen) ? 1 : -1;
	if (ev->plain_retry) {    /* the first session showed the TLS */
		if (sh->last.valid && sh->last.verdict == TR_VERDICT_DEFER && sh->delivered)
			log_defer(sh, ev->relay);
		return;
	}
	snprintf(level, sizeof level, "%s", sh->last.level);
	memset(&sh->last, 0, sizeof sh->last);
	snprintf(sh->last.level, sizeof sh->last.level, "%s", level);
	sh->last.valid = 1;
	if (o.up && sh->seen_ok < 0) {
		sh->last.verdict = TR_VERDICT_UNKNOWN;
		snprintf(sh->last.text, sizeof sh->last.text, "the certificate chain of a resumed "
		         "session cannot be checked against the candidate's TLSA records");
		return;
	}
	if (o.up)
		o.info = sh->seen;
	sh->last.verdict = tr_tls_judge(&sh->d, sh->dane, &o, ev->relay, &sh->last.why, &st);
	snprintf(sh->last.text, sizeof sh->last.text, "%s", st.text);
	if (sh->last.verdict == TR_VERDICT_DEFER && sh->delivered)
		log_defer(sh, ev->relay);
}

void tr_shadow_observe(void *arg, const tr_event *ev)
{
	tr_shadow *sh = arg;

	if (!sh->on)
		return;
	switch (ev->type) {
	case TR_EV_NEXTHOP:
		on_nexthop(sh, ev);
		break;
	case TR_EV_SERVER:
		on_server(sh, ev);
		break;
	case TR_EV_CONNECT:
		sh->seen_ok = 0;
		sh->delivered = 0;
		break;
	case TR_EV_TLS:
		on_tls(sh, ev);
		break;
	case TR_EV_RCPT:
		sh->delivered |= ev->st->cat == TLSRELAY_OK;
		break;
	case TR_EV_END:
		on_end(sh, ev);
		break;
	default:
		break;
	}
}

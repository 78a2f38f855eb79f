/*
 * policy_api.c - tlsrelay_policy_get(): the TLS policy of one nexthop as
 * flags that a host MTA's own SMTP client can enforce (the Exim shared
 * object in plugin/exim/ turns them into hosts_require_tls & co).
 *
 * Decisions:
 * - The nexthop is taken as written: no relayhost, no MX lookup. The host
 *   MTA routes the mail; it asks about the nexthop it chose (a domain for
 *   MX delivery, "[host]:port" for a smarthost), which is also what the
 *   tls_policy_map is keyed on (Postfix smtp_tls_policy_maps semantics).
 * - Only tls_policy_map is loaded, never sasl_password_map: the caller may
 *   run as a user that must not read passwords (Exim's transport user).
 * - "complete" is conservative: anything the flags cannot express (DANE,
 *   pinned digests, secure's nexthop names, match= lists, protocol or
 *   cipher limits, an SNI name) makes it 0, so that a host MTA can send
 *   such destinations through the tlsrelay transport instead.
 * - So does a policy source that tlsrelay consults only at delivery
 *   (delivery_source): with mta_sts = yes, an MX destination without a
 *   tls_policy_map entry (sts.h's precedence) is never complete. An
 *   enforce policy means MX hosts limited to its patterns and a name that
 *   must be a subjectAltName DNS-ID of the MX host: the flags cannot say
 *   either; and any policy can appear, change or be refreshed at the next
 *   delivery. The MTA-STS cache is not read here: this code runs in the
 *   host MTA's processes, as its user, and an SQLite file opened there
 *   would get journal files the transport's user may not write. A future
 *   source that is decided at delivery belongs in delivery_source too.
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "ctx.h"
#include "demand.h"
#include "nexthop.h"
#include "policy.h"
#include "status.h"

/* Load tls_policy_map if it is set and not loaded yet. */
static tlsrelay_cat load_policy_map(tlsrelay_ctx *ctx, tlsrelay_status *st)
{
	if (ctx->cfg.tls_policy_map && ctx->policy == NULL &&
	    (ctx->policy = tr_policy_map_load(ctx->cfg.tls_policy_map, st)) == NULL)
		return st->cat;
	return tr_status_ok(st);
}

/* Attributes beyond the level that a plain TLS client would ignore. */
static int has_extras(const tr_policy *p)
{
	return p->min_proto != 0 || p->max_proto != 0 || p->grade[0] != '\0' ||
	       (p->servername[0] != '\0' && strcmp(p->servername, "hostname") != 0);
}

/* Are the flags the whole nexthop demand (delivery_source aside)? */
static int is_complete(const tr_demand_in *in, const tr_demand *d)
{
	if (has_extras(in->policy))
		return 0;
	switch (d->level) {
	case TR_TLS_NONE:
	case TR_TLS_MAY:
	case TR_TLS_ENCRYPT:
		return 1;
	case TR_TLS_VERIFY:
		return d->nnames == 1 && strcmp(d->names[0], "hostname") == 0;
	default:
		return 0;
	}
}

/* The policy source decided only at delivery that applies to the
 * nexthop of in, which the flags cannot carry: its description, or NULL.
 * The demand says where MTA-STS applies (demand.h R6). */
static const char *delivery_source(const tr_demand_in *in, int mta_sts)
{
	if (tr_demand_wants_sts(in, mta_sts))
		return "MTA-STS (mta_sts = yes) applies at delivery";
	return NULL;
}

tlsrelay_cat tlsrelay_policy_get(tlsrelay_ctx *ctx, const char *nexthop,
                                 tlsrelay_policy_info *out, tlsrelay_status *st)
{
	tr_nexthop nh;
	tr_policy pol, shown;
	tr_demand_in in;
	tr_demand d;
	char err[128], q[TR_QUOTE_MAX + 4], text[TR_POLICY_TEXT_MAX];
	const char *later;

	if (ctx == NULL || out == NULL)
		return tr_status_set(st, TLSRELAY_USAGE, "5.5.4", "no context or result");
	if (tr_nexthop_parse(nexthop, &nh, err, sizeof err) < 0)
		return tr_status_set(st, TLSRELAY_USAGE, "5.5.4", "bad nexthop \"%s\": %s",
		                     tr_quote(nexthop ? nexthop : "", q), err);
	if (load_policy_map(ctx, st) != TLSRELAY_OK)
		return st->cat;
	tr_demand_in_init(&in);
	in.nh = &nh;
	in.policy = &pol;
	in.mapped = tr_policy_for_nexthop(ctx->policy, &nh, ctx->cfg.tls_level, &pol);
	tr_demand_for_nexthop(&in, &d);
	tr_demand_nexthop_policy(&in, &shown);
	later = delivery_source(&in, ctx->cfg.mta_sts);
	out->level = tr_tls_level_name(d.level);
	out->tls_required = tr_level_tls_required(d.level);
	out->verify_chain = tr_level_must_match(d.level);
	out->verify_name = out->verify_chain;
	out->complete = is_complete(&in, &d) && later == NULL;
	snprintf(out->text, sizeof out->text, "%s%s%s%s", tr_policy_format(&shown, text, sizeof text),
	         later ? " [" : "", later ? later : "", later ? "]" : "");
	return tr_status_ok(st);
}

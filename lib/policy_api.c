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

/* Are the flags the whole demand? Not when another policy source may
 * apply (MTA-STS: its demand depends on the MX host and a lookup the
 * host MTA does not make), nor beyond what the flags say. */
static int is_complete(const tr_demand_in *in, const tr_demand *d, int mta_sts)
{
	if (tr_demand_wants_sts(in, mta_sts) || has_extras(in->policy))
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

tlsrelay_cat tlsrelay_policy_get(tlsrelay_ctx *ctx, const char *nexthop,
                                 tlsrelay_policy_info *out, tlsrelay_status *st)
{
	tr_nexthop nh;
	tr_policy pol, shown;
	tr_demand_in in;
	tr_demand d;
	char err[128], q[TR_QUOTE_MAX + 4], text[TR_POLICY_TEXT_MAX];

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
	out->level = tr_tls_level_name(d.level);
	out->tls_required = tr_level_tls_required(d.level);
	out->verify_chain = tr_level_must_match(d.level);
	out->verify_name = out->verify_chain;
	out->complete = is_complete(&in, &d, ctx->cfg.mta_sts);
	snprintf(out->text, sizeof out->text, "%s", tr_policy_format(&shown, text, sizeof text));
	return tr_status_ok(st);
}

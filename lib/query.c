/*
 * query.c - tlsrelay_policy_describe(): what policy mail for a destination
 * would get, without sending anything (tlsrelay -q).
 *
 * The destination is routed as mail would be: a bare domain goes to the
 * relayhost when one is configured (the policy is then the relay host's,
 * as Postfix looks policies up by nexthop), else to its MX hosts; a
 * destination with a port, brackets or an smtp:/smtps: prefix is that
 * nexthop itself. The policy is the nexthop-level TLS demand (demand.h):
 * the tls_policy_map entry for the nexthop, else tls_security_level; at a
 * DANE-based level each MX host's demand (query_dane.c).
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "ctx.h"
#include "dane.h"
#include "demand.h"
#include "nexthop.h"
#include "policy.h"
#include "query.h"
#include "sasl.h"
#include "status.h"
#include "sts.h"

tlsrelay_cat tr_query_inputs(tlsrelay_ctx *ctx, const char *dest, tr_nexthop *nh,
                             tr_policy *pol, tr_demand_in *in, int *via_relay,
                             tlsrelay_status *st)
{
	const char *relay = ctx->cfg.relayhost;
	char err[128];

	/* Only a bare domain follows the relayhost; "[h]", "h:port",
	 * "smtps:..." name the server themselves. */
	*via_relay = strpbrk(dest, "[:") == NULL && relay && *relay;
	if (tr_nexthop_parse(*via_relay ? relay : dest, nh, err, sizeof err) < 0)
		return tr_status_set(st, *via_relay ? TLSRELAY_CONFIG : TLSRELAY_USAGE,
		                     "4.3.5", "bad destination \"%.100s\": %s",
		                     *via_relay ? relay : dest, err);
	if (tr_ctx_load_maps(ctx, st) != TLSRELAY_OK)
		return st->cat;
	tr_demand_in_init(in);
	in->nh = nh;
	in->policy = pol;
	in->is_relay = *via_relay || strpbrk(dest, "[:") != NULL;
	in->mapped = tr_policy_for_nexthop(ctx->policy, nh, ctx->cfg.tls_level, pol);
	return tr_status_ok(st);
}

tlsrelay_cat tlsrelay_policy_describe(tlsrelay_ctx *ctx, const char *dest,
                                      char *out, size_t cap, tlsrelay_status *st)
{
	tr_nexthop nh;
	tr_policy pol, shown;
	tr_demand_in in;
	tr_demand d;
	tr_sasl_cred cred;
	char hop[TR_NEXTHOP_TEXT_MAX], text[TR_POLICY_TEXT_MAX], sts[2048];
	int via_relay, has_cred;

	if (cap == 0)
		return tr_status_set(st, TLSRELAY_USAGE, "5.5.4", "no room for the answer");
	if (tr_query_inputs(ctx, dest, &nh, &pol, &in, &via_relay, st) != TLSRELAY_OK)
		return st->cat;
	tr_demand_nexthop_policy(&in, &shown);
	tr_demand_for_nexthop(&in, &d);
	has_cred = ctx->sasl && tr_sasl_lookup(ctx->sasl, nh.host, nh.port, &nh, &cred);
	snprintf(out, cap, "%s: nexthop %s%s: %s%s%s", dest,
	         tr_nexthop_format(&nh, hop, sizeof hop), via_relay ? " (relayhost)" : "",
	         tr_policy_format(&shown, text, sizeof text),
	         has_cred ? "; AUTH with the credentials of key " : "", has_cred ? cred.key : "");
	tr_query_dane(ctx, &in, d.level, out, cap);   /* dane, dane-only: per MX host */
	/* MTA-STS is for a recipient domain only: a bare domain, no relayhost. */
	tr_sts_describe(ctx, &nh, in.is_relay, in.mapped, sts, sizeof sts);
	if (sts[0]) {
		size_t n = strlen(out);
		snprintf(out + n, cap - n, "%s", sts);
	}
	return tr_status_ok(st);
}

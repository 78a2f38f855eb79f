/*
 * shadow.h - the shadow policy: a candidate TLS policy evaluated beside
 * the live one, without changing delivery (shadow.c).
 *
 * THE CANDIDATE
 *   The live configuration with two settings replaced:
 *     tls_shadow_security_level   instead of tls_security_level
 *     tls_shadow_policy_map       instead of tls_policy_map (Postfix syntax)
 *   (either may be unset: that part stays the live one). The shadow is on
 *   when one of them is set. Every other input of the demand (the message's
 *   requirement, RFC 8689, MTA-STS, credentials, the server's name) is the
 *   live delivery's: the candidate demand is tr_demand_for_server() of the
 *   same tr_demand_in with the candidate's policy.
 *
 * HOW IT IS JUDGED (an observer of the delivery, observe.h)
 *   SERVER   the candidate demand of the server, computed beside the live
 *            one. Its DANE facts are the live delivery's when the live
 *            level is DANE-based; otherwise, when the candidate's is, the
 *            observer looks them up itself (DNS through dns_resolver: the
 *            MX lookup's DNSSEC status at NEXTHOP, the server's addresses
 *            and TLSA records here). It never connects to a server.
 *   TLS      what the live connection showed, seen under the candidate:
 *            the certificate checked against the candidate's names and
 *            pins, and its chain against the candidate's TLSA records
 *            (tr_tls_posture_for).
 *   END      the verdict: tr_tls_judge(candidate demand, what the session
 *            showed) - pass, would defer (with the class and the text:
 *            "would defer: certificate name mismatch"), or unknown (the
 *            session never got to TLS; TLS offered but not tried because
 *            the live level was none; a resumed session under a DANE
 *            candidate). A live plaintext retry of level may is not
 *            judged again: the first session showed the TLS.
 *   A server the live demand skips is judged on the candidate's skip
 *   alone (would defer when the candidate skips it too, else unknown).
 *
 * A session whose mail the live policy delivered and the candidate would
 * have deferred is logged (LOG_INFO, "shadow policy: would defer ...");
 * the TLS history (history.h) records every verdict. A candidate map
 * that cannot be loaded turns the shadow off for the delivery (logged);
 * delivery is never affected.
 *
 * What "would defer" means: the server that took the mail would have been
 * refused under the candidate. Whether another MX host would have taken
 * it instead the delivery cannot show (it was not tried).
 */
#ifndef TR_SHADOW_H
#define TR_SHADOW_H

#include "dane.h"
#include "demand.h"
#include "dns.h"
#include "observe.h"
#include "policy.h"
#include "tls.h"

struct tlsrelay_ctx;

/* The verdict on the last server or session, for the history observer
 * (which runs after the shadow's own). */
typedef struct tr_shadow_verdict {
	int valid;                 /* a verdict was made for the last attempt */
	tr_verdict verdict;
	tr_tls_fail why;
	char level[16];            /* the candidate's level at that server */
	char text[TLSRELAY_TEXT_MAX];
} tr_shadow_verdict;

typedef struct tr_shadow {
	struct tlsrelay_ctx *ctx;
	int on;                    /* the shadow runs for this delivery */
	tr_dns dns;                /* for its own DANE lookups */
	/* the nexthop */
	tr_policy pol;             /* the candidate's policy for it */
	tr_demand_in in;           /* the candidate's inputs */
	tr_demand nhd;             /* the candidate's nexthop-level demand */
	int own_dane;              /* DANE facts looked up by the shadow */
	tr_dane_mx mx_state;
	/* the server */
	tr_demand d;               /* the candidate demand */
	tr_dane_host facts;        /* own DANE facts (own_dane) */
	const tr_dane_host *dane;  /* the facts used (own or the live ones) */
	/* the session */
	tr_tls_info seen;          /* the live TLS under the candidate */
	int seen_ok;               /* -1: cannot tell, 0 no TLS, 1 seen */
	int delivered;             /* a recipient accepted in this session */
	tr_shadow_verdict last;
} tr_shadow;

/* Is a shadow configured (tls_shadow_security_level or
 * tls_shadow_policy_map)? */
int tr_shadow_configured(const struct tlsrelay_ctx *ctx);

/* Set up sh for one delivery: on when configured and the candidate map
 * (if any) loads; a map that does not is logged and the shadow is off. */
void tr_shadow_init(tr_shadow *sh, struct tlsrelay_ctx *ctx);

/* Load tls_shadow_policy_map into the context once (tlsrelay_ctx_prepare
 * does it for tlsrelayd's processes); OK also when none is set.
 * Returns: OK, CONFIG 4.3.5 ("tls_shadow_policy_map FILE:LINE: ..."). */
tlsrelay_cat tr_shadow_load(struct tlsrelay_ctx *ctx, tlsrelay_status *st);

/* Release what sh looked up. */
void tr_shadow_end(tr_shadow *sh);

/* The observer (observe.h); arg: a tr_shadow. */
void tr_shadow_observe(void *arg, const tr_event *ev);

/* The candidate's inputs for a nexthop: *out = *live with the candidate's
 * policy in *pol (its map entry, else its level).
 * Returns: OK; CONFIG 4.3.5 (no shadow configured, or its map cannot be
 * loaded: the text says which). */
tlsrelay_cat tr_shadow_inputs(struct tlsrelay_ctx *ctx, const tr_demand_in *live,
                              tr_policy *pol, tr_demand_in *out, tlsrelay_status *st);

#endif

/*
 * sts.h - MTA-STS (RFC 8461) discovery, and the MTA-STS state of one
 * delivery (sts.c). What a policy means for a server is the TLS demand's
 * rule R6 (demand.h); TLS-RPT recording is an observer (tlsrpt.h).
 *
 * WHEN MTA-STS APPLIES (precedence, highest first; demand.h R6):
 *   1. an explicit tls_policy_map entry for the nexthop (the admin's word:
 *      as Postfix with postfix-mta-sts-resolver, where a static map is
 *      consulted before the resolver's socketmap);
 *   2. DANE: an MX host with usable TLSA records is delivered with DANE,
 *      never with MTA-STS (RFC 8461 section 2);
 *   3. MTA-STS, when mta_sts = yes, only for MX delivery to the recipient's
 *      domain (not to a relayhost, -r nexthop or [bracketed] host);
 *   4. tls_security_level.
 *
 * DISCOVERY (tr_sts_discover, RFC 8461 3.3 and 5.1): the _mta-sts.DOMAIN
 * TXT record through dns_resolver; then
 *   - TXT id equal to the cached policy's and the policy not expired: the
 *     cached policy, no fetch;
 *   - no cached policy, id changed, or cached policy expired: fetch
 *     (sts_fetch.h), parse strictly (sts_policy.h), store;
 *   - fetch or parse failure: the cached policy if not expired, else none;
 *   - no TXT record, several STSv1 records, a bad record, or a failed TXT
 *     lookup: the cached policy if not expired, else none (RFC 8461 3.3: a
 *     policy stays valid until max_age even when the record goes away).
 *   mode none is cached like the others (it is how a domain withdraws).
 *
 * ENFORCEMENT, per MX host (demand.h R6):
 *   enforce - a host matching no mx pattern is skipped (TEMP 4.7.5 when no
 *             host is left); TLS is required (no plaintext fallback) and
 *             the certificate must verify for the MX host name (level
 *             verify, match=hostname, SNI = host); a stronger configured
 *             level (secure) is kept; either way the name must be a
 *             subjectAltName DNS-ID, never the subject CN alone (RFC 8461
 *             4.2: the demand's san_only);
 *   testing - delivery as configured; a mismatch or bad certificate is
 *             logged and recorded for TLS-RPT;
 *   none    - nothing.
 *   A message with RFC 8689 "TLS-Required: No" (tls_required_enable = yes)
 *   gets enforce as testing.
 *
 * TLS-RPT: see tlsrpt.h (tr_tlsrpt_observe).
 */
#ifndef TR_STS_H
#define TR_STS_H

#include "tlsrelay.h"
#include "dns.h"
#include "nexthop.h"
#include "smtp_client.h"
#include "sts_cache.h"
#include "sts_policy.h"

struct tlsrelay_ctx;

typedef struct tr_sts_found {
	int have;                      /* a policy applies (any mode) */
	tr_sts_policy pol;
	char id[TR_STS_ID_MAX];
	long long expires;
	const char *origin;            /* "cache", "fetched", "cache (fetch failed)" */
	char fail_type[32];            /* RFC 8460 policy failure now, "" none */
	char fail_text[TLSRELAY_TEXT_MAX];
} tr_sts_found;

/* Discover domain's policy with store (NULL = no cache) at time now.
 * force: fetch even when the cached id is current (tlsrelay-sts refresh).
 * A fetch takes at most min(60 s, command_timeout) and ends by
 * deadline_ms (tr_now_ms() based; 0 = no deadline).
 * Never fails: problems end in out->fail_* and a logged warning. */
void tr_sts_discover(struct tlsrelay_ctx *ctx, const tr_dns *dns,
                     tr_sts_store *store, const char *domain, int force,
                     long long now, long long deadline_ms, tr_sts_found *out);

/* Per delivery: the store (opened on first use) and the MTA-STS policy of
 * the nexthop being routed. */
typedef struct tr_sts_run {
	struct tlsrelay_ctx *ctx;
	tr_sts_store *store;           /* NULL = none (yet) */
	int store_failed;
	int active;                    /* MTA-STS looked up for this nexthop */
	char domain[TR_HOSTNAME_MAX];
	tr_sts_found f;
} tr_sts_run;

/* Start a delivery (nothing is opened yet). */
void tr_sts_run_init(tr_sts_run *r, struct tlsrelay_ctx *ctx);

/* The store of mta_sts_cache, opened on the first call of a delivery;
 * NULL when unset or unusable (logged once: a cache problem never stops
 * mail). */
tr_sts_store *tr_sts_run_store(tr_sts_run *r);

/* Look up the policy of nexthop domain (MTA-STS applies: the caller asked
 * tr_demand_wants_sts). Logs the policy found. */
void tr_sts_run_nexthop(tr_sts_run *r, const tr_dns *dns, const char *domain,
                        long long deadline_ms);

/* The policy for the demand (demand.h): NULL when none applies. */
const tr_sts_policy *tr_sts_run_policy(const tr_sts_run *r);

/* Not routing a nexthop under MTA-STS any more. */
void tr_sts_run_clear(tr_sts_run *r);

/* End the delivery: release the store. */
void tr_sts_run_end(tr_sts_run *r);

/* The one line that says a store opened read-only (tr_sts_store_readonly
 * not NULL) loses policies and results, into out; returns out. Logged at
 * LOG_ERR once per delivery, printed by tlsrelay-sts. */
const char *tr_sts_readonly_text(const tr_sts_store *store, char *out, size_t cap);

/* For tlsrelay -q (no network): "" when MTA-STS does not apply to nh
 * (see WHEN above), else " [MTA-STS: ...]" with the cached policy's mode,
 * id, expiry and mx patterns, or "no cached policy". */
void tr_sts_describe(struct tlsrelay_ctx *ctx, const tr_nexthop *nh, int is_relay,
                     int policy_mapped, char *out, size_t cap);

#endif

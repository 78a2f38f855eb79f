/*
 * sts.h - MTA-STS (RFC 8461) in the delivery path, and TLS-RPT (RFC 8460)
 * recording (sts.c). deliver.c calls the four tr_sts_route_* functions;
 * tlsrelay-sts calls tr_sts_discover.
 *
 * WHEN MTA-STS APPLIES (precedence, highest first):
 *   1. an explicit tls_policy_map entry for the nexthop (the admin's word:
 *      as Postfix with postfix-mta-sts-resolver, where a static map is
 *      consulted before the resolver's socketmap);
 *   2. DANE: an MX host with usable TLSA records is delivered with DANE,
 *      never with MTA-STS (RFC 8461 section 2). The hook is the
 *      has_usable_tlsa argument of tr_sts_route_host/_params: deliver.c
 *      passes route.has_usable_tlsa, which the DANE code sets per MX host
 *      (0 until DANE is merged);
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
 * ENFORCEMENT, per MX host:
 *   enforce - a host matching no mx pattern is skipped (TEMP 4.7.5 when no
 *             host is left); TLS is required (no plaintext fallback) and
 *             the certificate must verify for the MX host name (level
 *             verify, match=hostname, SNI = host); a stronger configured
 *             level (secure) is kept; either way the name must be a
 *             subjectAltName DNS-ID, never the subject CN alone (RFC 8461
 *             4.2: tr_tls_params.san_only);
 *   testing - delivery as configured; a mismatch or bad certificate is
 *             logged and recorded for TLS-RPT;
 *   none    - nothing.
 *   A message with RFC 8689 "TLS-Required: No" (tls_required_enable = yes)
 *   gets enforce as testing: see tr_sts_route_relax.
 *
 * TLS-RPT: with mta_sts = yes and mta_sts_cache set, each session's TLS
 * result is counted in the store (sts_cache.h) per policy domain, with the
 * RFC 8460 result type; policy fetch failures too. DANE servers are
 * counted under policy-type "tlsa" (tr_sts_route_dane) whenever
 * mta_sts_cache is set, even with mta_sts = no.
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

/* Per delivery: the state of MTA-STS for the nexthop being routed. */
typedef struct tr_sts_route {
	struct tlsrelay_ctx *ctx;
	tr_sts_store *store;           /* opened on first use; NULL = none */
	int store_failed;
	int active;                    /* MTA-STS looked up for this nexthop */
	int relaxed;                   /* TLS-Required: No: enforce as testing */
	char domain[TR_HOSTNAME_MAX];
	tr_sts_found f;
} tr_sts_route;

/* Begin a nexthop: look up the policy when MTA-STS applies (mta_sts = yes,
 * MX delivery to the recipient domain, no policy map entry). */
void tr_sts_route_begin(tr_sts_route *r, struct tlsrelay_ctx *ctx, const tr_dns *dns,
                        const tr_nexthop *nh, int is_relay, int policy_mapped,
                        long long deadline_ms);

/* RFC 8689 "TLS-Required: No" (tls_required_enable = yes): the policy is
 * not applied to this message. Under enforce, MX hosts outside the
 * patterns are tried and the level is not raised (level: the configured
 * one, logged); sessions are logged and counted for TLS-RPT as in testing
 * mode (the receiving domain still learns about its failures). Logs one
 * line when an enforce policy is relaxed. Call after tr_sts_route_begin. */
void tr_sts_route_relax(tr_sts_route *r, tr_tls_level level);

/* May host be used? 1 yes; 0 skip it (enforce, no pattern matches), *st
 * then TEMP 4.7.5. */
int tr_sts_route_host(tr_sts_route *r, const char *host, int has_usable_tlsa,
                      tlsrelay_status *st);

/* Adjust a session's TLS parameters for host (enforce: level verify,
 * match=hostname, SNI host, san_only). */
void tr_sts_route_params(tr_sts_route *r, const char *host, int has_usable_tlsa,
                         tr_session_params *p);

/* After a session: count its TLS result (TLS-RPT), log testing-mode
 * failures. */
void tr_sts_route_session(tr_sts_route *r, const char *host, const tr_addr *addr,
                          int has_usable_tlsa, const tr_tls_outcome *o);

/* TLS-RPT of a DANE server (policy-type "tlsa", RFC 8460 4.3) when
 * mta_sts_cache is set, whether mta_sts is on or not: count one session
 * of MX host (addr, o: NULL when no address was tried; o->sending_ip
 * is the failure's sending-mta-ip) under the nexthop
 * domain with result ("success" or an RFC 8460 result type; NULL: nothing
 * to count). policy-string: dh's usable TLSA records in presentation
 * format ("3 1 1 HEX"), none when dh is not USABLE (dnssec-invalid,
 * dane-required); mx-host: host. */
struct tr_dane_host;
void tr_sts_route_dane(tr_sts_route *r, const char *domain, const char *host,
                       const tr_addr *addr, const struct tr_dane_host *dh,
                       const tr_tls_outcome *o, const char *result);

/* The RFC 8460 result type of a session under usable TLSA records:
 * success, tlsa-invalid (no record matched), starttls-not-supported,
 * validation-failure (handshake failed); NULL when not greeted. */
const char *tr_dane_result_type(const tr_tls_outcome *o);

/* Release the store. */
void tr_sts_route_end(tr_sts_route *r);

/* The one line that says a store opened read-only (tr_sts_store_readonly
 * not NULL) loses policies and results, into out; returns out. Logged at
 * LOG_ERR once per delivery, printed by tlsrelay-sts. */
const char *tr_sts_readonly_text(const tr_sts_store *store, char *out, size_t cap);

/* For tlsrelay -q (no network): "" when MTA-STS does not apply to nh
 * (see route_begin), else " [MTA-STS: ...]" with the cached policy's mode,
 * id, expiry and mx patterns, or "no cached policy". */
void tr_sts_describe(struct tlsrelay_ctx *ctx, const tr_nexthop *nh, int is_relay,
                     int policy_mapped, char *out, size_t cap);

/* The RFC 8460 result type of a session under an STS policy (sts = 1) or
 * no policy (sts = 0); NULL when there is nothing to count (no greeting). */
const char *tr_sts_result_type(const tr_tls_outcome *o, int sts);

#endif

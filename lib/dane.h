/*
 * dane.h - the DANE facts of one server (RFC 7672) (dane.c): the DNSSEC
 * status of the MX lookup and of the server's address records, and its
 * TLSA records. What they mean for the server's TLS (the table below) is
 * decided by the TLS demand (demand.h, rule R5), not here.
 *
 * Levels dane and dane-only (tls_level.h) are "DANE-based": the nexthop's
 * MX lookup and every server's address lookup then ask for DNSSEC
 * (tr_dns_mx_sec, tr_dns_addrs_sec) and tr_dane_route_host() gathers the
 * facts; the demand then says:
 *
 *   situation                                   dane          dane-only
 *   MX RRset insecure (MX delivery)             see below     defer 4.7.5
 *   address records insecure, or an IP          may           defer 4.7.5
 *   no TLSA records (secure NODATA/NXDOMAIN,
 *     or insecure TLSA records)                 may           defer 4.7.5
 *   TLSA lookup failed (SERVFAIL = bogus DNSSEC,
 *     timeout, malformed)                       defer 4.7.5   defer 4.7.5
 *   secure TLSA, none usable (only usage 0/1,
 *     unknown parameters)                       encrypt       defer 4.7.5
 *   secure TLSA, some usable                    DANE          DANE
 *
 * A message's requirement never replaces DANE: it raises the may/encrypt
 * of the dane column to its floor (demand.h R4, R5).
 *
 * "defer" is for this server: the caller tries the next MX host and the
 * recipients keep the last failure (all temporary, never plaintext).
 * DANE means: TLS required (no STARTTLS -> 4.7.4), the certificate must
 * match a usable TLSA record (tls_dane.c), otherwise 4.7.5.
 *
 * Insecure MX RRset at level dane (Postfix >= 3.10 default
 * smtp_tls_dane_insecure_mx_policy = dane): the MX hosts' own TLSA records
 * are still used when their address and TLSA records are secure, but a
 * match is logged "Trusted", not "Verified" (mx_insecure = 1), because the
 * MX host name itself could have been forged.
 *
 * TLSA base domain (RFC 7672 section 2.2.2): when the host name is an alias
 * (CNAME) with secure address records, TLSA records are looked up at the
 * alias target first, then at the original name; the base domain is where
 * they were found. It is sent as SNI. Reference names for DANE-TA(2)
 * matches (RFC 7672 section 3.2.3, as Postfix): the base domain, the
 * original host name when it differs, and, for MX delivery, the nexthop
 * domain. DANE-EE(3) matches ignore names (DANE_FLAG_NO_DANE_EE_NAMECHECKS).
 *
 * MTA-STS: RFC 8461 section 2 gives DANE precedence. tr_dane_preempts_sts()
 * is the one question other policy sources ask: it is true exactly when
 * the server has usable, DNSSEC-validated TLSA records (state
 * TR_DANE_USABLE); the session then enforces DANE and nothing else.
 */
#ifndef TR_DANE_H
#define TR_DANE_H

#include "tlsrelay.h"
#include "dns.h"
#include "dns_tlsa.h"
#include "tls_level.h"

typedef enum tr_dane_state {
	TR_DANE_OFF = 0,      /* the level is not dane/dane-only: not looked at */
	TR_DANE_NONE,         /* no DANE for this server (insecure, no records) */
	TR_DANE_UNUSABLE,     /* secure TLSA records, none usable */
	TR_DANE_USABLE        /* usable secure TLSA records: DANE enforced */
} tr_dane_state;

/* DNSSEC status of the nexthop's MX lookup. */
typedef enum tr_dane_mx {
	TR_DANE_MX_NONE = 0,  /* no MX lookup (bracketed nexthop, relay host) */
	TR_DANE_MX_SECURE,
	TR_DANE_MX_INSECURE
} tr_dane_mx;

#define TR_DANE_MAX_NAMES 3

typedef struct tr_dane_host {
	tr_dane_state state;
	int mx_insecure;      /* the MX RRset was insecure: a DANE match is
	                       * "Trusted", not "Verified" */
	char base[TR_HOSTNAME_MAX];    /* TLSA base domain (SNI); "" unless USABLE */
	char names[TR_DANE_MAX_NAMES][TR_HOSTNAME_MAX]; /* DANE-TA reference names */
	int nnames;
	tr_tlsa_set tlsa;     /* the usable records (state USABLE) */
	int tlsa_failed;      /* the TLSA lookup failed (bogus, timeout): TLS-RPT
	                       * "dnssec-invalid" */
	char why[400];        /* one line: how the state was reached */
} tr_dane_host;

/* Does the level use DANE (dane, dane-only)? */
int tr_tls_level_dane(tr_tls_level level);

/* Is this server's policy DANE (usable secure TLSA records)? DANE then
 * takes precedence over MTA-STS (RFC 8461 section 2). h may be NULL. */
int tr_dane_preempts_sts(const tr_dane_host *h);

/* The addresses of host (as tr_dns_addrs_sec, port = the nexthop's port)
 * and its DANE facts. level: what to look up (a level that is not
 * DANE-based: only the addresses, h->state TR_DANE_OFF; dane-only with an
 * insecure MX RRset: no TLSA query, nothing could make it DANE). mx: the
 * status of the MX lookup that named host; nexthop: the nexthop domain
 * (reference name for MX delivery). On OK the address count (>= 1) is in
 * *n and *h is filled (release with tr_dane_host_free; h->tlsa_failed when
 * the TLSA lookup failed: a fact, not a failure of this call); otherwise
 * *st is the address lookup's failure and there is nothing to release.
 * Returns: OK, PERM 5.4.4, TEMP 4.4.3, USAGE, INTERNAL 4.3.0 (those of
 * tr_dns_addrs). */
tlsrelay_cat tr_dane_route_host(const tr_dns *d, tr_tls_level level, tr_dane_mx mx,
                                const char *nexthop, const char *host, int port,
                                tr_addr *out, int max, int *n, tr_dane_host *h,
                                tlsrelay_status *st);

/* Release h's records. Safe on a zeroed h and twice. */
void tr_dane_host_free(tr_dane_host *h);

/* "DANE-EE(3) SPKI(1) SHA2-256(1)"-style name of a record's parameters
 * into out; returns out. */
char *tr_dane_rr_name(const tr_tlsa_rr *rr, char *out, size_t cap);

struct tlsrelay_ctx;
struct tr_demand_in;

/* tlsrelay -q (query_dane.c): at a DANE-based nexthop level, append to
 * out one line per server of in->nh with what delivery would decide (the
 * DNS lookups through the configured resolver and the demand of each
 * server, no connection). Nothing at other levels. out stays
 * NUL-terminated (truncated to cap). */
void tr_query_dane(struct tlsrelay_ctx *ctx, const struct tr_demand_in *in,
                   tr_tls_level level, char *out, size_t cap);

#endif

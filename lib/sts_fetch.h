/*
 * sts_fetch.h - fetching an MTA-STS policy over HTTPS (sts_fetch.c).
 *
 * GET https://mta-sts.DOMAIN[:PORT]/.well-known/mta-sts.txt with libcurl
 * (RFC 8461 section 3.3):
 *   - mta-sts.DOMAIN is resolved by tlsrelay's own DNS code (dns_resolver,
 *     else the system's) and handed to curl with CURLOPT_RESOLVE: curl
 *     never resolves anything itself; no proxy is ever used;
 *   - HTTPS only, TLS 1.2 or later, the certificate verified for
 *     mta-sts.DOMAIN against tls_ca_file and/or tls_ca_path when set (then
 *     only those), else libcurl's system store;
 *   - redirects are not followed: only "200" is a policy; every other
 *     status (3xx included) is a fetch error;
 *   - the media type must be text/plain (parameters such as charset
 *     allowed);
 *   - at most TR_STS_POLICY_MAX (64 KB) of body, else a fetch error;
 *   - time: connect within min(connect_timeout, 30 s), the whole fetch
 *     within timeout_s seconds.
 * PORT is mta_sts_https_port (tests only; 443 writes no port).
 */
#ifndef TR_STS_FETCH_H
#define TR_STS_FETCH_H

#include <stddef.h>
#include "dns.h"
#include "status.h"

struct tlsrelay_ctx;

/* Outcome, as RFC 8460 result types. */
typedef enum tr_sts_fetch_res {
	TR_STS_FETCH_OK = 0,
	TR_STS_FETCH_ERROR,      /* sts-policy-fetch-error: DNS, connect, HTTP
	                          * status, media type, size, time */
	TR_STS_FETCH_WEBPKI      /* sts-webpki-invalid: the HTTPS certificate */
} tr_sts_fetch_res;

/* Fetch the policy of domain: *body (malloc'd, NUL-terminated, caller
 * frees) and *len on OK, else *body NULL. *res: the outcome as RFC 8460
 * names it (TR_STS_FETCH_OK with OK).
 * Returns: OK; TEMP (no DSN: a fetch failure is never a message's status)
 * with a one-line reason starting with the URL. */
tlsrelay_cat tr_sts_fetch(struct tlsrelay_ctx *ctx, const tr_dns *dns,
                          const char *domain, int timeout_s, char **body, size_t *len,
                          tr_sts_fetch_res *res, tlsrelay_status *st);

#endif

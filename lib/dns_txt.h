/*
 * dns_txt.h - TXT lookups (dns_txt.c), for _mta-sts and _smtp._tls records.
 * Same resolver settings as dns.h (dns_resolver, timeouts).
 */
#ifndef TR_DNS_TXT_H
#define TR_DNS_TXT_H

#include "dns.h"

#define TR_DNS_TXT_MAX   2048     /* bytes of one record (strings joined) */
#define TR_DNS_TXT_COUNT 8        /* records kept at most */

/* TXT records of name, class IN, at most max, in answer order: those
 * owned by name or, when the answer holds a CNAME chain from name (at most
 * 8 hops), by its end (tr_dns_walk, dns_res.h); records of any other
 * owner are ignored. Each record's character-strings are joined without
 * separator (RFC 8461 3.1, RFC 8460 3) into out[i]; a longer record is cut
 * to TR_DNS_TXT_MAX - 1 bytes; NUL bytes inside end the text there. The
 * count into *n (0 = no such name or no TXT record, or a failure).
 * Returns: OK; TEMP 4.4.3 ("TXT lookup of NAME: REASON" for a server
 * failure, timeout or refusal, "malformed DNS answer", "cannot initialise
 * the resolver"); INTERNAL 4.3.0 (out of memory). */
tlsrelay_cat tr_dns_txt(const tr_dns *d, const char *name,
                        char out[][TR_DNS_TXT_MAX], int max, int *n, tlsrelay_status *st);

#endif

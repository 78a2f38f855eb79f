/*
 * dns_tlsa.h - DANE TLSA lookups (RFC 6698, RFC 7672 section 2.2)
 * (dns_tlsa.c).
 *
 * tr_dns_tlsa() asks for the TLSA RRset at _PORT._tcp.HOST with DNSSEC
 * (EDNS0 + DO) through the resolver of tr_dns and trusts the AD bit of the
 * answer (see dns_res.h: the resolver must be a validating one the admin
 * runs). Outcomes:
 *   TR_TLSA_FOUND - a secure (AD) RRset: out->total records, out->n of
 *                   them usable and kept (at most TR_TLSA_MAX);
 *   TR_TLSA_NONE  - no records that count: NXDOMAIN or NODATA, or records
 *                   without the AD bit (out->insecure = 1): insecure
 *                   answers never count as DANE;
 *   TR_TLSA_TEMP  - the lookup failed: SERVFAIL (a validating resolver's
 *                   answer to bogus DNSSEC), timeout, refused, malformed
 *                   answer. The caller defers (4.7.5), never downgrades.
 * why (whysz bytes) gets a one-line reason for NONE and TEMP.
 *
 * Usable records (RFC 7672 section 3.1): certificate usage DANE-TA(2) or
 * DANE-EE(3), selector Cert(0) or SPKI(1), matching type Full(0), SHA2-256(1)
 * with 32 bytes or SHA2-512(2) with 64 bytes. PKIX-TA(0) and PKIX-EE(1)
 * records are "unusable" for SMTP, as are unknown parameters and bad
 * lengths; they count in total, not in n.
 *
 * The records' data are allocated: release with tr_tlsa_free() (also safe
 * on a zeroed or already released set).
 */
#ifndef TR_DNS_TLSA_H
#define TR_DNS_TLSA_H

#include <stddef.h>
#include "dns.h"

#define TR_TLSA_MAX        32        /* usable records kept per RRset */
#define TR_TLSA_DATA_MAX   8192      /* longest association data kept */

#define TR_TLSA_USAGE_DANE_TA  2
#define TR_TLSA_USAGE_DANE_EE  3

typedef struct tr_tlsa_rr {
	unsigned char usage, selector, mtype;
	unsigned char *data;
	size_t len;
} tr_tlsa_rr;

typedef struct tr_tlsa_set {
	tr_tlsa_rr rr[TR_TLSA_MAX];
	int n;                        /* usable records in rr */
	int total;                    /* records in the RRset */
	int insecure;                 /* records seen without the AD bit */
	char owner[TR_HOSTNAME_MAX + 16];   /* "_25._tcp.mx.example.com" */
} tr_tlsa_set;

typedef enum tr_tlsa_res {
	TR_TLSA_FOUND,
	TR_TLSA_NONE,
	TR_TLSA_TEMP
} tr_tlsa_res;

/* See above. host: a host name (no IP literal), port 1..65535; out is
 * overwritten (release it first if it held records). */
tr_tlsa_res tr_dns_tlsa(const tr_dns *d, int port, const char *host,
                        tr_tlsa_set *out, char *why, size_t whysz);

/* 1 when the parameters make a record usable for SMTP (see above). */
int tr_tlsa_usable(int usage, int selector, int mtype, size_t len);

/* Free the records' data; the set becomes empty. */
void tr_tlsa_free(tr_tlsa_set *s);

#endif

/*
 * tlsrpt.h - RFC 8460 aggregate reports from the results store
 * (tlsrpt.c): the JSON report of one policy domain for one UTC day, the
 * _smtp._tls TXT record, and the report mail.
 *
 * JSON (RFC 8460 section 4): one object
 *   organization-name, date-range{start-datetime, end-datetime} (the whole
 *   UTC day, "YYYY-MM-DDT00:00:00Z" .. "YYYY-MM-DDT23:59:59Z"),
 *   contact-info, report-id, policies[]: one entry per distinct policy
 *   seen that day: policy{policy-type, policy-string[] (the policy's
 *   lines; omitted for no-policy-found), policy-domain, mx-host[] (the STS
 *   mx patterns; omitted when none)}, summary{total-successful-session-count,
 *   total-failure-session-count}, failure-details[] (one per result type,
 *   receiving MX and IP and our address: result-type, sending-mta-ip,
 *   receiving-mx-hostname and receiving-ip when known,
 *   failed-session-count).
 *
 * MAIL (RFC 8460 section 5.3): multipart/report; report-type="tlsrpt",
 *   a text/plain part and the gzip'd JSON as application/tlsrpt+gzip
 *   (base64) named "SUBMITTER!DOMAIN!BEGIN!END!ID.json.gz"; headers
 *   TLS-Report-Domain, TLS-Report-Submitter, and TLS-Required: No (RFC 8689:
 *   the report must reach a domain whose TLS is broken).
 */
#ifndef TR_TLSRPT_H
#define TR_TLSRPT_H

#include <stdio.h>
#include "sts_cache.h"

typedef struct tr_tlsrpt_meta {
	const char *org;           /* organization-name */
	const char *contact;       /* contact-info */
	const char *submitter;     /* TLS-Report-Submitter: a domain */
	const char *report_id;     /* NULL = "DAY_DOMAIN@SUBMITTER" */
} tr_tlsrpt_meta;

/* Write the JSON report of domain for day ("YYYY-MM-DD") to *json
 * (malloc'd, caller frees). 1 written, 0 no results that day, -1 error
 * (err). */
int tr_tlsrpt_json(tr_sts_store *s, const char *day, const char *domain,
                   const tr_tlsrpt_meta *meta, char **json, char *err, size_t cap);

/* Policy domains with results on day, each passed to fn. 0 / -1. */
int tr_tlsrpt_domains(tr_sts_store *s, const char *day,
                      int (*fn)(const char *domain, void *arg), void *arg);

/* The mailto: addresses of a "v=TLSRPTv1; rua=..." record (URIs separated
 * by ',', https: ones skipped, %-escapes not decoded); at most max into
 * out. Returns the count, -1 if txt is not a TLSRPTv1 record. */
int tr_tlsrpt_rua(const char *txt, char out[][256], int max);

/* Write the report mail (LF line ends) to f. now: Date header and
 * timestamps. 0 / -1 (err). */
int tr_tlsrpt_mail(FILE *f, const tr_tlsrpt_meta *meta, const char *from,
                   const char *to, const char *domain, const char *day,
                   const char *json, long long now, char *err, size_t cap);

/* "YYYY-MM-DD" check and its Unix start; 0 / -1. */
int tr_tlsrpt_day(const char *day, long long *start);

#endif

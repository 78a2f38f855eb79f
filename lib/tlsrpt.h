/*
 * tlsrpt.h - TLS-RPT (RFC 8460): recording the results of deliveries
 * (tlsrpt_record.c, an observer of the delivery: observe.h) and the
 * aggregate reports from the results store (tlsrpt.c): the JSON report of
 * one policy domain for one UTC day, the _smtp._tls TXT record, and the
 * report mail.
 *
 * RECORDING: with mta_sts = yes and mta_sts_cache set, each session's TLS
 * result is counted in the store (sts_cache.h) per policy domain, with the
 * RFC 8460 result type; policy fetch failures too. DANE servers are
 * counted under policy-type "tlsa" whenever mta_sts_cache is set, even
 * with mta_sts = no. Only the first session with an address counts (not
 * the plaintext retry of level may).
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
 *
 * SENDING (tlsrpt_send.c): the reports of one day, each printed or mailed
 * to the rua of the domain's _smtp._tls TXT record through tlsrelay
 * itself; tlsrelay-sts calls it through sts_admin.h.
 */
#ifndef TR_TLSRPT_H
#define TR_TLSRPT_H

#include <stdio.h>
#include "observe.h"
#include "sts.h"
#include "sts_admin.h"
#include "sts_cache.h"

/* ------------------------------------------------------------ recording */

/* The recorder of one delivery: the delivery's MTA-STS state (its store
 * and the nexthop's policy) and the nexthop being routed. */
typedef struct tr_tlsrpt_rec {
	struct tlsrelay_ctx *ctx;
	tr_sts_run *sts;
	char nexthop[TR_HOSTNAME_MAX];
	int mx_lookup;
} tr_tlsrpt_rec;

void tr_tlsrpt_rec_init(tr_tlsrpt_rec *rec, struct tlsrelay_ctx *ctx, tr_sts_run *sts);

/* The observer (observe.h); arg: a tr_tlsrpt_rec. */
void tr_tlsrpt_observe(void *arg, const tr_event *ev);

/* The RFC 8460 result type of a session under an STS policy (sts = 1) or
 * no policy (sts = 0); NULL when there is nothing to count (no greeting). */
const char *tr_sts_result_type(const tr_tls_outcome *o, int sts);

/* The RFC 8460 result type of a session under usable TLSA records:
 * success, tlsa-invalid (no record matched), starttls-not-supported,
 * validation-failure (handshake failed); NULL when not greeted. */
const char *tr_dane_result_type(const tr_tls_outcome *o);

/* ------------------------------------------------------------ reports */

typedef struct tr_tlsrpt_meta {
	const char *org;           /* organization-name */
	const char *contact;       /* contact-info */
	const char *submitter;     /* TLS-Report-Submitter: a domain */
	const char *report_id;     /* NULL = "DAY_DOMAIN@SUBMITTER" */
} tr_tlsrpt_meta;

/* The JSON report of domain for day ("YYYY-MM-DD") into *json (malloc'd,
 * caller frees; NULL when there are no results that day, and on failure).
 * Returns: OK; USAGE (a bad day); TEMP 4.3.0 (the store:
 * tr_sts_store_error's text); INTERNAL 4.3.0 (out of memory). */
tlsrelay_cat tr_tlsrpt_json(tr_sts_store *s, const char *day, const char *domain,
                            const tr_tlsrpt_meta *meta, char **json, tlsrelay_status *st);

/* Where a report's rows come from: the local store (tr_tlsrpt_json) or
 * the fleet's (fleet.h); called as tr_sts_store_rows. */
typedef tlsrelay_cat (*tr_rpt_rows_fn)(void *src, const char *day, const char *domain,
                                       int (*fn)(const tr_rpt_row *row, void *arg), void *arg,
                                       tlsrelay_status *st);

/* tr_tlsrpt_json and tr_tlsrpt_domains over the rows of rows_of(src).
 * Returns: as tr_tlsrpt_json / tr_tlsrpt_domains, and what rows_of
 * returns (the fleet's: TEMP 4.4.1 when Redis is unavailable). */
tlsrelay_cat tr_tlsrpt_json_from(tr_rpt_rows_fn rows_of, void *src, const char *day,
                                 const char *domain, const tr_tlsrpt_meta *meta, char **json,
                                 tlsrelay_status *st);
tlsrelay_cat tr_tlsrpt_domains_from(tr_rpt_rows_fn rows_of, void *src, const char *day,
                                    int (*fn)(const char *domain, void *arg), void *arg,
                                    tlsrelay_status *st);

/* Policy domains with results on day, each passed to fn (non-zero from fn
 * stops).
 * Returns: OK, TEMP 4.3.0 (the store). */
tlsrelay_cat tr_tlsrpt_domains(tr_sts_store *s, const char *day,
                               int (*fn)(const char *domain, void *arg), void *arg,
                               tlsrelay_status *st);

/* The mailto: addresses of a "v=TLSRPTv1; rua=..." record (URIs separated
 * by ',', https: ones skipped, %-escapes not decoded); at most max into
 * out. Returns the count, -1 if txt is not a TLSRPTv1 record. */
int tr_tlsrpt_rua(const char *txt, char out[][256], int max);

/* Write the report mail (LF line ends) to f. now: Date header and
 * timestamps.
 * Returns: OK; INTERNAL 4.3.0 ("cannot compress the report": also a bad
 * day); TEMP 4.3.0 ("cannot write the report mail"). */
tlsrelay_cat tr_tlsrpt_mail(FILE *f, const tr_tlsrpt_meta *meta, const char *from,
                            const char *to, const char *domain, const char *day,
                            const char *json, long long now, tlsrelay_status *st);

/* "YYYY-MM-DD" check and its Unix start; 0 / -1. */
int tr_tlsrpt_day(const char *day, long long *start);

/* The other way: the UTC day of t, "YYYY-MM-DD" (RFC 8460's reporting
 * day; the TLS history, the MTA-STS cache's counters and the fleet store
 * count by the same days). */
void tr_utc_day(long long t, char out[16]);

/* ------------------------------------------------------------ sending */

/* The reports of job (checked by tr_sts_admin_report) from the store s,
 * the rua looked up through dns and the mail delivered with ctx; the lines
 * to fn and the count of problems as tr_sts_admin_report says
 * (sts_admin.h). */
int tr_tlsrpt_send_day(struct tlsrelay_ctx *ctx, const tr_dns *dns, tr_sts_store *s,
                       const tr_tlsrpt_job *job, tr_sts_print_fn fn, void *arg);

#endif

/*
 * sts_cache.h - the MTA-STS policy cache and the TLS-RPT results, one
 * SQLite file (mta_sts_cache) shared by every transport process
 * (sts_cache.c).
 *
 * Concurrency: SQLite's file locking, WAL journal, a 5 s busy timeout;
 * each write is one statement (its own transaction), so a process killed
 * half-way leaves the file consistent. The file is created 0644 (it holds
 * no secrets); its directory must be writable by the user the transport
 * runs as (Postfix pipe: user=...), for the WAL files. A process running
 * as root (tlsrelay-sts, tlsrelay-probe) creates a missing file for the
 * owner of that directory, never for root in another user's directory
 * (sts_cache.c says why).
 *
 * Tables (schema version 1, created on open when missing):
 *   sts_policy(domain PRIMARY KEY, id, fetched, expires, policy)
 *       domain lower case; id the TXT record's id; fetched/expires Unix
 *       seconds (expires = fetched + max_age); policy the canonical text
 *       (tr_sts_policy_format), parsed again when read.
 *   tlsrpt(day, policy_domain, policy_type, policy_string, mx_host, result,
 *          receiving_mx, receiving_ip, count)
 *       one row per distinct key and UTC day "YYYY-MM-DD", count summed.
 *       result is "success" or an RFC 8460 result type.
 *
 * A database error is TLSRELAY_TEMP 4.3.0 "WHAT: SQLite's reason" (never an
 * abort); it is never a delivery's status: a cache problem never stops
 * mail, the callers log it. Strings passed in are copied.
 */
#ifndef TR_STS_CACHE_H
#define TR_STS_CACHE_H

#include "status.h"
#include "sts_policy.h"

typedef struct tr_sts_store tr_sts_store;

/* Open (creating file and tables when needed); NULL when it cannot be
 * used. *st says why: "PATH: REASON" (SQLite not loadable, cannot create,
 * a database error) or the read-only text of tr_sts_store_readonly when
 * no table could be made.
 * Returns: the store (*st OK), or NULL with *st CONFIG 4.3.5, INTERNAL
 * 4.3.0 (out of memory). */
tr_sts_store *tr_sts_store_open(const char *path, tlsrelay_status *st);

/* NULL when the open store can be written, else why not ("PATH is not
 * writable by uid N (owner uid M, mode 644)"): policies and TLS-RPT
 * results cannot be stored; the caller says so loudly. Valid while s is
 * open. */
const char *tr_sts_store_readonly(const tr_sts_store *s);

/* Close and free s; NULL is harmless. */
void tr_sts_store_close(tr_sts_store *s);

typedef struct tr_sts_cached {
	char id[TR_STS_ID_MAX];
	long long fetched, expires;
	tr_sts_policy pol;
} tr_sts_cached;

/* The cached policy of domain (expired or not).
 * Returns: TR_FOUND (*out filled) or TR_NOT_FOUND (a row whose policy no
 * longer parses counts as none) with *st OK; TR_LOOKUP_FAILED with *st
 * TEMP 4.3.0. */
tr_found tr_sts_store_get(tr_sts_store *s, const char *domain, tr_sts_cached *out,
                          tlsrelay_status *st);

/* Insert or replace domain's policy, fetched at now.
 * Returns: OK, TEMP 4.3.0, INTERNAL 4.3.0 (out of memory). */
tlsrelay_cat tr_sts_store_put(tr_sts_store *s, const char *domain, const char *id,
                              const tr_sts_policy *pol, long long now, tlsrelay_status *st);

/* Remove domain's policy.
 * Returns: OK, TEMP 4.3.0. */
tlsrelay_cat tr_sts_store_delete(tr_sts_store *s, const char *domain, tlsrelay_status *st);

/* fn(domain, arg) for every cached domain, in name order; stops when fn
 * returns non-zero.
 * Returns: OK, TEMP 4.3.0. */
tlsrelay_cat tr_sts_store_each(tr_sts_store *s, int (*fn)(const char *domain, void *arg),
                               void *arg, tlsrelay_status *st);

/* Forget policies expired before now and TLS-RPT results of days before
 * now - keep_days * 86400 (UTC); *removed: the rows removed.
 * Returns: OK, TEMP 4.3.0. */
tlsrelay_cat tr_sts_store_prune(tr_sts_store *s, long long now, int keep_days, int *removed,
                                tlsrelay_status *st);

/* One TLS-RPT result (see tlsrpt.h). */
typedef struct tr_rpt_row {
	const char *policy_domain;
	const char *policy_type;     /* "sts", "tlsa", "no-policy-found" */
	const char *policy_string;   /* lines joined with '\n', "" for none */
	const char *mx_host;         /* policy's mx patterns joined with '\n' */
	const char *result;          /* "success" or an RFC 8460 result type */
	const char *receiving_mx;    /* "" when not known */
	const char *receiving_ip;    /* "" when not known */
	long long count;             /* on read: sessions */
	const char *sending_ip;      /* our address (sending-mta-ip), "" or
	                              * NULL when not known */
} tr_rpt_row;

/* Count one more session for row on the UTC day of now.
 * Returns: OK, TEMP 4.3.0. */
tlsrelay_cat tr_sts_store_record(tr_sts_store *s, const tr_rpt_row *row, long long now,
                                 tlsrelay_status *st);

/* fn(row, arg) for every row of day ("YYYY-MM-DD"), of domain only when
 * domain is not NULL, ordered by domain, policy, result (non-zero from fn
 * stops). Row strings are valid during the call only.
 * Returns: OK, TEMP 4.3.0. */
tlsrelay_cat tr_sts_store_rows(tr_sts_store *s, const char *day, const char *domain,
                               int (*fn)(const tr_rpt_row *row, void *arg), void *arg,
                               tlsrelay_status *st);

#endif

/*
 * sts_admin.h - the work of tlsrelay-sts as library calls: the MTA-STS
 * cache's maintenance (sts_admin.c: refresh, show) and the TLS-RPT reports
 * of one day, printed or mailed (tlsrpt_send.c, the sending part of the
 * TLS-RPT module: tlsrpt.h). The command parses its arguments, configures
 * a context through tlsrelay.h and prints the lines these calls give it;
 * it never sees the context's inside (ctx.h).
 *
 * OUTPUT: every line goes to the caller's tr_sts_print_fn, without a line
 * end, valid during the call only: problem 0 for a result (tlsrelay-sts:
 * stdout), 1 for a problem (stderr, after "tlsrelay-sts: "). Nothing is
 * printed by the library itself (its log goes to the context's logger).
 *
 * Returns: open fills a tlsrelay_status and returns its category; the
 * commands return how many problems they met (0: all is well), each
 * already said in one problem line (or, for a domain without a usable
 * policy after refresh, in its result line).
 */
#ifndef TR_STS_ADMIN_H
#define TR_STS_ADMIN_H

#include "tlsrelay.h"
#include "status.h"

#define TR_STS_KEEP_DAYS 30       /* TLS-RPT results kept by refresh */

typedef void (*tr_sts_print_fn)(void *arg, int problem, const char *line);

/* ctx's MTA-STS cache and resolver, and where the lines go. */
typedef struct tr_sts_admin tr_sts_admin;

/* Open ctx's mta_sts_cache (created when missing) with ctx's dns_resolver;
 * ctx is configured. TLSRELAY_OK with *out set (close it), else *out NULL
 * and CONFIG ("mta_sts_cache is not set", "bad dns_resolver", or why the
 * store cannot be opened) or INTERNAL (out of memory). A store that opens
 * read-only is said in one problem line (tr_sts_readonly_text) and used.
 * Returns: OK; CONFIG 4.3.5 (mta_sts_cache unset, bad dns_resolver, the store
 * cannot be opened); INTERNAL 4.3.0 (out of memory). */
tlsrelay_cat tr_sts_admin_open(tlsrelay_ctx *ctx, tr_sts_print_fn fn, void *arg,
                               tr_sts_admin **out, tlsrelay_status *st);

/* Close the store (NULL: nothing). */
void tr_sts_admin_close(tr_sts_admin *a);

/* refresh: look up and fetch again the policy of each of the n domains
 * (n 0: every cached domain, listed before any is written), even when the
 * TXT id is unchanged; one result line each: "DOMAIN: mode M, id I,
 * expires YYYY-MM-DDTHH:MM:SSZ (ORIGIN), mx P..." (mx "none" without
 * patterns) or "DOMAIN: no policy[: WHY]" (a problem counted). Then
 * expired policies and TLS-RPT results older than TR_STS_KEEP_DAYS are
 * removed (a store error: a problem line). */
int tr_sts_admin_refresh(tr_sts_admin *a, char *const *domains, int n);

/* show: the cached policy of domain, no network: the line of refresh with
 * ORIGIN "cached" or "cached, expired", or "DOMAIN: not cached" (a
 * problem counted); a store error is a problem line.
 * With shared_store (the fleet's store is read): each copy in a line,
 * ORIGIN "shared store, fetched T by HOST" or "cached, fetched T" (",
 * expired" added), the one deliveries use first, then "DOMAIN: deliveries
 * use the shared store's copy (WHY)" or "... this host's copy (WHY)", or
 * "DOMAIN: no unexpired copy" / "DOMAIN: not cached, not in the shared
 * store" (a problem counted); the shared store unavailable is a problem
 * line and a problem. */
int tr_sts_admin_show(tr_sts_admin *a, const char *domain);

/* One day's TLS-RPT reports (RFC 8460; tlsrpt.h). */
typedef struct tr_tlsrpt_job {
	const char *day;          /* "YYYY-MM-DD", UTC */
	const char *domain;       /* one policy domain; NULL: each with results that day */
	const char *org;          /* organization-name; NULL: the submitter */
	const char *contact;      /* contact-info; NULL: postmaster@SUBMITTER */
	const char *submitter;    /* a domain; NULL: this host's name */
	int send;                 /* mail each report (else print it) */
	const char *from;         /* the envelope and From: sender, for send */
} tr_tlsrpt_job;

/* report: each report of the job as one result line (its JSON), or with
 * send mailed through tlsrelay to every mailto: rua of the domain's
 * _smtp._tls TXT record, MTA-STS off for the rest of ctx's life (the
 * report must reach a domain whose TLS is broken; the mail says
 * TLS-Required: No): "DOMAIN: report sent to <ADDR>" per address. A day
 * without results prints nothing. The problems (lines said as problems)
 * are counted into *problems.
 * Returns: OK; USAGE 5.5.4 when the job itself is unusable (no day or a bad
 * one, send without from: nothing done, nothing printed). */
tlsrelay_cat tr_sts_admin_report(tr_sts_admin *a, const tr_tlsrpt_job *job, int *problems,
                                 tlsrelay_status *st);

/* For sts_admin.c and tlsrpt_send.c: one formatted line to fn. */
void tr_sts_say(tr_sts_print_fn fn, void *arg, int problem, const char *fmt, ...)
	TR_PRINTF(4, 5);

#endif

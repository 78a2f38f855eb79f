/*
 * report.h - what the TLS history says, for a person and for a monitoring
 * system: tlsrelay-report's commands (report.c, report_agg.c,
 * report_explain.c, report_html.c, report_metrics.c). The public entry is
 * tlsrelay_report() (tlsrelay.h); these are its parts.
 *
 * Every command reads the store of tls_history (never creates it; a reader
 * without write access opens it read-only) and writes its output line by
 * line to a tlsrelay_report_fn. Nothing here sends mail or changes a
 * setting: suggest only prints policy map lines (observe first, then
 * suggest; the admin enforces).
 *
 * THE AGGREGATE (report_agg.c): per destination over the last N days, from
 * the daily rows: messages and attempts; messages by posture (plaintext,
 * encrypted = any TLS, verified) and by coverage (DANE: a DANE demand;
 * MTA-STS: a policy applied, enforce counted apart); failed attempts by
 * reason class; the attempts on a connection kept by tlsrelayd (reused); what the shadow policy would have deferred, by class; the
 * days with traffic; the attempts that were not verified, not encrypted,
 * not DANE. Destinations are kept in a hash table (no limit but memory:
 * the daily rows are bounded by destinations x days).
 */
#ifndef TR_REPORT_H
#define TR_REPORT_H

#include "tlsrelay.h"
#include "history_store.h"
#include "nexthop.h"
#include "tls.h"

struct tlsrelay_ctx;

/* Reason classes: the TLS ones (tr_tls_fail), then the others. */
#define REP_REASONS (TR_FAIL_COUNT + 6)

typedef struct rep_dest {
	char dest[TR_NEXTHOP_TEXT_MAX];
	long long messages, attempts;
	long long m_plain, m_tls, m_verified, m_dane, m_sts, m_sts_enforce;
	long long a_failed, a_plain, a_unverified, a_nodane;
	long long a_reused;                 /* attempts on a kept connection */
	long long reasons[REP_REASONS];     /* failed attempts by class */
	long long shadow[REP_REASONS];      /* messages the shadow would defer */
	long long shadow_defer, shadow_checked, shadow_unknown;
	int days;
	char last_day[16];
	char level[16], level_src[32];      /* of the latest day's first row */
} rep_dest;

typedef struct rep_agg {
	rep_dest *d;                /* the table (cap slots, n used) */
	size_t cap, n;
	char since[16], until[16];  /* the days covered */
	/* per day, for the chart: messages by posture */
	struct rep_day {
		char day[16];
		long long verified, encrypted, plain, failed;
	} *day;
	size_t ndays, daycap;
} rep_agg;

/* The reason class's index (0 none; "other" for an unknown name) and
 * name. */
int rep_reason_index(const char *name);
const char *rep_reason_name(int i);

/* "reason N, reason N" of counts c[REP_REASONS] (the classes in order;
 * space between name and count: " ", or "&nbsp;" in HTML) into buf (cut
 * to cap, terminated); empty when there is none. Returns buf. */
const char *rep_reasons(const long long *c, const char *space, char *buf, size_t cap);

/* One line of a report, formatted, to fn (cut at 2 KB). */
void rep_out(tlsrelay_report_fn fn, void *arg, const char *fmt, ...) TR_PRINTF(3, 4);

/* Read the days since today - days + 1 (UTC) into a (freed on failure):
 * with shared_store the fleet's days (fleet.h), else those of s.
 * Returns: OK, TEMP 4.3.0 ("cannot read the TLS history: ..."), INTERNAL
 * 4.3.0. */
tlsrelay_cat rep_agg_load(struct tlsrelay_ctx *ctx, tr_hist_store *s, int days, long long now,
                          rep_agg *a, tlsrelay_status *st);
void rep_agg_free(rep_agg *a);

/* The destinations sorted by messages, then name: a new array of
 * pointers into a, a->n of them (the caller frees it), or NULL with *st.
 * Returns: OK, INTERNAL 4.3.0 (out of memory). */
const rep_dest **rep_agg_sorted(const rep_agg *a, tlsrelay_status *st);

/* The store of ctx's tls_history opened for reading, or NULL with st.
 * Returns: OK; CONFIG 4.3.5 (tls_history is unset); TEMP 4.3.0 ("TLS
 * history FILE: REASON", the store cannot be read); INTERNAL 4.3.0. */
tr_hist_store *rep_open(struct tlsrelay_ctx *ctx, tlsrelay_status *st);

/* What summary, suggest and html start with: the store opened (rep_open),
 * its last days read into a (rep_agg_load) and sorted into *v
 * (rep_agg_sorted). The caller frees *v, rep_agg_free(a) and closes the
 * store; on failure nothing is left open, NULL with st.
 * Returns: OK; CONFIG 4.3.5, TEMP 4.3.0, INTERNAL 4.3.0 as those three. */
tr_hist_store *rep_open_sorted(struct tlsrelay_ctx *ctx, int days, long long now, rep_agg *a,
                               const rep_dest ***v, tlsrelay_status *st);

/* One suggestion of suggest (and html): the policy map line and its
 * evidence, or a reason why none. */
typedef struct rep_suggestion {
	const rep_dest *d;
	const char *level;          /* "verify", "dane-only" */
	char evidence[400];
} rep_suggestion;

/* The destinations that qualify (verified on every attempt, on at least
 * min_days days, no failure, the live level weaker than the suggestion):
 * at most max into out; the count. */
size_t rep_suggestions(const rep_dest **sorted, size_t n, int min_days,
                       rep_suggestion *out, size_t max);

/* The commands (tlsrelay_report's parts), each as tlsrelay_report says.
 * rep_summary, rep_suggest, rep_html, rep_metrics:
 * Returns: OK, CONFIG 4.3.5 (tls_history unset), TEMP 4.3.0 (the store
 * cannot be read), INTERNAL 4.3.0.
 * rep_explain:
 * Returns: OK, USAGE 4.3.5 (bad destination), CONFIG 4.3.5 (bad relayhost
 * or policy map), INTERNAL 4.3.0; the history's own trouble is a line of
 * its output, not a failure. */
tlsrelay_cat rep_summary(struct tlsrelay_ctx *ctx, int days, tlsrelay_report_fn fn, void *arg,
                         tlsrelay_status *st);
tlsrelay_cat rep_suggest(struct tlsrelay_ctx *ctx, int days, int min_days, tlsrelay_report_fn fn,
                         void *arg, tlsrelay_status *st);
tlsrelay_cat rep_explain(struct tlsrelay_ctx *ctx, const char *dest, int days,
                         tlsrelay_report_fn fn, void *arg, tlsrelay_status *st);
tlsrelay_cat rep_html(struct tlsrelay_ctx *ctx, int days, tlsrelay_report_fn fn, void *arg,
                      tlsrelay_status *st);
tlsrelay_cat rep_metrics(struct tlsrelay_ctx *ctx, tlsrelay_report_fn fn, void *arg,
                         tlsrelay_status *st);

#endif

/*
 * report.c - tlsrelay_report() (tlsrelay.h): the commands of
 * tlsrelay-report over the TLS history; summary and suggest here, explain,
 * html and metrics in their own files (report.h).
 *
 * Decisions:
 * - Shares are of messages (what a sender cares about: how did my mail
 *   leave?); failures are of attempts (what an admin debugs: which
 *   server refused what, how often).
 * - A destination is a policy map key ("example.com", "[relay]:587"), so
 *   that what the report names can be pasted into tls_policy_map.
 * - The output is plain text, one fact per line or a fixed table whose
 *   first column is the destination: easy to read, easy to grep.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "buf.h"
#include "ctx.h"
#include "report.h"
#include "shadow.h"
#include "status.h"
#include "tls_level.h"

#define REP_SUGGEST_MAX 1000


static int pct(long long part, long long whole)
{
	return whole > 0 ? (int)((part * 100 + whole / 2) / whole) : 0;
}


/* What the candidate is, for the report's lines. */
static void shadow_name(const struct tlsrelay_ctx *ctx, char *buf, size_t cap)
{
	const tr_config *cfg = &ctx->cfg;

	if (!tr_shadow_configured(ctx))
		snprintf(buf, cap, "none configured");
	else
		snprintf(buf, cap, "%s%s%s%s%s",
		         cfg->tls_shadow_level != TR_TLS_INVALID ? "tls_shadow_security_level = " : "",
		         cfg->tls_shadow_level != TR_TLS_INVALID
		         ? tr_tls_level_name(cfg->tls_shadow_level) : "",
		         cfg->tls_shadow_level != TR_TLS_INVALID && cfg->tls_shadow_policy_map
		         ? ", " : "",
		         cfg->tls_shadow_policy_map ? "tls_shadow_policy_map = " : "",
		         cfg->tls_shadow_policy_map ? cfg->tls_shadow_policy_map : "");
}

/* ------------------------------------------------------------ summary */

static void summary_table(const rep_dest **v, size_t n, tlsrelay_report_fn fn, void *arg)
{
	char fails[600], sh[600];

	rep_out(fn, arg, "%-32s %8s %6s %6s %8s %6s %7s  %s", "destination", "messages", "plain",
	    "TLS", "verified", "DANE", "MTA-STS", "failed attempts (by reason)");
	for (size_t i = 0; i < n; i++) {
		const rep_dest *d = v[i];

		if (rep_reasons(d->reasons, " ", fails, sizeof fails)[0] == '\0')
			snprintf(fails, sizeof fails, "-");
		rep_out(fn, arg, "%-32s %8lld %5d%% %5d%% %7d%% %5d%% %6d%%  %s", d->dest, d->messages,
		    pct(d->m_plain, d->messages), pct(d->m_tls, d->messages),
		    pct(d->m_verified, d->messages), pct(d->m_dane, d->messages),
		    pct(d->m_sts, d->messages), fails);
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i]->shadow_defer == 0)
			continue;
		if (rep_reasons(v[i]->shadow, " ", sh, sizeof sh)[0] == '\0')
			snprintf(sh, sizeof sh, "-");
		rep_out(fn, arg, "shadow: %s: would have deferred %lld of %lld messages (%s)", v[i]->dest,
		    v[i]->shadow_defer, v[i]->messages, sh);
	}
}

tlsrelay_cat rep_summary(struct tlsrelay_ctx *ctx, int days, tlsrelay_report_fn fn, void *arg,
                         tlsrelay_status *st)
{
	const rep_dest **v;
	long long msgs = 0, defer = 0, checked = 0;
	char cand[600];
	rep_agg a;
	tr_hist_store *s = rep_open_sorted(ctx, days, (long long)time(NULL), &a, &v, st);

	if (s == NULL)
		return st->cat;
	rep_out(fn, arg, "TLS history %s to %s (%d day%s, UTC) from %s: %zu destination%s", a.since,
	    a.until, days, days == 1 ? "" : "s", ctx->cfg.tls_history, a.n, a.n == 1 ? "" : "s");
	summary_table(v, a.n, fn, arg);
	for (size_t i = 0; i < a.n; i++) {
		msgs += v[i]->messages;
		defer += v[i]->shadow_defer;
		checked += v[i]->shadow_checked;
	}
	shadow_name(ctx, cand, sizeof cand);
	rep_out(fn, arg, "shadow policy (%s): %lld of %lld messages checked, %lld would have been "
	    "deferred", cand, checked, msgs, defer);
	free(v);
	rep_agg_free(&a);
	tr_hist_close(s);
	return tr_status_ok(st);
}

/* ------------------------------------------------------------ suggest */

/* The destinations a global raise of tls_security_level would break. */
static void raise_breaks(const rep_dest **v, size_t n, tlsrelay_report_fn fn, void *arg)
{
	static const struct { const char *level; int kind; } raises[] = {
		{ "encrypt", 0 }, { "verify", 1 }, { "dane-only", 2 }
	};

	for (size_t r = 0; r < sizeof raises / sizeof raises[0]; r++) {
		size_t k = 0;

		rep_out(fn, arg, "# tls_security_level = %s for every destination would break:",
		    raises[r].level);
		for (size_t i = 0; i < n; i++) {
			const rep_dest *d = v[i];
			long long bad = raises[r].kind == 0 ? d->a_plain + d->reasons[TR_FAIL_HANDSHAKE]
			              : raises[r].kind == 1 ? d->a_unverified : d->a_nodane;

			if (bad == 0 || d->attempts == 0)
				continue;
			rep_out(fn, arg, "#   %s: %lld of %lld attempts %s", d->dest, bad, d->attempts,
			    raises[r].kind == 0 ? "without TLS" : raises[r].kind == 1
			    ? "not Verified" : "not authenticated by DANE");
			k++;
		}
		if (k == 0)
			rep_out(fn, arg, "#   nothing seen in the history");
	}
}

tlsrelay_cat rep_suggest(struct tlsrelay_ctx *ctx, int days, int min_days, tlsrelay_report_fn fn,
                         void *arg, tlsrelay_status *st)
{
	rep_suggestion *sg;
	const rep_dest **v;
	size_t k;
	rep_agg a;
	tr_hist_store *s = rep_open_sorted(ctx, days, (long long)time(NULL), &a, &v, st);

	if (s == NULL)
		return st->cat;
	if ((sg = calloc(REP_SUGGEST_MAX, sizeof *sg)) == NULL) {
		free(v);
		rep_agg_free(&a);
		tr_hist_close(s);
		return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
	}
	rep_out(fn, arg, "# tls_policy_map lines for destinations Verified on every attempt on at "
	    "least %d of the last %d days (%s to %s), with no failure. Nothing is enforced until "
	    "you add them.", min_days, days, a.since, a.until);
	k = rep_suggestions(v, a.n, min_days, sg, REP_SUGGEST_MAX);
	for (size_t i = 0; i < k; i++) {
		rep_out(fn, arg, "# %s: %s", sg[i].d->dest, sg[i].evidence);
		rep_out(fn, arg, "%s %s", sg[i].d->dest, sg[i].level);
	}
	if (k == 0)
		rep_out(fn, arg, "# no destination qualifies yet");
	raise_breaks(v, a.n, fn, arg);
	free(v);
	free(sg);
	rep_agg_free(&a);
	tr_hist_close(s);
	return tr_status_ok(st);
}

/* ------------------------------------------------------------ the entry */

tlsrelay_cat tlsrelay_report(tlsrelay_ctx *ctx, const char *command, const char *dest,
                             int days, tlsrelay_report_fn fn, void *arg, tlsrelay_status *st)
{
	int window = days > 0 ? days : ctx->cfg.tls_history_days;

	if (command == NULL)
		command = "";
	if (strcmp(command, "summary") == 0)
		return rep_summary(ctx, window, fn, arg, st);
	if (strcmp(command, "suggest") == 0)
		return rep_suggest(ctx, ctx->cfg.tls_history_days, days > 0 ? days : 7, fn, arg, st);
	if (strcmp(command, "explain") == 0 && dest != NULL && *dest)
		return rep_explain(ctx, dest, window, fn, arg, st);
	if (strcmp(command, "html") == 0)
		return rep_html(ctx, window, fn, arg, st);
	if (strcmp(command, "metrics") == 0)
		return rep_metrics(ctx, fn, arg, st);
	if (strcmp(command, "explain") == 0)
		return tr_status_set(st, TLSRELAY_USAGE, "5.5.4", "explain needs a destination");
	return tr_status_set(st, TLSRELAY_USAGE, "5.5.4", "unknown report command \"%.40s\": "
	                     "use summary, explain, suggest, html or metrics", command);
}

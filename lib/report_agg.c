/*
 * report_agg.c - the TLS history per destination over the last days (see
 * report.h: THE AGGREGATE), and the suggestions drawn from it.
 *
 * Decisions (suggest):
 * - A destination qualifies when every attempt in the window was
 *   Verified, none failed (deferred or bounced), and it had traffic on at
 *   least min_days days: one good day says little, a week of them says
 *   the servers keep their certificates in order. A failure of any kind
 *   (also a refused recipient) disqualifies: the history cannot tell
 *   whether a stricter policy would have made it worse.
 * - The line suggested is the weakest that keeps what was seen: dane-only
 *   when every attempt was authenticated by DANE, else verify (the MX host
 *   name: what the sessions proved; secure would also need every MX under
 *   the domain, which was not checked). Nothing is suggested when the
 *   live level is already that strong, nor for MTA-STS enforce domains
 *   (a map entry would turn their MTA-STS off: RFC 8461 already enforces
 *   what the line would).
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdarg.h>
#include "buf.h"
#include "ctx.h"
#include "fleet.h"
#include "history_store.h"
#include "report.h"
#include "status.h"
#include "tls_level.h"
#include "tlsrpt.h"

static const char *const other_reasons[] = {
	"connect-failed", "lost-connection", "protocol-error", "refused-4xx", "refused-5xx",
	"other"
};

int rep_reason_index(const char *name)
{
	tr_tls_fail f;

	if (name == NULL || name[0] == '\0')
		return 0;
	if ((f = tr_tls_fail_from_name(name)) != TR_FAIL_COUNT)
		return (int)f;
	for (int i = 0; i < 6; i++)
		if (strcmp(other_reasons[i], name) == 0)
			return TR_FAIL_COUNT + i;
	return TR_FAIL_COUNT + 5;
}

const char *rep_reason_name(int i)
{
	if (i > 0 && i < TR_FAIL_COUNT)
		return tr_tls_fail_name((tr_tls_fail)i);
	if (i >= TR_FAIL_COUNT && i < REP_REASONS)
		return other_reasons[i - TR_FAIL_COUNT];
	return "";
}

/* ------------------------------------------------------------ the table */

static size_t hash(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static int grow(rep_agg *a)
{
	size_t cap = a->cap ? a->cap * 2 : 64;
	rep_dest *d = calloc(cap, sizeof *d);

	if (d == NULL)
		return -1;
	for (size_t i = 0; i < a->cap; i++) {
		size_t j;

		if (a->d[i].dest[0] == '\0')
			continue;
		for (j = hash(a->d[i].dest) & (cap - 1); d[j].dest[0]; j = (j + 1) & (cap - 1))
			;
		d[j] = a->d[i];
	}
	free(a->d);
	a->d = d;
	a->cap = cap;
	return 0;
}

static rep_dest *find(rep_agg *a, const char *dest)
{
	size_t j;

	if ((a->n + 1) * 2 > a->cap && grow(a) < 0)
		return NULL;
	for (j = hash(dest) & (a->cap - 1); a->d[j].dest[0]; j = (j + 1) & (a->cap - 1))
		if (strcmp(a->d[j].dest, dest) == 0)
			return &a->d[j];
	snprintf(a->d[j].dest, sizeof a->d[j].dest, "%s", dest);
	a->n++;
	return &a->d[j];
}

static struct rep_day *day_slot(rep_agg *a, const char *day)
{
	if (a->ndays > 0 && strcmp(a->day[a->ndays - 1].day, day) == 0)
		return &a->day[a->ndays - 1];
	if (a->ndays == a->daycap) {
		size_t cap = a->daycap ? a->daycap * 2 : 32;
		void *p = realloc(a->day, cap * sizeof *a->day);

		if (p == NULL)
			return NULL;
		a->day = p;
		a->daycap = cap;
	}
	memset(&a->day[a->ndays], 0, sizeof a->day[0]);
	snprintf(a->day[a->ndays].day, sizeof a->day[0].day, "%s", day);
	return &a->day[a->ndays++];
}

static int is_tls(const char *posture)
{
	return strcmp(posture, "plaintext") != 0 && strcmp(posture, "none") != 0;
}

static void add_messages(rep_dest *d, struct rep_day *day, const tr_hist_day *r)
{
	long long m = r->messages;

	d->messages += m;
	if (strcmp(r->outcome, "delivered") != 0) {
		if (day)
			day->failed += m;
	} else if (!is_tls(r->posture)) {
		d->m_plain += m;
		if (day)
			day->plain += m;
	} else {
		d->m_tls += m;
		if (strcmp(r->posture, "verified") == 0)
			d->m_verified += m;
		if (day && strcmp(r->posture, "verified") == 0)
			day->verified += m;
		else if (day)
			day->encrypted += m;
	}
	if (r->dane_result[0] || strcmp(r->verified_by, "dane") == 0)
		d->m_dane += m;
	if (r->sts[0])
		d->m_sts += m;
	if (strcmp(r->sts, "enforce") == 0)
		d->m_sts_enforce += m;
	if (r->shadow[0]) {
		d->shadow_checked += m;
		if (strcmp(r->shadow, "unknown") == 0)
			d->shadow_unknown += m;
		else if (strcmp(r->shadow, "pass") != 0) {
			d->shadow_defer += m;
			d->shadow[rep_reason_index(r->shadow)] += m;
		}
	}
}

static int add_row(const tr_hist_day *r, void *arg)
{
	rep_agg *a = arg;
	rep_dest *d = find(a, r->dest);

	if (d == NULL)
		return 1;
	if (strcmp(d->last_day, r->day) != 0) {
		d->days++;
		snprintf(d->last_day, sizeof d->last_day, "%s", r->day);
		snprintf(d->level, sizeof d->level, "%s", r->level);
		snprintf(d->level_src, sizeof d->level_src, "%s", r->level_src);
	}
	d->attempts += r->attempts;
	d->a_reused += r->reused;
	if (strcmp(r->outcome, "delivered") != 0) {
		d->a_failed += r->attempts;
		d->reasons[rep_reason_index(r->reason[0] ? r->reason : "other")] += r->attempts;
	}
	if (!is_tls(r->posture))
		d->a_plain += r->attempts;
	if (strcmp(r->posture, "verified") != 0)
		d->a_unverified += r->attempts;
	if (strcmp(r->verified_by, "dane") != 0)
		d->a_nodane += r->attempts;
	add_messages(d, day_slot(a, r->day), r);
	return 0;
}

/* The daily rows: the fleet's (shared_store, fleet.h) or this host's. */
static tlsrelay_cat each_day(struct tlsrelay_ctx *ctx, tr_hist_store *s, const char *since,
                             rep_agg *a, tlsrelay_status *st)
{
	tr_fleet *f;

	if (!tr_fleet_configured(ctx))
		return tr_hist_each_day(s, since, NULL, add_row, a, st);
	if ((f = tr_fleet_use(ctx)) == NULL)
		return tr_status_set(st, TLSRELAY_TEMP, "4.4.1", "shared store %s unavailable: "
		                     "the fleet's days cannot be read (a configuration without "
		                     "shared_store reports this host's own)", ctx->cfg.shared_store);
	return tr_fleet_hist_each_day(f, since, NULL, add_row, a, st);
}

tlsrelay_cat rep_agg_load(struct tlsrelay_ctx *ctx, tr_hist_store *s, int days, long long now,
                          rep_agg *a, tlsrelay_status *st)
{
	char text[TLSRELAY_TEXT_MAX];

	memset(a, 0, sizeof *a);
	tr_utc_day(now - (long long)(days > 0 ? days - 1 : 0) * 86400, a->since);
	tr_utc_day(now, a->until);
	if (grow(a) < 0) {
		rep_agg_free(a);
		return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
	}
	if (each_day(ctx, s, a->since, a, st) != TLSRELAY_OK) {
		snprintf(text, sizeof text, "%s", st->text);
		rep_agg_free(a);
		return tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "cannot read the TLS history: %s",
		                     text);
	}
	return tr_status_ok(st);
}

void rep_agg_free(rep_agg *a)
{
	free(a->d);
	free(a->day);
	memset(a, 0, sizeof *a);
}

static int by_messages(const void *x, const void *y)
{
	const rep_dest *a = *(const rep_dest *const *)x, *b = *(const rep_dest *const *)y;

	if (a->messages != b->messages)
		return a->messages > b->messages ? -1 : 1;
	return strcmp(a->dest, b->dest);
}

const rep_dest **rep_agg_sorted(const rep_agg *a, tlsrelay_status *st)
{
	const rep_dest **v = calloc(a->n ? a->n : 1, sizeof *v);
	size_t n = 0;

	if (v == NULL) {
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		return NULL;
	}
	tr_status_ok(st);
	for (size_t i = 0; i < a->cap; i++)
		if (a->d[i].dest[0])
			v[n++] = &a->d[i];
	qsort(v, n, sizeof *v, by_messages);
	return v;
}

/* ------------------------------------------------------------ the store */

tr_hist_store *rep_open(struct tlsrelay_ctx *ctx, tlsrelay_status *st)
{
	const tr_config *cfg = &ctx->cfg;
	tr_hist_limits lim = { cfg->tls_history_days, 0 };
	tr_hist_store *s;
	char text[TLSRELAY_TEXT_MAX];

	if (cfg->tls_history == NULL) {
		tr_status_set(st, TLSRELAY_CONFIG, "4.3.5", "tls_history is not set: there is no "
		              "TLS history to report on");
		return NULL;
	}
	if ((s = tr_hist_open(cfg->tls_history, 0, &lim, st)) == NULL) {
		snprintf(text, sizeof text, "%s", st->text);
		tr_status_set(st, st->cat, st->dsn, "TLS history %s", text);
	}
	return s;
}

tr_hist_store *rep_open_sorted(struct tlsrelay_ctx *ctx, int days, long long now, rep_agg *a,
                               const rep_dest ***v, tlsrelay_status *st)
{
	tr_hist_store *s = rep_open(ctx, st);

	if (s == NULL)
		return NULL;
	if (rep_agg_load(ctx, s, days, now, a, st) != TLSRELAY_OK) {
		tr_hist_close(s);
		return NULL;
	}
	if ((*v = rep_agg_sorted(a, st)) == NULL) {
		rep_agg_free(a);
		tr_hist_close(s);
		return NULL;
	}
	return s;
}

/* ------------------------------------------------------------ suggest */

size_t rep_suggestions(const rep_dest **v, size_t n, int min_days, rep_suggestion *out,
                       size_t max)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k < max; i++) {
		const rep_dest *d = v[i];
		tr_tls_level live = tr_tls_level_from_name(d->level);
		const char *level;

		if (d->attempts == 0 || d->a_failed > 0 || d->a_unverified > 0 ||
		    d->days < min_days || d->m_sts_enforce > 0)
			continue;
		level = d->a_nodane == 0 ? "dane-only" : "verify";
		/* never below what is there: pins, or a level at least as strong */
		if (live >= tr_tls_level_from_name(level) || live == TR_TLS_FINGERPRINT)
			continue;
		out[k].d = d;
		out[k].level = level;
		snprintf(out[k].evidence, sizeof out[k].evidence, "%lld message%s on %d day%s, "
		         "all %lld attempt%s %s, no failure; now %s (%s)", d->messages,
		         d->messages == 1 ? "" : "s", d->days, d->days == 1 ? "" : "s",
		         d->attempts, d->attempts == 1 ? "" : "s",
		         d->a_nodane == 0 ? "authenticated by DANE" : "Verified (CA and name)",
		         d->level, d->level_src);
		k++;
	}
	return k;
}

const char *rep_reasons(const long long *c, const char *space, char *buf, size_t cap)
{
	tr_buf b;

	tr_buf_fixed(&b, buf, cap);
	for (int i = 1; i < REP_REASONS; i++)
		if (c[i] > 0)
			tr_buf_printf(&b, "%s%s%s%lld", b.len ? ", " : "", rep_reason_name(i), space, c[i]);
	return buf;
}

void rep_out(tlsrelay_report_fn fn, void *arg, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fn(arg, line);
}

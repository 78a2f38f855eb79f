/*
 * report_html.c - tlsrelay-report html: the TLS history as one
 * self-contained HTML page (report.h).
 *
 * Contents: the key figures; posture over time (an inline SVG chart:
 * messages per day, stacked verified / encrypted / plaintext / failed);
 * the top destinations by volume with their posture; what the shadow
 * policy would break; certificates that expire within 30 days (or have
 * expired); the suggestions of suggest.
 *
 * Decisions:
 * - One file, nothing fetched: the style sheet and the chart are inline,
 *   no font, image or script from elsewhere (the page works offline and
 *   leaks nothing when opened). The one inline script only writes the
 *   rendered size of the chart into data-rendered (for tests and for
 *   anyone checking the page rendered); the page needs no script.
 * - Every text from the store is HTML-escaped.
 * - Lines go to the caller's function like the other commands; the
 *   program writes them to a file (-o) or standard output.
 */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "buf.h"
#include "ctx.h"
#include "report.h"
#include "shadow.h"
#include "status.h"

#define HTML_TOP 20
#define HTML_EXPIRY_DAYS 30

struct page {
	tlsrelay_report_fn fn;
	void *arg;
};

static void TR_PRINTF(2, 3) put(struct page *p, const char *fmt, ...)
{
	char line[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	p->fn(p->arg, line);
}

/* s HTML-escaped into out (cap bytes). Returns out. */
static const char *esc(const char *s, char *out, size_t cap)
{
	tr_buf b;

	tr_buf_fixed(&b, out, cap);
	for (; *s && b.len + 7 < cap; s++) {    /* an entity is never cut */
		const char *e = *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '&' ? "&amp;"
		              : *s == '"' ? "&quot;" : NULL;
		if (e)
			tr_buf_puts(&b, e);
		else
			tr_buf_putc(&b, *s);
	}
	return out;
}

static int pct(long long part, long long whole)
{
	return whole > 0 ? (int)((part * 100 + whole / 2) / whole) : 0;
}

static const char style[] =
	"body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em;color:#222;"
	"max-width:1100px}h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:"
	"1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}.sub{color:#666}"
	".figs{display:flex;gap:1em;flex-wrap:wrap}.fig{background:#f4f6f8;border-radius:6px;"
	"padding:.6em 1em;min-width:8em}.fig b{display:block;font-size:1.5em}"
	"table{border-collapse:collapse;margin-top:.5em}th,td{padding:.25em .7em;text-align:"
	"right;border-bottom:1px solid #eee}th:first-child,td:first-child{text-align:left}"
	"td.l,th.l{text-align:left}code,pre{background:#f4f6f8;padding:.1em .3em}"
	"pre{padding:.6em}.none{color:#888;font-style:italic}"
	".sw{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 1em;vertical-align:-.1em}";

/* verified, encrypted, plaintext, failed */
static const char *const colours[4] = { "#2e8540", "#4a90d9", "#f0ad4e", "#d9534f" };
static const char *const series[4] = { "verified", "encrypted, not verified", "plaintext",
                                       "not delivered" };

static void day_add(char day[16], int n)
{
	struct tm tm;
	time_t t;

	memset(&tm, 0, sizeof tm);
	if (sscanf(day, "%d-%d-%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
		return;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm) + (time_t)n * 86400;
	gmtime_r(&t, &tm);
	strftime(day, 16, "%Y-%m-%d", &tm);
}

static void chart(struct page *p, const rep_agg *a, int days)
{
	const int W = 960, H = 300, L = 50, B = 40, T = 10;
	double bw = (double)(W - L - 10) / (days > 0 ? days : 1), ymax = 1;
	char day[16];
	size_t k = 0;

	for (size_t i = 0; i < a->ndays; i++) {
		double tot = (double)(a->day[i].verified + a->day[i].encrypted + a->day[i].plain +
		                      a->day[i].failed);
		ymax = tot > ymax ? tot : ymax;
	}
	put(p, "<svg id=\"posture-chart\" data-measure=\"1\" xmlns=\"http://www.w3.org/2000/svg\" "
	    "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"messages "
	    "per day by TLS posture\">", W, H, W, H);
	put(p, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>", L, H - B, W - 10,
	    H - B);
	put(p, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">%.0f</text>", L - 6,
	    T + 10, ymax);
	put(p, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">0</text>", L - 6, H - B);
	snprintf(day, sizeof day, "%s", a->since);
	for (int d = 0; d < days; d++, day_add(day, 1)) {
		long long v[4] = { 0, 0, 0, 0 };
		double y = H - B, x = L + d * bw + bw * 0.1;

		while (k < a->ndays && strcmp(a->day[k].day, day) < 0)
			k++;
		if (k < a->ndays && strcmp(a->day[k].day, day) == 0) {
			v[0] = a->day[k].verified;
			v[1] = a->day[k].encrypted;
			v[2] = a->day[k].plain;
			v[3] = a->day[k].failed;
		}
		for (int s = 0; s < 4; s++) {
			double h = (double)v[s] * (H - B - T) / ymax;
			if (v[s] == 0)
				continue;
			y -= h;
			put(p, "<rect class=\"bar-%d\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			    "fill=\"%s\"><title>%s: %lld %s</title></rect>", s, x, y, bw * 0.8, h,
			    colours[s], day, v[s], series[s]);
		}
		if (days <= 14 || d % (days / 7 + 1) == 0)
			put(p, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text>",
			    L + d * bw + bw / 2, H - B + 16, day + 5);
	}
	put(p, "</svg>");
	put(p, "<p id=\"legend\">");
	for (int s = 0; s < 4; s++)
		put(p, "<span class=\"sw\" style=\"background:%s\"></span>%s", colours[s], series[s]);
	put(p, "</p>");
}

static void figures(struct page *p, const rep_dest **v, size_t n)
{
	long long m = 0, ver = 0, tls = 0, plain = 0, fail = 0, sh = 0;

	for (size_t i = 0; i < n; i++) {
		m += v[i]->messages;
		ver += v[i]->m_verified;
		tls += v[i]->m_tls;
		plain += v[i]->m_plain;
		fail += v[i]->a_failed;
		sh += v[i]->shadow_defer;
	}
	put(p, "<div class=\"figs\">");
	put(p, "<div class=\"fig\" id=\"fig-messages\"><b>%lld</b>messages</div>", m);
	put(p, "<div class=\"fig\"><b>%d%%</b>verified</div>", pct(ver, m));
	put(p, "<div class=\"fig\"><b>%d%%</b>encrypted</div>", pct(tls, m));
	put(p, "<div class=\"fig\"><b>%d%%</b>plaintext</div>", pct(plain, m));
	put(p, "<div class=\"fig\"><b>%lld</b>failed attempts</div>", fail);
	put(p, "<div class=\"fig\"><b>%lld</b>the shadow policy would defer</div>", sh);
	put(p, "<div class=\"fig\"><b>%zu</b>destinations</div></div>", n);
}


static void top_table(struct page *p, const rep_dest **v, size_t n)
{
	char e[600], r[800];

	put(p, "<h2>Top destinations by volume</h2><table id=\"top-destinations\"><tr>"
	    "<th>destination</th><th>messages</th><th>plaintext</th><th>TLS</th><th>verified</th>"
	    "<th>DANE</th><th>MTA-STS</th><th class=\"l\">failed attempts</th></tr>");
	for (size_t i = 0; i < n && i < HTML_TOP; i++) {
		rep_reasons(v[i]->reasons, "&nbsp;", r, sizeof r);
		put(p, "<tr><td>%s</td><td>%lld</td><td>%d%%</td><td>%d%%</td><td>%d%%</td><td>%d%%"
		    "</td><td>%d%%</td><td class=\"l\">%s</td></tr>", esc(v[i]->dest, e, sizeof e),
		    v[i]->messages, pct(v[i]->m_plain, v[i]->messages),
		    pct(v[i]->m_tls, v[i]->messages), pct(v[i]->m_verified, v[i]->messages),
		    pct(v[i]->m_dane, v[i]->messages), pct(v[i]->m_sts, v[i]->messages),
		    r[0] ? r : "-");
	}
	put(p, "</table>");
	if (n == 0)
		put(p, "<p class=\"none\">No mail in the history yet.</p>");
}

static void shadow_table(struct page *p, struct tlsrelay_ctx *ctx, const rep_dest **v, size_t n)
{
	const tr_config *cfg = &ctx->cfg;
	char e[600], r[800];
	size_t k = 0;

	put(p, "<h2>What the shadow policy would break</h2>");
	if (!tr_shadow_configured(ctx)) {
		put(p, "<p class=\"none\">No shadow policy is configured (tls_shadow_security_level, "
		    "tls_shadow_policy_map).</p>");
		return;
	}
	put(p, "<p>Candidate: %s%s%s%s</p>", cfg->tls_shadow_level != TR_TLS_INVALID
	    ? "tls_shadow_security_level = " : "", cfg->tls_shadow_level != TR_TLS_INVALID
	    ? tr_tls_level_name(cfg->tls_shadow_level) : "", cfg->tls_shadow_policy_map
	    ? " tls_shadow_policy_map = " : "", cfg->tls_shadow_policy_map
	    ? esc(cfg->tls_shadow_policy_map, e, sizeof e) : "");
	put(p, "<table id=\"shadow-breaks\"><tr><th>destination</th><th>messages</th>"
	    "<th>would be deferred</th><th class=\"l\">why</th></tr>");
	for (size_t i = 0; i < n; i++) {
		if (v[i]->shadow_defer == 0)
			continue;
		rep_reasons(v[i]->shadow, "&nbsp;", r, sizeof r);
		put(p, "<tr><td>%s</td><td>%lld</td><td>%lld</td><td class=\"l\">%s</td></tr>",
		    esc(v[i]->dest, e, sizeof e), v[i]->messages, v[i]->shadow_defer, r);
		k++;
	}
	put(p, "</table>");
	if (k == 0)
		put(p, "<p class=\"none\">Nothing: every message checked would have been delivered "
		    "under the candidate too.</p>");
}

struct expiry {
	struct page *p;
	long long now;
	int n;
};

static int expiry_row(const tr_hist_server *sv, void *arg)
{
	struct expiry *x = arg;
	char e1[600], e2[600], when[32];
	time_t t = (time_t)sv->cert_not_after;
	long long left;
	struct tm tm;

	if (sv->cert_not_after <= 0 || sv->cert_not_after > x->now + HTML_EXPIRY_DAYS * 86400LL)
		return 0;
	left = (sv->cert_not_after - x->now) / 86400;
	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%d", &tm);
	put(x->p, "<tr><td>%s</td><td class=\"l\">%s</td><td>%s</td><td>%s%lld%s</td></tr>",
	    esc(sv->dest, e1, sizeof e1), esc(sv->mx, e2, sizeof e2), when,
	    sv->cert_not_after < x->now ? "expired " : "in ", left < 0 ? -left : left, " days");
	x->n++;
	return 0;
}

static void expiry_table(struct page *p, tr_hist_store *s, long long now)
{
	struct expiry x = { p, now, 0 };
	tlsrelay_status st;

	put(p, "<h2>Certificates expiring within %d days</h2><table id=\"expiring\"><tr>"
	    "<th>destination</th><th class=\"l\">server</th><th>expires (UTC)</th><th>when</th></tr>",
	    HTML_EXPIRY_DAYS);
	(void)tr_hist_each_server(s, expiry_row, &x, &st);   /* what was read is shown */
	put(p, "</table>");
	if (x.n == 0)
		put(p, "<p class=\"none\">None seen.</p>");
}

static void suggestions(struct page *p, const rep_dest **v, size_t n)
{
	rep_suggestion sg[50];
	size_t k = rep_suggestions(v, n, 7, sg, 50);
	char e[600], ev[900];

	put(p, "<h2>Suggested tls_policy_map lines</h2><p>Destinations Verified on every attempt "
	    "on at least 7 days, with no failure. Nothing changes until you add them.</p>");
	if (k == 0) {
		put(p, "<p class=\"none\">None yet.</p>");
		return;
	}
	put(p, "<pre id=\"suggestions\">");
	for (size_t i = 0; i < k; i++)
		put(p, "# %s\n%s %s", esc(sg[i].evidence, ev, sizeof ev),
		    esc(sg[i].d->dest, e, sizeof e), sg[i].level);
	put(p, "</pre>");
}

tlsrelay_cat rep_html(struct tlsrelay_ctx *ctx, int days, tlsrelay_report_fn fn, void *arg,
                      tlsrelay_status *st)
{
	struct page p = { fn, arg };
	long long now = (long long)time(NULL);
	const rep_dest **v;
	char e[600];
	rep_agg a;
	tr_hist_store *s = rep_open_sorted(ctx, days, now, &a, &v, st);

	if (s == NULL)
		return st->cat;
	put(&p, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<title>tlsrelay: TLS report %s to %s</title><style>%s</style></head><body>",
	    a.since, a.until, style);
	put(&p, "<h1>Outbound TLS, %s to %s</h1><p class=\"sub\">%d days (UTC) from the TLS "
	    "history %s</p>", a.since, a.until, days, esc(ctx->cfg.tls_history, e, sizeof e));
	figures(&p, v, a.n);
	put(&p, "<h2>Posture over time</h2>");
	chart(&p, &a, days);
	top_table(&p, v, a.n);
	shadow_table(&p, ctx, v, a.n);
	expiry_table(&p, s, now);
	suggestions(&p, v, a.n);
	put(&p, "<script>addEventListener('load',function(){document.querySelectorAll("
	    "'[data-measure]').forEach(function(e){var r=e.getBoundingClientRect();"
	    "e.setAttribute('data-rendered',Math.round(r.width)+'x'+Math.round(r.height));});});"
	    "</script></body></html>");
	free(v);
	rep_agg_free(&a);
	tr_hist_close(s);
	return tr_status_ok(st);
}

/*
 * report_explain.c - tlsrelay-report explain DEST (and tlsrelay -q
 * --explain DEST): the live demand for a destination and where each part
 * comes from, the shadow demand, and the recent history, in words an
 * admin reads in one go (report.h).
 *
 *   example.com: mail goes to the MX hosts of example.com (nexthop example.com:25)
 *   live policy: verify match=hostname (from /etc/tlsrelay/tls_policy:3 key example.com)
 *     level verify: tls_policy_map /etc/tlsrelay/tls_policy:3 key example.com
 *     certificate: a trusted CA and one of the names hostname (each MX host's name)
 *     ... the lines of tlsrelay -q for DANE (per MX host, DNS) and MTA-STS (cache)
 *     a message can raise it: X-TLSRelay-Require (require_header = yes), message_rules FILE
 *   shadow policy: secure match=nexthop:dot-nexthop (from tls_shadow_security_level)
 *   history, 30 days: 42 messages: 0% plaintext, 100% TLS, 100% verified; ...
 *   recent attempts (newest first):
 *     2026-12-06 10:00:01 mx1.example.com[192.0.2.1] verified ... delivered; level verify
 *       from tls_policy_map (FILE:3 key example.com); shadow secure: pass
 *
 * The live part is what tlsrelay -q computes (query.c: no connection; the
 * DANE lines make DNS lookups); the history part reads the store. A
 * missing or unreadable store leaves the live part and says why.
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "ctx.h"
#include "demand.h"
#include "buf.h"
#include "history.h"
#include "policy.h"
#include "query.h"
#include "report.h"
#include "shadow.h"
#include "status.h"

#define EXPLAIN_RECENT 10


/* Each line of a multi-line text, indented. */
static void lines(tlsrelay_report_fn fn, void *arg, const char *indent, const char *text)
{
	while (*text) {
		size_t n = strcspn(text, "\n");

		if (n > 0)
			rep_out(fn, arg, "%s%.*s", indent, (int)n, text);
		text += n + (text[n] == '\n');
	}
}

/* How the nexthop-level demand authenticates the certificate. */
static const char *auth_words(const tr_policy *p)
{
	if (p->level == TR_TLS_FINGERPRINT)
		return "a pinned certificate or public-key digest";
	if (p->level == TR_TLS_VERIFY || p->level == TR_TLS_SECURE)
		return "a trusted CA and one of the names";
	if (p->level == TR_TLS_DANE || p->level == TR_TLS_DANE_ONLY)
		return "the servers' TLSA records (DNSSEC), see below";
	return p->level == TR_TLS_NONE ? "no TLS" : "not checked";
}

static void live_part(struct tlsrelay_ctx *ctx, const char *dest, tr_demand_in *in,
                      tlsrelay_report_fn fn, void *arg)
{
	const tr_config *cfg = &ctx->cfg;
	tr_policy shown;
	tr_demand d;
	char text[TR_POLICY_TEXT_MAX], names[TR_POLICY_TEXT_MAX];
	tr_buf nb;
	int same;

	tr_demand_for_nexthop(in, &d);
	tr_demand_nexthop_policy(in, &shown);
	rep_out(fn, arg, "live policy: %s", tr_policy_format(&shown, text, sizeof text));
	same = strcmp(d.level_src.text, tr_src_name(d.level_src.kind)) == 0;
	rep_out(fn, arg, "  level %s: %s%s%s", tr_tls_level_name(d.level), tr_src_name(d.level_src.kind),
	    d.level_src.text[0] && !same ? " " : "", same ? "" : d.level_src.text);
	tr_buf_fixed(&nb, names, sizeof names);
	for (int i = 0; i < shown.nmatch; i++)
		tr_buf_printf(&nb, "%s%s", i ? ":" : "", shown.match[i]);
	rep_out(fn, arg, "  certificate: %s%s%s", auth_words(&shown), names[0] ? " " : "", names);
	if (in->is_relay || !in->nh->mx_lookup || in->mapped)
		rep_out(fn, arg, "  MTA-STS: does not apply (%s)", in->mapped ? "a tls_policy_map entry "
		    "decides" : "not an MX destination");
	else if (!cfg->mta_sts)
		rep_out(fn, arg, "  MTA-STS: off (mta_sts = no)");
	rep_out(fn, arg, "  a message can raise it: %s%s%s",
	    cfg->require_header ? "X-TLSRelay-Require (require_header = yes; tlsrelay-milter adds it)"
	                        : "nothing (require_header = no)",
	    cfg->message_rules ? ", message_rules " : "", cfg->message_rules ? cfg->message_rules : "");
	(void)dest;
}

static void shadow_part(struct tlsrelay_ctx *ctx, const tr_demand_in *live,
                        tlsrelay_report_fn fn, void *arg)
{
	tr_policy pol, shown;
	tr_demand_in in;
	tr_demand d;
	tlsrelay_status st;
	char text[TR_POLICY_TEXT_MAX];

	if (!tr_shadow_configured(ctx)) {
		rep_out(fn, arg, "shadow policy: none configured (tls_shadow_security_level, "
		    "tls_shadow_policy_map)");
		return;
	}
	if (tr_shadow_inputs(ctx, live, &pol, &in, &st) != TLSRELAY_OK) {
		rep_out(fn, arg, "shadow policy: %s", st.text);
		return;
	}
	tr_demand_for_nexthop(&in, &d);
	tr_demand_nexthop_policy(&in, &shown);
	rep_out(fn, arg, "shadow policy: %s", tr_policy_format(&shown, text, sizeof text));
}

struct recent {
	tlsrelay_report_fn fn;
	void *arg;
	int n;
};

static int recent_row(const tr_hist_attempt *a, void *arg)
{
	struct recent *r = arg;
	char when[32], how[400] = "", where[400], use[48] = "";
	time_t t = (time_t)a->t;
	struct tm tm;
	int pass, detail;

	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
	if (a->verified_by[0])
		snprintf(how, sizeof how, " (%s%s%s)", a->verified_by, a->verify_detail[0] ? " " : "",
		         a->verify_detail);
	snprintf(where, sizeof where, a->addr[0] ? "%s[%s]" : "%s", a->mx, a->addr);
	detail = a->level_detail[0] && strcmp(a->level_detail, a->level_src) != 0;
	if (a->conn_use > 1)        /* as the to= line: only on a kept connection */
		snprintf(use, sizeof use, " (connection reused, conn_use=%u)", a->conn_use);
	rep_out(r->fn, r->arg, "  %s%s%s %s %s%s%s%s%s %s %s; level %s from %s%s%s%s", when,
	    a->queue_id[0] ? " " : "", a->queue_id, where, a->posture, how,
	    a->protocol[0] ? " " : "", a->protocol, use, a->outcome, a->dsn, a->level, a->level_src,
	    detail ? " (" : "", detail ? a->level_detail : "", detail ? ")" : "");
	if (a->reason[0])
		rep_out(r->fn, r->arg, "      %s: %s", a->reason, a->text);
	if (a->shadow[0]) {
		pass = strcmp(a->shadow, "pass") == 0 || strcmp(a->shadow, "unknown") == 0;
		rep_out(r->fn, r->arg, "      shadow %s: %s%s%s%s", a->shadow_level,
		    pass ? a->shadow : "would defer: ", pass ? "" : a->shadow,
		    pass ? "" : ": ", pass ? "" : a->shadow_text);
	}
	r->n++;
	return 0;
}

static void history_part(struct tlsrelay_ctx *ctx, const char *key, int days,
                         tlsrelay_report_fn fn, void *arg)
{
	tlsrelay_status st;
	tr_hist_store *s = rep_open(ctx, &st);
	struct recent r = { fn, arg, 0 };
	long long now = (long long)time(NULL);
	rep_dest *d = NULL;
	rep_agg a;

	if (s == NULL) {
		rep_out(fn, arg, "history: %s", st.text);
		return;
	}
	if (rep_agg_load(ctx, s, days, now, &a, &st) == TLSRELAY_OK) {
		for (size_t i = 0; i < a.cap && d == NULL; i++)
			if (strcmp(a.d[i].dest, key) == 0)
				d = &a.d[i];
		if (d == NULL)
			rep_out(fn, arg, "history, %d days: no mail for %s", days, key);
		else
			rep_out(fn, arg, "history, %d days: %lld message%s on %d day%s: %d%% plaintext, %d%% "
			    "TLS, %d%% verified, %d%% DANE, %d%% MTA-STS; %lld of %lld attempts failed; "
			    "the shadow policy would have deferred %lld; %lld attempts on a kept "
			    "connection", days, d->messages,
			    d->messages == 1 ? "" : "s", d->days, d->days == 1 ? "" : "s",
			    (int)(d->messages ? d->m_plain * 100 / d->messages : 0),
			    (int)(d->messages ? d->m_tls * 100 / d->messages : 0),
			    (int)(d->messages ? d->m_verified * 100 / d->messages : 0),
			    (int)(d->messages ? d->m_dane * 100 / d->messages : 0),
			    (int)(d->messages ? d->m_sts * 100 / d->messages : 0),
			    d->a_failed, d->attempts, d->shadow_defer, d->a_reused);
		rep_agg_free(&a);
	}
	rep_out(fn, arg, "recent attempts (newest first, UTC):");
	if (tr_hist_each_attempt(s, key, now - (long long)days * 86400, EXPLAIN_RECENT,
	                         recent_row, &r, &st) != TLSRELAY_OK)
		rep_out(fn, arg, "  cannot read the TLS history: %s", st.text);
	else if (r.n == 0)
		rep_out(fn, arg, "  none");
	tr_hist_close(s);
}

tlsrelay_cat rep_explain(struct tlsrelay_ctx *ctx, const char *dest, int days,
                         tlsrelay_report_fn fn, void *arg, tlsrelay_status *st)
{
	tr_nexthop nh;
	tr_policy pol;
	tr_demand_in in;
	char line[8192], hop[TR_NEXTHOP_TEXT_MAX], key[TR_NEXTHOP_TEXT_MAX];
	const char *more;
	int via_relay;

	if (tr_query_inputs(ctx, dest, &nh, &pol, &in, &via_relay, st) != TLSRELAY_OK ||
	    tlsrelay_policy_describe(ctx, dest, line, sizeof line, st) != TLSRELAY_OK)
		return st->cat;
	tr_history_dest(&nh, key, sizeof key);
	rep_out(fn, arg, "%s: mail goes to %s%s (nexthop %s; history key %s)", dest,
	    nh.mx_lookup ? "the MX hosts of " : "", nh.host, tr_nexthop_format(&nh, hop, sizeof hop),
	    key);
	if (via_relay)
		rep_out(fn, arg, "  through relayhost %s", ctx->cfg.relayhost);
	live_part(ctx, dest, &in, fn, arg);
	/* what tlsrelay -q adds: credentials, DANE per MX host, MTA-STS */
	if ((more = strstr(line, "; AUTH")) != NULL)
		rep_out(fn, arg, "  credentials: %.*s", (int)strcspn(more + 2, "\n ["), more + 2);
	if ((more = strchr(line, '\n')) != NULL)
		lines(fn, arg, "  ", more + 1);
	if ((more = strstr(line, " [MTA-STS")) != NULL)
		rep_out(fn, arg, "  %.*s", (int)strcspn(more + 1, "\n"), more + 1);
	shadow_part(ctx, &in, fn, arg);
	history_part(ctx, key, days, fn, arg);
	return tr_status_ok(st);
}

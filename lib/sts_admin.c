/*
 * sts_admin.c - tlsrelay-sts's work on the MTA-STS cache (see
 * sts_admin.h): open the store of mta_sts_cache with dns_resolver,
 * refresh, show; report hands over to the TLS-RPT module
 * (tlsrpt_send.c).
 *
 * show with shared_store (fleet.h) prints the fleet's copy too, with
 * when and by which host it was fetched, the copy a delivery would use
 * first, and a line saying which wins and why (the rule of
 * tr_sts_discover). Redis unavailable: a problem line, the local copy.
 *
 * refresh without domains lists every cached domain first and then
 * fetches: the store is not written while it is being read. The list is
 * one heap buffer of NUL-terminated names (bounded at 64 MiB: some
 * million domains); when it cannot grow ("out of memory") or the store
 * fails, the domains listed so far are refreshed and the run counts a
 * problem.
 */
#include "config.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "buf.h"
#include "ctx.h"
#include "fleet.h"
#include "sts.h"
#include "sts_admin.h"
#include "tlsrpt.h"

#define LIST_MAX (64u * 1024 * 1024)     /* bytes of cached domain names */

struct tr_sts_admin {
	tlsrelay_ctx *ctx;
	tr_sts_store *store;
	tr_dns dns;
	tr_sts_print_fn fn;
	void *arg;
};

void tr_sts_say(tr_sts_print_fn fn, void *arg, int problem, const char *fmt, ...)
{
	tr_buf b;
	va_list ap;

	tr_buf_init(&b, 0);
	va_start(ap, fmt);
	tr_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	fn(arg, problem, tr_buf_str(&b));
	tr_buf_free(&b);
}

tlsrelay_cat tr_sts_admin_open(tlsrelay_ctx *ctx, tr_sts_print_fn fn, void *arg,
                               tr_sts_admin **out, tlsrelay_status *st)
{
	const tr_config *cfg = &ctx->cfg;
	tr_sts_admin *a;
	char err[600];

	*out = NULL;
	if (cfg->mta_sts_cache == NULL)
		return tr_config_error(st, NULL, "mta_sts_cache is not set");
	if ((a = calloc(1, sizeof *a)) == NULL)
		return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
	a->ctx = ctx;
	a->fn = fn;
	a->arg = arg;
	if (tr_dns_init(&a->dns, cfg->dns_resolver, 10) < 0) {
		free(a);
		return tr_config_error(st, NULL, "bad dns_resolver");
	}
	if ((a->store = tr_sts_store_open(cfg->mta_sts_cache, st)) == NULL) {
		char why[TLSRELAY_TEXT_MAX];

		free(a);
		snprintf(why, sizeof why, "%s", st->text);
		return tr_config_error(st, NULL, "%s", why);
	}
	if (tr_sts_store_readonly(a->store))
		fn(arg, 1, tr_sts_readonly_text(a->store, err, sizeof err));
	*out = a;
	return tr_status_ok(st);
}

void tr_sts_admin_close(tr_sts_admin *a)
{
	if (a == NULL)
		return;
	tr_sts_store_close(a->store);
	free(a);
}

/* "DOMAIN: mode M, id I, expires T (ORIGIN), mx P..." */
static void say_policy(const tr_sts_admin *a, const char *domain, const tr_sts_policy *p,
                       const char *id, long long expires, const char *origin)
{
	char when[32];
	time_t t = (time_t)expires;
	struct tm tm;
	tr_buf b;

	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	tr_buf_init(&b, 0);
	tr_buf_printf(&b, "%s: mode %s, id %s, expires %s (%s), mx", domain,
	              tr_sts_mode_name(p->mode), id, when, origin);
	for (int i = 0; i < p->nmx; i++)
		tr_buf_printf(&b, " %s", tr_sts_policy_mx(p, i));
	if (p->nmx == 0)
		tr_buf_puts(&b, " none");
	a->fn(a->arg, 0, tr_buf_str(&b));
	tr_buf_free(&b);
}

/* Fetch domain's policy again; 1 when it has none afterwards. */
static int refresh_one(tr_sts_admin *a, const char *domain)
{
	tr_sts_found f;

	tr_sts_discover(a->ctx, &a->dns, a->store, domain, 1, (long long)time(NULL), 0, &f);
	if (f.have) {
		say_policy(a, domain, &f.pol, f.id, f.expires, f.origin);
		return 0;
	}
	tr_sts_say(a->fn, a->arg, 0, "%s: no policy%s%s", domain, f.fail_text[0] ? ": " : "",
	           f.fail_text);
	return 1;
}

static int list_one(const char *domain, void *arg)
{
	tr_buf *b = arg;

	tr_buf_add(b, domain, strlen(domain) + 1);   /* with its NUL */
	return b->lost;
}

int tr_sts_admin_refresh(tr_sts_admin *a, char *const *domains, int n)
{
	int problems = 0;

	for (int i = 0; i < n; i++)
		problems += refresh_one(a, domains[i]);
	if (n == 0) {
		tr_buf names;
		tlsrelay_status st;

		tr_buf_init(&names, LIST_MAX);
		if (tr_sts_store_each(a->store, list_one, &names, &st) != TLSRELAY_OK || names.lost) {
			a->fn(a->arg, 1, names.lost ? "out of memory" : st.text);
			problems++;
		}
		for (size_t at = 0; at < names.len; at += strlen(names.s + at) + 1)
			problems += refresh_one(a, names.s + at);
		tr_buf_free(&names);
	}
	{
		tlsrelay_status st;
		int removed = 0;

		if (tr_sts_store_prune(a->store, (long long)time(NULL), TR_STS_KEEP_DAYS, &removed,
		                       &st) != TLSRELAY_OK) {
			a->fn(a->arg, 1, st.text);
			problems++;
		}
	}
	return problems;
}

static void utc(long long t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* show with shared_store: both copies, the one a delivery uses first
 * (the rule of tr_sts_discover: the shared copy when it is unexpired and
 * fetched later than the local one), then which wins and why. */
static int show_fleet(tr_sts_admin *a, const char *domain, tr_found got, const tr_sts_cached *c)
{
	long long now = (long long)time(NULL);
	tr_fleet *f = tr_fleet_use(a->ctx);
	tr_sts_cached *fc = malloc(sizeof *fc);
	char by[128] = "", when[32], origin[256];
	tr_found sg = TR_LOOKUP_FAILED;
	int shared_wins, rc = 0;

	if (fc == NULL) {
		a->fn(a->arg, 1, "out of memory");
		return 1;
	}
	if (f != NULL)
		sg = tr_fleet_sts_get(f, domain, fc, by, sizeof by);
	if (sg == TR_LOOKUP_FAILED) {
		tr_sts_say(a->fn, a->arg, 1, "shared store %s unavailable: %s's fleet copy cannot "
		           "be read (only this host's copy is shown)", a->ctx->cfg.shared_store,
		           domain);
		rc = 1;
	}
	shared_wins = sg == TR_FOUND && fc->expires > now &&
	              (got != TR_FOUND || fc->fetched > c->fetched);
	for (int pass = 0; pass < 2; pass++) {
		int shared = pass == 0 ? shared_wins : !shared_wins;

		if (shared && sg == TR_FOUND) {
			utc(fc->fetched, when);
			snprintf(origin, sizeof origin, "shared store, fetched %s by %s%s", when, by,
			         fc->expires > now ? "" : ", expired");
			say_policy(a, domain, &fc->pol, fc->id, fc->expires, origin);
		} else if (!shared && got == TR_FOUND) {
			utc(c->fetched, when);
			snprintf(origin, sizeof origin, "cached, fetched %s%s", when,
			         c->expires > now ? "" : ", expired");
			say_policy(a, domain, &c->pol, c->id, c->expires, origin);
		}
	}
	if (shared_wins)
		tr_sts_say(a->fn, a->arg, 0, "%s: deliveries use the shared store's copy (%s)", domain,
		           got == TR_FOUND ? "fetched later than this host's" : "this host has none");
	else if (got == TR_FOUND && c->expires > now)
		tr_sts_say(a->fn, a->arg, 0, "%s: deliveries use this host's copy (%s)", domain,
		           sg != TR_FOUND ? "the fleet has none that could be read"
		           : fc->fetched == c->fetched ? "the same fetch as the shared one"
		           : "fetched later than the shared one, which the next delivery replaces");
	else {
		tr_sts_say(a->fn, a->arg, 0, "%s: %s", domain, got == TR_FOUND || sg == TR_FOUND
		           ? "no unexpired copy" : "not cached, not in the shared store");
		rc = 1;
	}
	free(fc);
	return rc;
}

int tr_sts_admin_show(tr_sts_admin *a, const char *domain)
{
	tr_sts_cached c;
	tlsrelay_status st;
	tr_found got = tr_sts_store_get(a->store, domain, &c, &st);

	if (got == TR_LOOKUP_FAILED) {
		a->fn(a->arg, 1, st.text);
		if (!tr_fleet_configured(a->ctx))
			return 1;
	}
	if (tr_fleet_configured(a->ctx))
		return show_fleet(a, domain, got, &c) + (got == TR_LOOKUP_FAILED);
	if (got == TR_NOT_FOUND) {
		tr_sts_say(a->fn, a->arg, 0, "%s: not cached", domain);
		return 1;
	}
	say_policy(a, domain, &c.pol, c.id, c.expires,
	           c.expires > (long long)time(NULL) ? "cached" : "cached, expired");
	return 0;
}

tlsrelay_cat tr_sts_admin_report(tr_sts_admin *a, const tr_tlsrpt_job *job, int *problems,
                                 tlsrelay_status *st)
{
	long long start;

	*problems = 0;
	if (job->day == NULL || tr_tlsrpt_day(job->day, &start) < 0 || (job->send && job->from == NULL))
		return tr_status_set(st, TLSRELAY_USAGE, "5.5.4", "bad report job");
	*problems = tr_tlsrpt_send_day(a->ctx, &a->dns, a->store, job, a->fn, a->arg);
	return tr_status_ok(st);
}

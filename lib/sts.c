/*
 * sts.c - MTA-STS discovery and enforcement, TLS-RPT recording (see sts.h).
 *
 * Decisions:
 * - The store is opened once per delivery, on first use. When it cannot be
 *   opened (path not writable...) MTA-STS still works without a cache and
 *   the reason is logged: a cache problem must not stop mail.
 * - A policy fetch is bounded by min(60 s, command_timeout).
 * - In testing mode a host outside the patterns is still tried; it is
 *   counted once, as validation-failure, whatever its TLS did.
 * - With shared_store (fleet.h), the cached policy is the newer (by fetch
 *   time) of the local and the shared copy; a shared copy that wins is
 *   also written to the local cache (a host that later loses Redis keeps
 *   enforcing what the fleet knew: no downgrade by an outage); a local
 *   copy newer than the shared one is published, and so is every fetched
 *   policy. The RFC 8461 rules (TXT id, max_age) are then the same as
 *   for the local cache alone.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "ctx.h"
#include "dns_txt.h"
#include "fleet.h"
#include "io.h"
#include "log.h"
#include "status.h"
#include "sts.h"
#include "sts_fetch.h"

#define FETCH_TIMEOUT_MAX 60

/* ------------------------------------------------------------ discovery */

/* The one STSv1 record: TR_FOUND with id; TR_NOT_FOUND (none usable) or
 * TR_LOOKUP_FAILED with why. */
static tr_found txt_id(const tr_dns *dns, const char *domain,
                       char *id, char *why, size_t cap)
{
	char (*recs)[TR_DNS_TXT_MAX] = malloc(TR_DNS_TXT_COUNT * sizeof *recs);
	char name[TR_HOSTNAME_MAX + 16], one[TR_STS_ID_MAX];
	tlsrelay_status st;
	int n, found = 0;

	snprintf(name, sizeof name, "_mta-sts.%s", domain);
	if (recs == NULL) {
		snprintf(why, cap, "out of memory");
		return TR_LOOKUP_FAILED;
	}
	if (tr_dns_txt(dns, name, recs, TR_DNS_TXT_COUNT, &n, &st) != TLSRELAY_OK) {
		tr_buf b;

		tr_buf_fixed(&b, why, cap);
		tr_buf_puts(&b, st.text);        /* cut at cap - 1 */
		free(recs);
		return TR_LOOKUP_FAILED;
	}
	for (int i = 0; i < n; i++) {
		tr_sts_txt_res r = tr_sts_txt_parse(recs[i], one);

		if (r == TR_STS_TXT_OTHER)
			continue;
		if (r == TR_STS_TXT_INVALID || found++) {
			snprintf(why, cap, "%s: %s", name, r == TR_STS_TXT_INVALID ? "bad STSv1 record"
			         : "more than one STSv1 record");
			free(recs);
			return TR_NOT_FOUND;
		}
		memcpy(id, one, sizeof one);
	}
	free(recs);
	if (!found)
		snprintf(why, cap, "%s: no STSv1 TXT record", name);
	return found ? TR_FOUND : TR_NOT_FOUND;
}

static void use_cached(tr_sts_found *out, const tr_sts_cached *c, const char *origin)
{
	out->have = 1;
	out->pol = c->pol;
	out->expires = c->expires;
	memcpy(out->id, c->id, sizeof out->id);
	out->origin = origin;
}

/* Fetch and parse; 0 with *pol, -1 with out->fail_*. */
static int fetch_policy(struct tlsrelay_ctx *ctx, const tr_dns *dns, const char *domain,
                        long long deadline_ms, tr_sts_policy *pol, tr_sts_found *out)
{
	int t = ctx->cfg.command_timeout < FETCH_TIMEOUT_MAX ? ctx->cfg.command_timeout : FETCH_TIMEOUT_MAX;
	long long left = deadline_ms ? (deadline_ms - tr_now_ms()) / 1000 : t;
	char *body = NULL, err[TLSRELAY_TEXT_MAX - 64];
	size_t len = 0;
	tr_sts_fetch_res fr;
	tlsrelay_status st;
	int r = 0;

	if (left < t)
		t = left < 1 ? 1 : (int)left;
	if (tr_sts_fetch(ctx, dns, domain, t, &body, &len, &fr, &st) != TLSRELAY_OK) {
		snprintf(out->fail_type, sizeof out->fail_type, "%s",
		         fr == TR_STS_FETCH_WEBPKI ? "sts-webpki-invalid" : "sts-policy-fetch-error");
		snprintf(out->fail_text, sizeof out->fail_text, "MTA-STS policy fetch failed: %.*s",
		         (int)sizeof err - 1, st.text);
		return -1;
	}
	if (tr_sts_policy_parse(body, len, pol, err, sizeof err) < 0) {
		snprintf(out->fail_type, sizeof out->fail_type, "sts-policy-invalid");
		snprintf(out->fail_text, sizeof out->fail_text,
		         "MTA-STS policy of %.200s refused: %.250s", domain, err);
		r = -1;
	}
	free(body);
	return r;
}

/* The fleet's copy of domain's policy against the local one (*cached, c):
 * the newer wins (*shared = 1 when it is the fleet's, then written to the
 * local store too); a valid local copy newer than the fleet's is
 * published. */
static void merge_shared(struct tlsrelay_ctx *ctx, tr_sts_store *store, const char *domain,
                         long long now, tr_found *cached, tr_sts_cached *c, int *shared)
{
	tr_fleet *f = tr_fleet_use(ctx);
	tr_sts_cached *fc = f ? malloc(sizeof *fc) : NULL;
	tlsrelay_status st;
	tr_found r;

	if (fc == NULL)
		return;
	r = tr_fleet_sts_get(f, domain, fc, NULL, 0);
	if (r == TR_FOUND && fc->expires > now &&
	    (*cached != TR_FOUND || fc->fetched > c->fetched)) {
		*c = *fc;
		*cached = TR_FOUND;
		*shared = 1;
		if (store && tr_sts_store_put(store, domain, c->id, &c->pol, c->fetched, &st)
		    != TLSRELAY_OK)
			tr_log(ctx, LOG_WARNING, "MTA-STS cache: %s", st.text);
	} else if (r != TR_LOOKUP_FAILED && *cached == TR_FOUND && c->expires > now &&
	           (r == TR_NOT_FOUND || c->fetched > fc->fetched)) {
		if (tr_fleet_sts_put(f, domain, c->id, &c->pol, c->fetched) < 0)
			tr_fleet_dropped(ctx, 1);
	}
	free(fc);
}

/* A fetched policy to the fleet, queued (or counted as dropped when it is
 * down). */
static void publish(struct tlsrelay_ctx *ctx, const char *domain, const char *id,
                    const tr_sts_policy *pol, long long now)
{
	tr_fleet *f = tr_fleet_writer(ctx);

	if (f == NULL || tr_fleet_sts_put(f, domain, id, pol, now) < 0)
		tr_fleet_dropped(ctx, 1);
}

void tr_sts_discover(struct tlsrelay_ctx *ctx, const tr_dns *dns,
                     tr_sts_store *store, const char *domain, int force,
                     long long now, long long deadline_ms, tr_sts_found *out)
{
	tr_sts_cached c;
	tr_sts_policy pol;
	char id[TR_STS_ID_MAX] = "", why[TLSRELAY_TEXT_MAX - 64] = "";
	tlsrelay_status sst;
	tr_found cached = store ? tr_sts_store_get(store, domain, &c, &sst) : TR_NOT_FOUND;
	int valid, shared = 0;
	tr_found txt;

	memset(out, 0, sizeof *out);
	out->origin = "none";
	if (cached == TR_LOOKUP_FAILED)
		tr_log(ctx, LOG_WARNING, "MTA-STS cache: %s", sst.text);
	if (tr_fleet_configured(ctx))
		merge_shared(ctx, store, domain, now, &cached, &c, &shared);
	valid = cached == TR_FOUND && c.expires > now;
	txt = txt_id(dns, domain, id, why, sizeof why);
	if (txt != TR_FOUND) {
		tr_vlog(ctx, 1, "MTA-STS %s: %s%s", domain, why, valid ? "; using the cached policy" : "");
		if (valid)
			use_cached(out, &c, shared ? "shared store" : "cache");
		return;
	}
	if (valid && !force && strcmp(c.id, id) == 0) {
		use_cached(out, &c, shared ? "shared store" : "cache");
		return;
	}
	if (fetch_policy(ctx, dns, domain, deadline_ms, &pol, out) < 0) {
		tr_log(ctx, LOG_WARNING, "%s%s", out->fail_text,
		       valid ? "; using the cached policy" : "; no policy applies");
		if (valid)
			use_cached(out, &c, shared ? "shared store (fetch failed)"
			           : "cache (fetch failed)");
		return;
	}
	if (store && tr_sts_store_put(store, domain, id, &pol, now, &sst) != TLSRELAY_OK)
		tr_log(ctx, LOG_WARNING, "MTA-STS cache: %s", sst.text);
	if (tr_fleet_configured(ctx))
		publish(ctx, domain, id, &pol, now);
	out->have = 1;
	out->pol = pol;
	out->expires = now + pol.max_age;
	memcpy(out->id, id, sizeof id);
	out->origin = "fetched";
	tr_log(ctx, LOG_INFO, "MTA-STS policy of %s fetched: id %s, mode %s, max_age %ld",
	       domain, id, tr_sts_mode_name(pol.mode), pol.max_age);
	if (pol.mx_ignored > 0)
		tr_log(ctx, LOG_WARNING, "MTA-STS policy of %s: %d mx lines ignored beyond the "
		       "first %d patterns (%d bytes of them at most); the policy is kept", domain,
		       pol.mx_ignored, TR_STS_MAX_MX, TR_STS_MX_BYTES);
}

/* ------------------------------------------------------------ per delivery */

/* Only the small fields: the found policy is 34 KB (sts_policy.h), and
 * f.have = 0 says it holds nothing. */
void tr_sts_run_init(tr_sts_run *r, struct tlsrelay_ctx *ctx)
{
	r->ctx = ctx;
	r->store = NULL;
	r->store_failed = 0;
	tr_sts_run_clear(r);
}

tr_sts_store *tr_sts_run_store(tr_sts_run *r)
{
	char err[512];
	tlsrelay_status st;

	if (r->ctx->cfg.mta_sts && r->ctx->cfg.mta_sts_cache == NULL && !r->store_failed) {
		r->store_failed = 1;     /* once per delivery */
		tr_log(r->ctx, LOG_WARNING, "mta_sts = yes without mta_sts_cache: every delivery "
		       "fetches the policy, and a failed fetch means no policy");
	}
	if (r->store || r->store_failed || r->ctx->cfg.mta_sts_cache == NULL)
		return r->store;
	r->store = tr_sts_store_open(r->ctx->cfg.mta_sts_cache, &st);
	if (r->store == NULL) {
		r->store_failed = 1;
		tr_log(r->ctx, LOG_WARNING, "MTA-STS cache unusable, working without it: %s", st.text);
	} else if (tr_sts_store_readonly(r->store)) {
		tr_log(r->ctx, LOG_ERR, "%s", tr_sts_readonly_text(r->store, err, sizeof err));
	}
	return r->store;
}

void tr_sts_run_nexthop(tr_sts_run *r, const tr_dns *dns, const char *domain,
                        long long deadline_ms)
{
	r->active = 1;
	snprintf(r->domain, sizeof r->domain, "%s", domain);
	tr_sts_discover(r->ctx, dns, tr_sts_run_store(r), domain, 0, (long long)time(NULL),
	                deadline_ms, &r->f);
	if (r->f.have)
		tr_log(r->ctx, LOG_INFO, "MTA-STS policy of %s: mode %s, id %s (%s)", r->domain,
		       tr_sts_mode_name(r->f.pol.mode), r->f.id, r->f.origin);
}

const tr_sts_policy *tr_sts_run_policy(const tr_sts_run *r)
{
	return r->active && r->f.have ? &r->f.pol : NULL;
}

void tr_sts_run_clear(tr_sts_run *r)
{
	r->active = 0;
	r->domain[0] = '\0';
	r->f.have = 0;
	r->f.id[0] = r->f.fail_type[0] = r->f.fail_text[0] = '\0';
	r->f.origin = "none";
}

void tr_sts_run_end(tr_sts_run *r)
{
	tr_sts_store_close(r->store);
	r->store = NULL;
	r->store_failed = 0;
	r->active = 0;
}

void tr_sts_describe(struct tlsrelay_ctx *ctx, const tr_nexthop *nh, int is_relay,
                     int policy_mapped, char *out, size_t cap)
{
	tr_sts_store *st = NULL;
	tr_sts_cached c;
	tlsrelay_status ignored;
	tr_buf b;

	if (cap == 0)
		return;
	tr_buf_fixed(&b, out, cap);
	if (!ctx->cfg.mta_sts || is_relay || !nh->mx_lookup || policy_mapped)
		return;
	if (ctx->cfg.mta_sts_cache && access(ctx->cfg.mta_sts_cache, R_OK) == 0)
		st = tr_sts_store_open(ctx->cfg.mta_sts_cache, &ignored);
	if (st == NULL || tr_sts_store_get(st, nh->host, &c, &ignored) != TR_FOUND ||
	    c.expires <= (long long)time(NULL)) {
		tr_buf_puts(&b, " [MTA-STS: no cached policy; looked up at delivery]");
		tr_sts_store_close(st);
		return;
	}
	tr_buf_printf(&b, " [MTA-STS: %s, id %s, mx", tr_sts_mode_name(c.pol.mode), c.id);
	for (int i = 0; i < c.pol.nmx; i++)
		tr_buf_printf(&b, " %s", tr_sts_policy_mx(&c.pol, i));
	tr_buf_printf(&b, "%s]", c.pol.mode == TR_STS_MODE_ENFORCE ?
	              "; enforced as verify match=hostname" : "");
	tr_sts_store_close(st);
}

const char *tr_sts_readonly_text(const tr_sts_store *store, char *out, size_t cap)
{
	snprintf(out, cap, "MTA-STS cache not writable: %s: fetched policies are not "
	         "kept (MTA-STS trust on first use is lost) and TLS-RPT results are not "
	         "counted; give the file and its directory to the user the transport runs as",
	         tr_sts_store_readonly(store));
	return out;
}

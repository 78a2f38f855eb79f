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
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <openssl/x509.h>
#include "ctx.h"
#include "dane.h"
#include "dns_txt.h"
#include "io.h"
#include "log.h"
#include "status.h"
#include "sts.h"
#include "sts_fetch.h"

#define FETCH_TIMEOUT_MAX 60

/* ------------------------------------------------------------ discovery */

/* The one STSv1 record: 1 with id, 0 none usable, -1 lookup failed. */
static int txt_id(const tr_dns *dns, const char *domain,
                  char *id, char *why, size_t cap)
{
	char (*recs)[TR_DNS_TXT_MAX] = malloc(TR_DNS_TXT_COUNT * sizeof *recs);
	char name[TR_HOSTNAME_MAX + 16], one[TR_STS_ID_MAX];
	tlsrelay_status st;
	int n, found = 0;

	snprintf(name, sizeof name, "_mta-sts.%s", domain);
	if (recs == NULL) {
		snprintf(why, cap, "out of memory");
		return -1;
	}
	n = tr_dns_txt(dns, name, recs, TR_DNS_TXT_COUNT, &st);
	if (n < 0) {
		snprintf(why, cap, "%.300s", st.text);
		free(recs);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		int r = tr_sts_txt_parse(recs[i], one);

		if (r == 0)
			continue;
		if (r < 0 || found++) {
			snprintf(why, cap, "%s: %s", name, r < 0 ? "bad STSv1 record" : "more than one STSv1 record");
			free(recs);
			return 0;
		}
		memcpy(id, one, sizeof one);
	}
	free(recs);
	if (!found)
		snprintf(why, cap, "%s: no STSv1 TXT record", name);
	return found;
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
	int r = 0;

	if (left < t)
		t = left < 1 ? 1 : (int)left;
	fr = tr_sts_fetch(ctx, dns, domain, t, &body, &len, err, sizeof err);

	if (fr != TR_STS_FETCH_OK) {
		snprintf(out->fail_type, sizeof out->fail_type, "%s",
		         fr == TR_STS_FETCH_WEBPKI ? "sts-webpki-invalid" : "sts-policy-fetch-error");
		snprintf(out->fail_text, sizeof out->fail_text, "MTA-STS policy fetch failed: %s", err);
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

void tr_sts_discover(struct tlsrelay_ctx *ctx, const tr_dns *dns,
                     tr_sts_store *store, const char *domain, int force,
                     long long now, long long deadline_ms, tr_sts_found *out)
{
	tr_sts_cached c;
	tr_sts_policy pol;
	char id[TR_STS_ID_MAX] = "", why[TLSRELAY_TEXT_MAX - 64] = "";
	int cached = store ? tr_sts_store_get(store, domain, &c) : 0;
	int valid = cached == 1 && c.expires > now;
	int txt;

	memset(out, 0, sizeof *out);
	out->origin = "none";
	if (cached < 0)
		tr_log(ctx, LOG_WARNING, "MTA-STS cache: %s", tr_sts_store_error(store));
	txt = txt_id(dns, domain, id, why, sizeof why);
	if (txt <= 0) {
		tr_vlog(ctx, 1, "MTA-STS %s: %s%s", domain, why, valid ? "; using the cached policy" : "");
		if (valid)
			use_cached(out, &c, "cache");
		return;
	}
	if (valid && !force && strcmp(c.id, id) == 0) {
		use_cached(out, &c, "cache");
		return;
	}
	if (fetch_policy(ctx, dns, domain, deadline_ms, &pol, out) < 0) {
		tr_log(ctx, LOG_WARNING, "%s%s", out->fail_text,
		       valid ? "; using the cached policy" : "; no policy applies");
		if (valid)
			use_cached(out, &c, "cache (fetch failed)");
		return;
	}
	if (store && tr_sts_store_put(store, domain, id, &pol, now) < 0)
		tr_log(ctx, LOG_WARNING, "MTA-STS cache: %s", tr_sts_store_error(store));
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

/* ------------------------------------------------------------ TLS-RPT */

/* The result types every policy type shares: NULL when the session never
 * got past the greeting (not counted), the failure when STARTTLS was not
 * offered or TLS did not come up, "" when TLS is up (the policy decides). */
static const char *tls_step_result(const tr_tls_outcome *o)
{
	if (!o->greeted)
		return NULL;
	if (!o->offered)
		return "starttls-not-supported";
	if (!o->up)
		return "validation-failure";
	return "";
}

const char *tr_sts_result_type(const tr_tls_outcome *o, int sts)
{
	const char *t = tls_step_result(o);

	if (t == NULL || *t != '\0')
		return t;
	if (!sts)
		return "success";
	if (!o->info.have_cert)
		return "certificate-not-trusted";
	if (!o->info.chain_ok)
		return strcmp(o->info.verify_error,
		              X509_verify_cert_error_string(X509_V_ERR_CERT_HAS_EXPIRED)) == 0
		       ? "certificate-expired" : "certificate-not-trusted";
	/* RFC 8461 4.2: a subjectAltName DNS-ID, never the subject CN alone */
	return o->info.name_ok && !o->info.name_cn_only ? "success" : "certificate-host-mismatch";
}

const char *tr_sts_readonly_text(const tr_sts_store *store, char *out, size_t cap)
{
	snprintf(out, cap, "MTA-STS cache not writable: %s: fetched policies are not "
	         "kept (MTA-STS trust on first use is lost) and TLS-RPT results are not "
	         "counted; give the file and its directory to the user the transport runs as",
	         tr_sts_store_readonly(store));
	return out;
}

static tr_sts_store *route_store(tr_sts_route *r)
{
	char err[512];

	if (r->ctx->cfg.mta_sts_cache == NULL && !r->store_failed) {
		r->store_failed = 1;     /* once per delivery */
		tr_log(r->ctx, LOG_WARNING, "mta_sts = yes without mta_sts_cache: every delivery "
		       "fetches the policy, and a failed fetch means no policy");
	}
	if (r->store || r->store_failed || r->ctx->cfg.mta_sts_cache == NULL)
		return r->store;
	r->store = tr_sts_store_open(r->ctx->cfg.mta_sts_cache, err, sizeof err);
	if (r->store == NULL) {
		r->store_failed = 1;
		tr_log(r->ctx, LOG_WARNING, "MTA-STS cache unusable, working without it: %s", err);
	} else if (tr_sts_store_readonly(r->store)) {
		tr_log(r->ctx, LOG_ERR, "%s", tr_sts_readonly_text(r->store, err, sizeof err));
	}
	return r->store;
}

/* The RFC 8460 policy-string and mx-host texts of p in one malloc'd buffer
 * (returned; *mx points into it), NULL when out of memory. Made when a
 * result is recorded rather than kept in tr_sts_route: up to 70 KB that
 * every delivery would otherwise carry on its stack. */
static char *policy_texts(const tr_sts_policy *p, char **mx)
{
	char *buf = malloc(TR_STS_POLICY_TEXT_MAX + TR_STS_MX_BYTES);
	size_t used = 0;

	if (buf == NULL)
		return NULL;
	tr_sts_policy_format(p, buf, TR_STS_POLICY_TEXT_MAX);
	*mx = buf + TR_STS_POLICY_TEXT_MAX;
	(*mx)[0] = '\0';
	for (int i = 0; i < p->nmx && used < TR_STS_MX_BYTES; i++)
		used += (size_t)snprintf(*mx + used, TR_STS_MX_BYTES - used, "%s%s", i ? "\n" : "",
		                         tr_sts_policy_mx(p, i));
	return buf;
}

static void record(tr_sts_route *r, const char *result, const char *mx, const char *ip,
                   const char *sip)
{
	int sts = r->f.have && r->f.pol.mode != TR_STS_MODE_NONE;
	char *texts = NULL, *mxs = NULL;

	if (r->store == NULL)
		return;
	if (sts && (texts = policy_texts(&r->f.pol, &mxs)) == NULL) {
		tr_log(r->ctx, LOG_WARNING, "TLS-RPT store: out of memory");
		return;
	}
	tr_rpt_row row = {
		r->domain, sts || r->f.fail_type[0] ? "sts" : "no-policy-found",
		sts ? texts : "", sts ? mxs : "", result, mx, ip, 1, sip
	};

	if (tr_sts_store_record(r->store, &row, (long long)time(NULL)) < 0)
		tr_log(r->ctx, LOG_WARNING, "TLS-RPT store: %s", tr_sts_store_error(r->store));
	free(texts);
}

/* ------------------------------------------------------------ TLS-RPT of DANE */

const char *tr_dane_result_type(const tr_tls_outcome *o)
{
	const char *t = tls_step_result(o);

	if (t == NULL || *t != '\0')
		return t;
	return o->info.dane_ok ? "success" : "tlsa-invalid";
}

/* The usable records in presentation format, one a line (malloc'd). */
static char *tlsa_text(const tr_dane_host *dh)
{
	size_t cap = 1, used = 0;
	char *out;

	for (int i = 0; i < dh->tlsa.n; i++)
		cap += 16 + 2 * dh->tlsa.rr[i].len;
	if ((out = malloc(cap)) == NULL)
		return NULL;
	out[0] = '\0';
	for (int i = 0; i < dh->tlsa.n; i++) {
		const tr_tlsa_rr *rr = &dh->tlsa.rr[i];

		used += (size_t)snprintf(out + used, cap - used, "%s%u %u %u ", i ? "\n" : "",
		                         rr->usage, rr->selector, rr->mtype);
		for (size_t k = 0; k < rr->len; k++)
			used += (size_t)snprintf(out + used, cap - used, "%02X", rr->data[k]);
	}
	return out;
}

void tr_sts_route_dane(tr_sts_route *r, const char *domain, const char *host,
                       const tr_addr *addr, const tr_dane_host *dh,
                       const tr_tls_outcome *o, const char *result)
{
	char *pol;

	if (result == NULL || r->ctx == NULL || r->ctx->cfg.mta_sts_cache == NULL ||
	    route_store(r) == NULL)
		return;
	pol = dh && dh->state == TR_DANE_USABLE ? tlsa_text(dh) : NULL;
	tr_rpt_row row = { domain, "tlsa", pol ? pol : "", host, result, host,
	                   addr ? addr->text : "", 1, o ? o->sending_ip : "" };

	if (tr_sts_store_record(r->store, &row, (long long)time(NULL)) < 0)
		tr_log(r->ctx, LOG_WARNING, "TLS-RPT store: %s", tr_sts_store_error(r->store));
	free(pol);
}

/* ------------------------------------------------------------ route */

void tr_sts_route_begin(tr_sts_route *r, struct tlsrelay_ctx *ctx, const tr_dns *dns,
                        const tr_nexthop *nh, int is_relay, int policy_mapped,
                        long long deadline_ms)
{
	r->ctx = ctx;
	r->active = 0;
	r->relaxed = 0;
	if (!ctx->cfg.mta_sts || is_relay || !nh->mx_lookup || policy_mapped)
		return;
	r->active = 1;
	snprintf(r->domain, sizeof r->domain, "%s", nh->host);
	tr_sts_discover(ctx, dns, route_store(r), nh->host, 0, (long long)time(NULL), deadline_ms,
	                &r->f);
	if (r->f.have) {
		tr_log(ctx, LOG_INFO, "MTA-STS policy of %s: mode %s, id %s (%s)", r->domain,
		       tr_sts_mode_name(r->f.pol.mode), r->f.id, r->f.origin);
	}
	if (r->f.fail_type[0])
		record(r, r->f.fail_type, "", "", "");
}

void tr_sts_route_relax(tr_sts_route *r, tr_tls_level level)
{
	r->relaxed = 1;
	if (r->active && r->f.have && r->f.pol.mode == TR_STS_MODE_ENFORCE)
		tr_log(r->ctx, LOG_INFO, "TLS-Required: No: MTA-STS policy of %s (enforce) relaxed: "
		       "not enforced for this message (level %s, MX hosts outside the policy "
		       "tried)", r->domain, tr_tls_level_name(level));
}

/* The mode applied: enforce is testing for a TLS-Required: No message. */
static tr_sts_mode mode_of(const tr_sts_route *r)
{
	return r->relaxed && r->f.pol.mode == TR_STS_MODE_ENFORCE ? TR_STS_MODE_TESTING
	                                                          : r->f.pol.mode;
}

static const char *mode_label(const tr_sts_route *r)
{
	return r->f.pol.mode == TR_STS_MODE_ENFORCE ? "enforce, TLS-Required: No" : "testing";
}

static int applies(const tr_sts_route *r, int has_usable_tlsa, tr_sts_mode mode)
{
	return r->active && r->f.have && !has_usable_tlsa && mode_of(r) == mode;
}

int tr_sts_route_host(tr_sts_route *r, const char *host, int has_usable_tlsa,
                      tlsrelay_status *st)
{
	if (applies(r, has_usable_tlsa, TR_STS_MODE_TESTING) && !tr_sts_mx_match(&r->f.pol, host))
		tr_log(r->ctx, LOG_WARNING, "MTA-STS policy of %s (%s): MX host %s matches "
		       "no mx pattern; delivering anyway", r->domain, mode_label(r), host);
	if (!applies(r, has_usable_tlsa, TR_STS_MODE_ENFORCE) || tr_sts_mx_match(&r->f.pol, host))
		return 1;
	tr_status_set(st, TLSRELAY_TEMP, "4.7.5", "MTA-STS policy of %s (enforce): MX host %s "
	              "matches no mx pattern of the policy", r->domain, host);
	tr_log(r->ctx, LOG_WARNING, "%s; skipped", st->text);
	record(r, "validation-failure", host, "", "");
	return 0;
}

void tr_sts_route_params(tr_sts_route *r, const char *host, int has_usable_tlsa,
                         tr_session_params *p)
{
	if (!applies(r, has_usable_tlsa, TR_STS_MODE_ENFORCE))
		return;
	/* RFC 8461 4.2: the name must be a subjectAltName DNS-ID; also when
	 * a stronger configured level (secure) keeps its own names */
	p->tls.san_only = 1;
	if (p->level < TR_TLS_VERIFY) {
		p->level = TR_TLS_VERIFY;
		p->tls.names[0] = host;
		p->tls.nnames = 1;
		p->tls.sni = host;
		p->fps = NULL;
		p->nfps = 0;
	}
}

void tr_sts_route_session(tr_sts_route *r, const char *host, const tr_addr *addr,
                          int has_usable_tlsa, const tr_tls_outcome *o)
{
	int sts = r->active && r->f.have && r->f.pol.mode != TR_STS_MODE_NONE && !has_usable_tlsa;
	const char *res;

	if (!r->active || has_usable_tlsa)
		return;                 /* DANE records its own results */
	if (sts && !tr_sts_mx_match(&r->f.pol, host))
		res = "validation-failure";     /* testing: counted once, as the mismatch */
	else if ((res = tr_sts_result_type(o, sts)) == NULL)
		return;
	if (sts && mode_of(r) == TR_STS_MODE_TESTING && strcmp(res, "success") != 0)
		tr_log(r->ctx, LOG_WARNING, "MTA-STS policy of %s (%s): %s[%s]: %s "
		       "(not enforced)", r->domain, mode_label(r), host, addr->text, res);
	record(r, res, host, addr->text, o->sending_ip);
}

void tr_sts_route_end(tr_sts_route *r)
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
	char err[256];
	size_t used;

	if (cap == 0)
		return;
	out[0] = '\0';
	if (!ctx->cfg.mta_sts || is_relay || !nh->mx_lookup || policy_mapped)
		return;
	if (ctx->cfg.mta_sts_cache && access(ctx->cfg.mta_sts_cache, R_OK) == 0)
		st = tr_sts_store_open(ctx->cfg.mta_sts_cache, err, sizeof err);
	if (st == NULL || tr_sts_store_get(st, nh->host, &c) != 1 || c.expires <= (long long)time(NULL)) {
		snprintf(out, cap, " [MTA-STS: no cached policy; looked up at delivery]");
		tr_sts_store_close(st);
		return;
	}
	used = (size_t)snprintf(out, cap, " [MTA-STS: %s, id %s, mx", tr_sts_mode_name(c.pol.mode), c.id);
	for (int i = 0; i < c.pol.nmx && used < cap; i++)
		used += (size_t)snprintf(out + used, cap - used, " %s", tr_sts_policy_mx(&c.pol, i));
	if (used < cap)
		snprintf(out + used, cap - used, "%s]",
		         c.pol.mode == TR_STS_MODE_ENFORCE ? "; enforced as verify match=hostname" : "");
	tr_sts_store_close(st);
}

/*
 * tlsrpt_record.c - TLS-RPT recording (RFC 8460) as an observer of a
 * delivery (observe.h): each session's TLS result, the policy failures of
 * MTA-STS discovery, and the DANE servers that could not be used, counted
 * in the results store (sts_cache.h) per policy domain with the RFC 8460
 * result type. Also the log lines of MTA-STS testing mode (what would have
 * failed under enforce). See tlsrpt.h.
 *
 * Decisions:
 * - Only the first session with an address counts: the plaintext retry of
 *   level may after a failed handshake says nothing new about the
 *   server's TLS.
 * - A DANE server is counted under policy-type "tlsa" whenever
 *   mta_sts_cache is set, even with mta_sts = no; other servers are
 *   counted only for a nexthop MTA-STS applies to.
 * - In testing mode a host outside the patterns is still tried; it is
 *   counted once, as validation-failure, whatever its TLS did.
 * - A store that cannot be written is logged; the delivery goes on.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <openssl/x509.h>
#include "buf.h"
#include "ctx.h"
#include "dane.h"
#include "demand.h"
#include "log.h"
#include "nexthop.h"
#include "sts.h"
#include "fleet.h"
#include "tlsrpt.h"

/* ------------------------------------------------------------ result types */

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

const char *tr_dane_result_type(const tr_tls_outcome *o)
{
	const char *t = tls_step_result(o);

	if (t == NULL || *t != '\0')
		return t;
	return o->info.dane_ok ? "success" : "tlsa-invalid";
}

/* ------------------------------------------------------------ recording */

static void store_row(tr_tlsrpt_rec *rec, const tr_rpt_row *row)
{
	tr_sts_store *store = tr_sts_run_store(rec->sts);
	tlsrelay_status st;

	if (store && tr_sts_store_record(store, row, (long long)time(NULL), &st) != TLSRELAY_OK)
		tr_log(rec->ctx, LOG_WARNING, "TLS-RPT store: %s", st.text);
	if (store && tr_fleet_configured(rec->ctx)) {   /* the fleet's count too, queued */
		tr_fleet *f = tr_fleet_writer(rec->ctx);

		if (f == NULL || tr_fleet_rpt_add(f, row, (long long)time(NULL)) < 0)
			tr_fleet_dropped(rec->ctx, 1);
	}
}

/* One result under the nexthop's MTA-STS lookup (policy-type "sts", or
 * "no-policy-found" when there is no policy). */
static void record_sts(tr_tlsrpt_rec *rec, const char *result, const char *mx,
                       const char *ip, const char *sip)
{
	const tr_sts_run *r = rec->sts;
	int sts = r->f.have && r->f.pol.mode != TR_STS_MODE_NONE;
	char *policy = NULL;
	tr_buf mxs;

	/* Made when a result is recorded, on the heap: a policy's texts can be
	 * 70 KB, more than a delivery should carry on its stack. */
	tr_buf_init(&mxs, TR_STS_MX_BYTES);
	if (sts) {
		if ((policy = malloc(TR_STS_POLICY_TEXT_MAX)) == NULL) {
			tr_log(rec->ctx, LOG_WARNING, "TLS-RPT store: out of memory");
			return;
		}
		tr_sts_policy_format(&r->f.pol, policy, TR_STS_POLICY_TEXT_MAX);
		for (int i = 0; i < r->f.pol.nmx; i++)
			tr_buf_printf(&mxs, "%s%s", i ? "\n" : "", tr_sts_policy_mx(&r->f.pol, i));
	}
	tr_rpt_row row = { r->domain, sts || r->f.fail_type[0] ? "sts" : "no-policy-found",
	                   policy ? policy : "", tr_buf_str(&mxs), result, mx, ip, 1, sip };
	store_row(rec, &row);
	free(policy);
	tr_buf_free(&mxs);
}

/* One result of a DANE server (policy-type "tlsa", RFC 8460 4.3): its
 * usable TLSA records in presentation format as the policy-string. */
static void record_tlsa(tr_tlsrpt_rec *rec, const char *host, const tr_addr *addr,
                        const tr_dane_host *dh, const tr_tls_outcome *o, const char *result)
{
	tr_buf pol;

	if (result == NULL || rec->ctx->cfg.mta_sts_cache == NULL)
		return;
	tr_buf_init(&pol, 0);
	for (int i = 0; dh && dh->state == TR_DANE_USABLE && i < dh->tlsa.n; i++) {
		const tr_tlsa_rr *rr = &dh->tlsa.rr[i];

		tr_buf_printf(&pol, "%s%u %u %u ", i ? "\n" : "", rr->usage, rr->selector, rr->mtype);
		tr_buf_hex(&pol, rr->data, rr->len, 0);
	}
	tr_rpt_row row = { rec->nexthop, "tlsa", tr_buf_str(&pol), host, result, host,
	                   addr ? addr->text : "", 1, o ? o->sending_ip : "" };
	store_row(rec, &row);
	tr_buf_free(&pol);
}

/* ------------------------------------------------------------ events */

static const char *mode_label(const tr_demand *d)
{
	return d->sts_relaxed ? "enforce, TLS-Required: No" : "testing";
}

static void on_nexthop(tr_tlsrpt_rec *rec, const tr_event *ev)
{
	snprintf(rec->nexthop, sizeof rec->nexthop, "%s", ev->nh->host);
	rec->mx_lookup = ev->nh->mx_lookup;
	if (ev->sts != NULL && rec->sts->active && rec->sts->f.fail_type[0])
		record_sts(rec, rec->sts->f.fail_type, "", "", "");
}

static void on_server(tr_tlsrpt_rec *rec, const tr_event *ev)
{
	const tr_demand *d = ev->demand;
	const tr_sts_run *r = rec->sts;

	if (d->skip && d->level_src.kind == TR_SRC_STS) {
		record_sts(rec, "validation-failure", ev->host, "", "");
		return;
	}
	if (d->skip && ev->dane && ev->dane->state != TR_DANE_OFF && rec->mx_lookup) {
		record_tlsa(rec, ev->host, NULL, ev->dane, NULL,     /* TLS-RPT "tlsa" */
		            ev->dane->tlsa_failed ? "dnssec-invalid" : "dane-required");
		return;
	}
	if (d->sts_mode == TR_STS_MODE_TESTING && r->active && r->f.have &&
	    !tr_sts_mx_match(&r->f.pol, ev->host))
		tr_log(rec->ctx, LOG_WARNING, "MTA-STS policy of %s (%s): MX host %s matches "
		       "no mx pattern; delivering anyway", r->domain, mode_label(d), ev->host);
}

static void on_end(tr_tlsrpt_rec *rec, const tr_event *ev)
{
	const tr_demand *d = ev->demand;
	const tr_tls_outcome *o = ev->outcome;
	const tr_sts_run *r = rec->sts;
	int sts = d->sts_mode != TR_STS_MODE_NONE;
	const char *res;

	if (ev->plain_retry || ev->reused)   /* reused: counted by its first session */
		return;
	if (d->auth == TR_AUTH_DANE) {
		if (rec->mx_lookup)
			record_tlsa(rec, ev->host, ev->addr, d->dane, o, tr_dane_result_type(o));
		return;                 /* DANE records its own results */
	}
	if (!r->active)
		return;
	if (sts && !tr_sts_mx_match(&r->f.pol, ev->host))
		res = "validation-failure";     /* testing: counted once, as the mismatch */
	else if ((res = tr_sts_result_type(o, sts)) == NULL)
		return;
	if (d->sts_mode == TR_STS_MODE_TESTING && strcmp(res, "success") != 0)
		tr_log(rec->ctx, LOG_WARNING, "MTA-STS policy of %s (%s): %s[%s]: %s "
		       "(not enforced)", r->domain, mode_label(d), ev->host, ev->addr->text, res);
	record_sts(rec, res, ev->host, ev->addr->text, o->sending_ip);
}

void tr_tlsrpt_rec_init(tr_tlsrpt_rec *rec, struct tlsrelay_ctx *ctx, tr_sts_run *sts)
{
	memset(rec, 0, sizeof *rec);
	rec->ctx = ctx;
	rec->sts = sts;
}

void tr_tlsrpt_observe(void *arg, const tr_event *ev)
{
	tr_tlsrpt_rec *rec = arg;

	switch (ev->type) {
	case TR_EV_NEXTHOP:
		on_nexthop(rec, ev);
		break;
	case TR_EV_SERVER:
		on_server(rec, ev);
		break;
	case TR_EV_END:
		on_end(rec, ev);
		break;
	default:
		break;
	}
}

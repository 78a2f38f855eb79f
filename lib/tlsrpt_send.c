/*
 * tlsrpt_send.c - the TLS-RPT reports of one day, printed or mailed (see
 * tlsrpt.h, tr_tlsrpt_send_day; the command's side is sts_admin.h).
 *
 * Each policy domain with results that day (or the job's one domain) gets
 * its JSON report (tlsrpt.c). Printed: the JSON as one line. Mailed: the
 * domain's _smtp._tls TXT records are looked up (dns_txt.h); the first
 * TLSRPTv1 record with a mailto: rua gives the addresses (at most
 * RUA_MAX); each gets its own report mail (tr_tlsrpt_mail), spooled and
 * delivered by tlsrelay itself (tlsrelay_deliver) with MTA-STS off: a
 * report about broken TLS must not be stopped by that TLS (RFC 8460 5.3;
 * the mail carries TLS-Required: No).
 *
 * THE FLEET (shared_store, fleet.h): the rows are the fleet's (every
 * host's counts), never this host's alone: when Redis cannot be read no
 * report is made (a partial report would be wrong and final). Mailing a
 * domain's report takes the fleet's lease for it first (SET NX EX
 * shared_store_lease); a report already marked sent, or whose lease
 * another host holds, is skipped with a result line. The "sent" marker is
 * set only after every address got the mail; a failure releases the
 * lease (the next run, on any host, sends it); a host that dies while
 * sending leaves the lease to expire and the next run sends it. So the
 * report goes out AT LEAST once: twice only when a host dies between the
 * receiver's 250 and the marker's write (the report-id is the same, so
 * the receiver can tell) or outlives its lease.
 *
 * Defaults (the job's NULL fields): submitter = this host's name
 * (gethostname; "localhost" when it has none), organization = submitter,
 * contact = postmaster@SUBMITTER.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "dns_txt.h"
#include "fleet.h"
#include "ctx.h"
#include "tlsrpt.h"

#define RUA_MAX 8            /* mailto: addresses used of one record */

typedef struct send_run {
	struct tlsrelay_ctx *ctx;
	const tr_dns *dns;
	tr_sts_store *store;
	const tr_tlsrpt_job *job;
	tr_tlsrpt_meta meta;
	tr_sts_print_fn fn;
	void *arg;
	int problems;
} send_run;

/* The mailto: addresses of domain's TLSRPTv1 record into rua; the count,
 * 0 with a problem line when there is none. */
static int find_rua(send_run *r, const char *domain, char rua[][256])
{
	char (*txt)[TR_DNS_TXT_MAX] = calloc(TR_DNS_TXT_COUNT, sizeof *txt);
	char name[TR_HOSTNAME_MAX + 16];
	tlsrelay_status st;
	int n = 0, nrua = 0, failed;

	snprintf(name, sizeof name, "_smtp._tls.%s", domain);
	if (txt == NULL)
		tr_status_set(&st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
	else
		tr_dns_txt(r->dns, name, txt, TR_DNS_TXT_COUNT, &n, &st);
	failed = st.cat != TLSRELAY_OK;
	for (int i = 0; i < n && nrua == 0; i++)
		nrua = tr_tlsrpt_rua(txt[i], rua, RUA_MAX);
	free(txt);
	if (nrua > 0)
		return nrua;
	tr_sts_say(r->fn, r->arg, 1, "%s: no TLSRPTv1 record with a mailto: rua%s%s", domain,
	           failed ? ": " : "", failed ? st.text : "");
	return 0;
}

/* One report mail for domain to rcpt: 0 sent, 1 a problem (said). */
static int mail_one(send_run *r, const char *domain, const char *json, char *rcpt)
{
	FILE *f = tmpfile();
	tlsrelay_message *msg = NULL;
	tlsrelay_rcpt rc = { .addr = rcpt, .status = { TLSRELAY_OK, "", "" } };
	tlsrelay_request req = { r->job->from, NULL, NULL, NULL, NULL, &rc, 1 };
	tlsrelay_status st;
	int bad = 1;

	if (f == NULL || tr_tlsrpt_mail(f, &r->meta, r->job->from, rcpt, domain, r->job->day,
	                                json, (long long)time(NULL), &st) != TLSRELAY_OK ||
	    fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0)
		tr_sts_say(r->fn, r->arg, 1, "%s: cannot write the report mail", domain);
	else if ((msg = tlsrelay_message_spool(r->ctx, fileno(f), &st)) == NULL ||
	         tlsrelay_deliver(r->ctx, &req, msg, &st) != TLSRELAY_OK)
		tr_sts_say(r->fn, r->arg, 1, "report for %s to <%s>: %s %s", domain, rcpt,
		           st.dsn, st.text);
	else
		bad = 0;
	if (!bad)
		tr_sts_say(r->fn, r->arg, 0, "%s: report sent to <%s>", domain, rcpt);
	tlsrelay_message_free(msg);
	if (f)
		fclose(f);
	return bad;
}

static tlsrelay_cat fleet_rows(void *src, const char *day, const char *domain,
                               int (*fn)(const tr_rpt_row *row, void *arg), void *arg,
                               tlsrelay_status *st)
{
	return tr_fleet_rpt_rows(src, day, domain, fn, arg, st);
}

/* The JSON of domain's report from the fleet or the local store. */
static tlsrelay_cat make_json(send_run *r, const char *domain, char **json, tlsrelay_status *st)
{
	tr_fleet *f;

	if (!tr_fleet_configured(r->ctx))
		return tr_tlsrpt_json(r->store, r->job->day, domain, &r->meta, json, st);
	if ((f = tr_fleet_use(r->ctx)) == NULL)
		return tr_status_set(st, TLSRELAY_TEMP, "4.4.1", "%s: shared store %s unavailable: "
		                     "no report (the fleet's would be partial); the next run makes "
		                     "it", domain, r->ctx->cfg.shared_store);
	return tr_tlsrpt_json_from(fleet_rows, f, r->job->day, domain, &r->meta, json, st);
}

/* Mail domain's report under the fleet's lease (see the file's header). */
static void fleet_mail(send_run *r, const char *domain)
{
	char token[64], by[128], *json = NULL, rua[RUA_MAX][256];
	tr_lease_res lr;
	tr_fleet *f = tr_fleet_use(r->ctx);
	tlsrelay_status st;
	int bad = 1, nrua;

	if (f == NULL || tr_fleet_lease(f, r->job->day, domain, r->ctx->cfg.shared_store_lease,
	                                token, &lr, by, sizeof by, &st) != TLSRELAY_OK) {
		tr_sts_say(r->fn, r->arg, 1, "%s: shared store %s unavailable: no report (the "
		           "fleet's would be partial); the next run sends it", domain,
		           r->ctx->cfg.shared_store);
		r->problems++;
		return;
	}
	if (lr != TR_LEASE_GOT) {
		tr_sts_say(r->fn, r->arg, 0, "%s: report %s by %s", domain,
		           lr == TR_LEASE_SENT ? "already sent for the fleet" : "being sent", by);
		return;
	}
	if (make_json(r, domain, &json, &st) != TLSRELAY_OK) {
		r->fn(r->arg, 1, st.text);
		r->problems++;
	} else if (json != NULL && (nrua = find_rua(r, domain, rua)) == 0) {
		r->problems++;
	} else if (json != NULL) {
		bad = 0;
		for (int i = 0; i < nrua; i++)
			bad += mail_one(r, domain, json, rua[i]);
		r->problems += bad;
	}
	free(json);
	if ((f = tr_fleet_use(r->ctx)) == NULL ||
	    tr_fleet_lease_end(f, r->job->day, domain, token, bad == 0, &st) != TLSRELAY_OK) {
		tr_sts_say(r->fn, r->arg, 1, "%s: shared store %s unavailable: the report's lease "
		           "is left to expire%s", domain, r->ctx->cfg.shared_store,
		           bad == 0 ? " (the report was sent: another host may send it again)" : "");
		r->problems++;
	}
}

/* tr_tlsrpt_domains' callback: domain's report printed or mailed. */
static int report_one(const char *domain, void *arg)
{
	send_run *r = arg;
	char *json = NULL, rua[RUA_MAX][256];
	tlsrelay_status st;
	int nrua;

	if (r->job->send && tr_fleet_configured(r->ctx)) {
		fleet_mail(r, domain);
		return 0;
	}
	if (make_json(r, domain, &json, &st) != TLSRELAY_OK) {
		r->fn(r->arg, 1, st.text);
		r->problems++;
	} else if (json != NULL && !r->job->send) {
		json[strcspn(json, "\n")] = '\0';          /* one line */
		r->fn(r->arg, 0, json);
	} else if (json != NULL && (nrua = find_rua(r, domain, rua)) == 0) {
		r->problems++;
	} else if (json != NULL) {
		for (int i = 0; i < nrua; i++)
			r->problems += mail_one(r, domain, json, rua[i]);
	}
	free(json);
	return 0;
}

int tr_tlsrpt_send_day(struct tlsrelay_ctx *ctx, const tr_dns *dns, tr_sts_store *s,
                       const tr_tlsrpt_job *job, tr_sts_print_fn fn, void *arg)
{
	send_run r = { ctx, dns, s, job, { NULL, NULL, NULL, NULL }, fn, arg, 0 };
	char host[256] = "";
	tr_buf contact;

	if (gethostname(host, sizeof host - 1) < 0 || host[0] == '\0')
		snprintf(host, sizeof host, "localhost");
	r.meta.submitter = job->submitter ? job->submitter : host;
	r.meta.org = job->org ? job->org : r.meta.submitter;
	tr_buf_init(&contact, 0);
	tr_buf_printf(&contact, "postmaster@%s", r.meta.submitter);
	r.meta.contact = job->contact ? job->contact : tr_buf_str(&contact);
	if (job->send) {
		tlsrelay_status st;

		tlsrelay_ctx_set(ctx, "mta_sts", "no", &st);
	}
	if (job->domain) {
		report_one(job->domain, &r);
	} else {
		tlsrelay_status st;
		tr_fleet *f = tr_fleet_configured(ctx) ? tr_fleet_use(ctx) : NULL;

		if (tr_fleet_configured(ctx) && f == NULL)
			tr_status_set(&st, TLSRELAY_TEMP, "4.4.1", "shared store %s unavailable: no "
			              "report (the fleet's would be partial); the next run makes it",
			              ctx->cfg.shared_store);
		else if (f)
			tr_tlsrpt_domains_from(fleet_rows, f, job->day, report_one, &r, &st);
		else
			tr_tlsrpt_domains(s, job->day, report_one, &r, &st);
		if (st.cat != TLSRELAY_OK) {
			fn(arg, 1, st.text);
			r.problems++;
		}
	}
	tr_buf_free(&contact);
	return r.problems;
}

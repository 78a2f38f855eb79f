/*
 * test_tlsrpt.c - TLS-RPT pieces without the network: the rua list of a
 * TLSRPTv1 record, the RFC 8460 result type of a session, the store's
 * counting and the JSON report's totals (tlsrpt.c, sts.c, sts_cache.c);
 * the observer (tlsrpt_record.c) counting sessions, not reused
 * connections.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/x509.h>
#include "dane.h"
#include "demand.h"
#include "nexthop.h"
#include "observe.h"
#include "sts.h"
#include "sts_cache.h"
#include "tlsrpt.h"
#include "tap.h"

struct rcase {
	const char *name, *txt;
	int want;
	const char *first, *second;
};

static const struct rcase rcases[] = {
	{ "one mailto", "v=TLSRPTv1; rua=mailto:tlsrpt@example.com", 1, "tlsrpt@example.com", NULL },
	{ "https skipped", "v=TLSRPTv1;rua=https://r.example.com/x,mailto:a@example.com", 1,
	  "a@example.com", NULL },
	{ "two mailto, spaces", "v=TLSRPTv1; rua=mailto:a@x.test , mailto:b@y.test;", 2,
	  "a@x.test", "b@y.test" },
	{ "MAILTO any case", "v=TLSRPTv1; rua=MAILTO:a@x.test", 1, "a@x.test", NULL },
	{ "no @", "v=TLSRPTv1; rua=mailto:nobody", 0, NULL, NULL },
	{ "angle bracket refused", "v=TLSRPTv1; rua=mailto:a<b@x.test", 0, NULL, NULL },
	{ "not TLSRPT", "v=spf1 -all", -1, NULL, NULL },
	{ "TLSRPTv10 is not v1", "v=TLSRPTv10; rua=mailto:a@x.test", -1, NULL, NULL },
	{ "no rua", "v=TLSRPTv1;", 0, NULL, NULL },
};

static void test_rua(void)
{
	char out[4][256], name[200];

	for (size_t i = 0; i < sizeof rcases / sizeof rcases[0]; i++) {
		const struct rcase *c = &rcases[i];
		int n;

		tap_expect(1 + (c->first != NULL) + (c->second != NULL));
		n = tr_tlsrpt_rua(c->txt, out, 4);
		snprintf(name, sizeof name, "rua: %s", c->name);
		TAP_INT(n, c->want, name);
		if (c->first && n >= 1)
			TAP_STR(out[0], c->first, name);
		if (c->second && n >= 2)
			TAP_STR(out[1], c->second, name);
	}
}

static void test_result_type(void)
{
	tr_tls_outcome o;

	tap_expect(9);
	memset(&o, 0, sizeof o);
	TAP_STR(tr_sts_result_type(&o, 1), NULL, "result: no greeting -> nothing counted");
	o.greeted = 1;
	TAP_STR(tr_sts_result_type(&o, 1), "starttls-not-supported", "result: STARTTLS not offered");
	o.offered = o.tried = 1;
	TAP_STR(tr_sts_result_type(&o, 1), "validation-failure", "result: handshake failed");
	o.up = 1;
	TAP_STR(tr_sts_result_type(&o, 0), "success", "result: no policy, TLS up");
	TAP_STR(tr_sts_result_type(&o, 1), "certificate-not-trusted", "result: STS, no certificate");
	o.info.have_cert = 1;
	snprintf(o.info.verify_error, sizeof o.info.verify_error, "%s",
	         X509_verify_cert_error_string(X509_V_ERR_CERT_HAS_EXPIRED));
	TAP_STR(tr_sts_result_type(&o, 1), "certificate-expired", "result: STS, expired");
	snprintf(o.info.verify_error, sizeof o.info.verify_error, "self-signed certificate");
	TAP_STR(tr_sts_result_type(&o, 1), "certificate-not-trusted", "result: STS, untrusted");
	o.info.chain_ok = 1;
	TAP_STR(tr_sts_result_type(&o, 1), "certificate-host-mismatch", "result: STS, wrong name");
	o.info.name_ok = 1;
	TAP_STR(tr_sts_result_type(&o, 1), "success", "result: STS, verified");
}

static void test_dane_result_type(void)
{
	tr_tls_outcome o;

	tap_expect(5);
	memset(&o, 0, sizeof o);
	TAP_STR(tr_dane_result_type(&o), NULL, "DANE result: no greeting -> nothing counted");
	o.greeted = 1;
	TAP_STR(tr_dane_result_type(&o), "starttls-not-supported", "DANE result: STARTTLS not offered");
	o.offered = o.tried = 1;
	TAP_STR(tr_dane_result_type(&o), "validation-failure", "DANE result: handshake failed");
	o.up = 1;
	o.info.dane = 1;
	o.info.have_cert = o.info.chain_ok = o.info.name_ok = 1;
	TAP_STR(tr_dane_result_type(&o), "tlsa-invalid", "DANE result: no TLSA record matched (WebPKI ignored)");
	o.info.dane_ok = 1;
	o.info.chain_ok = o.info.name_ok = 0;
	TAP_STR(tr_dane_result_type(&o), "success", "DANE result: a TLSA record matched");
}

/* The default report-id is DAY_DOMAIN@SUBMITTER whole, however long the
 * submitter (a name of 300 bytes was cut at 255 to fit a buffer), and the
 * same as the mail's Report-ID. */
static void report_id_whole(tr_sts_store *s)
{
	char sub[320], want[400], *json = NULL, *mail = NULL;
	tr_tlsrpt_meta m = { "Org", "c@x.test", sub, NULL };
	tlsrelay_status st;
	size_t len = 0;
	FILE *f;

	memset(sub, 'a', 300);
	snprintf(sub + 300, sizeof sub - 300, ".test");
	snprintf(want, sizeof want, "\"report-id\":\"2023-11-15_d.test@%s\"", sub);
	tr_tlsrpt_json(s, "2023-11-15", "d.test", &m, &json, &st);
	tap_ok(json && strstr(json, want) != NULL, "report: a long submitter's report-id is whole", json);
	snprintf(want, sizeof want, "Report-ID: <2023-11-15_d.test@%s>\n", sub);
	if ((f = open_memstream(&mail, &len)) != NULL) {
		tr_tlsrpt_mail(f, &m, "r@x.test", "a@d.test", "d.test", "2023-11-15", json ? json : "{}",
		               1700006400, &st);
		fclose(f);
	}
	tap_ok(mail && strstr(mail, want) != NULL, "report mail: the same Report-ID in the Subject", NULL);
	free(mail);
	free(json);
}

static void test_store_report(void)
{
	char path[] = "/tmp/test_tlsrpt.XXXXXX", db[64], err[256], *json = NULL;
	int fd = mkstemp(path);
	tr_sts_store *s;
	tlsrelay_status st;
	tr_tlsrpt_meta m = { "Org \"Q\"", "c@x.test", "x.test", NULL };
	tr_rpt_row ok = { "d.test", "sts", "version: STSv1\nmode: testing", "*.d.test", "success",
	                  "mx.d.test", "192.0.2.1", 0, "" };
	tr_rpt_row bad = ok;
	long long day0 = 1700006400;   /* 2023-11-15T00:00:00Z */

	/* opens; 3 + 2 recorded; the report 6; report_id_whole 2; the day
	 * before 2; a bad day 2; prune 2; the newer day 2 */
	tap_expect(1 + 5 + 6 + 2 + 2 + 2 + 2 + 2);
	if (fd >= 0)
		close(fd);
	snprintf(db, sizeof db, "%s.db", path);
	s = tr_sts_store_open(db, &st);
	tap_ok(s != NULL && st.cat == TLSRELAY_OK, "store: opens", st.text);
	if (s == NULL)
		return;
	bad.result = "certificate-expired";
	bad.sending_ip = "198.51.100.7";
	for (int i = 0; i < 3; i++)
		TAP_INT(tr_sts_store_record(s, &ok, day0 + 100 + i, &st), TLSRELAY_OK, "store: recorded");
	TAP_INT(tr_sts_store_record(s, &bad, day0 + 200, &st), TLSRELAY_OK, "store: recorded a failure");
	TAP_INT(tr_sts_store_record(s, &bad, day0 + 86400, &st), TLSRELAY_OK,   /* next day */
	        "store: recorded the next day");
	TAP_INT(tr_tlsrpt_json(s, "2023-11-15", "d.test", &m, &json, &st), TLSRELAY_OK,
	        "report: made (OK)");
	tap_ok(json != NULL, "report: results found", st.text);
	tap_ok(json && strstr(json, "\"total-successful-session-count\":3,"
	                      "\"total-failure-session-count\":1") != NULL,
	       "report: counts of that day only", json);
	tap_ok(json && strstr(json, "\"organization-name\":\"Org \\\"Q\\\"\"") != NULL,
	       "report: strings JSON-escaped", json);
	tap_ok(json && strstr(json, "\"policy-string\":[\"version: STSv1\",\"mode: testing\"]") != NULL,
	       "report: policy-string split into lines", json);
	tap_ok(json && strstr(json, "{\"result-type\":\"certificate-expired\",\"sending-mta-ip\":"
	                      "\"198.51.100.7\",\"receiving-mx-hostname\"") != NULL,
	       "report: failure details carry sending-mta-ip", json);
	free(json);
	json = NULL;
	report_id_whole(s);
	TAP_INT(tr_tlsrpt_json(s, "2023-11-14", "d.test", &m, &json, &st), TLSRELAY_OK,
	        "report: the day before: OK");
	tap_ok(json == NULL, "report: nothing the day before", json);
	TAP_INT(tr_tlsrpt_json(s, "2023-13-01", "d.test", &m, &json, &st), TLSRELAY_USAGE,
	        "report: bad day refused");
	tap_ok(json == NULL, "report: bad day: no report", json);
	/* Prune on 2023-11-16 keeping 0 days: the 15th goes, the 16th stays. */
	{
		int removed = -1;
		TAP_INT(tr_sts_store_prune(s, day0 + 86400 + 5, 0, &removed, &st), TLSRELAY_OK, "prune: OK");
		TAP_INT(removed, 2, "prune: the older day's two rows removed");
	}
	TAP_INT(tr_tlsrpt_json(s, "2023-11-16", "d.test", &m, &json, &st), TLSRELAY_OK,
	        "prune: the newer day: OK");
	tap_ok(json != NULL, "prune: the newer day kept", st.text);
	free(json);
	json = NULL;
	tr_sts_store_close(s);
	unlink(path);
	unlink(db);
	snprintf(err, sizeof err, "%s-wal", db);
	unlink(err);
	snprintf(err, sizeof err, "%s-shm", db);
	unlink(err);
}

/* The observer counts a session's TLS result once: the END of a session
 * on a connection reused from tlsrelayd's connection cache (ev.reused)
 * is the same TLS session again, not a new one (observe.h). A DANE
 * server is recorded whenever mta_sts_cache is set. */
static void test_observer_reused(void)
{
	char path[] = "/tmp/test_tlsrpt_obs.XXXXXX", db[64], err[256], *json = NULL;
	int fd = mkstemp(path);
	tlsrelay_ctx *ctx = tlsrelay_ctx_new();
	tlsrelay_status st;
	unsigned char digest[32] = { 1 };
	tr_dane_host dh;
	tr_demand d;
	tr_nexthop nh;
	tr_sts_run sts;
	tr_tlsrpt_rec rec;
	tr_tls_outcome o;
	tr_addr addr = { .text = "192.0.2.25" };
	tr_event ev;
	tr_tlsrpt_meta m = { "Org", "c@x.test", "x.test", NULL };

	tap_expect(3);
	if (fd >= 0)
		close(fd);
	snprintf(db, sizeof db, "%s.db", path);
	tap_ok(ctx && tlsrelay_ctx_set(ctx, "mta_sts_cache", db, &st) == TLSRELAY_OK,
	       "observer: context with mta_sts_cache", st.text);
	memset(&dh, 0, sizeof dh);
	dh.state = TR_DANE_USABLE;
	dh.tlsa.n = 1;
	dh.tlsa.rr[0] = (tr_tlsa_rr){ 3, 1, 1, digest, sizeof digest };
	memset(&d, 0, sizeof d);
	d.level = TR_TLS_DANE;
	d.auth = TR_AUTH_DANE;
	d.dane = &dh;
	tr_nexthop_parse("d.test", &nh, NULL, 0);
	tr_sts_run_init(&sts, ctx);
	tr_tlsrpt_rec_init(&rec, ctx, &sts);
	memset(&o, 0, sizeof o);
	o.greeted = o.offered = o.tried = o.up = o.enforced = 1;
	o.info.dane_ok = 1;
	ev = (tr_event){ .type = TR_EV_NEXTHOP, .nh = &nh, .demand = &d };
	tr_tlsrpt_observe(&rec, &ev);
	for (int i = 0; i < 3; i++) {     /* a new connection, then two reuses */
		ev = (tr_event){ .type = TR_EV_END, .host = "mx.d.test", .addr = &addr,
		                 .demand = &d, .outcome = &o, .reused = i > 0,
		                 .conn_use = (unsigned)i + 1 };
		tr_tlsrpt_observe(&rec, &ev);
	}
	tr_sts_run_end(&sts);
	{
		time_t now = time(NULL);
		char day[16];
		tr_sts_store *s = tr_sts_store_open(db, &st);

		strftime(day, sizeof day, "%Y-%m-%d", gmtime(&now));
		TAP_INT(s ? (int)tr_tlsrpt_json(s, day, "d.test", &m, &json, &st) : -1, TLSRELAY_OK,
		        "observer: the session recorded");
		tap_ok(json && strstr(json, "\"total-successful-session-count\":1,") != NULL,
		       "observer: one session for three transactions on one connection", json);
		free(json);
		tr_sts_store_close(s);
	}
	tlsrelay_ctx_free(ctx);
	unlink(path);
	unlink(db);
	snprintf(err, sizeof err, "%s-wal", db);
	unlink(err);
	snprintf(err, sizeof err, "%s-shm", db);
	unlink(err);
}

int main(void)
{
	test_rua();
	test_result_type();
	test_dane_result_type();
	test_store_report();
	test_observer_reused();
	return tap_done();
}

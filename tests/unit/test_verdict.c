/*
 * test_verdict.c - tr_tls_judge (lib/tls_verdict.c): would a session that
 * showed an outcome have met a demand? One row per case: the policy (the
 * demand is computed by tr_demand_for_server from it, as delivery does),
 * the DANE facts, MTA-STS, credentials, what the session showed, and the
 * verdict with its failure class. Also the class names round-trip.
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "dane.h"
#include "demand.h"
#include "observe.h"
#include "policy.h"
#include "sts_policy.h"
#include "tls.h"
#include "tap.h"

#define PIN "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99"

/* What the session showed. */
enum seen {
	NOT_GREETED,      /* connection refused, 4xx greeting */
	NO_STARTTLS,      /* greeted, STARTTLS not offered */
	NOT_TRIED,        /* offered, never tried (live level none) */
	HS_FAILED,        /* handshake failed */
	ANON,             /* TLS up, no certificate */
	UNTRUSTED,        /* chain not trusted */
	EXPIRED,          /* chain: certificate expired */
	TRUSTED,          /* chain ok, name does not match */
	CN_ONLY,          /* chain ok, name only in the subject CN */
	VERIFIED,         /* chain ok, name in a subjectAltName */
	PINNED,           /* self-signed, public key digest = PIN */
	DANE_OK,          /* a TLSA record matched */
	DANE_BAD          /* none matched */
};

enum dk { D_OFF, D_USABLE, D_NONE, D_FAILED };
enum sk { S_NONE, S_ENF, S_ENF_OTHER };

typedef struct row {
	const char *name;
	const char *policy;     /* tls_security_level value (or a policy) */
	enum dk dane;
	enum sk sts;
	int cred;
	enum seen seen;
	tr_verdict want;
	const char *why;        /* tr_tls_fail_name */
} row;

static const row rows[] = {
	{ "none, no STARTTLS: pass", "none", D_OFF, S_NONE, 0, NO_STARTTLS, TR_VERDICT_PASS, "" },
	{ "none, TLS not tried: pass", "none", D_OFF, S_NONE, 0, NOT_TRIED, TR_VERDICT_PASS, "" },
	{ "may, no STARTTLS: pass", "may", D_OFF, S_NONE, 0, NO_STARTTLS, TR_VERDICT_PASS, "" },
	{ "may, handshake failed: pass (plaintext)", "may", D_OFF, S_NONE, 0, HS_FAILED, TR_VERDICT_PASS, "" },
	{ "may, untrusted: pass", "may", D_OFF, S_NONE, 0, UNTRUSTED, TR_VERDICT_PASS, "" },
	{ "not greeted: unknown", "verify", D_OFF, S_NONE, 0, NOT_GREETED, TR_VERDICT_UNKNOWN, "" },
	{ "encrypt, no STARTTLS: defer", "encrypt", D_OFF, S_NONE, 0, NO_STARTTLS, TR_VERDICT_DEFER, "starttls-not-offered" },
	{ "encrypt, not tried: unknown", "encrypt", D_OFF, S_NONE, 0, NOT_TRIED, TR_VERDICT_UNKNOWN, "" },
	{ "encrypt, handshake failed: defer", "encrypt", D_OFF, S_NONE, 0, HS_FAILED, TR_VERDICT_DEFER, "tls-handshake-failed" },
	{ "encrypt, untrusted: pass", "encrypt", D_OFF, S_NONE, 0, UNTRUSTED, TR_VERDICT_PASS, "" },
	{ "encrypt, anonymous: pass", "encrypt", D_OFF, S_NONE, 0, ANON, TR_VERDICT_PASS, "" },
	{ "verify, anonymous: defer", "verify", D_OFF, S_NONE, 0, ANON, TR_VERDICT_DEFER, "certificate-missing" },
	{ "verify, untrusted: defer", "verify", D_OFF, S_NONE, 0, UNTRUSTED, TR_VERDICT_DEFER, "certificate-not-trusted" },
	{ "verify, expired: defer", "verify", D_OFF, S_NONE, 0, EXPIRED, TR_VERDICT_DEFER, "certificate-expired" },
	{ "verify, name mismatch: defer", "verify", D_OFF, S_NONE, 0, TRUSTED, TR_VERDICT_DEFER, "certificate-name-mismatch" },
	{ "verify, verified: pass", "verify", D_OFF, S_NONE, 0, VERIFIED, TR_VERDICT_PASS, "" },
	{ "verify, CN only: pass (no MTA-STS)", "verify", D_OFF, S_NONE, 0, CN_ONLY, TR_VERDICT_PASS, "" },
	{ "secure, no STARTTLS: defer", "secure", D_OFF, S_NONE, 0, NO_STARTTLS, TR_VERDICT_DEFER, "starttls-not-offered" },
	{ "secure, verified: pass", "secure", D_OFF, S_NONE, 0, VERIFIED, TR_VERDICT_PASS, "" },
	{ "fingerprint, pinned key: pass", "fingerprint match=" PIN, D_OFF, S_NONE, 0, PINNED, TR_VERDICT_PASS, "" },
	{ "fingerprint, other key: defer", "fingerprint match=" PIN, D_OFF, S_NONE, 0, VERIFIED, TR_VERDICT_DEFER, "fingerprint-mismatch" },
	{ "dane, usable, match: pass", "dane", D_USABLE, S_NONE, 0, DANE_OK, TR_VERDICT_PASS, "" },
	{ "dane, usable, no match: defer", "dane", D_USABLE, S_NONE, 0, DANE_BAD, TR_VERDICT_DEFER, "tlsa-mismatch" },
	{ "dane, usable, no STARTTLS: defer", "dane", D_USABLE, S_NONE, 0, NO_STARTTLS, TR_VERDICT_DEFER, "starttls-not-offered" },
	{ "dane, no records, no STARTTLS: pass (may)", "dane", D_NONE, S_NONE, 0, NO_STARTTLS, TR_VERDICT_PASS, "" },
	{ "dane-only, no records: defer (skip)", "dane-only", D_NONE, S_NONE, 0, VERIFIED, TR_VERDICT_DEFER, "dane-required" },
	{ "dane, TLSA lookup failed: defer (skip)", "dane", D_FAILED, S_NONE, 0, VERIFIED, TR_VERDICT_DEFER, "dnssec-invalid" },
	{ "MTA-STS enforce, verified: pass", "may", D_OFF, S_ENF, 0, VERIFIED, TR_VERDICT_PASS, "" },
	{ "MTA-STS enforce, CN only: defer", "may", D_OFF, S_ENF, 0, CN_ONLY, TR_VERDICT_DEFER, "certificate-name-cn-only" },
	{ "MTA-STS enforce, MX not in policy: defer (skip)", "may", D_OFF, S_ENF_OTHER, 0, VERIFIED, TR_VERDICT_DEFER, "sts-mx-mismatch" },
	{ "MTA-STS enforce, no STARTTLS: defer", "may", D_OFF, S_ENF, 0, NO_STARTTLS, TR_VERDICT_DEFER, "starttls-not-offered" },
	{ "may + credentials, no STARTTLS: defer", "may", D_OFF, S_NONE, 1, NO_STARTTLS, TR_VERDICT_DEFER, "starttls-not-offered" },
};

static unsigned char rr_data[32] = { 0xAA };

static void facts(enum dk k, tr_dane_host *h)
{
	memset(h, 0, sizeof *h);
	if (k == D_OFF)
		return;
	h->state = k == D_USABLE ? TR_DANE_USABLE : TR_DANE_NONE;
	h->tlsa_failed = k == D_FAILED;
	if (k == D_USABLE) {
		h->tlsa.n = h->tlsa.total = 1;
		h->tlsa.rr[0] = (tr_tlsa_rr){ 3, 1, 1, rr_data, sizeof rr_data };
		snprintf(h->base, sizeof h->base, "mx.example.test");
		snprintf(h->names[0], sizeof h->names[0], "mx.example.test");
		h->nnames = 1;
	}
	snprintf(h->why, sizeof h->why, "%s", k == D_FAILED ? "TLSA lookup failed" : "facts");
}

static void outcome(enum seen s, tr_tls_outcome *o)
{
	tr_tls_info *i = &o->info;

	memset(o, 0, sizeof *o);
	if (s == NOT_GREETED)
		return;
	o->greeted = 1;
	if (s == NO_STARTTLS)
		return;
	o->offered = 1;
	if (s == NOT_TRIED)
		return;
	o->tried = 1;
	if (s == HS_FAILED)
		return;
	o->up = 1;
	snprintf(i->protocol, sizeof i->protocol, "TLSv1.3");
	if (s == ANON)
		return;
	i->have_cert = 1;
	snprintf(i->subject, sizeof i->subject, "/CN=mx.example.test");
	snprintf(i->cert_sha256, sizeof i->cert_sha256, "11:22");
	snprintf(i->pkey_sha256, sizeof i->pkey_sha256, "%s", s == PINNED ? PIN : "33:44");
	i->chain_ok = s != UNTRUSTED && s != EXPIRED && s != PINNED;
	if (s == UNTRUSTED || s == PINNED)
		snprintf(i->verify_error, sizeof i->verify_error, "self-signed certificate");
	if (s == EXPIRED)
		snprintf(i->verify_error, sizeof i->verify_error, "certificate has expired");
	i->name_ok = s == VERIFIED || s == DANE_OK || s == DANE_BAD;
	i->name_cn_only = s == CN_ONLY;
	i->dane = s == DANE_OK || s == DANE_BAD;
	i->dane_ok = s == DANE_OK;
}

static void check_row(const row *r)
{
	tr_nexthop nh;
	tr_policy pol;
	tr_dane_host dh;
	static tr_sts_policy sts;
	tr_demand_in in;
	tr_demand d;
	tr_tls_outcome o;
	tlsrelay_status st;
	tr_tls_fail why;
	tr_verdict v;
	char diag[800], err[200], text[200];

	tr_demand_in_init(&in);
	if (tr_nexthop_parse("example.test", &nh, NULL, 0) < 0 ||
	    tr_policy_parse_value(r->policy, "tls_security_level", &pol, &st) != TLSRELAY_OK) {
		tap_ok(0, r->name, "the row's policy does not parse");
		return;
	}
	facts(r->dane, &dh);
	in.nh = &nh;
	in.policy = &pol;
	in.host = "mx.example.test";
	in.dane = r->dane == D_OFF ? NULL : &dh;
	in.cred_key = r->cred ? "example.test" : NULL;
	if (r->sts != S_NONE) {
		snprintf(text, sizeof text, "version: STSv1\nmode: enforce\nmax_age: 86400\nmx: %s\n",
		         r->sts == S_ENF ? "*.example.test" : "other.test");
		if (tr_sts_policy_parse(text, strlen(text), &sts, err, sizeof err) != 0) {
			tap_ok(0, r->name, "the row's MTA-STS policy does not parse");
			return;
		}
		in.sts = &sts;
	}
	tr_demand_for_server(&in, &d);
	outcome(r->seen, &o);
	if (r->seen == CN_ONLY)         /* OpenSSL's CN fallback counts unless san_only */
		o.info.name_ok = !d.san_only;
	v = tr_tls_judge(&d, in.dane, &o, "mx.example.test[192.0.2.1]:25", &why, &st);
	snprintf(diag, sizeof diag, "got verdict %d class \"%s\" (%s), want %d \"%s\"; demand %s",
	         v, tr_tls_fail_name(why), st.text, r->want, r->why,
	         tr_demand_format(&d, text, sizeof text));
	tap_ok(v == r->want && strcmp(tr_tls_fail_name(why), r->why) == 0, r->name, diag);
}

int main(void)
{
	size_t n = sizeof rows / sizeof rows[0];

	tap_plan((int)n + 2);
	for (size_t i = 0; i < n; i++)
		check_row(&rows[i]);
	{
		int ok = 1;
		for (int f = 1; f < TR_FAIL_COUNT; f++)
			ok &= tr_tls_fail_from_name(tr_tls_fail_name((tr_tls_fail)f)) == (tr_tls_fail)f &&
			      strlen(tr_tls_fail_words((tr_tls_fail)f)) > 0;
		tap_ok(ok, "every failure class has a name that maps back and words", "");
	}
	TAP_INT(tr_tls_fail_from_name("nonsense"), TR_FAIL_COUNT, "an unknown class name");
	return tap_done();
}

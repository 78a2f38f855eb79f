/*
 * test_dane.c - the DANE pieces that need no DNS server: which TLSA
 * records are usable (RFC 7672 3.1), record names, the level helpers, the
 * MTA-STS precedence question, the per-server policy for IP literals and
 * non-DANE levels, OpenSSL set-up refusals, and the DANE verdict after a
 * handshake. The DNS-dependent rules are tested end to end by
 * tests/dane/test_dane.sh. Table-driven, named cases.
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include <openssl/ssl.h>
#include "tap.h"
#include "dane.h"
#include "demand.h"
#include "dns_tlsa.h"
#include "tls.h"
#include "tls_dane.h"

static void test_usable(void)
{
	static const struct {
		const char *name;
		int usage, selector, mtype;
		size_t len;
		int want;
	} cases[] = {
		{ "DANE-EE SPKI SHA2-256",           3, 1, 1, 32, 1 },
		{ "DANE-EE Cert SHA2-512",           3, 0, 2, 64, 1 },
		{ "DANE-TA Cert SHA2-256",           2, 0, 1, 32, 1 },
		{ "DANE-TA SPKI Full",               2, 1, 0, 91, 1 },
		{ "PKIX-TA is unusable for SMTP",    0, 0, 1, 32, 0 },
		{ "PKIX-EE is unusable for SMTP",    1, 1, 1, 32, 0 },
		{ "unknown usage 4",                 4, 1, 1, 32, 0 },
		{ "unknown selector 2",              3, 2, 1, 32, 0 },
		{ "unknown matching type 3",         3, 1, 3, 32, 0 },
		{ "SHA2-256 with 31 bytes",          3, 1, 1, 31, 0 },
		{ "SHA2-256 with 64 bytes",          3, 1, 1, 64, 0 },
		{ "SHA2-512 with 32 bytes",          3, 1, 2, 32, 0 },
		{ "Full with no data",               3, 0, 0, 0, 0 },
		{ "Full longer than the limit",      3, 0, 0, TR_TLSA_DATA_MAX + 1, 0 },
	};
	tap_expect(NROWS(cases));
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		TAP_INT(tr_tlsa_usable(cases[i].usage, cases[i].selector, cases[i].mtype,
		                       cases[i].len), cases[i].want, cases[i].name);
}

static void test_names(void)
{
	tr_tlsa_rr ee = { 3, 1, 1, NULL, 0 }, ta = { 2, 0, 2, NULL, 0 }, odd = { 9, 7, 5, NULL, 0 };
	char buf[64];

	tap_expect(7);
	TAP_STR(tr_dane_rr_name(&ee, buf, sizeof buf), "DANE-EE(3) SPKI(1) SHA2-256(1)", "name of 3 1 1");
	TAP_STR(tr_dane_rr_name(&ta, buf, sizeof buf), "DANE-TA(2) Cert(0) SHA2-512(2)", "name of 2 0 2");
	TAP_STR(tr_dane_rr_name(&odd, buf, sizeof buf), "?(9) ?(7) ?(5)", "name of unknown values");
	TAP_INT(tr_tls_level_dane(TR_TLS_DANE), 1, "dane is DANE-based");
	TAP_INT(tr_tls_level_dane(TR_TLS_DANE_ONLY), 1, "dane-only is DANE-based");
	TAP_INT(tr_tls_level_dane(TR_TLS_ENCRYPT), 0, "encrypt is not DANE-based");
	TAP_INT(tr_tls_level_dane(TR_TLS_VERIFY), 0, "verify is not DANE-based");
}

static void test_preempts_sts(void)
{
	static const struct {
		const char *name;
		tr_dane_state state;
		int want;
	} cases[] = {
		{ "DANE off: MTA-STS may apply",          TR_DANE_OFF,      0 },
		{ "no TLSA records: MTA-STS may apply",   TR_DANE_NONE,     0 },
		{ "unusable TLSA: MTA-STS may apply",     TR_DANE_UNUSABLE, 0 },
		{ "usable TLSA: DANE takes precedence",   TR_DANE_USABLE,   1 },
	};
	tap_expect(NROWS(cases) + 1);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		tr_dane_host h;

		memset(&h, 0, sizeof h);
		h.state = cases[i].state;
		TAP_INT(tr_dane_preempts_sts(&h), cases[i].want, cases[i].name);
	}
	TAP_INT(tr_dane_preempts_sts(NULL), 0, "no host: no precedence");
}

/* The demand (demand.h) of host at level with the DANE facts h. */
static void demand_of(tr_tls_level level, const char *host, const tr_dane_host *h,
                      tr_demand *d)
{
	tr_policy pol;
	tr_nexthop nh;
	tr_demand_in in;

	tr_policy_from_level(level, &pol);
	tr_nexthop_parse(host, &nh, NULL, 0);
	tr_demand_in_init(&in);
	in.nh = &nh;
	in.policy = &pol;
	in.host = host;
	in.dane = h;
	tr_demand_for_server(&in, d);
}

/* A message's requirement raises a DANE fallback (the floor, demand.h R4
 * and R5), never a DANE server, never below what the server already has. */
static void test_floor(void)
{
	static const struct {
		const char *name;
		tr_dane_state state;
		tr_tls_level level, floor, want;
		int raised;           /* the level's source is the message */
	} cases[] = {
		{ "no TLSA (may), floor verify: verify", TR_DANE_NONE, TR_TLS_DANE, TR_TLS_VERIFY, TR_TLS_VERIFY, 1 },
		{ "no TLSA (may), floor encrypt: encrypt", TR_DANE_NONE, TR_TLS_DANE, TR_TLS_ENCRYPT, TR_TLS_ENCRYPT, 1 },
		{ "unusable TLSA (encrypt), floor secure: secure", TR_DANE_UNUSABLE, TR_TLS_DANE, TR_TLS_SECURE,
		  TR_TLS_SECURE, 1 },
		{ "unusable TLSA (encrypt), floor encrypt: unchanged", TR_DANE_UNUSABLE, TR_TLS_DANE,
		  TR_TLS_ENCRYPT, TR_TLS_ENCRYPT, 0 },
		{ "no TLSA, no floor: Postfix's may", TR_DANE_NONE, TR_TLS_DANE, TR_TLS_NONE, TR_TLS_MAY, 0 },
		{ "usable TLSA: DANE kept whatever the floor", TR_DANE_USABLE, TR_TLS_DANE, TR_TLS_SECURE,
		  TR_TLS_DANE, 0 },
		{ "not a DANE level: untouched", TR_DANE_OFF, TR_TLS_ENCRYPT, TR_TLS_ENCRYPT, TR_TLS_ENCRYPT, 0 },
	};
	tap_expect(NROWS(cases) * 2);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		tr_dane_host h;
		tr_policy pol;
		tr_nexthop nh;
		tr_demand_in in;
		tr_demand d;
		char name[160];

		memset(&h, 0, sizeof h);
		h.state = cases[i].state;
		snprintf(h.why, sizeof h.why, "no TLSA records");
		tr_policy_from_level(cases[i].level, &pol);
		tr_nexthop_parse("example.com", &nh, NULL, 0);
		tr_demand_in_init(&in);
		in.nh = &nh;
		in.policy = &pol;
		in.host = "mx.example.com";
		in.dane = &h;
		in.msg_level = cases[i].floor;
		in.msg_source = "X-TLSRelay-Require";
		tr_demand_for_server(&in, &d);
		TAP_STR(tr_tls_level_name(d.level), tr_tls_level_name(cases[i].want), cases[i].name);
		snprintf(name, sizeof name, "%s: the level's source", cases[i].name);
		TAP_INT(d.level_src.kind == TR_SRC_MESSAGE, cases[i].raised, name);
	}
}

/* IP literals have no TLSA base domain; other levels look up nothing. */
static void test_route_literal(void)
{
	tr_dns d;
	tr_addr a[4];
	tr_dane_host h;
	tr_demand dm;
	tlsrelay_status st;
	char text[600];
	int n;

	tap_expect(5 + 5 + 4);      /* dane, dane-only, verify */
	tr_dns_init(&d, "127.0.0.1:1", 1);   /* never asked: numeric hosts */
	TAP_INT(tr_dane_route_host(&d, TR_TLS_DANE, TR_DANE_MX_NONE, "192.0.2.7", "192.0.2.7",
	                           25, a, 4, &n, &h, &st), TLSRELAY_OK, "dane: IP literal: routed (OK)");
	TAP_INT(n, 1, "dane, IP literal: one address");
	TAP_INT(h.state, TR_DANE_NONE, "dane, IP literal: no DANE");
	demand_of(TR_TLS_DANE, "192.0.2.7", &h, &dm);
	TAP_INT(dm.level, TR_TLS_MAY, "dane, IP literal: effective level may");
	TAP_STR(tr_demand_describe_dane(&dm, &h, text, sizeof text),
	        "may (192.0.2.7 is an IP address: no TLSA base domain)", "dane, IP literal: description");
	tr_dane_host_free(&h);
	TAP_INT(tr_dane_route_host(&d, TR_TLS_DANE_ONLY, TR_DANE_MX_NONE, "192.0.2.7", "192.0.2.7",
	                           25, a, 4, &n, &h, &st), TLSRELAY_OK, "dane-only: IP literal: routed (OK)");
	TAP_INT(n, 1, "dane-only, IP literal: one address (the facts)");
	demand_of(TR_TLS_DANE_ONLY, "192.0.2.7", &h, &dm);
	TAP_INT(dm.skip, 1, "dane-only, IP literal: the server is skipped");
	TAP_STR(dm.why, "DANE is required (dane-only), but not possible: 192.0.2.7 is an IP "
	        "address: no TLSA base domain", "dane-only, IP literal: the reason");
	TAP_STR(tr_demand_describe_dane(&dm, &h, text, sizeof text),
	        "deferred (4.7.5 DANE is required (dane-only), but not possible: 192.0.2.7 is an IP "
	        "address: no TLSA base domain)", "dane-only, IP literal: deferred 4.7.5");
	tr_dane_host_free(&h);
	TAP_INT(tr_dane_route_host(&d, TR_TLS_VERIFY, TR_DANE_MX_NONE, "192.0.2.7", "192.0.2.7",
	                           25, a, 4, &n, &h, &st), TLSRELAY_OK, "verify: IP literal: routed (OK)");
	TAP_INT(n, 1, "verify: addresses only");
	TAP_INT(h.state, TR_DANE_OFF, "verify: DANE off");
	demand_of(TR_TLS_VERIFY, "192.0.2.7", &h, &dm);
	TAP_INT(dm.level, TR_TLS_VERIFY, "verify: level kept");
}

static void test_tlsa_args(void)
{
	tr_dns d;
	tr_tlsa_set s;
	char why[256];

	tap_expect(5);
	tr_dns_init(&d, "127.0.0.1:1", 1);
	TAP_INT(tr_dns_tlsa(&d, 25, "bad host", &s, why, sizeof why), TR_TLSA_TEMP,
	        "TLSA: a bad host name is a temporary failure (no query)");
	TAP_INT(tr_dns_tlsa(&d, 0, "mx.example.com", &s, why, sizeof why), TR_TLSA_TEMP,
	        "TLSA: port 0 is a temporary failure");
	TAP_INT(tr_dns_tlsa(&d, 25, "mx.example.com", &s, why, sizeof why), TR_TLSA_TEMP,
	        "TLSA: unreachable resolver is a temporary failure");
	TAP_STR(s.owner, "_25._tcp.mx.example.com", "TLSA: owner name");
	tr_tlsa_free(&s);
	tr_tlsa_free(&s);
	TAP_INT(s.n, 0, "TLSA: free twice is harmless");
}

#define RELAY "mx.example.com[192.0.2.1]:25"

static void test_openssl_setup(void)
{
	static unsigned char digest[32];
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());
	SSL *ssl;
	tr_dane_host h;
	tlsrelay_status st;

	tap_expect(6);
	TAP_INT(tr_tls_dane_ctx(c, &st), TLSRELAY_OK, "SSL_CTX_dane_enable");
	memset(&h, 0, sizeof h);
	ssl = SSL_new(c);
	TAP_INT(tr_tls_dane_setup(ssl, &h, RELAY, &st), TLSRELAY_TEMP,
	        "setup without usable records refused");
	TAP_STR(st.dsn, "4.7.5", "setup without usable records: 4.7.5");
	SSL_free(ssl);
	h.state = TR_DANE_USABLE;
	snprintf(h.base, sizeof h.base, "mx.example.com");
	h.tlsa.n = 1;
	h.tlsa.rr[0] = (tr_tlsa_rr){ 3, 1, 1, digest, 5 };   /* OpenSSL: bad length */
	ssl = SSL_new(c);
	TAP_INT(tr_tls_dane_setup(ssl, &h, RELAY, &st), TLSRELAY_TEMP,
	        "setup: OpenSSL refuses every record");
	TAP_STR(st.text, "DANE for " RELAY ": OpenSSL accepted none of the TLSA records of "
	        "mx.example.com", "setup: reason");
	SSL_free(ssl);
	h.tlsa.rr[0].len = 32;
	ssl = SSL_new(c);
	TAP_INT(tr_tls_dane_setup(ssl, &h, RELAY, &st), TLSRELAY_OK, "setup with a 3 1 1 record");
	SSL_free(ssl);
	SSL_CTX_free(c);
}

static void test_enforce(void)
{
	tr_tls_info info;
	tlsrelay_status st;
	static tr_demand dane;

	tap_expect(6);
	dane.level = TR_TLS_DANE;
	dane.auth = TR_AUTH_DANE;
	memset(&info, 0, sizeof info);
	TAP_INT(tr_tls_enforce(&info, &dane, "r", &st), TLSRELAY_TEMP,
	        "DANE: no certificate -> temporary");
	info.have_cert = 1;
	info.dane = 1;
	snprintf(info.dane_error, sizeof info.dane_error, "no TLSA record matched");
	snprintf(info.subject, sizeof info.subject, "/CN=x");
	TAP_INT(tr_tls_enforce(&info, &dane, "mx[192.0.2.1]:25", &st), TLSRELAY_TEMP,
	        "DANE: no match -> temporary");
	TAP_STR(st.dsn, "4.7.5", "DANE: no match -> 4.7.5");
	TAP_STR(st.text, "Server certificate not verified: mx[192.0.2.1]:25: no TLSA record "
	        "matched the certificate chain (no TLSA record matched; subject /CN=x)",
	        "DANE: no match -> reason");
	info.dane_ok = 1;
	info.chain_ok = 0;
	TAP_INT(tr_tls_enforce(&info, &dane, "r", &st), TLSRELAY_OK,
	        "DANE: a match is enough (no CA chain needed)");
	dane.level = TR_TLS_DANE_ONLY;
	TAP_INT(tr_tls_enforce(&info, &dane, "r", &st), TLSRELAY_OK,
	        "dane-only: a match is enough");
}

int main(void)
{
	test_usable();
	test_names();
	test_preempts_sts();
	test_route_literal();
	test_floor();
	test_tlsa_args();
	test_openssl_setup();
	test_enforce();
	return tap_done();
}

/*
 * test_dns_order.c - tr_mx_order with a deterministic random source,
 * tr_dns_init parsing, and the lookups that need no DNS (numeric hosts,
 * invalid names, a resolver that cannot be initialised: each lookup's own
 * status). TAP output. No network is used.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "dns.h"
#include "dns_tlsa.h"
#include "dns_txt.h"
#include "status.h"
#include "tap.h"

/* ------------------------------------------------------------ rnd sources */

/* Returns vals[0], vals[1], ... (cycling); counts the calls. */
typedef struct seq_rnd {
	const unsigned *vals;
	int n, next, calls;
} seq_rnd;

static unsigned seq_next(void *arg)
{
	seq_rnd *s = arg;
	unsigned v = s->n > 0 ? s->vals[s->next % s->n] : 0;

	s->next++;
	s->calls++;
	return v;
}

/* A small LCG: deterministic for a given seed. */
static unsigned lcg_next(void *arg)
{
	unsigned *state = arg;

	*state = *state * 1103515245u + 12345u;
	return (*state >> 16) & 0x7fffu;
}

/* ------------------------------------------------------------ helpers */

#define MAXH 8

typedef struct host_spec {
	const char *host;
	int pref;
} host_spec;

static int fill(tr_mx *mx, const host_spec *in)
{
	int n = 0;

	for (; n < MAXH && in[n].host != NULL; n++) {
		snprintf(mx[n].host, sizeof mx[n].host, "%s", in[n].host);
		mx[n].pref = in[n].pref;
	}
	return n;
}

/* "host/pref host/pref ..." */
static void render(const tr_mx *mx, int n, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && used < size; i++) {
		int w = snprintf(buf + used, size - used, "%s%s/%d", i ? " " : "",
		                 mx[i].host, mx[i].pref);

		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* ------------------------------------------------------------ order table */

typedef struct order_case {
	const char *name;
	host_spec in[MAXH];
	unsigned rnd[MAXH];
	int nrnd;
	const char *want;
	int want_calls;       /* rnd calls expected (-1: don't check) */
} order_case;

/* The shuffle is Fisher-Yates from the end of each run of equal
 * preferences: for i = len-1 .. 1, swap i and rnd() % (i + 1). */
static const order_case order_cases[] = {
	{ "distinct preferences sorted, rnd unused",
	  { { "c", 30 }, { "a", 10 }, { "b", 20 }, { NULL, 0 } },
	  { 0 }, 1, "a/10 b/20 c/30", 0 },
	{ "already sorted stays, rnd unused",
	  { { "a", 0 }, { "b", 5 }, { "c", 65535 }, { NULL, 0 } },
	  { 0 }, 1, "a/0 b/5 c/65535", 0 },
	{ "rnd picking i each time keeps the input order",
	  { { "x", 10 }, { "y", 10 }, { "z", 10 }, { NULL, 0 } },
	  { 2, 1 }, 2, "x/10 y/10 z/10", 2 },
	{ "rnd 0,0 rotates: [x y z] -> [y z x]",
	  { { "x", 10 }, { "y", 10 }, { "z", 10 }, { NULL, 0 } },
	  { 0, 0 }, 2, "y/10 z/10 x/10", 2 },
	{ "rnd 1,0 on three: [x y z] -> [z x y]",
	  /* i=2: swap 2,1 -> x z y; i=1: swap 1,0 -> z x y */
	  { { "x", 10 }, { "y", 10 }, { "z", 10 }, { NULL, 0 } },
	  { 1, 0 }, 2, "z/10 x/10 y/10", 2 },
	{ "rnd values reduced modulo the run length",
	  /* i=2: 5%3=2 stays; i=1: 7%2=1 stays */
	  { { "x", 10 }, { "y", 10 }, { "z", 10 }, { NULL, 0 } },
	  { 5, 7 }, 2, "x/10 y/10 z/10", 2 },
	{ "only equal preferences move; backup stays last",
	  /* sorted: a/10 b/10 c/20; run [a b]: i=1: rnd 0 -> swap */
	  { { "c", 20 }, { "a", 10 }, { "b", 10 }, { NULL, 0 } },
	  { 0 }, 1, "b/10 a/10 c/20", 1 },
	{ "two runs shuffled one after the other",
	  /* sorted (stable): p/1 q/1 r/2 s/2; run1 i=1 rnd 0 -> q p;
	   * run2 i=1 rnd 1 -> r s */
	  { { "r", 2 }, { "p", 1 }, { "s", 2 }, { "q", 1 }, { NULL, 0 } },
	  { 0, 1 }, 2, "q/1 p/1 r/2 s/2", 2 },
	{ "single host",
	  { { "only", 7 }, { NULL, 0 } }, { 0 }, 1, "only/7", 0 },
};

static void test_order_table(void)
{
	for (size_t c = 0; c < sizeof order_cases / sizeof order_cases[0]; c++) {
		const order_case *t = &order_cases[c];
		tr_mx mx[MAXH];
		seq_rnd s = { t->rnd, t->nrnd, 0, 0 };
		char got[512], name[256];
		int n = fill(mx, t->in);

		tap_expect(1 + (t->want_calls >= 0));
		tr_mx_order(mx, n, seq_next, &s);
		render(mx, n, got, sizeof got);
		snprintf(name, sizeof name, "order: %s", t->name);
		TAP_STR(got, t->want, name);
		if (t->want_calls >= 0) {
			snprintf(name, sizeof name, "order: %s (rnd calls)", t->name);
			TAP_INT(s.calls, t->want_calls, name);
		}
	}
}

/* Over many seeds each of three equal-preference hosts comes first at
 * least once, and the backup is always last. */
static void test_order_seeds(void)
{
	static const host_spec in[] = {
		{ "backup", 20 }, { "m1", 10 }, { "m2", 10 }, { "m3", 10 }, { NULL, 0 }
	};
	int first[3] = { 0, 0, 0 }, backup_last = 1;

	tap_expect(5);
	for (unsigned seed = 1; seed <= 200; seed++) {
		tr_mx mx[MAXH];
		unsigned state = seed;
		int n = fill(mx, in);

		tr_mx_order(mx, n, lcg_next, &state);
		if (strcmp(mx[3].host, "backup") != 0)
			backup_last = 0;
		for (int k = 0; k < 3; k++) {
			char h[4];

			snprintf(h, sizeof h, "m%d", k + 1);
			if (strcmp(mx[0].host, h) == 0)
				first[k]++;
		}
	}
	TAP_INT(backup_last, 1, "seeds: backup always last");
	tap_ok(first[0] > 0, "seeds: m1 first at least once", "never first");
	tap_ok(first[1] > 0, "seeds: m2 first at least once", "never first");
	tap_ok(first[2] > 0, "seeds: m3 first at least once", "never first");
	TAP_INT(first[0] + first[1] + first[2], 200, "seeds: a pref-10 host always first");
}

/* NULL rnd (the library's own random source): sorted, nothing lost. */
static void test_order_default_rnd(void)
{
	static const host_spec in[] = {
		{ "c", 30 }, { "a1", 10 }, { "b", 20 }, { "a2", 10 }, { NULL, 0 }
	};
	int sorted = 1, seen_a1 = 0, seen_a2 = 0, all = 1;
	tr_mx mx[MAXH];
	seq_rnd none = { NULL, 0, 0, 0 };
	char got[512];

	tap_expect(4);
	for (int round = 0; round < 64; round++) {
		int n = fill(mx, in);

		tr_mx_order(mx, n, NULL, NULL);
		for (int i = 1; i < n; i++)
			if (mx[i - 1].pref > mx[i].pref)
				sorted = 0;
		if (strcmp(mx[2].host, "b") != 0 || strcmp(mx[3].host, "c") != 0)
			all = 0;
		seen_a1 += strcmp(mx[0].host, "a1") == 0;
		seen_a2 += strcmp(mx[0].host, "a2") == 0;
	}
	TAP_INT(sorted, 1, "default rnd: preferences ascending");
	TAP_INT(all, 1, "default rnd: distinct preferences in place");
	/* 64 rounds: both orders of a1/a2 appear unless odds of 2^-63 hit. */
	tap_ok(seen_a1 > 0 && seen_a2 > 0, "default rnd: equal preferences shuffled",
	       "one order never appeared");
	/* No list, or fewer than two hosts: nothing to order, no draw. */
	fill(mx, in);
	tr_mx_order(NULL, 3, seq_next, &none);
	tr_mx_order(mx, 1, seq_next, &none);
	tr_mx_order(mx, 0, seq_next, &none);
	tr_mx_order(mx, -1, seq_next, &none);
	render(mx, 4, got, sizeof got);
	tap_ok(none.calls == 0 && strcmp(got, "c/30 a1/10 b/20 a2/10") == 0,
	       "order: NULL list, fewer than two hosts: nothing drawn, nothing moved", got);
}

/* ------------------------------------------------------------ tr_dns_init */

typedef struct init_case {
	const char *name;
	const char *resolver;
	int timeout;
	int want_rc;
	const char *want_server;
	int want_port;
	int want_timeout;
} init_case;

static const init_case init_cases[] = {
	{ "NULL: system resolver", NULL, 5, 0, "", 53, 5 },
	{ "empty: system resolver", "", 5, 0, "", 53, 5 },
	{ "IPv4", "127.0.0.1", 5, 0, "127.0.0.1", 53, 5 },
	{ "IPv4 with port", "127.0.0.1:5353", 5, 0, "127.0.0.1", 5353, 5 },
	{ "IPv4 port 65535", "192.0.2.53:65535", 5, 0, "192.0.2.53", 65535, 5 },
	{ "timeout 0 clamped to 1", "127.0.0.1", 0, 0, "127.0.0.1", 53, 1 },
	{ "timeout -5 clamped to 1", NULL, -5, 0, "", 53, 1 },
	{ "timeout 100 clamped to 30", "127.0.0.1", 100, 0, "127.0.0.1", 53, 30 },
#ifdef __GLIBC__
	{ "bracketed IPv6 with port", "[::1]:5353", 5, 0, "::1", 5353, 5 },
	{ "bracketed IPv6 without port", "[::1]", 5, 0, "::1", 53, 5 },
	{ "bare IPv6", "::1", 5, 0, "::1", 53, 5 },
	{ "bare IPv6 kept as written", "2001:DB8:0:0::53", 5, 0, "2001:DB8:0:0::53", 53, 5 },
	{ "bare ::1:53 is an address, not a port", "::1:53", 5, 0, "::1:53", 53, 5 },
#else
	{ "IPv6 rejected off glibc", "[::1]:5353", 5, -1, "", 53, 5 },
#endif
	{ "host name rejected", "localhost", 5, -1, "", 53, 5 },
	{ "host name with port rejected", "localhost:53", 5, -1, "", 53, 5 },
	{ "empty port", "127.0.0.1:", 5, -1, "", 53, 5 },
	{ "port 0", "127.0.0.1:0", 5, -1, "", 53, 5 },
	{ "port 65536", "127.0.0.1:65536", 5, -1, "", 53, 5 },
	{ "port with sign", "127.0.0.1:+53", 5, -1, "", 53, 5 },
	{ "port with junk", "127.0.0.1:53x", 5, -1, "", 53, 5 },
	{ "port too long", "127.0.0.1:000053", 5, -1, "", 53, 5 },
	{ "two ports", "127.0.0.1:53:54", 5, -1, "", 53, 5 },
	{ "short IPv4", "127.1", 5, -1, "", 53, 5 },
	{ "octet too big", "256.0.0.1", 5, -1, "", 53, 5 },
	{ "leading space", " 127.0.0.1", 5, -1, "", 53, 5 },
	{ "trailing space", "127.0.0.1 ", 5, -1, "", 53, 5 },
	{ "unspecified IPv4", "0.0.0.0", 5, -1, "", 53, 5 },
	{ "unspecified IPv6", "[::]:53", 5, -1, "", 53, 5 },
	{ "unclosed bracket", "[::1", 5, -1, "", 53, 5 },
	{ "junk after bracket", "[::1]x", 5, -1, "", 53, 5 },
	{ "empty port after bracket", "[::1]:", 5, -1, "", 53, 5 },
	{ "empty brackets", "[]:53", 5, -1, "", 53, 5 },
	{ "IPv4 in brackets", "[127.0.0.1]:53", 5, -1, "", 53, 5 },
	{ "scoped IPv6", "[fe80::1%lo]:53", 5, -1, "", 53, 5 },
	{ "port only", ":53", 5, -1, "", 53, 5 },
	{ "too long",
	  "1111111111111111111111111111111111111111111111111111111111111111111.1", 5,
	  -1, "", 53, 5 },
};

static void test_init_table(void)
{
	tap_expect(NROWS(init_cases) * 2);
	for (size_t c = 0; c < sizeof init_cases / sizeof init_cases[0]; c++) {
		const init_case *t = &init_cases[c];
		tr_dns d;
		char name[256];
		int rc;

		memset(&d, 0x55, sizeof d);             /* must be overwritten */
		rc = tr_dns_init(&d, t->resolver, t->timeout);
		snprintf(name, sizeof name, "init: %s (result)", t->name);
		TAP_INT(rc, t->want_rc, name);
		snprintf(name, sizeof name, "init: %s (server, port, timeout)", t->name);
		{
			char got[128], want[128];

			snprintf(got, sizeof got, "\"%.64s\" %d %d a%d",
			         memchr(d.server, 0, sizeof d.server) ? d.server : "?",
			         d.port, d.timeout, d.attempts);
			snprintf(want, sizeof want, "\"%s\" %d %d a2", t->want_server,
			         t->want_port, t->want_timeout);
			TAP_STR(got, want, name);
		}
	}
}

/* ------------------------------------------------------------ no-DNS lookups */

static void test_numeric_addrs(void)
{
	tr_dns d;
	tr_addr a[4];
	tlsrelay_status st;
	const struct sockaddr_in *s4 = (const void *)&a[0].sa;
	const struct sockaddr_in6 *s6 = (const void *)&a[0].sa;
	int n;

	tap_expect(7 + 6 + 4 + 3);  /* IPv4, IPv6, bad ports, bad host */
	/* A dead resolver: numeric hosts must not need it. */
	tr_dns_init(&d, "127.0.0.1:1", 1);
	TAP_INT(tr_dns_addrs(&d, "192.0.2.7", 2525, a, 4, &n, &st), TLSRELAY_OK,
	        "addrs: numeric IPv4 returns OK");
	TAP_INT(n, 1, "addrs: numeric IPv4 count");
	TAP_STR(a[0].text, "192.0.2.7", "addrs: numeric IPv4 text");
	TAP_INT(s4->sin_family, AF_INET, "addrs: numeric IPv4 family");
	TAP_INT(ntohs(s4->sin_port), 2525, "addrs: numeric IPv4 port");
	TAP_INT(a[0].len, sizeof(struct sockaddr_in), "addrs: numeric IPv4 length");
	TAP_INT(st.cat, TLSRELAY_OK, "addrs: numeric IPv4 status ok");

	TAP_INT(tr_dns_addrs(&d, "2001:DB8::7", 25, a, 4, &n, &st), TLSRELAY_OK,
	        "addrs: numeric IPv6 returns OK");
	TAP_INT(n, 1, "addrs: numeric IPv6 count");
	TAP_STR(a[0].text, "2001:db8::7", "addrs: numeric IPv6 text (canonical)");
	TAP_INT(s6->sin6_family, AF_INET6, "addrs: numeric IPv6 family");
	TAP_INT(ntohs(s6->sin6_port), 25, "addrs: numeric IPv6 port");
	TAP_INT(a[0].len, sizeof(struct sockaddr_in6), "addrs: numeric IPv6 length");

	TAP_INT(tr_dns_addrs(&d, "192.0.2.7", 0, a, 4, &n, &st), TLSRELAY_USAGE,
	        "addrs: port 0 refused (returns USAGE)");
	TAP_INT(st.cat, TLSRELAY_USAGE, "addrs: port 0 is a usage error");
	TAP_INT(n, 0, "addrs: port 0: no address");
	TAP_INT(tr_dns_addrs(&d, "192.0.2.7", 25, a, 0, &n, &st), TLSRELAY_USAGE,
	        "addrs: max 0 refused");

	TAP_INT(tr_dns_addrs(&d, "bad host", 25, a, 4, &n, &st), TLSRELAY_PERM,
	        "addrs: invalid host name fails (returns PERM)");
	TAP_INT(st.cat, TLSRELAY_PERM, "addrs: invalid host name is permanent");
	TAP_STR(st.dsn, "5.4.4", "addrs: invalid host name dsn");
}

typedef struct badname_case {
	const char *name;
	const char *domain;
} badname_case;

static const badname_case badnames[] = {
	{ "empty", "" },
	{ "only a dot", "." },
	{ "empty label", "a..b" },
	{ "leading dot", ".example" },
	{ "space", "exa mple.test" },
	{ "control byte", "exa\rmple.test" },
	{ "at sign", "user@example.test" },
	{ "address literal", "[192.0.2.1]" },
	{ "label of 64 bytes",
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test" },
	{ "non-ASCII", "\xc3\xa9t\xc3\xa9.test" },
};

static void test_bad_domains(void)
{
	tr_dns d;
	tr_mx mx[TR_DNS_MAX_HOSTS];
	tlsrelay_status st;

	tap_expect(NROWS(badnames) + 1);
	tr_dns_init(&d, "127.0.0.1:1", 1);
	for (size_t c = 0; c < sizeof badnames / sizeof badnames[0]; c++) {
		char name[256];
		int n = -1;
		tlsrelay_cat cat = tr_dns_mx(&d, badnames[c].domain, mx, &n, &st);

		snprintf(name, sizeof name, "mx: invalid domain (%s) -> permanent 5.1.2",
		         badnames[c].name);
		tap_ok(cat == TLSRELAY_PERM && n == 0 && st.cat == TLSRELAY_PERM &&
		       strcmp(st.dsn, "5.1.2") == 0 && strchr(st.text, '\r') == NULL, name, st.text);
	}
	{
		int n;
		TAP_INT(tr_dns_mx(&d, NULL, mx, &n, &st) != TLSRELAY_OK, 1, "mx: NULL domain fails");
	}
}

/* ------------------------------------------ a resolver that cannot open */

/* Each lookup words the failure of tr_dns_resolver_open (dns_res.c) its
 * own way; the texts are documented (TROUBLESHOOTING.md). A server that
 * is no address (tr_dns_init refuses it; set here directly) fails there,
 * before any query. */
typedef enum open_kind { K_MX, K_MX_SEC, K_ADDRS, K_ADDRS_SEC, K_TXT, K_TLSA } open_kind;

typedef struct open_case {
	const char *name;
	open_kind kind;
	const char *arg;
	const char *text;       /* the status text (TLSA: its why line) */
} open_case;

static const open_case open_cases[] = {
	{ "mx", K_MX, "example.test",
	  "MX lookup for example.test failed: cannot initialise the resolver" },
	{ "mx (DNSSEC)", K_MX_SEC, "example.test",
	  "MX lookup for example.test failed: cannot initialise the resolver" },
	{ "addresses", K_ADDRS, "mx.example.test",
	  "address lookup for mx.example.test failed: cannot initialise the resolver" },
	{ "addresses (DNSSEC)", K_ADDRS_SEC, "mx.example.test",
	  "address lookup for mx.example.test failed: cannot initialise the resolver" },
	{ "txt", K_TXT, "_mta-sts.example.test", "cannot initialise the resolver" },
	{ "tlsa", K_TLSA, "mx.example.test",
	  "TLSA lookup for _25._tcp.mx.example.test failed: cannot initialise the resolver" },
};

static void test_resolver_open_fails(void)
{
	tr_dns d;
	tr_mx mx[TR_DNS_MAX_HOSTS];
	tr_addr a[4];
	char txt[2][TR_DNS_TXT_MAX];
	tr_tlsa_set tlsa;

	tap_expect(NROWS(open_cases) * 2);
	tr_dns_init(&d, "127.0.0.1:1", 1);
	snprintf(d.server, sizeof d.server, "%s", "no-address");
	for (size_t c = 0; c < NROWS(open_cases); c++) {
		const open_case *oc = &open_cases[c];
		tlsrelay_status st;
		char name[200], why[300] = "";
		int n = -1, ok;
		tr_dns_sec sec;

		memset(&st, 0, sizeof st);
		switch (oc->kind) {
		case K_MX:
			ok = tr_dns_mx(&d, oc->arg, mx, &n, &st) == TLSRELAY_TEMP;
			break;
		case K_MX_SEC:
			ok = tr_dns_mx_sec(&d, oc->arg, mx, &n, &sec, &st) == TLSRELAY_TEMP;
			break;
		case K_ADDRS:
			ok = tr_dns_addrs(&d, oc->arg, 25, a, 4, &n, &st) == TLSRELAY_TEMP;
			break;
		case K_ADDRS_SEC:
			ok = tr_dns_addrs_sec(&d, oc->arg, 25, a, 4, &n, &sec, &st) == TLSRELAY_TEMP;
			break;
		case K_TXT:
			ok = tr_dns_txt(&d, oc->arg, txt, 2, &n, &st) == TLSRELAY_TEMP;
			break;
		case K_TLSA:
		default:
			ok = tr_dns_tlsa(&d, 25, oc->arg, &tlsa, why, sizeof why) == TR_TLSA_TEMP;
			tr_tlsa_free(&tlsa);
			st.cat = TLSRELAY_TEMP;
			snprintf(st.dsn, sizeof st.dsn, "4.4.3");
			snprintf(st.text, sizeof st.text, "%s", why);
			n = 0;
			break;
		}
		snprintf(name, sizeof name, "resolver cannot open: %s -> temporary 4.4.3, nothing found",
		         oc->name);
		tap_ok(ok && st.cat == TLSRELAY_TEMP && strcmp(st.dsn, "4.4.3") == 0 && n <= 0,
		       name, st.text);
		snprintf(name, sizeof name, "resolver cannot open: %s -> its own text", oc->name);
		TAP_STR(st.text, oc->text, name);
	}
}

int main(void)
{
	test_order_table();
	test_order_seeds();
	test_order_default_rnd();
	test_init_table();
	test_numeric_addrs();
	test_bad_domains();
	test_resolver_open_fails();
	return tap_done();
}

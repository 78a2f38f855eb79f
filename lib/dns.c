/*
 * dns.c - MX and address lookups (see dns.h). The resolver itself (a
 * private res_state per lookup, one query, the answer walk) is in
 * dns_res.c, shared with the TLSA lookups of dns_tlsa.c.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <resolv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(HAVE_GETRANDOM) && defined(HAVE_SYS_RANDOM_H)
#include <sys/random.h>
#endif

#include "dns.h"
#include "dns_res.h"
#include "status.h"

#define DNS_TIMEOUT_MIN    1
#define DNS_TIMEOUT_MAX    30
#define DNS_ATTEMPTS       2

/* ------------------------------------------------------------ settings */

static int parse_port(const char *s, int *port)
{
	long v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/* Check that text is a usable numeric address of family af and copy it
 * (as written) to out. */
static int parse_ip(int af, const char *text, char *out, size_t outsz)
{
	unsigned char bin[sizeof(struct in6_addr)];
	static const unsigned char zero[sizeof(struct in6_addr)];

	if (inet_pton(af, text, bin) != 1)
		return -1;
	if (memcmp(bin, zero, af == AF_INET ? 4 : 16) == 0)
		return -1;              /* the unspecified address */
#ifndef __GLIBC__
	if (af == AF_INET6)
		return -1;              /* see the top of this file */
#endif
	if (strlen(text) >= outsz)
		return -1;
	memcpy(out, text, strlen(text) + 1);
	return 0;
}

/* "IP", "IPv4:PORT", "[IPv6]" or "[IPv6]:PORT" into server and port. */
static int parse_resolver(const char *s, char *server, size_t size, int *port)
{
	char host[64];
	const char *end, *colon;
	size_t len;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return -1;
		len = (size_t)(end - (s + 1));
		if (len == 0 || len >= sizeof host)
			return -1;
		memcpy(host, s + 1, len);
		host[len] = '\0';
		if (end[1] == ':' && parse_port(end + 2, port) < 0)
			return -1;
		return parse_ip(AF_INET6, host, server, size);
	}
	colon = strchr(s, ':');
	if (colon != NULL && strchr(colon + 1, ':') != NULL)
		return parse_ip(AF_INET6, s, server, size);  /* bare IPv6 */
	len = colon ? (size_t)(colon - s) : strlen(s);
	if (len == 0 || len >= sizeof host)
		return -1;
	memcpy(host, s, len);
	host[len] = '\0';
	if (colon != NULL && parse_port(colon + 1, port) < 0)
		return -1;
	return parse_ip(AF_INET, host, server, size);
}

static int clamp_timeout(int t)
{
	return t < DNS_TIMEOUT_MIN ? DNS_TIMEOUT_MIN :
	       t > DNS_TIMEOUT_MAX ? DNS_TIMEOUT_MAX : t;
}

int tr_dns_init(tr_dns *d, const char *resolver, int timeout)
{
	memset(d, 0, sizeof *d);
	d->port = 53;
	d->timeout = clamp_timeout(timeout);
	d->attempts = DNS_ATTEMPTS;
	if (resolver == NULL || resolver[0] == '\0')
		return 0;
	if (parse_resolver(resolver, d->server, sizeof d->server, &d->port) < 0) {
		d->server[0] = '\0';
		d->port = 53;
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ ordering */

static unsigned fallback_rnd(void)
{
	static _Thread_local uint32_t state;

	if (state == 0) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		state = (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec ^
		        ((uint32_t)getpid() << 16) ^ (uint32_t)(uintptr_t)&ts;
		if (state == 0)
			state = 0x9e3779b9u;
	}
	state ^= state << 13;       /* xorshift32 */
	state ^= state >> 17;
	state ^= state << 5;
	return state;
}

static unsigned default_rnd(void *arg)
{
	(void)arg;
#if defined(HAVE_GETRANDOM) && defined(HAVE_SYS_RANDOM_H)
	{
		unsigned v;

		if (getrandom(&v, sizeof v, GRND_NONBLOCK) == (ssize_t)sizeof v)
			return v;
	}
#endif
	return fallback_rnd();
}

/* Fisher-Yates from the end: for i = n-1 .. 1, swap i with rnd() % (i+1).
 * The test suite relies on this exact use of rnd. */
static void shuffle(tr_mx *mx, int n, unsigned (*rnd)(void *), void *arg)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(rnd(arg) % (unsigned)(i + 1));

		if (j != i) {
			tr_mx t = mx[i];

			mx[i] = mx[j];
			mx[j] = t;
		}
	}
}

void tr_mx_order(tr_mx *mx, int n, unsigned (*rnd)(void *), void *rnd_arg)
{
	if (mx == NULL || n < 2)
		return;
	if (rnd == NULL)
		rnd = default_rnd;
	for (int i = 1; i < n; i++) {        /* stable insertion sort */
		tr_mx t = mx[i];
		int j = i;

		while (j > 0 && mx[j - 1].pref > t.pref) {
			mx[j] = mx[j - 1];
			j--;
		}
		mx[j] = t;
	}
	for (int a = 0; a < n;) {
		int b = a + 1;

		while (b < n && mx[b].pref == mx[a].pref)
			b++;
		shuffle(mx + a, b - a, rnd, rnd_arg);
		a = b;
	}
}

/* ------------------------------------------------------------ MX */

typedef struct mx_acc {
	tr_mx *out;
	int n;          /* hosts in out */
	int nulls;      /* null MX records ("0 .") seen */
	int bad;        /* MX records with an unusable host name */
} mx_acc;

/* Keep host at pref in a->out: no duplicates (the lowest preference
 * wins); when full, the TR_DNS_MAX_HOSTS lowest preferences stay. */
static void mx_keep(mx_acc *a, const char *host, int pref)
{
	int worst = 0;

	for (int i = 0; i < a->n; i++) {
		if (strcmp(a->out[i].host, host) == 0) {
			if (pref < a->out[i].pref)
				a->out[i].pref = pref;
			return;
		}
		if (a->out[i].pref > a->out[worst].pref)
			worst = i;
	}
	if (a->n < TR_DNS_MAX_HOSTS) {
		worst = a->n++;
	} else if (pref >= a->out[worst].pref) {
		return;
	}
	snprintf(a->out[worst].host, sizeof a->out[worst].host, "%s", host);
	a->out[worst].pref = pref;
}

static int mx_add(ns_msg *msg, ns_rr *rr, void *arg)
{
	mx_acc *a = arg;
	const unsigned char *rd = ns_rr_rdata(*rr);
	char name[NS_MAXDNAME], host[TR_HOSTNAME_MAX];
	int pref;

	if (ns_rr_rdlen(*rr) < 3)
		return -1;
	pref = (int)ns_get16(rd);
	if (dn_expand(ns_msg_base(*msg), ns_msg_end(*msg), rd + 2, name,
	              (int)sizeof name) < 0)
		return -1;
	if (name[0] == '\0' || strcmp(name, ".") == 0) {
		a->nulls++;
		return 0;
	}
	if (tr_dns_norm_name(name, host, sizeof host) < 0) {
		a->bad++;
		return 0;
	}
	mx_keep(a, host, pref);
	return 0;
}

static int mx_fail(tlsrelay_status *st, tlsrelay_cat cat, const char *dsn,
                   const char *domain, const char *what)
{
	if (cat == TLSRELAY_TEMP)
		tr_status_set(st, cat, dsn, "MX lookup for %s failed: %s", domain, what);
	else
		tr_status_set(st, cat, dsn, "domain %s %s", domain, what);
	return -1;
}

/* Turn a successful MX answer into the host list. */
static int mx_answer(tr_dns_answer *ans, const char *domain, tr_mx *out,
                     tlsrelay_status *st)
{
	mx_acc a = { out, 0, 0, 0 };

	if (tr_dns_walk(&ans->msg, domain, ns_t_mx, mx_add, &a, NULL, 0) < 0)
		return mx_fail(st, TLSRELAY_TEMP, "4.4.3", domain,
		               "malformed DNS answer");
	if (a.n == 0 && a.nulls > 0)
		return mx_fail(st, TLSRELAY_PERM, "5.1.10", domain,
		               "does not accept mail (null MX)");
	if (a.n == 0 && a.bad > 0)
		return mx_fail(st, TLSRELAY_TEMP, "4.4.3", domain,
		               "no MX record has a valid host name");
	if (a.n == 0) {                         /* e.g. only a CNAME */
		snprintf(out[0].host, sizeof out[0].host, "%s", domain);
		out[0].pref = 0;
		a.n = 1;
	}
	tr_mx_order(out, a.n, NULL, NULL);
	tr_status_ok(st);
	return a.n;
}

/* The MX lookup; *ad receives the answer's AD bit. */
static int mx_lookup(const tr_dns *d, const char *domain, tr_mx *out, int *ad,
                     tlsrelay_status *st)
{
	char name[TR_HOSTNAME_MAX];
	tr_dns_resolver res;
	tr_dns_res r;
	int n;

	if (d == NULL || out == NULL) {
		tr_status_set(st, TLSRELAY_USAGE, "", "tr_dns_mx: no %s",
		              d == NULL ? "settings" : "output");
		return -1;
	}
	if (tr_dns_norm_name(domain, name, sizeof name) < 0)
		return mx_fail(st, TLSRELAY_PERM, "5.1.2",
		               domain ? domain : "(none)", "is not a valid domain name");
	switch (tr_dns_resolver_open(d, &res)) {
	case TR_DNS_OPEN_NOMEM:
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		return -1;
	case TR_DNS_OPEN_RESOLVER:
		return mx_fail(st, TLSRELAY_TEMP, "4.4.3", name,
		               "cannot initialise the resolver");
	case TR_DNS_OPEN_OK:
		break;
	}
	r = tr_dns_query(&res.rs, name, ns_t_mx, &res.ans);
	*ad = res.ans.ad;
	switch (r) {
	case TR_DNS_NXDOMAIN:
		n = mx_fail(st, TLSRELAY_PERM, "5.1.2", name, "does not exist");
		break;
	case TR_DNS_TEMP:
		n = mx_fail(st, TLSRELAY_TEMP, "4.4.3", name, tr_dns_temp_reason(&res.ans));
		break;
	case TR_DNS_NODATA:                        /* implicit MX */
		snprintf(out[0].host, sizeof out[0].host, "%s", name);
		out[0].pref = 0;
		tr_status_ok(st);
		n = 1;
		break;
	case TR_DNS_OK:
	default:
		n = mx_answer(&res.ans, name, out, st);
		break;
	}
	tr_dns_resolver_close(&res);
	return n;
}

/* The category of a lookup that gave count (-1: failed, *st says why);
 * *n = the count (0 on failure). */
static tlsrelay_cat counted(int count, int *n, const tlsrelay_status *st)
{
	*n = count > 0 ? count : 0;
	return count < 0 ? st->cat : TLSRELAY_OK;
}

tlsrelay_cat tr_dns_mx(const tr_dns *d, const char *domain, tr_mx *out, int *n,
                       tlsrelay_status *st)
{
	int ad = 0;

	return counted(mx_lookup(d, domain, out, &ad, st), n, st);
}

tlsrelay_cat tr_dns_mx_sec(const tr_dns *d, const char *domain, tr_mx *out, int *n,
                           tr_dns_sec *sec, tlsrelay_status *st)
{
	tr_dns dd;
	int ad = 0, count;

	memset(sec, 0, sizeof *sec);
	if (d == NULL)
		return counted(mx_lookup(d, domain, out, &ad, st), n, st);
	dd = *d;
	dd.dnssec = 1;
	count = mx_lookup(&dd, domain, out, &ad, st);
	sec->secure = count > 0 && ad;
	return counted(count, n, st);
}

/* ------------------------------------------------------------ addresses */

typedef struct addr_acc {
	tr_addr *out;
	int n, max, port;
	int insecure;                   /* an answer without the AD bit */
	char rname[TR_HOSTNAME_MAX];    /* name after CNAMEs; "" until known */
} addr_acc;

/* Append the address (family af, bytes bin, IPv6 scope) unless present. */
static void addr_keep(addr_acc *a, int af, const void *bin, uint32_t scope)
{
	tr_addr *t;

	if (a->n >= a->max)
		return;
	for (int i = 0; i < a->n; i++) {
		const void *s = &a->out[i].sa;
		const struct sockaddr_in *s4 = s;
		const struct sockaddr_in6 *s6 = s;

		if (a->out[i].sa.ss_family != af)
			continue;
		if (af == AF_INET && memcmp(&s4->sin_addr, bin, 4) == 0)
			return;
		if (af == AF_INET6 && memcmp(&s6->sin6_addr, bin, 16) == 0)
			return;
	}
	t = &a->out[a->n++];
	memset(t, 0, sizeof *t);
	if (af == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)&t->sa;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)a->port);
		memcpy(&s4->sin_addr, bin, 4);
		t->len = sizeof *s4;
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)&t->sa;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)a->port);
		memcpy(&s6->sin6_addr, bin, 16);
		s6->sin6_scope_id = scope;
		t->len = sizeof *s6;
	}
	if (inet_ntop(af, bin, t->text, sizeof t->text) == NULL)
		snprintf(t->text, sizeof t->text, "?");
}

static int addr_add(ns_msg *msg, ns_rr *rr, void *arg)
{
	(void)msg;
	if (ns_rr_type(*rr) == ns_t_a && ns_rr_rdlen(*rr) == 4)
		addr_keep(arg, AF_INET, ns_rr_rdata(*rr), 0);
	else if (ns_rr_type(*rr) == ns_t_aaaa && ns_rr_rdlen(*rr) == 16)
		addr_keep(arg, AF_INET6, ns_rr_rdata(*rr), 0);
	return 0;
}

static int addr_fail(tlsrelay_status *st, tlsrelay_cat cat, const char *host,
                     const char *what)
{
	if (cat == TLSRELAY_TEMP)
		tr_status_set(st, cat, "4.4.3", "address lookup for %s failed: %s",
		              host, what);
	else
		tr_status_set(st, cat, "5.4.4", "host %s not found%s%s", host,
		              what ? ": " : "", what ? what : "");
	return -1;
}

/* Query type for name; add what it holds. Returns the query's outcome
 * (TR_DNS_TEMP also for a malformed answer); *why set for TR_DNS_TEMP. */
static tr_dns_res addr_query(res_state rs, const char *name, int type,
                          tr_dns_answer *ans, addr_acc *a, const char **why)
{
	tr_dns_res r = tr_dns_query(rs, name, type, ans);

	if (r == TR_DNS_TEMP)
		*why = tr_dns_temp_reason(ans);
	if (r != TR_DNS_TEMP && !ans->ad)
		a->insecure = 1;
	if (r == TR_DNS_OK && tr_dns_walk(&ans->msg, name, type, addr_add, a,
	                                  a->rname[0] ? NULL : a->rname, sizeof a->rname) < 0) {
		*why = "malformed DNS answer";
		r = TR_DNS_TEMP;
	}
	return r;
}

/* AAAA then A through d's server. */
static int addrs_dns(const tr_dns *d, const char *name, addr_acc *a,
                     tlsrelay_status *st)
{
	tr_dns_resolver res;
	tr_dns_res r6, r4 = TR_DNS_NODATA;
	const char *why = NULL;

	switch (tr_dns_resolver_open(d, &res)) {
	case TR_DNS_OPEN_NOMEM:
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		return -1;
	case TR_DNS_OPEN_RESOLVER:
		return addr_fail(st, TLSRELAY_TEMP, name, "cannot initialise the resolver");
	case TR_DNS_OPEN_OK:
		break;
	}
	r6 = addr_query(&res.rs, name, ns_t_aaaa, &res.ans, a, &why);
	if (r6 != TR_DNS_NXDOMAIN)
		r4 = addr_query(&res.rs, name, ns_t_a, &res.ans, a, &why);
	tr_dns_resolver_close(&res);
	if (r6 == TR_DNS_TEMP || r4 == TR_DNS_TEMP)
		a->insecure = 1;        /* one RRset unknown: not all secure */
	if (a->n > 0) {
		tr_status_ok(st);
		return a->n;
	}
	if (r6 == TR_DNS_TEMP || r4 == TR_DNS_TEMP)
		return addr_fail(st, TLSRELAY_TEMP, name, why);
	if (r6 == TR_DNS_NXDOMAIN || r4 == TR_DNS_NXDOMAIN)
		return addr_fail(st, TLSRELAY_PERM, name, NULL);
	return addr_fail(st, TLSRELAY_PERM, name, "no address record");
}

static int gai_permanent(int rc)
{
	switch (rc) {
	case EAI_NONAME:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
	case EAI_ADDRFAMILY:
#endif
		return 1;
	default:
		return 0;
	}
}

/* The system's getaddrinfo (honours /etc/hosts and nsswitch.conf). */
static int addrs_gai(const char *name, addr_acc *a, tlsrelay_status *st)
{
	struct addrinfo hints, *res = NULL;
	int rc;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	errno = 0;
	rc = getaddrinfo(name, NULL, &hints, &res);
	if (rc != 0) {
		if (gai_permanent(rc))
			return addr_fail(st, TLSRELAY_PERM, name, NULL);
		return addr_fail(st, TLSRELAY_TEMP, name, rc == EAI_SYSTEM ?
		                 strerror(errno) : gai_strerror(rc));
	}
	for (int pass = 0; pass < 2; pass++) {          /* IPv6 first */
		for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
			if (pass == 0 && ai->ai_family == AF_INET6) {
				const struct sockaddr_in6 *s6 = (const void *)ai->ai_addr;

				addr_keep(a, AF_INET6, &s6->sin6_addr, s6->sin6_scope_id);
			} else if (pass == 1 && ai->ai_family == AF_INET) {
				const struct sockaddr_in *s4 = (const void *)ai->ai_addr;

				addr_keep(a, AF_INET, &s4->sin_addr, 0);
			}
		}
	}
	freeaddrinfo(res);
	if (a->n == 0)
		return addr_fail(st, TLSRELAY_PERM, name, "no address record");
	tr_status_ok(st);
	return a->n;
}

/* Addresses of host; dns != 0: through res_nquery even without a
 * configured server (DNSSEC status wanted). */
static int addrs_lookup(const tr_dns *d, const char *host, int port, tr_addr *out,
                        int max, int dns, addr_acc *acc, tlsrelay_status *st)
{
	addr_acc a = { out, 0, max, port, 0, "" };
	int n;
	char name[TR_HOSTNAME_MAX];
	unsigned char bin[sizeof(struct in6_addr)];
	int af = AF_UNSPEC;

	if (d == NULL || host == NULL || out == NULL || max < 1 ||
	    port < 1 || port > 65535) {
		tr_status_set(st, TLSRELAY_USAGE, "",
		              "tr_dns_addrs: bad arguments (port %d, max %d)", port, max);
		return -1;
	}
	if (inet_pton(AF_INET, host, bin) == 1)
		af = AF_INET;
	else if (inet_pton(AF_INET6, host, bin) == 1)
		af = AF_INET6;
	if (af != AF_UNSPEC) {                  /* a numeric host is used as is */
		addr_keep(&a, af, bin, 0);
		tr_status_ok(st);
		acc->insecure = 1;
		return a.n;
	}
	if (tr_dns_norm_name(host, name, sizeof name) < 0)
		return addr_fail(st, TLSRELAY_PERM, host, "invalid host name");
	if (d->server[0] != '\0' || dns)
		n = addrs_dns(d, name, &a, st);
	else
		n = addrs_gai(name, &a, st);
	acc->insecure = a.insecure;
	memcpy(acc->rname, a.rname, sizeof acc->rname);
	return n;
}

int tr_addr_port(const tr_addr *a)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->sa;

	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return ntohs(((const struct sockaddr_in *)sa)->sin_port);
}

tlsrelay_cat tr_dns_addrs(const tr_dns *d, const char *host, int port, tr_addr *out,
                          int max, int *n, tlsrelay_status *st)
{
	addr_acc acc;

	return counted(addrs_lookup(d, host, port, out, max, 0, &acc, st), n, st);
}

tlsrelay_cat tr_dns_addrs_sec(const tr_dns *d, const char *host, int port, tr_addr *out,
                              int max, int *n, tr_dns_sec *sec, tlsrelay_status *st)
{
	addr_acc acc = { NULL, 0, 0, 0, 1, "" };
	tr_dns dd;
	int count;

	memset(sec, 0, sizeof *sec);
	if (d == NULL)
		return counted(addrs_lookup(d, host, port, out, max, 1, &acc, st), n, st);
	dd = *d;
	dd.dnssec = 1;
	count = addrs_lookup(&dd, host, port, out, max, 1, &acc, st);
	sec->secure = count > 0 && !acc.insecure;
	if (count > 0 && acc.rname[0] && !tr_dns_same_name(acc.rname, host))
		memcpy(sec->rname, acc.rname, sizeof sec->rname);
	return counted(count, n, st);
}

/*
 * dns.c - MX and address lookups (see dns.h).
 *
 * Every lookup uses a private struct __res_state (res_ninit ... res_nclose),
 * so the process-wide _res is never touched. When a resolver is configured
 * (tr_dns.server) the state's name server list is replaced by that one
 * server before any query: the servers of /etc/resolv.conf are never used
 * for such a lookup, and the resolv.conf options that change answers
 * (rotate, no-aaaa, use-vc, ...) are reset too.
 *
 * IPv6 resolver addresses need glibc's extended server list
 * (_u._ext.nsaddrs); on other C libraries tr_dns_init rejects them.
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

#define DNS_BUFSIZE        65536  /* largest DNS message */
#define DNS_MAX_CNAME      8      /* CNAME hops followed in one answer */
#define DNS_TIMEOUT_MIN    1
#define DNS_TIMEOUT_MAX    30
#define DNS_ATTEMPTS       2

/* Outcome of one query. */
typedef enum dns_res { DNS_OK, DNS_NODATA, DNS_NXDOMAIN, DNS_TEMP } dns_res;

/* One query's answer: buf holds the message that msg parses. */
typedef struct dns_answer {
	unsigned char *buf;
	ns_msg msg;
	int herr;       /* resolver h_errno after a failure */
	int err;        /* errno after a failure */
} dns_answer;

/* ------------------------------------------------------------ names */

static int host_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Copy a host/domain name to out (outsz bytes), lowercased, without the
 * trailing dot, checking LDH (plus '_') syntax and label lengths. */
static int norm_name(const char *in, char *out, size_t outsz)
{
	size_t len, i, label = 0;

	if (in == NULL)
		return -1;
	len = strlen(in);
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > 253 || len >= outsz)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (!host_char(c) || ++label > 63) {
			return -1;
		}
		out[i] = (char)((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
	}
	if (label == 0)
		return -1;
	out[len] = '\0';
	return 0;
}

/* Case-insensitive comparison of two names, ignoring one trailing dot. */
static int same_name(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	if (la != lb)
		return 0;
	for (i = 0; i < la; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return 0;
	}
	return 1;
}

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

/* ------------------------------------------------------------ resolver */

/* Replace the name servers read from resolv.conf by d's server. */
static int use_server(const tr_dns *d, res_state rs)
{
	struct in_addr a4;
	struct in6_addr a6;

#ifdef __GLIBC__
	for (int i = 0; i < rs->nscount && i < MAXNS; i++) {
		free(rs->_u._ext.nsaddrs[i]);    /* IPv6 servers of resolv.conf */
		rs->_u._ext.nsaddrs[i] = NULL;
	}
	for (int i = 0; i < MAXNS; i++)
		rs->_u._ext.nssocks[i] = -1;
	rs->_u._ext.nscount = 0;
#endif
	memset(rs->nsaddr_list, 0, sizeof rs->nsaddr_list);
	rs->nscount = 1;
	/* Answers come from this server only: reset resolv.conf options. */
	rs->options = (rs->options & RES_INIT) | RES_DEFAULT;
	if (inet_pton(AF_INET, d->server, &a4) == 1) {
		rs->nsaddr_list[0].sin_family = AF_INET;
		rs->nsaddr_list[0].sin_port = htons((uint16_t)d->port);
		rs->nsaddr_list[0].sin_addr = a4;
		return 0;
	}
#ifdef __GLIBC__
	if (inet_pton(AF_INET6, d->server, &a6) == 1) {
		/* sin_family 0 in nsaddr_list[0] tells glibc to use nsaddrs[0];
		 * res_nclose frees it. */
		struct sockaddr_in6 *sa6 = calloc(1, sizeof *sa6);

		if (sa6 == NULL)
			return -1;
		sa6->sin6_family = AF_INET6;
		sa6->sin6_port = htons((uint16_t)d->port);
		sa6->sin6_addr = a6;
		rs->_u._ext.nsaddrs[0] = sa6;
		return 0;
	}
#else
	(void)a6;
#endif
	rs->nscount = 0;
	return -1;
}

/* Initialise the private state rs for one lookup. On failure nothing
 * needs to be released. */
static int res_open(const tr_dns *d, res_state rs)
{
	int timeout = d->timeout, attempts = d->attempts;

	memset(rs, 0, sizeof *rs);
	if (res_ninit(rs) != 0)
		return -1;
	if (d->server[0] != '\0' && use_server(d, rs) < 0) {
		res_nclose(rs);
		return -1;
	}
	timeout = clamp_timeout(timeout);       /* d may not come from init */
	if (attempts < 1 || attempts > RES_MAXRETRY)
		attempts = DNS_ATTEMPTS;
	rs->retrans = timeout;
	rs->retry = attempts;
#ifdef RES_TRUSTAD
	rs->options |= RES_TRUSTAD;
#endif
	return 0;
}

/* One query of name/type; classifies the outcome. */
static dns_res dns_query(res_state rs, const char *name, int type,
                         dns_answer *ans)
{
	int n;

	ans->herr = 0;
	ans->err = 0;
	errno = 0;
	rs->res_h_errno = 0;
	n = res_nquery(rs, name, ns_c_in, type, ans->buf, DNS_BUFSIZE);
	if (n < 0) {
		ans->herr = rs->res_h_errno;
		ans->err = errno;
		switch (ans->herr) {
		case HOST_NOT_FOUND:
			return DNS_NXDOMAIN;
		case NO_DATA:
			return DNS_NODATA;
		default:
			return DNS_TEMP;        /* TRY_AGAIN, NO_RECOVERY, ... */
		}
	}
	ans->herr = TRY_AGAIN;
	if (n > DNS_BUFSIZE || ns_initparse(ans->buf, n, &ans->msg) < 0)
		return DNS_TEMP;
	switch (ns_msg_getflag(ans->msg, ns_f_rcode)) {
	case ns_r_noerror:
		break;
	case ns_r_nxdomain:
		return DNS_NXDOMAIN;
	default:
		return DNS_TEMP;
	}
	if (ns_msg_getflag(ans->msg, ns_f_tc))
		return DNS_TEMP;        /* truncated even over TCP */
	ans->herr = 0;
	return ns_msg_count(ans->msg, ns_s_an) == 0 ? DNS_NODATA : DNS_OK;
}

/* Text for a temporary failure. */
static const char *temp_reason(const dns_answer *ans)
{
	if (ans->err == ECONNREFUSED)
		return "DNS server unreachable (connection refused)";
	if (ans->herr == NO_RECOVERY)
		return "DNS server refused the query or sent a bad answer";
	return "DNS server failure or timeout";
}

/* ------------------------------------------------------------ answers */

typedef int (*rr_fn)(ns_msg *msg, ns_rr *rr, void *arg);

/* Target of the CNAME owned by name in the answer section: 1 found,
 * 0 none, -1 malformed. */
static int find_cname(ns_msg *msg, const char *name, char *out, size_t outsz)
{
	int count = ns_msg_count(*msg, ns_s_an);

	for (int i = 0; i < count; i++) {
		ns_rr rr;

		if (ns_parserr(msg, ns_s_an, i, &rr) < 0)
			return -1;
		if (ns_rr_type(rr) != ns_t_cname || ns_rr_class(rr) != ns_c_in ||
		    !same_name(ns_rr_name(rr), name))
			continue;
		if (dn_expand(ns_msg_base(*msg), ns_msg_end(*msg), ns_rr_rdata(rr),
		              out, (int)outsz) < 0)
			return -1;
		return 1;
	}
	return 0;
}

/* Call fn for each answer record of type that belongs to qname, following
 * CNAMEs (at most DNS_MAX_CNAME). -1 if the message is malformed. */
static int answer_walk(ns_msg *msg, const char *qname, int type, rr_fn fn,
                       void *arg)
{
	char cur[NS_MAXDNAME], next[NS_MAXDNAME];
	int count = ns_msg_count(*msg, ns_s_an);

	snprintf(cur, sizeof cur, "%s", qname);
	for (int hop = 0; hop < DNS_MAX_CNAME; hop++) {
		int r = find_cname(msg, cur, next, sizeof next);

		if (r < 0)
			return -1;
		if (r == 0 || same_name(next, cur))
			break;
		memcpy(cur, next, sizeof cur);
	}
	for (int i = 0; i < count; i++) {
		ns_rr rr;

		if (ns_parserr(msg, ns_s_an, i, &rr) < 0)
			return -1;
		if ((int)ns_rr_type(rr) != type || ns_rr_class(rr) != ns_c_in ||
		    !same_name(ns_rr_name(rr), cur))
			continue;
		if (fn(msg, &rr, arg) < 0)
			return -1;
	}
	return 0;
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
	if (norm_name(name, host, sizeof host) < 0) {
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
static int mx_answer(dns_answer *ans, const char *domain, tr_mx *out,
                     tlsrelay_status *st)
{
	mx_acc a = { out, 0, 0, 0 };

	if (answer_walk(&ans->msg, domain, ns_t_mx, mx_add, &a) < 0)
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

int tr_dns_mx(const tr_dns *d, const char *domain, tr_mx *out,
              tlsrelay_status *st)
{
	char name[TR_HOSTNAME_MAX];
	struct __res_state rs;
	dns_answer ans;
	dns_res r;
	int n;

	if (d == NULL || out == NULL) {
		tr_status_set(st, TLSRELAY_USAGE, "", "tr_dns_mx: no %s",
		              d == NULL ? "settings" : "output");
		return -1;
	}
	if (norm_name(domain, name, sizeof name) < 0)
		return mx_fail(st, TLSRELAY_PERM, "5.1.2",
		               domain ? domain : "(none)", "is not a valid domain name");
	ans.buf = malloc(DNS_BUFSIZE);
	if (ans.buf == NULL) {
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		return -1;
	}
	if (res_open(d, &rs) < 0) {
		free(ans.buf);
		return mx_fail(st, TLSRELAY_TEMP, "4.4.3", name,
		               "cannot initialise the resolver");
	}
	r = dns_query(&rs, name, ns_t_mx, &ans);
	res_nclose(&rs);
	switch (r) {
	case DNS_NXDOMAIN:
		n = mx_fail(st, TLSRELAY_PERM, "5.1.2", name, "does not exist");
		break;
	case DNS_TEMP:
		n = mx_fail(st, TLSRELAY_TEMP, "4.4.3", name, temp_reason(&ans));
		break;
	case DNS_NODATA:                        /* implicit MX */
		snprintf(out[0].host, sizeof out[0].host, "%s", name);
		out[0].pref = 0;
		tr_status_ok(st);
		n = 1;
		break;
	case DNS_OK:
	default:
		n = mx_answer(&ans, name, out, st);
		break;
	}
	free(ans.buf);
	return n;
}

/* ------------------------------------------------------------ addresses */

typedef struct addr_acc {
	tr_addr *out;
	int n, max, port;
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
 * (DNS_TEMP also for a malformed answer); *why set for DNS_TEMP. */
static dns_res addr_query(res_state rs, const char *name, int type,
                          dns_answer *ans, addr_acc *a, const char **why)
{
	dns_res r = dns_query(rs, name, type, ans);

	if (r == DNS_TEMP)
		*why = temp_reason(ans);
	if (r == DNS_OK && answer_walk(&ans->msg, name, type, addr_add, a) < 0) {
		*why = "malformed DNS answer";
		r = DNS_TEMP;
	}
	return r;
}

/* AAAA then A through d's server. */
static int addrs_dns(const tr_dns *d, const char *name, addr_acc *a,
                     tlsrelay_status *st)
{
	struct __res_state rs;
	dns_answer ans;
	dns_res r6, r4 = DNS_NODATA;
	const char *why = NULL;

	ans.buf = malloc(DNS_BUFSIZE);
	if (ans.buf == NULL) {
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		return -1;
	}
	if (res_open(d, &rs) < 0) {
		free(ans.buf);
		return addr_fail(st, TLSRELAY_TEMP, name, "cannot initialise the resolver");
	}
	r6 = addr_query(&rs, name, ns_t_aaaa, &ans, a, &why);
	if (r6 != DNS_NXDOMAIN)
		r4 = addr_query(&rs, name, ns_t_a, &ans, a, &why);
	res_nclose(&rs);
	free(ans.buf);
	if (a->n > 0) {
		tr_status_ok(st);
		return a->n;
	}
	if (r6 == DNS_TEMP || r4 == DNS_TEMP)
		return addr_fail(st, TLSRELAY_TEMP, name, why);
	if (r6 == DNS_NXDOMAIN || r4 == DNS_NXDOMAIN)
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

int tr_dns_addrs(const tr_dns *d, const char *host, int port, tr_addr *out,
                 int max, tlsrelay_status *st)
{
	addr_acc a = { out, 0, max, port };
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
		return a.n;
	}
	if (norm_name(host, name, sizeof name) < 0)
		return addr_fail(st, TLSRELAY_PERM, host, "invalid host name");
	if (d->server[0] != '\0')
		return addrs_dns(d, name, &a, st);
	return addrs_gai(name, &a, st);
}

/* ------------------------------------------------------------ others */

/* The private resolver state of a lookup, for record types handled in
 * their own files (dns_txt.c): see dns_res.h. */
int tr_dns_res_open(const tr_dns *d, struct __res_state *rs)
{
	return res_open(d, rs);
}

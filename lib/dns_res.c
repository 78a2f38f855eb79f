/*
 * dns_res.c - the resolver core (see dns_res.h), split out of dns.c so
 * that dns_tlsa.c can share it.
 *
 * Every lookup uses a private struct __res_state (res_ninit ... res_nclose),
 * so the process-wide _res is never touched; it is opened and closed with
 * its answer buffer, as one tr_dns_resolver, in one place (below). When a resolver is configured
 * (tr_dns.server) the state's name server list is replaced by that one
 * server before any query: the servers of /etc/resolv.conf are never used
 * for such a lookup, and the resolv.conf options that change answers
 * (rotate, no-aaaa, use-vc, ...) are reset too.
 *
 * IPv6 resolver addresses need glibc's extended server list
 * (_u._ext.nsaddrs); on other C libraries tr_dns_init rejects them.
 *
 * The AD bit: glibc clears it in answers unless RES_TRUSTAD is set, which
 * every lookup here sets. So the AD bit is trusted as it comes: only a
 * resolver on loopback makes that safe, and `tlsrelay -t` warns when a
 * dane level meets another (tr_dns_addr_loopback,
 * tr_dns_system_resolver_remote; confcheck.c). For NODATA and NXDOMAIN answers res_nquery
 * returns -1, but the answer is in the buffer: its header gives the AD bit
 * (a validated denial of existence).
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

#include "dns_res.h"
#include "status.h"

#define DNS_MAX_CNAME      8      /* CNAME hops followed in one answer */
#define DNS_TIMEOUT_MIN    1
#define DNS_TIMEOUT_MAX    30
#define DNS_ATTEMPTS       2
#define DNS_HEADER_AD      0x20   /* byte 3 of the header */

/* ------------------------------------------------------------ names */

static int host_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int tr_dns_norm_name(const char *in, char *out, size_t outsz)
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

int tr_dns_same_name(const char *a, const char *b)
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

/* ------------------------------------------------------------ loopback */

int tr_dns_addr_loopback(const char *text)
{
	char addr[INET6_ADDRSTRLEN + 16];
	const char *end;
	struct in_addr a4;
	struct in6_addr a6;
	size_t n;

	if (text == NULL)
		return 0;
	if (text[0] == '[') {                       /* "[IPv6]" or "[IPv6]:PORT" */
		if ((end = strchr(++text, ']')) == NULL)
			return 0;
		n = (size_t)(end - text);
	} else if ((end = strchr(text, ':')) != NULL && strchr(end + 1, ':') == NULL) {
		n = (size_t)(end - text);           /* "IPv4:PORT" */
	} else {
		n = strlen(text);
	}
	if (n >= sizeof addr)
		return 0;
	memcpy(addr, text, n);
	addr[n] = '\0';
	addr[strcspn(addr, "%")] = '\0';         /* an IPv6 scope */
	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return 0;
}

/* An address glibc would take from a "nameserver" line. */
static int nameserver_addr(const char *a)
{
	char addr[INET6_ADDRSTRLEN + 16];
	unsigned char bin[sizeof(struct in6_addr)];

	if (strlen(a) >= sizeof addr)
		return 0;
	strcpy(addr, a);
	addr[strcspn(addr, "%")] = '\0';
	return inet_pton(AF_INET, addr, bin) == 1 || inet_pton(AF_INET6, addr, bin) == 1;
}

tr_resolver_where tr_dns_system_resolver_remote(const char *path, char *remote, size_t cap)
{
	FILE *fp = fopen(path, "re");
	char line[512];
	tr_resolver_where rc = TR_RESOLVER_LOOPBACK;
	int n = 0;

	if (fp == NULL)
		return errno == ENOENT ? TR_RESOLVER_LOOPBACK : TR_RESOLVER_UNREADABLE;
	while (rc == TR_RESOLVER_LOOPBACK && n < MAXNS && fgets(line, sizeof line, fp) != NULL) {
		char *a;

		if (strncmp(line, "nameserver", 10) != 0 || (line[10] != ' ' && line[10] != '\t'))
			continue;
		a = line + 10 + strspn(line + 10, " \t");
		a[strcspn(a, " \t\r\n")] = '\0';
		if (!nameserver_addr(a))
			continue;
		n++;
		if (!tr_dns_addr_loopback(a)) {
			snprintf(remote, cap, "%s", a);
			rc = TR_RESOLVER_REMOTE;
		}
	}
	if (rc == TR_RESOLVER_LOOPBACK && ferror(fp)) {
		int e = errno;
		fclose(fp);
		errno = e;
		return TR_RESOLVER_UNREADABLE;
	}
	fclose(fp);
	return rc;
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

/* Initialise the private state rs for one lookup (tr_dns_resolver_open).
 * 0 ok; on failure (-1) nothing needs to be released. */
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
	/* d may not come from tr_dns_init */
	timeout = timeout < DNS_TIMEOUT_MIN ? DNS_TIMEOUT_MIN :
	          timeout > DNS_TIMEOUT_MAX ? DNS_TIMEOUT_MAX : timeout;
	if (attempts < 1 || attempts > RES_MAXRETRY)
		attempts = DNS_ATTEMPTS;
	rs->retrans = timeout;
	rs->retry = attempts;
#ifdef RES_TRUSTAD
	rs->options |= RES_TRUSTAD;
#endif
	if (d->dnssec) {
		/* DANE: names are absolute, never completed from resolv.conf */
		rs->options |= RES_USE_EDNS0 | RES_USE_DNSSEC;
		rs->options &= ~(unsigned long)(RES_DEFNAMES | RES_DNSRCH);
	}
	return 0;
}

tr_dns_open_res tr_dns_resolver_open(const tr_dns *d, tr_dns_resolver *r)
{
	memset(&r->ans, 0, sizeof r->ans);
	if ((r->ans.buf = malloc(TR_DNS_BUFSIZE)) == NULL)
		return TR_DNS_OPEN_NOMEM;
	if (res_open(d, &r->rs) < 0) {
		free(r->ans.buf);
		r->ans.buf = NULL;
		return TR_DNS_OPEN_RESOLVER;
	}
	return TR_DNS_OPEN_OK;
}

void tr_dns_resolver_close(tr_dns_resolver *r)
{
	res_nclose(&r->rs);
	free(r->ans.buf);
	r->ans.buf = NULL;
}

/* The AD bit of the message in buf (n bytes; n < 0: unknown length, the
 * buffer holds a message whose header is valid). */
static int header_ad(const unsigned char *buf, int n)
{
	return (n < 0 || n >= 4) && (buf[3] & DNS_HEADER_AD) != 0;
}

tr_dns_res tr_dns_query(res_state rs, const char *name, int type,
                        tr_dns_answer *ans)
{
	int n;

	ans->herr = 0;
	ans->err = 0;
	ans->ad = 0;
	errno = 0;
	rs->res_h_errno = 0;
	memset(ans->buf, 0, 4);
	n = res_nquery(rs, name, ns_c_in, type, ans->buf, TR_DNS_BUFSIZE);
	if (n < 0) {
		ans->herr = rs->res_h_errno;
		ans->err = errno;
		switch (ans->herr) {
		case HOST_NOT_FOUND:
			ans->ad = header_ad(ans->buf, -1);
			return TR_DNS_NXDOMAIN;
		case NO_DATA:
			ans->ad = header_ad(ans->buf, -1);
			return TR_DNS_NODATA;
		default:
			return TR_DNS_TEMP;     /* TRY_AGAIN, NO_RECOVERY, ... */
		}
	}
	ans->herr = TRY_AGAIN;
	if (n > TR_DNS_BUFSIZE || ns_initparse(ans->buf, n, &ans->msg) < 0)
		return TR_DNS_TEMP;
	switch (ns_msg_getflag(ans->msg, ns_f_rcode)) {
	case ns_r_noerror:
		break;
	case ns_r_nxdomain:
		ans->ad = ns_msg_getflag(ans->msg, ns_f_ad) != 0;
		return TR_DNS_NXDOMAIN;
	default:
		return TR_DNS_TEMP;
	}
	if (ns_msg_getflag(ans->msg, ns_f_tc))
		return TR_DNS_TEMP;     /* truncated even over TCP */
	ans->herr = 0;
	ans->ad = ns_msg_getflag(ans->msg, ns_f_ad) != 0;
	return ns_msg_count(ans->msg, ns_s_an) == 0 ? TR_DNS_NODATA : TR_DNS_OK;
}

const char *tr_dns_temp_reason(const tr_dns_answer *ans)
{
	if (ans->err == ECONNREFUSED)
		return "DNS server unreachable (connection refused)";
	if (ans->herr == NO_RECOVERY)
		return "DNS server refused the query or sent a bad answer";
	return "DNS server failure or timeout";
}

/* ------------------------------------------------------------ answers */

/* Target of the CNAME owned by name in the answer section: TR_FOUND (into
 * out), TR_NOT_FOUND, TR_LOOKUP_FAILED (malformed). */
static tr_found find_cname(ns_msg *msg, const char *name, char *out, size_t outsz)
{
	int count = ns_msg_count(*msg, ns_s_an);

	for (int i = 0; i < count; i++) {
		ns_rr rr;

		if (ns_parserr(msg, ns_s_an, i, &rr) < 0)
			return TR_LOOKUP_FAILED;
		if (ns_rr_type(rr) != ns_t_cname || ns_rr_class(rr) != ns_c_in ||
		    !tr_dns_same_name(ns_rr_name(rr), name))
			continue;
		if (dn_expand(ns_msg_base(*msg), ns_msg_end(*msg), ns_rr_rdata(rr),
		              out, (int)outsz) < 0)
			return TR_LOOKUP_FAILED;
		return TR_FOUND;
	}
	return TR_NOT_FOUND;
}

int tr_dns_walk(ns_msg *msg, const char *qname, int type, tr_rr_fn fn,
                void *arg, char *final, size_t finalsz)
{
	char cur[NS_MAXDNAME], next[NS_MAXDNAME];
	int count = ns_msg_count(*msg, ns_s_an);

	snprintf(cur, sizeof cur, "%s", qname);
	for (int hop = 0; hop < DNS_MAX_CNAME; hop++) {
		tr_found r = find_cname(msg, cur, next, sizeof next);

		if (r == TR_LOOKUP_FAILED)
			return -1;
		if (r == TR_NOT_FOUND || tr_dns_same_name(next, cur))
			break;
		memcpy(cur, next, sizeof cur);
	}
	if (final != NULL && tr_dns_norm_name(cur, final, finalsz) < 0)
		snprintf(final, finalsz, "%s", qname);
	for (int i = 0; i < count; i++) {
		ns_rr rr;

		if (ns_parserr(msg, ns_s_an, i, &rr) < 0)
			return -1;
		if ((int)ns_rr_type(rr) != type || ns_rr_class(rr) != ns_c_in ||
		    !tr_dns_same_name(ns_rr_name(rr), cur))
			continue;
		if (fn(msg, &rr, arg) < 0)
			return -1;
	}
	return 0;
}

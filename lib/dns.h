/*
 * dns.h - MX and address lookups (dns.c).
 *
 * DNS goes through the system's stub resolver (res_nquery on a private
 * res_state: no global state is changed), or, when dns_resolver is set,
 * through that one server only (tests use their own server on loopback;
 * /etc/resolv.conf is then never read for queries). Timeouts are bounded:
 * each query waits timeout seconds per try, attempts tries. With a
 * configured server the resolv.conf options are ignored too (rotate,
 * no-aaaa, use-vc, ...). Queries set RES_TRUSTAD (the AD bit is kept in
 * answers): whoever uses AD later (DANE) must only trust it from a
 * trustworthy (local) resolver.
 *
 * An IPv6 dns_resolver needs glibc (its extended server list); elsewhere
 * tr_dns_init refuses it.
 *
 * Host selection follows RFC 5321 section 5.1: MX records sorted by
 * preference, random order among equal preferences, the domain itself as
 * implicit MX when there is no MX record, a null MX ("0 .") is a permanent
 * failure (5.1.10). NXDOMAIN is permanent (5.1.2); SERVFAIL, timeouts and
 * network errors are temporary (4.4.3).
 */
#ifndef TR_DNS_H
#define TR_DNS_H

#include <sys/socket.h>
#include <netinet/in.h>
#include "tlsrelay.h"

#define TR_DNS_MAX_HOSTS  16
#define TR_DNS_MAX_ADDRS  16
#define TR_HOSTNAME_MAX   256

typedef struct tr_dns {
	char server[64];              /* "" = system resolver, else numeric IP */
	int port;                     /* for server; 53 by default */
	int timeout;                  /* seconds per try */
	int attempts;
	int dnssec;                   /* ask for DNSSEC (EDNS0 + DO); the
	                               * *_sec lookups set it themselves */
} tr_dns;

/* Parse a dns_resolver value ("127.0.0.1", "127.0.0.1:5353", "::1",
 * "[::1]", "[::1]:5353"; NULL or "" = system). Only numeric addresses; a
 * bare IPv6 address never has a port ("::1:53" is an address). server is
 * kept as written. timeout is clamped to 1..30; attempts is 2.
 * 0 ok, -1 bad: *d is then the system resolver, which the caller must not
 * silently use (a bad setting is a configuration error). */
int tr_dns_init(tr_dns *d, const char *resolver, int timeout);

typedef struct tr_mx {
	char host[TR_HOSTNAME_MAX];   /* no trailing dot */
	int pref;
} tr_mx;

/* MX hosts of domain in delivery order (at most TR_DNS_MAX_HOSTS) into out
 * (room for TR_DNS_MAX_HOSTS), their count (>= 1; 0 on failure) into *n.
 * Implicit MX: the domain, pref 0. *st is written on failure (and may be
 * left as it was on success: callers pass their "last failure").
 * Returns: OK; PERM 5.1.10 (null MX), 5.1.2 (no such domain); TEMP 4.4.3
 * (lookup failure); INTERNAL 4.3.0 (out of memory). Details:
 * - host names lowercased, no trailing dot; the domain too (it may be
 *   given in any case, with a trailing dot); CNAMEs in the answer are
 *   followed (at most 8);
 * - a host listed twice is kept once, at its lowest preference; with more
 *   than TR_DNS_MAX_HOSTS records the lowest preferences are kept;
 * - a null MX beside real MX records is ignored (misconfiguration: the
 *   real ones are used); only null MX records -> PERM 5.1.10;
 * - MX targets that are not host names (LDH and '_') are skipped; when
 *   none is left -> TEMP 4.4.3;
 * - a syntactically bad domain -> PERM 5.1.2 without any query;
 * - SERVFAIL, REFUSED, timeouts, unreachable server, malformed or
 *   truncated answers -> TEMP 4.4.3. */
tlsrelay_cat tr_dns_mx(const tr_dns *d, const char *domain, tr_mx *out, int *n,
                       tlsrelay_status *st);

typedef struct tr_addr {
	struct sockaddr_storage sa;
	socklen_t len;
	char text[64];                /* numeric form without port */
} tr_addr;

/* The port of a's address (host order). */
int tr_addr_port(const tr_addr *a);

/* Addresses of host (IPv6 first, then IPv4, as Postfix with
 * inet_protocols = all prefers neither: we list AAAA then A), port set to
 * port, at most max, no duplicates. A numeric host ("192.0.2.1", "::1")
 * is used as is (no DNS). With a configured server: AAAA then A queries;
 * without: getaddrinfo() (honours /etc/hosts; its timeouts are the
 * system's). The count (>= 1; 0 on failure) into *n.
 * Returns: OK; PERM 5.4.4 (host not found or without address records);
 * TEMP 4.4.3 (failure when nothing was found); USAGE (port outside
 * 1..65535 or max < 1); INTERNAL 4.3.0 (out of memory). */
tlsrelay_cat tr_dns_addrs(const tr_dns *d, const char *host, int port, tr_addr *out,
                          int max, int *n, tlsrelay_status *st);

/* DNSSEC status of a lookup (DANE). */
typedef struct tr_dns_sec {
	int secure;                   /* every answer carried the AD bit */
	char rname[TR_HOSTNAME_MAX];  /* addresses: the name the records belong
	                               * to after CNAMEs; "" when no CNAME */
} tr_dns_sec;

/* tr_dns_mx, asking for DNSSEC: sec->secure is 1 when the answer (the MX
 * RRset, or the validated denial behind an implicit MX) had the AD bit.
 * Same results otherwise; a bogus answer is a SERVFAIL from a validating
 * resolver, so TEMP 4.4.3.
 * Returns: OK, PERM 5.1.10 5.1.2, TEMP 4.4.3, INTERNAL 4.3.0 (as tr_dns_mx). */
tlsrelay_cat tr_dns_mx_sec(const tr_dns *d, const char *domain, tr_mx *out, int *n,
                           tr_dns_sec *sec, tlsrelay_status *st);

/* tr_dns_addrs, asking for DNSSEC and always through DNS (res_nquery: the
 * configured server, else the resolv.conf servers; never /etc/hosts):
 * sec->secure is 1 when the AAAA and A answers (records or NODATA) both
 * had the AD bit; a numeric host is never secure. sec->rname is the CNAME
 * target when the host name is an alias.
 * Returns: OK, PERM 5.4.4, TEMP 4.4.3, USAGE, INTERNAL 4.3.0 (as
 * tr_dns_addrs). */
tlsrelay_cat tr_dns_addrs_sec(const tr_dns *d, const char *host, int port, tr_addr *out,
                              int max, int *n, tr_dns_sec *sec, tlsrelay_status *st);

/* Sort helper exposed for tests: order mx[0..n) by preference (stable),
 * then shuffle each run of equal preferences using rnd (a source of random
 * numbers; NULL = getrandom(), or a per-thread generator seeded once).
 * The shuffle is Fisher-Yates from the end of the run: for i = len-1 down
 * to 1, swap entries i and rnd(rnd_arg) % (i + 1); rnd is not called for
 * a run of one. */
void tr_mx_order(tr_mx *mx, int n, unsigned (*rnd)(void *), void *rnd_arg);

#endif

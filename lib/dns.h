/*
 * dns.h - MX and address lookups (dns.c).
 *
 * DNS goes through the system's stub resolver (res_nquery on a private
 * res_state: no global state is changed), or, when dns_resolver is set,
 * through that one server only (tests use their own server on loopback;
 * /etc/resolv.conf is then never read for queries). Timeouts are bounded.
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
} tr_dns;

/* Parse a dns_resolver value ("127.0.0.1", "127.0.0.1:5353",
 * "[::1]:5353"; NULL or "" = system). 0 ok, -1 bad. */
int tr_dns_init(tr_dns *d, const char *resolver, int timeout);

typedef struct tr_mx {
	char host[TR_HOSTNAME_MAX];   /* no trailing dot */
	int pref;
} tr_mx;

/* MX hosts of domain in delivery order (at most TR_DNS_MAX_HOSTS); returns
 * count >= 1 or -1 with *st set (PERM 5.1.10 null MX, PERM 5.1.2 no such
 * domain, TEMP 4.4.3 lookup failure). Implicit MX: the domain, pref 0. */
int tr_dns_mx(const tr_dns *d, const char *domain, tr_mx *out, tlsrelay_status *st);

typedef struct tr_addr {
	struct sockaddr_storage sa;
	socklen_t len;
	char text[64];                /* numeric form without port */
} tr_addr;

/* Addresses of host (IPv6 first, then IPv4, as Postfix with
 * inet_protocols = all prefers neither: we list AAAA then A), port set to
 * port. A numeric host ("192.0.2.1", "::1") is used as is. Returns count
 * >= 1 or -1 with *st (PERM 5.4.4 host not found, TEMP 4.4.3 failure). */
int tr_dns_addrs(const tr_dns *d, const char *host, int port, tr_addr *out,
                 int max, tlsrelay_status *st);

/* Sort helper exposed for tests: order mx[0..n) by preference, shuffling
 * equal preferences using rnd (a source of random numbers; NULL = random). */
void tr_mx_order(tr_mx *mx, int n, unsigned (*rnd)(void *), void *rnd_arg);

#endif

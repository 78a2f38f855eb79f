/*
 * nexthop.h - parsing a relay host / nexthop (nexthop.c).
 *
 * Syntax (Postfix relayhost conventions plus an explicit implicit-TLS prefix):
 *   [host]:port  [host]   - this host, no MX lookup (IPv6: [ipv6:2001:db8::1]
 *                           or [2001:db8::1])
 *   host:port    host     - MX lookup of host (a domain), then port
 *   smtp:X                - the same as X
 *   smtps:X               - implicit TLS (TLS from the first byte, RFC 8314),
 *                           default port 465
 * port: a number 1-65535 or one of smtp(25), submission(587), smtps(465),
 * submissions(465). Default port 25 (465 with smtps:).
 */
#ifndef TR_NEXTHOP_H
#define TR_NEXTHOP_H

#include <stddef.h>

typedef struct tr_nexthop {
	char host[256];      /* without brackets or port */
	int port;
	int mx_lookup;       /* 1 unless the host was in brackets */
	int implicit_tls;    /* smtps: prefix */
} tr_nexthop;

/* 0 on success; -1 with a short reason in err (cap bytes) otherwise. */
int tr_nexthop_parse(const char *s, tr_nexthop *out, char *err, size_t cap);

/* Canonical text form ("[host]:port", "smtps:[host]:465", "host:25"). */
char *tr_nexthop_format(const tr_nexthop *nh, char *out, size_t cap);

#endif

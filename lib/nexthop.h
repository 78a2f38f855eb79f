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
 *
 * Details:
 * - "smtp:"/"smtps:" is a prefix unless the rest is a port: "smtp:25" is host
 *   "smtp", port 25; "smtps:relay" is implicit TLS to relay:465.
 * - The "ipv6:" tag inside brackets is matched case-insensitively and
 *   stripped: host holds the bare address. A bracketed host containing ':'
 *   must be a valid IPv6 address (inet_pton).
 * - Host names: letters, digits, '-', '_' and '.', no empty label, no label
 *   starting with '-', at most 255 bytes. Hosts are kept as written (no case
 *   folding).
 * - Rejected: empty input or host, white space or control bytes anywhere,
 *   unbalanced brackets, text after "]" other than ":port", a bad port, an
 *   unbracketed IPv6 literal ("put IPv6 addresses in brackets").
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

/* 0 on success; -1 with a short reason in err (cap bytes; err may be NULL
 * when cap is 0) otherwise, and *out untouched. s NULL = empty. */
int tr_nexthop_parse(const char *s, tr_nexthop *out, char *err, size_t cap);

/* Buffer size that always holds tr_nexthop_format()'s output:
 * "smtps:" + "[" + 255 + "]" + ":65535" + NUL. */
#define TR_NEXTHOP_TEXT_MAX 272

/* Canonical text form ("[host]:port", "smtps:[host]:465", "host:25"): the
 * port is always written, IPv6 hosts as "[2001:db8::1]:25". Parsing the
 * result gives the same tr_nexthop. Returns out; the text is truncated (and
 * always NUL-terminated when cap > 0) if cap < TR_NEXTHOP_TEXT_MAX. */
char *tr_nexthop_format(const tr_nexthop *nh, char *out, size_t cap);

#endif

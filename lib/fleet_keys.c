/*
 * fleet_keys.c - the fleet store's pure parts (see fleet.h): the
 * shared_store URL, the field encoding of its hashes, the day. No I/O,
 * built with or without hiredis (tlsrelay -t parses the URL either way).
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fleet.h"

#define SEP '\x1f'

static int parse_int(const char *s, size_t len, int min, int max, int *out)
{
	long v = 0;

	if (len == 0 || len > 6)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

static int parse_unix(const char *p, tr_redis_addr *out, char *why, size_t cap)
{
	const char *q = strchr(p, '?');
	size_t len = q ? (size_t)(q - p) : strlen(p);

	if (p[0] != '/' || len >= sizeof out->path) {
		snprintf(why, cap, "unix: needs an absolute socket path (at most %zu bytes)",
		         sizeof out->path - 1);
		return -1;
	}
	memcpy(out->path, p, len);
	out->path[len] = '\0';
	if (q && (strncmp(q, "?db=", 4) != 0 || parse_int(q + 4, strlen(q + 4), 0, 65535,
	                                                  &out->db) < 0)) {
		snprintf(why, cap, "after the socket path only ?db=N (0..65535)");
		return -1;
	}
	return 0;
}

/* HOST[:PORT][/DB] */
static int parse_tcp(const char *p, tr_redis_addr *out, char *why, size_t cap)
{
	const char *slash = strchr(p, '/'), *end = slash ? slash : p + strlen(p), *colon, *h = p;
	size_t hlen;

	if (memchr(p, '@', (size_t)(end - p))) {
		snprintf(why, cap, "no user or password in the URL: put the password in "
		         "shared_store_password_file");
		return -1;
	}
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (rb == NULL) {
			snprintf(why, cap, "an IPv6 address needs its closing ]");
			return -1;
		}
		h = p + 1;
		hlen = (size_t)(rb - h);
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		if (rb + 1 < end && colon == NULL) {
			snprintf(why, cap, "after ] only :PORT");
			return -1;
		}
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		hlen = (size_t)((colon ? colon : end) - p);
	}
	if (hlen == 0 || hlen >= sizeof out->host || strcspn(h, " \t") < hlen) {
		snprintf(why, cap, "no usable host name or address");
		return -1;
	}
	memcpy(out->host, h, hlen);
	out->host[hlen] = '\0';
	if (colon && parse_int(colon + 1, (size_t)(end - colon - 1), 1, 65535, &out->port) < 0) {
		snprintf(why, cap, "bad port (1..65535)");
		return -1;
	}
	if (slash && slash[1] && parse_int(slash + 1, strlen(slash + 1), 0, 65535, &out->db) < 0) {
		snprintf(why, cap, "bad database number after / (0..65535)");
		return -1;
	}
	return 0;
}

int tr_fleet_parse_url(const char *url, tr_redis_addr *out, char *why, size_t cap)
{
	memset(out, 0, sizeof *out);
	out->port = 6379;
	if (strncmp(url, "unix:", 5) == 0)
		return parse_unix(url + 5, out, why, cap);
	if (strncmp(url, "redis://", 8) == 0)
		return parse_tcp(url + 8, out, why, cap);
	if (strncmp(url, "rediss://", 9) == 0) {
		out->tls = 1;
		return parse_tcp(url + 9, out, why, cap);
	}
	snprintf(why, cap, "use redis://HOST:PORT/DB, rediss://HOST:PORT/DB (TLS) or unix:/PATH");
	return -1;
}

void tr_fleet_lease_keys(const char *day, const char *domain, char *lease, char *sent,
                         char *legacy_sent, size_t cap)
{
	snprintf(lease, cap, "tlsrelay:rptlease:{%s:%s}", day, domain);
	snprintf(sent, cap, "tlsrelay:rptsent:{%s:%s}", day, domain);
	snprintf(legacy_sent, cap, "tlsrelay:rptsent:%s:%s", day, domain);
}

size_t tr_fleet_join(char *out, size_t cap, const char *const *v, int n)
{
	size_t k = 0;

	if (cap == 0)
		return 0;
	for (int i = 0; i < n; i++) {
		if (i > 0 && k + 1 < cap)
			out[k++] = SEP;
		for (const char *s = v[i]; *s && k + 1 < cap; s++)
			out[k++] = *s == SEP ? '?' : *s;
	}
	out[k] = '\0';
	return k;
}

int tr_fleet_split(const char *in, size_t len, char *buf, size_t cap, const char **parts,
                   int max)
{
	int n = 0;

	if (len + 1 > cap || max < 1)
		return -1;
	memcpy(buf, in, len);
	buf[len] = '\0';
	parts[n++] = buf;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != SEP)
			continue;
		if (n == max)
			return max + 1;    /* more parts than wanted */
		buf[i] = '\0';
		parts[n++] = buf + i + 1;
	}
	return n;
}

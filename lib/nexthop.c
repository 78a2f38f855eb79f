/*
 * nexthop.c - parsing and formatting a relay host / nexthop (see nexthop.h).
 *
 * The parser works on the whole string at once: it rejects white space and
 * control bytes first. Error texts never quote the input: it may be a value
 * or a key of a file being read (relayhost, a tls_policy_map key), and a
 * caller that wants it shown (-r, a destination on the command line)
 * quotes it itself.
 */
#include "config.h"
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "nexthop.h"
#include "status.h"

static const struct {
	const char *name;
	int port;
} port_names[] = {
	{ "smtp",        25 },
	{ "submission",  587 },
	{ "smtps",       465 },
	{ "submissions", 465 },
};

#define NPORT_NAMES (sizeof port_names / sizeof port_names[0])

static int fail(char *err, size_t cap, const char *fmt, ...) TR_PRINTF(3, 4);

static int fail(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && cap > 0) {
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* A port number 1-65535 (digits only) or a service name. */
static int parse_port(const char *s, int *port)
{
	long v = 0;

	if (*s >= '0' && *s <= '9') {
		for (; *s != '\0'; s++) {
			if (*s < '0' || *s > '9')
				return -1;
			v = v * 10 + (*s - '0');
			if (v > 65535)
				return -1;
		}
		if (v < 1)
			return -1;
		*port = (int)v;
		return 0;
	}
	for (size_t i = 0; i < NPORT_NAMES; i++) {
		if (strcmp(s, port_names[i].name) == 0) {
			*port = port_names[i].port;
			return 0;
		}
	}
	return -1;
}

/* Host names and IPv4 literals: letters, digits, '-', '_' and '.', no
 * empty label, no label starting with '-'. */
static int host_name_ok(const char *h)
{
	size_t label = 0;

	for (; *h != '\0'; h++) {
		unsigned char c = (unsigned char)*h;
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		           (c >= '0' && c <= '9') || c == '_' ||
		           (c == '-' && label > 0)) {
			label++;
		} else {
			return 0;
		}
	}
	return label > 0;
}

/* Copy len bytes of host into nh->host and check them. */
static int set_host(tr_nexthop *nh, const char *host, size_t len, int ipv6,
                    char *err, size_t cap)
{
	struct in6_addr a6;

	if (len == 0)
		return fail(err, cap, "empty host");
	if (len >= sizeof nh->host)
		return fail(err, cap, "host name longer than %zu bytes",
		            sizeof nh->host - 1);
	memcpy(nh->host, host, len);
	nh->host[len] = '\0';
	if (ipv6) {
		if (inet_pton(AF_INET6, nh->host, &a6) != 1)
			return fail(err, cap, "bad IPv6 address");
	} else if (!host_name_ok(nh->host)) {
		return fail(err, cap, "bad host name");
	}
	return 0;
}

/* "smtp:" and "smtps:" are prefixes unless what follows is a port, as in
 * "smtp:25" (host "smtp", port 25). Returns the text after the prefix. */
static const char *strip_prefix(const char *s, int *implicit_tls)
{
	static const struct {
		const char *text;
		int tls;
	} prefixes[] = { { "smtps:", 1 }, { "smtp:", 0 } };
	int port;

	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t n = strlen(prefixes[i].text);
		if (strncmp(s, prefixes[i].text, n) != 0)
			continue;
		if (s[n] == '\0' || parse_port(s + n, &port) != 0) {
			*implicit_tls = prefixes[i].tls;
			return s + n;
		}
	}
	return s;
}

/* "[host]" or "[host]:port"; *port points after the ':' or is NULL. */
static int split_bracketed(const char *p, tr_nexthop *nh, const char **port,
                           char *err, size_t cap)
{
	const char *inside = p + 1;
	const char *close = strchr(inside, ']');
	size_t len;
	int ipv6;

	if (close == NULL || memchr(inside, '[', (size_t)(close - inside)) != NULL ||
	    strpbrk(close + 1, "[]") != NULL)
		return fail(err, cap, "unbalanced brackets");
	if (close[1] == ':')
		*port = close + 2;
	else if (close[1] != '\0')
		return fail(err, cap, "unexpected text after \"]\"");
	len = (size_t)(close - inside);
	ipv6 = memchr(inside, ':', len) != NULL;
	if (len >= 5 && strncasecmp(inside, "ipv6:", 5) == 0) {
		inside += 5;
		len -= 5;
		ipv6 = 1;
	}
	nh->mx_lookup = 0;
	return set_host(nh, inside, len, ipv6, err, cap);
}

/* p has two or more ':': an unbracketed IPv6 address (with a port, maybe)
 * gets advice; anything else is simply wrong. */
static int ipv6_advice(const char *p, char *err, size_t cap)
{
	struct in6_addr a6;
	char addr[64];
	const char *last = strrchr(p, ':');
	size_t len = (size_t)(last - p);

	if (inet_pton(AF_INET6, p, &a6) == 1)
		return fail(err, cap, "put IPv6 addresses in brackets: [ADDRESS]");
	if (len < sizeof addr) {
		memcpy(addr, p, len);
		addr[len] = '\0';
		if (inet_pton(AF_INET6, addr, &a6) == 1)
			return fail(err, cap, "put IPv6 addresses in brackets: [ADDRESS]:PORT");
	}
	return fail(err, cap, "too many \":\"");
}

/* "host" or "host:port" (MX lookup). */
static int split_plain(const char *p, tr_nexthop *nh, const char **port,
                       char *err, size_t cap)
{
	const char *colon = strchr(p, ':');

	if (strpbrk(p, "[]") != NULL)
		return fail(err, cap, "unbalanced brackets");
	if (colon != NULL && strchr(colon + 1, ':') != NULL)
		return ipv6_advice(p, err, cap);
	if (colon != NULL)
		*port = colon + 1;
	nh->mx_lookup = 1;
	return set_host(nh, p, colon ? (size_t)(colon - p) : strlen(p), 0, err, cap);
}

int tr_nexthop_parse(const char *s, tr_nexthop *out, char *err, size_t cap)
{
	tr_nexthop nh;
	const char *p, *port = NULL;
	int rc;

	memset(&nh, 0, sizeof nh);
	if (s == NULL || *s == '\0')
		return fail(err, cap, "empty nexthop");
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return fail(err, cap, "space or control character in nexthop");
	p = strip_prefix(s, &nh.implicit_tls);
	if (*p == '[')
		rc = split_bracketed(p, &nh, &port, err, cap);
	else
		rc = split_plain(p, &nh, &port, err, cap);
	if (rc != 0)
		return rc;
	if (port == NULL)
		nh.port = nh.implicit_tls ? 465 : 25;
	else if (*port == '\0')
		return fail(err, cap, "missing port after \":\"");
	else if (parse_port(port, &nh.port) != 0)
		return fail(err, cap, "bad port: expected 1-65535, smtp, "
		            "submission, smtps or submissions");
	*out = nh;
	return 0;
}

char *tr_nexthop_format(const tr_nexthop *nh, char *out, size_t cap)
{
	if (out == NULL || cap == 0)
		return out;
	snprintf(out, cap, "%s%s%s%s:%d", nh->implicit_tls ? "smtps:" : "",
	         nh->mx_lookup ? "" : "[", nh->host, nh->mx_lookup ? "" : "]",
	         nh->port);
	return out;
}

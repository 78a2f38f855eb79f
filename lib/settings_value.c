/*
 * settings_value.c - the syntaxes of setting values (see settings_value.h):
 * numbers, times, ports, and the validation functions of string settings
 * named in settings.c's table. Pure: no I/O, no allocation, no knowledge
 * of a particular setting.
 */
#include "config.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "dns.h"
#include "nexthop.h"
#include "settings.h"
#include "settings_value.h"

#define WEEK (7 * 86400)

/* Decimal digits at p into *v, saturating at limit + 1. Returns the first
 * byte after the digits (p itself when there are none). */
const char *tr_scan_digits(const char *p, unsigned long limit, unsigned long *v)
{
	*v = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		*v = *v * 10 + (unsigned long)(*p - '0');
		if (*v > limit)
			*v = limit + 1;
	}
	return p;
}

tr_pt_res tr_time_parse(const char *s, int *out)
{
	unsigned long v, unit;
	const char *p = tr_scan_digits(s, WEEK, &v);

	if (p == s)
		return TR_PT_SYNTAX;
	switch (*p) {
	case '\0': unit = 1; break;
	case 's': unit = 1; p++; break;
	case 'm': unit = 60; p++; break;
	case 'h': unit = 3600; p++; break;
	case 'd': unit = 86400; p++; break;
	case 'w': unit = WEEK; p++; break;
	default: return TR_PT_SYNTAX;
	}
	if (*p != '\0')
		return TR_PT_SYNTAX;
	if (v == 0 || v > WEEK / unit)
		return TR_PT_RANGE;
	*out = (int)(v * unit);
	return TR_PT_OK;
}

int tr_parse_time(const char *s, int *out)
{
	if (s == NULL || out == NULL)
		return -1;
	return tr_time_parse(s, out) == TR_PT_OK ? 0 : -1;
}

/* A port number 1-65535. */
int tr_parse_port(const char *s, int *port)
{
	unsigned long v;
	const char *end = tr_scan_digits(s, 65535, &v);

	if (end == s || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/* --------------------------------------------------- string validations */

int tr_check_nexthop(const char *value, char *norm, size_t ncap,
                     char *why, size_t wcap)
{
	tr_nexthop nh;

	return tr_nexthop_parse(value, &nh, why, wcap);
}

int tr_check_path(const char *value, char *norm, size_t ncap,
                  char *why, size_t wcap)
{
	if (value[0] == '/')
		return 0;
	snprintf(why, wcap, "expected an absolute path (starting with \"/\")");
	return -1;
}

/* RFC 1123 host name: labels of letters, digits and '-' (not first or last),
 * 1-63 bytes each, 255 bytes in all. */
static int dns_name_ok(const char *s)
{
	size_t label = 0, total = strlen(s);

	if (total == 0 || total > 255)
		return 0;
	for (const char *p = s;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || label > 63 || p[-1] == '-')
				return 0;
			if (*p == '\0')
				return 1;
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		           (*p >= '0' && *p <= '9') || (*p == '-' && label > 0)) {
			label++;
		} else {
			return 0;
		}
	}
}

/* "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 address literals). */
static int address_literal_ok(const char *s)
{
	char inside[64];
	unsigned char bin[sizeof(struct in6_addr)];
	size_t n = strlen(s);

	if (n < 3 || s[0] != '[' || s[n - 1] != ']' || n - 2 >= sizeof inside)
		return 0;
	memcpy(inside, s + 1, n - 2);
	inside[n - 2] = '\0';
	if (strncasecmp(inside, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, inside + 5, bin) == 1;
	return inet_pton(AF_INET, inside, bin) == 1;
}

int tr_check_helo(const char *value, char *norm, size_t ncap,
                  char *why, size_t wcap)
{
	if (value[0] == '[' ? address_literal_ok(value) : dns_name_ok(value))
		return 0;
	snprintf(why, wcap, "expected a host name (letters, digits, \"-\" and "
	         "\".\") or an address literal like [192.0.2.1] or "
	         "[IPv6:2001:db8::1]");
	return -1;
}

/* An openlog ident: what syslog shows before "[PID]". */
int tr_check_syslog_name(const char *value, char *norm, size_t ncap,
                         char *why, size_t wcap)
{
	if (strlen(value) <= TR_SYSLOG_NAME_MAX &&
	    value[strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                        "0123456789._-/")] == '\0')
		return 0;
	snprintf(why, wcap, "expected letters, digits, \".\", \"_\", \"-\" and \"/\", "
	         "at most %d bytes", TR_SYSLOG_NAME_MAX);
	return -1;
}

/* Split a dns_resolver value into address text, family and port text. */
static int split_resolver(const char *value, char *addr, size_t acap,
                          int *family, const char **port)
{
	const char *colon = strchr(value, ':'), *start = value, *close;
	size_t len;

	*port = NULL;
	if (value[0] == '[') {
		if ((close = strchr(value, ']')) == NULL ||
		    (close[1] != '\0' && close[1] != ':'))
			return -1;
		*family = AF_INET6;
		start = value + 1;
		len = (size_t)(close - start);
		if (close[1] == ':')
			*port = close + 2;
	} else if (colon != NULL && strchr(colon + 1, ':') != NULL) {
		*family = AF_INET6;
		len = strlen(value);
	} else {
		*family = AF_INET;
		len = colon ? (size_t)(colon - value) : strlen(value);
		if (colon != NULL)
			*port = colon + 1;
	}
	if (len >= acap)
		return -1;
	memcpy(addr, start, len);
	addr[len] = '\0';
	return 0;
}

/* Numeric only: "IP", "IP:PORT", "IPv6", "[IPv6]" or "[IPv6]:PORT". Stored
 * normalised: "192.0.2.1", "192.0.2.1:5353", "::1", "[::1]:5353". */
int tr_check_resolver(const char *value, char *norm, size_t ncap,
                      char *why, size_t wcap)
{
	char addr[INET6_ADDRSTRLEN + 8];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *port;
	int family, portnum = 0;
	tr_dns probe;

	if (split_resolver(value, addr, sizeof addr, &family, &port) != 0 ||
	    inet_pton(family, addr, bin) != 1 ||
	    inet_ntop(family, bin, addr, sizeof addr) == NULL) {
		snprintf(why, wcap, "expected a numeric address: IP, IP:PORT, "
		         "IPv6 or [IPv6]:PORT");
		return -1;
	}
	if (port != NULL && tr_parse_port(port, &portnum) != 0) {
		snprintf(why, wcap, "bad port: expected 1-65535");
		return -1;
	}
	if (port == NULL)
		snprintf(norm, ncap, "%s", addr);
	else
		snprintf(norm, ncap, family == AF_INET6 ? "[%s]:%d" : "%s:%d",
		         addr, portnum);
	/* The resolver code has the last word (it refuses 0.0.0.0, ::). */
	if (tr_dns_init(&probe, norm, 5) != 0) {
		snprintf(why, wcap, "not a usable DNS server address");
		return -1;
	}
	return 0;
}

/* A DNS name to query (the resolver self-test): "." or a host name. */
int tr_check_dns_name(const char *value, char *norm, size_t ncap,
                      char *why, size_t wcap)
{
	char name[260];
	size_t n = strlen(value);

	if (strcmp(value, ".") == 0)
		return 0;
	snprintf(name, sizeof name, "%.*s", (int)(n > 0 && value[n - 1] == '.' ? n - 1 : n),
	         value);
	for (char *p = name; *p; p++)    /* "_" is fine in a name to query */
		if (*p == '_')
			*p = 'x';
	if (n < sizeof name && dns_name_ok(name))
		return 0;
	snprintf(why, wcap, "expected a DNS name (or \".\" for the root)");
	return -1;
}

/* "127.0.0.1:PORT", "[::1]:PORT" (loopback only: the metrics are not for
 * the network) or "unix:/PATH". */
int tr_check_metrics_listen(const char *value, char *norm, size_t ncap,
                            char *why, size_t wcap)
{
	char addr[INET6_ADDRSTRLEN + 8];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *port;
	int family, portnum;

	if (strncmp(value, "unix:", 5) == 0) {
		if (value[5] == '/' && strlen(value + 5) < 100)
			return 0;
		snprintf(why, wcap, "expected unix:/ABSOLUTE/PATH (at most 99 bytes)");
		return -1;
	}
	if (split_resolver(value, addr, sizeof addr, &family, &port) != 0 || port == NULL ||
	    inet_pton(family, addr, bin) != 1 || tr_parse_port(port, &portnum) != 0) {
		snprintf(why, wcap, "expected 127.0.0.1:PORT, [::1]:PORT or unix:/PATH");
		return -1;
	}
	if (family == AF_INET ? bin[0] != 127 : !IN6_IS_ADDR_LOOPBACK((struct in6_addr *)bin)) {
		snprintf(why, wcap, "only a loopback address (127.0.0.0/8, ::1) or a unix socket");
		return -1;
	}
	return 0;
}

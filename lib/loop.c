/*
 * loop.c - is this server this host? See loop.h for the rules and why.
 */
#include "config.h"
#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include "loop.h"
#include "smtp_reply.h"

/* Length of name without one trailing dot. */
static size_t name_len(const char *name, size_t n)
{
	return n > 0 && name[n - 1] == '.' ? n - 1 : n;
}

static int is_named(const char *s, size_t n, const char *name)
{
	return n == strlen(name) && strncasecmp(s, name, n) == 0;
}

int tr_loop_name(const char *text, const char *me)
{
	size_t skip, n, mlen;

	if (text == NULL || me == NULL || *me == '\0')
		return 0;
	skip = tr_parse_dsn(text, 0, NULL, 0);
	text += skip;
	text += strspn(text, " \t");
	n = name_len(text, strcspn(text, " \t"));
	mlen = name_len(me, strlen(me));
	if (n == 0 || n != mlen || strncasecmp(text, me, n) != 0)
		return 0;
	return !is_named(me, mlen, "localhost") && !is_named(me, mlen, "localhost.localdomain");
}

/* The address bytes and port of sa; 0 when not AF_INET/AF_INET6. */
static int addr_bytes(const struct sockaddr *sa, const unsigned char **a, size_t *n, int *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		*a = (const unsigned char *)&in->sin_addr;
		*n = sizeof in->sin_addr;
		*port = ntohs(in->sin_port);
		return 1;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		*a = (const unsigned char *)&in6->sin6_addr;
		*n = sizeof in6->sin6_addr;
		*port = ntohs(in6->sin6_port);
		return 1;
	}
	return 0;
}

static int all_zero(const unsigned char *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != 0)
			return 0;
	return 1;
}

int tr_loop_addr(const tr_config *cfg, const struct sockaddr *sa)
{
	const unsigned char *a, *b;
	size_t n, m;
	int port, found = 0, unused;
	struct ifaddrs *ifs, *i;

	if (!addr_bytes(sa, &a, &n, &port) || !tr_config_local_mta_port(cfg, port))
		return 0;
	if (all_zero(a, n))        /* 0.0.0.0 and :: reach this host */
		return 1;
	if (getifaddrs(&ifs) != 0)
		return 0;
	for (i = ifs; i != NULL && !found; i = i->ifa_next)
		found = i->ifa_addr != NULL && i->ifa_addr->sa_family == sa->sa_family &&
		        addr_bytes(i->ifa_addr, &b, &m, &unused) && m == n && memcmp(a, b, n) == 0;
	freeifaddrs(ifs);
	return found;
}

/*
 * dnsq - print what tr_dns_mx / tr_dns_addrs / tr_dns_txt return (driven
 * by tests/dns/test_dns.sh and tests/dns/test_dns_txt.sh).
 *
 *   dnsq [-t SECONDS] RESOLVER mx DOMAIN        -> "mx PREF HOST" lines
 *   dnsq [-t SECONDS] RESOLVER addrs HOST PORT  -> "addr TEXT" lines
 *   dnsq [-t SECONDS] RESOLVER txt NAME         -> "txt TEXT" lines (at
 *                                                  most TR_DNS_TXT_COUNT),
 *                                                  "none" without records
 *
 * RESOLVER is a dns_resolver value ("127.0.0.1:5353", "[::1]:5353") or "-"
 * for the system resolver. On failure one line "error CAT DSN TEXT" (CAT
 * from tlsrelay_cat_name, DSN "-" when empty). Exit 0 on success, 1 on a
 * lookup failure, 2 on bad usage.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "dns_txt.h"
#include "status.h"

static int usage(void)
{
	fprintf(stderr, "usage: dnsq [-t SECONDS] RESOLVER mx DOMAIN\n"
	                "       dnsq [-t SECONDS] RESOLVER addrs HOST PORT\n"
	                "       dnsq [-t SECONDS] RESOLVER txt NAME\n");
	return 2;
}

static int print_error(const tlsrelay_status *st)
{
	printf("error %s %s %s\n", tlsrelay_cat_name(st->cat),
	       st->dsn[0] ? st->dsn : "-", st->text);
	return 1;
}

static int int_arg(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

static int do_mx(const tr_dns *d, const char *domain)
{
	tr_mx mx[TR_DNS_MAX_HOSTS];
	tlsrelay_status st;
	int n;

	if (tr_dns_mx(d, domain, mx, &n, &st) != TLSRELAY_OK)
		return print_error(&st);
	for (int i = 0; i < n; i++)
		printf("mx %d %s\n", mx[i].pref, mx[i].host);
	return 0;
}

static int do_addrs(const tr_dns *d, const char *host, const char *port_arg)
{
	tr_addr addr[TR_DNS_MAX_ADDRS];
	tlsrelay_status st;
	int port, n;

	if (int_arg(port_arg, 1, 65535, &port) < 0)
		return usage();
	if (tr_dns_addrs(d, host, port, addr, TR_DNS_MAX_ADDRS, &n, &st) != TLSRELAY_OK)
		return print_error(&st);
	for (int i = 0; i < n; i++)
		printf("addr %s\n", addr[i].text);
	return 0;
}

static int do_txt(const tr_dns *d, const char *name)
{
	static char out[TR_DNS_TXT_COUNT][TR_DNS_TXT_MAX];
	tlsrelay_status st;
	int n = 0;

	if (tr_dns_txt(d, name, out, TR_DNS_TXT_COUNT, &n, &st) != TLSRELAY_OK)
		return print_error(&st);
	for (int i = 0; i < n; i++)
		printf("txt %s\n", out[i]);
	if (n == 0)
		printf("none\n");
	return 0;
}

int main(int argc, char **argv)
{
	tr_dns d;
	int timeout = 5, rc;

	if (argc > 2 && strcmp(argv[1], "-t") == 0) {
		if (int_arg(argv[2], 1, 30, &timeout) < 0)
			return usage();
		argc -= 2;
		argv += 2;
	}
	if (argc < 4)
		return usage();
	if (tr_dns_init(&d, strcmp(argv[1], "-") == 0 ? NULL : argv[1],
	                timeout) < 0) {
		fprintf(stderr, "dnsq: bad resolver \"%s\"\n", argv[1]);
		return 2;
	}
	if (strcmp(argv[2], "mx") == 0 && argc == 4)
		rc = do_mx(&d, argv[3]);
	else if (strcmp(argv[2], "addrs") == 0 && argc == 5)
		rc = do_addrs(&d, argv[3], argv[4]);
	else if (strcmp(argv[2], "txt") == 0 && argc == 4)
		rc = do_txt(&d, argv[3]);
	else
		return usage();
	if (fflush(stdout) != 0)
		return 2;
	return rc;
}

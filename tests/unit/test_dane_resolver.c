/*
 * test_dane_resolver.c - tlsrelay -t's warning that DANE trusts the AD bit
 * of a resolver not on loopback (security issue 13 item 9): the loopback
 * test of an address (dns_res.c), the servers of a resolv.conf (each case
 * its own file: never the system's /etc/resolv.conf, and no query is
 * sent), and the check itself (confcheck.c) with and without a dane level,
 * from tls_security_level or from a tls_policy_map entry.
 * tests/admin/test_confcheck.sh runs the same through tlsrelay -t with
 * dns_resolver values.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ctx.h"
#include "dns_res.h"
#include "settings.h"
#include "tap.h"
#include "testutil.h"

static void test_loopback(void)
{
	static const struct {
		const char *addr;
		int loopback;
	} cases[] = {
		{ "127.0.0.1", 1 }, { "127.0.0.53", 1 }, { "127.1.2.3:5353", 1 },
		{ "::1", 1 }, { "[::1]", 1 }, { "[::1]:53", 1 }, { "::ffff:127.0.0.1", 1 },
		{ "198.51.100.53", 0 }, { "198.51.100.53:53", 0 }, { "10.255.255.53", 0 },
		{ "128.0.0.1", 0 }, { "::2", 0 }, { "[2001:db8::53]:53", 0 }, { "fe80::1%eth0", 0 },
		{ "::ffff:198.51.100.1", 0 }, { "0.0.0.0", 0 }, { "localhost", 0 }, { "", 0 },
		{ "[::1", 0 },
	};
	char name[96];

	tap_expect(NROWS(cases));
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		snprintf(name, sizeof name, "loopback(\"%s\") = %d", cases[c].addr, cases[c].loopback);
		TAP_INT(tr_dns_addr_loopback(cases[c].addr), cases[c].loopback, name);
	}
}

/* resolv.conf contents: the first remote server ("" when none). */
static const struct {
	const char *name, *text, *remote;
} conf_cases[] = {
	{ "empty file (glibc asks 127.0.0.1)", "", "" },
	{ "loopback only", "nameserver 127.0.0.1\nnameserver ::1\n", "" },
	{ "systemd-resolved's stub", "# stub\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n", "" },
	{ "a remote server", "nameserver 198.51.100.53\n", "198.51.100.53" },
	{ "remote after loopback", "nameserver 127.0.0.1\nnameserver 2001:db8::53\n", "2001:db8::53" },
	{ "tab, comment after", "nameserver\t198.51.100.7 # office\n", "198.51.100.7" },
	{ "the fourth server is not used", "nameserver 127.0.0.1\nnameserver 127.0.0.2\n"
	  "nameserver 127.0.0.3\nnameserver 198.51.100.53\n", "" },
	{ "a line without an address is not counted", "nameserver bogus\nnameserver 127.0.0.1\n"
	  "nameserver 127.0.0.2\nnameserver 198.51.100.53\n", "198.51.100.53" },
	{ "commented out", "#nameserver 198.51.100.53\n;nameserver 198.51.100.54\nnameserver 127.0.0.1\n", "" },
	{ "not the keyword", "nameservers 198.51.100.53\n", "" },
};

static void test_resolv_conf(void)
{
	char path[128], remote[64], name[160];

	tap_expect(NROWS(conf_cases) * 2 + 2);
	for (size_t c = 0; c < sizeof conf_cases / sizeof conf_cases[0]; c++) {
		if (write_temp("resolv", conf_cases[c].text, strlen(conf_cases[c].text), path,
		               sizeof path) != 0) {
			tap_ok(0, conf_cases[c].name, strerror(errno));
			continue;
		}
		remote[0] = '\0';
		snprintf(name, sizeof name, "resolv.conf: %s", conf_cases[c].name);
		TAP_INT(tr_dns_system_resolver_remote(path, remote, sizeof remote),
		        conf_cases[c].remote[0] ? TR_RESOLVER_REMOTE : TR_RESOLVER_LOOPBACK, name);
		check_str(remote, conf_cases[c].remote, name);
		unlink(path);
	}
	snprintf(path, sizeof path, "%s/no-such-resolv.conf", tmpdir);
	TAP_INT(tr_dns_system_resolver_remote(path, remote, sizeof remote), TR_RESOLVER_LOOPBACK,
	        "resolv.conf: no file (glibc asks 127.0.0.1)");
	TAP_INT(tr_dns_system_resolver_remote(tmpdir, remote, sizeof remote), TR_RESOLVER_UNREADABLE,
	        "resolv.conf: unreadable (a directory)");
}

/* The check: what it reports. */
struct reported {
	char text[2048];
	int n;
};

static void collect(void *arg, const char *line)
{
	struct reported *r = arg;
	size_t used = strlen(r->text);

	snprintf(r->text + used, sizeof r->text - used, "%s\n", line);
	r->n++;
}

static void test_check(void)
{
	static const struct {
		/* want: a prefix of the report, FILE = the map, RESOLV = the
		 * resolv.conf; "" = nothing reported */
		const char *name, *level, *map, *resolver, *resolv, *want;
	} cases[] = {
		{ "dane, dns_resolver on loopback", "dane", NULL, "127.0.0.1:5353", NULL, "" },
		{ "dane-only, dns_resolver [::1]:53", "dane-only", NULL, "[::1]:53", NULL, "" },
		{ "dane, remote dns_resolver", "dane", NULL, "198.51.100.53", NULL,
		  "warning: DANE (tls_security_level = dane) trusts the AD bit of dns_resolver "
		  "198.51.100.53, which is not on loopback: " },
		{ "may, remote dns_resolver: no dane", "may", NULL, "198.51.100.53", NULL, "" },
		{ "verify, map without dane, remote resolver", "verify", "example.com secure\n",
		  "198.51.100.53", NULL, "" },
		{ "dane in the map only, remote dns_resolver", "may",
		  "example.com secure\nexample.net dane-only\n", "198.51.100.53", NULL,
		  "warning: DANE (tls_policy_map FILE:2 key example.net) trusts the AD bit of "
		  "dns_resolver 198.51.100.53" },
		{ "dane, resolv.conf on loopback", "dane", NULL, NULL, "nameserver 127.0.0.1\n", "" },
		{ "dane, resolv.conf remote", "dane", NULL, NULL, "nameserver 198.51.100.53\n",
		  "warning: DANE (tls_security_level = dane) trusts the AD bit of the resolver "
		  "198.51.100.53 of RESOLV, which is not on loopback: " },
		{ "dane in the map, resolv.conf remote", "encrypt", "[mx.example.org]:25 dane\n", NULL,
		  "nameserver 2001:db8::53\n", "warning: DANE (tls_policy_map FILE:1 key [mx.example.org]:25) "
		  "trusts the AD bit of the resolver 2001:db8::53 of RESOLV" },
	};
	char map[128], resolv[128], want[1024], tmp[1024], name[160];

	tap_expect(NROWS(cases) * 2);
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct reported r = { "", 0 };
		tr_config cfg;
		char *p;
		int n;

		map[0] = resolv[0] = '\0';
		tr_config_init(&cfg);
		tr_config_set(&cfg, "tls_security_level", cases[c].level, NULL, NULL);
		if (cases[c].resolver)
			tr_config_set(&cfg, "dns_resolver", cases[c].resolver, NULL, NULL);
		if (cases[c].map && write_temp("map", cases[c].map, strlen(cases[c].map), map, sizeof map) == 0)
			tr_config_set(&cfg, "tls_policy_map", map, NULL, NULL);
		snprintf(resolv, sizeof resolv, "%s/no-such-resolv.conf", tmpdir);
		if (cases[c].resolv)
			write_temp("resolv", cases[c].resolv, strlen(cases[c].resolv), resolv, sizeof resolv);
		n = tr_confcheck_dane_resolver(&cfg, resolv, collect, &r);
		expand(cases[c].want, map, want, sizeof want);
		if ((p = strstr(want, "RESOLV")) != NULL) {
			snprintf(tmp, sizeof tmp, "%.*s%s%s", (int)(p - want), want, resolv, p + 6);
			snprintf(want, sizeof want, "%s", tmp);
		}
		snprintf(name, sizeof name, "check: %s", cases[c].name);
		TAP_INT(n, want[0] ? 1 : 0, name);
		tap_ok(want[0] ? strncmp(r.text, want, strlen(want)) == 0 : r.text[0] == '\0', name, r.text);
		if (map[0])
			unlink(map);
		if (cases[c].resolv)
			unlink(resolv);
		tr_config_free(&cfg);
	}
}

int main(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_dane_resolver.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_loopback();
	test_resolv_conf();
	test_check();
	rmdir(tmpdir);
	return tap_done();
}

/*
 * test_fleet.c - the fleet store's pure parts (lib/fleet_keys.c): the
 * shared_store URL (one row per case: accepted with its parts, or refused
 * with a word of the reason) and the field encoding of the shared hashes
 * (join and split round-trip; the separator inside a value cannot make a
 * field with more parts; a field with too many parts is refused).
 * The Redis side is the scripts of tests/fleet, against a real redis-server.
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "fleet.h"
#include "tlsrpt.h"
#include "tap.h"

static const struct url_case {
	const char *name, *url;
	int ok;
	const char *host, *path;
	int port, db, tls;
	const char *why;            /* a word of the refusal */
} urls[] = {
	{ "tcp, all parts", "redis://127.0.0.1:6380/3", 1, "127.0.0.1", "", 6380, 3, 0, NULL },
	{ "tcp, defaults", "redis://redis.example", 1, "redis.example", "", 6379, 0, 0, NULL },
	{ "tcp, trailing slash", "redis://10.0.0.1:7000/", 1, "10.0.0.1", "", 7000, 0, 0, NULL },
	{ "TLS", "rediss://r.example:6390/1", 1, "r.example", "", 6390, 1, 1, NULL },
	{ "IPv6", "redis://[::1]:6390/2", 1, "::1", "", 6390, 2, 0, NULL },
	{ "IPv6 no port", "redis://[::1]", 1, "::1", "", 6379, 0, 0, NULL },
	{ "unix", "unix:/run/redis/redis.sock", 1, "", "/run/redis/redis.sock", 6379, 0, 0, NULL },
	{ "unix db", "unix:/run/r.sock?db=4", 1, "", "/run/r.sock", 6379, 4, 0, NULL },
	{ "password in URL", "redis://:secret@127.0.0.1/0", 0, NULL, NULL, 0, 0, 0, "password" },
	{ "user in URL", "redis://u:p@h:1/0", 0, NULL, NULL, 0, 0, 0, "password_file" },
	{ "other scheme", "http://127.0.0.1/", 0, NULL, NULL, 0, 0, 0, "redis://" },
	{ "port 0", "redis://h:0/1", 0, NULL, NULL, 0, 0, 0, "port" },
	{ "port too big", "redis://h:65536", 0, NULL, NULL, 0, 0, 0, "port" },
	{ "port not a number", "redis://h:6x/1", 0, NULL, NULL, 0, 0, 0, "port" },
	{ "db not a number", "redis://h:1/x", 0, NULL, NULL, 0, 0, 0, "database" },
	{ "no host", "redis://:6379/1", 0, NULL, NULL, 0, 0, 0, "host" },
	{ "v6 unclosed", "redis://[::1:6379", 0, NULL, NULL, 0, 0, 0, "]" },
	{ "unix relative", "unix:redis.sock", 0, NULL, NULL, 0, 0, 0, "absolute" },
	{ "unix bad query", "unix:/r.sock?x=1", 0, NULL, NULL, 0, 0, 0, "db=" },
};

#define NURLS ((int)(sizeof urls / sizeof urls[0]))

static void test_urls(void)
{
	for (int i = 0; i < NURLS; i++) {
		const struct url_case *c = &urls[i];
		tr_redis_addr a;
		char why[256] = "", name[128];
		int r = tr_fleet_parse_url(c->url, &a, why, sizeof why);

		snprintf(name, sizeof name, "url %s: %s", c->name, c->ok ? "accepted" : "refused");
		if (!c->ok) {
			tap_ok(r < 0 && strstr(why, c->why) != NULL, name, why);
			continue;
		}
		tap_ok(r == 0 && strcmp(a.host, c->host) == 0 && strcmp(a.path, c->path) == 0 &&
		       a.port == c->port && a.db == c->db && a.tls == c->tls, name, why);
	}
}

static void test_fields(void)
{
	const char *v[] = { "sts", "version: STSv1\nmode: enforce", "mx.example", "success", "",
	                    "192.0.2.1", "" };
	const char *bad[] = { "a\x1f" "b", "c" };
	const char *p[8];
	char out[512], buf[512];
	size_t len = tr_fleet_join(out, sizeof out, v, 7);
	int n = tr_fleet_split(out, len, buf, sizeof buf, p, 7), same = n == 7;

	for (int i = 0; same && i < 7; i++)
		same = strcmp(p[i], v[i]) == 0;
	tap_ok(same, "field: 7 values (empty ones too) join and split back", NULL);
	len = tr_fleet_join(out, sizeof out, bad, 2);
	n = tr_fleet_split(out, len, buf, sizeof buf, p, 8);
	tap_ok(n == 2 && strcmp(p[0], "a?b") == 0, "field: a separator inside a value is no "
	       "separator", NULL);
	TAP_INT(tr_fleet_split("a\x1f" "b\x1f" "c", 5, buf, sizeof buf, p, 2), 3,
	        "field: more parts than wanted is said");
	TAP_INT(tr_fleet_split("abcdef", 6, buf, 4, p, 2), -1, "field: too long for the buffer");
	len = tr_fleet_join(out, 8, v, 7);
	TAP_INT((long long)len, 7, "field: join cuts at the buffer");
	tr_utc_day(86400LL * 365, buf);
	TAP_STR(buf, "1971-01-01", "day: UTC");
}

int main(void)
{
	tap_plan(NURLS + 6);
	test_urls();
	test_fields();
	return tap_done();
}

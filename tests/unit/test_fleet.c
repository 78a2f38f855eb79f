/*
 * test_fleet.c - the fleet store's pure parts (lib/fleet_keys.c): the
 * shared_store URL (one row per case: accepted with its parts, or refused
 * with a word of the reason) and the field encoding of the shared hashes
 * (join and split round-trip; the separator inside a value cannot make a
 * field with more parts; a field with too many parts is refused).
 * Redis Cluster (lib/redis_slot.c): hash slots (the specification's
 * vector and hash tag rules), a command's key, MOVED/ASK texts parsed or
 * refused (hostile ones included), and the lease keys in one slot.
 * The Redis side is the scripts of tests/fleet, against a real redis-server.
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "fleet.h"
#include "redis_slot.h"
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

/* ------------------------------------------------------------ cluster */

static const struct slot_case {
	const char *name, *a, *b;  /* b: NULL, or a key that must share a's slot */
	int slot;                  /* a's slot, -1: not checked */
} slots[] = {
	{ "spec vector 123456789 (CRC16 0x31C3)", "123456789", NULL, 12739 },
	{ "empty key", "", NULL, 0 },
	{ "hash tag", "{user1000}.following", "{user1000}.followers", -1 },
	{ "tag = the text hashed", "x{123456789}y", NULL, 12739 },
	{ "empty tag: the whole key", "foo{}{bar}", NULL, -1 },
	{ "first { to the next }", "foo{{bar}}zap", "{bar", -1 },
	{ "only the first tag", "foo{bar}{zap}", "bar", -1 },
	{ "no closing }: the whole key", "{abc", NULL, -1 },
};

#define NSLOTS ((int)(sizeof slots / sizeof slots[0]))

static void test_slots(void)
{
	for (int i = 0; i < NSLOTS; i++) {
		const struct slot_case *c = &slots[i];
		int a = tr_redis_slot(c->a, strlen(c->a));
		char name[128];

		snprintf(name, sizeof name, "slot: %s", c->name);
		if (c->b)
			TAP_INT(a, tr_redis_slot(c->b, strlen(c->b)), name);
		else if (c->slot >= 0)
			TAP_INT(a, c->slot, name);
		else    /* the whole key: as if there were no braces to honour */
			tap_ok(a >= 0 && a < TR_REDIS_SLOTS && a != tr_redis_slot("bar", 3), name, NULL);
	}
}

static const struct cmd_case {
	const char *name;
	int argc;
	const char *argv[5];
	const char *key;           /* NULL: no key */
} cmds[] = {
	{ "HGET's key", 3, { "HGET", "tlsrelay:sts:a.test", "id" }, "tlsrelay:sts:a.test" },
	{ "EVAL: the first key", 5, { "EVAL", "return 1", "2", "{k}1", "{k}2" }, "{k}1" },
	{ "EVAL, 0 keys", 3, { "EVAL", "return 1", "0" }, NULL },
	{ "evalsha, any case", 4, { "evalsha", "abc", "1", "k" }, "k" },
	{ "PING", 1, { "PING" }, NULL },
	{ "AUTH", 2, { "AUTH", "secret" }, NULL },
	{ "SELECT", 2, { "SELECT", "0" }, NULL },
};

#define NCMDS ((int)(sizeof cmds / sizeof cmds[0]))

static void test_cmd_slots(void)
{
	for (int i = 0; i < NCMDS; i++) {
		tr_redis_cmd c;
		char name[128];

		tr_redis_cmdv(&c, cmds[i].argc, cmds[i].argv);
		snprintf(name, sizeof name, "command key: %s", cmds[i].name);
		TAP_INT(tr_redis_cmd_slot(&c), cmds[i].key ? tr_redis_slot(cmds[i].key,
		        strlen(cmds[i].key)) : -1, name);
	}
}

static const struct redirect_case {
	const char *name, *text;
	int rc, ask, slot, port;
	const char *host;
} redirects[] = {
	{ "MOVED", "MOVED 3999 127.0.0.1:6381", 1, 0, 3999, 6381, "127.0.0.1" },
	{ "ASK", "ASK 0 10.0.0.2:7000", 1, 1, 0, 7000, "10.0.0.2" },
	{ "IPv6", "MOVED 16383 ::1:7001", 1, 0, 16383, 7001, "::1" },
	{ "IPv6 in brackets", "ASK 5 [fe80::1]:7001", 1, 1, 5, 7001, "fe80::1" },
	{ "a name", "MOVED 1 redis-2.example:6379", 1, 0, 1, 6379, "redis-2.example" },
	{ "no host: the one that answered", "MOVED 12 :7002", 1, 0, 12, 7002, "" },
	{ "another error", "ERR unknown command", 0, 0, 0, 0, NULL },
	{ "MOVED without a space", "MOVED", 0, 0, 0, 0, NULL },
	{ "slot 16384", "MOVED 16384 127.0.0.1:1", -1, 0, 0, 0, NULL },
	{ "slot not a number", "MOVED x 127.0.0.1:1", -1, 0, 0, 0, NULL },
	{ "slot too long", "MOVED 0000001 127.0.0.1:1", -1, 0, 0, 0, NULL },
	{ "no port", "MOVED 1 127.0.0.1", -1, 0, 0, 0, NULL },
	{ "port 0", "ASK 1 127.0.0.1:0", -1, 0, 0, 0, NULL },
	{ "port 65536", "ASK 1 127.0.0.1:65536", -1, 0, 0, 0, NULL },
	{ "a space in the host", "MOVED 1 a b:1", -1, 0, 0, 0, NULL },
	{ "a slash in the host", "MOVED 1 /tmp/x:1", -1, 0, 0, 0, NULL },
	{ "a NUL in the host", "MOVED 1 a\\0b:1", -1, 0, 0, 0, NULL },
};

#define NREDIRECTS ((int)(sizeof redirects / sizeof redirects[0]))

static void test_redirects(void)
{
	char longer[400];

	for (int i = 0; i < NREDIRECTS; i++) {
		const struct redirect_case *c = &redirects[i];
		char host[256] = "?", name[128], text[64];
		int ask = -1, slot = -1, port = -1, rc;
		size_t len = strlen(c->text);

		memcpy(text, c->text, len + 1);
		if (strstr(text, "\\0")) {     /* a real NUL byte where the row says \0 */
			char *z = strstr(text, "\\0");
			z[0] = '\0';
			memmove(z + 1, z + 2, strlen(z + 2) + 1);
			len--;
		}
		rc = tr_redis_redirect(text, len, &ask, &slot, host, sizeof host, &port);
		snprintf(name, sizeof name, "redirect: %s", c->name);
		if (c->rc != 1)
			TAP_INT(rc, c->rc, name);
		else
			tap_ok(rc == 1 && ask == c->ask && slot == c->slot && port == c->port &&
			       strcmp(host, c->host) == 0, name, host);
	}
	memset(longer, 'a', sizeof longer);
	memcpy(longer, "MOVED 1 ", 8);
	memcpy(longer + sizeof longer - 3, ":1", 2);
	longer[sizeof longer - 1] = '\0';
	{
		char host[256];
		int ask, slot, port;

		TAP_INT(tr_redis_redirect(longer, strlen(longer), &ask, &slot, host, sizeof host,
		                          &port), -1, "redirect: a host longer than the buffer");
	}
}

static void test_lease_keys(void)
{
	static const char *doms[] = { "d1.test", "example.com", "a}b{c.test", "}{", "" };
	char l[300], s[300], o[300];
	int same = 1;

	for (size_t i = 0; i < sizeof doms / sizeof doms[0]; i++) {
		tr_fleet_lease_keys("2026-12-07", doms[i], l, s, o, sizeof l);
		same = same && tr_redis_slot(l, strlen(l)) == tr_redis_slot(s, strlen(s));
	}
	tap_ok(same, "lease keys: lease and sent in one slot (hostile domains too)", l);
	tr_fleet_lease_keys("2026-12-07", "d1.test", l, s, o, sizeof l);
	TAP_STR(o, "tlsrelay:rptsent:2026-12-07:d1.test", "lease keys: the pre-cluster sent key");
}

int main(void)
{
	tap_plan(NURLS + 6 + NSLOTS + NCMDS + NREDIRECTS + 1 + 2);
	test_urls();
	test_fields();
	test_slots();
	test_cmd_slots();
	test_redirects();
	test_lease_keys();
	return tap_done();
}

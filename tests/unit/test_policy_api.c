/*
 * test_policy_api.c - tlsrelay_policy_get (policy_api.c): the policy of a
 * nexthop as the flags a host MTA enforces (the Exim shared object's
 * source of truth), and its errors.
 *
 * Table-driven: each case names a nexthop and states the whole answer;
 * a second table with mta_sts = yes (MX destinations are not complete).
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tlsrelay.h"
#include "status.h"
#include "tap.h"
#include "testutil.h"

#define FP "01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:" \
           "01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef"

static const char map_text[] =
	"enc.test          encrypt\n"
	"may.test          may\n"
	"none.test         none\n"
	"ver.test          verify\n"
	"verx.test         verify match=hostname:.example.com\n"
	"vsni.test         verify servername=nexthop\n"
	"sec.test          secure\n"
	"fp.test           fingerprint match=" FP "\n"
	"dane.test         dane\n"
	"mayp.test         may protocols=TLSv1.3\n"
	"encc.test         encrypt ciphers=high\n"
	"[smart.test]:587  encrypt\n"
	"relay.test        none\n";

static const struct {
	const char *nexthop, *level;
	int tls, chain, name, complete;
} cases[] = {
	{ "enc.test",         "encrypt",     1, 0, 0, 1 },
	{ "ENC.TEST",         "encrypt",     1, 0, 0, 1 },
	{ "may.test",         "may",         0, 0, 0, 1 },
	{ "none.test",        "none",        0, 0, 0, 1 },
	{ "ver.test",         "verify",      1, 1, 1, 1 },
	{ "verx.test",        "verify",      1, 1, 1, 0 },
	{ "vsni.test",        "verify",      1, 1, 1, 0 },
	{ "sec.test",         "secure",      1, 1, 1, 0 },
	{ "fp.test",          "fingerprint", 1, 0, 0, 0 },
	{ "dane.test",        "dane",        1, 0, 0, 0 },
	{ "mayp.test",        "may",         0, 0, 0, 0 },
	{ "encc.test",        "encrypt",     1, 0, 0, 0 },
	{ "[smart.test]:587", "encrypt",     1, 0, 0, 1 },
	{ "[smart.test]",     "verify",      1, 1, 1, 1 },  /* tls_security_level */
	{ "a.sec.test",       "verify",      1, 1, 1, 1 },  /* no ".sec.test" key */
	{ "other.test",       "verify",      1, 1, 1, 1 },
};

static void test_table(const char *conf)
{
	tlsrelay_status st;
	tlsrelay_ctx *ctx = tlsrelay_ctx_new();
	char name[300];

	tap_expect(1 + NROWS(cases) + 2);
	TAP_INT(tlsrelay_ctx_load_config(ctx, conf, 1, &st), TLSRELAY_OK, "load the configuration");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		tlsrelay_policy_info info;
		char got[600], want[128];

		memset(&info, 0, sizeof info);
		snprintf(name, sizeof name, "%s: level, tls, chain, name, complete", cases[i].nexthop);
		if (tlsrelay_policy_get(ctx, cases[i].nexthop, &info, &st) != TLSRELAY_OK)
			snprintf(got, sizeof got, "ERROR %s", st.text);
		else
			snprintf(got, sizeof got, "%s %d %d %d %d", info.level, info.tls_required,
			         info.verify_chain, info.verify_name, info.complete);
		snprintf(want, sizeof want, "%s %d %d %d %d", cases[i].level, cases[i].tls,
		         cases[i].chain, cases[i].name, cases[i].complete);
		check_str(got, want, name);
	}
	/* the relayhost is not applied: the caller routes */
	{
		tlsrelay_policy_info info;
		tlsrelay_policy_get(ctx, "relay.test", &info, &st);
		check_str(info.level, "none", "relay.test: the relayhost setting is not applied");
		tlsrelay_policy_get(ctx, "sec.test", &info, &st);
		TAP_INT(strstr(info.text, "secure match=nexthop:dot-nexthop (from ") == info.text &&
		        strstr(info.text, ":7 key sec.test)") != NULL, 1, "sec.test: text names the policy and its source");
	}
	tlsrelay_ctx_free(ctx);
}

/* mta_sts = yes: an MX destination without a map entry is never complete
 * (MTA-STS is decided at delivery, by the tlsrelay transport); a map entry
 * wins over MTA-STS (sts.h), and a [bracketed] nexthop gets no MTA-STS. */
static const struct {
	const char *nexthop, *level;
	int tls, chain, name, complete;
} sts_cases[] = {
	{ "other.test",       "verify",  1, 1, 1, 0 },   /* tls_security_level */
	{ "OTHER.TEST",       "verify",  1, 1, 1, 0 },
	{ "enc.test",         "encrypt", 1, 0, 0, 1 },   /* map entry */
	{ "none.test",        "none",    0, 0, 0, 1 },   /* map entry */
	{ "[smart.test]:587", "encrypt", 1, 0, 0, 1 },   /* map entry, bracketed */
	{ "[smart.test]",     "verify",  1, 1, 1, 1 },   /* bracketed: no MX */
	{ "[192.0.2.1]:25",   "verify",  1, 1, 1, 1 },
	{ "sec.test",         "secure",  1, 1, 1, 0 },   /* not complete anyway */
};

static void test_mta_sts(const char *conf)
{
	tlsrelay_status st;
	tlsrelay_ctx *ctx = tlsrelay_ctx_new();
	tlsrelay_policy_info info;
	char name[300];

	tap_expect(1 + NROWS(sts_cases) + 2);
	TAP_INT(tlsrelay_ctx_load_config(ctx, conf, 1, &st), TLSRELAY_OK, "mta_sts = yes: load the configuration");
	for (size_t i = 0; i < sizeof sts_cases / sizeof sts_cases[0]; i++) {
		char got[600], want[128];

		memset(&info, 0, sizeof info);
		snprintf(name, sizeof name, "mta_sts = yes, %s: level, tls, chain, name, complete",
		         sts_cases[i].nexthop);
		if (tlsrelay_policy_get(ctx, sts_cases[i].nexthop, &info, &st) != TLSRELAY_OK)
			snprintf(got, sizeof got, "ERROR %s", st.text);
		else
			snprintf(got, sizeof got, "%s %d %d %d %d", info.level, info.tls_required,
			         info.verify_chain, info.verify_name, info.complete);
		snprintf(want, sizeof want, "%s %d %d %d %d", sts_cases[i].level, sts_cases[i].tls,
		         sts_cases[i].chain, sts_cases[i].name, sts_cases[i].complete);
		check_str(got, want, name);
	}
	tlsrelay_policy_get(ctx, "other.test", &info, &st);
	check_str(info.text, "verify match=hostname (from tls_security_level) "
	          "[MTA-STS (mta_sts = yes) applies at delivery]",
	          "mta_sts = yes, other.test: the text says why it is not complete");
	tlsrelay_policy_get(ctx, "enc.test", &info, &st);
	TAP_INT(strstr(info.text, "MTA-STS") == NULL, 1, "mta_sts = yes, enc.test (map entry): no MTA-STS in the text");
	tlsrelay_ctx_free(ctx);
}

static void test_errors(const char *badmap_conf, const char *nomap_conf, const char *conf,
                        const char *missing)
{
	char want[600];
	tlsrelay_status st;
	tlsrelay_policy_info info;
	tlsrelay_ctx *ctx = tlsrelay_ctx_new();

	tap_expect(6 + 3 + 2);      /* bad arguments, a broken map, a missing map */
	tlsrelay_ctx_load_config(ctx, conf, 1, &st);
	TAP_INT(tlsrelay_policy_get(ctx, "bad nexthop", &info, &st), TLSRELAY_USAGE, "bad nexthop: USAGE");
	TAP_INT(strstr(st.text, "bad nexthop \"bad nexthop\": ") == st.text, 1, "bad nexthop: the text quotes it");
	TAP_INT(tlsrelay_policy_get(ctx, "", &info, &st), TLSRELAY_USAGE, "empty nexthop: USAGE");
	TAP_INT(tlsrelay_policy_get(ctx, NULL, &info, &st), TLSRELAY_USAGE, "NULL nexthop: USAGE");
	TAP_INT(tlsrelay_policy_get(ctx, "a.test", NULL, &st), TLSRELAY_USAGE, "NULL result: USAGE");
	TAP_INT(tlsrelay_policy_get(NULL, "a.test", &info, &st), TLSRELAY_USAGE, "NULL context: USAGE");
	tlsrelay_ctx_free(ctx);

	ctx = tlsrelay_ctx_new();
	tlsrelay_ctx_load_config(ctx, badmap_conf, 1, &st);
	TAP_INT(tlsrelay_policy_get(ctx, "a.test", &info, &st), TLSRELAY_CONFIG, "broken map: CONFIG");
	check_str(st.dsn, "4.3.5", "broken map: dsn 4.3.5");
	TAP_INT(strstr(st.text, ":1: unknown security level (the first word") != NULL, 1, "broken map: file:line: reason");
	tlsrelay_ctx_free(ctx);

	ctx = tlsrelay_ctx_new();
	tlsrelay_ctx_load_config(ctx, nomap_conf, 1, &st);
	TAP_INT(tlsrelay_policy_get(ctx, "a.test", &info, &st), TLSRELAY_CONFIG, "missing map: CONFIG");
	expand("FILE: cannot open: No such file or directory", missing, want, sizeof want);
	{
		char as[TR_AS_USER_MAX];
		snprintf(want + strlen(want), sizeof want - strlen(want), "%s", tr_as_user(as));
	}
	check_str(st.text, want, "missing map: FILE: cannot open: reason (as user ...)");
	tlsrelay_ctx_free(ctx);
}

/* A configuration that points at map (or at a missing file), plus extra
 * lines. */
static void write_conf_x(const char *prefix, const char *map, const char *extra,
                         char *path, size_t cap)
{
	char text[800];

	snprintf(text, sizeof text, "tls_security_level = verify\nrelayhost = [relay.test]\n"
	         "tls_policy_map = %s\nsasl_password_map = %s/no-such-sasl-map\n%s", map, tmpdir,
	         extra);
	if (write_temp(prefix, text, strlen(text), path, cap) < 0) {
		printf("Bail out! cannot write %s in %s\n", prefix, tmpdir);
		exit(1);
	}
}

static void write_conf(const char *prefix, const char *map, char *path, size_t cap)
{
	write_conf_x(prefix, map, "", path, cap);
}

int main(void)
{
	char map[256], badmap[256], conf[256], badconf[256], noconf[256], stsconf[256], missing[300];
	static const char bad[] = "a.test bogus\n";

	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_policy_api.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	if (write_temp("map", map_text, strlen(map_text), map, sizeof map) < 0 ||
	    write_temp("badmap", bad, strlen(bad), badmap, sizeof badmap) < 0) {
		printf("Bail out! cannot write maps in %s\n", tmpdir);
		return 1;
	}
	snprintf(missing, sizeof missing, "%s/no-such-map", tmpdir);
	write_conf("conf", map, conf, sizeof conf);
	write_conf("badconf", badmap, badconf, sizeof badconf);
	write_conf("noconf", missing, noconf, sizeof noconf);
	/* the cache does not exist and is never opened (nor created) */
	write_conf_x("stsconf", map, "mta_sts = yes\nmta_sts_cache = /nonexistent/sts.db\n",
	             stsconf, sizeof stsconf);
	test_table(conf);     /* also: sasl_password_map (missing) is never read */
	test_mta_sts(stsconf);
	test_errors(badconf, noconf, conf, missing);
	unlink(map); unlink(badmap); unlink(conf); unlink(badconf); unlink(noconf); unlink(stsconf);
	rmdir(tmpdir);
	return tap_done();
}

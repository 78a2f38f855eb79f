/*
 * test_no_echo.c - no file parser puts the text of a line it could not
 * parse into its error (security issue 13): tlsrelay.conf
 * (settings_file.c, settings.c, nexthop.c), the policy map (policy.c,
 * policy_value.c), the SASL password map (sasl.c) and the milter's rules
 * file (msgrules.c).
 *
 * Each case is a file whose bad line holds the token SECRET, in the place
 * a value, a malformed key or a line from another file (a password map
 * given by mistake, a shadow line) would hold a secret. The error names
 * FILE:LINE and the problem (want: the text after "FILE:LINE: ", a
 * prefix) and nothing of the token, both when the file is loaded and in
 * check mode (tlsrelay -t) where the parser has one. A last case pins the
 * one thing still quoted: a setting name made of name characters.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "msgrules.h"
#include "policy.h"
#include "sasl.h"
#include "settings.h"
#include "status.h"
#include "tap.h"
#include "testutil.h"

#define SECRET "S3cr3tT0ken"
/* Any 6 bytes of it in a row, in any case, would be a leak too. */
static const char *const pieces[] = { "S3cr3t", "3cr3tT", "cr3tT0", "r3tT0k", "3tT0ke", "tT0ken" };

enum parser { CONF, POLICY, SASL, RULES };

static const struct {
	const char *name;
	enum parser parser;
	const char *data;
	int line;
	const char *want;       /* what follows "FILE:LINE: " (a prefix) */
} cases[] = {
	{ "conf: a line without =", CONF, "syslog = no\n" SECRET "-no-equals\n", 2,
	  "expected \"name = value\" (no \"=\" in the line)" },
	{ "conf: a password map line (base64 ends in =)", CONF,
	  "[smtp.example.com]:587 user:" SECRET "=\n", 1, "bad setting name (character 1)" },
	{ "conf: a shadow line", CONF, "root:$6$" SECRET ":19000:0:99999:7:::\n", 1,
	  "expected \"name = value\"" },
	{ "conf: a bad name", CONF, "user:" SECRET " = x\n", 1, "bad setting name (character 5)" },
	{ "conf: a bad helo_name", CONF, "helo_name = " SECRET "!\n", 1,
	  "bad value for helo_name: expected a host name" },
	{ "conf: a bad relayhost", CONF, "relayhost = [" SECRET "\n", 1,
	  "bad value for relayhost: unbalanced brackets" },
	{ "conf: a bad relayhost host", CONF, "relayhost = " SECRET "@x\n", 1,
	  "bad value for relayhost: bad host name" },
	{ "conf: a bad relayhost port", CONF, "relayhost = x.example:" SECRET "\n", 1,
	  "bad value for relayhost: bad port" },
	{ "conf: a bad dns_resolver port", CONF, "dns_resolver = 127.0.0.1:" SECRET "\n", 1,
	  "bad value for dns_resolver: bad port: expected 1-65535" },
	{ "conf: a bad level", CONF, "tls_security_level = " SECRET "\n", 1,
	  "bad value for tls_security_level: expected one of" },
	{ "conf: a bad number", CONF, "mx_address_limit = " SECRET "\n", 1,
	  "bad value for mx_address_limit" },
	{ "conf: a control byte", CONF, "helo_name = " SECRET "\001\n", 1,
	  "bad value for helo_name: control character in value" },
	{ "policy: a password map line", POLICY, "[smtp.example.com]:587 user:" SECRET "\n", 1,
	  "unknown security level (the first word of the policy" },
	{ "policy: a shadow line", POLICY, "root:$6$" SECRET ":19000:0:99999:7:::\n", 1,
	  "bad key (the first field)" },
	{ "policy: a bad key alone", POLICY, "example.com may\n" SECRET "!\n", 2,
	  "bad key (the first field): bad host name" },
	{ "policy: a bad key, IPv6", POLICY, "2001:db8::" SECRET " may\n", 1,
	  "bad key (the first field): too many \":\"" },
	{ "policy: a word without =", POLICY, "example.com may " SECRET "\n", 1,
	  "malformed attribute (word 2 of the policy)" },
	{ "policy: an unknown attribute", POLICY, "example.com may " SECRET "=1\n", 1,
	  "unknown attribute (word 2 of the policy" },
	{ "policy: a bad fingerprint", POLICY, "example.com fingerprint match=" SECRET "\n", 1,
	  "bad fingerprint (match= item 1)" },
	{ "policy: a bad match name", POLICY, "example.com verify match=hostname:" SECRET "!\n", 1,
	  "bad match name (match= item 2)" },
	{ "policy: bad protocols", POLICY, "example.com may protocols=" SECRET "\n", 1,
	  "bad protocols=: unknown protocol" },
	{ "policy: bad ciphers", POLICY, "example.com may ciphers=" SECRET "\n", 1,
	  "bad ciphers=: expected high or medium" },
	{ "policy: bad servername", POLICY, "example.com may servername=" SECRET "!\n", 1,
	  "bad servername=: expected hostname" },
	{ "policy: in a continuation line", POLICY, "example.com verify\n  match=" SECRET "!\n", 1,
	  "bad match name (match= item 1)" },
	{ "sasl: no colon in the value", SASL, "[smtp.example.com]:587 " SECRET "\n", 1,
	  "expected user:password for key \"[smtp.example.com]:587\"" },
	{ "sasl: a shadow line", SASL, "root:$6$" SECRET ":19000:0:99999:7:::\n", 1, "bad key" },
	{ "sasl: a secret as the key", SASL, SECRET "!:x user:pass\n", 1, "bad key" },
	{ "rules: a bad level", RULES, "from a@b.example " SECRET "\n", 1,
	  "unknown level (the last field" },
	{ "rules: a bad type", RULES, SECRET " a@b.example encrypt\n", 1,
	  "unknown rule type (the first field" },
	{ "rules: a shadow line", RULES, "root:$6$" SECRET ":19000:0:99999:7:::\n", 1,
	  "unknown rule type (the first field" },
	{ "rules: a bad address", RULES, "to " SECRET "@@b.example verify\n", 1,
	  "bad address pattern" },
	{ "rules: a bad header pattern", RULES, "header " SECRET " secure\n", 1,
	  "bad header pattern" },
	{ "rules: a bad header name", RULES, "header X " SECRET ": x secure\n", 1,
	  "bad header name" },
};

/* Check mode: what the parser reported. */
struct reported {
	char text[4096];
	int n;
};

static void collect(void *arg, const char *line)
{
	struct reported *r = arg;
	size_t used = strlen(r->text);

	snprintf(r->text + used, sizeof r->text - used, "%s\n", line);
	r->n++;
}

/* text: starts with path:line: want, holds no piece of SECRET. */
static void check_text(const char *text, const char *path, int line, const char *want,
                       const char *name, const char *mode)
{
	char pattern[512], prefix[512], label[320], diag[5000];
	int leak = 0;

	snprintf(label, sizeof label, "%s (%s): file:line and the problem", name, mode);
	snprintf(pattern, sizeof pattern, "FILE:%d: %s", line, want);
	expand(pattern, path, prefix, sizeof prefix);
	snprintf(diag, sizeof diag, "got: %s\nwant a prefix: %s", text, prefix);
	tap_ok(strncmp(text, prefix, strlen(prefix)) == 0, label, diag);
	for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++)
		leak |= strcasestr(text, pieces[i]) != NULL;
	snprintf(label, sizeof label, "%s (%s): nothing of the token", name, mode);
	snprintf(diag, sizeof diag, "got: %s", text);
	tap_ok(!leak, label, diag);
}

/* Load: the error text of the parser's load function. */
static void load(enum parser parser, const char *path, tlsrelay_status *st)
{
	tr_config cfg;

	st->text[0] = '\0';
	switch (parser) {
	case CONF:
		tr_config_init(&cfg);
		tr_config_load(&cfg, path, 1, st);
		tr_config_free(&cfg);
		break;
	case POLICY:
		tr_policy_map_free(tr_policy_map_load(path, st));
		break;
	case SASL:
		tr_sasl_map_free(tr_sasl_map_load(path, st));
		break;
	case RULES:
		tr_msgrules_free(tr_msgrules_load(path, st));
		break;
	}
}

/* Check mode, where the parser has one (tlsrelay -t); 0 otherwise. */
static int check_mode(enum parser parser, const char *path, struct reported *r)
{
	tr_config cfg;

	memset(r, 0, sizeof *r);
	switch (parser) {
	case CONF:
		tr_config_init(&cfg);
		tr_config_load_report(&cfg, path, collect, r, NULL, NULL);
		tr_config_free(&cfg);
		return 1;
	case POLICY:
		tr_policy_map_check(path, collect, r);
		return 1;
	case SASL:
		tr_sasl_map_check(path, collect, r);
		return 1;
	case RULES:
	default:
		return 0;
	}
}

static void test_cases(void)
{
	char path[128];
	tlsrelay_status st;
	struct reported r;

	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		/* the load: 3 checks; the check mode, where there is one: 3 */
		tap_expect(3 + (cases[c].parser != RULES ? 3 : 0));
		if (write_temp("f", cases[c].data, strlen(cases[c].data), path, sizeof path) != 0 ||
		    chmod(path, 0600) != 0) {
			tap_ok(0, cases[c].name, strerror(errno));
			continue;
		}
		load(cases[c].parser, path, &st);
		TAP_INT(st.cat, TLSRELAY_CONFIG, cases[c].name);
		check_text(st.text, path, cases[c].line, cases[c].want, cases[c].name, "load");
		if (check_mode(cases[c].parser, path, &r)) {
			TAP_INT(r.n, 1, cases[c].name);
			check_text(r.text, path, cases[c].line, cases[c].want, cases[c].name, "check");
		}
		unlink(path);
	}
}

/* A setting name of name characters is the key: quoted (bounded). */
static void test_key_quoted(void)
{
	static const char data[] = "tls_securty_level = " SECRET "\n";
	char path[128], want[256];
	tlsrelay_status st;
	tr_config cfg;

	tap_expect(1);
	if (write_temp("f", data, sizeof data - 1, path, sizeof path) != 0)
		return;
	tr_config_init(&cfg);
	tr_config_load(&cfg, path, 1, &st);
	tr_config_free(&cfg);
	expand("FILE:1: unknown setting \"tls_securty_level\"", path, want, sizeof want);
	check_str(st.text, want, "conf: an unknown setting name is quoted (the key), not its value");
	unlink(path);
}

int main(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_no_echo.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_cases();
	test_key_quoted();
	rmdir(tmpdir);
	return tap_done();
}

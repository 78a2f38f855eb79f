/*
 * test_config.c - settings (settings.c) and nexthop parsing (nexthop.c).
 *
 * Table-driven: every case names itself and states its exact outcome (the
 * stored value, or the exact error text).
 */
#include "config.h"
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "nexthop.h"
#include "settings.h"
#include "status.h"
#include "tap.h"
#include "testutil.h"

/* ------------------------------------------------------------- helpers */

/* The test's own map of keys to fields: it checks the library's table
 * (a wrong offsetof there shows up as a wrong stored value here). */
enum fkind { F_STR, F_INT, F_LEVEL };

static const struct field {
	const char *key;
	enum fkind kind;
	size_t off;
} fields[] = {
	{ "relayhost",          F_STR,   offsetof(tr_config, relayhost) },
	{ "helo_name",          F_STR,   offsetof(tr_config, helo_name) },
	{ "tls_security_level", F_LEVEL, offsetof(tr_config, tls_level) },
	{ "tls_ca_file",        F_STR,   offsetof(tr_config, tls_ca_file) },
	{ "tls_ca_path",        F_STR,   offsetof(tr_config, tls_ca_path) },
	{ "connect_timeout",    F_INT,   offsetof(tr_config, connect_timeout) },
	{ "command_timeout",    F_INT,   offsetof(tr_config, command_timeout) },
	{ "data_timeout",       F_INT,   offsetof(tr_config, data_timeout) },
	{ "deadline",           F_INT,   offsetof(tr_config, deadline) },
	{ "dns_resolver",       F_STR,   offsetof(tr_config, dns_resolver) },
	{ "spool_directory",    F_STR,   offsetof(tr_config, spool_directory) },
	{ "mx_address_limit",   F_INT,   offsetof(tr_config, mx_address_limit) },
	{ "mx_session_limit",   F_INT,   offsetof(tr_config, mx_session_limit) },
	{ "syslog",             F_INT,   offsetof(tr_config, use_syslog) },
	{ "use_chunking",       F_INT,   offsetof(tr_config, use_chunking) },
	{ "tls_policy_map",     F_STR,   offsetof(tr_config, tls_policy_map) },
	{ "sasl_password_map",  F_STR,   offsetof(tr_config, sasl_password_map) },
	{ "mta_sts",            F_INT,   offsetof(tr_config, mta_sts) },
	{ "mta_sts_cache",      F_STR,   offsetof(tr_config, mta_sts_cache) },
	{ "mta_sts_https_port", F_INT,   offsetof(tr_config, mta_sts_https_port) },
	{ "tls_session_cache",  F_STR,   offsetof(tr_config, tls_session_cache) },
	{ "tls_session_cache_timeout", F_INT, offsetof(tr_config, tls_session_cache_timeout) },
	{ "tls_session_cache_size", F_INT, offsetof(tr_config, tls_session_cache_size) },
	{ "require_header",     F_INT,   offsetof(tr_config, require_header) },
	{ "tls_required_enable", F_INT,  offsetof(tr_config, tls_required_enable) },
	{ "message_rules",      F_STR,   offsetof(tr_config, message_rules) },
	{ "milter_socket",      F_STR,   offsetof(tr_config, milter_socket) },
	{ "milter_rules",       F_STR,   offsetof(tr_config, milter_rules) },
	{ "syslog_name",        F_STR,   offsetof(tr_config, syslog_name) },
	{ "local_mta_ports",    F_INT,   offsetof(tr_config, local_mta_ports) }, /* the first */
	{ "connection_cache",   F_INT,   offsetof(tr_config, connection_cache) },
	{ "connection_cache_time_limit", F_INT, offsetof(tr_config, connection_cache_time_limit) },
	{ "connection_reuse_count_limit", F_INT, offsetof(tr_config, connection_reuse_count_limit) },
	{ "connection_reuse_time_limit", F_INT, offsetof(tr_config, connection_reuse_time_limit) },
	{ "tls_history",        F_STR,   offsetof(tr_config, tls_history) },
	{ "tls_history_days",   F_INT,   offsetof(tr_config, tls_history_days) },
	{ "tls_history_size_limit", F_INT, offsetof(tr_config, tls_history_size_limit) },
	{ "tls_shadow_security_level", F_LEVEL, offsetof(tr_config, tls_shadow_level) },
	{ "tls_shadow_policy_map", F_STR, offsetof(tr_config, tls_shadow_policy_map) },
	{ "metrics_listen",     F_STR,   offsetof(tr_config, metrics_listen) },
	{ "dnssec_self_test",   F_INT,   offsetof(tr_config, dnssec_self_test) },
	{ "dnssec_test_valid",  F_STR,   offsetof(tr_config, dnssec_test_valid) },
	{ "dnssec_test_bogus",  F_STR,   offsetof(tr_config, dnssec_test_bogus) },
	{ "shared_store",       F_STR,   offsetof(tr_config, shared_store) },
	{ "shared_store_password_file", F_STR, offsetof(tr_config, shared_store_password_file) },
	{ "shared_store_ca_file", F_STR, offsetof(tr_config, shared_store_ca_file) },
	{ "shared_store_timeout", F_INT, offsetof(tr_config, shared_store_timeout) },
	{ "shared_store_lease", F_INT,   offsetof(tr_config, shared_store_lease) },
	{ "message_size_limit", F_INT,   offsetof(tr_config, message_size_limit) },
};

#define NFIELDS (sizeof fields / sizeof fields[0])

static const struct field *find_field(const char *key)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (strcmp(fields[i].key, key) == 0)
			return &fields[i];
	return NULL;
}

/* The value of key in cfg as text: "(null)", "42" or a level name. */
static const char *render(const tr_config *cfg, const char *key, char *buf,
                          size_t cap)
{
	const struct field *f = find_field(key);
	const char *base = (const char *)cfg;

	if (f == NULL)
		snprintf(buf, cap, "(no such field)");
	else if (f->kind == F_STR) {
		const char *s = *(char *const *)(base + f->off);
		snprintf(buf, cap, "%s", s ? s : "(null)");
	} else if (f->kind == F_INT)
		snprintf(buf, cap, "%d", *(const int *)(base + f->off));
	else if (*(const tr_tls_level *)(base + f->off) == TR_TLS_INVALID)
		snprintf(buf, cap, "(unset)");
	else
		snprintf(buf, cap, "%s",
		         tr_tls_level_name(*(const tr_tls_level *)(base + f->off)));
	return buf;
}

/* All fields as one line, to check that a failed call changed nothing. */
static void render_all(const tr_config *cfg, char *buf, size_t cap)
{
	char one[TR_CONFIG_LINE_MAX + 8];
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NFIELDS && used < cap; i++)
		used += (size_t)snprintf(buf + used, cap - used, "%s=%s;",
		                         fields[i].key,
		                         render(cfg, fields[i].key, one, sizeof one));
}

/* Two renderings of a whole configuration must be equal. */
static void check_same(const char *before, const char *after, const char *name)
{
	tap_ok(strcmp(before, after) == 0, name, "the configuration changed");
}

/* ------------------------------------------------------------ defaults */

static void test_defaults(void)
{
	static const char want[] =
		"relayhost=(null);helo_name=(null);tls_security_level=may;"
		"tls_ca_file=(null);tls_ca_path=(null);connect_timeout=30;"
		"command_timeout=300;data_timeout=180;deadline=600;"
		"dns_resolver=(null);spool_directory=(null);mx_address_limit=5;"
		"mx_session_limit=2;syslog=1;use_chunking=1;"
	    "tls_policy_map=(null);sasl_password_map=(null);"
	    "mta_sts=0;mta_sts_cache=(null);mta_sts_https_port=443;"
		"tls_session_cache=(null);tls_session_cache_timeout=3600;"
		"tls_session_cache_size=1000;"
	    "require_header=1;tls_required_enable=0;message_rules=(null);milter_socket=(null);"
	    "milter_rules=(null);syslog_name=(null);local_mta_ports=25;connection_cache=1;"
	    "connection_cache_time_limit=2;connection_reuse_count_limit=100;"
	    "connection_reuse_time_limit=300;"
	    "tls_history=(null);tls_history_days=30;"
	    "tls_history_size_limit=67108864;tls_shadow_security_level=(unset);"
	    "tls_shadow_policy_map=(null);metrics_listen=(null);dnssec_self_test=1;"
	    "dnssec_test_valid=(null);dnssec_test_bogus=(null);shared_store=(null);"
	    "shared_store_password_file=(null);shared_store_ca_file=(null);"
	    "shared_store_timeout=50;shared_store_lease=600;message_size_limit=10240000;";
	tr_config cfg;
	char all[4096], name[128];
	int i;

	tap_expect(NFIELDS + 5);    /* one a key: the library has NFIELDS */
	tr_config_init(&cfg);
	render_all(&cfg, all, sizeof all);
	check_str(all, want, "tr_config_init sets every default");
	TAP_INT(cfg.tls_level, TR_TLS_MAY, "default tls_level is TR_TLS_MAY");
	for (i = 0; tr_config_key_name(i) != NULL; i++) {
		snprintf(name, sizeof name, "key %d (%s) is known to the test", i,
		         tr_config_key_name(i));
		tap_ok(find_field(tr_config_key_name(i)) != NULL, name, NULL);
	}
	TAP_INT(i, NFIELDS, "tr_config_key_name lists every key");
	tap_ok(tr_config_key_name(-1) == NULL, "tr_config_key_name(-1) is NULL", NULL);
	/* free forgets every string it frees, so a second free (and
	 * free(NULL)) does nothing: the defaults' rendering again */
	tr_config_set(&cfg, "relayhost", "[relay.example.test]:587", NULL, NULL);
	tr_config_set(&cfg, "spool_directory", "/var/spool/x", NULL, NULL);
	tr_config_free(&cfg);
	tr_config_free(&cfg);
	tr_config_free(NULL);
	render_all(&cfg, all, sizeof all);
	check_str(all, want, "tr_config_free twice and with NULL: every string setting NULL");
}

/* ---------------------------------------------------------- good values */

/* Set key (after pre, when not NULL) to value; want: the stored result. */
static const struct {
	const char *key, *pre, *value, *want;
} good_cases[] = {
	{ "relayhost", NULL, "[mail.example.com]:587", "[mail.example.com]:587" },
	{ "relayhost", NULL, "smtps:relay.example.net", "smtps:relay.example.net" },
	{ "relayhost", NULL, "[ipv6:2001:db8::1]", "[ipv6:2001:db8::1]" },
	{ "relayhost", "[a.example]", "", "(null)" },
	{ "relayhost", "[a.example]", NULL, "(null)" },
	{ "relayhost", "[a.example]", "b.example", "b.example" },
	{ "helo_name", NULL, "mx1.example.com", "mx1.example.com" },
	{ "helo_name", NULL, "localhost", "localhost" },
	{ "helo_name", NULL, "[192.0.2.7]", "[192.0.2.7]" },
	{ "helo_name", NULL, "[IPv6:2001:db8::7]", "[IPv6:2001:db8::7]" },
	{ "helo_name", "x.example", "", "(null)" },
	{ "tls_security_level", NULL, "none", "none" },
	{ "tls_security_level", NULL, "may", "may" },
	{ "tls_security_level", NULL, "encrypt", "encrypt" },
	{ "tls_security_level", NULL, "dane", "dane" },
	{ "tls_security_level", NULL, "dane-only", "dane-only" },
	{ "tls_ca_file", NULL, "/etc/ssl/certs/ca-certificates.crt",
	  "/etc/ssl/certs/ca-certificates.crt" },
	{ "tls_ca_file", NULL, "/nonexistent/ca.pem", "/nonexistent/ca.pem" },
	{ "tls_ca_path", NULL, "/etc/ssl/certs", "/etc/ssl/certs" },
	{ "connect_timeout", NULL, "45", "45" },
	{ "connect_timeout", NULL, "45s", "45" },
	{ "connect_timeout", NULL, "2m", "120" },
	{ "connect_timeout", NULL, "1h", "3600" },
	{ "connect_timeout", NULL, "1s", "1" },
	{ "command_timeout", NULL, "10m", "600" },
	{ "data_timeout", NULL, "90", "90" },
	{ "deadline", NULL, "10s", "10" },
	{ "deadline", NULL, "2h", "7200" },
	{ "deadline", NULL, "1d", "86400" },
	{ "dns_resolver", NULL, "127.0.0.1", "127.0.0.1" },
	{ "dns_resolver", NULL, "127.0.0.1:5353", "127.0.0.1:5353" },
	{ "dns_resolver", NULL, "192.0.2.53:053", "192.0.2.53:53" },
	{ "dns_resolver", NULL, "::1", "::1" },
	{ "dns_resolver", NULL, "[::1]", "::1" },
	{ "dns_resolver", NULL, "[::1]:5353", "[::1]:5353" },
	{ "dns_resolver", NULL, "2001:DB8:0:0::53", "2001:db8::53" },
	{ "dns_resolver", NULL, "[2001:db8::53]:53", "[2001:db8::53]:53" },
	{ "spool_directory", NULL, "/var/spool/tlsrelay", "/var/spool/tlsrelay" },
	{ "mx_address_limit", NULL, "1", "1" },
	{ "mx_address_limit", NULL, "50", "50" },
	{ "mx_address_limit", NULL, "007", "7" },
	{ "mx_session_limit", NULL, "1", "1" },
	{ "message_size_limit", NULL, "0", "0" },
	{ "message_size_limit", NULL, "1073741824", "1073741824" },
	{ "mx_session_limit", NULL, "10", "10" },
	{ "syslog", NULL, "no", "0" },
	{ "syslog", "no", "yes", "1" },
	{ "syslog", NULL, "NO", "0" },
	{ "use_chunking", NULL, "no", "0" },
	{ "use_chunking", "no", "Yes", "1" },
	{ "mta_sts", NULL, "yes", "1" },
	{ "mta_sts_cache", NULL, "/var/lib/tlsrelay/sts.db", "/var/lib/tlsrelay/sts.db" },
	{ "mta_sts_https_port", NULL, "8443", "8443" },
	{ "message_rules", NULL, "/etc/tlsrelay/milter_rules", "/etc/tlsrelay/milter_rules" },
	{ "connection_cache", NULL, "no", "0" },
	{ "connection_cache_time_limit", NULL, "1s", "1" },
	{ "connection_cache_time_limit", NULL, "5m", "300" },
	{ "connection_reuse_count_limit", NULL, "1", "1" },
	{ "connection_reuse_count_limit", NULL, "100000", "100000" },
	{ "connection_reuse_time_limit", NULL, "1d", "86400" },
	{ "tls_history", NULL, "/var/lib/tlsrelay/history.db", "/var/lib/tlsrelay/history.db" },
	{ "tls_history_days", NULL, "90", "90" },
	{ "tls_shadow_security_level", NULL, "secure", "secure" },
	{ "tls_shadow_security_level", "verify", "", "(unset)" },
	{ "metrics_listen", NULL, "127.0.0.1:9105", "127.0.0.1:9105" },
	{ "metrics_listen", NULL, "[::1]:9105", "[::1]:9105" },
	{ "metrics_listen", NULL, "unix:/run/tlsrelay/metrics.sock", "unix:/run/tlsrelay/metrics.sock" },
	{ "dnssec_test_valid", NULL, ".", "." },
	{ "dnssec_test_bogus", NULL, "bogus.dane.test.", "bogus.dane.test." },
	{ "dnssec_test_bogus", NULL, "_25._tcp.mx.dane.test", "_25._tcp.mx.dane.test" },
};

static void test_good_values(void)
{
	tlsrelay_status st;
	tr_config cfg;
	char buf[256], name[160];

	tap_expect(NROWS(good_cases) * 2 + 2);
	for (size_t c = 0; c < sizeof good_cases / sizeof good_cases[0]; c++) {
		const char *v = good_cases[c].value;
		tr_config_init(&cfg);
		if (good_cases[c].pre != NULL)
			tr_config_set(&cfg, good_cases[c].key, good_cases[c].pre,
			              NULL, &st);
		snprintf(name, sizeof name, "set %s = %s%s%s", good_cases[c].key,
		         v ? "\"" : "", v ? v : "NULL", v ? "\"" : "");
		TAP_INT(tr_config_set(&cfg, good_cases[c].key, v, "t:1", &st),
		        TLSRELAY_OK, name);
		check_str(render(&cfg, good_cases[c].key, buf, sizeof buf),
		          good_cases[c].want, name);
		tr_config_free(&cfg);
	}
	tr_config_init(&cfg);
	TAP_INT(tr_config_set(&cfg, "syslog", "no", NULL, NULL), TLSRELAY_OK,
	        "tr_config_set with st NULL");
	TAP_INT(cfg.use_syslog, 0, "tr_config_set with st NULL stores");
	tr_config_free(&cfg);
}

/* ----------------------------------------------------------- bad values */

#define TIME_WHY     "expected a time like 30s, 5m, 1h"
#define LEVELS       "none, may, encrypt, dane, dane-only, fingerprint, verify, secure"
#define RESOLVER_WHY "expected a numeric address: IP, IP:PORT, IPv6 or [IPv6]:PORT"
#define PATH_WHY     "expected an absolute path (starting with \"/\")"
#define HELO_WHY     "expected a host name (letters, digits, \"-\" and \".\") " \
                     "or an address literal like [192.0.2.1] or [IPv6:2001:db8::1]"
#define PORT_WHY     "expected 1-65535, smtp, submission, smtps or submissions"
#define CTRL_WHY     "control character in value"
#define INT50_WHY    "expected a number from 1 to 50"
#define TO_RANGE     "must be from 1s to 1h"
#define DL_RANGE     "must be from 10s to 1d"
#define CT           "connect_timeout: "
#define MXA          "mx_address_limit: "

/* Each is refused with exactly want (TLSRELAY_CONFIG, 4.3.5, no change). */
static const struct {
	const char *key, *value, *where, *want;
} bad_cases[] = {
	{ "relay_host", "x", "/etc/tlsrelay.conf:12",
	  "/etc/tlsrelay.conf:12: unknown setting \"relay_host\"" },
	{ "relay_host", "x", NULL, "unknown setting \"relay_host\"" },
	{ "a\nb", "x", NULL, "bad setting name: use lowercase letters, digits and \"_\"" },
	{ "", "x", NULL, "unknown setting \"\"" },
	{ NULL, "x", NULL, "unknown setting \"\"" },
	{ "connect_timeout", "5x", "/etc/tlsrelay.conf:3",
	  "/etc/tlsrelay.conf:3: bad value for connect_timeout: " TIME_WHY },
	{ "connect_timeout", "0", NULL, "bad value for " CT TO_RANGE },
	{ "connect_timeout", "-5s", NULL, "bad value for " CT TIME_WHY },
	{ "connect_timeout", "", NULL, "bad value for " CT TIME_WHY },
	{ "connect_timeout", "9999999999", NULL,
	  "bad value for " CT TO_RANGE },
	{ "connect_timeout", "2h", NULL, "bad value for " CT TO_RANGE },
	{ "connect_timeout", "5M", NULL, "bad value for " CT TIME_WHY },
	{ "command_timeout", "5 m", NULL,
	  "bad value for command_timeout: " TIME_WHY },
	{ "data_timeout", "3601", NULL,
	  "bad value for data_timeout: " TO_RANGE },
	{ "deadline", "9s", NULL, "bad value for deadline: " DL_RANGE },
	{ "deadline", "2d", NULL, "bad value for deadline: " DL_RANGE },
	{ "mx_address_limit", "0", NULL, "bad value for " MXA INT50_WHY },
	{ "mx_address_limit", "51", NULL, "bad value for " MXA INT50_WHY },
	{ "mx_address_limit", "-1", NULL, "bad value for " MXA INT50_WHY },
	{ "mx_address_limit", "5x", NULL, "bad value for " MXA INT50_WHY },
	{ "mx_address_limit", "99999999999999999999", NULL,
	  "bad value for " MXA INT50_WHY },
	{ "message_size_limit", "1073741825", NULL,
	  "bad value for message_size_limit: expected a number from 0 to 1073741824" },
	{ "mx_session_limit", "11", NULL,
	  "bad value for mx_session_limit: expected a number from 1 to 10" },
	{ "mx_session_limit", "", NULL,
	  "bad value for mx_session_limit: expected a number from 1 to 10" },
	{ "syslog", "maybe", NULL,
	  "bad value for syslog: expected yes or no" },
	{ "syslog", "", NULL, "bad value for syslog: expected yes or no" },
	{ "mta_sts", "enforce", NULL, "bad value for mta_sts: expected yes or no" },
	{ "connection_cache", "sometimes", NULL, "bad value for connection_cache: expected yes or no" },
	{ "connection_cache_time_limit", "301s", NULL,
	  "bad value for connection_cache_time_limit: must be from 1s to 5m" },
	{ "connection_reuse_count_limit", "0", NULL,
	  "bad value for connection_reuse_count_limit: expected a number from 1 to 100000" },
	{ "mta_sts_https_port", "0", NULL,
	  "bad value for mta_sts_https_port: expected a number from 1 to 65535" },
	{ "tls_security_level", "bogus", NULL, "bad value for "
	  "tls_security_level: expected one of: " LEVELS },
	{ "tls_security_level", "MAY", NULL, "bad value for "
	  "tls_security_level: expected one of: " LEVELS },
	{ "dns_resolver", "localhost", NULL,
	  "bad value for dns_resolver: " RESOLVER_WHY },
	{ "dns_resolver", "1.2.3.4:99999", NULL, "bad value for "
	  "dns_resolver: bad port: expected 1-65535" },
	{ "dns_resolver", "1.2.3.4:0", NULL, "bad value for "
	  "dns_resolver: bad port: expected 1-65535" },
	{ "dns_resolver", "1.2.3.4:", NULL, "bad value for "
	  "dns_resolver: bad port: expected 1-65535" },
	{ "dns_resolver", "[::1", NULL, "bad value for dns_resolver: "
	  RESOLVER_WHY },
	{ "dns_resolver", "[1.2.3.4]:53", NULL, "bad value for "
	  "dns_resolver: " RESOLVER_WHY },
	{ "dns_resolver", "1.2.3.4.5", NULL, "bad value for "
	  "dns_resolver: " RESOLVER_WHY },
	{ "tls_ca_file", "certs/ca.pem", NULL,
	  "bad value for tls_ca_file: " PATH_WHY },
	{ "tls_ca_path", "~/certs", NULL,
	  "bad value for tls_ca_path: " PATH_WHY },
	{ "spool_directory", "tmp", NULL,
	  "bad value for spool_directory: " PATH_WHY },
	{ "message_rules", "rules", NULL,
	  "bad value for message_rules: " PATH_WHY },
	{ "tls_history", "history.db", NULL, "bad value for tls_history: " PATH_WHY },
	{ "tls_history_days", "0", NULL,
	  "bad value for tls_history_days: expected a number from 1 to 3650" },
	{ "tls_shadow_security_level", "fingerprint", NULL, "tls_shadow_security_level: "
	  "level fingerprint needs match= digests: give it per destination in tls_policy_map" },
	{ "tls_shadow_security_level", "strict", NULL, "bad value for "
	  "tls_shadow_security_level: expected one of: " LEVELS },
	{ "metrics_listen", "0.0.0.0:9105", NULL, "bad value for metrics_listen: only a "
	  "loopback address (127.0.0.0/8, ::1) or a unix socket" },
	{ "metrics_listen", "192.0.2.1:9105", NULL, "bad value for metrics_listen: only a "
	  "loopback address (127.0.0.0/8, ::1) or a unix socket" },
	{ "metrics_listen", "127.0.0.1", NULL, "bad value for metrics_listen: expected "
	  "127.0.0.1:PORT, [::1]:PORT or unix:/PATH" },
	{ "metrics_listen", "unix:metrics.sock", NULL, "bad value for metrics_listen: "
	  "expected unix:/ABSOLUTE/PATH (at most 99 bytes)" },
	{ "dnssec_test_valid", "a..example", NULL, "bad value for dnssec_test_valid: "
	  "expected a DNS name (or \".\" for the root)" },
	{ "helo_name", "bad_name.example", NULL,
	  "bad value for helo_name: " HELO_WHY },
	{ "helo_name", "a..example", NULL,
	  "bad value for helo_name: " HELO_WHY },
	{ "helo_name", "-a.example", NULL,
	  "bad value for helo_name: " HELO_WHY },
	{ "helo_name", "[300.1.1.1]", NULL,
	  "bad value for helo_name: " HELO_WHY },
	{ "helo_name", "[2001:db8::1]", NULL,
	  "bad value for helo_name: " HELO_WHY },
	{ "helo_name", "a\tb", NULL, "bad value for helo_name: " CTRL_WHY },
	{ "spool_directory", "/var/\x7f", NULL,
	  "bad value for spool_directory: " CTRL_WHY },
	{ "relayhost", "2001:db8::1", NULL, "bad value for "
	  "relayhost: put IPv6 addresses in brackets: [ADDRESS]" },
	{ "relayhost", "[mail.example.com", NULL, "bad value "
	  "for relayhost: unbalanced brackets" },
	{ "relayhost", "mail.example.com:0", NULL, "bad value "
	  "for relayhost: bad port: " PORT_WHY },
};

static void test_bad_values(void)
{
	tlsrelay_status st;
	tr_config cfg;
	char before[4096], after[4096], name[160];

	tap_expect(NROWS(bad_cases) * 4);
	for (size_t c = 0; c < sizeof bad_cases / sizeof bad_cases[0]; c++) {
		tr_config_init(&cfg);
		render_all(&cfg, before, sizeof before);
		snprintf(name, sizeof name, "reject %s = \"%s\"",
		         bad_cases[c].key ? bad_cases[c].key : "NULL",
		         bad_cases[c].value);
		tr_sanitize_line(name);
		TAP_INT(tr_config_set(&cfg, bad_cases[c].key, bad_cases[c].value,
		                      bad_cases[c].where, &st), TLSRELAY_CONFIG, name);
		check_str(st.text, bad_cases[c].want, name);
		check_str(st.dsn, "4.3.5", name);
		render_all(&cfg, after, sizeof after);
		check_same(before, after, name);
		tr_config_free(&cfg);
	}
}

/* Long values: a bad one is not quoted; more than 4096 is refused. */
static void test_long_values(void)
{
	char value[TR_CONFIG_LINE_MAX + 2];
	tlsrelay_status st;
	tr_config cfg;

	tap_expect(5);
	tr_config_init(&cfg);
	memset(value, 'a', 100);
	value[100] = '\0';
	tr_config_set(&cfg, "helo_name", value, NULL, &st);
	check_str(st.text, "bad value for helo_name: " HELO_WHY,
	          "a long bad value is not quoted");

	value[0] = '/';
	memset(value + 1, 'd', TR_CONFIG_LINE_MAX - 1);
	value[TR_CONFIG_LINE_MAX] = '\0';
	TAP_INT(tr_config_set(&cfg, "spool_directory", value, NULL, &st),
	        TLSRELAY_OK, "a 4096-byte value is accepted");
	TAP_INT(cfg.spool_directory ? (long long)strlen(cfg.spool_directory) : -1,
	        TR_CONFIG_LINE_MAX, "a 4096-byte value is stored whole");
	value[TR_CONFIG_LINE_MAX] = 'd';
	value[TR_CONFIG_LINE_MAX + 1] = '\0';
	TAP_INT(tr_config_set(&cfg, "spool_directory", value, NULL, &st),
	        TLSRELAY_CONFIG, "a 4097-byte value is refused");
	check_str(st.text, "value for spool_directory is longer than 4096 bytes",
	        "a 4097-byte value: error text");
	tr_config_free(&cfg);
}

/* ------------------------------------------------------------ tr_parse_time */

static void test_parse_time(void)
{
	static const struct {
		const char *in;
		int rc, out;
	} cases[] = {
		{ "30", 0, 30 }, { "30s", 0, 30 }, { "5m", 0, 300 },
		{ "2h", 0, 7200 }, { "1d", 0, 86400 }, { "1w", 0, 604800 },
		{ "007", 0, 7 }, { "604800", 0, 604800 }, { "604800s", 0, 604800 },
		{ "10080m", 0, 604800 }, { "168h", 0, 604800 }, { "7d", 0, 604800 },
		{ "1s", 0, 1 },
		{ "604801", -1, 0 }, { "10081m", -1, 0 }, { "169h", -1, 0 },
		{ "8d", -1, 0 }, { "2w", -1, 0 },
		{ "0", -1, 0 }, { "0s", -1, 0 }, { "0w", -1, 0 },
		{ "-5s", -1, 0 }, { "+5", -1, 0 }, { "5x", -1, 0 }, { "", -1, 0 },
		{ "s", -1, 0 }, { "5ss", -1, 0 }, { "5 s", -1, 0 }, { " 5", -1, 0 },
		{ "5 ", -1, 0 }, { "5M", -1, 0 }, { "1.5h", -1, 0 }, { "0x10", -1, 0 },
		{ "9999999999", -1, 0 }, { "99999999999999999999999999", -1, 0 },
		{ "99999999999999999999999999s", -1, 0 },
	};
	char name[96];
	int out;

	tap_expect(NROWS(cases) * 2 + 1);
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		out = -7;
		snprintf(name, sizeof name, "tr_parse_time(\"%s\")", cases[c].in);
		TAP_INT(tr_parse_time(cases[c].in, &out), cases[c].rc, name);
		TAP_INT(out, cases[c].rc == 0 ? cases[c].out : -7, name);
	}
	TAP_INT(tr_parse_time(NULL, &out), -1, "tr_parse_time(NULL)");
}

/* --------------------------------------------------------------- nexthop */

/* Accepted: the parsed fields and the canonical form. */
static const struct {
	const char *in, *host;
	int port, mx, tls;
	const char *canon;
} nexthop_good[] = {
	{ "[mail.example.com]:587", "mail.example.com", 587, 0, 0,
	  "[mail.example.com]:587" },
	{ "[mail.example.com]", "mail.example.com", 25, 0, 0, "[mail.example.com]:25" },
	{ "example.com:2525", "example.com", 2525, 1, 0, "example.com:2525" },
	{ "example.com", "example.com", 25, 1, 0, "example.com:25" },
	{ "Example.COM", "Example.COM", 25, 1, 0, "Example.COM:25" },
	{ "smtp:[relay.example]:25", "relay.example", 25, 0, 0, "[relay.example]:25" },
	{ "smtp:example.net", "example.net", 25, 1, 0, "example.net:25" },
	{ "smtps:[relay.example]", "relay.example", 465, 0, 1,
	  "smtps:[relay.example]:465" },
	{ "smtps:relay.example", "relay.example", 465, 1, 1,
	  "smtps:relay.example:465" },
	{ "smtps:[relay.example]:10465", "relay.example", 10465, 0, 1,
	  "smtps:[relay.example]:10465" },
	{ "smtps:relay.example:submissions", "relay.example", 465, 1, 1,
	  "smtps:relay.example:465" },
	{ "[2001:db8::1]:25", "2001:db8::1", 25, 0, 0, "[2001:db8::1]:25" },
	{ "[2001:db8::1]", "2001:db8::1", 25, 0, 0, "[2001:db8::1]:25" },
	{ "[ipv6:2001:db8::1]", "2001:db8::1", 25, 0, 0, "[2001:db8::1]:25" },
	{ "[IPv6:2001:db8::1]:587", "2001:db8::1", 587, 0, 0, "[2001:db8::1]:587" },
	{ "smtps:[ipv6:::1]", "::1", 465, 0, 1, "smtps:[::1]:465" },
	{ "[192.0.2.10]:10025", "192.0.2.10", 10025, 0, 0, "[192.0.2.10]:10025" },
	{ "relay:submission", "relay", 587, 1, 0, "relay:587" },
	{ "relay:smtps", "relay", 465, 1, 0, "relay:465" },
	{ "relay:smtp", "relay", 25, 1, 0, "relay:25" },
	{ "relay:1", "relay", 1, 1, 0, "relay:1" },
	{ "relay:65535", "relay", 65535, 1, 0, "relay:65535" },
	{ "smtp:25", "smtp", 25, 1, 0, "smtp:25" },
	{ "smtps:587", "smtps", 587, 1, 0, "smtps:587" },
	{ "smtp:submission", "smtp", 587, 1, 0, "smtp:587" },
	{ "mx_1.example.com", "mx_1.example.com", 25, 1, 0, "mx_1.example.com:25" },
};

#define SPACE_WHY "space or control character in nexthop"

/* Refused, with exactly this reason. */
static const struct {
	const char *in, *err;
} nexthop_bad[] = {
	{ "", "empty nexthop" },
	{ "[]", "empty host" },
	{ "[]:25", "empty host" },
	{ ":25", "empty host" },
	{ "smtp:", "empty host" },
	{ "smtps:", "empty host" },
	{ "[ipv6:]", "empty host" },
	{ "[mail.example.com", "unbalanced brackets" },
	{ "mail.example.com]", "unbalanced brackets" },
	{ "[[a]]", "unbalanced brackets" },
	{ "[a]]", "unbalanced brackets" },
	{ "[a]x", "unexpected text after \"]\"" },
	{ "[a]:", "missing port after \":\"" },
	{ "relay:", "missing port after \":\"" },
	{ "relay:0", "bad port: " PORT_WHY },
	{ "relay:65536", "bad port: " PORT_WHY },
	{ "relay:abc", "bad port: " PORT_WHY },
	{ "relay:25x", "bad port: " PORT_WHY },
	{ "relay:-1", "bad port: " PORT_WHY },
	{ "relay:SMTP", "bad port: " PORT_WHY },
	{ "relay:99999999999999999999",
	  "bad port: " PORT_WHY },
	{ "mail example.com", SPACE_WHY },
	{ "relay\t", SPACE_WHY },
	{ "re\x01lay", SPACE_WHY },
	{ "relay\r\n", SPACE_WHY },
	{ "2001:db8::1", "put IPv6 addresses in brackets: [ADDRESS]" },
	{ "::1", "put IPv6 addresses in brackets: [ADDRESS]" },
	{ "2001:db8:1:2:3:4:5:6:25",
	  "put IPv6 addresses in brackets: [ADDRESS]:PORT" },
	{ "a:b:c", "too many \":\"" },
	{ "2001:db8::zz", "too many \":\"" },
	{ "[ipv6:zz::1]", "bad IPv6 address" },
	{ "[2001:db8::g]", "bad IPv6 address" },
	{ "ho/st", "bad host name" },
	{ "a..b", "bad host name" },
	{ ".example", "bad host name" },
	{ "example.", "bad host name" },
	{ "-a.example", "bad host name" },
	{ "user@example.com", "bad host name" },
};

static void test_nexthop(void)
{
	tr_nexthop nh, again;
	char err[256], text[TR_NEXTHOP_TEXT_MAX], name[128];

	tap_expect(NROWS(nexthop_good) * 7 + NROWS(nexthop_bad) * 3);
	for (size_t c = 0; c < sizeof nexthop_good / sizeof nexthop_good[0]; c++) {
		snprintf(name, sizeof name, "nexthop \"%s\"", nexthop_good[c].in);
		TAP_INT(tr_nexthop_parse(nexthop_good[c].in, &nh, err, sizeof err),
		        0, name);
		check_str(nh.host, nexthop_good[c].host, name);
		TAP_INT(nh.port, nexthop_good[c].port, name);
		TAP_INT(nh.mx_lookup, nexthop_good[c].mx, name);
		TAP_INT(nh.implicit_tls, nexthop_good[c].tls, name);
		check_str(tr_nexthop_format(&nh, text, sizeof text),
		          nexthop_good[c].canon, name);
		tap_ok(tr_nexthop_parse(text, &again, err, sizeof err) == 0 &&
		       strcmp(again.host, nh.host) == 0 && again.port == nh.port &&
		       again.mx_lookup == nh.mx_lookup &&
		       again.implicit_tls == nh.implicit_tls, name,
		       "canonical form does not parse back to the same nexthop");
	}
	for (size_t c = 0; c < sizeof nexthop_bad / sizeof nexthop_bad[0]; c++) {
		memset(&nh, 0x5a, sizeof nh);
		err[0] = '\0';
		snprintf(name, sizeof name, "nexthop \"%s\" refused",
		         nexthop_bad[c].in);
		tr_sanitize_line(name);
		TAP_INT(tr_nexthop_parse(nexthop_bad[c].in, &nh, err, sizeof err),
		        -1, name);
		check_str(err, nexthop_bad[c].err, name);
		tap_ok(nh.port == 0x5a5a5a5a, name, "*out changed on error");
	}
}

/* Host length bounds, NULL input, small buffers. */
static void test_nexthop_edges(void)
{
	char in[300], text[TR_NEXTHOP_TEXT_MAX], err[8];
	tr_nexthop nh;

	tap_expect(11);
	memset(in, 0, sizeof in);
	in[0] = '[';
	memset(in + 1, 'h', 255);
	strcpy(in + 256, "]:65535");
	TAP_INT(tr_nexthop_parse(in, &nh, NULL, 0), 0, "255-byte host accepted");
	TAP_INT(strlen(nh.host), 255, "255-byte host stored");
	nh.implicit_tls = 1;
	tr_nexthop_format(&nh, text, sizeof text);
	TAP_INT(strlen(text), 6 + 1 + 255 + 1 + 6, "longest canonical form fits");
	memset(in + 1, 'h', 256);
	strcpy(in + 257, "]");
	TAP_INT(tr_nexthop_parse(in, &nh, text, sizeof text), -1,
	        "256-byte host refused");
	check_str(text, "host name longer than 255 bytes", "256-byte host: error text");
	memset(in, 'h', 256);
	in[256] = '\0';
	TAP_INT(tr_nexthop_parse(in, &nh, text, sizeof text), -1,
	        "256-byte MX domain refused");
	TAP_INT(tr_nexthop_parse(NULL, &nh, text, sizeof text), -1, "NULL refused");
	check_str(text, "empty nexthop", "NULL: error text");
	TAP_INT(tr_nexthop_parse("a b", &nh, err, sizeof err), -1, "small err buffer");
	check_str(err, "space o", "small err buffer: truncated text");
	tr_nexthop_parse("[relay.example]:2525", &nh, NULL, 0);
	check_str(tr_nexthop_format(&nh, err, sizeof err), "[relay.",
	          "format truncates");
}

/* ----------------------------------------------------------------- files */

#define NUL_DATA "syslog = no\nhelo\0_name = x\n"

struct check {
	const char *key, *want;
};

#define NOCHECK { { NULL, NULL } }

/* Load data (must_exist 1); want: the error text with FILE for the file's
 * name ("" when OK); checks: stored values afterwards. */
static const struct {
	const char *name, *data;
	size_t len;                /* 0: strlen(data) */
	tlsrelay_cat cat;
	const char *want;          /* error text, FILE = the file's name */
	struct check checks[3];
} file_cases[] = {
	{ "comments, blank lines, white space",
	  "# tlsrelay.conf\n\n   # indented comment\n \t \n"
	  "relayhost = [smtp.example.com]:587\n\tconnect_timeout=45s   \n"
	  "helo_name =  mx.example.org\t\n", 0, TLSRELAY_OK, "",
	  { { "relayhost", "[smtp.example.com]:587" },
	    { "connect_timeout", "45" }, { "helo_name", "mx.example.org" } } },
	{ "CRLF line ends", "# c\r\nrelayhost = [a.example]\r\n\r\nsyslog = no\r\n",
	  0, TLSRELAY_OK, "",
	  { { "relayhost", "[a.example]" }, { "syslog", "0" } } },
	{ "no newline at the end", "deadline = 20m", 0, TLSRELAY_OK, "",
	  { { "deadline", "1200" } } },
	{ "value holding = and spaces",
	  "spool_directory = /var/spool/with = sign \n", 0, TLSRELAY_OK, "",
	  { { "spool_directory", "/var/spool/with = sign" } } },
	{ "repeated key: the last one wins",
	  "connect_timeout = 10\nrelayhost = [a.example]\nconnect_timeout = 20\n"
	  "relayhost = [b.example]\n", 0, TLSRELAY_OK, "",
	  { { "connect_timeout", "20" }, { "relayhost", "[b.example]" } } },
	{ "empty value unsets a string",
	  "relayhost = [a.example]\nrelayhost =\n", 0, TLSRELAY_OK, "",
	  { { "relayhost", "(null)" } } },
	{ "empty file", "", 0, TLSRELAY_OK, "",
	  { { "connect_timeout", "30" } } },
	{ "missing =", "syslog = yes\nrelayhost [a.example]\n", 0,
	  TLSRELAY_CONFIG,
	  "FILE:2: expected \"name = value\" (no \"=\" in the line)",
	  { { "syslog", "1" } } },
	{ "unknown key", "# c\n\nrelay_host = [a.example]\n", 0, TLSRELAY_CONFIG,
	  "FILE:3: unknown setting \"relay_host\"", NOCHECK },
	{ "bad value", "\n\nconnect_timeout = 5x\n", 0, TLSRELAY_CONFIG,
	  "FILE:3: bad value for connect_timeout: " TIME_WHY, NOCHECK },
	{ "# inside a value is not a comment",
	  "helo_name = mx.example # note\n", 0, TLSRELAY_CONFIG,
	  "FILE:1: bad value for helo_name: " HELO_WHY,
	  NOCHECK },
	{ "missing key", " = [a.example]\n", 0, TLSRELAY_CONFIG,
	  "FILE:1: missing setting name before \"=\"", NOCHECK },
	{ "bad key characters", "syslog = no\nRelay-Host = x\n", 0,
	  TLSRELAY_CONFIG, "FILE:2: bad setting name (character 1): use "
	  "lowercase letters, digits and \"_\"", NOCHECK },
	{ "key with a space", "relay host = x\n", 0, TLSRELAY_CONFIG,
	  "FILE:1: bad setting name (character 6): use lowercase letters, "
	  "digits and \"_\"", NOCHECK },
	{ "NUL byte", NUL_DATA, sizeof NUL_DATA - 1, TLSRELAY_CONFIG,
	  "FILE:2: NUL byte in line (not a text file?)", NOCHECK },
	{ "lone CR inside a value", "helo_name = a\rb\n", 0, TLSRELAY_CONFIG,
	  "FILE:1: bad value for helo_name: " CTRL_WHY, NOCHECK },
	{ "two CRs at the end", "helo_name = a\r\r\n", 0, TLSRELAY_CONFIG,
	  "FILE:1: bad value for helo_name: " CTRL_WHY, NOCHECK },
};

static void test_files(void)
{
	tlsrelay_status st;
	tr_config cfg;
	char path[128], want[1024], buf[256], name[256];

	for (size_t c = 0; c < sizeof file_cases / sizeof file_cases[0]; c++) {
		size_t len = file_cases[c].len, nkeys = 0;

		while (nkeys < 3 && file_cases[c].checks[nkeys].key)
			nkeys++;
		tap_expect(2 + (file_cases[c].cat != TLSRELAY_OK) + nkeys);
		if (len == 0)
			len = strlen(file_cases[c].data);
		if (write_temp("conf", file_cases[c].data, len, path,
		               sizeof path) != 0) {
			tap_ok(0, file_cases[c].name, strerror(errno));
			continue;
		}
		tr_config_init(&cfg);
		snprintf(name, sizeof name, "file: %s", file_cases[c].name);
		TAP_INT(tr_config_load(&cfg, path, 1, &st), file_cases[c].cat, name);
		expand(file_cases[c].want, path, want, sizeof want);
		check_str(st.text, want, name);
		if (file_cases[c].cat != TLSRELAY_OK)
			check_str(st.dsn, "4.3.5", name);
		for (size_t k = 0; k < 3 && file_cases[c].checks[k].key; k++)
			check_str(render(&cfg, file_cases[c].checks[k].key, buf,
			                 sizeof buf),
			          file_cases[c].checks[k].want, name);
		tr_config_free(&cfg);
		unlink(path);
	}
}

/* Line length limit: 4096 bytes without the line end. */
static void test_long_lines(void)
{
	static const char prefix[] = "spool_directory = /";
	size_t plen = sizeof prefix - 1, n = TR_CONFIG_LINE_MAX;
	char *data = malloc(n + 16), path[128], want[256];
	tlsrelay_status st;
	tr_config cfg;

	tap_expect(2 * 3 + 2 * 2);  /* accepted: 3 checks, refused: 2 */
	if (data == NULL)
		return;
	memcpy(data, prefix, plen);
	memset(data + plen, 'x', n - plen);
	for (int variant = 0; variant < 4; variant++) {
		/* 4096 bytes then: LF, CRLF, "x" LF (4097), "x" and no line end */
		static const char *const ends[] = { "\n", "\r\n", "x\n", "x" };
		static const char *const names[] = {
			"4096-byte line accepted", "4096-byte line with CRLF accepted",
			"4097-byte line refused", "4097-byte last line refused" };
		size_t len = n + strlen(ends[variant]);
		memcpy(data + n, ends[variant], strlen(ends[variant]));
		if (write_temp("conf", data, len, path, sizeof path) != 0)
			break;
		tr_config_init(&cfg);
		TAP_INT(tr_config_load(&cfg, path, 1, &st),
		        variant < 2 ? TLSRELAY_OK : TLSRELAY_CONFIG, names[variant]);
		if (variant < 2)
			TAP_INT(cfg.spool_directory ? strlen(cfg.spool_directory) : 0,
			        n - plen + 1, names[variant]);
		snprintf(want, sizeof want, "%s:1: line longer than 4096 bytes", path);
		check_str(st.text, variant < 2 ? "" : want, names[variant]);
		tr_config_free(&cfg);
		unlink(path);
	}
	free(data);
}

/* Missing file, a directory, a bad file: the configuration is unchanged. */
static void test_load_errors(void)
{
	char as[TR_AS_USER_MAX];
	static const char data[] = "relayhost = [new.example]\nsyslog = no\n"
	                           "bogus = 1\n";
	char path[128], want[256], before[4096], after[4096];
	tlsrelay_status st;
	tr_config cfg;

	tap_expect(9);
	tr_config_init(&cfg);
	tr_config_set(&cfg, "relayhost", "[keep.example]", NULL, &st);
	tr_config_set(&cfg, "tls_ca_file", "/etc/ca.pem", NULL, &st);
	render_all(&cfg, before, sizeof before);
	snprintf(path, sizeof path, "%s/missing.conf", tmpdir);
	TAP_INT(tr_config_load(&cfg, path, 0, &st), TLSRELAY_OK,
	        "missing file, must_exist 0: ok");
	check_str(st.text, "", "missing file, must_exist 0: no text");
	TAP_INT(tr_config_load(&cfg, path, 1, &st), TLSRELAY_CONFIG,
	        "missing file, must_exist 1: error");
	snprintf(want, sizeof want, "%s: cannot open: %s%s", path, strerror(ENOENT), tr_as_user(as));
	check_str(st.text, want, "missing file, must_exist 1: text");
	check_str(st.dsn, "4.3.5", "missing file, must_exist 1: dsn");
	TAP_INT(tr_config_load(&cfg, tmpdir, 0, &st), TLSRELAY_CONFIG,
	        "a directory: error even with must_exist 0");
	snprintf(want, sizeof want, "%s: read error: %s", tmpdir, strerror(EISDIR));
	check_str(st.text, want, "a directory: text");
	if (write_temp("conf", data, sizeof data - 1, path, sizeof path) == 0) {
		TAP_INT(tr_config_load(&cfg, path, 1, &st), TLSRELAY_CONFIG,
		        "bad line 3 after good lines: error");
		unlink(path);
	}
	render_all(&cfg, after, sizeof after);
	check_same(before, after, "failed loads leave the configuration as it was");
	tr_config_free(&cfg);
}

int main(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_configXXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	test_defaults();
	test_good_values();
	test_bad_values();
	test_long_values();
	test_parse_time();
	test_nexthop();
	test_nexthop_edges();
	test_files();
	test_long_lines();
	test_load_errors();
	rmdir(tmpdir);
	return tap_done();
}

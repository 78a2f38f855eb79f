/*
 * settings.c - the table of settings and the reader of
 * "key = value" configuration files (see settings.h); the syntaxes of
 * values are settings_value.c.
 *
 * Every setting is one row of the settings[] table: name, kind of value,
 * where it lives in tr_config, its default and its bounds or validation
 * function. Nothing else in this file names a particular setting.
 */
#include "config.h"
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "buf.h"
#include "nexthop.h"
#include "settings.h"
#include "settings_value.h"
#include "dns.h"
#include "status.h"

#define NOMEM_DSN    "4.3.0"
#define NAME_CHARS   "abcdefghijklmnopqrstuvwxyz0123456789_"
#define WEEK         (7 * 86400)

/* Validation of a string value (never empty here). Returns 0 when value is
 * good, possibly writing a normalised form to norm (left "" to keep value
 * as is); -1 with the reason in why. */
typedef int (*check_fn)(const char *value, char *norm, size_t ncap,
                        char *why, size_t wcap);

enum kind {
	K_STRING,   /* char *, "" = unset (NULL); check validates */
	K_TIME,     /* int seconds, tr_parse_time syntax, min..max */
	K_INT,      /* int, decimal digits, min..max */
	K_BOOL,     /* int, yes|no */
	K_LEVEL,    /* tr_tls_level, a supported level name */
	K_PORTS,    /* int[TR_PORTS_MAX] + count just after it; "" = none */
	K_LEVEL_OPT /* the same, or "" = unset (TR_TLS_INVALID) */
};

/* Security settings (tr_config_strength): how a value ranks. */
enum sec {
	SEC_NO = 0, /* not one */
	SEC_UP,     /* K_LEVEL, K_BOOL: the larger value is the stronger */
	SEC_DOWN,   /* K_BOOL: "no" is the stronger ("yes" relaxes) */
	SEC_SET     /* K_STRING: a value is stronger than none */
};

struct setting {
	const char *name;
	enum kind kind;
	size_t offset;        /* of the field in tr_config */
	const char *def;      /* default as written in a file; NULL for K_STRING */
	int min, max;         /* K_TIME, K_INT */
	check_fn check;       /* K_STRING; NULL = any text */
};


#define AT(field) offsetof(tr_config, field)

/* name, kind, field, default, min, max, check */
static const struct setting settings[] = {
	{ "relayhost", K_STRING, AT(relayhost), NULL, 0, 0, tr_check_nexthop },
	{ "helo_name", K_STRING, AT(helo_name), NULL, 0, 0, tr_check_helo },
	{ "tls_security_level", K_LEVEL, AT(tls_level), "may", 0, 0, NULL },
	{ "tls_ca_file", K_STRING, AT(tls_ca_file), NULL, 0, 0, tr_check_path },
	{ "tls_ca_path", K_STRING, AT(tls_ca_path), NULL, 0, 0, tr_check_path },
	{ "connect_timeout", K_TIME, AT(connect_timeout), "30s", 1, 3600, NULL },
	{ "command_timeout", K_TIME, AT(command_timeout), "300s", 1, 3600, NULL },
	{ "data_timeout", K_TIME, AT(data_timeout), "180s", 1, 3600, NULL },
	{ "deadline", K_TIME, AT(deadline), "600s", 10, 86400, NULL },
	{ "dns_resolver", K_STRING, AT(dns_resolver), NULL, 0, 0, tr_check_resolver },
	{ "spool_directory", K_STRING, AT(spool_directory), NULL, 0, 0, tr_check_path },
	{ "mx_address_limit", K_INT, AT(mx_address_limit), "5", 1, 50, NULL },
	{ "mx_session_limit", K_INT, AT(mx_session_limit), "2", 1, 10, NULL },
	{ "syslog", K_BOOL, AT(use_syslog), "yes", 0, 0, NULL },
	{ "use_chunking", K_BOOL, AT(use_chunking), "yes", 0, 0, NULL },
	{ "tls_policy_map", K_STRING, AT(tls_policy_map), NULL, 0, 0, tr_check_path },
	{ "sasl_password_map", K_STRING, AT(sasl_password_map), NULL, 0, 0, tr_check_path },
	{ "mta_sts", K_BOOL, AT(mta_sts), "no", 0, 0, NULL },
	{ "mta_sts_cache", K_STRING, AT(mta_sts_cache), NULL, 0, 0, tr_check_path },
	/* a test seam (doc/DESIGN.md "Status convention"): weakens nothing */
	{ "mta_sts_https_port", K_INT, AT(mta_sts_https_port), "443", 1, 65535, NULL },
	{ "tls_session_cache", K_STRING, AT(tls_session_cache), NULL, 0, 0, tr_check_path },
	{ "tls_session_cache_timeout", K_TIME, AT(tls_session_cache_timeout), "3600s", 1, 604800, NULL },
	{ "tls_session_cache_size", K_INT, AT(tls_session_cache_size), "1000", 1, 100000, NULL },
	/* milter: per-message requirements (msgreq.h, tlsrelay-milter(8)) */
	{ "require_header", K_BOOL, AT(require_header), "yes", 0, 0, NULL },
	{ "tls_required_enable", K_BOOL, AT(tls_required_enable), "no", 0, 0, NULL },
	{ "message_rules", K_STRING, AT(message_rules), NULL, 0, 0, tr_check_path },
	{ "milter_socket", K_STRING, AT(milter_socket), NULL, 0, 0, NULL },
	{ "milter_rules", K_STRING, AT(milter_rules), NULL, 0, 0, tr_check_path },
	/* h-admin: the logging name (several instances), loop detection */
	{ "syslog_name", K_STRING, AT(syslog_name), NULL, 0, 0, tr_check_syslog_name },
	{ "local_mta_ports", K_PORTS, AT(local_mta_ports), "25", 1, 65535, NULL },
	/* h-reuse: connection reuse in tlsrelayd (conn_cache.h) */
	{ "connection_cache", K_BOOL, AT(connection_cache), "yes", 0, 0, NULL },
	{ "connection_cache_time_limit", K_TIME, AT(connection_cache_time_limit), "2s", 1, 300, NULL },
	{ "connection_reuse_count_limit", K_INT, AT(connection_reuse_count_limit), "100", 1, 100000, NULL },
	{ "connection_reuse_time_limit", K_TIME, AT(connection_reuse_time_limit), "300s", 1, 86400, NULL },
	/* h-ops: TLS history, shadow policy, metrics, resolver self-test
	 * (history.h, shadow.h, report.h, dnssec_check.h) */
	{ "tls_history", K_STRING, AT(tls_history), NULL, 0, 0, tr_check_path },
	{ "tls_history_days", K_INT, AT(tls_history_days), "30", 1, 3650, NULL },
	{ "tls_history_size_limit", K_INT, AT(tls_history_size_limit), "67108864", 1048576,
	  2000000000, NULL },
	{ "tls_shadow_security_level", K_LEVEL_OPT, AT(tls_shadow_level), "", 0, 0, NULL },
	{ "tls_shadow_policy_map", K_STRING, AT(tls_shadow_policy_map), NULL, 0, 0, tr_check_path },
	{ "metrics_listen", K_STRING, AT(metrics_listen), NULL, 0, 0, tr_check_metrics_listen },
	{ "dnssec_self_test", K_BOOL, AT(dnssec_self_test), "yes", 0, 0, NULL },
	{ "dnssec_test_valid", K_STRING, AT(dnssec_test_valid), NULL, 0, 0, tr_check_dns_name },
	{ "dnssec_test_bogus", K_STRING, AT(dnssec_test_bogus), NULL, 0, 0, tr_check_dns_name },
	/* h-fleet: the fleet store on Redis (fleet.h; checked by tlsrelay -t) */
	{ "shared_store", K_STRING, AT(shared_store), NULL, 0, 0, NULL },
	{ "shared_store_password_file", K_STRING, AT(shared_store_password_file), NULL, 0, 0,
	  tr_check_path },
	{ "shared_store_ca_file", K_STRING, AT(shared_store_ca_file), NULL, 0, 0, tr_check_path },
	{ "shared_store_timeout", K_INT, AT(shared_store_timeout), "50", 5, 2000, NULL },
	{ "shared_store_lease", K_TIME, AT(shared_store_lease), "600s", 5, 86400, NULL },
	/* h-dsn: tlsrelayd's LMTP listener (plugin/daemon/lmtp.c); the maximum
	 * is TLSRELAY_MESSAGE_SIZE_HARD */
	{ "message_size_limit", K_INT, AT(message_size_limit), "10240000", 0, 1073741824, NULL },
};

#define NSETTINGS (sizeof settings / sizeof settings[0])

/* h-admin: the security settings (tr_config_strength; tlsrelay -t warns
 * when a later line lowers one). */
static const struct {
	const char *name;
	enum sec sec;
} security[] = {
	{ "tls_security_level", SEC_UP },
	{ "mta_sts", SEC_UP },
	{ "require_header", SEC_UP },
	{ "tls_required_enable", SEC_DOWN },
	{ "message_rules", SEC_SET },
};

_Static_assert(NSETTINGS <= TR_CONFIG_KEYS_MAX, "raise TR_CONFIG_KEYS_MAX");
/* K_PORTS: the count follows the array */
_Static_assert(offsetof(tr_config, nlocal_mta_ports) ==
               offsetof(tr_config, local_mta_ports) + TR_PORTS_MAX * sizeof(int),
               "nlocal_mta_ports must follow local_mta_ports");

/* ------------------------------------------------------------ error texts */



/* The value itself is never quoted (nor in why): the file may not be a
 * configuration file at all (a password map given by mistake), and an
 * error text ends up in logs and in the MTA's bounces. The setting's name
 * and file:line say where. */
static tlsrelay_cat bad_value(tlsrelay_status *st, const char *where,
                              const struct setting *k, const char *why)
{
	return tr_config_error(st, where, "bad value for %s: %s", k->name, why);
}

static tlsrelay_cat no_memory(tlsrelay_status *st)
{
	return tr_status_set(st, TLSRELAY_INTERNAL, NOMEM_DSN, "out of memory");
}

/* "1h", "10s": the largest unit that divides secs exactly. */
static const char *time_text(int secs, char *buf, size_t cap)
{
	static const struct {
		int secs;
		char unit;
	} units[] = { { WEEK, 'w' }, { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' } };
	size_t i;

	for (i = 0; i < sizeof units / sizeof units[0]; i++)
		if (secs % units[i].secs == 0)
			break;
	if (i == sizeof units / sizeof units[0])
		snprintf(buf, cap, "%ds", secs);
	else
		snprintf(buf, cap, "%d%c", secs / units[i].secs, units[i].unit);
	return buf;
}

/* ------------------------------------------------------- storing values */

static void *field(tr_config *cfg, const struct setting *k)
{
	return (char *)cfg + k->offset;
}

static const void *cfield(const tr_config *cfg, const struct setting *k)
{
	return (const char *)cfg + k->offset;
}

static tlsrelay_cat set_string(tr_config *cfg, const struct setting *k,
                               const char *value, const char *where,
                               tlsrelay_status *st)
{
	char **slot = field(cfg, k);
	char norm[128] = "", why[TLSRELAY_TEXT_MAX] = "";
	char *copy = NULL;

	if (*value != '\0') {
		if (k->check != NULL &&
		    k->check(value, norm, sizeof norm, why, sizeof why) != 0)
			return bad_value(st, where, k, why);
		if ((copy = strdup(norm[0] ? norm : value)) == NULL)
			return no_memory(st);
	}
	free(*slot);
	*slot = copy;
	return tr_status_ok(st);
}

static tlsrelay_cat set_number(tr_config *cfg, const struct setting *k,
                               const char *value, const char *where,
                               tlsrelay_status *st)
{
	char why[128], lo[16], hi[16];
	unsigned long v;
	const char *end;
	int n = 0, rc;

	if (k->kind == K_TIME) {
		rc = tr_time_parse(value, &n);
		if (rc == TR_PT_OK && (n < k->min || n > k->max))
			rc = TR_PT_RANGE;
		if (rc == TR_PT_SYNTAX)
			return bad_value(st, where, k,
			                 "expected a time like 30s, 5m, 1h");
		if (rc == TR_PT_RANGE) {
			snprintf(why, sizeof why, "must be from %s to %s",
			         time_text(k->min, lo, sizeof lo),
			         time_text(k->max, hi, sizeof hi));
			return bad_value(st, where, k, why);
		}
	} else {
		end = tr_scan_digits(value, (unsigned long)k->max, &v);
		if (end == value || *end != '\0' || v < (unsigned long)k->min ||
		    v > (unsigned long)k->max) {
			snprintf(why, sizeof why, "expected a number from %d to %d",
			         k->min, k->max);
			return bad_value(st, where, k, why);
		}
		n = (int)v;
	}
	*(int *)field(cfg, k) = n;
	return tr_status_ok(st);
}

static tlsrelay_cat set_bool(tr_config *cfg, const struct setting *k,
                             const char *value, const char *where,
                             tlsrelay_status *st)
{
	int *slot = field(cfg, k);

	if (strcasecmp(value, "yes") == 0)
		*slot = 1;
	else if (strcasecmp(value, "no") == 0)
		*slot = 0;
	else
		return bad_value(st, where, k, "expected yes or no");
	return tr_status_ok(st);
}

static tlsrelay_cat set_level(tr_config *cfg, const struct setting *k,
                              const char *value, const char *where,
                              tlsrelay_status *st)
{
	char list[128], why[160];
	tr_tls_level lv = tr_tls_level_from_name(value);

	if (k->kind == K_LEVEL_OPT && *value == '\0') {
		*(tr_tls_level *)field(cfg, k) = TR_TLS_INVALID;
		return tr_status_ok(st);
	}
	if (lv == TR_TLS_INVALID) {
		snprintf(why, sizeof why, "expected one of: %s", tr_tls_level_list(list, sizeof list));
		return bad_value(st, where, k, why);
	}
	if (lv == TR_TLS_FINGERPRINT)   /* no digests here: could never succeed */
		return tr_config_error(st, where, "%s: level fingerprint needs match= digests: "
		                 "give it per destination in tls_policy_map", k->name);
	*(tr_tls_level *)field(cfg, k) = lv;
	return tr_status_ok(st);
}

/* "25", "25, 587", "25 10025": ports min..max, at most TR_PORTS_MAX; ""
 * for none. */
static tlsrelay_cat set_ports(tr_config *cfg, const struct setting *k,
                              const char *value, const char *where,
                              tlsrelay_status *st)
{
	int ports[TR_PORTS_MAX], n = 0;
	char why[128];
	const char *p = value;

	for (;;) {
		unsigned long v;
		const char *end;

		p += strspn(p, ", ");
		if (*p == '\0')
			break;
		end = tr_scan_digits(p, (unsigned long)k->max, &v);
		if (end == p || (*end != '\0' && *end != ',' && *end != ' ') ||
		    v < (unsigned long)k->min || v > (unsigned long)k->max || n == TR_PORTS_MAX) {
			snprintf(why, sizeof why, "expected port numbers from %d to %d separated "
			         "by \",\" or spaces, at most %d", k->min, k->max, TR_PORTS_MAX);
			return bad_value(st, where, k, why);
		}
		ports[n++] = (int)v;
		p = end;
	}
	memcpy(field(cfg, k), ports, sizeof ports);
	((int *)field(cfg, k))[TR_PORTS_MAX] = n;
	return tr_status_ok(st);
}

static tlsrelay_cat set_value(tr_config *cfg, const struct setting *k,
                              const char *value, const char *where,
                              tlsrelay_status *st)
{
	switch (k->kind) {
	case K_STRING:
		return set_string(cfg, k, value, where, st);
	case K_TIME:
	case K_INT:
		return set_number(cfg, k, value, where, st);
	case K_BOOL:
		return set_bool(cfg, k, value, where, st);
	case K_PORTS:
		return set_ports(cfg, k, value, where, st);
	case K_LEVEL:
	default:
		return set_level(cfg, k, value, where, st);
	}
}

/* set_value, and the origin of the value (where, or "-o"); cfg is left
 * as it was on failure. */
static tlsrelay_cat set_with_origin(tr_config *cfg, const struct setting *k,
                                    const char *value, const char *where,
                                    tlsrelay_status *st)
{
	char **slot = &cfg->origin[k - settings];
	char *origin = strdup(where ? where : "-o");

	if (origin == NULL)
		return no_memory(st);
	if (set_value(cfg, k, value, where, st) != TLSRELAY_OK) {
		free(origin);
		return st->cat;
	}
	free(*slot);
	*slot = origin;
	return TLSRELAY_OK;
}

static const struct setting *find_setting(const char *name)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].name, name) == 0)
			return &settings[i];
	return NULL;
}

tlsrelay_cat tr_config_set(tr_config *cfg, const char *key, const char *value,
                           const char *where, tlsrelay_status *st)
{
	const struct setting *k;
	char q[TR_QUOTE_MAX + 4];

	if (key == NULL)
		key = "";
	if (value == NULL)
		value = "";
	if ((k = find_setting(key)) == NULL && key[strspn(key, NAME_CHARS)] != '\0')
		return tr_config_error(st, where, "bad setting name: use lowercase letters, "
		                 "digits and \"_\"");
	if (k == NULL)   /* a key of name characters is quoted (bounded) */
		return tr_config_error(st, where, "unknown setting \"%s\"", tr_quote(key, q));
	if (strlen(value) > TR_CONFIG_LINE_MAX)
		return tr_config_error(st, where, "value for %s is longer than %d bytes",
		                 k->name, TR_CONFIG_LINE_MAX);
	for (const char *p = value; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return bad_value(st, where, k,
			                 "control character in value");
	return set_with_origin(cfg, k, value, where, st);
}

const char *tr_config_key_name(int i)
{
	if (i < 0 || (size_t)i >= NSETTINGS)
		return NULL;
	return settings[i].name;
}

void tr_config_init(tr_config *cfg)
{
	tlsrelay_status st;
	tlsrelay_cat rc;

	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < NSETTINGS; i++) {
		if (settings[i].def == NULL)
			continue;
		rc = set_value(cfg, &settings[i], settings[i].def, NULL, &st);
		assert(rc == TLSRELAY_OK);   /* the table's defaults are valid */
		(void)rc;
	}
}

void tr_config_free(tr_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < NSETTINGS; i++) {
		if (settings[i].kind == K_STRING) {
			char **slot = field(cfg, &settings[i]);
			free(*slot);
			*slot = NULL;
		}
		free(cfg->origin[i]);
		cfg->origin[i] = NULL;
	}
}

tlsrelay_cat tr_config_copy(tr_config *dst, const tr_config *src, tlsrelay_status *st)
{
	size_t i;

	*dst = *src;
	for (i = 0; i < NSETTINGS; i++) {
		if (settings[i].kind == K_STRING)
			*(char **)field(dst, &settings[i]) = NULL;
		dst->origin[i] = NULL;
	}
	for (i = 0; i < NSETTINGS; i++) {
		char *const *from = cfield(src, &settings[i]);
		char **slot = field(dst, &settings[i]);

		if ((settings[i].kind == K_STRING && *from != NULL &&
		     (*slot = strdup(*from)) == NULL) ||
		    (src->origin[i] && (dst->origin[i] = strdup(src->origin[i])) == NULL)) {
			tr_config_free(dst);
			return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		}
	}
	return tr_status_ok(st);
}

/* ------------------------------------------------------- showing values */

const char *tr_config_value_text(const tr_config *cfg, int i, char *buf,
                                 size_t cap)
{
	const struct setting *k;
	const void *f;

	buf[0] = '\0';
	if (i < 0 || (size_t)i >= NSETTINGS)
		return buf;
	k = &settings[i];
	f = cfield(cfg, k);
	switch (k->kind) {
	case K_STRING:
		snprintf(buf, cap, "%s", *(char *const *)f ? *(char *const *)f : "");
		break;
	case K_TIME:
		time_text(*(const int *)f, buf, cap);
		break;
	case K_INT:
		snprintf(buf, cap, "%d", *(const int *)f);
		break;
	case K_BOOL:
		snprintf(buf, cap, "%s", *(const int *)f ? "yes" : "no");
		break;
	case K_PORTS: {
		tr_buf b;
		tr_buf_fixed(&b, buf, cap);
		for (int j = 0; j < ((const int *)f)[TR_PORTS_MAX]; j++)
			tr_buf_printf(&b, "%s%d", j ? ", " : "", ((const int *)f)[j]);
		break;
	}
	case K_LEVEL_OPT:
		if (*(const tr_tls_level *)f == TR_TLS_INVALID)
			break;
		/* fall through */
	case K_LEVEL:
	default:
		snprintf(buf, cap, "%s", tr_tls_level_name(*(const tr_tls_level *)f));
		break;
	}
	return buf;
}

int tr_config_is_default(const tr_config *cfg, int i)
{
	char now[TR_CONFIG_LINE_MAX + 1], def[TR_CONFIG_LINE_MAX + 1];
	tr_config d;

	if (i < 0 || (size_t)i >= NSETTINGS)
		return 1;
	tr_config_init(&d);
	tr_config_value_text(cfg, i, now, sizeof now);
	tr_config_value_text(&d, i, def, sizeof def);
	tr_config_free(&d);
	return strcmp(now, def) == 0;
}

/* ------------------------------------------------- origins, strengths */

int tr_config_key_index(const char *name)
{
	const struct setting *k = name ? find_setting(name) : NULL;

	return k ? (int)(k - settings) : -1;
}

const char *tr_config_origin(const tr_config *cfg, int i)
{
	if (i < 0 || (size_t)i >= NSETTINGS || cfg->origin[i] == NULL)
		return "default";
	return cfg->origin[i];
}

static enum sec sec_of(int i)
{
	if (i < 0 || (size_t)i >= NSETTINGS)
		return SEC_NO;
	for (size_t j = 0; j < sizeof security / sizeof security[0]; j++)
		if (strcmp(security[j].name, settings[i].name) == 0)
			return security[j].sec;
	return SEC_NO;
}

int tr_config_strength(const tr_config *cfg, int i)
{
	enum sec sec = sec_of(i);
	const struct setting *k;
	const void *f;

	if (sec == SEC_NO)
		return -1;
	k = &settings[i];
	f = cfield(cfg, k);
	switch (sec) {
	case SEC_SET:
		return *(char *const *)f != NULL;
	case SEC_DOWN:
		return !*(const int *)f;
	case SEC_UP:
	default:
		return k->kind == K_LEVEL ? (int)*(const tr_tls_level *)f : *(const int *)f;
	}
}

const char *tr_config_strength_text(const tr_config *cfg, int i, char *buf,
                                    size_t cap)
{
	if (tr_config_strength(cfg, i) < 0)
		snprintf(buf, cap, "?");
	else if (sec_of(i) == SEC_SET)
		snprintf(buf, cap, "%s", tr_config_strength(cfg, i) ? "a file" : "none");
	else
		tr_config_value_text(cfg, i, buf, cap);
	return buf;
}

int tr_config_local_mta_port(const tr_config *cfg, int port)
{
	for (int i = 0; i < cfg->nlocal_mta_ports; i++)
		if (cfg->local_mta_ports[i] == port)
			return 1;
	return 0;
}

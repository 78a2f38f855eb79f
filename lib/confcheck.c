/*
 * confcheck.c - what `tlsrelay -n` and `tlsrelay -t` print: the settings
 * that differ from their defaults, and every problem of the configuration
 * file and of the files it names.
 *
 * Decisions:
 * - -n prints "ORIGIN: key = value" for each setting whose value differs
 *   from the default, in the order of the settings table (postconf -n
 *   style); with all set, every setting (postconf -d style). ORIGIN is
 *   where the value comes from: "FILE:LINE" of the line that set it last
 *   (the same "file:line: " form as every -t line), "-o", or "default".
 * - -t never stops at the first problem: each goes to the caller as one
 *   "file[:line]: reason" line, and the count decides the exit status. It
 *   reads the files the way delivery will (same parsers), as the user that
 *   runs it: run it as the pipe(8) user to see what delivery will see.
 * - The CA file is loaded with OpenSSL (a file without a certificate is a
 *   problem); a CA directory must exist and hold hashed names ("*.0", as
 *   c_rehash / openssl rehash make them), else lookups find nothing.
 * - Nothing here touches the network: DNS and servers are tlsrelay-probe's.
 * - Warnings (tlsrelay_ctx_check_warnings) are not problems: -t still
 *   exits 0. They are:
 *   - a dane level (tls_security_level, or any entry of tls_policy_map)
 *     with a resolver that is not on loopback (dns_resolver, else the
 *     servers of /etc/resolv.conf: read, never queried). The library
 *     trusts the AD bit as it comes (RES_TRUSTAD) and cannot know that
 *     the path to a remote resolver is safe;
 *   - a line of the file that lowers a security setting an earlier line
 *     set (settings.h, tr_config_strength): the last one wins, so an
 *     appended block silently weakened what the admin wrote above it
 *     (kept by tlsrelay_ctx_check_config, said here);
 *   - a bracketed relayhost and a sasl_password_map in which no key
 *     matches it (tr_sasl_lookup's order): mail would go without AUTH,
 *     and a server that requires it refuses (530). An unbracketed
 *     relayhost (MX lookup) is not judged: the MX names are unknown
 *     without DNS. tlsrelay-probe says the same when the relay host
 *     offers AUTH (probe.c).
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "ctx.h"
#include "msgrules.h"
#include "dns_res.h"
#include "nexthop.h"
#include "policy.h"
#include "sasl.h"
#include "fleet.h"
#include "settings.h"
#include "status.h"
#include "tls_level.h"

struct reporter {
	tlsrelay_report_fn fn;
	void *arg;
	int n;
};

static void TR_PRINTF(2, 3) problem(struct reporter *r, const char *fmt, ...)
{
	char line[TLSRELAY_TEXT_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	tr_sanitize_line(line);
	r->fn(r->arg, line);
	r->n++;
}

static void relay_report(void *arg, const char *text)
{
	struct reporter *r = arg;

	r->fn(r->arg, text);
}

void tlsrelay_config_show(tlsrelay_ctx *ctx, int all, tlsrelay_report_fn fn,
                          void *arg)
{
	char value[TR_CONFIG_LINE_MAX + 1], line[TR_CONFIG_LINE_MAX + 600];
	const char *name;

	for (int i = 0; (name = tr_config_key_name(i)) != NULL; i++) {
		int dflt = tr_config_is_default(&ctx->cfg, i);

		if (!all && dflt)
			continue;
		tr_config_value_text(&ctx->cfg, i, value, sizeof value);
		/* a value equal to the default, set by a line: still that line's */
		snprintf(line, sizeof line, "%s: %s =%s%s", tr_config_origin(&ctx->cfg, i), name,
		         value[0] ? " " : "", value);
		fn(arg, line);
	}
}

/* The warnings of reading the file, kept for tlsrelay_ctx_check_warnings. */
static void keep_note(void *arg, const char *line)
{
	tlsrelay_ctx *ctx = arg;
	size_t had = ctx->check_notes ? strlen(ctx->check_notes) : 0;
	char *n = realloc(ctx->check_notes, had + strlen(line) + 2);

	if (n == NULL)
		return;    /* a warning lost to memory: -t still checks the rest */
	snprintf(n + had, strlen(line) + 2, "%s\n", line);
	ctx->check_notes = n;
}

int tlsrelay_ctx_check_config(tlsrelay_ctx *ctx, const char *path, int must_exist,
                              tlsrelay_report_fn fn, void *arg)
{
	struct reporter r = { fn, arg, 0 };

	tr_ctx_reset(ctx);
	free(ctx->check_notes);
	ctx->check_notes = NULL;
	if (!must_exist && access(path, F_OK) != 0 && errno == ENOENT)
		return 0;
	r.n = tr_config_load_report(&ctx->cfg, path, relay_report, &r, keep_note, ctx);
	return r.n;
}

/* ---------------------------------------------------------- named files */

static void check_ca_file(struct reporter *r, const char *path)
{
	X509_STORE *store = X509_STORE_new();
	char user[TR_AS_USER_MAX];
	int n = 0;

	if (access(path, R_OK) != 0) {
		problem(r, "tls_ca_file %s: cannot read: %s%s", path, strerror(errno), tr_as_user(user));
	} else if (store == NULL || X509_STORE_load_file(store, path) != 1) {
		problem(r, "tls_ca_file %s: no PEM certificate could be loaded", path);
	} else {
		STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
		n = objs ? sk_X509_OBJECT_num(objs) : 0;
		if (n == 0)
			problem(r, "tls_ca_file %s: holds no certificate", path);
	}
	X509_STORE_free(store);
}

static void check_ca_path(struct reporter *r, const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int hashed = 0;
	char user[TR_AS_USER_MAX];

	if (d == NULL) {
		problem(r, "tls_ca_path %s: cannot open directory: %s%s", path, strerror(errno),
		        tr_as_user(user));
		return;
	}
	while ((e = readdir(d)) != NULL && !hashed) {
		const char *dot = strrchr(e->d_name, '.');
		hashed = dot && dot - e->d_name == 8 && strspn(dot + 1, "0123456789") ==
		         strlen(dot + 1) && dot[1] != '\0';
	}
	closedir(d);
	if (!hashed)
		problem(r, "tls_ca_path %s: no hashed certificate names (HASH.0): "
		        "run \"openssl rehash %s\"", path, path);
}

/* The rules file stops at its first error (one bad line refuses the
 * table, msgrules.h): one problem at most. */
static void check_rules(struct reporter *r, const char *path)
{
	tlsrelay_status st;
	tr_msgrules *t = tr_msgrules_load(path, &st);

	if (t == NULL)
		problem(r, "message_rules %s", st.text);
	tr_msgrules_free(t);
}

static void check_spool(struct reporter *r, const char *path)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
		problem(r, "spool_directory %s: %s", path, strerror(errno));
	else if (!S_ISDIR(sb.st_mode))
		problem(r, "spool_directory %s: not a directory", path);
	else if (access(path, W_OK | X_OK) != 0)
		problem(r, "spool_directory %s: not writable by this user (uid %ld)",
		        path, (long)getuid());
}

/* ------------------------------------------------------------- warnings */

/* Where a dane level is configured, into buf: 1; 0 if nowhere. */
static int dane_source(const tr_config *cfg, char *buf, size_t cap)
{
	char where[512];
	tr_policy_map *m;
	int found = 0;

	if (cfg->tls_level == TR_TLS_DANE || cfg->tls_level == TR_TLS_DANE_ONLY) {
		snprintf(buf, cap, "tls_security_level = %s", tr_tls_level_name(cfg->tls_level));
		return 1;
	}
	if (cfg->tls_policy_map && (m = tr_policy_map_load(cfg->tls_policy_map, NULL)) != NULL) {
		if ((found = tr_policy_map_first_dane(m, where, sizeof where)) != 0)
			snprintf(buf, cap, "tls_policy_map %s", where);
		tr_policy_map_free(m);
	}
	return found;
}

int tr_confcheck_dane_resolver(const tr_config *cfg, const char *resolv_conf,
                               tlsrelay_report_fn fn, void *arg)
{
	static const char fix[] = "nothing protects its answers on the way to this host: "
	                          "use a validating resolver on this host (DANE.md)";
	struct reporter r = { fn, arg, 0 };
	char dane[600], addr[INET6_ADDRSTRLEN + 16];

	if (!dane_source(cfg, dane, sizeof dane))
		return 0;
	if (cfg->dns_resolver) {
		if (!tr_dns_addr_loopback(cfg->dns_resolver))
			problem(&r, "warning: DANE (%s) trusts the AD bit of dns_resolver %s, which is "
			        "not on loopback: %s", dane, cfg->dns_resolver, fix);
		return r.n;
	}
	switch (tr_dns_system_resolver_remote(resolv_conf, addr, sizeof addr)) {
	case TR_RESOLVER_LOOPBACK:
		break;
	case TR_RESOLVER_REMOTE:
		problem(&r, "warning: DANE (%s) trusts the AD bit of the resolver %s of %s, which "
		        "is not on loopback: %s", dane, addr, resolv_conf, fix);
		break;
	case TR_RESOLVER_UNREADABLE:
	default:
		problem(&r, "warning: DANE (%s) trusts the AD bit of the resolvers of %s, which "
		        "cannot be read (%s): make sure they are on loopback", dane, resolv_conf,
		        strerror(errno));
	}
	return r.n;
}

/* A bracketed relayhost without credentials in sasl_password_map. */
static int relay_without_credentials(const tr_config *cfg, tlsrelay_report_fn fn, void *arg)
{
	struct reporter r = { fn, arg, 0 };
	tr_sasl_map *m;
	tr_sasl_cred cred;
	tr_nexthop nh;
	tlsrelay_status st;
	char err[128];

	if (!cfg->relayhost || !cfg->sasl_password_map ||
	    tr_nexthop_parse(cfg->relayhost, &nh, err, sizeof err) < 0 || nh.mx_lookup ||
	    (m = tr_sasl_map_load(cfg->sasl_password_map, &st)) == NULL)
		return 0;     /* unreadable or bad: a problem of check_files */
	if (!tr_sasl_lookup(m, nh.host, nh.port, &nh, &cred))
		problem(&r, "warning: sasl_password_map %s has no credentials for the relay host "
		        "[%s]:%d (keys looked up: [%s]:%d, [%s], %s): mail goes without AUTH, and a "
		        "relay host that requires it refuses it (530)", cfg->sasl_password_map,
		        nh.host, nh.port, nh.host, nh.port, nh.host, nh.host);
	tr_sasl_map_free(m);
	return r.n;
}

int tlsrelay_ctx_check_warnings(tlsrelay_ctx *ctx, tlsrelay_report_fn fn, void *arg)
{
	int n = 0;

	for (const char *p = ctx->check_notes; p && *p; n++) {
		char line[TLSRELAY_TEXT_MAX * 3];
		size_t len = strcspn(p, "\n");

		snprintf(line, sizeof line, "%.*s", (int)len, p);
		fn(arg, line);
		p += len + (p[len] == '\n');
	}
	n += tr_confcheck_dane_resolver(&ctx->cfg, _PATH_RESCONF, fn, arg);
	n += tr_fleet_check_reach(&ctx->cfg, fn, arg);   /* h-fleet */
	return n + relay_without_credentials(&ctx->cfg, fn, arg);
}

int tlsrelay_ctx_check_files(tlsrelay_ctx *ctx, tlsrelay_report_fn fn, void *arg)
{
	const tr_config *cfg = &ctx->cfg;
	struct reporter r = { fn, arg, 0 };

	if (cfg->tls_policy_map)
		r.n += tr_policy_map_check(cfg->tls_policy_map, relay_report, &r);
	if (cfg->sasl_password_map)
		r.n += tr_sasl_map_check(cfg->sasl_password_map, relay_report, &r);
	if (cfg->message_rules)
		check_rules(&r, cfg->message_rules);
	if (cfg->tls_ca_file)
		check_ca_file(&r, cfg->tls_ca_file);
	if (cfg->tls_ca_path)
		check_ca_path(&r, cfg->tls_ca_path);
	if (cfg->spool_directory)
		check_spool(&r, cfg->spool_directory);
	r.n += tr_fleet_check(cfg, fn, arg);       /* h-fleet: shared_store* */
	return r.n;
}

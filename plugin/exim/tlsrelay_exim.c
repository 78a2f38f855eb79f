/*
 * tlsrelay_exim.c - tlsrelay_exim.so, tlsrelay's TLS policy for Exim's own
 * smtp transport, through Exim's ${dlfunc} expansion item:
 *
 *   ${dlfunc{/usr/local/lib/tlsrelay/tlsrelay_exim.so}{FUNCTION}{NEXTHOP}{CONFIG}}
 *
 * (installed in $(libdir)/tlsrelay/; the path above is that of prefix
 * /usr/local)
 *
 * NEXTHOP is what the policy is looked up for, as tls_policy_map keys it
 * ($domain for MX delivery, "[smarthost]:587" for a smarthost); CONFIG is
 * the tlsrelay.conf to read (optional: default SYSCONFDIR/tlsrelay.conf,
 * which may then be missing, as for the tlsrelay program).
 *
 *   level         the level: none may encrypt dane dane-only fingerprint
 *                 verify secure
 *   require_tls   "*" when TLS is required (encrypt and above), else "": a
 *                 host list for hosts_require_tls
 *   verify_hosts  "*" when the certificate chain must verify (verify,
 *                 secure), else "": for tls_verify_hosts
 *   verify_names  the same, for tls_verify_cert_hostnames
 *   avoid_tls     "*" at level none (never STARTTLS), else "": for
 *                 hosts_avoid_tls (Exim otherwise uses STARTTLS whenever
 *                 offered, which is level may)
 *   complete      "yes" when the four lists above are the whole policy
 *                 (tlsrelay_policy_info.complete), else "no": send "no"
 *                 destinations through the tlsrelay pipe transport. With
 *                 mta_sts = yes every MX destination without a
 *                 tls_policy_map entry is "no": MTA-STS is decided at
 *                 delivery, by the tlsrelay transport
 *   describe      the policy and its source, as tlsrelay -q prints it
 *
 * Return codes (Exim's local_scan.h): OK with the answer; FAIL for bad
 * arguments (wrong count, a bad NEXTHOP): the expansion fails; DEFER when
 * the configuration or the policy map cannot be read or is bad, or memory
 * runs out: the expansion fails and Exim defers what depends on it.
 *
 * Fail closed in host lists: when Exim expands a host-list option such as
 * hosts_require_tls and the expansion fails (FAIL or DEFER), it logs
 * "failed to expand ... while checking a list" and the host does NOT match:
 * Exim 4.96 then delivers in plaintext (seen in a test with a receiver
 * without STARTTLS). A forced failure means "no match" too. So
 * require_tls, verify_hosts, verify_names and avoid_tls never fail: on any
 * error they answer the strict value ("*" for the first three, "" for
 * avoid_tls: STARTTLS is tried), and the error is left to the router, whose
 * address_data calls "complete": there a DEFER defers the address (see
 * conf/exim/router_tlsrelay_smtp.conf). FAIL_FORCED is never returned.
 *
 * Only glue: the policy comes from the library (tlsrelay_policy_get); the
 * .so keeps one context between calls (see "One context per process"). The
 * answer lives in a static buffer until the next call: Exim copies a result
 * and keeps an error message only until its next expansion (it is single-
 * threaded). The .so exports these seven functions only.
 */
#define _GNU_SOURCE 1   /* st_mtim; config.h is not included (Exim has its own) */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include "tlsrelay.h"
#include <local_scan.h>

#define SO_NAME "tlsrelay_exim"

exim_dlfunc_t level, require_tls, verify_hosts, verify_names, avoid_tls, complete, describe;

static char answer[TLSRELAY_TEXT_MAX + 128];

/* The only translation of a library status into an Exim return code. */
static int exim_code(tlsrelay_cat cat)
{
	switch (cat) {
	case TLSRELAY_OK:    return OK;
	case TLSRELAY_USAGE: return FAIL;
	default:             return DEFER;   /* config, internal, temporary */
	}
}

static int say(uschar **yield, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* *yield = the formatted answer; returns code. */
static int say(uschar **yield, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(answer, sizeof answer, fmt, ap);
	va_end(ap);
	*yield = (uschar *)answer;
	return code;
}

/*
 * One context per process, kept between calls (a delivery makes five: the
 * router's and the transport's four), so that tlsrelay.conf and the policy
 * map are parsed once: a 100 000-entry map takes about 0.35 s. It is used
 * again only for the same CONFIG argument, while that file is the same
 * file, unchanged (device, inode, size, mtime), and for at most
 * CACHE_SECONDS: a long-lived Exim process sees an edited policy map that
 * late at most. Exim forks or re-executes itself for every delivery, so in
 * practice each delivery reads the files afresh. A failed load is not kept.
 */
#define CACHE_SECONDS 10

static struct {
	tlsrelay_ctx *ctx;
	char path[4096];
	int given;
	struct stat id;      /* of the configuration file; zeroed if missing */
	time_t loaded;
} cache;

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The context for conf (given: it must exist), or NULL with *st set. */
static tlsrelay_ctx *context(const char *conf, int given, tlsrelay_status *st)
{
	struct stat id;
	time_t now = time(NULL);

	if (stat(conf, &id) != 0)
		memset(&id, 0, sizeof id);
	if (cache.ctx && cache.given == given && strcmp(cache.path, conf) == 0 &&
	    same_file(&cache.id, &id) && now >= cache.loaded &&
	    now - cache.loaded < CACHE_SECONDS)
		return cache.ctx;
	tlsrelay_ctx_free(cache.ctx);
	memset(&cache, 0, sizeof cache);
	if ((cache.ctx = tlsrelay_ctx_new()) == NULL) {
		snprintf(st->text, sizeof st->text, "out of memory");
		st->cat = TLSRELAY_INTERNAL;
		return NULL;
	}
	if (tlsrelay_ctx_load_config(cache.ctx, conf, given, st) != TLSRELAY_OK) {
		tlsrelay_ctx_free(cache.ctx);
		cache.ctx = NULL;
		return NULL;
	}
	snprintf(cache.path, sizeof cache.path, "%s", conf);
	cache.given = given;
	cache.id = id;
	cache.loaded = now;
	return cache.ctx;
}

/* The policy for argv[0] under config argv[1] (optional). OK with *info,
 * or FAIL/DEFER with the reason in *yield. */
static int lookup(const char *fn, uschar **yield, int argc, uschar *argv[],
                  tlsrelay_policy_info *info)
{
	tlsrelay_status st;
	tlsrelay_ctx *ctx;
	const char *conf;
	int given;

	if (argc < 1 || argc > 2)
		return say(yield, FAIL, SO_NAME " %s: expected {NEXTHOP} and optionally {CONFIG}", fn);
	given = argc == 2 && argv[1][0] != '\0';
	conf = given ? (const char *)argv[1] : tlsrelay_default_config_path();
	if (strlen(conf) >= sizeof cache.path)
		return say(yield, FAIL, SO_NAME " %s: CONFIG path longer than %zu bytes", fn,
		           sizeof cache.path - 1);
	if ((ctx = context(conf, given, &st)) != NULL)
		tlsrelay_policy_get(ctx, (const char *)argv[0], info, &st);
	if (st.cat != TLSRELAY_OK)
		return say(yield, exim_code(st.cat), SO_NAME " %s: %s", fn, st.text);
	return OK;
}

enum list_kind { REQUIRE_TLS, VERIFY_CHAIN, VERIFY_NAME, AVOID_TLS };

/* A host list: "*" (every host) or "" (none). When the policy is unknown
 * the strict answer: see "Fail closed" in the file header. */
static int host_list(const char *fn, enum list_kind kind, uschar **yield,
                     int argc, uschar *argv[])
{
	tlsrelay_policy_info info;
	int known = lookup(fn, yield, argc, argv, &info) == OK, all;

	switch (kind) {
	case REQUIRE_TLS:  all = !known || info.tls_required; break;
	case VERIFY_CHAIN: all = !known || info.verify_chain; break;
	case VERIFY_NAME:  all = !known || info.verify_name; break;
	default:           all = known && strcmp(info.level, "none") == 0; break;
	}
	return say(yield, OK, "%s", all ? "*" : "");
}

int level(uschar **yield, int argc, uschar *argv[])
{
	tlsrelay_policy_info info;
	int rc = lookup("level", yield, argc, argv, &info);

	return rc != OK ? rc : say(yield, OK, "%s", info.level);
}

int require_tls(uschar **yield, int argc, uschar *argv[])
{
	return host_list("require_tls", REQUIRE_TLS, yield, argc, argv);
}

int verify_hosts(uschar **yield, int argc, uschar *argv[])
{
	return host_list("verify_hosts", VERIFY_CHAIN, yield, argc, argv);
}

int verify_names(uschar **yield, int argc, uschar *argv[])
{
	return host_list("verify_names", VERIFY_NAME, yield, argc, argv);
}

int avoid_tls(uschar **yield, int argc, uschar *argv[])
{
	return host_list("avoid_tls", AVOID_TLS, yield, argc, argv);
}

int complete(uschar **yield, int argc, uschar *argv[])
{
	tlsrelay_policy_info info;
	int rc = lookup("complete", yield, argc, argv, &info);

	return rc != OK ? rc : say(yield, OK, "%s", info.complete ? "yes" : "no");
}

int describe(uschar **yield, int argc, uschar *argv[])
{
	tlsrelay_policy_info info;
	int rc = lookup("describe", yield, argc, argv, &info);

	return rc != OK ? rc : say(yield, OK, "%s", info.text);
}

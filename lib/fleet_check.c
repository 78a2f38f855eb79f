/*
 * fleet_check.c - tlsrelay -t's checks of the shared_store settings (see
 * fleet.h, tr_fleet_check), in every build: a build without hiredis says
 * the setting is not built in.
 *
 * Decisions:
 * - The password file must be a regular file that neither group nor
 *   others can read or write (as ssh(1) treats a private key): a fleet's
 *   Redis password opens every host's shared policies.
 * - Reaching Redis is a warning (tr_fleet_check_reach), not a problem:
 *   an outage must not stop tlsrelayd from starting (mail goes on with the
 *   local stores).
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "fleet.h"

static void say(void (*fn)(void *, const char *), void *arg, int *n, const char *text)
{
	fn(arg, text);
	(*n)++;
}

int tr_fleet_check(const tr_config *cfg, void (*fn)(void *arg, const char *text), void *arg)
{
	char line[TLSRELAY_TEXT_MAX + 256], why[256];
	tr_redis_addr a;
	struct stat sb;
	int n = 0;

	if (cfg->shared_store == NULL) {
		if (cfg->shared_store_password_file || cfg->shared_store_ca_file)
			say(fn, arg, &n, "shared_store_password_file or shared_store_ca_file is set "
			    "without shared_store");
		return n;
	}
	if (!tr_fleet_built())
		say(fn, arg, &n, "shared_store: this build has no Redis support (hiredis was "
		    "not found when it was built)");
	if (tr_fleet_parse_url(cfg->shared_store, &a, why, sizeof why) < 0) {
		snprintf(line, sizeof line, "shared_store %.300s: %s", cfg->shared_store, why);
		say(fn, arg, &n, line);
	} else if (cfg->shared_store_ca_file && !a.tls) {
		say(fn, arg, &n, "shared_store_ca_file is set but shared_store is not rediss:// "
		    "(TLS): the CA file would not be used");
	}
	if (cfg->shared_store_password_file) {
		const char *p = cfg->shared_store_password_file;

		if (stat(p, &sb) < 0)
			snprintf(line, sizeof line, "shared_store_password_file %s: %s", p,
			         strerror(errno));
		else if (!S_ISREG(sb.st_mode))
			snprintf(line, sizeof line, "shared_store_password_file %s: not a file", p);
		else if (sb.st_mode & 077)
			snprintf(line, sizeof line, "shared_store_password_file %s: group or others "
			         "may read it (mode %03o): make it readable by the delivery user only "
			         "(chmod 600)", p, (unsigned)(sb.st_mode & 0777));
		else
			line[0] = '\0';
		if (line[0])
			say(fn, arg, &n, line);
	}
	if (cfg->mta_sts_cache == NULL && cfg->tls_history == NULL)
		say(fn, arg, &n, "shared_store needs a local store to fall back on when Redis is "
		    "unavailable: set mta_sts_cache (MTA-STS, TLS-RPT) and/or tls_history");
	return n;
}

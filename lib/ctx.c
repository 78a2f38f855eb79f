/*
 * ctx.c - the public context: creation, configuration, logger.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "conn_cache.h"
#include "ctx.h"
#include "history.h"
#include "history_store.h"
#include "fleet.h"
#include "msgrules.h"
#include "status.h"
#include "policy.h"
#include "sasl.h"
#include "tls.h"

/* Forget everything derived from the settings (they are changing). */
void tr_ctx_reset(tlsrelay_ctx *ctx)
{
	tr_history_flush(ctx);        /* a kept record: under the settings it was made */
	tr_conn_cache_free(ctx);      /* its keys were made under the old settings */
	tr_tls_ctx_free(ctx);
	tr_sasl_map_free(ctx->sasl);
	ctx->sasl = NULL;
	tr_policy_map_free(ctx->policy);
	ctx->policy = NULL;
	tr_msgrules_free(ctx->rules);
	ctx->rules = NULL;
	tr_policy_map_free(ctx->shadow_policy);
	ctx->shadow_policy = NULL;
	tr_hist_close(ctx->history);
	ctx->history = NULL;
	tr_fleet_free(ctx);
}

/* The error names the setting too ("sasl_password_map FILE: cannot open:
 * ..."): the file name alone does not tell the admin which map it is. */
static tlsrelay_cat map_error(const char *setting, tlsrelay_status *st)
{
	char text[TLSRELAY_TEXT_MAX];
	tr_buf b;

	snprintf(text, sizeof text, "%s", st->text);
	tr_buf_fixed(&b, st->text, sizeof st->text);
	tr_buf_printf(&b, "%s %s", setting, text);
	return st->cat;
}

tlsrelay_cat tr_ctx_load_maps(tlsrelay_ctx *ctx, tlsrelay_status *st)
{
	const tr_config *cfg = &ctx->cfg;

	if (cfg->sasl_password_map && ctx->sasl == NULL &&
	    (ctx->sasl = tr_sasl_map_load(cfg->sasl_password_map, st)) == NULL)
		return map_error("sasl_password_map", st);
	if (cfg->tls_policy_map && ctx->policy == NULL &&
	    (ctx->policy = tr_policy_map_load(cfg->tls_policy_map, st)) == NULL)
		return map_error("tls_policy_map", st);
	if (cfg->message_rules && ctx->rules == NULL &&
	    (ctx->rules = tr_msgrules_load(cfg->message_rules, st)) == NULL)
		return map_error("message_rules", st);
	return tr_status_ok(st);
}

tlsrelay_ctx *tlsrelay_ctx_new(void)
{
	tlsrelay_ctx *ctx = calloc(1, sizeof *ctx);

	if (ctx)
		tr_config_init(&ctx->cfg);
	return ctx;
}

void tlsrelay_ctx_free(tlsrelay_ctx *ctx)
{
	if (ctx == NULL)
		return;
	tr_ctx_reset(ctx);
	tr_ctx_stamps_free(ctx);
	tr_config_free(&ctx->cfg);
	free(ctx->check_notes);
	free(ctx);
}

void tlsrelay_ctx_set_logger(tlsrelay_ctx *ctx, tlsrelay_log_fn fn, void *arg,
                             int verbose)
{
	ctx->log_fn = fn;
	ctx->log_arg = arg;
	ctx->verbose = verbose;
}

tlsrelay_cat tlsrelay_ctx_load_config(tlsrelay_ctx *ctx, const char *path,
                                      int must_exist, tlsrelay_status *st)
{
	tr_ctx_reset(ctx);   /* settings may change the TLS context and maps */
	if (tr_ctx_stamp_config(ctx, path, st) != TLSRELAY_OK)
		return st->cat;
	return tr_config_load(&ctx->cfg, path, must_exist, st);
}

tlsrelay_cat tlsrelay_ctx_set(tlsrelay_ctx *ctx, const char *key,
                              const char *value, tlsrelay_status *st)
{
	tr_ctx_reset(ctx);
	return tr_config_set(&ctx->cfg, key, value, NULL, st);
}

tlsrelay_cat tlsrelay_ctx_set_pair(tlsrelay_ctx *ctx, const char *pair,
                                   tlsrelay_status *st)
{
	char key[128];
	const char *eq = strchr(pair, '=');

	if (eq == NULL)
		return tr_status_set(st, TLSRELAY_USAGE, "4.3.5", "bad setting \"%s\": expected key=value",
		                     pair);
	snprintf(key, sizeof key, "%.*s", (int)(eq - pair), pair);
	return tlsrelay_ctx_set(ctx, key, eq + 1, st);
}

tlsrelay_cat tlsrelay_ctx_configure(tlsrelay_ctx *ctx, const char *config,
                                    const char *const *pairs, int n, tlsrelay_status *st)
{
	const char *path = config ? config : tlsrelay_default_config_path();

	if (tlsrelay_ctx_load_config(ctx, path, config != NULL, st) != TLSRELAY_OK)
		return st->cat;
	for (int i = 0; i < n; i++)
		if (tlsrelay_ctx_set_pair(ctx, pairs[i], st) != TLSRELAY_OK)
			return st->cat;
	return TLSRELAY_OK;
}

const char *tlsrelay_default_config_path(void)
{
	return SYSCONFDIR "/tlsrelay.conf";
}

int tlsrelay_ctx_deadline(const tlsrelay_ctx *ctx)
{
	return ctx->cfg.deadline;
}

const char *tlsrelay_ctx_metrics_listen(const tlsrelay_ctx *ctx)
{
	return ctx->cfg.metrics_listen;
}

const char *tlsrelay_ctx_spool_directory(const tlsrelay_ctx *ctx)
{
	return ctx->cfg.spool_directory;
}

unsigned long long tlsrelay_ctx_message_size_limit(const tlsrelay_ctx *ctx)
{
	unsigned long long v = ctx->cfg.message_size_limit > 0 ? (unsigned long long)ctx->cfg.message_size_limit : 0;

	return v == 0 || v > TLSRELAY_MESSAGE_SIZE_HARD ? TLSRELAY_MESSAGE_SIZE_HARD : v;
}

int tlsrelay_ctx_use_syslog(const tlsrelay_ctx *ctx)
{
	return ctx->cfg.use_syslog;
}

const char *tlsrelay_ctx_syslog_name(const tlsrelay_ctx *ctx)
{
	return ctx->cfg.syslog_name ? ctx->cfg.syslog_name : "tlsrelay";
}

tlsrelay_cat tlsrelay_ctx_set_log_id(tlsrelay_ctx *ctx, const char *id, tlsrelay_status *st)
{
	size_t n = id ? strlen(id) : 0;

	/* never starting with "-": an MTA that passes an empty ID would make
	 * -Q take the next option ("-f") as its value */
	if (n >= sizeof ctx->log_id || (n > 0 && id[0] == '-') ||
	    strspn(id ? id : "", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789._-") != n)
		return tr_status_set(st, TLSRELAY_USAGE, "4.3.5", "bad queue ID: expected at most "
		                     "%zu letters, digits, \".\", \"_\" or \"-\" (not first)",
		                     sizeof ctx->log_id - 1);
	snprintf(ctx->log_id, sizeof ctx->log_id, "%s", id ? id : "");
	return tr_status_ok(st);
}

/*
 * ctx_warm.c - a context made ready once for many deliveries (tlsrelayd).
 *
 * tlsrelay_ctx_prepare() does at once what a delivery otherwise does
 * lazily: the SSL_CTX (OpenSSL 3.0's SSL_CTX_new alone is 8 M
 * instructions), tls_ca_file parsed, the policy and SASL maps and the
 * message rules loaded. A process forked from the prepared context starts
 * with all of it done.
 *
 * It also stamps the files those came from (the configuration file,
 * tls_ca_file, tls_policy_map, sasl_password_map, message_rules,
 * tls_shadow_policy_map): device,
 * inode, size, mtime and ctime. tlsrelay_ctx_changed() compares them with the files now,
 * so that a long-lived process notices an edited map or a replaced CA
 * bundle before its next delivery, as the one-process-per-message
 * transport does by reading everything afresh. tls_ca_path is a hashed
 * directory searched per certificate at verification time: nothing of it
 * is cached, so nothing to stamp.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "conn_cache.h"
#include "ctx.h"
#include "fleet.h"
#include "history.h"
#include "shadow.h"
#include "sqlite_dl.h"
#include "status.h"
#include "tls.h"

static void take_stamp(struct tr_stamp *s)
{
	struct stat sb;

	memset(&sb, 0, sizeof sb);
	s->exists = stat(s->path, &sb) == 0;
	s->dev = (unsigned long long)sb.st_dev;
	s->ino = (unsigned long long)sb.st_ino;
	s->size = (unsigned long long)sb.st_size;
	s->mtime_s = (long long)sb.st_mtim.tv_sec;
	s->mtime_ns = (long long)sb.st_mtim.tv_nsec;
	s->ctime_s = (long long)sb.st_ctim.tv_sec;
	s->ctime_ns = (long long)sb.st_ctim.tv_nsec;
}

static int add_stamp(struct tlsrelay_ctx *ctx, const char *what, const char *path)
{
	struct tr_stamp *s;

	if (path == NULL || ctx->nstamps == TR_STAMPS)
		return 0;
	s = &ctx->stamps[ctx->nstamps];
	memset(s, 0, sizeof *s);
	if ((s->path = strdup(path)) == NULL)
		return -1;
	s->what = what;
	take_stamp(s);
	ctx->nstamps++;
	return 0;
}

void tr_ctx_stamps_free(struct tlsrelay_ctx *ctx)
{
	for (int i = 0; i < ctx->nstamps; i++)
		free(ctx->stamps[i].path);
	ctx->nstamps = 0;
}

/* Stamps are taken before the files are read (the configuration file's
 * by tlsrelay_ctx_load_config, through tr_ctx_stamp_config): a change made
 * while they are read shows as a change on the next check (read again,
 * never missed). */
tlsrelay_cat tr_ctx_stamp_config(struct tlsrelay_ctx *ctx, const char *path,
                                 tlsrelay_status *st)
{
	tr_ctx_stamps_free(ctx);
	if (add_stamp(ctx, "configuration", path) < 0)
		return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
	return tr_status_ok(st);
}

tlsrelay_cat tlsrelay_ctx_prepare(tlsrelay_ctx *ctx, tlsrelay_status *st)
{
	const tr_config *cfg = &ctx->cfg;

	for (int i = 1; i < ctx->nstamps; i++)
		free(ctx->stamps[i].path);
	ctx->nstamps = ctx->nstamps > 0 ? 1 : 0;   /* the configuration file's stays */
	if (add_stamp(ctx, "tls_ca_file", cfg->tls_ca_file) < 0 ||
	    add_stamp(ctx, "tls_policy_map", cfg->tls_policy_map) < 0 ||
	    add_stamp(ctx, "sasl_password_map", cfg->sasl_password_map) < 0 ||
	    add_stamp(ctx, "message_rules", cfg->message_rules) < 0 ||
	    add_stamp(ctx, "tls_shadow_policy_map", cfg->tls_shadow_policy_map) < 0)
		return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
	if (tr_ctx_load_maps(ctx, st) != TLSRELAY_OK)
		return st->cat;
	/* The history's SQLite, loaded (not opened: a store never crosses a
	 * fork) so that the delivery processes do not each map it. */
	if (cfg->tls_history) {
		tlsrelay_status ignored;   /* a delivery says it, when it opens the store */
		(void)tr_sqlite_load(&ignored);
	}
	{
		tlsrelay_status ignored;   /* a bad one is the shadow's, logged per delivery */
		(void)tr_shadow_load(ctx, &ignored);
	}
	/* Even at level none: a policy map entry or a message header may
	 * still ask for TLS. */
	return tr_tls_prepare(ctx, st);
}

const char *tlsrelay_ctx_changed(const tlsrelay_ctx *ctx)
{
	for (int i = 0; i < ctx->nstamps; i++) {
		struct tr_stamp now = ctx->stamps[i];

		take_stamp(&now);
		if (now.exists != ctx->stamps[i].exists || now.dev != ctx->stamps[i].dev ||
		    now.ino != ctx->stamps[i].ino || now.size != ctx->stamps[i].size ||
		    now.mtime_s != ctx->stamps[i].mtime_s ||
		    now.mtime_ns != ctx->stamps[i].mtime_ns ||
		    now.ctime_s != ctx->stamps[i].ctime_s ||
		    now.ctime_ns != ctx->stamps[i].ctime_ns)
			return ctx->stamps[i].what;
	}
	return NULL;
}

tlsrelay_cat tr_ctx_delivery_process(tlsrelay_ctx *ctx, tlsrelay_status *st)
{
	ctx->spool_memory_max = TLSRELAY_SPOOL_MEMORY_MAX;
	tr_history_defer(ctx, 1);     /* written by tr_ctx_after_result */
	return tr_conn_cache_enable(ctx, st);
}

void tr_ctx_after_result(tlsrelay_ctx *ctx)
{
	if (ctx == NULL)
		return;
	tr_history_flush(ctx);        /* sends the fleet's queued writes with its own */
	tr_fleet_flush(ctx);          /* those of a delivery with no record (deliver.c) */
}

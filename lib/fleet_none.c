/*
 * fleet_none.c - the fleet store in a build without hiredis (see
 * fleet.h): shared_store is accepted by the settings table but refused by
 * tlsrelay -t ("not built in"), and a delivery logs once per process that
 * it works with its local stores only. Nothing here fails a delivery.
 */
#include "config.h"
#include <stdlib.h>
#include <syslog.h>
#include "ctx.h"
#include "fleet.h"
#include "log.h"

struct tr_fleet {
	int logged;
};

int tr_fleet_built(void)
{
	return 0;
}

int tr_fleet_configured(const struct tlsrelay_ctx *ctx)
{
	return ctx->cfg.shared_store != NULL;
}

tr_fleet *tr_fleet_use(struct tlsrelay_ctx *ctx)
{
	if (ctx->cfg.shared_store && ctx->fleet == NULL &&
	    (ctx->fleet = calloc(1, sizeof *ctx->fleet)) != NULL)
		tr_log(ctx, LOG_ERR, "shared_store %s: this build has no Redis support (hiredis "
		       "was not found when it was built); working with the local stores",
		       ctx->cfg.shared_store);
	return NULL;
}

tr_fleet *tr_fleet_writer(struct tlsrelay_ctx *ctx)
{
	return tr_fleet_use(ctx);
}

void tr_fleet_flush(struct tlsrelay_ctx *ctx)
{
	(void)ctx;
}

void tr_fleet_free(struct tlsrelay_ctx *ctx)
{
	free(ctx->fleet);
	ctx->fleet = NULL;
}

void tr_fleet_take_counts(struct tlsrelay_ctx *ctx, long long *failures, long long *dropped)
{
	(void)ctx;
	*failures = *dropped = 0;
}

void tr_fleet_dropped(struct tlsrelay_ctx *ctx, long long n)
{
	(void)ctx;
	(void)n;
}

int tr_fleet_check_reach(const tr_config *cfg, void (*fn)(void *, const char *), void *arg)
{
	(void)cfg;
	(void)fn;
	(void)arg;
	return 0;
}

/* Never called: tr_fleet_use returns NULL. */
tr_found tr_fleet_sts_get(tr_fleet *f, const char *domain, tr_sts_cached *out, char *by,
                          size_t bycap)
{
	(void)f, (void)domain, (void)out, (void)by, (void)bycap;
	return TR_LOOKUP_FAILED;
}

int tr_fleet_sts_put(tr_fleet *f, const char *domain, const char *id,
                     const tr_sts_policy *pol, long long fetched)
{
	(void)f, (void)domain, (void)id, (void)pol, (void)fetched;
	return -1;
}

int tr_fleet_rpt_add(tr_fleet *f, const tr_rpt_row *row, long long now)
{
	(void)f, (void)row, (void)now;
	return -1;
}

static tlsrelay_cat none(tlsrelay_status *st)
{
	return tr_status_set(st, TLSRELAY_CONFIG, "4.3.5", "shared_store: this build has no "
	                     "Redis support (hiredis was not found when it was built)");
}

tlsrelay_cat tr_fleet_rpt_rows(tr_fleet *f, const char *day, const char *domain,
                               int (*fn)(const tr_rpt_row *row, void *arg), void *arg,
                               tlsrelay_status *st)
{
	(void)f, (void)day, (void)domain, (void)fn, (void)arg;
	return none(st);
}

tlsrelay_cat tr_fleet_lease(tr_fleet *f, const char *day, const char *domain, int seconds,
                            char token[64], tr_lease_res *res, char *by, size_t bycap,
                            tlsrelay_status *st)
{
	(void)f, (void)day, (void)domain, (void)seconds, (void)token, (void)res, (void)by,
	(void)bycap;
	return none(st);
}

tlsrelay_cat tr_fleet_lease_end(tr_fleet *f, const char *day, const char *domain,
                                const char *token, int sent, tlsrelay_status *st)
{
	(void)f, (void)day, (void)domain, (void)token, (void)sent;
	return none(st);
}

int tr_fleet_hist_add(tr_fleet *f, const tr_hist_attempt *a, size_t n, int days)
{
	(void)f, (void)a, (void)n, (void)days;
	return -1;
}

tlsrelay_cat tr_fleet_hist_each_day(tr_fleet *f, const char *since_day, const char *dest,
                                    int (*fn)(const tr_hist_day *row, void *arg), void *arg,
                                    tlsrelay_status *st)
{
	(void)f, (void)since_day, (void)dest, (void)fn, (void)arg;
	return none(st);
}

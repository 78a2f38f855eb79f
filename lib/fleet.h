/*
 * fleet.h - the fleet store: what several tlsrelay hosts share through
 * Redis (setting shared_store; doc/FLEET.md "Running several MTAs").
 *
 * THE STORE INTERFACE. Every host keeps its embedded stores (SQLite:
 * mta_sts_cache, tls_history) and writes them as before; the shared store
 * is a second back end behind the same calls (sts.c, tlsrpt_record.c,
 * history.c write both; the readers choose):
 *   MTA-STS policies  read: the newer of the local and the shared copy (by
 *                     fetch time); written: after each fetch, and a local
 *                     copy newer than the shared one is published; a copy
 *                     is replaced only by a strictly newer one (Lua, atomic)
 *   TLS-RPT counters  HINCRBY per result (atomic); reports come from the
 *                     shared counters only, one per policy domain and day
 *                     for the fleet (a lease and a "sent" marker)
 *   TLS history       the daily aggregate (per day, destination, posture,
 *                     outcome, shadow verdict...) by HINCRBY; tlsrelay-report's
 *                     summary, suggest and html read the fleet's days
 * Kept per host: the recent attempts, the servers table (explain's
 * details, certificate expiry) and the metrics counters (each host
 * exports its own; Prometheus adds them up).
 *
 * KEYS (prefix "tlsrelay:"; one Redis database per fleet)
 *   sts:DOMAIN               hash id, fetched, expires, policy; EXPIREAT expires
 *   rpt:DAY                  set of the policy domains with results on DAY
 *   rpt:DAY:DOMAIN           hash ROW -> sessions (ROW: tr_fleet_rpt_field)
 *   rptlease:{DAY:DOMAIN}    the sending host's token, SET NX EX lease
 *   rptsent:{DAY:DOMAIN}     "HOST TIME" once the report was delivered
 *   hist:DAY                 hash KIND ROW -> count (tr_fleet_hist_field)
 *   Every key expires: sts with its policy, rpt* after TR_STS_KEEP_DAYS,
 *   hist after tls_history_days.
 *   REDIS CLUSTER: a command or script uses one key, but the lease
 *   scripts: their two keys share the hash tag {DAY:DOMAIN}, so one slot
 *   (tr_fleet_lease_keys). Before 2026-12 they were rptlease:DAY:DOMAIN
 *   and rptsent:DAY:DOMAIN: the old "sent" marker is still read (its GET
 *   rides with the lease script) until it ages out (TR_STS_KEEP_DAYS).
 *
 * ROUND TRIPS. Reads that a delivery needs now (a policy) are one call
 * each; writes (a fetched policy, TLS-RPT results, the history) are
 * queued in the context and sent together, one flight, by
 * tr_fleet_flush at the end of the delivery (history's DONE, then
 * tr_deliver; in a tlsrelayd delivery process after the client has its
 * result: tr_ctx_after_result), after its SMTP sessions ended. A new connection's AUTH and
 * SELECT travel with its first call. tlsrelayd's delivery processes keep
 * their connection across deliveries (checked for a server's close before
 * use). So a delivery with a cached policy costs two round trips.
 *
 * NEVER DELAYS MAIL. Every call is bounded by shared_store_timeout (50 ms
 * by default, connecting included). Any failure (down, slow, an error
 * reply such as OOM) closes the connection and marks the store down for
 * this process for a second; meanwhile calls fail at once. The local
 * stores carry on. Writes made while down are DROPPED and counted (no
 * write-back queue: see doc/FLEET.md). The first process that sees an
 * outage logs it (LOG_ERR, once per outage: a marker file next to the
 * local store); the first that reaches Redis again logs that sharing
 * resumed. Nothing here changes a delivery's status.
 *
 * Builds without hiredis have fleet_none.c: shared_store is refused by
 * tlsrelay -t and every call says "not built in".
 */
#ifndef TR_FLEET_H
#define TR_FLEET_H

#include <stddef.h>
#include "history_store.h"
#include "redis.h"
#include "settings.h"
#include "status.h"
#include "sts_cache.h"

struct tlsrelay_ctx;
typedef struct tr_fleet tr_fleet;

/* ---------------------------------------------------------- pure helpers
 * (fleet_keys.c, built always; tests/unit/test_fleet.c) */

/* Parse shared_store: "redis://HOST[:PORT][/DB]", "rediss://..." (TLS),
 * "unix:/PATH" or "unix:/PATH?db=N". HOST may be "[v6]". No user or
 * password in the URL (shared_store_password_file). Returns 0, or -1 with
 * why. */
int tr_fleet_parse_url(const char *url, tr_redis_addr *out, char *why, size_t cap);

/* Fields join with 0x1f; a 0x1f inside a value becomes '?'. Returns the
 * length written (cut at cap - 1). */
/* The lease script's two keys of (day, domain), hash tag {DAY:DOMAIN}
 * (one cluster slot), and the pre-cluster "sent" key (legacy, read only);
 * each buffer has cap bytes. */
void tr_fleet_lease_keys(const char *day, const char *domain, char *lease, char *sent,
                         char *legacy_sent, size_t cap);

size_t tr_fleet_join(char *out, size_t cap, const char *const *v, int n);

/* Split in (len bytes) at 0x1f into at most max parts (pointers into a
 * copy in buf); returns the number of parts, -1 when buf is too small. */
int tr_fleet_split(const char *in, size_t len, char *buf, size_t cap, const char **parts,
                   int max);

/* ---------------------------------------------------------- the connection */

/* shared_store is set. */
int tr_fleet_configured(const struct tlsrelay_ctx *ctx);

/* The context's shared store, connected on first use (and again after an
 * outage); NULL when not configured, not built, or unreachable now (then
 * logged once per outage and counted). */
tr_fleet *tr_fleet_use(struct tlsrelay_ctx *ctx);

/* The context's shared store for queued writes, not connected here;
 * NULL when not configured, not built, or marked down now (the caller
 * counts the write dropped). */
tr_fleet *tr_fleet_writer(struct tlsrelay_ctx *ctx);

/* Send the queued writes in one flight (connecting if needed); on failure
 * they are dropped and counted. Nothing queued: nothing done. */
void tr_fleet_flush(struct tlsrelay_ctx *ctx);

/* Flush what is queued, then forget the connection (tr_ctx_reset, end of
 * process). */
void tr_fleet_free(struct tlsrelay_ctx *ctx);

/* Failures (outage events) and writes dropped since the last call: the
 * TLS history adds them to its metrics counters. */
void tr_fleet_take_counts(struct tlsrelay_ctx *ctx, long long *failures, long long *dropped);

/* Count a write not made because the store is unavailable. */
void tr_fleet_dropped(struct tlsrelay_ctx *ctx, long long n);

/* tlsrelay -t: problems with shared_store* (not built, URL, password
 * file mode, no local store to fall back to), each to fn; the count. */
int tr_fleet_check(const tr_config *cfg, void (*fn)(void *arg, const char *text), void *arg);

/* 1 when built with hiredis (fleet.c), 0 (fleet_none.c). */
int tr_fleet_built(void);

/* tlsrelay -t's warning: Redis cannot be reached now (connect, AUTH,
 * SELECT with a 1 s bound); the count (0 or 1). */
int tr_fleet_check_reach(const tr_config *cfg, void (*fn)(void *arg, const char *text),
                         void *arg);

/* ---------------------------------------------------------- MTA-STS */

/* The shared policy of domain; by (NULL: not wanted, else bycap bytes):
 * the host that published it ("?" from an older version). Returns
 * TR_FOUND (*out), TR_NOT_FOUND (none, or one that no longer parses),
 * TR_LOOKUP_FAILED (store unavailable). */
tr_found tr_fleet_sts_get(tr_fleet *f, const char *domain, tr_sts_cached *out, char *by,
                          size_t bycap);

/* Queue the publication of domain's policy fetched at fetched (expires =
 * fetched + max_age), with this host's name; at the flush Redis keeps the
 * shared copy if it is as new or newer.
 * Returns 0 queued, -1 failed (out of memory). */
int tr_fleet_sts_put(tr_fleet *f, const char *domain, const char *id,
                     const tr_sts_policy *pol, long long fetched);

/* ---------------------------------------------------------- TLS-RPT */

/* One more session for row on the UTC day of now, queued. 0, -1 failed. */
int tr_fleet_rpt_add(tr_fleet *f, const tr_rpt_row *row, long long now);

/* The shared rows of day (of domain when not NULL), in (domain, policy,
 * result) order, as tr_sts_store_rows.
 * Returns: OK, TEMP 4.4.1 (unavailable). */
tlsrelay_cat tr_fleet_rpt_rows(tr_fleet *f, const char *day, const char *domain,
                               int (*fn)(const tr_rpt_row *row, void *arg), void *arg,
                               tlsrelay_status *st);

typedef enum { TR_LEASE_GOT, TR_LEASE_HELD, TR_LEASE_SENT } tr_lease_res;

/* Take the lease to send domain's report of day for seconds; token
 * (out, 64 bytes) identifies this holder. *by: who sent it (SENT) or holds
 * it (HELD).
 * Returns: OK (*res), TEMP 4.4.1. */
tlsrelay_cat tr_fleet_lease(tr_fleet *f, const char *day, const char *domain, int seconds,
                            char token[64], tr_lease_res *res, char *by, size_t bycap,
                            tlsrelay_status *st);

/* End the lease of token: sent = 1 marks the report delivered (kept
 * TR_STS_KEEP_DAYS) then releases; sent = 0 only releases (the next run,
 * here or elsewhere, tries again). A lease that expired and went to
 * another host is not touched (Lua compares the token).
 * Returns: OK, TEMP 4.4.1. */
tlsrelay_cat tr_fleet_lease_end(tr_fleet *f, const char *day, const char *domain,
                                const char *token, int sent, tlsrelay_status *st);

/* ---------------------------------------------------------- history */

/* Add n attempts to the shared daily aggregate (days: retention), queued.
 * 0, -1. */
int tr_fleet_hist_add(tr_fleet *f, const tr_hist_attempt *a, size_t n, int days);

/* The shared daily rows of days >= since_day, of dest (NULL: all), in
 * (day, dest) order, as tr_hist_each_day.
 * Returns: OK, TEMP 4.4.1 (unavailable), INTERNAL 4.3.0. */
tlsrelay_cat tr_fleet_hist_each_day(tr_fleet *f, const char *since_day, const char *dest,
                                    int (*fn)(const tr_hist_day *row, void *arg), void *arg,
                                    tlsrelay_status *st);

#endif

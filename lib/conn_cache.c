/*
 * conn_cache.c - the connection cache of a tlsrelayd delivery process: at
 * most one idle SMTP connection, its key, its limits. See conn_cache.h for
 * the contract and the decisions.
 *
 * Why one connection per process: a process runs one delivery at a time,
 * and a delivery needs one connection per server it talks to; tlsrelayd
 * routes each request to the process that holds a connection for its
 * nexthop, so one is what the process can use next. The bound on idle
 * connections (never more than delivery processes) then holds by
 * construction. A connection that is replaced (another key ended clean
 * after it) gets QUIT.
 *
 * Why the connection stays in the process that opened it: its TLS state
 * (keys, sequence numbers) lives in that process's OpenSSL objects and
 * cannot be handed to another process (Postfix needs tlsproxy(8), a
 * process every byte then crosses, to cache TLS connections). tlsrelayd
 * moves the message to the connection instead (plugin/daemon/pool.c).
 */
#include "config.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "conn_cache.h"
#include "ctx.h"
#include "demand.h"
#include "log.h"
#include "nexthop.h"
#include "sasl.h"

struct tr_conn_cache {
	tr_conn *idle;              /* the idle connection (key in idle->key) */
};

tlsrelay_cat tr_conn_cache_enable(struct tlsrelay_ctx *ctx, tlsrelay_status *st)
{
	if (!ctx->cfg.connection_cache || ctx->conn_cache != NULL)
		return tr_status_ok(st);
	if ((ctx->conn_cache = calloc(1, sizeof *ctx->conn_cache)) == NULL)
		return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
	return tr_status_ok(st);
}

void tr_conn_cache_free(struct tlsrelay_ctx *ctx)
{
	if (ctx == NULL || ctx->conn_cache == NULL)
		return;
	tr_conn_close(ctx, ctx->conn_cache->idle, 1);
	free(ctx->conn_cache);
	ctx->conn_cache = NULL;
}

int tr_conn_cache_usable(const struct tlsrelay_ctx *ctx, const tr_session_params *p)
{
	return ctx->conn_cache != NULL && !p->dry_run && !p->cache_readonly &&
	       p->io_ops == NULL;
}

int tr_conn_key(const tr_session_params *p, char *out, size_t cap)
{
	char demand[TR_CONN_KEY_MAX];
	int n;

	if (tr_demand_key(p->demand, demand, sizeof demand) < 0)
		return -1;
	n = snprintf(out, cap, "addr=%s port=%d host=%s nexthop=%s helo=%s cred=%s%s%s "
	             "%s%s demand=%s", p->addr->text, tr_addr_port(p->addr), p->host,
	             p->nexthop ? p->nexthop : "", p->helo, p->cred ? "[" : "",
	             p->cred ? p->cred->key : "none", p->cred ? "]" : "",
	             p->implicit_tls ? "smtps" : "starttls", p->no_tls ? " plaintext-retry" : "",
	             demand);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* "host:port" in lower case. */
static void label_of(const char *host, int port, char *out, size_t cap)
{
	size_t i;

	snprintf(out, cap, "%s:%d", host, port);
	for (i = 0; out[i]; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
}

void tr_conn_label(const tr_session_params *p, char *out, size_t cap)
{
	label_of(p->nexthop ? p->nexthop : p->host, tr_addr_port(p->addr), out, cap);
}

void tr_conn_route_label(const struct tlsrelay_ctx *ctx, const char *rcpt, char *out,
                         size_t cap)
{
	const char *at = strrchr(rcpt, '@');
	tr_nexthop nh;

	out[0] = '\0';
	if (ctx->cfg.relayhost && *ctx->cfg.relayhost) {
		if (tr_nexthop_parse(ctx->cfg.relayhost, &nh, NULL, 0) == 0)
			label_of(nh.host, nh.port, out, cap);
		return;
	}
	if (at != NULL && at[1] != '\0' && tr_nexthop_parse(at + 1, &nh, NULL, 0) == 0 &&
	    nh.mx_lookup)
		label_of(nh.host, 25, out, cap);
}

/* Within the reuse limits for one more transaction (uses counts those it
 * had). */
static int within_limits(const struct tlsrelay_ctx *ctx, const tr_conn *c, long long now)
{
	const tr_config *cfg = &ctx->cfg;

	return c->uses < (unsigned)cfg->connection_reuse_count_limit &&
	       now - c->born_ms < (long long)cfg->connection_reuse_time_limit * 1000;
}

static int idle_expired(const struct tlsrelay_ctx *ctx, const tr_conn *c, long long now)
{
	return now - c->idle_ms >= (long long)ctx->cfg.connection_cache_time_limit * 1000;
}

/* Close the idle connection (QUIT when quit), saying why at verbosity 1. */
static void drop_idle(struct tlsrelay_ctx *ctx, int quit, const char *why)
{
	tr_conn *c = ctx->conn_cache->idle;

	tr_vlog(ctx, 1, "%s: closing the cached connection (conn_use=%u): %s", c->relay,
	        c->uses, why);
	ctx->conn_cache->idle = NULL;
	tr_conn_close(ctx, c, quit);
}

tr_conn *tr_conn_cache_take(struct tlsrelay_ctx *ctx, const char *key)
{
	long long now = tr_now_ms();
	tr_conn *c;

	if (ctx->conn_cache == NULL || (c = ctx->conn_cache->idle) == NULL ||
	    strcmp(c->key, key) != 0)
		return NULL;
	if (!tr_io_idle_ok(&c->io)) {
		drop_idle(ctx, 0, c->io.err);
		return NULL;
	}
	/* Idle, but part of a record held (its rest still on the way): the
	 * server is saying something (a 421 before it hangs up?). Idle may
	 * wait for the rest (tend keeps it); a transaction may not: its first
	 * reply would be whatever that record holds, or never come. */
	if (tr_io_buffered(&c->io)) {
		drop_idle(ctx, 0, "part of a TLS record from the server held");
		return NULL;
	}
	if (idle_expired(ctx, c, now)) {
		drop_idle(ctx, 1, "idle time limit");
		return NULL;
	}
	if (!within_limits(ctx, c, now)) {
		drop_idle(ctx, 1, "reuse time limit");
		return NULL;
	}
	ctx->conn_cache->idle = NULL;
	c->uses++;
	return c;
}

int tr_conn_cache_would_keep(const struct tlsrelay_ctx *ctx, const tr_conn *c)
{
	return ctx->conn_cache != NULL && within_limits(ctx, c, tr_now_ms());
}

void tr_conn_cache_put(struct tlsrelay_ctx *ctx, tr_conn *c, const char *key)
{
	free(c->key);
	if ((c->key = strdup(key)) == NULL) {
		tr_conn_close(ctx, c, 1);
		return;
	}
	/* A TLS 1.3 ticket arriving while it waits must not be stored under
	 * the key of whatever connection is active then (tls_cache.h). */
	tr_tls_release_cache(&c->io);
	/* What the TLS layer read ahead with the last reply (a 421 in a
	 * record of its own, in the same segment) is invisible to the poll()
	 * that watches an idle connection: read now. After that the socket
	 * tells (tr_io_idle_ok). No system call when nothing is held. */
	if (tr_io_buffered(&c->io) && !tr_io_idle_ok(&c->io)) {
		tr_vlog(ctx, 1, "%s: not keeping the connection (conn_use=%u): %s", c->relay, c->uses,
		        c->io.err);
		tr_conn_close(ctx, c, 0);
		return;
	}
	if (ctx->conn_cache->idle != NULL)
		drop_idle(ctx, 1, "replaced by the connection to another server");
	c->idle_ms = tr_now_ms();
	ctx->conn_cache->idle = c;
	tr_vlog(ctx, 1, "%s: connection kept for the next message (conn_use=%u)", c->relay,
	        c->uses);
}

int tr_conn_cache_idle_fd(const struct tlsrelay_ctx *ctx, int *ms)
{
	const tr_conn *c;
	long long left;

	*ms = 0;
	if (ctx == NULL || ctx->conn_cache == NULL || (c = ctx->conn_cache->idle) == NULL)
		return -1;
	left = c->idle_ms + (long long)ctx->cfg.connection_cache_time_limit * 1000 - tr_now_ms();
	*ms = left < 0 ? 0 : left > 0x7fffffff ? 0x7fffffff : (int)left;
	return c->io.fd;
}

int tr_conn_cache_tend(struct tlsrelay_ctx *ctx)
{
	tr_conn *c;

	if (ctx == NULL || ctx->conn_cache == NULL || (c = ctx->conn_cache->idle) == NULL)
		return 0;
	if (!tr_io_idle_ok(&c->io))
		drop_idle(ctx, 0, c->io.err);
	else if (idle_expired(ctx, c, tr_now_ms()))
		drop_idle(ctx, 1, "idle time limit");
	return ctx->conn_cache->idle != NULL;
}

const char *tr_conn_cache_label(const struct tlsrelay_ctx *ctx)
{
	if (ctx == NULL || ctx->conn_cache == NULL || ctx->conn_cache->idle == NULL)
		return "";
	return ctx->conn_cache->idle->label;
}

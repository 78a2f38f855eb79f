/*
 * redis_cluster.c - one Redis server or a Redis Cluster behind one seed
 * address (see redis_cluster.h).
 *
 * Decisions:
 * - No CLUSTER SLOTS: the slot map is learned one MOVED at a time (a slot
 *   -> node byte table, 16 KB). A fresh process (tlsrelay: one per
 *   delivery) pays one extra flight per node its commands meet; tlsrelayd
 *   keeps the map. Fewer replies to parse from a hostile node, too.
 * - A redirection is trusted as far as the seed: the node it names gets
 *   the same TLS (CA file, its name or address checked), the same
 *   password and db. Never a weaker connection: no TLS to a redirected
 *   node when the seed has TLS is impossible by construction (the node's
 *   address copies the seed's, only host and port change), and a unix
 *   socket seed follows nothing.
 * - Bounds: TR_RCL_REDIRECTS per command (a node answering MOVED to
 *   itself, or two nodes sending each other, end there), TR_RCL_NODES
 *   connections, and one deadline for the whole call, every connect and
 *   flight included.
 * - ASK: "ASKING" goes right before the command, in the same flight, to
 *   the node named; the slot map is not changed (the migration is not
 *   over).
 * - Replies keep the batch's order. Commands of one key keep their order
 *   too: they go to the same node in the same flight, and a redirection
 *   moves them together.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>
#include "io.h"
#include "redis_cluster.h"
#include "redis_slot.h"

struct node {
	tr_redis_addr addr;
	tr_redis *r;               /* NULL: not connected */
	unsigned long long used;   /* the call that last used it */
	int live;                  /* an entry in use */
};

struct tr_rcl {
	struct node node[TR_RCL_NODES];        /* node[0]: the seed */
	unsigned char map[TR_REDIS_SLOTS];     /* node index + 1; 0: not known (the seed) */
	tr_rcl_secret_fn secret;
	void *arg;
	char *ca_file;
	unsigned long long calls;
};

struct route {
	int node, ask, hops, todo;
};

static int left_ms(long long deadline)
{
	long long l = deadline - tr_now_ms();

	return l < 0 ? 0 : (int)l;
}

static tr_redis *connect_node(tr_rcl *c, const tr_redis_addr *a, long long deadline,
                              tlsrelay_status *st)
{
	char pw[512], why[TLSRELAY_TEXT_MAX];
	int has = c->secret ? c->secret(c->arg, pw, sizeof pw, why, sizeof why) : 0;
	tr_redis *r = NULL;

	if (has < 0)
		tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "%s", why);
	else
		r = tr_redis_connect(a, has ? pw : NULL, c->ca_file, left_ms(deadline), st);
	explicit_bzero(pw, sizeof pw);
	return r;
}

tr_rcl *tr_rcl_connect(const tr_redis_addr *seed, tr_rcl_secret_fn secret, void *arg,
                       const char *ca_file, int timeout_ms, tlsrelay_status *st)
{
	tr_rcl *c = calloc(1, sizeof *c);

	if (c == NULL || (ca_file && (c->ca_file = strdup(ca_file)) == NULL)) {
		free(c);
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		return NULL;
	}
	c->secret = secret;
	c->arg = arg;
	c->node[0].addr = *seed;
	c->node[0].live = 1;
	if ((c->node[0].r = connect_node(c, seed, tr_now_ms() + timeout_ms, st)) == NULL) {
		tr_rcl_close(c);
		return NULL;
	}
	return c;
}

int tr_rcl_closed(const tr_rcl *c)
{
	return c->node[0].r != NULL && tr_redis_closed(c->node[0].r);
}

void tr_rcl_close(tr_rcl *c)
{
	if (c == NULL)
		return;
	for (int k = 0; k < TR_RCL_NODES; k++)
		tr_redis_close(c->node[k].r);
	free(c->ca_file);
	free(c);
}

/* The index of the node at host:port, added (the least recently used
 * other node closed when all are taken); -1 when none can be freed. */
static int node_at(tr_rcl *c, const char *host, int port)
{
	int k, free_k = -1, lru = -1;

	for (k = 0; k < TR_RCL_NODES; k++) {
		struct node *nd = &c->node[k];

		if (nd->live && nd->addr.port == port && strcmp(nd->addr.host, host) == 0) {
			nd->used = c->calls;   /* in use by this call: never the one freed */
			return k;
		}
		if (!nd->live && free_k < 0)
			free_k = k;
		if (k > 0 && nd->live && nd->used < c->calls &&
		    (lru < 0 || nd->used < c->node[lru].used))
			lru = k;
	}
	if (free_k < 0 && (free_k = lru) >= 0) {
		tr_redis_close(c->node[free_k].r);
		for (int s = 0; s < TR_REDIS_SLOTS; s++)
			if (c->map[s] == free_k + 1)
				c->map[s] = 0;
	}
	if (free_k < 0)
		return -1;
	c->node[free_k] = (struct node){ c->node[0].addr, NULL, c->calls, 1 };
	snprintf(c->node[free_k].addr.host, sizeof c->node[free_k].addr.host, "%s", host);
	c->node[free_k].addr.port = port;
	return free_k;
}

/* 1 when reply (from node k) redirects command rt and the redirection is
 * followed (rt updated, the slot map after a MOVED), else 0. */
static int follow(tr_rcl *c, struct route *rt, int k, const redisReply *x)
{
	char host[sizeof c->node[0].addr.host];
	int ask, slot, port, to;

	if (x->type != REDIS_REPLY_ERROR || rt->hops >= TR_RCL_REDIRECTS ||
	    c->node[0].addr.path[0] ||
	    tr_redis_redirect(x->str, x->len, &ask, &slot, host, sizeof host, &port) != 1)
		return 0;
	if (host[0] == '\0')            /* "MOVED 1 :7001": the host that answered */
		snprintf(host, sizeof host, "%s", c->node[k].addr.host);
	if ((to = node_at(c, host, port)) < 0)
		return 0;
	if (!ask)
		c->map[slot] = (unsigned char)(to + 1);
	rt->node = to;
	rt->ask = ask;
	rt->hops++;
	return 1;
}

/* Node k's connection, (re)connected when needed; NULL with *st. */
static tr_redis *node_conn(tr_rcl *c, int k, long long deadline, tlsrelay_status *st)
{
	struct node *nd = &c->node[k];

	if (nd->r && k > 0 && tr_redis_closed(nd->r)) {     /* closed while idle */
		tr_redis_close(nd->r);
		nd->r = NULL;
	}
	if (nd->r == NULL)
		nd->r = connect_node(c, &nd->addr, deadline, st);
	nd->used = c->calls;
	return nd->r;
}

/* The commands routed to (k, ask) in one flight to node k; their replies
 * into replies[]. OK, or the failure (node k's connection closed). */
static tlsrelay_cat send_group(tr_rcl *c, const tr_redis_batch *b, struct route *rt, int k,
                               int ask, void **replies, long long deadline,
                               tlsrelay_status *st)
{
	static const char *asking[] = { "ASKING" };
	tr_redis_batch sub = { 0 };
	tr_redis_cmd acmd;
	int *idx = calloc(2 * (size_t)b->n, sizeof *idx), m = 0;
	void **rep = calloc(2 * (size_t)b->n, sizeof *rep);
	tr_redis *r;

	tr_redis_cmdv(&acmd, 1, asking);
	tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
	if (idx == NULL || rep == NULL)
		goto out;
	for (int i = 0; i < b->n; i++) {
		if (!rt[i].todo || rt[i].node != k || rt[i].ask != ask)
			continue;
		if (ask) {
			if (tr_redis_batch_add(&sub, &acmd, 1) < 0)
				goto out;
			idx[m++] = -1;
		}
		if (tr_redis_batch_copy(&sub, b, i) < 0)
			goto out;
		idx[m++] = i;
	}
	if ((r = node_conn(c, k, deadline, st)) == NULL)
		goto out;
	if (tr_redis_call_batch(r, &sub, rep, left_ms(deadline), st) != TLSRELAY_OK) {
		tr_redis_close(r);
		c->node[k].r = NULL;
		goto out;
	}
	for (int j = 0; j < m; j++) {
		if (idx[j] >= 0)
			replies[idx[j]] = rep[j];
		else
			freeReplyObject(rep[j]);    /* ASKING's +OK */
	}
out:
	tr_redis_batch_free(&sub);
	free(idx);
	free(rep);
	return st->cat;
}

tlsrelay_cat tr_rcl_call_batch(tr_rcl *c, const tr_redis_batch *b, void **replies,
                               int timeout_ms, tlsrelay_status *st)
{
	long long deadline = tr_now_ms() + timeout_ms;
	struct route *rt = calloc(b->n ? (size_t)b->n : 1, sizeof *rt);
	int more = 1;

	c->calls++;
	for (int i = 0; i < b->n; i++)
		replies[i] = NULL;
	if (rt == NULL)
		return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
	for (int i = 0; i < b->n; i++) {
		int s = b->slot[i];

		rt[i] = (struct route){ s >= 0 && c->map[s] ? c->map[s] - 1 : 0, 0, 0, 1 };
		/* a node this call will send to is never the one node_at frees
		 * for another command's redirection */
		c->node[rt[i].node].used = c->calls;
	}
	tr_status_ok(st);
	while (more) {
		for (int k = 0; k < TR_RCL_NODES; k++)
			for (int ask = 0; ask < 2; ask++) {
				int any = 0;

				for (int i = 0; i < b->n && !any; i++)
					any = rt[i].todo && rt[i].node == k && rt[i].ask == ask;
				if (any && send_group(c, b, rt, k, ask, replies, deadline, st) != TLSRELAY_OK)
					goto fail;
			}
		more = 0;
		for (int i = 0; i < b->n; i++) {
			int from = rt[i].node;

			if (!rt[i].todo)
				continue;
			rt[i].todo = 0;
			if (follow(c, &rt[i], from, replies[i])) {
				freeReplyObject(replies[i]);
				replies[i] = NULL;
				rt[i].todo = more = 1;
			}
		}
	}
	free(rt);
	return tr_status_ok(st);
fail:
	tr_redis_free_replies(replies, b->n);
	free(rt);
	return st->cat;
}

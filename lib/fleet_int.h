/*
 * fleet_int.h - the fleet store's state, shared by fleet.c and
 * fleet_hist.c only (see fleet.h).
 */
#ifndef TR_FLEET_INT_H
#define TR_FLEET_INT_H

#include <sys/types.h>
#include "fleet.h"
#include "redis.h"
#include "redis_cluster.h"

struct tr_fleet {
	struct tlsrelay_ctx *ctx;  /* the owner: its settings, its log */
	tr_redis_addr addr;        /* shared_store parsed */
	tr_rcl *r;                 /* NULL: not connected (one server or a cluster) */
	pid_t pid;                 /* the process r belongs to */
	int bad;                   /* shared_store unusable (logged) */
	int logged;                /* this process logged an outage (no marker file) */
	long long down_until;      /* tr_now_ms(): no new attempt before */
	long long failures, dropped; /* since tr_fleet_take_counts */
	int fresh;                 /* connected, no call answered yet */
	tr_redis_batch pend;       /* writes waiting for tr_fleet_flush */
	int pend_writes;           /* the writes in pend (counted if dropped) */
	char host[64];             /* helo_name, else this host's name ("by") */
};

/* Queue n commands of one write (a policy, a TLS-RPT result, a
 * delivery's history) for the next flush; a queue grown past
 * PEND_MAX is flushed first. 0, -1 (out of memory: counted dropped). */
int tr_fleet_queue(tr_fleet *f, const tr_redis_cmd *c, int n);

/* n commands on the connection; 0 with rep[] (free them), or -1: the
 * store is marked down (tr_fleet_outage) and rep[] holds nothing. An
 * error reply is a failure. */
int tr_fleet_call(tr_fleet *f, const tr_redis_cmd *c, int n, void **rep);

/* The same with a batch (b->n replies). */
int tr_fleet_call_batch(tr_fleet *f, const tr_redis_batch *b, void **rep);

/* Close, mark down, count, log once per outage. */
void tr_fleet_outage(tr_fleet *f, const char *why);

#endif

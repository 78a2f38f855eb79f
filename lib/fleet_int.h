/*
 * fleet_int.h - the fleet store's state, shared by fleet.c and
 * fleet_hist.c only (see fleet.h).
 */
#ifndef TR_FLEET_INT_H
#define TR_FLEET_INT_H

#include <sys/types.h>
#include "fleet.h"
#include "redis.h"

struct tr_fleet {
	struct tlsrelay_ctx *ctx;  /* the owner: its settings, its log */
	tr_redis_addr addr;        /* shared_store parsed */
	tr_redis *r;               /* NULL: not connected */
	pid_t pid;                 /* the process r belongs to */
	int bad;                   /* shared_store unusable (logged) */
	int logged;                /* this process logged an outage (no marker file) */
	long long down_until;      /* tr_now_ms(): no new attempt before */
	long long failures, dropped; /* since tr_fleet_take_counts */
};

/* n commands on the connection; 0 with rep[] (free them), or -1: the
 * store is marked down (tr_fleet_outage) and rep[] holds nothing. An
 * error reply is a failure. */
int tr_fleet_call(tr_fleet *f, const tr_redis_cmd *c, int n, void **rep);

/* Close, mark down, count, log once per outage. */
void tr_fleet_outage(tr_fleet *f, const char *why);

#endif

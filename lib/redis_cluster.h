/*
 * redis_cluster.h - the fleet store's Redis: one server, or a Redis
 * Cluster reached through one of its nodes (redis_cluster.c, on top of
 * redis.h). Built only when configure found hiredis.
 *
 * The same code serves both: commands go to the seed (shared_store) until
 * a node answers -MOVED or -ASK; then they follow the redirection, and a
 * MOVED teaches the slot's node for the next commands.
 *
 * CONTRACT
 * - tr_rcl_connect: connects the seed now (tr_redis_connect: TLS, one
 *   deadline); the other nodes are connected when a redirection names
 *   them, with the seed's settings: TLS when the seed has TLS (same CA
 *   file, the certificate checked against the address or name the
 *   redirection gave), the password (secret() is called at each connect,
 *   so a rotated file is read again) and db. A seed on a unix socket
 *   follows no redirection (it would be a TCP connection the admin did
 *   not configure): the MOVED stays an error.
 * - tr_rcl_call_batch: as tr_redis_call_batch (redis.h) for b->n
 *   commands, with ONE deadline for every flight to every node: commands
 *   are grouped by the node of their slot (learned from MOVED, else the
 *   seed) and each group is one pipelined flight; replies come back in
 *   the batch's order. A command follows at most TR_RCL_REDIRECTS
 *   redirections; after that its reply is the last MOVED/ASK error (the
 *   caller treats an error reply as a failure). At most TR_RCL_NODES
 *   connections are kept (the least recently used other than the seed is
 *   closed for a new one).
 *   A failure of any node's connection fails the call (TEMP 4.4.1, the
 *   node named) and closes that node's connection.
 * - tr_rcl_closed: the seed's connection was closed by the server while
 *   idle (tr_redis_closed). Other nodes' idle connections are checked,
 *   and replaced, before each use.
 * - Statuses: those of redis.h.
 */
#ifndef TR_REDIS_CLUSTER_H
#define TR_REDIS_CLUSTER_H

#include "redis.h"

#define TR_RCL_REDIRECTS 3
#define TR_RCL_NODES     16

typedef struct tr_rcl tr_rcl;

/* The password for a new connection into pw (cap bytes): 1 with a
 * password, 0 without, -1 with why set (the connection fails). */
typedef int (*tr_rcl_secret_fn)(void *arg, char *pw, size_t cap, char *why, size_t wcap);

/* Returns: the client with the seed connected (*st OK), or NULL with *st.
 * secret and arg must outlive the client. */
tr_rcl *tr_rcl_connect(const tr_redis_addr *seed, tr_rcl_secret_fn secret, void *arg,
                       const char *ca_file, int timeout_ms, tlsrelay_status *st);

/* Returns: OK with replies[0..b->n-1] set; TEMP 4.4.1, TEMP 4.3.0 or
 * INTERNAL 4.3.0 with every replies[i] NULL. */
tlsrelay_cat tr_rcl_call_batch(tr_rcl *c, const tr_redis_batch *b, void **replies,
                               int timeout_ms, tlsrelay_status *st);

/* 1 when the server closed the seed's (idle) connection, else 0. */
int tr_rcl_closed(const tr_rcl *c);

/* Close every connection and free; NULL is harmless. */
void tr_rcl_close(tr_rcl *c);

#endif

/*
 * redis.h - a minimal, deadline-bounded Redis client (redis.c), used only
 * by the fleet store (fleet.h). Built only when configure found hiredis.
 *
 * hiredis does the protocol: redisFormatCommandArgv formats each command,
 * a redisReader parses the replies. The socket and TLS are this file's own
 * (non-blocking fd, poll, OpenSSL): hiredis 0.14 (Debian 12) has no TLS,
 * and its blocking context bounds each read(2), not a whole call; here
 * every call, connecting included, ends by ONE deadline (timeout_ms from
 * its start), so a slow Redis costs a delivery at most that long.
 *
 * CONTRACT
 * - tr_redis_connect: TCP (host, port) or a unix socket (path), TLS when
 *   tls is set (certificate verified against ca_file, or the system's
 *   store when NULL, and the host name or IP address), one deadline.
 *   AUTH (password, when not NULL: its text never appears in a status)
 *   and SELECT db are not sent yet: they go in front of the first call's
 *   commands, in the same flight (a round trip saved per connection), and
 *   a refusal is that call's failure.
 * - tr_redis_call: n commands sent pipelined in one write, n replies read;
 *   replies[i] are hiredis redisReply * (freeReplyObject each, or
 *   tr_redis_free_replies). An error reply is a reply, not a failure.
 *   Any failure (timeout, connection closed, protocol error, AUTH or
 *   SELECT refused) leaves the connection unusable: close it.
 * - tr_redis_batch: commands formatted now and sent later in one flight
 *   (the fleet store's writes of one delivery); the batch owns copies of
 *   the arguments.
 * - tr_redis_closed: the server closed the connection while it was idle
 *   (a restart, its idle timeout): a kept connection is checked before it
 *   is used, without a round trip, so that a long-lived process connects
 *   again instead of failing a call.
 * - Statuses: TEMP 4.4.1 (cannot connect, timeout, closed, TLS), TEMP
 *   4.3.0 (AUTH or SELECT refused), INTERNAL 4.3.0 (out of memory). Texts
 *   name the server ("redis 127.0.0.1:6379: ...").
 */
#ifndef TR_REDIS_H
#define TR_REDIS_H

#include <stddef.h>
#include "status.h"

typedef struct tr_redis tr_redis;

typedef struct tr_redis_addr {
	char host[256];            /* "" with a unix socket path */
	int port;
	char path[108];            /* unix socket, "" for TCP */
	int db;
	int tls;                   /* rediss:// */
} tr_redis_addr;

#define TR_REDIS_ARGS_MAX 12

/* A command: argc arguments, binary-safe. */
typedef struct tr_redis_cmd {
	int argc;
	const char *argv[TR_REDIS_ARGS_MAX];
	size_t len[TR_REDIS_ARGS_MAX];
} tr_redis_cmd;

/* Commands formatted for one later flight. Zero-initialise. */
typedef struct tr_redis_batch {
	char *buf;                 /* the commands in Redis's wire format */
	size_t len, cap;
	int n;                     /* commands */
	size_t *off;               /* off[i]: where command i starts in buf */
	int *slot;                 /* slot[i]: its key's hash slot, -1: no key */
	int ncap;                  /* room in off[] and slot[] */
} tr_redis_batch;

/* Append n commands; 0, or -1 (out of memory: the batch is unchanged). */
int tr_redis_batch_add(tr_redis_batch *b, const tr_redis_cmd *cmds, int n);

/* Append command i of src (its bytes and slot); 0, or -1 (out of memory:
 * dst is unchanged). */
int tr_redis_batch_copy(tr_redis_batch *dst, const tr_redis_batch *src, int i);

/* Empty the batch and free its memory (the buffer is wiped first). */
void tr_redis_batch_free(tr_redis_batch *b);

/* Returns: the connection (*st OK), or NULL with *st (see above). */
tr_redis *tr_redis_connect(const tr_redis_addr *a, const char *password, const char *ca_file,
                           int timeout_ms, tlsrelay_status *st);

/* Returns: OK with replies[0..n-1] set; TEMP 4.4.1 or INTERNAL 4.3.0 with
 * every replies[i] NULL. */
tlsrelay_cat tr_redis_call(tr_redis *r, const tr_redis_cmd *cmds, int n, void **replies,
                           int timeout_ms, tlsrelay_status *st);

/* The batch's b->n commands in one flight, as tr_redis_call (replies has
 * b->n slots). The batch is left as it was.
 * Returns: OK with replies[] set; TEMP 4.4.1 (timeout, closed, protocol),
 * TEMP 4.3.0 (AUTH or SELECT refused), INTERNAL 4.3.0 (out of memory),
 * with every replies[i] NULL. */
tlsrelay_cat tr_redis_call_batch(tr_redis *r, const tr_redis_batch *b, void **replies,
                                 int timeout_ms, tlsrelay_status *st);

/* 1 when the server closed the (idle) connection, else 0. */
int tr_redis_closed(const tr_redis *r);

void tr_redis_free_replies(void **replies, int n);

/* Close and free; NULL is harmless. */
void tr_redis_close(tr_redis *r);

/* A command from NUL-terminated strings (1 <= argc <= TR_REDIS_ARGS_MAX;
 * anything else is a bug of the caller: tr_panic). */
void tr_redis_cmdv(tr_redis_cmd *c, int argc, const char *const *argv);

#endif

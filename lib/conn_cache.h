/*
 * conn_cache.h - SMTP connections kept open between deliveries
 * (conn_cache.c): the connection cache of a tlsrelayd delivery process.
 *
 * After a transaction the session (smtp_client.c) gives its connection
 * (TLS included) to the cache instead of sending QUIT; the next session
 * whose key is identical takes it and runs its transaction at once: no
 * TCP or TLS handshake, no greeting, EHLO or AUTH, and with PIPELINING
 * (and CHUNKING) one round trip for the message.
 *
 * THE KEY is everything the opening of a connection depended on, so that a
 * message never rides a connection it could not have opened itself:
 *   the server's address and port, its host name, the nexthop, the HELO
 *   name, the credentials key (sasl_password_map; AUTH is done once per
 *   connection), smtps or STARTTLS, the plaintext retry of level may, and
 *   tr_demand_key() of the server's demand (level, authentication, names,
 *   pins, SNI, protocols, ciphers, san_only, TLSA records).
 * Equal keys only: a message with a stricter demand (a milter's
 * requirement, a message rule) opens a new connection; so does one with a
 * weaker demand (its own connection, not a stricter one it happens to
 * find: the key says what was checked, not more or less).
 *
 * LIMITS (tlsrelay.conf, Postfix's names without smtp_):
 *   connection_cache              yes|no, default yes: tlsrelayd keeps
 *                                 connections (the tlsrelay program never:
 *                                 it delivers one message and exits)
 *   connection_cache_time_limit   an idle connection is closed after this
 *                                 (default 2s)
 *   connection_reuse_count_limit  transactions on one connection (default
 *                                 100): after the last one, QUIT
 *   connection_reuse_time_limit   a connection older than this is not given
 *                                 another transaction (default 300s)
 * A process keeps at most ONE idle connection (the last one that ended
 * clean): never more idle connections than delivery processes. tlsrelayd
 * hands a delivery to the process whose idle connection serves its
 * nexthop (the routing label below; plugin/daemon/pool.c).
 *
 * A CONNECTION IS KEPT only when it is clean: the session did not fail,
 * the last reply was read whole and nothing more was received, the last
 * reply was not 421, and it is within the limits. needs_rset says whether
 * a transaction may still be open (MAIL sent, no 2xx to the end of data):
 * then the next transaction starts with RSET (pipelined with MAIL when the
 * server offers PIPELINING).
 *
 * While idle, the server may hang up (end of file, reset) or say 421 and
 * hang up: tr_conn_cache_tend() notices it (the process polls the socket
 * between deliveries) and tr_conn_cache_take() checks again; such a
 * connection is closed and a new one opened. Part of a TLS record (its
 * rest still to come) keeps an idle connection (tend waits for the rest)
 * but is not taken (take closes it). One the server closed after
 * the check, before MAIL was accepted, is replaced by the session
 * (smtp_client.h).
 *
 * Logging: the cache logs through ctx (tr_vlog 1) while a delivery runs;
 * between deliveries a tlsrelayd process has no logger, and what tend()
 * closes is not logged.
 */
#ifndef TR_CONN_CACHE_H
#define TR_CONN_CACHE_H

#include "tlsrelay.h"
#include "smtp_client.h"

#define TR_CONN_KEY_MAX 4096

struct tr_conn_cache;

/* Turn the cache on in ctx when its connection_cache setting says yes (a
 * tlsrelayd delivery process, on its warm context). Out of memory: there
 * is no cache, every session ends with QUIT.
 * Returns: OK, INTERNAL 4.3.0 (out of memory). */
tlsrelay_cat tr_conn_cache_enable(struct tlsrelay_ctx *ctx, tlsrelay_status *st);

/* ctx serves a tlsrelayd delivery process (ctx_warm.c): its connection
 * cache on (tr_conn_cache_enable), messages up to TLSRELAY_SPOOL_MEMORY_MAX
 * spooled in memory (message.h), the TLS history's record of each delivery
 * kept until tr_ctx_after_result (history.h, DEFERRED).
 * Returns: OK, INTERNAL 4.3.0 (out of memory: without the connection
 * cache). */
tlsrelay_cat tr_ctx_delivery_process(struct tlsrelay_ctx *ctx, tlsrelay_status *st);

/* A delivery process has sent its delivery's result to its client: the
 * work left until then is done now (the TLS history's record and the
 * fleet's queued writes, in one flight as before; lines go to ctx's
 * logger at this time). Call it after every delivery, before the
 * next request. Safe with nothing left and with ctx NULL. */
void tr_ctx_after_result(struct tlsrelay_ctx *ctx);

/* Free the cache: the idle connection, if any, gets QUIT and is closed.
 * Safe without a cache. */
void tr_conn_cache_free(struct tlsrelay_ctx *ctx);

/* Whether sessions of ctx with p may use the cache: a cache is on, and p
 * is an ordinary delivery (not a dry run, not a read-only TLS session
 * cache, not a scripted server). */
int tr_conn_cache_usable(const struct tlsrelay_ctx *ctx, const tr_session_params *p);

/* The key of p's connection into out: its length, or -1 when it does not
 * fit in cap (such a connection is never cached). */
int tr_conn_key(const tr_session_params *p, char *out, size_t cap);

/* The routing label of p's connection: "nexthop:port" in lower case. */
void tr_conn_label(const tr_session_params *p, char *out, size_t cap);

/* The idle connection with this key, taken out of the cache and counted
 * as used once more, when it is alive and within the limits; NULL when
 * there is none (one that is dead or over a limit is closed, and so is
 * one whose TLS layer holds part of a record: the server is sending
 * something, and a transaction needs a connection at rest). */
tr_conn *tr_conn_cache_take(struct tlsrelay_ctx *ctx, const char *key);

/* Whether the cache would keep c after its transaction (the limits; the
 * session checks that it is clean). */
int tr_conn_cache_would_keep(const struct tlsrelay_ctx *ctx, const tr_conn *c);

/* Keep c (the cache owns it from now on) under key; the connection kept
 * before is closed with QUIT. Out of memory: c is closed with QUIT
 * instead (nothing is lost but the next message's handshake). When c's
 * TLS layer read ahead something the server sent after its last reply
 * (tr_io_idle_ok fails on it: "421 ..."), c is closed without QUIT and
 * the connection kept before stays. */
void tr_conn_cache_put(struct tlsrelay_ctx *ctx, tr_conn *c, const char *key);

/* Between deliveries: the idle connection's socket (-1: none) and, in
 * *ms, the milliseconds until it reaches its idle time limit (>= 0).
 * poll() of that socket is enough: tr_conn_cache_put() and
 * tr_conn_cache_tend() leave no complete record in its TLS layer's
 * read-ahead buffer (tr_io_buffered). */
int tr_conn_cache_idle_fd(const struct tlsrelay_ctx *ctx, int *ms);

/* Between deliveries, when the idle socket is readable or its time is up:
 * closes the idle connection when the server spoke or hung up (no QUIT)
 * or the idle time limit is reached (QUIT). Returns 1 when a connection is
 * still kept, 0 when none is. */
int tr_conn_cache_tend(struct tlsrelay_ctx *ctx);

/* The routing label of the idle connection, "" when there is none. */
const char *tr_conn_cache_label(const struct tlsrelay_ctx *ctx);

/* The routing label of a delivery to rcpt under ctx's configuration: its
 * relayhost, else the recipient's domain, as "host:port" in lower case
 * (as tr_conn_label() says it for the connection); "" when there is none
 * (no domain, a relayhost that does not parse). For tlsrelayd, which
 * routes a request before any delivery process read it. */
void tr_conn_route_label(const struct tlsrelay_ctx *ctx, const char *rcpt, char *out,
                         size_t cap);

#endif

/*
 * log.h - logging through the context's logger (log.c).
 *
 * The library never writes to stderr or syslog itself: the program gives a
 * callback (tlsrelay_ctx_set_logger). Levels: tr_log() for what an admin
 * always wants (one line per recipient, TLS posture, failures), tr_vlog()
 * for -v detail (state transitions: level 1, SMTP dialogue: level 2).
 * Nothing logged may hold a password: callers mask AUTH arguments.
 */
#ifndef TR_LOG_H
#define TR_LOG_H

#include "status.h"

struct tlsrelay_ctx;

/* priority: syslog LOG_* value. */
void tr_log(struct tlsrelay_ctx *ctx, int priority, const char *fmt, ...) TR_PRINTF(3, 4);

/* Logged only when the context's verbosity is >= level (as LOG_DEBUG). */
void tr_vlog(struct tlsrelay_ctx *ctx, int level, const char *fmt, ...) TR_PRINTF(3, 4);

/* Current verbosity (0 when ctx is NULL). */
int tr_verbosity(const struct tlsrelay_ctx *ctx);

/* An impossible state was reached (a bug of this code, or of a program
 * using the library): log "internal error: TEXT" at LOG_CRIT through ctx's
 * logger (ctx NULL or without one: to standard error, the one line the
 * library ever writes there) and abort(). Only for states no input can
 * cause: never for anything a server, a DNS answer, a message, a
 * configuration file or a socket client controls (those get a status).
 * The mail is kept: an MTA defers a transport that dies by a signal
 * (Postfix pipe(8): "Command died with signal 6"). */
_Noreturn void tr_panic(struct tlsrelay_ctx *ctx, const char *fmt, ...) TR_PRINTF(2, 3);

#endif

/*
 * history.h - the TLS history: an observer of each delivery that records
 * what every attempt to a server showed of TLS and how it ended
 * (history.c), in the store of tls_history (history_store.h).
 *
 * PER ATTEMPT (a session with one address, or a server the demand skipped)
 *   time, destination (as a policy map key), nexthop, policy domain (the
 *   recipient domain for MX delivery, "" for a relay host), MX host and
 *   address, whether STARTTLS was offered, the posture (plaintext,
 *   anonymous, untrusted, trusted, verified; "none" when no TLS result),
 *   how it was verified (ca+name with the name, pins, dane with the
 *   record; sts = the MTA-STS mode applied), protocol, cipher, the
 *   certificate's expiry and SPKI digest, the demand (level, source), the
 *   outcome (delivered, deferred, bounced, with DSN, reason class and
 *   text), the TLS-RPT result type under DANE or MTA-STS, the shadow
 *   policy's verdict (shadow.h), the MTA's queue ID. A plaintext retry of
 *   level may is the same attempt (its outcome replaces the first
 *   session's; the posture becomes plaintext). The last attempt of each
 *   destination settles the message for it (the "messages" counts).
 *
 * WHEN: everything is written at the end of the delivery (DONE), in one
 * transaction, through the context's store (opened on first use and kept:
 * a tlsrelayd delivery process writes many deliveries through one). A
 * store that cannot be opened or written is logged (LOG_WARNING, "TLS
 * history: ...") and the delivery goes on: the mail never waits for it
 * beyond the store's short lock wait. A store busy past that wait loses
 * nothing: the delivery waits in its pending journal for the next writer
 * (history_journal.h).
 *
 * DEFERRED (tr_history_defer; a tlsrelayd delivery process, turned on by
 * tr_ctx_delivery_process): at DONE the record is only kept in the context
 * (at most one; in memory); tr_history_flush() writes it, which the
 * process calls once the delivery's result has reached its client (and
 * before it takes the next request), so that neither the client nor the
 * MTA behind it ever waits for the history (nor for the fleet's queued
 * writes: deliver.c leaves them for tr_ctx_after_result too). The trade:
 * a process that dies between its result and the flush (a signal, a
 * crash) loses that one record; the delivery itself is done and reported. Lines logged by
 * the write go to the logger the context has at the flush (the daemon's
 * log: the client's standard error is closed by then).
 *
 * STARTTLS STRIPPING: an attempt that shows no STARTTLS at a server
 * that offered it and verified within the retention is logged
 * (LOG_WARNING "STARTTLS missing at ...: it offered STARTTLS and verified
 * on DATE") and counted (tlsrelay_starttls_lost_total); when such losses
 * at TR_HIST_STRIP_MIN or more destinations fall within
 * TR_HIST_STRIP_WINDOW seconds, one line, once per window for all
 * processes: "STARTTLS missing for N destinations that offered it: a
 * middlebox may be stripping it".
 *
 * Not recorded: dry runs (tlsrelay-probe).
 */
#ifndef TR_HISTORY_H
#define TR_HISTORY_H

#include "nexthop.h"
#include "observe.h"
#include "shadow.h"

#define TR_HIST_STRIP_WINDOW 600
#define TR_HIST_STRIP_MIN    3
#define TR_HIST_MAX_ATTEMPTS 64      /* per delivery; later ones are not kept */

struct tlsrelay_ctx;
struct tr_hist_rec_attempt;
struct tr_hist_dest;

typedef struct tr_history {
	struct tlsrelay_ctx *ctx;
	const tr_shadow *shadow;     /* its verdicts (NULL: no shadow) */
	struct tr_hist_dest *dests;  /* the nexthops routed (heap) */
	int ndest, dcap;
	const struct tr_dane_host *facts;  /* the current server's DANE facts */
	struct tr_hist_rec_attempt *a;  /* the attempts (heap) */
	int n, cap, cur;             /* cur: the session's attempt, -1 none */
	int dropped;                 /* attempts beyond TR_HIST_MAX_ATTEMPTS */
} tr_history;

/* Set up h for one delivery (shadow: the delivery's shadow, or NULL). */
void tr_history_init(tr_history *h, struct tlsrelay_ctx *ctx, const tr_shadow *shadow);

/* Release h (after DONE, or when the delivery never started). */
void tr_history_end(tr_history *h);

/* The observer (observe.h); arg: a tr_history. Writes at DONE. */
void tr_history_observe(void *arg, const tr_event *ev);

/* Defer the writes of ctx's deliveries (on), or write at DONE again
 * (off: a kept record is written now). */
void tr_history_defer(struct tlsrelay_ctx *ctx, int on);

/* Write the record kept at DONE, if any (its lines carry the delivery's
 * queue ID), and forget it. Safe with none kept and with ctx NULL. */
void tr_history_flush(struct tlsrelay_ctx *ctx);

/* The destination key of nh: the form a tls_policy_map key takes
 * ("example.com", "example.com:587", "[relay.example]", "[::1]:2525"). */
char *tr_history_dest(const tr_nexthop *nh, char *out, size_t cap);

/* The reason class of a failed attempt that is not a TLS failure (from
 * its DSN and whether the server said it): connect-failed,
 * lost-connection, protocol-error, refused-4xx, refused-5xx, other. */
const char *tr_history_reason(const tlsrelay_status *st);

#endif

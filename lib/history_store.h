/*
 * history_store.h - where the TLS history is kept: the store interface
 * (one back end today, SQLite: history_sqlite.c; a later one may be
 * Redis, the "fleet store"). Nothing outside history_sqlite.c knows the
 * back end: the observer (history.c) writes through tr_hist_record, the
 * reports (report*.c) read through the tr_hist_each_* calls.
 *
 * WHAT IS KEPT
 *   attempts   the recent attempts, one row per session with a server
 *              address or per server the demand skipped (tr_hist_attempt),
 *              newest kept: bounded by age (days) and by the store's size;
 *              conn_use says whether the session had a TLS session of its
 *              own (1) or rode a connection kept by tlsrelayd (N > 1)
 *   daily      per day and destination, counts of attempts, messages and
 *              reused attempts (on a kept connection) by (posture,
 *              verified_by, sts, outcome, reason, level, level_src,
 *              dane_result, sts_result, shadow): grows with destinations x
 *              days, not with traffic
 *   servers    per destination and MX host: first and last seen, when it
 *              last offered STARTTLS and last verified, its certificate's
 *              expiry and SPKI digest (STARTTLS-stripping detection,
 *              expiring certificates)
 *   counters   totals since the store was made, by name and label set
 *              (Prometheus counters: monotonic, never pruned; their label
 *              values come from fixed vocabularies, so they are bounded)
 *   strips     recent STARTTLS losses (destination, time), and when the
 *              middlebox warning was last given
 *
 * CONTRACT
 * - tr_hist_record writes one delivery's attempts, counters and the
 *   STARTTLS-loss detection in ONE transaction. It never waits more than a
 *   few milliseconds for another writer (many transports, tlsrelayd's
 *   processes write at once): when the lock stays busy the delivery goes
 *   to the store's pending journal (history_journal.h) and the next
 *   writer, or a reader that may write, takes it in; a write that cannot
 *   be made either way is TEMP with the reason; the caller logs it and
 *   the delivery goes on. A store over its size limit drops its oldest
 *   attempts (and oldest days) and tries once more.
 * - Strings are copied; the store keeps no pointer to the caller's data.
 *   Pointers handed to an each_* callback are valid during the call only;
 *   the callback returns non-zero to stop.
 * - Domains and host names are stored lower-case.
 * - A store is used by one thread; it must not cross a fork (open it in
 *   the process that uses it).
 */
#ifndef TR_HISTORY_STORE_H
#define TR_HISTORY_STORE_H

#include <stddef.h>
#include "status.h"

typedef struct tr_hist_store tr_hist_store;

/* How a store is opened. */
typedef struct tr_hist_limits {
	int days;                  /* retention: attempts and days older go */
	long long max_bytes;       /* the store's size limit (0: none) */
} tr_hist_limits;

/* One attempt (every string non-NULL; "" for none). */
typedef struct tr_hist_attempt {
	long long t;               /* Unix time */
	const char *dest;          /* the destination, as a policy map key:
	                            * "example.com", "[relay.example]:587" */
	const char *nexthop;       /* canonical nexthop "example.com:25" */
	const char *policy_domain; /* the recipients' domain */
	const char *mx;            /* the server's host name */
	const char *addr;          /* its address ("" when skipped) */
	int offered;               /* STARTTLS offered: 1, 0; -1 unknown */
	const char *posture;       /* plaintext, anonymous, untrusted, trusted,
	                            * verified; "none": no TLS result */
	const char *verified_by;   /* "", "ca+name", "pins", "dane" */
	const char *verify_detail; /* the matched name or TLSA record */
	const char *sts;           /* MTA-STS mode applied: "", "enforce", "testing" */
	const char *protocol, *cipher;
	long long cert_not_after;  /* 0: unknown */
	const char *spki;          /* SHA-256 of the public key, "AB:CD:.." */
	const char *level;         /* the demand's level */
	const char *level_src;     /* where it came from (tr_src_name) */
	const char *level_detail;  /* the source text ("FILE:3 key example.com") */
	const char *outcome;       /* delivered, deferred, bounced */
	const char *dsn;
	const char *reason;        /* a class: tr_tls_fail_name, or connect-failed,
	                            * lost-connection, protocol-error, refused-4xx,
	                            * refused-5xx, other; "" when delivered */
	const char *text;          /* the status text */
	const char *dane_result;   /* TLS-RPT result type of a DANE server, "" */
	const char *sts_result;    /* TLS-RPT result type under MTA-STS, "" */
	const char *shadow;        /* "" (no shadow policy), "pass", "unknown", or
	                            * the class of the failure it would have had */
	const char *shadow_level;
	const char *shadow_text;
	int message;               /* 1: this attempt settled a message for dest */
	const char *queue_id;      /* the MTA's queue ID, "" */
	unsigned conn_use;         /* transactions on its connection, this one
	                            * included: 1 a new connection (its own TLS
	                            * session), N > 1 a connection kept by
	                            * tlsrelayd (no new TLS session: a reuse),
	                            * 0 no connection (a skipped server) */
} tr_hist_attempt;

/* A counter to add 1 to: name and label set ("posture=\"verified\",..."). */
typedef struct tr_hist_count {
	const char *name;
	const char *labels;
} tr_hist_count;

/* STARTTLS-loss detection (tr_hist_record): an attempt that shows no
 * STARTTLS (offered == 0) where the same destination and MX host offered
 * it and verified within the retention is a loss; when losses of at least
 * threshold destinations fall within window seconds and the warning was
 * not given in that window, alert says how many. */
typedef struct tr_hist_strip {
	int window;                /* seconds */
	int threshold;             /* destinations */
	int lost[16];              /* out: per attempt (the first 16), 1 = a loss */
	int alert;                 /* out: 0, or the number of destinations */
} tr_hist_strip;

/* Open (create when create != 0) the store at path, or NULL with *st.
 * Reading without create never makes a file; a reader that may write
 * takes in the pending journal (tr_hist_import; busy: left for later).
 * Returns: OK; TEMP 4.3.0 ("PATH: REASON": SQLite cannot be loaded, the
 * file cannot be opened or made, is no TLS history store, or is not
 * writable by this user when create is set); INTERNAL 4.3.0 (out of
 * memory). */
tr_hist_store *tr_hist_open(const char *path, int create, const tr_hist_limits *lim,
                            tlsrelay_status *st);
void tr_hist_close(tr_hist_store *s);

/* One delivery: n attempts, nc counters, the loss detection (strip may
 * be NULL), now. Nothing is written unless all of it is.
 * Returns: OK, TEMP 4.3.0 ("cannot record: REASON", e.g. "database is
 * locked"). */
tlsrelay_cat tr_hist_record(tr_hist_store *s, const tr_hist_attempt *a, size_t n,
                            const tr_hist_count *c, size_t nc, tr_hist_strip *strip,
                            long long now, tlsrelay_status *st);

/* Take the pending journal's deliveries into the store (done by every
 * tr_hist_record, and by tr_hist_open for a reader that may write).
 * Returns: OK, TEMP 4.3.0 ("import: REASON", e.g. "database is locked"). */
tlsrelay_cat tr_hist_import(tr_hist_store *s, tlsrelay_status *st);

/* Drop what is older than lim->days (also done now and then by
 * tr_hist_record); *removed: the rows removed.
 * Returns: OK, TEMP 4.3.0 ("prune: REASON"). */
tlsrelay_cat tr_hist_prune(tr_hist_store *s, long long now, int *removed, tlsrelay_status *st);

/* A day's aggregate row. */
typedef struct tr_hist_day {
	const char *day;           /* "2026-12-06" (UTC) */
	const char *dest, *posture, *verified_by, *sts, *outcome, *reason, *level, *level_src;
	const char *dane_result, *sts_result, *shadow;
	long long attempts, messages;
	long long reused;          /* attempts on a kept connection (conn_use > 1) */
} tr_hist_day;

/* Rows of days >= since_day ("" all), of dest (NULL: all), in (day, dest)
 * order.
 * Returns: OK, TEMP 4.3.0 ("read: REASON"). */
tlsrelay_cat tr_hist_each_day(tr_hist_store *s, const char *since_day, const char *dest,
                              int (*fn)(const tr_hist_day *row, void *arg), void *arg,
                              tlsrelay_status *st);

/* The recent attempts (strings as tr_hist_attempt; newest first) of dest
 * (NULL: all) since (Unix time), at most limit.
 * Returns: OK, TEMP 4.3.0 ("read: REASON"). */
tlsrelay_cat tr_hist_each_attempt(tr_hist_store *s, const char *dest, long long since,
                                  int limit, int (*fn)(const tr_hist_attempt *a, void *arg),
                                  void *arg, tlsrelay_status *st);

/* A server's state. */
typedef struct tr_hist_server {
	const char *dest, *mx, *spki;
	long long first_seen, last_seen, last_offered, last_verified, cert_not_after;
} tr_hist_server;

/* Every server known (dest, mx order).
 * Returns: OK, TEMP 4.3.0 ("read: REASON"). */
tlsrelay_cat tr_hist_each_server(tr_hist_store *s,
                                 int (*fn)(const tr_hist_server *sv, void *arg), void *arg,
                                 tlsrelay_status *st);

/* Every counter (name, labels order).
 * Returns: OK, TEMP 4.3.0 ("read: REASON"). */
tlsrelay_cat tr_hist_each_counter(tr_hist_store *s,
                                  int (*fn)(const char *name, const char *labels,
                                            long long value, void *arg),
                                  void *arg, tlsrelay_status *st);

#endif

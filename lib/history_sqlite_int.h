/*
 * history_sqlite_int.h - what the two halves of the SQLite TLS history
 * store share: history_sqlite.c (opening, the schema, writing) and
 * history_sqlite_read.c (the readers of tlsrelay-report). Nothing else
 * includes it; the interface of the store is history_store.h.
 */
#ifndef TR_HISTORY_SQLITE_INT_H
#define TR_HISTORY_SQLITE_INT_H

#include <stddef.h>
#include "history_store.h"
#include "sqlite_dl.h"
#include "status.h"

/* The prepared write statements (history_sqlite.c's stmt_sql). */
enum { S_ATTEMPT, S_DAILY, S_SERVER, S_COUNTER, S_LASTVER, S_STRIP, S_STRIPS, S_MARK,
       S_SETMARK, S_COUNT };

struct tr_hist_store {
	sqlite3 *db;
	sqlite3_stmt *st[S_COUNT];
	tr_hist_limits lim;
	long long busy_start;      /* microseconds, of the current wait */
	long long pruned;          /* the "prune" mark last seen by this connection */
	int wal_frames;            /* frames in the WAL after the last commit */
	char *jpath, *jtpath;      /* the pending journal, and it taken (history_journal.h) */
	int jtaken;                /* the transaction imports jtpath */
	int ready;                 /* the schema is there (busy at the open: 0) */
	int jheld;                 /* its import lock (tr_hj_take), or -1 */
	char err[512];
};

/* s->err = "WHAT: SQLite's message". */
void tr_hsq_fail(tr_hist_store *s, const char *what);

/* s->err as st (4.3.0).
 * Returns: TEMP. */
tlsrelay_cat tr_hsq_failed(const tr_hist_store *s, tlsrelay_status *st);

/* Bind v (NULL: "") as text parameter i of st. */
void tr_hsq_text(sqlite3_stmt *st, int i, const char *v);

#endif

/*
 * history_journal.h - the TLS history store's pending journal: where a
 * delivery's record goes when the store's write lock is busy (another
 * writer, a checkpoint), so that contention delays no delivery and loses
 * no row. history_sqlite.c appends to it on busy and imports it inside
 * the next write transaction that gets the lock (see its header for the
 * why); this file holds the record format, the append and the parser.
 *
 * THE FILES: "STORE-pending" next to the store (not "-journal": that name
 * is SQLite's rollback journal, which SQLite would take as a hot journal).
 * Records are appended with O_APPEND, one write(2) each, under a shared
 * flock(2). An importer (holding the store's write lock, so one at a time)
 * renames it to "STORE-pending-taken" under an exclusive flock, imports
 * that in its transaction and removes it after its commit, holding an
 * OFD write lock (fcntl, independent of the appenders' flock) on it from
 * the take to the removal: the next importer, which may get the store's
 * lock between that commit and the removal, leaves a locked taken file
 * alone instead of importing it a second time; a taken file
 * left by a failed import (or a crash) is imported by the next importer
 * before anything else (a crash between a commit and the removal imports
 * those records twice: counted twice, never lost).
 * Mode 0640; a file root would make in another user's directory is made
 * for that user (as the store: tr_sqlite_create_for_owner); root opens them
 * without following a symbolic link; anything but a regular file is
 * refused.
 *
 * A RECORD (integers little-endian):
 *   "TRHJ"  u32 payload length  u32 FNV-1a of the payload  payload
 *   payload: i64 now, u16 attempts, u16 counters, each attempt (i64 t,
 *   i32 offered, i64 cert_not_after, i32 message, u32 conn_use, then its
 *   HJ_STRINGS strings), each counter (name, labels); a string is u16
 *   length (its NUL included, >= 1) and the bytes, the last one NUL.
 *
 * LIMITS: a record at most TR_HJ_REC_MAX bytes, TR_HJ_MAX_ATTEMPTS
 * attempts and TR_HJ_MAX_COUNTERS counters; the file at most TR_HJ_CAP
 * bytes (a record that would pass it is not written: the caller reports
 * the loss as before the journal existed). The parser reads bytes it does
 * not trust (a crash may leave half a record; the file may be anything):
 * a record that is not whole and exact is skipped by looking for the next
 * "TRHJ"; at most TR_HJ_RESYNC_MAX such looks per cursor, then the rest is
 * skipped: linear in the buffer, no allocation, never past its end.
 */
#ifndef TR_HISTORY_JOURNAL_H
#define TR_HISTORY_JOURNAL_H

#include <stddef.h>
#include "history_store.h"
#include "status.h"

#define TR_HJ_CAP          (256 * 1024)   /* bytes in the file */
#define TR_HJ_REC_MAX      (128 * 1024)   /* bytes in one record */
#define TR_HJ_MAX_ATTEMPTS 64
#define TR_HJ_MAX_COUNTERS 1024
#define TR_HJ_RESYNC_MAX   64
#define TR_HJ_LOCK_MS      10             /* longest wait for the file's flock */

/* One decoded record: its strings point into the parsed buffer. */
typedef struct tr_hj_record {
	long long now;
	size_t n, nc;
	tr_hist_attempt a[TR_HJ_MAX_ATTEMPTS];
	tr_hist_count c[TR_HJ_MAX_COUNTERS];
} tr_hj_record;

/* store_path with suffix ("-pending", "-pending-taken"): malloc'd, or NULL. */
char *tr_hj_path(const char *store_path, const char *suffix);

/* One delivery as a record into a malloc'd buffer: its length, or 0 when
 * it is over a limit or out of memory (*out NULL). */
size_t tr_hj_encode(const tr_hist_attempt *a, size_t n, const tr_hist_count *c, size_t nc,
                    long long now, unsigned char **out);

/* Append one delivery to the journal at path (made when missing).
 * Returns: OK; TEMP 4.3.0 ("pending journal full (N bytes)", "pending
 * journal: REASON": busy, not a regular file, record too large, errno). */
tlsrelay_cat tr_hj_append(const char *path, const tr_hist_attempt *a, size_t n,
                          const tr_hist_count *c, size_t nc, long long now, tlsrelay_status *st);

/* Where a parse is in its buffer (start it zeroed). */
typedef struct tr_hj_cursor {
	size_t off;                /* the next byte to read */
	size_t skipped;            /* bytes that were no record */
	int resyncs;               /* looks for "TRHJ" after a bad record */
} tr_hj_cursor;

/* Under the store's write lock: is there something to import in taken
 * (left there by a failed import, or path renamed to it now)? 1 yes,
 * *held an fd on taken holding its import lock (no descriptor, a negative
 * one, when taken cannot be opened: it goes all the same); 0 no (nothing pending, an appender at
 * work, or the importer before is still removing taken after its commit:
 * for the next writer). The caller imports in its transaction, then
 * calls tr_hj_done. */
int tr_hj_take(const char *path, const char *taken, int *held);

/* The import of tr_hj_take's taken ended: committed, taken is removed
 * while its import lock is still held; then held is closed (if any). */
void tr_hj_done(const char *taken, int held, int committed);

/* The first TR_HJ_CAP + TR_HJ_REC_MAX bytes of taken (malloc'd, *len), or
 * NULL. */
unsigned char *tr_hj_read(const char *taken, size_t *len);

/* The next whole record of buf[cur->off..len) into r; cur moves past it
 * (or to len, adding what was no record to cur->skipped).
 * Returns: 1 a record, 0 the end. */
int tr_hj_next(const unsigned char *buf, size_t len, tr_hj_cursor *cur, tr_hj_record *r);

#endif

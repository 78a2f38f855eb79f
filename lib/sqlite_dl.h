/*
 * sqlite_dl.h - SQLite loaded with dlopen on first use (sqlite_dl.c), for
 * the TLS history store (history_sqlite.c) and the MTA-STS cache
 * (sts_cache.c): one table of functions for both.
 *
 * dynload.h says why: the transport is one process per message and
 * mapping libsqlite3 at every start costs 1.3 M instructions and 0.7 MB of
 * RSS that most runs never use, so the library is not linked: the stores
 * are compiled against sqlite3.h and every call goes through the table
 * tr_sq, filled by tr_sqlite_load() the first time a store is opened. A
 * library that cannot be loaded, or older than 3.24 (UPSERT, which both
 * stores use), is an error of the store's open, with the reason; the
 * delivery goes on without the store.
 */
#ifndef TR_SQLITE_DL_H
#define TR_SQLITE_DL_H

#include <stddef.h>
#include <sqlite3.h>
#include "status.h"

struct tr_sqlite_api {
	int (*libversion_number)(void);
	int (*open_v2)(const char *path, sqlite3 **db, int flags, const char *vfs);
	int (*busy_handler)(sqlite3 *db, int (*fn)(void *, int), void *arg);
	int (*busy_timeout)(sqlite3 *db, int ms);
	int (*exec)(sqlite3 *db, const char *sql, int (*cb)(void *, int, char **, char **),
	            void *arg, char **errmsg);
	const char *(*errmsg)(sqlite3 *db);
	int (*extended_errcode)(sqlite3 *db);
	int (*close)(sqlite3 *db);
	int (*prepare_v2)(sqlite3 *db, const char *sql, int n, sqlite3_stmt **st, const char **tail);
	int (*bind_text)(sqlite3_stmt *st, int i, const char *s, int n, void (*del)(void *));
	int (*bind_int64)(sqlite3_stmt *st, int i, sqlite3_int64 v);
	int (*bind_null)(sqlite3_stmt *st, int i);
	int (*step)(sqlite3_stmt *st);
	int (*reset)(sqlite3_stmt *st);
	int (*clear_bindings)(sqlite3_stmt *st);
	const unsigned char *(*column_text)(sqlite3_stmt *st, int i);
	sqlite3_int64 (*column_int64)(sqlite3_stmt *st, int i);
	int (*finalize)(sqlite3_stmt *st);
	int (*changes)(sqlite3 *db);
	int (*db_readonly)(sqlite3 *db, const char *name);
	int (*db_config)(sqlite3 *db, int op, ...);
	void *(*wal_hook)(sqlite3 *db, int (*fn)(void *, sqlite3 *, const char *, int), void *arg);
	int (*wal_checkpoint_v2)(sqlite3 *db, const char *name, int mode, int *log, int *done);
};

/* Filled by tr_sqlite_load. */
extern struct tr_sqlite_api tr_sq;

/* Load libsqlite3.so.0 once per process; later calls return the first
 * outcome.
 * Returns: OK; INTERNAL 4.3.0 with the reason ("cannot load
 * libsqlite3.so.0: ...", "... is version 3.7.17, 3.24.0 or later is
 * needed"). */
tlsrelay_cat tr_sqlite_load(tlsrelay_status *st);

/* Root is about to make the store path: if its directory belongs to another
 * user (the one that runs deliveries), make the file empty for that user
 * first (mode), so that the store and the -wal/-shm files SQLite makes
 * beside it are never root's (the file's users could not write them).
 * Nothing to do when not root, when path exists or the directory is
 * root's. 0, or -1 with the reason in err (cap bytes): the store reports it
 * as its own failure to open. */
int tr_sqlite_create_for_owner(const char *path, unsigned mode, char *err, size_t cap);

#endif

/*
 * sts_cache.c - MTA-STS policy cache and TLS-RPT results in SQLite (see
 * sts_cache.h).
 *
 * SQLite is not linked: libsqlite3.so.0 is loaded with dlopen when a store
 * is first opened (dynload.h: 1.3 M instructions and 0.7 MB of RSS at every
 * start of the transport otherwise, which mta_sts = no never uses). This
 * file is compiled against sqlite3.h and calls SQLite only through the
 * table tr_sq of sqlite_dl.h, shared with the TLS history's store. A
 * library that cannot be loaded, or older than 3.24 (the UPSERT of
 * tr_sts_store_record), makes tr_sts_store_open fail with that reason:
 * MTA-STS then works without a cache (sts.c).
 *
 * Ownership (as for the TLS session cache, tls_cache.c: never made for the
 * wrong user): the transport never runs as root (Postfix pipe(8) and
 * tlsrelayd refuse it), but tlsrelay-sts and tlsrelay-probe often do, and
 * a cache they created belonged to root: the transport could then read
 * policies but never store one (MTA-STS's trust on first use lost), and
 * nothing said so. Now a missing file that root would create in a
 * directory of another user is created here, empty (an empty file is an
 * empty SQLite database), and given to the directory's owner and group
 * (the cache's directory must be the transport user's anyway, for the WAL
 * files; SQLite run as root gives its -wal and -shm files to the database
 * file's owner). Root opens the file without following a symbolic link
 * (SQLITE_OPEN_NOFOLLOW), in a directory another user can write. A store
 * opened but not writable (the file or its directory) is reported by
 * tr_sts_store_readonly, which the callers log loudly.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include "sqlite_dl.h"
#include "status.h"
#include "policy.h"
#include "sts_cache.h"
#include "tlsrpt.h"

struct tr_sts_store {
	sqlite3 *db;
	char readonly[320];          /* why it cannot be written, "" if it can */
};

#define TLSRPT_TABLE \
	"CREATE TABLE IF NOT EXISTS tlsrpt(" \
	" day TEXT NOT NULL, policy_domain TEXT NOT NULL, policy_type TEXT NOT NULL," \
	" policy_string TEXT NOT NULL, mx_host TEXT NOT NULL, result TEXT NOT NULL," \
	" receiving_mx TEXT NOT NULL, receiving_ip TEXT NOT NULL, count INTEGER NOT NULL," \
	" sending_ip TEXT NOT NULL DEFAULT ''," \
	" PRIMARY KEY(day, policy_domain, policy_type, policy_string, mx_host, result," \
	" receiving_mx, receiving_ip, sending_ip));"

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"CREATE TABLE IF NOT EXISTS sts_policy("
	" domain TEXT PRIMARY KEY NOT NULL, id TEXT NOT NULL,"
	" fetched INTEGER NOT NULL, expires INTEGER NOT NULL, policy TEXT NOT NULL);"
	TLSRPT_TABLE;

/* A store made before sending_ip (RFC 8460 sending-mta-ip) gets its
 * tlsrpt table rebuilt with the column ('' for the old rows, which the
 * report then shows without sending-mta-ip), once, under the write lock:
 * a concurrent opener waits and finds the new table. */
static const char migrate_sql[] =
	"ALTER TABLE tlsrpt RENAME TO tlsrpt_v1;"
	TLSRPT_TABLE
	"INSERT INTO tlsrpt(day, policy_domain, policy_type, policy_string, mx_host, result,"
	" receiving_mx, receiving_ip, count) SELECT day, policy_domain, policy_type,"
	" policy_string, mx_host, result, receiving_mx, receiving_ip, count FROM tlsrpt_v1;"
	"DROP TABLE tlsrpt_v1;";

/* The schema, retried while another process holds the lock: the busy
 * handler does not cover every case of concurrent creation (switching to
 * WAL needs an exclusive lock and may return SQLITE_BUSY at once).
 * At most SCHEMA_TRIES x 100 ms. */
#define SCHEMA_TRIES 50

static int has_sending_ip(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int ok = tr_sq.prepare_v2(db, "SELECT sending_ip FROM tlsrpt LIMIT 0", -1, &st,
	                       NULL) == SQLITE_OK;

	if (st != NULL)
		tr_sq.finalize(st);
	return ok;
}

static int migrate(sqlite3 *db)
{
	int rc;

	if (has_sending_ip(db))
		return SQLITE_OK;
	if ((rc = tr_sq.exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK)
		return rc;
	rc = has_sending_ip(db) ? SQLITE_OK : tr_sq.exec(db, migrate_sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = tr_sq.exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		tr_sq.exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static int setup_schema(sqlite3 *db)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	int rc = SQLITE_BUSY;

	for (int i = 0; i < SCHEMA_TRIES; i++) {
		rc = tr_sq.exec(db, schema, NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = migrate(db);
		if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
			break;
		nanosleep(&pause, NULL);
	}
	return rc;
}

/* A database error while doing what. Returns: TEMP 4.3.0 ("WHAT: SQLite's
 * reason"). */
static tlsrelay_cat db_fail(tr_sts_store *s, const char *what, tlsrelay_status *st)
{
	return tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "%s: %s", what, tr_sq.errmsg(s->db));
}

/* s->readonly: why path cannot be written, when SQLite opened it read-only. */
static void check_writable(tr_sts_store *s, const char *path)
{
	struct stat sb;

	if (tr_sq.db_readonly(s->db, "main") != 1)
		return;
	if (stat(path, &sb) < 0)
		snprintf(s->readonly, sizeof s->readonly, "%.200s is not writable", path);
	else
		snprintf(s->readonly, sizeof s->readonly, "%.200s is not writable by uid %ld "
		         "(owner uid %ld, mode %03o)", path, (long)geteuid(), (long)sb.st_uid,
		         (unsigned)(sb.st_mode & 0777));
}

/* tr_sts_store_open, a failure's reason in err (cap bytes). */
static tr_sts_store *store_open(const char *path, char *err, size_t cap)
{
	tr_sts_store *s = calloc(1, sizeof *s);
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	tlsrelay_status lst;
	mode_t old;
	int rc;

	if (s == NULL) {
		snprintf(err, cap, "out of memory");
		return NULL;
	}
	if (tr_sqlite_load(&lst) != TLSRELAY_OK) {
		snprintf(err, cap, "%.200s: %.255s", path, lst.text);
		free(s);
		return NULL;
	}
	if (tr_sqlite_create_for_owner(path, 0644, err, cap) < 0) {
		free(s);
		return NULL;
	}
	if (geteuid() == 0)
		flags |= SQLITE_OPEN_NOFOLLOW;
	old = umask(022);
	rc = tr_sq.open_v2(path, &s->db, flags, NULL);
	umask(old);
	if (rc != SQLITE_OK || tr_sq.busy_timeout(s->db, 5000) != SQLITE_OK ||
	    setup_schema(s->db) != SQLITE_OK) {
		char user[TR_AS_USER_MAX];
		snprintf(err, cap, "%.200s: %s%s", path, s->db ? tr_sq.errmsg(s->db) : "cannot open",
		         tr_as_user(user));
		if (rc == SQLITE_OK) {
			check_writable(s, path);     /* read-only: no tables could be made */
			if (s->readonly[0])
				snprintf(err, cap, "%s", s->readonly);
		}
		tr_sts_store_close(s);
		return NULL;
	}
	check_writable(s, path);
	return s;
}

tr_sts_store *tr_sts_store_open(const char *path, tlsrelay_status *st)
{
	char err[TLSRELAY_TEXT_MAX];
	tr_sts_store *s;

	err[0] = '\0';
	if ((s = store_open(path, err, sizeof err)) != NULL)
		tr_status_ok(st);
	else if (strcmp(err, "out of memory") == 0)
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "%s", err);
	else
		tr_status_set(st, TLSRELAY_CONFIG, "4.3.5", "%s", err);
	return s;
}

const char *tr_sts_store_readonly(const tr_sts_store *s)
{
	return s && s->readonly[0] ? s->readonly : NULL;
}

void tr_sts_store_close(tr_sts_store *s)
{
	if (s == NULL)
		return;
	if (s->db != NULL)
		tr_sq.close(s->db);
	free(s);
}

static sqlite3_stmt *prepare(tr_sts_store *s, const char *sql, tlsrelay_status *st)
{
	sqlite3_stmt *q = NULL;

	if (tr_sq.prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) {
		db_fail(s, "prepare", st);
		return NULL;
	}
	return q;
}

tr_found tr_sts_store_get(tr_sts_store *s, const char *domain, tr_sts_cached *out,
                           tlsrelay_status *st)
{
	sqlite3_stmt *q = prepare(s, "SELECT id, fetched, expires, policy FROM sts_policy WHERE domain = ?1",
	                          st);
	char d[256], why[128];
	tr_found found = TR_NOT_FOUND;
	int rc;

	if (q == NULL)
		return TR_LOOKUP_FAILED;
	tr_policy_lower(d, domain, sizeof d);
	tr_sq.bind_text(q, 1, d, -1, SQLITE_TRANSIENT);
	rc = tr_sq.step(q);
	if (rc == SQLITE_ROW) {
		const char *id = (const char *)tr_sq.column_text(q, 0);
		const char *pol = (const char *)tr_sq.column_text(q, 3);

		snprintf(out->id, sizeof out->id, "%s", id ? id : "");
		out->fetched = tr_sq.column_int64(q, 1);
		out->expires = tr_sq.column_int64(q, 2);
		if (pol && tr_sts_policy_parse(pol, strlen(pol), &out->pol, why, sizeof why) == 0)
			found = TR_FOUND;
	} else if (rc != SQLITE_DONE) {
		(void)db_fail(s, "read policy", st);
		found = TR_LOOKUP_FAILED;
	}
	tr_sq.finalize(q);
	if (found != TR_LOOKUP_FAILED)
		tr_status_ok(st);
	return found;
}

tlsrelay_cat tr_sts_store_put(tr_sts_store *s, const char *domain, const char *id,
                              const tr_sts_policy *pol, long long now, tlsrelay_status *st)
{
	sqlite3_stmt *q = prepare(s, "INSERT OR REPLACE INTO sts_policy(domain, id, fetched, expires, policy)"
	                              " VALUES(?1, ?2, ?3, ?4, ?5)", st);
	char d[256], *text = malloc(TR_STS_POLICY_TEXT_MAX);

	if (q == NULL || text == NULL) {
		tr_sq.finalize(q);
		free(text);
		return q == NULL ? st->cat
		       : tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
	}
	tr_policy_lower(d, domain, sizeof d);
	tr_sts_policy_format(pol, text, TR_STS_POLICY_TEXT_MAX);
	tr_sq.bind_text(q, 1, d, -1, SQLITE_TRANSIENT);
	tr_sq.bind_text(q, 2, id, -1, SQLITE_TRANSIENT);
	tr_sq.bind_int64(q, 3, now);
	tr_sq.bind_int64(q, 4, now + pol->max_age);
	tr_sq.bind_text(q, 5, text, -1, SQLITE_TRANSIENT);
	if (tr_sq.step(q) != SQLITE_DONE)
		db_fail(s, "store policy", st);
	else
		tr_status_ok(st);
	tr_sq.finalize(q);
	free(text);
	return st->cat;
}

tlsrelay_cat tr_sts_store_delete(tr_sts_store *s, const char *domain, tlsrelay_status *st)
{
	sqlite3_stmt *q = prepare(s, "DELETE FROM sts_policy WHERE domain = ?1", st);
	char d[256];

	if (q == NULL)
		return st->cat;
	tr_policy_lower(d, domain, sizeof d);
	tr_sq.bind_text(q, 1, d, -1, SQLITE_TRANSIENT);
	if (tr_sq.step(q) != SQLITE_DONE)
		db_fail(s, "delete policy", st);
	else
		tr_status_ok(st);
	tr_sq.finalize(q);
	return st->cat;
}

tlsrelay_cat tr_sts_store_each(tr_sts_store *s, int (*fn)(const char *domain, void *arg),
                               void *arg, tlsrelay_status *st)
{
	sqlite3_stmt *q = prepare(s, "SELECT domain FROM sts_policy ORDER BY domain", st);
	int rc;

	if (q == NULL)
		return st->cat;
	while ((rc = tr_sq.step(q)) == SQLITE_ROW)
		if (fn((const char *)tr_sq.column_text(q, 0), arg))
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		db_fail(s, "list policies", st);
	else
		tr_status_ok(st);
	tr_sq.finalize(q);
	return st->cat;
}

tlsrelay_cat tr_sts_store_prune(tr_sts_store *s, long long now, int keep_days, int *removed,
                                tlsrelay_status *st)
{
	sqlite3_stmt *a = prepare(s, "DELETE FROM sts_policy WHERE expires < ?1", st);
	sqlite3_stmt *b = a ? prepare(s, "DELETE FROM tlsrpt WHERE day < ?1", st) : NULL;
	char day[16];

	*removed = 0;
	if (a && b) {
		tr_utc_day(now - (long long)keep_days * 86400, day);
		tr_sq.bind_int64(a, 1, now);
		tr_sq.bind_text(b, 1, day, -1, SQLITE_TRANSIENT);
		if (tr_sq.step(a) != SQLITE_DONE)
			db_fail(s, "prune policies", st);
		else {
			*removed = tr_sq.changes(s->db);
			if (tr_sq.step(b) != SQLITE_DONE)
				db_fail(s, "prune results", st);
			else {
				*removed += tr_sq.changes(s->db);
				tr_status_ok(st);
			}
		}
	}
	tr_sq.finalize(a);
	tr_sq.finalize(b);
	return st->cat;
}

/* ------------------------------------------------------------ TLS-RPT */

static const char *nz(const char *s)
{
	return s ? s : "";
}

tlsrelay_cat tr_sts_store_record(tr_sts_store *s, const tr_rpt_row *row, long long now,
                                 tlsrelay_status *st)
{
	sqlite3_stmt *q = prepare(s,
		"INSERT INTO tlsrpt(day, policy_domain, policy_type, policy_string, mx_host,"
		" result, receiving_mx, receiving_ip, sending_ip, count)"
		" VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,1)"
		" ON CONFLICT DO UPDATE SET count = count + 1", st);
	char day[16], d[256];

	if (q == NULL)
		return st->cat;
	tr_utc_day(now, day);
	tr_policy_lower(d, nz(row->policy_domain), sizeof d);
	tr_sq.bind_text(q, 1, day, -1, SQLITE_TRANSIENT);
	tr_sq.bind_text(q, 2, d, -1, SQLITE_TRANSIENT);
	tr_sq.bind_text(q, 3, nz(row->policy_type), -1, SQLITE_TRANSIENT);
	tr_sq.bind_text(q, 4, nz(row->policy_string), -1, SQLITE_TRANSIENT);
	tr_sq.bind_text(q, 5, nz(row->mx_host), -1, SQLITE_TRANSIENT);
	tr_sq.bind_text(q, 6, nz(row->result), -1, SQLITE_TRANSIENT);
	tr_sq.bind_text(q, 7, nz(row->receiving_mx), -1, SQLITE_TRANSIENT);
	tr_sq.bind_text(q, 8, nz(row->receiving_ip), -1, SQLITE_TRANSIENT);
	tr_sq.bind_text(q, 9, nz(row->sending_ip), -1, SQLITE_TRANSIENT);
	if (tr_sq.step(q) != SQLITE_DONE)
		db_fail(s, "record TLS result", st);
	else
		tr_status_ok(st);
	tr_sq.finalize(q);
	return st->cat;
}

tlsrelay_cat tr_sts_store_rows(tr_sts_store *s, const char *day, const char *domain,
                               int (*fn)(const tr_rpt_row *row, void *arg), void *arg,
                               tlsrelay_status *st)
{
	sqlite3_stmt *q = prepare(s,
		"SELECT policy_domain, policy_type, policy_string, mx_host, result,"
		" receiving_mx, receiving_ip, count, sending_ip FROM tlsrpt"
		" WHERE day = ?1 AND (?2 IS NULL OR policy_domain = ?2)"
		" ORDER BY policy_domain, policy_type, policy_string, mx_host, result,"
		" receiving_mx, receiving_ip, sending_ip", st);
	char d[256];
	int rc;

	if (q == NULL)
		return st->cat;
	tr_sq.bind_text(q, 1, day, -1, SQLITE_TRANSIENT);
	if (domain) {
		tr_policy_lower(d, domain, sizeof d);
		tr_sq.bind_text(q, 2, d, -1, SQLITE_TRANSIENT);
	} else {
		tr_sq.bind_null(q, 2);
	}
	while ((rc = tr_sq.step(q)) == SQLITE_ROW) {
		tr_rpt_row row = {
			(const char *)tr_sq.column_text(q, 0), (const char *)tr_sq.column_text(q, 1),
			(const char *)tr_sq.column_text(q, 2), (const char *)tr_sq.column_text(q, 3),
			(const char *)tr_sq.column_text(q, 4), (const char *)tr_sq.column_text(q, 5),
			(const char *)tr_sq.column_text(q, 6), tr_sq.column_int64(q, 7),
			(const char *)tr_sq.column_text(q, 8)
		};
		if (fn(&row, arg))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		db_fail(s, "read TLS results", st);
	else
		tr_status_ok(st);
	tr_sq.finalize(q);
	return st->cat;
}

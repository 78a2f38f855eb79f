/*
 * sts_cache.c - MTA-STS policy cache and TLS-RPT results in SQLite (see
 * sts_cache.h).
 */
#include "config.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sqlite3.h>
#include "sts_cache.h"

struct tr_sts_store {
	sqlite3 *db;
	char err[256];
};

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"CREATE TABLE IF NOT EXISTS sts_policy("
	" domain TEXT PRIMARY KEY NOT NULL, id TEXT NOT NULL,"
	" fetched INTEGER NOT NULL, expires INTEGER NOT NULL, policy TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS tlsrpt("
	" day TEXT NOT NULL, policy_domain TEXT NOT NULL, policy_type TEXT NOT NULL,"
	" policy_string TEXT NOT NULL, mx_host TEXT NOT NULL, result TEXT NOT NULL,"
	" receiving_mx TEXT NOT NULL, receiving_ip TEXT NOT NULL, count INTEGER NOT NULL,"
	" PRIMARY KEY(day, policy_domain, policy_type, policy_string, mx_host, result,"
	" receiving_mx, receiving_ip));";

/* The schema, retried while another process holds the lock: the busy
 * handler does not cover every case of concurrent creation (switching to
 * WAL needs an exclusive lock and may return SQLITE_BUSY at once).
 * At most SCHEMA_TRIES x 100 ms. */
#define SCHEMA_TRIES 50

static int setup_schema(sqlite3 *db)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	int rc = SQLITE_BUSY;

	for (int i = 0; i < SCHEMA_TRIES; i++) {
		rc = sqlite3_exec(db, schema, NULL, NULL, NULL);
		if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
			break;
		nanosleep(&pause, NULL);
	}
	return rc;
}

static int db_fail(tr_sts_store *s, const char *what)
{
	snprintf(s->err, sizeof s->err, "%s: %s", what, sqlite3_errmsg(s->db));
	return -1;
}

const char *tr_sts_store_error(const tr_sts_store *s)
{
	return s ? s->err : "no store";
}

tr_sts_store *tr_sts_store_open(const char *path, char *err, size_t cap)
{
	tr_sts_store *s = calloc(1, sizeof *s);
	mode_t old;
	int rc;

	if (s == NULL) {
		snprintf(err, cap, "out of memory");
		return NULL;
	}
	old = umask(022);
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                     SQLITE_OPEN_NOMUTEX, NULL);
	umask(old);
	if (rc != SQLITE_OK || sqlite3_busy_timeout(s->db, 5000) != SQLITE_OK ||
	    setup_schema(s->db) != SQLITE_OK) {
		snprintf(err, cap, "%.200s: %s", path, s->db ? sqlite3_errmsg(s->db) : "cannot open");
		tr_sts_store_close(s);
		return NULL;
	}
	return s;
}

void tr_sts_store_close(tr_sts_store *s)
{
	if (s == NULL)
		return;
	sqlite3_close(s->db);
	free(s);
}

static sqlite3_stmt *prepare(tr_sts_store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		db_fail(s, "prepare");
		return NULL;
	}
	return st;
}

static void lower(const char *in, char *out, size_t cap)
{
	size_t i = 0;

	for (; in[i] && i + 1 < cap; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[i] = '\0';
}

int tr_sts_store_get(tr_sts_store *s, const char *domain, tr_sts_cached *out)
{
	sqlite3_stmt *st = prepare(s, "SELECT id, fetched, expires, policy FROM sts_policy WHERE domain = ?1");
	char d[256], why[128];
	int rc, found = 0;

	if (st == NULL)
		return -1;
	lower(domain, d, sizeof d);
	sqlite3_bind_text(st, 1, d, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *pol = (const char *)sqlite3_column_text(st, 3);

		snprintf(out->id, sizeof out->id, "%s", id ? id : "");
		out->fetched = sqlite3_column_int64(st, 1);
		out->expires = sqlite3_column_int64(st, 2);
		found = pol && tr_sts_policy_parse(pol, strlen(pol), &out->pol, why, sizeof why) == 0;
	} else if (rc != SQLITE_DONE) {
		found = db_fail(s, "read policy");
	}
	sqlite3_finalize(st);
	return found;
}

int tr_sts_store_put(tr_sts_store *s, const char *domain, const char *id,
                     const tr_sts_policy *pol, long long now)
{
	sqlite3_stmt *st = prepare(s, "INSERT OR REPLACE INTO sts_policy(domain, id, fetched, expires, policy)"
	                              " VALUES(?1, ?2, ?3, ?4, ?5)");
	char d[256], *text = malloc(TR_STS_MAX_MX * 270 + 128);
	int r = 0;

	if (st == NULL || text == NULL) {
		sqlite3_finalize(st);
		free(text);
		return -1;
	}
	lower(domain, d, sizeof d);
	tr_sts_policy_format(pol, text, TR_STS_MAX_MX * 270 + 128);
	sqlite3_bind_text(st, 1, d, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, now + pol->max_age);
	sqlite3_bind_text(st, 5, text, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_fail(s, "store policy");
	sqlite3_finalize(st);
	free(text);
	return r;
}

int tr_sts_store_delete(tr_sts_store *s, const char *domain)
{
	sqlite3_stmt *st = prepare(s, "DELETE FROM sts_policy WHERE domain = ?1");
	char d[256];
	int r = 0;

	if (st == NULL)
		return -1;
	lower(domain, d, sizeof d);
	sqlite3_bind_text(st, 1, d, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_fail(s, "delete policy");
	sqlite3_finalize(st);
	return r;
}

int tr_sts_store_each(tr_sts_store *s, int (*fn)(const char *domain, void *arg),
                      void *arg)
{
	sqlite3_stmt *st = prepare(s, "SELECT domain FROM sts_policy ORDER BY domain");
	int rc, r = 0;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn((const char *)sqlite3_column_text(st, 0), arg))
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = db_fail(s, "list policies");
	sqlite3_finalize(st);
	return r;
}

int tr_sts_store_prune(tr_sts_store *s, long long now, int keep_days)
{
	sqlite3_stmt *a = prepare(s, "DELETE FROM sts_policy WHERE expires < ?1");
	sqlite3_stmt *b = prepare(s, "DELETE FROM tlsrpt WHERE day < ?1");
	time_t t = (time_t)(now - (long long)keep_days * 86400);
	struct tm tm;
	char day[16];
	int n = -1;

	if (a && b) {
		gmtime_r(&t, &tm);
		strftime(day, sizeof day, "%Y-%m-%d", &tm);
		sqlite3_bind_int64(a, 1, now);
		sqlite3_bind_text(b, 1, day, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(a) != SQLITE_DONE)
			db_fail(s, "prune policies");
		else {
			n = sqlite3_changes(s->db);
			if (sqlite3_step(b) != SQLITE_DONE)
				n = db_fail(s, "prune results");
			else
				n += sqlite3_changes(s->db);
		}
	}
	sqlite3_finalize(a);
	sqlite3_finalize(b);
	return n;
}

/* ------------------------------------------------------------ TLS-RPT */

static const char *nz(const char *s)
{
	return s ? s : "";
}

int tr_sts_store_record(tr_sts_store *s, const tr_rpt_row *row, long long now)
{
	sqlite3_stmt *st = prepare(s,
		"INSERT INTO tlsrpt(day, policy_domain, policy_type, policy_string, mx_host,"
		" result, receiving_mx, receiving_ip, count) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,1)"
		" ON CONFLICT DO UPDATE SET count = count + 1");
	time_t t = (time_t)now;
	struct tm tm;
	char day[16], d[256];
	int r = 0;

	if (st == NULL)
		return -1;
	gmtime_r(&t, &tm);
	strftime(day, sizeof day, "%Y-%m-%d", &tm);
	lower(nz(row->policy_domain), d, sizeof d);
	sqlite3_bind_text(st, 1, day, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, d, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, nz(row->policy_type), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, nz(row->policy_string), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, nz(row->mx_host), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, nz(row->result), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 7, nz(row->receiving_mx), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 8, nz(row->receiving_ip), -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_fail(s, "record TLS result");
	sqlite3_finalize(st);
	return r;
}

int tr_sts_store_rows(tr_sts_store *s, const char *day, const char *domain,
                      int (*fn)(const tr_rpt_row *row, void *arg), void *arg)
{
	sqlite3_stmt *st = prepare(s,
		"SELECT policy_domain, policy_type, policy_string, mx_host, result,"
		" receiving_mx, receiving_ip, count FROM tlsrpt"
		" WHERE day = ?1 AND (?2 IS NULL OR policy_domain = ?2)"
		" ORDER BY policy_domain, policy_type, policy_string, mx_host, result,"
		" receiving_mx, receiving_ip");
	char d[256];
	int rc, r = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, day, -1, SQLITE_TRANSIENT);
	if (domain) {
		lower(domain, d, sizeof d);
		sqlite3_bind_text(st, 2, d, -1, SQLITE_TRANSIENT);
	} else {
		sqlite3_bind_null(st, 2);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		tr_rpt_row row = {
			(const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
			(const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3),
			(const char *)sqlite3_column_text(st, 4), (const char *)sqlite3_column_text(st, 5),
			(const char *)sqlite3_column_text(st, 6), sqlite3_column_int64(st, 7)
		};
		if (fn(&row, arg))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = db_fail(s, "read TLS results");
	sqlite3_finalize(st);
	return r;
}

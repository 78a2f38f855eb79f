/*
 * history_sqlite_read.c - reading the SQLite TLS history store
 * (history_store.h: tr_hist_each_day, _attempt, _server, _counter), for
 * tlsrelay-report. The store is opened and written by history_sqlite.c.
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "history_sqlite_int.h"
#include "policy.h"

/* ------------------------------------------------------------ reading */

static const char *col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = tr_sq.column_text(st, i);

	return t ? (const char *)t : "";
}

/* Step q to the end calling fn on each row (q finalized). */
static tlsrelay_cat each_row(tr_hist_store *s, sqlite3_stmt *q,
                             int (*row)(sqlite3_stmt *, void *), void *arg, tlsrelay_status *st)
{
	int rc;

	while ((rc = tr_sq.step(q)) == SQLITE_ROW)
		if (row(q, arg))
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		tr_hsq_fail(s, "read");
		tr_sq.finalize(q);
		return tr_hsq_failed(s, st);
	}
	tr_sq.finalize(q);
	return tr_status_ok(st);
}

static sqlite3_stmt *query(tr_hist_store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (tr_sq.prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		tr_hsq_fail(s, "read");
		tr_sq.finalize(st);
		return NULL;
	}
	return st;
}

struct day_cb { int (*fn)(const tr_hist_day *, void *); void *arg; };

static int day_row(sqlite3_stmt *st, void *arg)
{
	struct day_cb *cb = arg;
	tr_hist_day d = {
		col(st, 0), col(st, 1), col(st, 2), col(st, 3), col(st, 4), col(st, 5), col(st, 6),
		col(st, 7), col(st, 8), col(st, 9), col(st, 10), col(st, 11),
		tr_sq.column_int64(st, 12), tr_sq.column_int64(st, 13), tr_sq.column_int64(st, 14)
	};

	return cb->fn(&d, cb->arg);
}

tlsrelay_cat tr_hist_each_day(tr_hist_store *s, const char *since_day, const char *dest,
                              int (*fn)(const tr_hist_day *row, void *arg), void *arg,
                              tlsrelay_status *status)
{
	sqlite3_stmt *st = query(s, "SELECT day, dest, posture, verified_by, sts, outcome,"
		" reason, level, level_src, dane_result, sts_result, shadow, attempts, messages,"
		" reused FROM daily WHERE day >= ?1 AND (?2 IS NULL OR dest = ?2) ORDER BY day, dest");
	struct day_cb cb = { fn, arg };
	char d[300];

	if (st == NULL)
		return tr_hsq_failed(s, status);
	tr_hsq_text(st, 1, since_day);
	if (dest) {
		tr_policy_lower(d, dest, sizeof d);
		tr_hsq_text(st, 2, d);
	} else {
		tr_sq.bind_null(st, 2);
	}
	return each_row(s, st, day_row, &cb, status);
}

struct att_cb { int (*fn)(const tr_hist_attempt *, void *); void *arg; };

static int att_row(sqlite3_stmt *st, void *arg)
{
	struct att_cb *cb = arg;
	tr_hist_attempt a = {
		.t = tr_sq.column_int64(st, 0), .dest = col(st, 1), .nexthop = col(st, 2),
		.policy_domain = col(st, 3), .mx = col(st, 4), .addr = col(st, 5),
		.offered = (int)tr_sq.column_int64(st, 6), .posture = col(st, 7),
		.verified_by = col(st, 8), .verify_detail = col(st, 9), .sts = col(st, 10),
		.protocol = col(st, 11), .cipher = col(st, 12),
		.cert_not_after = tr_sq.column_int64(st, 13), .spki = col(st, 14),
		.level = col(st, 15), .level_src = col(st, 16), .level_detail = col(st, 17),
		.outcome = col(st, 18), .dsn = col(st, 19), .reason = col(st, 20),
		.text = col(st, 21), .dane_result = col(st, 22), .sts_result = col(st, 23),
		.shadow = col(st, 24), .shadow_level = col(st, 25), .shadow_text = col(st, 26),
		.message = (int)tr_sq.column_int64(st, 27), .queue_id = col(st, 28),
		.conn_use = (unsigned)tr_sq.column_int64(st, 29)
	};

	return cb->fn(&a, cb->arg);
}

tlsrelay_cat tr_hist_each_attempt(tr_hist_store *s, const char *dest, long long since,
                                  int limit, int (*fn)(const tr_hist_attempt *a, void *arg),
                                  void *arg, tlsrelay_status *status)
{
	sqlite3_stmt *st = query(s, "SELECT t, dest, nexthop, policy_domain, mx, addr, offered,"
		" posture, verified_by, verify_detail, sts, protocol, cipher, cert_not_after, spki,"
		" level, level_src, level_detail, outcome, dsn, reason, text, dane_result,"
		" sts_result, shadow, shadow_level, shadow_text, message, queue_id, conn_use FROM attempt"
		" WHERE t >= ?1 AND (?2 IS NULL OR dest = ?2) ORDER BY t DESC, id DESC LIMIT ?3");
	struct att_cb cb = { fn, arg };
	char d[300];

	if (st == NULL)
		return tr_hsq_failed(s, status);
	tr_sq.bind_int64(st, 1, since);
	if (dest) {
		tr_policy_lower(d, dest, sizeof d);
		tr_hsq_text(st, 2, d);
	} else {
		tr_sq.bind_null(st, 2);
	}
	tr_sq.bind_int64(st, 3, limit);
	return each_row(s, st, att_row, &cb, status);
}

struct srv_cb { int (*fn)(const tr_hist_server *, void *); void *arg; };

static int srv_row(sqlite3_stmt *st, void *arg)
{
	struct srv_cb *cb = arg;
	tr_hist_server v = {
		col(st, 0), col(st, 1), col(st, 2), tr_sq.column_int64(st, 3),
		tr_sq.column_int64(st, 4), tr_sq.column_int64(st, 5), tr_sq.column_int64(st, 6),
		tr_sq.column_int64(st, 7)
	};

	return cb->fn(&v, cb->arg);
}

tlsrelay_cat tr_hist_each_server(tr_hist_store *s,
                                 int (*fn)(const tr_hist_server *sv, void *arg), void *arg,
                                 tlsrelay_status *status)
{
	sqlite3_stmt *st = query(s, "SELECT dest, mx, spki, first_seen, last_seen, last_offered,"
		" last_verified, cert_not_after FROM server ORDER BY dest, mx");
	struct srv_cb cb = { fn, arg };

	return st ? each_row(s, st, srv_row, &cb, status) : tr_hsq_failed(s, status);
}

struct cnt_cb { int (*fn)(const char *, const char *, long long, void *); void *arg; };

static int cnt_row(sqlite3_stmt *st, void *arg)
{
	struct cnt_cb *cb = arg;

	return cb->fn(col(st, 0), col(st, 1), tr_sq.column_int64(st, 2), cb->arg);
}

tlsrelay_cat tr_hist_each_counter(tr_hist_store *s,
                                  int (*fn)(const char *name, const char *labels,
                                            long long value, void *arg),
                                  void *arg, tlsrelay_status *status)
{
	sqlite3_stmt *st = query(s, "SELECT name, labels, value FROM counter ORDER BY name, labels");
	struct cnt_cb cb = { fn, arg };

	return st ? each_row(s, st, cnt_row, &cb, status) : tr_hsq_failed(s, status);
}

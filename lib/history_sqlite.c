/*
 * history_sqlite.c - the TLS history store in SQLite (history_store.h).
 *
 * SQLite is loaded with dlopen (sqlite_dl.h). Tables: attempt (recent
 * attempts), daily (per day and destination, counts by category), server
 * (per destination and MX host), counter (monotonic totals), strip (recent
 * STARTTLS losses), mark (when something was last done: the middlebox
 * warning, the hourly prune). PRAGMA user_version = 1 says the schema is
 * made; it is made once, by the first writer.
 *
 * Decisions:
 * - Writes never hold up mail: WAL (readers never block writers),
 *   synchronous = NORMAL (no fsync at each commit; a crash may lose the
 *   last deliveries' rows, never the database), one BEGIN IMMEDIATE
 *   transaction per delivery, and a busy handler that gives up after
 *   HIST_BUSY_MS (the default handler sleeps in growing steps up to the
 *   whole timeout; this one polls every 250 us). 20 transports writing
 *   at once each wait at most that long.
 * - A write that cannot get the lock in that time is not lost (it was,
 *   until 2026-12-07: a checkpoint's fsync on a loaded machine, or a
 *   reader's long write, dropped rows that the report then missed): the
 *   delivery is appended to the pending journal STORE-pending
 *   (history_journal.h: one O_APPEND write, no wait on the store) and the
 *   next writer that holds the lock takes it (renamed to
 *   STORE-pending-taken), imports it in its own transaction, before its
 *   own rows, and removes it after its commit (a crash between the two
 *   imports those records twice: rare, and counted rather than lost; a
 *   rollback leaves it for the next writer). A reader that may write
 *   (tlsrelay-report, the metrics) imports too when it opens the store
 *   and something is pending. Imported records have no STARTTLS-loss
 *   detection (their deliveries are over; the rows and counters are
 *   written as they were). Why not a longer busy wait: the delivery
 *   would wait for it (the MTA waits for the transport's exit); why not
 *   a queue in a daemon: the standalone transport has none. The journal
 *   is bounded (TR_HJ_CAP): past it a write is lost and reported, as
 *   before.
 * - The same for a store being made by many processes at once (until
 *   2026-12-07 an open that lost the table-creation race could fail after
 *   the busy wait, and its row was lost): a writer's open that finds the
 *   lock busy while it makes the schema (or reads user_version) succeeds
 *   without it (s->ready 0); its first write tries the schema again and,
 *   busy still, goes to the pending journal. A commit that meets a lock
 *   (SQLITE_BUSY, SQLITE_LOCKED at any step) is pended too. The journal's
 *   records are imported by the first writer after the schema is made.
 * - Size: PRAGMA max_page_count from the limit. A write that finds the
 *   store full (SQLITE_FULL) rolls back, drops the oldest tenth of the
 *   attempts (or, when none are left, the oldest day) and tries once more.
 * - Age: once an hour (the mark "prune", shared by every process) the
 *   rows older than the retention go.
 * - Ownership as sts_cache.c: a store that root would create in a
 *   directory of another user is created empty for that user (SQLite,
 *   run as root, gives its -wal and -shm files to the database's owner);
 *   root opens without following a symbolic link. Reading (create = 0)
 *   never makes the file; it opens read-write when it can (so that a
 *   root reader never leaves root-owned -shm files behind: SQLite gives
 *   them to the owner), else read-only.
 * - No checkpoint when a connection closes (SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE):
 *   with one process per message every exit would try one, an fsync under
 *   the lock that the other writers wait for. Instead the writer whose
 *   commit leaves WAL_FRAMES (64) frames or more in the WAL checkpoints it
 *   and truncates it (SQLITE_CHECKPOINT_TRUNCATE, within the busy wait;
 *   busy: the next writer does it). Not SQLite's automatic checkpoint: a
 *   process that opens the store while no other connection has it open
 *   rebuilds the WAL's index from the whole WAL and takes none of it as
 *   copied back, so a WAL written one process at a time is never restarted
 *   by a passive checkpoint: it grew without end (17 M instructions to
 *   open at 700 deliveries, as much again as the delivery; 1.6 MB at 90).
 * - Statements are prepared when the store is opened (outside any write
 *   transaction) and reset after use: a tlsrelayd delivery process keeps
 *   its store open across deliveries.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "history_journal.h"
#include "history_sqlite_int.h"
#include "history_store.h"
#include "policy.h"
#include "sqlite_dl.h"
#include "status.h"
#include "tlsrpt.h"

#define HIST_BUSY_MS 20          /* longest wait for another writer */
#define HIST_SCHEMA 1
#define WAL_FRAMES 64             /* a WAL this long is truncated: see the header */


static const char *const stmt_sql[S_COUNT] = {
	[S_ATTEMPT] = "INSERT INTO attempt(t, dest, nexthop, policy_domain, mx, addr, offered,"
		" posture, verified_by, verify_detail, sts, protocol, cipher, cert_not_after, spki,"
		" level, level_src, level_detail, outcome, dsn, reason, text, dane_result,"
		" sts_result, shadow, shadow_level, shadow_text, message, queue_id, conn_use) VALUES(?1,"
		"?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,"
		"?25,?26,?27,?28,?29,?30)",
	[S_DAILY] = "INSERT INTO daily(day, dest, posture, verified_by, sts, outcome, reason,"
		" level, level_src, dane_result, sts_result, shadow, attempts, messages, reused)"
		" VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,1,?13,?14) ON CONFLICT DO UPDATE SET"
		" attempts = attempts + 1, messages = messages + excluded.messages,"
		" reused = reused + excluded.reused",
	[S_SERVER] = "INSERT INTO server(dest, mx, first_seen, last_seen, last_offered,"
		" last_verified, cert_not_after, spki) VALUES(?1,?2,?3,?3,?4,?5,?6,?7)"
		" ON CONFLICT DO UPDATE SET last_seen = excluded.last_seen,"
		" last_offered = max(last_offered, excluded.last_offered),"
		" last_verified = max(last_verified, excluded.last_verified),"
		" cert_not_after = CASE WHEN excluded.cert_not_after > 0"
		" THEN excluded.cert_not_after ELSE cert_not_after END,"
		" spki = CASE WHEN excluded.spki <> '' THEN excluded.spki ELSE spki END",
	[S_COUNTER] = "INSERT INTO counter(name, labels, value) VALUES(?1,?2,1)"
		" ON CONFLICT DO UPDATE SET value = value + 1",
	[S_LASTVER] = "SELECT last_verified FROM server WHERE dest = ?1 AND mx = ?2",
	[S_STRIP] = "INSERT INTO strip(t, dest) VALUES(?1,?2)",
	[S_STRIPS] = "SELECT count(DISTINCT dest) FROM strip WHERE t >= ?1",
	[S_MARK] = "SELECT t FROM mark WHERE what = ?1",
	[S_SETMARK] = "INSERT INTO mark(what, t) VALUES(?1,?2)"
		" ON CONFLICT DO UPDATE SET t = excluded.t",
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS attempt(id INTEGER PRIMARY KEY, t INTEGER NOT NULL,"
	" dest TEXT NOT NULL, nexthop TEXT, policy_domain TEXT, mx TEXT, addr TEXT,"
	" offered INTEGER, posture TEXT, verified_by TEXT, verify_detail TEXT, sts TEXT,"
	" protocol TEXT, cipher TEXT, cert_not_after INTEGER, spki TEXT, level TEXT,"
	" level_src TEXT, level_detail TEXT, outcome TEXT, dsn TEXT, reason TEXT, text TEXT,"
	" dane_result TEXT, sts_result TEXT, shadow TEXT, shadow_level TEXT, shadow_text TEXT,"
	" message INTEGER, queue_id TEXT, conn_use INTEGER);"
	"CREATE INDEX IF NOT EXISTS attempt_dest ON attempt(dest, t);"
	"CREATE TABLE IF NOT EXISTS daily(day TEXT NOT NULL, dest TEXT NOT NULL,"
	" posture TEXT NOT NULL, verified_by TEXT NOT NULL, sts TEXT NOT NULL,"
	" outcome TEXT NOT NULL, reason TEXT NOT NULL, level TEXT NOT NULL,"
	" level_src TEXT NOT NULL, dane_result TEXT NOT NULL, sts_result TEXT NOT NULL,"
	" shadow TEXT NOT NULL, attempts INTEGER NOT NULL, messages INTEGER NOT NULL,"
	" reused INTEGER NOT NULL,"
	" PRIMARY KEY(day, dest, posture, verified_by, sts, outcome, reason, level, level_src,"
	" dane_result, sts_result, shadow)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS server(dest TEXT NOT NULL, mx TEXT NOT NULL,"
	" first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, last_offered INTEGER NOT NULL,"
	" last_verified INTEGER NOT NULL, cert_not_after INTEGER NOT NULL, spki TEXT NOT NULL,"
	" PRIMARY KEY(dest, mx)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS counter(name TEXT NOT NULL, labels TEXT NOT NULL,"
	" value INTEGER NOT NULL, PRIMARY KEY(name, labels)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS strip(t INTEGER NOT NULL, dest TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS mark(what TEXT PRIMARY KEY, t INTEGER NOT NULL);"
	"PRAGMA user_version = 1;";


/* ------------------------------------------------------------ helpers */

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Another writer holds the lock: poll every 250 us, HIST_BUSY_MS at most. */
static int busy(void *arg, int n)
{
	tr_hist_store *s = arg;
	struct timespec pause = { 0, 250 * 1000 };

	if (n == 0)
		s->busy_start = now_us();
	if (now_us() - s->busy_start >= HIST_BUSY_MS * 1000LL)
		return 0;
	nanosleep(&pause, NULL);
	return 1;
}

/* sqlite3_wal_hook: remember how long the WAL is after a commit. */
static int wal_frames(void *arg, sqlite3 *db, const char *name, int frames)
{
	(void)db, (void)name;
	((tr_hist_store *)arg)->wal_frames = frames;
	return SQLITE_OK;
}

/* After a commit that left a long WAL: copy it into the database and
 * truncate it, so that the next process to open the store has little to
 * read. Busy (a reader or writer past the busy wait): left to the next. */
static void wal_trim(tr_hist_store *s)
{
	if (s->wal_frames < WAL_FRAMES)
		return;
	if (tr_sq.wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) == SQLITE_OK)
		s->wal_frames = 0;
}

void tr_hsq_fail(tr_hist_store *s, const char *what)
{
	snprintf(s->err, sizeof s->err, "%s: %s", what, tr_sq.errmsg(s->db));
}

/* The last failure of s (s->err) as the caller's status. */
tlsrelay_cat tr_hsq_failed(const tr_hist_store *s, tlsrelay_status *st)
{
	return tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "%s", s->err);
}

static int exec(tr_hist_store *s, const char *sql)
{
	return tr_sq.exec(s->db, sql, NULL, NULL, NULL);
}

static long long int_query(tr_hist_store *s, const char *sql, long long dflt)
{
	sqlite3_stmt *st = NULL;
	long long v = dflt;

	if (tr_sq.prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    tr_sq.step(st) == SQLITE_ROW)
		v = tr_sq.column_int64(st, 0);
	tr_sq.finalize(st);
	return v;
}

/* ------------------------------------------------------------ open */

/* Another connection holds a lock SQLite would need (rc extended or not). */
static int is_busy(int rc)
{
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

/* The schema, made by the first writer (user_version says it is; s->ready
 * once it is). 0 made or there, 1 busy (create only: another writer holds
 * the lock past the busy wait, typically the one making it; the caller's
 * write goes to the pending journal), -1 another failure (s->err). */
static int schema(tr_hist_store *s, int create)
{
	sqlite3_stmt *q = NULL;
	int rc;
	long long v = -1;

	if ((rc = tr_sq.prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL)) == SQLITE_OK &&
	    (rc = tr_sq.step(q)) == SQLITE_ROW)
		v = tr_sq.column_int64(q, 0);
	tr_sq.finalize(q);
	if (v == HIST_SCHEMA) {
		s->ready = 1;
		return 0;
	}
	if (!create) {
		if (rc != SQLITE_ROW)
			tr_hsq_fail(s, "open");
		else
			snprintf(s->err, sizeof s->err, "not a TLS history store (no tables)");
		return -1;
	}
	/* WAL is a property of the file: switched once, outside a
	 * transaction (a concurrent opener may hold it: then it does) */
	(void)exec(s, "PRAGMA journal_mode=WAL");
	if ((rc = exec(s, "BEGIN IMMEDIATE")) != SQLITE_OK) {
		tr_hsq_fail(s, "create tables");
		return is_busy(rc) ? 1 : -1;
	}
	if ((rc = exec(s, schema_sql)) != SQLITE_OK || (rc = exec(s, "COMMIT")) != SQLITE_OK) {
		tr_hsq_fail(s, "create tables");
		(void)exec(s, "ROLLBACK");
		return is_busy(rc) ? 1 : -1;
	}
	s->ready = 1;
	return 0;
}

/* The schema (busy: left for the first write, s->ready 0), then the
 * connection's settings. 0, or -1 (s->err). */
static int setup(tr_hist_store *s, int create)
{
	char sql[96];
	long long pages, psize;

	if (schema(s, create) < 0)
		return -1;
	(void)exec(s, "PRAGMA synchronous=NORMAL");
	/* the WAL's length after each commit, for wal_trim (replaces
	 * SQLite's automatic passive checkpoint: see the header) */
	tr_sq.wal_hook(s->db, wal_frames, s);
	/* pages read through a mapping, not a read() each, after another
	 * process's write made the page cache stale */
	(void)exec(s, "PRAGMA mmap_size=67108864");
	psize = int_query(s, "PRAGMA page_size", 4096);
	if (s->lim.max_bytes > 0 && psize > 0) {
		pages = s->lim.max_bytes / psize;
		snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld", pages > 16 ? pages : 16);
		(void)exec(s, sql);
	}
	return 0;
}

static int open_db(tr_hist_store *s, const char *path, int create)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	struct stat sb;
	mode_t old;
	int rc;

	if (!create && stat(path, &sb) < 0) {
		snprintf(s->err, sizeof s->err, "%s", strerror(errno));
		return -1;
	}
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	if (geteuid() == 0)
		flags |= SQLITE_OPEN_NOFOLLOW;
	old = umask(027);
	rc = tr_sq.open_v2(path, &s->db, flags, NULL);
	umask(old);
	if (rc != SQLITE_OK && !create) {        /* a reader without write access */
		tr_sq.close(s->db);
		s->db = NULL;
		rc = tr_sq.open_v2(path, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX |
		                   (geteuid() == 0 ? SQLITE_OPEN_NOFOLLOW : 0), NULL);
	}
	if (rc != SQLITE_OK) {
		snprintf(s->err, sizeof s->err, "%s", s->db ? tr_sq.errmsg(s->db) : "cannot open");
		return -1;
	}
	tr_sq.busy_handler(s->db, busy, s);
	/* no checkpoint when a connection closes: with one process per
	 * message, every exit would otherwise try to checkpoint the WAL into
	 * the database (an fsync under the write lock, tens of ms here, that
	 * every other writer waits for); the WAL is truncated as it grows
	 * (wal_trim) */
	tr_sq.db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
	return 0;
}

tr_hist_store *tr_hist_open(const char *path, int create, const tr_hist_limits *lim,
                            tlsrelay_status *st)
{
	tr_hist_store *s = calloc(1, sizeof *s);

	if (s == NULL) {
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		return NULL;
	}
	if (lim)
		s->lim = *lim;
	if ((s->jpath = tr_hj_path(path, "-pending")) == NULL ||
	    (s->jtpath = tr_hj_path(path, "-pending-taken")) == NULL) {
		free(s->jpath);
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		free(s);
		return NULL;
	}
	if (tr_sqlite_load(st) != TLSRELAY_OK)
		snprintf(s->err, sizeof s->err, "%s", st->text);
	if (s->err[0] || (create && tr_sqlite_create_for_owner(path, 0640, s->err, sizeof s->err) < 0) ||
	    open_db(s, path, create) < 0 || setup(s, create) < 0) {
		tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "%.200s: %s", path, s->err);
		tr_hist_close(s);
		return NULL;
	}
	if (create && tr_sq.db_readonly(s->db, "main") == 1) {
		tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "%.200s is not writable by uid %ld", path,
		              (long)geteuid());
		tr_hist_close(s);
		return NULL;
	}
	tr_status_ok(st);
	/* prepared now, outside any write transaction: the write lock is then
	 * held only for the writes themselves */
	for (int i = 0; create && i < S_COUNT; i++)
		if (tr_sq.prepare_v2(s->db, stmt_sql[i], -1, &s->st[i], NULL) != SQLITE_OK)
			s->st[i] = NULL;
	/* a reader that may write takes in what is pending, so that the
	 * report and the metrics count every delivery (busy: left as it is) */
	if (!create && tr_sq.db_readonly(s->db, "main") == 0)
		(void)tr_hist_import(s, st);
	tr_status_ok(st);
	return s;
}

void tr_hist_close(tr_hist_store *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < S_COUNT; i++)
		if (s->st[i])
			tr_sq.finalize(s->st[i]);
	if (s->db)
		tr_sq.close(s->db);
	free(s->jpath);
	free(s->jtpath);
	free(s);
}

/* ------------------------------------------------------------ writing */

static sqlite3_stmt *stmt(tr_hist_store *s, int which)
{
	if (s->st[which] == NULL &&
	    tr_sq.prepare_v2(s->db, stmt_sql[which], -1, &s->st[which], NULL) != SQLITE_OK) {
		s->st[which] = NULL;
		return NULL;
	}
	tr_sq.reset(s->st[which]);
	tr_sq.clear_bindings(s->st[which]);
	return s->st[which];
}

void tr_hsq_text(sqlite3_stmt *st, int i, const char *v)
{
	tr_sq.bind_text(st, i, v ? v : "", -1, SQLITE_TRANSIENT);
}

/* Run a bound write statement: the SQLite result code. */
static int run(sqlite3_stmt *st)
{
	int rc = tr_sq.step(st);

	tr_sq.reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static int put_attempt(tr_hist_store *s, const tr_hist_attempt *a)
{
	sqlite3_stmt *st = stmt(s, S_ATTEMPT);
	char dest[300], mx[300], dom[300];
	const char *v[] = { a->addr, a->posture, a->verified_by, a->verify_detail, a->sts,
	                    a->protocol, a->cipher };
	const char *w[] = { a->level, a->level_src, a->level_detail, a->outcome, a->dsn,
	                    a->reason, a->text, a->dane_result, a->sts_result, a->shadow,
	                    a->shadow_level, a->shadow_text };

	if (st == NULL)
		return SQLITE_ERROR;
	tr_policy_lower(dest, a->dest, sizeof dest);
	tr_policy_lower(mx, a->mx, sizeof mx);
	tr_policy_lower(dom, a->policy_domain, sizeof dom);
	tr_sq.bind_int64(st, 1, a->t);
	tr_hsq_text(st, 2, dest);
	tr_hsq_text(st, 3, a->nexthop);
	tr_hsq_text(st, 4, dom);
	tr_hsq_text(st, 5, mx);
	tr_hsq_text(st, 6, v[0]);
	tr_sq.bind_int64(st, 7, a->offered);
	for (int i = 1; i < 7; i++)
		tr_hsq_text(st, 7 + i, v[i]);
	tr_sq.bind_int64(st, 14, a->cert_not_after);
	tr_hsq_text(st, 15, a->spki);
	for (int i = 0; i < 12; i++)
		tr_hsq_text(st, 16 + i, w[i]);
	tr_sq.bind_int64(st, 28, a->message);
	tr_hsq_text(st, 29, a->queue_id);
	tr_sq.bind_int64(st, 30, a->conn_use);
	return run(st);
}

static int put_daily(tr_hist_store *s, const tr_hist_attempt *a)
{
	sqlite3_stmt *st = stmt(s, S_DAILY);
	const char *v[] = { a->posture, a->verified_by, a->sts, a->outcome, a->reason, a->level,
	                    a->level_src, a->dane_result, a->sts_result, a->shadow };
	char day[16], dest[300];

	if (st == NULL)
		return SQLITE_ERROR;
	tr_utc_day(a->t, day);
	tr_policy_lower(dest, a->dest, sizeof dest);
	tr_hsq_text(st, 1, day);
	tr_hsq_text(st, 2, dest);
	for (int i = 0; i < 10; i++)
		tr_hsq_text(st, 3 + i, v[i]);
	tr_sq.bind_int64(st, 13, a->message);
	tr_sq.bind_int64(st, 14, a->conn_use > 1);
	return run(st);
}

static int put_server(tr_hist_store *s, const tr_hist_attempt *a)
{
	sqlite3_stmt *st = stmt(s, S_SERVER);
	char dest[300], mx[300];
	int verified = strcmp(a->posture, "verified") == 0;

	if (st == NULL)
		return SQLITE_ERROR;
	tr_policy_lower(dest, a->dest, sizeof dest);
	tr_policy_lower(mx, a->mx, sizeof mx);
	tr_hsq_text(st, 1, dest);
	tr_hsq_text(st, 2, mx);
	tr_sq.bind_int64(st, 3, a->t);
	tr_sq.bind_int64(st, 4, a->offered == 1 ? a->t : 0);
	tr_sq.bind_int64(st, 5, verified ? a->t : 0);
	tr_sq.bind_int64(st, 6, a->cert_not_after);
	tr_hsq_text(st, 7, a->spki);
	return run(st);
}

static int count(tr_hist_store *s, const char *name, const char *labels)
{
	sqlite3_stmt *st = stmt(s, S_COUNTER);

	if (st == NULL)
		return SQLITE_ERROR;
	tr_hsq_text(st, 1, name);
	tr_hsq_text(st, 2, labels);
	return run(st);
}

static long long mark_get(tr_hist_store *s, const char *what)
{
	sqlite3_stmt *st = stmt(s, S_MARK);
	long long t = 0;

	if (st == NULL)
		return 0;
	tr_hsq_text(st, 1, what);
	if (tr_sq.step(st) == SQLITE_ROW)
		t = tr_sq.column_int64(st, 0);
	tr_sq.reset(st);
	return t;
}

static int mark_set(tr_hist_store *s, const char *what, long long t)
{
	sqlite3_stmt *st = stmt(s, S_SETMARK);

	if (st == NULL)
		return SQLITE_ERROR;
	tr_hsq_text(st, 1, what);
	tr_sq.bind_int64(st, 2, t);
	return run(st);
}

/* Did a's server offer STARTTLS and verify before (within the retention),
 * and now it does not? Recorded as a loss. SQLite result code. */
static int strip_check(tr_hist_store *s, const tr_hist_attempt *a, long long now, int *lost)
{
	sqlite3_stmt *st;
	char dest[300], mx[300];
	long long last = 0;

	*lost = 0;
	if (a->offered != 0 || (st = stmt(s, S_LASTVER)) == NULL)
		return SQLITE_OK;
	tr_policy_lower(dest, a->dest, sizeof dest);
	tr_policy_lower(mx, a->mx, sizeof mx);
	tr_hsq_text(st, 1, dest);
	tr_hsq_text(st, 2, mx);
	if (tr_sq.step(st) == SQLITE_ROW)
		last = tr_sq.column_int64(st, 0);
	tr_sq.reset(st);
	if (last <= 0 || last < now - (long long)(s->lim.days > 0 ? s->lim.days : 30) * 86400)
		return SQLITE_OK;
	*lost = 1;
	if ((st = stmt(s, S_STRIP)) == NULL)
		return SQLITE_ERROR;
	tr_sq.bind_int64(st, 1, now);
	tr_hsq_text(st, 2, dest);
	return run(st);
}

/* Losses of several destinations in the window: alert once per window. */
static int strip_alert(tr_hist_store *s, tr_hist_strip *sp, long long now)
{
	sqlite3_stmt *st = stmt(s, S_STRIPS);
	long long n = 0;

	if (st == NULL)
		return SQLITE_ERROR;
	tr_sq.bind_int64(st, 1, now - sp->window);
	if (tr_sq.step(st) == SQLITE_ROW)
		n = tr_sq.column_int64(st, 0);
	tr_sq.reset(st);
	if (n < sp->threshold || mark_get(s, "strip-alert") >= now - sp->window)
		return SQLITE_OK;
	sp->alert = (int)n;
	return mark_set(s, "strip-alert", now);
}

static int write_all(tr_hist_store *s, const tr_hist_attempt *a, size_t n,
                     const tr_hist_count *c, size_t nc, tr_hist_strip *sp, long long now)
{
	int rc = SQLITE_OK, lost, any = 0;

	for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
		if (sp && (rc = strip_check(s, &a[i], now, &lost)) == SQLITE_OK && lost) {
			any = 1;
			if (i < sizeof sp->lost / sizeof sp->lost[0])
				sp->lost[i] = 1;
			rc = count(s, "tlsrelay_starttls_lost_total", "");
		}
		if (rc == SQLITE_OK)
			rc = put_attempt(s, &a[i]);
		if (rc == SQLITE_OK)
			rc = put_daily(s, &a[i]);
		if (rc == SQLITE_OK)
			rc = put_server(s, &a[i]);
	}
	for (size_t i = 0; i < nc && rc == SQLITE_OK; i++)
		rc = count(s, c[i].name, c[i].labels);
	if (rc == SQLITE_OK && any)
		rc = strip_alert(s, sp, now);
	return rc;
}

/* The store is full: the oldest tenth of the attempts go, or the oldest
 * day when no attempt is left. */
static void make_room(tr_hist_store *s)
{
	if (exec(s, "BEGIN IMMEDIATE") != SQLITE_OK)
		return;
	if (int_query(s, "SELECT count(*) FROM attempt", 0) > 0)
		(void)exec(s, "DELETE FROM attempt WHERE id <= (SELECT min(id) +"
		              " (max(id) - min(id)) / 10 FROM attempt)");
	else
		(void)exec(s, "DELETE FROM daily WHERE day = (SELECT min(day) FROM daily)");
	if (exec(s, "COMMIT") != SQLITE_OK)
		(void)exec(s, "ROLLBACK");
}

static int prune_rows(tr_hist_store *s, long long now)
{
	long long cut = now - (long long)(s->lim.days > 0 ? s->lim.days : 30) * 86400;
	char sql[512], day[16];
	int n = 0;

	tr_utc_day(cut, day);
	/* ids grow with time: the rows before the first recent one go (a scan of
	 * just the rows removed; no index on t to keep up at every insert) */
	snprintf(sql, sizeof sql, "DELETE FROM attempt WHERE id < coalesce((SELECT id FROM attempt"
	         " WHERE t >= %lld ORDER BY id LIMIT 1), (SELECT max(id) + 1 FROM attempt))", cut);
	if (exec(s, sql) != SQLITE_OK)
		return -1;
	n += tr_sq.changes(s->db);
	snprintf(sql, sizeof sql, "DELETE FROM daily WHERE day < '%s'", day);
	if (exec(s, sql) != SQLITE_OK)
		return -1;
	n += tr_sq.changes(s->db);
	snprintf(sql, sizeof sql, "DELETE FROM server WHERE last_seen < %lld", cut);
	if (exec(s, sql) != SQLITE_OK)
		return -1;
	n += tr_sq.changes(s->db);
	snprintf(sql, sizeof sql, "DELETE FROM strip WHERE t < %lld", now - 86400);
	if (exec(s, sql) != SQLITE_OK)
		return -1;
	return n + tr_sq.changes(s->db);
}

/* ------------------------------------------------------------ pending */

/* Inside a write transaction: the pending journal's records written
 * (oldest first, no STARTTLS-loss detection: see the header); s->jtaken
 * says that STORE-pending-taken is to go when the transaction commits
 * (pending_end), s->jheld holds its import lock until then (so that the
 * next writer, which may get the store's lock between our commit and the
 * removal, does not import it again). Nothing pending, an appender at
 * work or an importer removing it: nothing done.
 * Returns: the SQLite result code of the writes. */
static int pending_import(tr_hist_store *s)
{
	tr_hj_cursor cur = { 0, 0, 0 };
	tr_hj_record *r = NULL;
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc = SQLITE_OK;

	s->jtaken = 0;
	if (!tr_hj_take(s->jpath, s->jtpath, &s->jheld))
		return SQLITE_OK;
	s->jtaken = 1;                   /* even unreadable: it goes */
	if ((buf = tr_hj_read(s->jtpath, &len)) != NULL && (r = malloc(sizeof *r)) != NULL)
		while (rc == SQLITE_OK && tr_hj_next(buf, len, &cur, r))
			rc = write_all(s, r->a, r->n, r->c, r->nc, NULL, r->now);
	free(buf);
	free(r);
	return rc;
}

/* The transaction that imported the taken journal ended: committed, its
 * records are in the store and the file goes (its lock held until it is
 * gone); else it stays for the next. */
static void pending_end(tr_hist_store *s, int committed)
{
	if (s->jtaken)
		tr_hj_done(s->jtpath, s->jheld, committed);
	s->jtaken = 0;
	s->jheld = -1;
}

tlsrelay_cat tr_hist_import(tr_hist_store *s, tlsrelay_status *st)
{
	struct stat sb;

	if ((stat(s->jpath, &sb) < 0 || sb.st_size == 0) && lstat(s->jtpath, &sb) < 0)
		return tr_status_ok(st);     /* nothing pending: no write transaction */
	if (exec(s, "BEGIN IMMEDIATE") != SQLITE_OK) {
		tr_hsq_fail(s, "import");
		return tr_hsq_failed(s, st);
	}
	if (pending_import(s) != SQLITE_OK || exec(s, "COMMIT") != SQLITE_OK) {
		tr_hsq_fail(s, "import");
		(void)exec(s, "ROLLBACK");
		pending_end(s, 0);
		return tr_hsq_failed(s, st);
	}
	pending_end(s, 1);
	wal_trim(s);
	return tr_status_ok(st);
}

/* The write lock was busy: the delivery into the pending journal.
 * Returns: OK, or TEMP with both reasons. */
static tlsrelay_cat pend(tr_hist_store *s, const tr_hist_attempt *a, size_t n,
                         const tr_hist_count *c, size_t nc, long long now, tlsrelay_status *st)
{
	tlsrelay_status why;

	if (tr_hj_append(s->jpath, a, n, c, nc, now, &why) == TLSRELAY_OK)
		return tr_status_ok(st);
	tr_hsq_fail(s, "cannot record");
	return tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "%.200s; %.300s", s->err, why.text);
}

tlsrelay_cat tr_hist_record(tr_hist_store *s, const tr_hist_attempt *a, size_t n,
                            const tr_hist_count *c, size_t nc, tr_hist_strip *sp,
                            long long now, tlsrelay_status *st)
{
	int rc = SQLITE_OK;

	if (sp)
		memset(sp->lost, 0, sizeof sp->lost), sp->alert = 0;
	if (!s->ready && (rc = schema(s, 1)) != 0)   /* busy at the open: again */
		return rc > 0 ? pend(s, a, n, c, nc, now, st) : tr_hsq_failed(s, st);
	for (int tries = 0; tries < 2; tries++) {
		if ((rc = exec(s, "BEGIN IMMEDIATE")) != SQLITE_OK) {
			if (is_busy(rc))
				return pend(s, a, n, c, nc, now, st);
			tr_hsq_fail(s, "cannot record");
			return tr_hsq_failed(s, st);
		}
		rc = pending_import(s);
		if (rc == SQLITE_OK)
			rc = write_all(s, a, n, c, nc, sp, now);
		/* the shared mark is read at most once an hour per connection */
		if (rc == SQLITE_OK && s->pruned < now - 3600 &&
		    (s->pruned = mark_get(s, "prune")) < now - 3600) {
			if (prune_rows(s, now) < 0 || mark_set(s, "prune", now) != SQLITE_OK)
				rc = tr_sq.extended_errcode(s->db);
			s->pruned = now;
		}
		if (rc == SQLITE_OK && (rc = exec(s, "COMMIT")) == SQLITE_OK) {
			pending_end(s, 1);
			wal_trim(s);
			return tr_status_ok(st);
		}
		tr_hsq_fail(s, "cannot record");
		(void)exec(s, "ROLLBACK");
		pending_end(s, 0);
		if (is_busy(rc))         /* a commit that met a lock: not lost either */
			return pend(s, a, n, c, nc, now, st);
		if ((rc & 0xff) != SQLITE_FULL)
			break;
		make_room(s);
		if (sp)
			memset(sp->lost, 0, sizeof sp->lost), sp->alert = 0;
	}
	return tr_hsq_failed(s, st);
}

tlsrelay_cat tr_hist_prune(tr_hist_store *s, long long now, int *removed, tlsrelay_status *st)
{
	*removed = 0;
	if (exec(s, "BEGIN IMMEDIATE") != SQLITE_OK) {
		tr_hsq_fail(s, "prune");
		return tr_hsq_failed(s, st);
	}
	if ((*removed = prune_rows(s, now)) < 0 || mark_set(s, "prune", now) != SQLITE_OK ||
	    exec(s, "COMMIT") != SQLITE_OK) {
		tr_hsq_fail(s, "prune");
		(void)exec(s, "ROLLBACK");
		*removed = 0;
		return tr_hsq_failed(s, st);
	}
	return tr_status_ok(st);
}

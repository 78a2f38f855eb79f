/*
 * test_history.c - the TLS history store (lib/history_sqlite.c) on a real
 * SQLite file: attempts and daily aggregates, counters, STARTTLS-loss
 * detection and its once-per-window alert, pruning by age, the size
 * limit (a full store drops its oldest attempts and goes on), a store
 * locked by another writer (the write, bounded, goes to the pending
 * journal and the next takes it in; a writer that gets the lock between
 * that commit and the removal of the taken journal does not import it a
 * second time), a store being made while another
 * process holds its lock (the open succeeds, the write goes to the pending
 * journal, the first write after makes the tables and takes it in), reading never
 * creates a file, a store that cannot be made.
 */
#include "config.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "history_store.h"
#include "sqlite_dl.h"
#include "tap.h"

static char dir[64];
static tlsrelay_status gst;        /* the status of the calls (a failure is a check's) */
static const long long NOW = 1800000000;   /* 2027-01-15 */

static tr_hist_attempt att(const char *dest, const char *mx, const char *posture, int offered,
                           const char *outcome, long long t)
{
	tr_hist_attempt a = {
		.t = t, .dest = dest, .nexthop = dest, .policy_domain = dest, .mx = mx,
		.addr = "192.0.2.1", .offered = offered, .posture = posture, .verified_by = "",
		.verify_detail = "", .sts = "", .protocol = "TLSv1.3", .cipher = "X",
		.cert_not_after = NOW + 86400, .spki = "AB:CD", .level = "may",
		.level_src = "tls_security_level", .level_detail = "", .outcome = outcome,
		.dsn = "2.0.0", .reason = "", .text = "ok", .dane_result = "", .sts_result = "",
		.shadow = "", .shadow_level = "", .shadow_text = "", .message = 1, .queue_id = "Q1"
	};
	return a;
}

struct sum { long long attempts, messages; int rows; long long reused; };

static int sum_day(const tr_hist_day *d, void *arg)
{
	struct sum *s = arg;

	s->attempts += d->attempts;
	s->messages += d->messages;
	s->reused += d->reused;
	s->rows++;
	return 0;
}

/* The conn_use of each attempt read back, newest first: "3,2,1,". */
static int uses(const tr_hist_attempt *a, void *arg)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 64 - n, "%u,", a->conn_use);
	return 0;
}

static int count_att(const tr_hist_attempt *a, void *arg)
{
	(void)a;
	++*(int *)arg;
	return 0;
}

static int find_counter(const char *name, const char *labels, long long v, void *arg)
{
	long long *out = arg;

	if (strcmp(name, "tlsrelay_attempts_total") == 0 &&
	    strcmp(labels, "posture=\"verified\"") == 0)
		*out = v;
	return 0;
}

static tr_hist_store *open_at(const char *name, int create, long long max)
{
	char path[128];
	tr_hist_limits lim = { 30, max };
	tlsrelay_status st;
	tr_hist_store *s;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	s = tr_hist_open(path, create, &lim, &st);
	if (s == NULL)
		printf("# open %s: %s\n", path, st.text);
	return s;
}

static void t_record_and_read(void)
{
	tr_hist_store *s = open_at("a.db", 1, 0);
	tr_hist_attempt a[2] = { att("Example.COM", "MX1.example.com", "verified", 1, "delivered", NOW),
	                         att("example.com", "mx1.example.com", "verified", 1, "delivered", NOW) };
	tr_hist_count c[] = { { "tlsrelay_attempts_total", "posture=\"verified\"" },
	                      { "tlsrelay_attempts_total", "posture=\"verified\"" } };
	struct sum sum = { 0, 0, 0, 0 };
	long long v = 0;
	int n = 0;

	tap_ok(s != NULL, "a new store is made", "");
	if (s == NULL)
		return;
	TAP_INT(tr_hist_record(s, a, 2, c, 2, NULL, NOW, &gst), TLSRELAY_OK, "two attempts recorded");
	TAP_INT(tr_hist_record(s, a, 1, c, 1, NULL, NOW + 10, &gst), TLSRELAY_OK, "a third, later");
	tr_hist_each_day(s, "", NULL, sum_day, &sum, &gst);
	TAP_INT(sum.rows, 1, "one daily row for one destination and category (case folded)");
	TAP_INT(sum.attempts, 3, "the daily row counts 3 attempts");
	TAP_INT(sum.messages, 3, "... and 3 messages");
	tr_hist_each_attempt(s, "EXAMPLE.com", 0, 100, count_att, &n, &gst);
	TAP_INT(n, 3, "3 recent attempts of the destination");
	tr_hist_each_counter(s, find_counter, &v, &gst);
	TAP_INT(v, 3, "the counter adds up across deliveries");
	tr_hist_close(s);
}

/* tlsrelayd's kept connections: a transaction on one is an attempt with
 * conn_use > 1, counted as a reuse in the daily rows (no new TLS session). */
static void t_reuse(void)
{
	tr_hist_store *s = open_at("reuse.db", 1, 0);
	struct sum sum = { 0, 0, 0, 0 };
	char got[64] = "";

	if (s == NULL) {
		tap_ok(0, "reuse store", "");
		return;
	}
	for (unsigned u = 1; u <= 3; u++) {
		tr_hist_attempt a = att("kept.example", "mx", "verified", 1, "delivered", NOW + u);
		a.conn_use = u;
		tr_hist_record(s, &a, 1, NULL, 0, NULL, NOW + u, &gst);
	}
	tr_hist_each_day(s, "", "kept.example", sum_day, &sum, &gst);
	TAP_INT(sum.attempts, 3, "reuse: 3 attempts, one TLS session and two on the kept connection");
	TAP_INT(sum.reused, 2, "reuse: the daily row counts 2 of them as reused");
	TAP_INT(sum.rows, 1, "reuse: one daily row (reuse is a count, not a category)");
	tr_hist_each_attempt(s, "kept.example", 0, 10, uses, got, &gst);
	TAP_STR(got, "3,2,1,", "reuse: each attempt keeps its conn_use");
	tr_hist_close(s);
}

static void t_strip(void)
{
	tr_hist_store *s = open_at("strip.db", 1, 0);
	const char *dests[3] = { "a.example", "b.example", "c.example" };
	tr_hist_strip sp = { 600, 3, { 0 }, 0 };
	int lost = 0, alerts = 0;

	if (s == NULL) {
		tap_ok(0, "strip store", "");
		return;
	}
	for (int i = 0; i < 3; i++) {
		tr_hist_attempt a = att(dests[i], "mx", "verified", 1, "delivered", NOW);
		tr_hist_record(s, &a, 1, NULL, 0, &sp, NOW, &gst);
		lost += sp.lost[0];
	}
	TAP_INT(lost, 0, "verified sessions are no loss");
	{
		tr_hist_attempt a = att("d.example", "mx", "plaintext", 0, "delivered", NOW);
		tr_hist_record(s, &a, 1, NULL, 0, &sp, NOW + 1, &gst);
		TAP_INT(sp.lost[0], 0, "no STARTTLS at a server never seen with it: no loss");
	}
	for (int i = 0; i < 3; i++) {
		tr_hist_attempt a = att(dests[i], "mx", "plaintext", 0, "delivered", NOW + 60);
		tr_hist_record(s, &a, 1, NULL, 0, &sp, NOW + 60 + i, &gst);
		lost += sp.lost[0];
		alerts += sp.alert > 0;
		if (sp.alert > 0)
			TAP_INT(sp.alert, 3, "the alert names 3 destinations");
	}
	TAP_INT(lost, 3, "STARTTLS missing where it was offered and verified: 3 losses");
	TAP_INT(alerts, 1, "one alert for the window, not one per loss");
	{
		tr_hist_attempt a = att("a.example", "mx", "plaintext", 0, "delivered", NOW + 120);
		tr_hist_record(s, &a, 1, NULL, 0, &sp, NOW + 120, &gst);
		TAP_INT(sp.alert, 0, "a further loss in the same window: no second alert");
		tr_hist_record(s, &a, 1, NULL, 0, &sp, NOW + 60 + 601, &gst);
		TAP_INT(sp.alert, 0, "a later window with one destination: no alert");
	}
	tr_hist_close(s);
}

static void t_prune(void)
{
	tr_hist_store *s = open_at("prune.db", 1, 0);
	tr_hist_attempt old = att("old.example", "mx", "verified", 1, "delivered", NOW - 40 * 86400);
	tr_hist_attempt new = att("new.example", "mx", "verified", 1, "delivered", NOW);
	struct sum sum = { 0, 0, 0, 0 };
	int n = 0, removed = -1;

	if (s == NULL) {
		tap_ok(0, "prune store", "");
		return;
	}
	tr_hist_record(s, &old, 1, NULL, 0, NULL, NOW - 40 * 86400, &gst);
	tr_hist_record(s, &new, 1, NULL, 0, NULL, NOW, &gst);   /* the hourly prune runs here */
	TAP_INT(tr_hist_prune(s, NOW, &removed, &gst), TLSRELAY_OK, "an explicit prune works");
	TAP_INT(removed, 0, "... and finds nothing left to remove");
	tr_hist_each_attempt(s, NULL, 0, 100, count_att, &n, &gst);
	TAP_INT(n, 1, "the write of a later delivery pruned the attempt older than 30 days");
	tr_hist_each_day(s, "", NULL, sum_day, &sum, &gst);
	TAP_INT(sum.rows, 1, "the recent day stays");
	tr_hist_close(s);
}

static void t_full(void)
{
	tr_hist_store *s = open_at("full.db", 1, 128 * 1024);
	static char big[2000];
	int fails = 0, n = 0;
	struct stat sb;
	char path[128];

	if (s == NULL) {
		tap_ok(0, "full store", "");
		return;
	}
	memset(big, 'x', sizeof big - 1);
	for (int i = 0; i < 400; i++) {
		char dest[32];
		tr_hist_attempt a;

		snprintf(dest, sizeof dest, "d%d.example", i % 7);
		a = att(dest, "mx", "verified", 1, "delivered", NOW + i);
		a.text = big;
		fails += tr_hist_record(s, &a, 1, NULL, 0, NULL, NOW + i, &gst) != TLSRELAY_OK;
	}
	TAP_INT(fails, 0, "a store at its size limit keeps recording (oldest attempts dropped)");
	tr_hist_each_attempt(s, NULL, 0, 100000, count_att, &n, &gst);
	tap_ok(n > 0 && n < 400, "the recent attempts are bounded by the size", "");
	tr_hist_close(s);
	snprintf(path, sizeof path, "%s/full.db", dir);
	tap_ok(stat(path, &sb) == 0 && sb.st_size <= 128 * 1024, "the file stays within the limit", "");
}

/* Another process holds the write lock for 2 s: the write goes to the
 * pending journal, and the next one takes it in. */
static void t_locked(void)
{
	tr_hist_store *s = open_at("lock.db", 1, 0);
	tr_hist_attempt a = att("x.example", "mx", "verified", 1, "delivered", NOW);
	int p[2], status, n = 0;
	char c;
	pid_t pid;

	if (s == NULL || pipe(p) < 0) {
		tap_ok(0, "lock store", "");
		return;
	}
	if ((pid = fork()) == 0) {
		sqlite3 *db = NULL;
		char path[128];

		snprintf(path, sizeof path, "%s/lock.db", dir);
		if (tr_sq.open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
		    tr_sq.exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK)
			(void)!write(p[1], "L", 1);
		sleep(2);
		_exit(0);
	}
	(void)!read(p[0], &c, 1);
	TAP_INT(tr_hist_record(s, &a, 1, NULL, 0, NULL, NOW, &gst), TLSRELAY_OK,
	        "a store locked by another writer: the write goes to the pending journal");
	tap_ok(tr_hist_each_attempt(s, NULL, 0, 100, count_att, &n, &gst) == TLSRELAY_OK && n == 0,
	       "... and is not in the store yet", gst.text);
	waitpid(pid, &status, 0);
	TAP_INT(tr_hist_record(s, &a, 1, NULL, 0, NULL, NOW, &gst), TLSRELAY_OK, "once free, writes go on");
	n = 0;
	tr_hist_each_attempt(s, NULL, 0, 100, count_att, &n, &gst);
	TAP_INT(n, 2, "... and the pending one was taken in with it");
	tr_hist_close(s);
}

/* A new store (a file without tables) whose write lock another process
 * holds: the open that must make the schema does not fail (until
 * 2026-12-07 it did after the busy wait, and the delivery's row was lost). */
static void t_new_locked(void)
{
	tr_hist_attempt a = att("new.example", "mx", "verified", 1, "delivered", NOW);
	tr_hist_store *s;
	int p[2], status, n = 0;
	char c = 0;
	pid_t pid;

	if (pipe(p) < 0) {
		tap_ok(0, "pipe", "");
		return;
	}
	if ((pid = fork()) == 0) {
		sqlite3 *db = NULL;
		char path[128];

		snprintf(path, sizeof path, "%s/new.db", dir);
		if (tr_sq.open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) == SQLITE_OK &&
		    tr_sq.exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK)
			(void)!write(p[1], "L", 1);
		sleep(2);
		_exit(0);
	}
	(void)!read(p[0], &c, 1);
	s = open_at("new.db", 1, 0);
	tap_ok(c == 'L' && s != NULL, "a store being made, its lock held by another: the open succeeds", "");
	TAP_INT(s ? (int)tr_hist_record(s, &a, 1, NULL, 0, NULL, NOW, &gst) : -1, TLSRELAY_OK,
	        "... its write goes to the pending journal");
	waitpid(pid, &status, 0);
	TAP_INT(s ? (int)tr_hist_record(s, &a, 1, NULL, 0, NULL, NOW, &gst) : -1, TLSRELAY_OK,
	        "once free, the next write makes the tables");
	if (s)
		tr_hist_each_attempt(s, NULL, 0, 100, count_att, &n, &gst);
	TAP_INT(n, 2, "... and takes the pending one in with its own");
	tr_hist_close(s);
	close(p[0]);
	close(p[1]);
}

/* unlink(2) seen by the library (this definition interposes libc's): when
 * race_b is set and the taken journal is about to go, writer race_b
 * records one delivery first: it is the writer that gets the store's lock
 * right after the importer's commit and before its removal. */
static tr_hist_store *race_b;
static tlsrelay_cat race_rc = TLSRELAY_INTERNAL;

int unlink(const char *path)
{
	static const char suffix[] = "-pending-taken";
	size_t n = strlen(path), k = sizeof suffix - 1;

	if (race_b && n >= k && strcmp(path + n - k, suffix) == 0) {
		tr_hist_store *b = race_b;
		tr_hist_attempt x = att("b.example", "mx", "verified", 1, "delivered", NOW);

		race_b = NULL;
		race_rc = tr_hist_record(b, &x, 1, NULL, 0, NULL, NOW, &gst);
	}
	return unlinkat(AT_FDCWD, path, 0);
}

/* One delivery pending (the lock held by another process); then writer A
 * imports it with its own, and writer B gets the lock between A's commit
 * and A's removal of the taken journal: 3 rows, not 4 (B must not import
 * the file A has already committed). */
static void t_taken_race(void)
{
	tr_hist_store *a = open_at("race.db", 1, 0), *b = open_at("race.db", 1, 0);
	tr_hist_attempt p = att("p.example", "mx", "verified", 1, "delivered", NOW);
	tr_hist_attempt x = att("a.example", "mx", "verified", 1, "delivered", NOW);
	int go[2], held[2], status, n = 0;
	char c;
	pid_t pid;

	if (a == NULL || b == NULL || pipe(go) < 0 || pipe(held) < 0) {
		tap_ok(0, "race stores", "");
		return;
	}
	if ((pid = fork()) == 0) {
		sqlite3 *db = NULL;
		char path[128];

		close(go[1]);
		snprintf(path, sizeof path, "%s/race.db", dir);
		if (tr_sq.open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
		    tr_sq.exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK)
			(void)!write(held[1], "L", 1);
		(void)!read(go[0], &c, 1);      /* until the parent says (or exits) */
		_exit(0);
	}
	close(go[0]);
	close(held[1]);
	(void)!read(held[0], &c, 1);
	TAP_INT(tr_hist_record(a, &p, 1, NULL, 0, NULL, NOW, &gst), TLSRELAY_OK,
	        "race: a delivery while another process holds the lock goes to the journal");
	close(go[1]);
	waitpid(pid, &status, 0);
	race_b = b;
	TAP_INT(tr_hist_record(a, &x, 1, NULL, 0, NULL, NOW, &gst), TLSRELAY_OK,
	        "race: writer A imports the journal with its own delivery");
	TAP_INT(race_rc, TLSRELAY_OK, "race: writer B, between A's commit and its removal, records");
	tr_hist_each_attempt(a, NULL, 0, 100, count_att, &n, &gst);
	TAP_INT(n, 3, "race: 3 rows (the pending one imported once, not again by B)");
	tr_hist_close(a);
	tr_hist_close(b);
	close(held[0]);
}

static void t_open_errors(void)
{
	char path[128];
	struct stat sb;

	tap_ok(open_at("missing.db", 0, 0) == NULL, "reading a missing store fails", "");
	snprintf(path, sizeof path, "%s/missing.db", dir);
	tap_ok(stat(path, &sb) < 0, "... and makes no file", "");
	tap_ok(open_at("no/such/dir/h.db", 1, 0) == NULL, "a store that cannot be made: NULL", "");
}

int main(void)
{
	tap_plan(41);
	snprintf(dir, sizeof dir, "/tmp/tlsrelay-hist.XXXXXX");
	if (mkdtemp(dir) == NULL || tr_sqlite_load(&gst) != TLSRELAY_OK) {
		printf("Bail out! no temporary directory or no SQLite\n");
		return 1;
	}
	t_record_and_read();
	t_reuse();
	t_strip();
	t_prune();
	t_full();
	t_locked();
	t_new_locked();
	t_taken_race();
	t_open_errors();
	{
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		(void)!system(cmd);
	}
	return tap_done();
}

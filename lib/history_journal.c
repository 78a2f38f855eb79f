/*
 * history_journal.c - the TLS history store's pending journal (see
 * history_journal.h for the file, the record format and the limits).
 *
 * Decisions:
 * - One write(2) per record with O_APPEND: records of concurrent writers
 *   never interleave on a local file system; a short write (disk full, a
 *   crash) leaves a torn record, which the parser's checksum and length
 *   checks skip (the records after it are found again by their magic).
 * - The importer holds the exclusive flock only to rename the file away
 *   (microseconds), then reads and imports the renamed file at leisure:
 *   a first version held it across its import and commit, and under
 *   AddressSanitizer 80 concurrent deliveries lost one row to an appender
 *   that gave up waiting. The shared flock an appender takes is polled
 *   (250 us steps) for at most TR_HJ_LOCK_MS; an appender that opened the
 *   file before it was renamed sees that (the path names another inode,
 *   or none) and opens the new one.
 * - Strings are stored with their NUL so that a decoded record points
 *   into the buffer read: no copy, no allocation in the parser.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "history_journal.h"
#include "sqlite_dl.h"
#include "status.h"

#define HJ_HEAD 12                 /* magic, length, checksum */
static const unsigned char magic[4] = { 'T', 'R', 'H', 'J' };

/* The string fields of an attempt, in the record's order. */
static const size_t str_field[] = {
	offsetof(tr_hist_attempt, dest), offsetof(tr_hist_attempt, nexthop),
	offsetof(tr_hist_attempt, policy_domain), offsetof(tr_hist_attempt, mx),
	offsetof(tr_hist_attempt, addr), offsetof(tr_hist_attempt, posture),
	offsetof(tr_hist_attempt, verified_by), offsetof(tr_hist_attempt, verify_detail),
	offsetof(tr_hist_attempt, sts), offsetof(tr_hist_attempt, protocol),
	offsetof(tr_hist_attempt, cipher), offsetof(tr_hist_attempt, spki),
	offsetof(tr_hist_attempt, level), offsetof(tr_hist_attempt, level_src),
	offsetof(tr_hist_attempt, level_detail), offsetof(tr_hist_attempt, outcome),
	offsetof(tr_hist_attempt, dsn), offsetof(tr_hist_attempt, reason),
	offsetof(tr_hist_attempt, text), offsetof(tr_hist_attempt, dane_result),
	offsetof(tr_hist_attempt, sts_result), offsetof(tr_hist_attempt, shadow),
	offsetof(tr_hist_attempt, shadow_level), offsetof(tr_hist_attempt, shadow_text),
	offsetof(tr_hist_attempt, queue_id),
};
#define HJ_STRINGS (sizeof str_field / sizeof str_field[0])

static const char *field(const tr_hist_attempt *a, size_t i)
{
	const char *v;

	memcpy(&v, (const char *)a + str_field[i], sizeof v);
	return v ? v : "";
}

static void set_field(tr_hist_attempt *a, size_t i, const char *v)
{
	memcpy((char *)a + str_field[i], &v, sizeof v);
}

static uint32_t fnv1a(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

char *tr_hj_path(const char *store_path, const char *suffix)
{
	size_t n = strlen(store_path), k = strlen(suffix);
	char *p = malloc(n + k + 1);

	if (p)
		memcpy(p, store_path, n), memcpy(p + n, suffix, k + 1);
	return p;
}

/* ------------------------------------------------------------ encoding */

/* A record is built in a tr_buf bounded by TR_HJ_REC_MAX: lost past it. */
static void put(tr_buf *o, const void *p, size_t n)
{
	tr_buf_add(o, p, n);
}

static void put_u(tr_buf *o, unsigned long long v, size_t bytes)
{
	unsigned char b[8];

	for (size_t i = 0; i < bytes; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	put(o, b, bytes);
}

static void put_str(tr_buf *o, const char *s)
{
	size_t n = strlen(s) + 1;

	if (n > 0xffff) {
		o->lost = 1;
		return;
	}
	put_u(o, n, 2);
	put(o, s, n);
}

size_t tr_hj_encode(const tr_hist_attempt *a, size_t n, const tr_hist_count *c, size_t nc,
                    long long now, unsigned char **res)
{
	tr_buf o;
	unsigned char *b;
	uint32_t len, sum;

	*res = NULL;
	if (n > TR_HJ_MAX_ATTEMPTS || nc > TR_HJ_MAX_COUNTERS)
		return 0;
	tr_buf_init(&o, TR_HJ_REC_MAX);
	put(&o, magic, 4);
	put_u(&o, 0, 8);                     /* length and checksum: below */
	put_u(&o, (unsigned long long)now, 8);
	put_u(&o, n, 2);
	put_u(&o, nc, 2);
	for (size_t i = 0; i < n; i++) {
		put_u(&o, (unsigned long long)a[i].t, 8);
		put_u(&o, (unsigned long long)(long long)a[i].offered, 4);
		put_u(&o, (unsigned long long)a[i].cert_not_after, 8);
		put_u(&o, (unsigned long long)(long long)a[i].message, 4);
		put_u(&o, a[i].conn_use, 4);
		for (size_t k = 0; k < HJ_STRINGS; k++)
			put_str(&o, field(&a[i], k));
	}
	for (size_t i = 0; i < nc; i++) {
		put_str(&o, c[i].name ? c[i].name : "");
		put_str(&o, c[i].labels ? c[i].labels : "");
	}
	if (o.lost) {
		tr_buf_free(&o);
		return 0;
	}
	b = (unsigned char *)o.s;
	len = (uint32_t)(o.len - HJ_HEAD);
	sum = fnv1a(b + HJ_HEAD, len);
	for (int i = 0; i < 4; i++) {
		b[4 + i] = (unsigned char)(len >> (8 * i));
		b[8 + i] = (unsigned char)(sum >> (8 * i));
	}
	len = (uint32_t)o.len;
	*res = (unsigned char *)tr_buf_take(&o);
	return *res ? len : 0;
}

/* ------------------------------------------------------------ appending */

static void pause_250us(void)
{
	struct timespec t = { 0, 250 * 1000 };

	nanosleep(&t, NULL);
}

/* flock(fd, how | LOCK_NB), polled for TR_HJ_LOCK_MS at most: 0 or -1. */
static int lock_briefly(int fd, int how)
{
	for (int i = 0; i < TR_HJ_LOCK_MS * 4; i++) {
		if (flock(fd, how | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		pause_250us();
	}
	return -1;
}

/* path opened for appending, flocked shared, and still the file at path
 * (an importer renames it away under its exclusive flock: an appender
 * that opened it before must not write to what was taken): the fd, or
 * -1 with err. */
static int open_current(const char *path, char *err, size_t cap)
{
	struct stat sb, now;
	int fd;

	for (int tries = 0; tries < 4; tries++) {
		if (tr_sqlite_create_for_owner(path, 0640, err, cap) < 0)
			return -1;
		/* O_NONBLOCK: a FIFO planted here fails at once (ENXIO, no
		 * reader) instead of holding the delivery; a regular file's
		 * writes ignore it. */
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK |
		          (geteuid() == 0 ? O_NOFOLLOW : 0), 0640);
		if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
			snprintf(err, cap, "pending journal: %s", fd < 0 ? strerror(errno) : "not a regular file");
			if (fd >= 0)
				close(fd);
			return -1;
		}
		if (lock_briefly(fd, LOCK_SH) < 0) {
			snprintf(err, cap, "pending journal: busy");
			close(fd);
			return -1;
		}
		if (lstat(path, &now) == 0 && now.st_dev == sb.st_dev && now.st_ino == sb.st_ino)
			return fd;
		close(fd);                   /* taken meanwhile: a new one */
	}
	snprintf(err, cap, "pending journal: busy");
	return -1;
}

tlsrelay_cat tr_hj_append(const char *path, const tr_hist_attempt *a, size_t n,
                          const tr_hist_count *c, size_t nc, long long now, tlsrelay_status *st)
{
	unsigned char *rec = NULL;
	size_t len = tr_hj_encode(a, n, c, nc, now, &rec);
	char err[300] = "";
	struct stat sb;
	ssize_t w;
	int fd = -1;

	if (len == 0)
		snprintf(err, sizeof err, "pending journal: record too large");
	else if ((fd = open_current(path, err, sizeof err)) < 0)
		;                            /* err says why */
	else if (fstat(fd, &sb) < 0 || sb.st_size + (off_t)len > TR_HJ_CAP)
		snprintf(err, sizeof err, "pending journal full (%d bytes)", TR_HJ_CAP);
	else if ((w = write(fd, rec, len)) != (ssize_t)len)
		snprintf(err, sizeof err, "pending journal: %s", w < 0 ? strerror(errno) : "short write");
	if (fd >= 0)
		close(fd);                   /* and its flock */
	free(rec);
	if (err[0])
		return tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "%s", err);
	return tr_status_ok(st);
}

/* f opened for the import lock: read-write, or read-only for a user who
 * may only read it (then without the lock, as before it existed). */
static int open_for_import(const char *f, int flags)
{
	int fd = open(f, O_RDWR | flags);

	return fd < 0 && errno == EACCES ? open(f, O_RDONLY | flags) : fd;
}

/* The import lock on fd: an OFD write lock on its first byte (fcntl, so
 * independent of the appenders' flock on the same inode; the kernel drops
 * it with the last close, a crash included). 0 (or a read-only fd: no
 * lock), or -1 (held by another importer). */
static int import_lock(int fd)
{
	struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };

	return fcntl(fd, F_OFD_SETLK, &l) == 0 || errno == EBADF ? 0 : -1;
}

/* taken exists: 1 with *held locked on it (or -1 when it cannot be opened:
 * imported as nothing and removed, as a damaged one); 0 when another
 * importer holds it (it committed and is removing it) or it went. */
static int take_left(const char *taken, int *held)
{
	struct stat a, b;
	int fd = open_for_import(taken, O_CLOEXEC | O_NONBLOCK | (geteuid() == 0 ? O_NOFOLLOW : 0));

	if (fd < 0)
		return errno != ENOENT;
	if (import_lock(fd) < 0 || fstat(fd, &a) < 0 || lstat(taken, &b) < 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		close(fd);               /* being removed, or removed meanwhile */
		return 0;
	}
	*held = fd;
	return 1;
}

int tr_hj_take(const char *path, const char *taken, int *held)
{
	struct stat sb;
	int fd, took = 0;

	*held = -1;
	if (lstat(taken, &sb) == 0)
		return take_left(taken, held);   /* a failed import's: that one first */
	if (stat(path, &sb) < 0 || sb.st_size == 0)
		return 0;                    /* the usual case: one stat */
	fd = open_for_import(path, O_CLOEXEC | (geteuid() == 0 ? O_NOFOLLOW : 0));
	if (fd < 0)
		return 0;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && import_lock(fd) == 0 &&
	    flock(fd, LOCK_EX | LOCK_NB) == 0)
		took = rename(path, taken) == 0;   /* appenders re-open path: open_current */
	if (!took) {
		close(fd);
		return 0;
	}
	(void)flock(fd, LOCK_UN);            /* appenders waiting on it see the rename now */
	*held = fd;
	return 1;
}

void tr_hj_done(const char *taken, int held, int committed)
{
	if (committed)
		(void)unlink(taken);
	if (held >= 0)
		close(held);
}

unsigned char *tr_hj_read(const char *taken, size_t *len)
{
	unsigned char *buf = NULL;
	struct stat sb;
	ssize_t got = -1;
	int fd = open(taken, O_RDONLY | O_CLOEXEC | (geteuid() == 0 ? O_NOFOLLOW : 0));

	*len = 0;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (buf = malloc(TR_HJ_CAP + TR_HJ_REC_MAX)) != NULL)
		got = read(fd, buf, TR_HJ_CAP + TR_HJ_REC_MAX);
	close(fd);
	if (got < 0) {
		free(buf);
		return NULL;
	}
	*len = (size_t)got;
	return buf;
}

/* ------------------------------------------------------------ parsing */

/* A bounded reader over one payload. */
typedef struct in {
	const unsigned char *p;
	size_t n, at;
	int ok;
} in;

static unsigned long long get_u(in *r, size_t bytes)
{
	unsigned long long v = 0;

	if (!r->ok || r->n - r->at < bytes) {
		r->ok = 0;
		return 0;
	}
	for (size_t i = 0; i < bytes; i++)
		v |= (unsigned long long)r->p[r->at + i] << (8 * i);
	r->at += bytes;
	return v;
}

static long long get_s(in *r, size_t bytes)
{
	unsigned long long v = get_u(r, bytes);

	if (bytes < 8 && (v >> (8 * bytes - 1)) & 1)   /* sign-extend */
		v |= ~0ULL << (8 * bytes);
	return (long long)v;
}

static const char *get_str(in *r)
{
	size_t n = (size_t)get_u(r, 2);
	const char *s;

	if (!r->ok || n == 0 || r->n - r->at < n || r->p[r->at + n - 1] != '\0') {
		r->ok = 0;
		return "";
	}
	s = (const char *)r->p + r->at;
	r->at += n;
	return s;
}

/* payload[0..len) into rec: 1 whole and exact, else 0. */
static int decode(const unsigned char *payload, size_t len, tr_hj_record *rec)
{
	in r = { payload, len, 0, 1 };

	rec->now = get_s(&r, 8);
	rec->n = (size_t)get_u(&r, 2);
	rec->nc = (size_t)get_u(&r, 2);
	if (!r.ok || rec->n > TR_HJ_MAX_ATTEMPTS || rec->nc > TR_HJ_MAX_COUNTERS)
		return 0;
	for (size_t i = 0; i < rec->n && r.ok; i++) {
		tr_hist_attempt *a = &rec->a[i];
		a->t = get_s(&r, 8);
		a->offered = (int)get_s(&r, 4);
		a->cert_not_after = get_s(&r, 8);
		a->message = (int)get_s(&r, 4);
		a->conn_use = (unsigned)get_u(&r, 4);
		for (size_t k = 0; k < HJ_STRINGS; k++)
			set_field(a, k, get_str(&r));
	}
	for (size_t i = 0; i < rec->nc && r.ok; i++) {
		rec->c[i].name = get_str(&r);
		rec->c[i].labels = get_str(&r);
	}
	return r.ok && r.at == r.n;
}

/* A whole, exact record at buf[off..len): its total length, else 0. */
static size_t record_at(const unsigned char *buf, size_t len, size_t off, tr_hj_record *rec)
{
	in h = { buf + off, len - off, 0, 1 };
	size_t plen;
	uint32_t sum;

	if (len - off < HJ_HEAD || memcmp(buf + off, magic, 4) != 0)
		return 0;
	h.at = 4;
	plen = (size_t)get_u(&h, 4);
	sum = (uint32_t)get_u(&h, 4);
	if (plen > TR_HJ_REC_MAX || plen > len - off - HJ_HEAD ||
	    fnv1a(buf + off + HJ_HEAD, plen) != sum || !decode(buf + off + HJ_HEAD, plen, rec))
		return 0;
	return HJ_HEAD + plen;
}

/* The next "TRHJ" in buf after from, else len. */
static size_t next_magic(const unsigned char *buf, size_t len, size_t from)
{
	for (size_t i = from; i + 4 <= len; i++)
		if (buf[i] == magic[0] && memcmp(buf + i, magic, 4) == 0)
			return i;
	return len;
}

int tr_hj_next(const unsigned char *buf, size_t len, tr_hj_cursor *cur, tr_hj_record *r)
{
	while (cur->off < len) {
		size_t n = record_at(buf, len, cur->off, r), to;
		if (n > 0) {
			cur->off += n;
			return 1;
		}
		/* no record here: on to the next magic, a bounded number of times */
		to = ++cur->resyncs > TR_HJ_RESYNC_MAX ? len : next_magic(buf, len, cur->off + 1);
		cur->skipped += to - cur->off;
		cur->off = to;
	}
	return 0;
}

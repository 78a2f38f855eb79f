/*
 * fleet.c - the fleet store on Redis (see fleet.h): the connection and its
 * outages, MTA-STS policies, TLS-RPT counters and the report lease. The
 * TLS history's aggregate is fleet_hist.c.
 *
 * Decisions:
 * - The connection lives in the context (ctx->fleet), opened on first use
 *   by the process that delivers; a context that crossed a fork (tlsrelayd)
 *   drops the parent's connection without touching it and connects again.
 * - A failure marks the store down for DOWN_MS in this process: a
 *   delivery pays the timeout once, not once per call.
 * - "Once per outage" across processes: the first process to fail creates
 *   a marker file (O_EXCL) next to the local store (the directory of
 *   tls_history, else of mta_sts_cache) and logs LOG_ERR; the first to
 *   reach Redis again removes it and logs the recovery. Without either
 *   setting each process logs its outage once.
 * - The password file is read at each connect (it may be rotated); its
 *   text is sent in AUTH only, never logged.
 * - Writes are queued (fleet.h "ROUND TRIPS"): the flush is one flight
 *   after the delivery's sessions; its replies are checked (an error
 *   reply is an outage, as for any call). A queue beyond PEND_MAX (a
 *   delivery to very many domains) is flushed early.
 * - "Sharing resumes" is logged after the first answered call of a new
 *   connection (AUTH and SELECT ride with it), not at connect.
 * - A kept connection the server closed (a restart, its idle timeout) is
 *   replaced before use, without counting an outage: only a failed call
 *   or connect is one.
 * - "Newer" for a policy is its fetch time: policy ids are opaque
 *   (RFC 8461 3.2) and cannot be ordered.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <hiredis/hiredis.h>
#include "ctx.h"
#include "dns.h"
#include "fleet.h"
#include "fleet_int.h"
#include "tlsrpt.h"
#include "io.h"
#include "log.h"
#include "sts_admin.h"

#define DOWN_MS     1000
#define PEND_MAX    (1024 * 1024)   /* bytes of queued writes before an early flush */
#define RPT_KEEP    ((TR_STS_KEEP_DAYS + 1) * 86400)
#define MARKER_NAME "shared-store.down"

/* ------------------------------------------------------------ connection */

int tr_fleet_configured(const struct tlsrelay_ctx *ctx)
{
	return ctx->cfg.shared_store != NULL;
}

static void marker_path(const tr_config *cfg, char *out, size_t cap)
{
	const char *base = cfg->tls_history ? cfg->tls_history : cfg->mta_sts_cache;
	const char *slash = base ? strrchr(base, '/') : NULL;

	out[0] = '\0';
	if (slash)
		snprintf(out, cap, "%.*s/%s", (int)(slash - base), base, MARKER_NAME);
}

/* The first line of the password file into pw; 0, or -1 with why. */
static int read_password(const char *path, char *pw, size_t cap, char *why, size_t wcap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0) {
		snprintf(why, wcap, "shared_store_password_file %s: cannot read: %s", path,
		         strerror(errno));
		return -1;
	}
	n = read(fd, pw, cap - 1);
	close(fd);
	if (n <= 0) {
		snprintf(why, wcap, "shared_store_password_file %s: empty", path);
		return -1;
	}
	pw[n] = '\0';
	pw[strcspn(pw, "\r\n")] = '\0';
	return 0;
}

void tr_fleet_outage(tr_fleet *f, const char *why)
{
	char marker[4096 + 32];
	int fd;

	tr_rcl_close(f->r);
	f->r = NULL;
	f->down_until = tr_now_ms() + DOWN_MS;
	f->failures++;
	marker_path(&f->ctx->cfg, marker, sizeof marker);
	fd = marker[0] ? open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)
	     : (f->logged ? -1 : 0);
	if (fd >= 0) {
		tr_log(f->ctx, LOG_ERR, "shared store unavailable: %s; delivering with the local "
		       "stores, shared writes dropped until it is back (logged once per outage)",
		       why);
		if (fd > 0)
			close(fd);
		f->logged = 1;
	} else {
		tr_vlog(f->ctx, 1, "shared store still unavailable: %s", why);
	}
}

static void recovered(tr_fleet *f)
{
	char marker[4096 + 32];

	marker_path(&f->ctx->cfg, marker, sizeof marker);
	if ((marker[0] && unlink(marker) == 0) || (!marker[0] && f->logged)) {
		tr_log(f->ctx, LOG_NOTICE, "shared store %s available again: sharing resumes",
		       f->ctx->cfg.shared_store);
		f->logged = 0;
	}
}

/* tr_rcl_secret_fn: the password file, read at each connection to any
 * node (it may have been rotated). */
static int fleet_secret(void *arg, char *pw, size_t cap, char *why, size_t wcap)
{
	const tr_fleet *f = arg;
	const char *path = f->ctx->cfg.shared_store_password_file;

	if (path == NULL)
		return 0;
	return read_password(path, pw, cap, why, wcap) < 0 ? -1 : 1;
}

static int fleet_connect(tr_fleet *f)
{
	const tr_config *cfg = &f->ctx->cfg;
	tlsrelay_status st;

	f->r = tr_rcl_connect(&f->addr, fleet_secret, f, cfg->shared_store_ca_file,
	                      cfg->shared_store_timeout, &st);
	if (f->r == NULL) {
		tr_fleet_outage(f, st.text);
		return -1;
	}
	f->fresh = 1;
	return 0;
}

/* The store object of ctx (created, URL parsed), connected or not; NULL
 * when shared_store is unset or unusable. */
static tr_fleet *fleet_get(struct tlsrelay_ctx *ctx)
{
	tr_fleet *f = ctx->fleet;
	char why[256];

	if (ctx->cfg.shared_store == NULL)
		return NULL;
	if (f == NULL) {
		if ((f = calloc(1, sizeof *f)) == NULL)
			return NULL;
		f->ctx = ctx;
		f->pid = getpid();
		ctx->fleet = f;
		if (ctx->cfg.helo_name && ctx->cfg.helo_name[0])
			snprintf(f->host, sizeof f->host, "%s", ctx->cfg.helo_name);
		else
			gethostname(f->host, sizeof f->host - 1);
		if (tr_fleet_parse_url(ctx->cfg.shared_store, &f->addr, why, sizeof why) < 0) {
			f->bad = 1;
			tr_log(ctx, LOG_ERR, "shared_store %s: %s (working without it)",
			       ctx->cfg.shared_store, why);
		}
	}
	if (f->pid != getpid()) {       /* the parent's: not ours to close or send */
		f->r = NULL;
		tr_redis_batch_free(&f->pend);  /* this process's copy of its writes */
		f->pend_writes = 0;
		f->pid = getpid();
	}
	return f->bad ? NULL : f;
}

tr_fleet *tr_fleet_use(struct tlsrelay_ctx *ctx)
{
	tr_fleet *f = fleet_get(ctx);

	if (f == NULL)
		return NULL;
	if (f->r && tr_rcl_closed(f->r)) {      /* closed by the server while idle */
		tr_vlog(ctx, 1, "shared store %s closed the connection: connecting again",
		        ctx->cfg.shared_store);
		tr_rcl_close(f->r);
		f->r = NULL;
	}
	if (f->r)
		return f;
	if (tr_now_ms() < f->down_until || fleet_connect(f) < 0)
		return NULL;
	return f;
}

tr_fleet *tr_fleet_writer(struct tlsrelay_ctx *ctx)
{
	tr_fleet *f = fleet_get(ctx);

	return f && (f->r || tr_now_ms() >= f->down_until) ? f : NULL;
}

int tr_fleet_queue(tr_fleet *f, const tr_redis_cmd *c, int n)
{
	if (f->pend.len > PEND_MAX)
		tr_fleet_flush(f->ctx);
	if (tr_redis_batch_add(&f->pend, c, n) < 0)
		return -1;
	f->pend_writes++;
	return 0;
}

void tr_fleet_flush(struct tlsrelay_ctx *ctx)
{
	tr_fleet *f = ctx->fleet;
	void **rep;
	int n;

	if (f == NULL || f->pid != getpid() || f->pend.n == 0)
		return;
	n = f->pend.n;
	if ((rep = calloc((size_t)n, sizeof *rep)) != NULL && tr_fleet_use(ctx) != NULL &&
	    tr_fleet_call_batch(f, &f->pend, rep) == 0) {
		tr_redis_free_replies(rep, n);
	} else {
		f->dropped += f->pend_writes;
	}
	free(rep);
	tr_redis_batch_free(&f->pend);
	f->pend_writes = 0;
}

void tr_fleet_free(struct tlsrelay_ctx *ctx)
{
	tr_fleet *f = ctx->fleet;

	if (f == NULL)
		return;
	tr_fleet_flush(ctx);
	if (f->pid == getpid()) {
		tr_rcl_close(f->r);
		tr_redis_batch_free(&f->pend);
	}
	free(f);
	ctx->fleet = NULL;
}

void tr_fleet_take_counts(struct tlsrelay_ctx *ctx, long long *failures, long long *dropped)
{
	tr_fleet *f = ctx->fleet;

	*failures = f ? f->failures : 0;
	*dropped = f ? f->dropped : 0;
	if (f)
		f->failures = f->dropped = 0;
}

void tr_fleet_dropped(struct tlsrelay_ctx *ctx, long long n)
{
	if (ctx->fleet)
		ctx->fleet->dropped += n;
}

int tr_fleet_call_batch(tr_fleet *f, const tr_redis_batch *b, void **rep)
{
	tlsrelay_status st;
	char why[TLSRELAY_TEXT_MAX];

	if (f->r == NULL)
		return -1;
	if (tr_rcl_call_batch(f->r, b, rep, f->ctx->cfg.shared_store_timeout, &st)
	    != TLSRELAY_OK) {
		tr_fleet_outage(f, st.text);
		return -1;
	}
	for (int i = 0; i < b->n; i++) {
		redisReply *x = rep[i];
		if (x->type == REDIS_REPLY_ERROR) {   /* OOM, READONLY, NOSCRIPT... */
			snprintf(why, sizeof why, "%s: %.200s", f->ctx->cfg.shared_store, x->str);
			tr_redis_free_replies(rep, b->n);
			tr_fleet_outage(f, why);
			return -1;
		}
	}
	if (f->fresh) {
		f->fresh = 0;
		recovered(f);
	}
	return 0;
}

int tr_fleet_call(tr_fleet *f, const tr_redis_cmd *c, int n, void **rep)
{
	tr_redis_batch b = { 0 };
	int r;

	for (int i = 0; i < n; i++)
		rep[i] = NULL;
	if (tr_redis_batch_add(&b, c, n) < 0)
		return -1;
	r = tr_fleet_call_batch(f, &b, rep);
	tr_redis_batch_free(&b);
	return r;
}

/* ------------------------------------------------------------ MTA-STS */

static const char STS_PUT[] =
	"local f = tonumber(redis.call('HGET', KEYS[1], 'fetched'))\n"
	"if f and f >= tonumber(ARGV[2]) then return 0 end\n"
	"redis.call('HSET', KEYS[1], 'id', ARGV[1], 'fetched', ARGV[2], 'expires', ARGV[3],"
	" 'policy', ARGV[4], 'by', ARGV[5])\n"
	"redis.call('EXPIREAT', KEYS[1], ARGV[3])\n"
	"return 1\n";

tr_found tr_fleet_sts_get(tr_fleet *f, const char *domain, tr_sts_cached *out, char *by,
                          size_t bycap)
{
	char key[TR_HOSTNAME_MAX + 16], err[256];
	const char *argv[] = { "HMGET", key, "id", "fetched", "expires", "policy", "by" };
	tr_redis_cmd c;
	void *rep[1];
	redisReply *x, **e;
	tr_found r = TR_NOT_FOUND;

	snprintf(key, sizeof key, "tlsrelay:sts:%s", domain);
	tr_redis_cmdv(&c, 7, argv);
	if (tr_fleet_call(f, &c, 1, rep) < 0)
		return TR_LOOKUP_FAILED;
	x = rep[0];
	e = x->element;
	if (x->type == REDIS_REPLY_ARRAY && x->elements == 5 &&
	    e[0]->type == REDIS_REPLY_STRING && e[1]->type == REDIS_REPLY_STRING &&
	    e[2]->type == REDIS_REPLY_STRING && e[3]->type == REDIS_REPLY_STRING &&
	    e[0]->len < sizeof out->id &&
	    tr_sts_policy_parse(e[3]->str, e[3]->len, &out->pol, err, sizeof err) == 0) {
		memcpy(out->id, e[0]->str, e[0]->len + 1);
		out->fetched = atoll(e[1]->str);
		out->expires = atoll(e[2]->str);
		if (by)
			snprintf(by, bycap, "%.*s", e[4]->type == REDIS_REPLY_STRING ? (int)e[4]->len : 1,
			         e[4]->type == REDIS_REPLY_STRING ? e[4]->str : "?");
		r = TR_FOUND;
	}
	tr_redis_free_replies(rep, 1);
	return r;
}

int tr_fleet_sts_put(tr_fleet *f, const char *domain, const char *id,
                     const tr_sts_policy *pol, long long fetched)
{
	char key[TR_HOSTNAME_MAX + 16], fs[24], es[24], *text = malloc(TR_STS_POLICY_TEXT_MAX);
	const char *argv[] = { "EVAL", STS_PUT, "1", key, id, fs, es, text, f->host };
	tr_redis_cmd c;
	int r;

	if (text == NULL)
		return -1;
	snprintf(key, sizeof key, "tlsrelay:sts:%s", domain);
	snprintf(fs, sizeof fs, "%lld", fetched);
	snprintf(es, sizeof es, "%lld", fetched + pol->max_age);
	tr_sts_policy_format(pol, text, TR_STS_POLICY_TEXT_MAX);
	tr_redis_cmdv(&c, 9, argv);
	r = tr_fleet_queue(f, &c, 1);
	free(text);
	return r;
}

/* ------------------------------------------------------------ TLS-RPT */

static void rpt_field(const tr_rpt_row *row, char *out, size_t cap)
{
	const char *v[] = { row->policy_type, row->policy_string, row->mx_host, row->result,
	                    row->receiving_mx, row->receiving_ip,
	                    row->sending_ip ? row->sending_ip : "" };

	tr_fleet_join(out, cap, v, 7);
}

int tr_fleet_rpt_add(tr_fleet *f, const tr_rpt_row *row, long long now)
{
	char day[16], dkey[64], key[TR_HOSTNAME_MAX + 64], keep[16];
	char *field = malloc(TR_STS_POLICY_TEXT_MAX * 2 + 1024);
	tr_redis_cmd c[4];
	int r;

	if (field == NULL)
		return -1;
	tr_utc_day(now, day);
	snprintf(dkey, sizeof dkey, "tlsrelay:rpt:%s", day);
	snprintf(key, sizeof key, "tlsrelay:rpt:%s:%s", day, row->policy_domain);
	snprintf(keep, sizeof keep, "%d", RPT_KEEP);
	rpt_field(row, field, TR_STS_POLICY_TEXT_MAX * 2 + 1024);
	{
		const char *a0[] = { "HINCRBY", key, field, "1" }, *a1[] = { "EXPIRE", key, keep };
		const char *a2[] = { "SADD", dkey, row->policy_domain }, *a3[] = { "EXPIRE", dkey, keep };
		tr_redis_cmdv(&c[0], 4, a0);
		tr_redis_cmdv(&c[1], 3, a1);
		tr_redis_cmdv(&c[2], 3, a2);
		tr_redis_cmdv(&c[3], 3, a3);
	}
	r = tr_fleet_queue(f, c, 4);
	free(field);
	return r;
}

struct rpt_entry {
	const char *field;
	size_t len;
	long long count;
};

static int by_field(const void *a, const void *b)
{
	const struct rpt_entry *x = a, *y = b;
	int c = memcmp(x->field, y->field, x->len < y->len ? x->len : y->len);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* The rows of one domain's hash, sorted, to fn; 1 when fn stopped. */
static int rpt_emit(const char *domain, redisReply *h,
                    int (*fn)(const tr_rpt_row *row, void *arg), void *arg)
{
	size_t n = h->type == REDIS_REPLY_ARRAY ? h->elements / 2 : 0;
	struct rpt_entry *v = calloc(n ? n : 1, sizeof *v);
	size_t cap = TR_STS_POLICY_TEXT_MAX * 2 + 1024;
	char *buf = malloc(cap);
	int stop = 0;

	for (size_t i = 0; v && i < n; i++)
		v[i] = (struct rpt_entry){ h->element[2 * i]->str, h->element[2 * i]->len,
		                           atoll(h->element[2 * i + 1]->str) };
	if (v && buf)
		qsort(v, n, sizeof *v, by_field);
	for (size_t i = 0; v && buf && i < n && !stop; i++) {
		const char *p[7];
		tr_rpt_row row;

		if (tr_fleet_split(v[i].field, v[i].len, buf, cap, p, 7) != 7)
			continue;           /* not ours: skipped */
		row = (tr_rpt_row){ domain, p[0], p[1], p[2], p[3], p[4], p[5], v[i].count, p[6] };
		stop = fn(&row, arg);
	}
	free(v);
	free(buf);
	return stop;
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

tlsrelay_cat tr_fleet_rpt_rows(tr_fleet *f, const char *day, const char *domain,
                               int (*fn)(const tr_rpt_row *row, void *arg), void *arg,
                               tlsrelay_status *st)
{
	char key[TR_HOSTNAME_MAX + 64];
	const char *argv[] = { "SMEMBERS", key };
	tr_redis_cmd c;
	void *rep[1] = { NULL };
	redisReply *set = NULL;
	char **names = NULL;
	size_t n = 1;
	int stop = 0;

	if (domain == NULL) {
		snprintf(key, sizeof key, "tlsrelay:rpt:%s", day);
		tr_redis_cmdv(&c, 2, argv);
		if (tr_fleet_call(f, &c, 1, rep) < 0)
			goto down;
		set = rep[0];
		n = set->type == REDIS_REPLY_ARRAY ? set->elements : 0;
		if ((names = calloc(n ? n : 1, sizeof *names)) == NULL) {
			freeReplyObject(set);
			return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		}
		for (size_t i = 0; i < n; i++)
			names[i] = set->element[i]->str;
		qsort(names, n, sizeof *names, by_str);
	}
	for (size_t i = 0; i < n && !stop; i++) {
		const char *d = domain ? domain : names[i];
		const char *hv[] = { "HGETALL", key };

		snprintf(key, sizeof key, "tlsrelay:rpt:%s:%s", day, d);
		tr_redis_cmdv(&c, 2, hv);
		if (f->r == NULL || tr_fleet_call(f, &c, 1, rep) < 0) {
			free(names);
			if (set)
				freeReplyObject(set);
			goto down;
		}
		stop = rpt_emit(d, rep[0], fn, arg);
		tr_redis_free_replies(rep, 1);
	}
	free(names);
	if (set)
		freeReplyObject(set);
	return tr_status_ok(st);
down:
	return tr_status_set(st, TLSRELAY_TEMP, "4.4.1", "shared store %s unavailable: the "
	                     "fleet's TLS-RPT results cannot be read", f->ctx->cfg.shared_store);
}

/* ------------------------------------------------------------ the lease */

static const char LEASE[] =
	"local s = redis.call('GET', KEYS[2])\n"
	"if s then return {'sent', s} end\n"
	"if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return {'got', ''} end\n"
	"return {'held', redis.call('GET', KEYS[1]) or ''}\n";

static const char LEASE_END[] =
	"if ARGV[2] == '1' then redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4]) end\n"
	"if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end\n"
	"return 0\n";

tlsrelay_cat tr_fleet_lease(tr_fleet *f, const char *day, const char *domain, int seconds,
                            char token[64], tr_lease_res *res, char *by, size_t bycap,
                            tlsrelay_status *st)
{
	char lk[TR_HOSTNAME_MAX + 64], sk[TR_HOSTNAME_MAX + 64], ok[TR_HOSTNAME_MAX + 64];
	char secs[16], host[64] = "";
	const char *get[] = { "GET", ok }, *argv[] = { "EVAL", LEASE, "2", lk, sk, token, secs };
	tr_redis_cmd c[2];
	void *rep[2];
	redisReply *x, *old;

	gethostname(host, sizeof host - 1);
	snprintf(token, 64, "%.40s pid %ld at %lld", host, (long)getpid(), (long long)time(NULL));
	snprintf(secs, sizeof secs, "%d", seconds);
	tr_fleet_lease_keys(day, domain, lk, sk, ok, sizeof lk);
	tr_redis_cmdv(&c[0], 2, get);       /* a "sent" marker of before the hash tags */
	tr_redis_cmdv(&c[1], 7, argv);
	if (tr_fleet_call(f, c, 2, rep) < 0)
		return tr_status_set(st, TLSRELAY_TEMP, "4.4.1", "shared store %s unavailable: "
		                     "no lease to send the report", f->ctx->cfg.shared_store);
	old = rep[0];
	x = rep[1];
	*res = TR_LEASE_HELD;
	snprintf(by, bycap, "?");
	if (old->type == REDIS_REPLY_STRING) {  /* sent by an older version: the lease we may
	                                           have taken expires (nobody needs it) */
		*res = TR_LEASE_SENT;
		snprintf(by, bycap, "%s", old->str);
	} else if (x->type == REDIS_REPLY_ARRAY && x->elements == 2 &&
	           x->element[0]->type == REDIS_REPLY_STRING &&
	           x->element[1]->type == REDIS_REPLY_STRING) {
		*res = strcmp(x->element[0]->str, "got") == 0 ? TR_LEASE_GOT
		       : strcmp(x->element[0]->str, "sent") == 0 ? TR_LEASE_SENT : TR_LEASE_HELD;
		snprintf(by, bycap, "%s", x->element[1]->str);
	}
	tr_redis_free_replies(rep, 2);
	return tr_status_ok(st);
}

tlsrelay_cat tr_fleet_lease_end(tr_fleet *f, const char *day, const char *domain,
                                const char *token, int sent, tlsrelay_status *st)
{
	char lk[TR_HOSTNAME_MAX + 64], sk[TR_HOSTNAME_MAX + 64], ok[TR_HOSTNAME_MAX + 64];
	char keep[16];
	const char *argv[] = { "EVAL", LEASE_END, "2", lk, sk, token, sent ? "1" : "0", token,
	                       keep };
	tr_redis_cmd c;
	void *rep[1];

	snprintf(keep, sizeof keep, "%d", RPT_KEEP);
	tr_fleet_lease_keys(day, domain, lk, sk, ok, sizeof lk);
	tr_redis_cmdv(&c, 9, argv);
	if (tr_fleet_call(f, &c, 1, rep) < 0)
		return tr_status_set(st, TLSRELAY_TEMP, "4.4.1", "shared store %s unavailable: "
		                     "the report's lease is left to expire", f->ctx->cfg.shared_store);
	tr_redis_free_replies(rep, 1);
	return tr_status_ok(st);
}

/* ------------------------------------------------------------ -t */

int tr_fleet_built(void)
{
	return 1;
}

int tr_fleet_check_reach(const tr_config *cfg, void (*fn)(void *arg, const char *text),
                         void *arg)
{
	tr_redis_addr a;
	tr_redis *r;
	tlsrelay_status st;
	char pw[512], why[TLSRELAY_TEXT_MAX], line[TLSRELAY_TEXT_MAX * 2 + 128];
	int timeout = cfg->shared_store_timeout > 1000 ? cfg->shared_store_timeout : 1000;

	if (cfg->shared_store == NULL || tr_fleet_parse_url(cfg->shared_store, &a, why,
	                                                    sizeof why) < 0)
		return 0;
	if (cfg->shared_store_password_file &&
	    read_password(cfg->shared_store_password_file, pw, sizeof pw, why, sizeof why) < 0) {
		snprintf(line, sizeof line, "warning: %s", why);
		fn(arg, line);
		return 1;
	}
	r = tr_redis_connect(&a, cfg->shared_store_password_file ? pw : NULL,
	                     cfg->shared_store_ca_file, timeout, &st);
	explicit_bzero(pw, sizeof pw);
	if (r) {                        /* AUTH and SELECT go with the PING */
		const char *ping[] = { "PING" };
		tr_redis_cmd c;
		void *rep[1];

		tr_redis_cmdv(&c, 1, ping);
		if (tr_redis_call(r, &c, 1, rep, timeout, &st) == TLSRELAY_OK)
			tr_redis_free_replies(rep, 1);
		tr_redis_close(r);
		if (st.cat == TLSRELAY_OK)
			return 0;
	}
	snprintf(line, sizeof line, "warning: shared store cannot be reached now: %s (deliveries "
	         "would use the local stores only)", st.text);
	fn(arg, line);
	return 1;
}

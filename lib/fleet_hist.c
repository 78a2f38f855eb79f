/*
 * fleet_hist.c - the TLS history's daily aggregate in the fleet store
 * (see fleet.h; the local store is history_store.h).
 *
 * One hash per UTC day, tlsrelay:hist:DAY; a field is KIND, then the
 * destination and the ten columns of a daily row (tr_hist_day) joined by
 * 0x1f (tr_fleet_join); KIND "a" counts attempts, "m" messages, "r"
 * attempts on a kept connection. HINCRBY makes concurrent hosts add up
 * exactly. The hash expires tls_history_days after its day.
 *
 * Reading (tlsrelay-report): all days since the first one asked, in one
 * pipelined round trip (at most tls_history_days HGETALLs), merged into
 * rows in (day, dest, columns) order.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <hiredis/hiredis.h>
#include "ctx.h"
#include "fleet.h"
#include "fleet_int.h"
#include "tlsrpt.h"

#define FIELD_MAX  2048
#define NCOLS      11            /* dest + ten columns */
#define DAYS_MAX   400           /* days read at most in one report */

static void hist_field(const tr_hist_attempt *a, const char *kind, char *out, size_t cap)
{
	const char *v[] = { kind, a->dest, a->posture, a->verified_by, a->sts, a->outcome,
	                    a->reason, a->level, a->level_src, a->dane_result, a->sts_result,
	                    a->shadow };

	tr_fleet_join(out, cap, v, NCOLS + 1);
}

int tr_fleet_hist_add(tr_fleet *f, const tr_hist_attempt *a, size_t n, int days)
{
	size_t max = 3 * n + 1, k = 0;
	tr_redis_cmd *c = calloc(max, sizeof *c);
	char (*fields)[FIELD_MAX] = calloc(3 * n, FIELD_MAX), (*keys)[48] = calloc(n, 48);
	char keep[16];
	int r = -1;

	if (c == NULL || fields == NULL || keys == NULL)
		goto out;
	snprintf(keep, sizeof keep, "%d", (days + 1) * 86400);
	for (size_t i = 0; i < n; i++) {
		char day[16];
		const char *kinds[3] = { "a", a[i].message ? "m" : NULL,
		                         a[i].conn_use > 1 ? "r" : NULL };

		tr_utc_day(a[i].t, day);
		snprintf(keys[i], 48, "tlsrelay:hist:%s", day);
		for (int j = 0; j < 3; j++) {
			if (kinds[j] == NULL)
				continue;
			hist_field(&a[i], kinds[j], fields[k], FIELD_MAX);
			c[k] = (tr_redis_cmd){ 4, { "HINCRBY", keys[i], fields[k], "1" },
			                       { 7, strlen(keys[i]), strlen(fields[k]), 1 } };
			k++;
		}
	}
	if (n > 0) {          /* one EXPIRE: a delivery's attempts share their day */
		c[k] = (tr_redis_cmd){ 3, { "EXPIRE", keys[n - 1], keep },
		                       { 6, strlen(keys[n - 1]), strlen(keep) } };
		k++;
	}
	r = tr_fleet_queue(f, c, (int)k);
out:
	free(c);
	free(fields);
	free(keys);
	return r;
}

/* ------------------------------------------------------------ reading */

struct agg {
	const char *row;           /* the 11 columns, into the reply */
	size_t len;
	long long a, m, r;
};

static int by_row(const void *x, const void *y)
{
	const struct agg *p = x, *q = y;
	int c = memcmp(p->row, q->row, p->len < q->len ? p->len : q->len);

	return c ? c : (p->len > q->len) - (p->len < q->len);
}

/* One day's hash into rows to fn; 1 when fn stopped, -1 out of memory. */
static int emit_day(const char *day, const redisReply *h, const char *dest,
                    int (*fn)(const tr_hist_day *row, void *arg), void *arg)
{
	size_t n = h->type == REDIS_REPLY_ARRAY ? h->elements / 2 : 0, m = 0;
	struct agg *v = calloc(n ? n : 1, sizeof *v);
	char buf[FIELD_MAX];
	int stop = 0;

	if (v == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const redisReply *k = h->element[2 * i], *val = h->element[2 * i + 1];

		if (k->len < 3 || k->str[1] != '\x1f' || strchr("amr", k->str[0]) == NULL)
			continue;
		v[m] = (struct agg){ k->str + 2, k->len - 2, 0, 0, 0 };
		*(k->str[0] == 'a' ? &v[m].a : k->str[0] == 'm' ? &v[m].m : &v[m].r) =
			atoll(val->str);
		m++;
	}
	qsort(v, m, sizeof *v, by_row);
	for (size_t i = 0; i < m && !stop;) {
		size_t j = i + 1;
		const char *p[NCOLS];
		long long a = v[i].a, mm = v[i].m, r = v[i].r;

		while (j < m && by_row(&v[i], &v[j]) == 0) {
			a += v[j].a;
			mm += v[j].m;
			r += v[j].r;
			j++;
		}
		if (tr_fleet_split(v[i].row, v[i].len, buf, sizeof buf, p, NCOLS) == NCOLS &&
		    (dest == NULL || strcmp(dest, p[0]) == 0) && a > 0) {
			tr_hist_day row = { day, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8],
			                    p[9], p[10], a, mm, r };
			stop = fn(&row, arg);
		}
		i = j;
	}
	free(v);
	return stop;
}

tlsrelay_cat tr_fleet_hist_each_day(tr_fleet *f, const char *since_day, const char *dest,
                                    int (*fn)(const tr_hist_day *row, void *arg), void *arg,
                                    tlsrelay_status *st)
{
	long long start, now = (long long)time(NULL);
	int ndays;
	tr_redis_cmd *c = NULL;
	char (*days)[16] = NULL, (*keys)[48] = NULL;
	void **rep = NULL;
	int stop = 0;

	if (since_day == NULL || since_day[0] == '\0' || tr_tlsrpt_day(since_day, &start) < 0)
		start = now - (long long)f->ctx->cfg.tls_history_days * 86400;
	ndays = (int)((now - start) / 86400) + 1;
	if (ndays > DAYS_MAX)
		ndays = DAYS_MAX;
	if (ndays < 1)
		ndays = 1;
	c = calloc((size_t)ndays, sizeof *c);
	days = calloc((size_t)ndays, 16);
	keys = calloc((size_t)ndays, 48);
	rep = calloc((size_t)ndays, sizeof *rep);
	if (c == NULL || days == NULL || keys == NULL || rep == NULL) {
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		goto out;
	}
	for (int i = 0; i < ndays; i++) {
		tr_utc_day(now - (long long)(ndays - 1 - i) * 86400, days[i]);
		snprintf(keys[i], 48, "tlsrelay:hist:%s", days[i]);
		c[i] = (tr_redis_cmd){ 2, { "HGETALL", keys[i] }, { 7, strlen(keys[i]) } };
	}
	if (tr_fleet_call(f, c, ndays, rep) < 0) {
		tr_status_set(st, TLSRELAY_TEMP, "4.4.1", "shared store %s unavailable: the "
		              "fleet's TLS history cannot be read", f->ctx->cfg.shared_store);
		goto out;
	}
	tr_status_ok(st);
	for (int i = 0; i < ndays && stop == 0; i++)
		if ((stop = emit_day(days[i], rep[i], dest, fn, arg)) < 0)
			tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
	tr_redis_free_replies(rep, ndays);
out:
	free(c);
	free(days);
	free(keys);
	free(rep);
	return st->cat;
}

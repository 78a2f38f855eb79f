/*
 * tlsrpt.c - RFC 8460 aggregate reports (see tlsrpt.h).
 *
 * The JSON is written by hand (no JSON library): every string goes
 * through json_str(), which escapes '"', '\\' and control bytes.
 * Memory: the day's rows of one domain are held at once (bounded by what
 * the store holds: one row per distinct result, MX and address).
 */
#include "config.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>
#include <openssl/evp.h>
#include "buf.h"
#include "tlsrpt.h"

typedef struct rowv {
	char *type, *pstr, *mx, *result, *rmx, *rip, *sip;
	long long count;
} rowv;

typedef struct rows {
	rowv *v;
	size_t n, cap;
	int oom;
} rows;

static int keep_row(const tr_rpt_row *r, void *arg)
{
	rows *a = arg;
	rowv *x;

	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 16;
		rowv *nv = realloc(a->v, nc * sizeof *nv);
		if (nv == NULL)
			return a->oom = 1;
		a->v = nv;
		a->cap = nc;
	}
	x = &a->v[a->n];
	x->type = strdup(r->policy_type ? r->policy_type : "");
	x->pstr = strdup(r->policy_string ? r->policy_string : "");
	x->mx = strdup(r->mx_host ? r->mx_host : "");
	x->result = strdup(r->result ? r->result : "");
	x->rmx = strdup(r->receiving_mx ? r->receiving_mx : "");
	x->rip = strdup(r->receiving_ip ? r->receiving_ip : "");
	x->sip = strdup(r->sending_ip ? r->sending_ip : "");
	x->count = r->count;
	a->n++;
	if (!x->type || !x->pstr || !x->mx || !x->result || !x->rmx || !x->rip || !x->sip)
		return a->oom = 1;
	return 0;
}

static void rows_free(rows *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].type);
		free(a->v[i].pstr);
		free(a->v[i].mx);
		free(a->v[i].result);
		free(a->v[i].rmx);
		free(a->v[i].rip);
		free(a->v[i].sip);
	}
	free(a->v);
}

/* ------------------------------------------------------------ JSON */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* A '\n'-separated list as a JSON array of strings. */
static void json_lines(FILE *f, const char *s)
{
	fputc('[', f);
	for (int first = 1; *s; first = 0) {
		size_t n = strcspn(s, "\n");
		char *one = strndup(s, n);

		if (!first)
			fputc(',', f);
		json_str(f, one ? one : "");
		free(one);
		s += n + (s[n] == '\n');
	}
	fputc(']', f);
}

static int same_policy(const rowv *a, const rowv *b)
{
	return strcmp(a->type, b->type) == 0 && strcmp(a->pstr, b->pstr) == 0 &&
	       strcmp(a->mx, b->mx) == 0;
}

/* One policies[] entry: rows [from, to) share the policy. */
static void json_policy(FILE *f, const rows *a, size_t from, size_t to, const char *domain)
{
	const rowv *p = &a->v[from];
	long long ok = 0, bad = 0;
	int first = 1;

	for (size_t i = from; i < to; i++) {
		if (strcmp(a->v[i].result, "success") == 0)
			ok += a->v[i].count;
		else
			bad += a->v[i].count;
	}
	fputs("{\"policy\":{\"policy-type\":", f);
	json_str(f, p->type);
	if (p->pstr[0]) {
		fputs(",\"policy-string\":", f);
		json_lines(f, p->pstr);
	}
	fputs(",\"policy-domain\":", f);
	json_str(f, domain);
	if (p->mx[0]) {
		fputs(",\"mx-host\":", f);
		json_lines(f, p->mx);
	}
	fprintf(f, "},\"summary\":{\"total-successful-session-count\":%lld,"
	        "\"total-failure-session-count\":%lld},\"failure-details\":[", ok, bad);
	for (size_t i = from; i < to; i++) {
		const rowv *r = &a->v[i];
		if (strcmp(r->result, "success") == 0)
			continue;
		fputs(first ? "{\"result-type\":" : ",{\"result-type\":", f);
		first = 0;
		json_str(f, r->result);
		if (r->sip[0]) {
			fputs(",\"sending-mta-ip\":", f);
			json_str(f, r->sip);
		}
		if (r->rmx[0]) {
			fputs(",\"receiving-mx-hostname\":", f);
			json_str(f, r->rmx);
		}
		if (r->rip[0]) {
			fputs(",\"receiving-ip\":", f);
			json_str(f, r->rip);
		}
		fprintf(f, ",\"failed-session-count\":%lld}", r->count);
	}
	fputs("]}", f);
}

void tr_utc_day(long long t, char out[16])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 16, "%Y-%m-%d", &tm);
}

int tr_tlsrpt_day(const char *day, long long *start)
{
	struct tm tm;
	char *end;

	memset(&tm, 0, sizeof tm);
	if (strlen(day) != 10 || (end = strptime(day, "%Y-%m-%d", &tm)) == NULL || *end)
		return -1;
	*start = (long long)timegm(&tm);
	return 0;
}

static void json_report(FILE *f, const rows *a, const char *day, const char *domain,
                        const tr_tlsrpt_meta *m)
{
	tr_buf id;

	tr_buf_init(&id, 0);
	if (m->report_id)
		tr_buf_puts(&id, m->report_id);
	else
		tr_buf_printf(&id, "%s_%s@%s", day, domain, m->submitter);
	fputs("{\"organization-name\":", f);
	json_str(f, m->org);
	fprintf(f, ",\"date-range\":{\"start-datetime\":\"%sT00:00:00Z\","
	        "\"end-datetime\":\"%sT23:59:59Z\"},\"contact-info\":", day, day);
	json_str(f, m->contact);
	fputs(",\"report-id\":", f);
	json_str(f, tr_buf_str(&id));
	tr_buf_free(&id);
	fputs(",\"policies\":[", f);
	for (size_t i = 0; i < a->n;) {
		size_t j = i + 1;
		while (j < a->n && same_policy(&a->v[i], &a->v[j]))
			j++;
		if (i > 0)
			fputc(',', f);
		json_policy(f, a, i, j, domain);
		i = j;
	}
	fputs("]}\n", f);
}

static tlsrelay_cat local_rows(void *src, const char *day, const char *domain,
                               int (*fn)(const tr_rpt_row *row, void *arg), void *arg,
                               tlsrelay_status *st)
{
	return tr_sts_store_rows(src, day, domain, fn, arg, st);
}

tlsrelay_cat tr_tlsrpt_json(tr_sts_store *s, const char *day, const char *domain,
                            const tr_tlsrpt_meta *meta, char **json, tlsrelay_status *st)
{
	return tr_tlsrpt_json_from(local_rows, s, day, domain, meta, json, st);
}

tlsrelay_cat tr_tlsrpt_json_from(tr_rpt_rows_fn rows_of, void *src, const char *day,
                                 const char *domain, const tr_tlsrpt_meta *meta, char **json,
                                 tlsrelay_status *st)
{
	rows a = { NULL, 0, 0, 0 };
	size_t len = 0;
	long long start;
	FILE *f;

	*json = NULL;
	if (tr_tlsrpt_day(day, &start) < 0)
		return tr_status_set(st, TLSRELAY_USAGE, NULL, "bad day \"%.20s\": use YYYY-MM-DD", day);
	if (rows_of(src, day, domain, keep_row, &a, st) != TLSRELAY_OK)
		;                      /* *st says why */
	else if (a.oom)
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
	else if (a.n == 0)
		tr_status_ok(st);
	else if ((f = open_memstream(json, &len)) == NULL)
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
	else {
		json_report(f, &a, day, domain, meta);
		if (fclose(f) == 0)
			tr_status_ok(st);
		else
			tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
	}
	rows_free(&a);
	if (st->cat != TLSRELAY_OK) {
		free(*json);
		*json = NULL;
	}
	return st->cat;
}

typedef struct dom_acc {
	char last[256];
	int (*fn)(const char *, void *);
	void *arg;
	int stop;
} dom_acc;

static int each_domain(const tr_rpt_row *r, void *arg)
{
	dom_acc *d = arg;

	if (strcmp(d->last, r->policy_domain) == 0)
		return 0;
	snprintf(d->last, sizeof d->last, "%s", r->policy_domain);
	return d->stop = d->fn(r->policy_domain, d->arg);
}

tlsrelay_cat tr_tlsrpt_domains(tr_sts_store *s, const char *day,
                               int (*fn)(const char *domain, void *arg), void *arg,
                               tlsrelay_status *st)
{
	return tr_tlsrpt_domains_from(local_rows, s, day, fn, arg, st);
}

tlsrelay_cat tr_tlsrpt_domains_from(tr_rpt_rows_fn rows_of, void *src, const char *day,
                                    int (*fn)(const char *domain, void *arg), void *arg,
                                    tlsrelay_status *st)
{
	dom_acc d = { "", fn, arg, 0 };

	return rows_of(src, day, NULL, each_domain, &d, st);
}

/* ------------------------------------------------------------ rua */

int tr_tlsrpt_rua(const char *txt, char out[][256], int max)
{
	const char *p = txt, *rua = NULL;
	int n = 0;

	if (strncmp(txt, "v=TLSRPTv1", 10) != 0 || (txt[10] != ';' && txt[10] != ' ' && txt[10]))
		return -1;
	while ((p = strchr(p, ';')) != NULL) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "rua=", 4) == 0) {
			rua = p + 4;
			break;
		}
	}
	while (rua && *rua && *rua != ';' && n < max) {
		size_t len = strcspn(rua, ",;");
		const char *u = rua;

		while (len > 0 && (*u == ' ' || *u == '\t'))
			u++, len--;
		while (len > 0 && (u[len - 1] == ' ' || u[len - 1] == '\t'))
			len--;
		if (len > 7 && len < 7 + 255 && strncasecmp(u, "mailto:", 7) == 0 &&
		    memchr(u + 7, '@', len - 7) && strcspn(u + 7, "<>\"\r\n") >= len - 7) {
			memcpy(out[n], u + 7, len - 7);
			out[n++][len - 7] = '\0';
		}
		rua += strcspn(rua, ",;");
		if (*rua == ',')
			rua++;
	}
	return n;
}

/* ------------------------------------------------------------ mail */

static int gzip_buf(const char *in, size_t len, unsigned char **out, size_t *olen)
{
	z_stream z;
	uLong bound = compressBound((uLong)len) + 64;
	int rc;

	memset(&z, 0, sizeof z);
	if ((*out = malloc(bound)) == NULL)
		return -1;
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = *out;
	z.avail_out = (uInt)bound;
	rc = deflate(&z, Z_FINISH);
	*olen = z.total_out;
	deflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -1;
}

static void base64_lines(FILE *f, const unsigned char *b, size_t n)
{
	unsigned char line[80];

	for (size_t i = 0; i < n; i += 57) {
		int k = EVP_EncodeBlock(line, b + i, (int)(n - i < 57 ? n - i : 57));
		fprintf(f, "%.*s\n", k, line);
	}
}

tlsrelay_cat tr_tlsrpt_mail(FILE *f, const tr_tlsrpt_meta *meta, const char *from,
                            const char *to, const char *domain, const char *day,
                            const char *json, long long now, tlsrelay_status *st)
{
	unsigned char *gz = NULL;
	size_t gzlen = 0;
	long long start;
	time_t t = (time_t)now;
	struct tm tm;
	char date[64], bnd[64];

	if (tr_tlsrpt_day(day, &start) < 0 || gzip_buf(json, strlen(json), &gz, &gzlen) < 0) {
		free(gz);
		return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "cannot compress the report");
	}
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(bnd, sizeof bnd, "tlsrpt-%lld-%s", now, day);
	fprintf(f, "From: %s\nTo: %s\nDate: %s\n", from, to, date);
	fprintf(f, "Subject: Report Domain: %s Submitter: %s Report-ID: <%s_%s@%s>\n",
	        domain, meta->submitter, day, domain, meta->submitter);
	fprintf(f, "Message-ID: <tlsrpt.%lld.%s.%s@%s>\n", now, day, domain, meta->submitter);
	fprintf(f, "TLS-Report-Domain: %s\nTLS-Report-Submitter: %s\nTLS-Required: No\n",
	        domain, meta->submitter);
	fprintf(f, "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=\"tlsrpt\";\n"
	        "\tboundary=\"%s\"\n\n", bnd);
	fprintf(f, "This is a multipart message in MIME format.\n\n--%s\n"
	        "Content-Type: text/plain; charset=us-ascii\n\n"
	        "This is an aggregate TLS report (RFC 8460) from %s\nfor %s, %s UTC.\n\n",
	        bnd, meta->submitter, domain, day);
	fprintf(f, "--%s\nContent-Type: application/tlsrpt+gzip\n"
	        "Content-Transfer-Encoding: base64\nContent-Disposition: attachment;\n"
	        "\tfilename=\"%s!%s!%lld!%lld!%s.json.gz\"\n\n",
	        bnd, meta->submitter, domain, start, start + 86399, day);
	base64_lines(f, gz, gzlen);
	fprintf(f, "\n--%s--\n", bnd);
	free(gz);
	if (ferror(f))
		return tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "cannot write the report mail");
	return tr_status_ok(st);
}

/*
 * history.c - the TLS history as an observer of a delivery (see
 * history.h): the attempts are gathered from the events and written at
 * DONE, in one transaction, through the store interface (history_store.h).
 *
 * Decisions:
 * - The failure class of an attempt comes from the same function the
 *   shadow policy uses (tr_tls_judge on the live demand and what the
 *   session showed), so that "certificate-name-mismatch" means the same
 *   in both; failures that are not TLS's are classed by their DSN.
 * - Counters (metrics) are written with the attempts: labels come from
 *   fixed vocabularies only (posture, outcome, reason class, level, source,
 *   TLS-RPT result types), never a destination: a bounded set of series.
 * - Connection reuse (tlsrelayd, conn_cache.h): a transaction on a kept
 *   connection is an attempt like any other (its posture, verification
 *   and outcome are the connection's: END's outcome, the certificate from
 *   END's ssl), with conn_use > 1: it is counted as a reuse
 *   (tlsrelay_connection_reuses_total, the daily "reused"), not as a new
 *   TLS session. A kept connection found closed before MAIL (END stale)
 *   is no attempt: nothing was tried on it, and the message's attempt is
 *   the new connection's that follows.
 * - The store is opened with create on first use by the delivering
 *   process and kept in the context (ctx->history), closed when the
 *   settings change (tr_ctx_reset) or the process ends.
 * - Deferred writing (a tlsrelayd delivery process, ctx->hist_defer): at
 *   DONE the delivery's attempts (heap arrays of the tr_history) move to
 *   one record kept in the context (ctx->hist_later) with the queue ID of
 *   the delivery (the context's log ID is the next one's by the time the
 *   record is written); tr_history_flush() writes it as DONE would have.
 *   A record still kept at the next DONE (the caller did not flush) is
 *   written first: at most one is ever kept. Out of memory for it: written
 *   at DONE, as without deferral. The shadow's verdicts and the DANE facts
 *   were copied into the attempts at their events: the record points to
 *   nothing of the delivery's route.
 */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "ctx.h"
#include "dane.h"
#include "demand.h"
#include "history.h"
#include "fleet.h"
#include "history_store.h"
#include "log.h"
#include "status.h"
#include "tlsrpt.h"

struct tr_hist_rec_attempt {
	long long t;
	char mx[TR_HOSTNAME_MAX], addr[64];
	int offered;
	char posture[16], verified_by[16], verify_detail[256], sts[16];
	char protocol[16], cipher[64];
	long long cert_not_after;
	char spki[96], level[16], level_src[32], level_detail[TR_DEMAND_SRC_MAX];
	char outcome[16], dsn[16], reason[40], text[TLSRELAY_TEXT_MAX];
	char dane_result[32], sts_result[40];
	char shadow[40], shadow_level[16], shadow_text[TLSRELAY_TEXT_MAX];
	int message, any_ok, any_perm, dest_idx;
	unsigned conn_use;           /* 1 a new connection, N > 1 a kept one */
};

/* The destinations of the delivery, for the attempts' dest fields. */
struct tr_hist_dest {
	char dest[TR_NEXTHOP_TEXT_MAX], nexthop[TR_NEXTHOP_TEXT_MAX], domain[256];
};

/* A delivery's record kept for tr_history_flush (ctx->hist_later). */
struct tr_hist_later {
	tr_history h;                /* its attempts and destinations (heap) */
	char log_id[sizeof ((struct tlsrelay_ctx *)0)->log_id];  /* the delivery's */
};

char *tr_history_dest(const tr_nexthop *nh, char *out, size_t cap)
{
	const char *pre = nh->implicit_tls ? "smtps:" : "";

	if (nh->mx_lookup && nh->port == 25 && !nh->implicit_tls)
		snprintf(out, cap, "%s", nh->host);
	else if (nh->mx_lookup)
		snprintf(out, cap, "%s%s:%d", pre, nh->host, nh->port);
	else if (nh->port == 25 && !nh->implicit_tls)
		snprintf(out, cap, "[%s]", nh->host);
	else
		snprintf(out, cap, "%s[%s]:%d", pre, nh->host, nh->port);
	return out;
}

const char *tr_history_reason(const tlsrelay_status *st)
{
	if (strncmp(st->dsn, "4.4.1", 5) == 0)
		return "connect-failed";
	if (strncmp(st->dsn, "4.4.2", 5) == 0)
		return "lost-connection";
	if (strncmp(st->dsn, "4.5.0", 5) == 0)
		return "protocol-error";
	if (strstr(st->text, " said: ") != NULL)
		return st->dsn[0] == '5' ? "refused-5xx" : "refused-4xx";
	return "other";
}

/* ------------------------------------------------------------ attempts */

/* A new attempt (NULL when there is no room: counted as dropped). */
static struct tr_hist_rec_attempt *add(tr_history *h)
{
	struct tr_hist_rec_attempt *a;

	if (h->n >= TR_HIST_MAX_ATTEMPTS) {
		h->dropped++;
		return NULL;
	}
	if (h->n == h->cap) {
		int cap = h->cap ? h->cap * 2 : 4;
		void *p = realloc(h->a, (size_t)cap * sizeof *h->a);

		if (p == NULL) {
			h->dropped++;
			return NULL;
		}
		h->a = p;
		h->cap = cap;
	}
	a = &h->a[h->n];
	memset(a, 0, sizeof *a);
	a->t = (long long)time(NULL);
	a->offered = -1;
	a->dest_idx = h->ndest - 1;
	h->cur = h->n++;
	return a;
}

static void demand_fields(struct tr_hist_rec_attempt *a, const tr_demand *d)
{
	snprintf(a->level, sizeof a->level, "%s", tr_tls_level_name(d->level));
	snprintf(a->level_src, sizeof a->level_src, "%s", tr_src_name(d->level_src.kind));
	snprintf(a->level_detail, sizeof a->level_detail, "%s", d->level_src.text);
	snprintf(a->sts, sizeof a->sts, "%s", d->sts_mode == TR_STS_MODE_ENFORCE ? "enforce" :
	         d->sts_mode == TR_STS_MODE_TESTING ? "testing" : "");
}

static void shadow_fields(const tr_history *h, struct tr_hist_rec_attempt *a)
{
	const tr_shadow_verdict *v;

	if (h->shadow == NULL || !h->shadow->on || !(v = &h->shadow->last)->valid)
		return;
	snprintf(a->shadow, sizeof a->shadow, "%s", v->verdict == TR_VERDICT_PASS ? "pass" :
	         v->verdict == TR_VERDICT_UNKNOWN ? "unknown" : tr_tls_fail_name(v->why));
	snprintf(a->shadow_level, sizeof a->shadow_level, "%s", v->level);
	snprintf(a->shadow_text, sizeof a->shadow_text, "%s", v->text);
}

static void on_server(tr_history *h, const tr_event *ev)
{
	const tr_demand *d = ev->demand;
	struct tr_hist_rec_attempt *a;
	tlsrelay_status st;
	tr_tls_fail why;

	h->facts = ev->dane;
	h->cur = -1;
	if (!d->skip || (a = add(h)) == NULL)
		return;
	snprintf(a->mx, sizeof a->mx, "%s", ev->host);
	snprintf(a->posture, sizeof a->posture, "none");
	demand_fields(a, d);
	(void)tr_tls_judge(d, ev->dane, NULL, ev->host, &why, &st);
	snprintf(a->outcome, sizeof a->outcome, "deferred");
	snprintf(a->dsn, sizeof a->dsn, "4.7.5");
	snprintf(a->reason, sizeof a->reason, "%s", tr_tls_fail_name(why));
	snprintf(a->text, sizeof a->text, "%s", d->why);
	if (why == TR_FAIL_DANE_REQUIRED || why == TR_FAIL_DNSSEC)
		snprintf(a->dane_result, sizeof a->dane_result, "%s", why == TR_FAIL_DNSSEC
		         ? "dnssec-invalid" : "dane-required");
	shadow_fields(h, a);
	h->cur = -1;
}

static void on_connect(tr_history *h, const tr_event *ev)
{
	struct tr_hist_rec_attempt *a;

	if (ev->plain_retry && h->cur >= 0 && strcmp(h->a[h->cur].addr, ev->addr->text) == 0)
		return;                 /* the plaintext retry: the same attempt */
	if ((a = add(h)) == NULL) {
		h->cur = -1;
		return;
	}
	snprintf(a->mx, sizeof a->mx, "%s", ev->host);
	snprintf(a->addr, sizeof a->addr, "%s", ev->addr->text);
	a->conn_use = ev->conn_use;
	demand_fields(a, ev->demand);
}

/* The certificate's notAfter as Unix time (0 unknown). */
static long long not_after(void *ssl)
{
	X509 *cert = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	struct tm tm;

	if (cert == NULL || !ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm))
		return 0;
	return (long long)timegm(&tm);
}

static void on_tls(tr_history *h, const tr_event *ev)
{
	if (h->cur < 0)
		return;
	h->a[h->cur].cert_not_after = not_after(ev->ssl);
}

/* How the certificate was authenticated, when the demand checked it. */
static void verified_fields(struct tr_hist_rec_attempt *a, const tr_demand *d,
                            const tr_tls_outcome *o)
{
	if (!o->up || !o->enforced || d->auth == TR_AUTH_NONE)
		return;
	snprintf(a->verified_by, sizeof a->verified_by, "%s", tr_auth_name(d->auth));
	snprintf(a->verify_detail, sizeof a->verify_detail, "%s",
	         d->auth == TR_AUTH_DANE ? o->info.dane_match :
	         d->auth == TR_AUTH_PINS ? "" : o->info.matched);
}

static void outcome_fields(tr_history *h, struct tr_hist_rec_attempt *a, const tr_event *ev)
{
	const tr_tls_outcome *o = ev->outcome;
	const tr_demand *d = ev->demand;
	tlsrelay_status st;
	tr_tls_fail why;

	snprintf(a->outcome, sizeof a->outcome, "%s", a->any_ok ? "delivered" :
	         a->any_perm ? "bounced" : "deferred");
	snprintf(a->dsn, sizeof a->dsn, "%s", ev->st->dsn);
	snprintf(a->text, sizeof a->text, "%s", ev->st->text);
	a->reason[0] = '\0';
	if (a->any_ok)
		return;
	if (!ev->plain_retry &&
	    tr_tls_judge(d, h->facts, o, ev->relay, &why, &st) == TR_VERDICT_DEFER)
		snprintf(a->reason, sizeof a->reason, "%s", tr_tls_fail_name(why));
	else
		snprintf(a->reason, sizeof a->reason, "%s", tr_history_reason(ev->st));
}

static void on_end(tr_history *h, const tr_event *ev)
{
	const tr_tls_outcome *o = ev->outcome;
	const tr_demand *d = ev->demand;
	struct tr_hist_rec_attempt *a;
	const char *r;

	if (h->cur < 0)
		return;
	if (ev->stale) {             /* a kept connection found closed: not tried */
		if (h->cur == h->n - 1)
			h->n--;
		h->cur = -1;
		return;
	}
	a = &h->a[h->cur];
	if (a->cert_not_after == 0)  /* a reused connection has no TLS event */
		a->cert_not_after = not_after(ev->ssl);
	outcome_fields(h, a, ev);
	if (ev->plain_retry) {       /* the mail went (or not) in plaintext */
		snprintf(a->posture, sizeof a->posture, "plaintext");
		a->protocol[0] = a->cipher[0] = a->verified_by[0] = a->verify_detail[0] = '\0';
		return;
	}
	a->offered = o->greeted ? o->offered : -1;
	snprintf(a->posture, sizeof a->posture, "%s", !o->greeted && !o->up ? "none" :
	         !o->up ? "plaintext" : tr_trust_name(o->info.trust));
	if (o->up) {
		snprintf(a->protocol, sizeof a->protocol, "%s", o->info.protocol);
		snprintf(a->cipher, sizeof a->cipher, "%s", o->info.cipher);
		snprintf(a->spki, sizeof a->spki, "%s", o->info.pkey_sha256);
	}
	verified_fields(a, d, o);
	if (d->auth == TR_AUTH_DANE && (r = tr_dane_result_type(o)) != NULL)
		snprintf(a->dane_result, sizeof a->dane_result, "%s", r);
	if (d->sts_mode != TR_STS_MODE_NONE && (r = tr_sts_result_type(o, 1)) != NULL)
		snprintf(a->sts_result, sizeof a->sts_result, "%s", r);
	shadow_fields(h, a);
}

static void on_rcpt(tr_history *h, const tr_event *ev)
{
	if (h->cur < 0)
		return;
	h->a[h->cur].any_ok |= ev->st->cat == TLSRELAY_OK;
	h->a[h->cur].any_perm |= ev->st->cat == TLSRELAY_PERM;
}

static void on_nexthop(tr_history *h, const tr_event *ev)
{
	struct tr_hist_dest *d;

	h->cur = -1;
	if (h->ndest == h->dcap) {
		int cap = h->dcap ? h->dcap * 2 : 2;
		void *p = realloc(h->dests, (size_t)cap * sizeof *h->dests);

		if (p == NULL)
			return;              /* the attempts keep the last one */
		h->dests = p;
		h->dcap = cap;
	}
	d = &h->dests[h->ndest++];
	tr_history_dest(ev->nh, d->dest, sizeof d->dest);
	tr_nexthop_format(ev->nh, d->nexthop, sizeof d->nexthop);
	snprintf(d->domain, sizeof d->domain, "%s", ev->nh->mx_lookup ? ev->nh->host : "");
}

/* ------------------------------------------------------------ writing */

#define HIST_COUNTERS 8              /* at most per attempt */

struct counters {
	tr_hist_count c[TR_HIST_MAX_ATTEMPTS * HIST_COUNTERS];
	char labels[TR_HIST_MAX_ATTEMPTS * HIST_COUNTERS][160];
	size_t n;
};

static void TR_PRINTF(3, 4) counter(struct counters *c, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (c->n >= sizeof c->c / sizeof c->c[0])
		return;
	va_start(ap, fmt);
	vsnprintf(c->labels[c->n], sizeof c->labels[0], fmt, ap);
	va_end(ap);
	c->c[c->n].name = name;
	c->c[c->n].labels = c->labels[c->n];
	c->n++;
}

/* The counters of one attempt (metrics: report_metrics.c names them). */
static void count_attempt(struct counters *c, const struct tr_hist_rec_attempt *a)
{
	counter(c, "tlsrelay_attempts_total", "posture=\"%s\",outcome=\"%s\"", a->posture,
	        a->outcome);
	counter(c, "tlsrelay_policy_total", "level=\"%s\",source=\"%s\"", a->level, a->level_src);
	if (a->reason[0])
		counter(c, "tlsrelay_failures_total", "reason=\"%s\"", a->reason);
	if (a->dane_result[0])
		counter(c, "tlsrelay_dane_results_total", "result=\"%s\"", a->dane_result);
	if (a->sts_result[0])
		counter(c, "tlsrelay_mta_sts_results_total", "mode=\"%s\",result=\"%s\"", a->sts,
		        a->sts_result);
	if (a->shadow[0])
		counter(c, "tlsrelay_shadow_verdicts_total", "verdict=\"%s\"",
		        strcmp(a->shadow, "pass") == 0 || strcmp(a->shadow, "unknown") == 0
		        ? a->shadow : "would-defer");
	if (a->conn_use > 1)
		counter(c, "tlsrelay_connection_reuses_total", "%s", "");
	if (a->message)
		counter(c, "tlsrelay_messages_total", "outcome=\"%s\",shadow=\"%s\"", a->outcome,
		        a->shadow[0] == '\0' ? "" : strcmp(a->shadow, "pass") == 0 ||
		        strcmp(a->shadow, "unknown") == 0 ? a->shadow : "would-defer");
}

static void to_store(const tr_history *h, const struct tr_hist_rec_attempt *a,
                     tr_hist_attempt *o)
{
	static const struct tr_hist_dest none = { "", "", "" };
	const struct tr_hist_dest *d = a->dest_idx >= 0 ? &h->dests[a->dest_idx] : &none;

	*o = (tr_hist_attempt){
		.t = a->t, .dest = d->dest, .nexthop = d->nexthop, .policy_domain = d->domain,
		.mx = a->mx, .addr = a->addr, .offered = a->offered, .posture = a->posture,
		.verified_by = a->verified_by, .verify_detail = a->verify_detail, .sts = a->sts,
		.protocol = a->protocol, .cipher = a->cipher, .cert_not_after = a->cert_not_after,
		.spki = a->spki, .level = a->level, .level_src = a->level_src,
		.level_detail = a->level_detail, .outcome = a->outcome, .dsn = a->dsn,
		.reason = a->reason, .text = a->text, .dane_result = a->dane_result,
		.sts_result = a->sts_result, .shadow = a->shadow, .shadow_level = a->shadow_level,
		.shadow_text = a->shadow_text, .message = a->message,
		.queue_id = h->ctx->log_id, .conn_use = a->conn_use
	};
}

/* The context's store, opened on first use; NULL (logged) if it cannot be. */
static tr_hist_store *store(struct tlsrelay_ctx *ctx)
{
	const tr_config *cfg = &ctx->cfg;
	tr_hist_limits lim = { cfg->tls_history_days, cfg->tls_history_size_limit };
	tlsrelay_status st;

	if (ctx->history == NULL &&
	    (ctx->history = tr_hist_open(cfg->tls_history, 1, &lim, &st)) == NULL)
		tr_log(ctx, LOG_WARNING, "TLS history: cannot open the store: %s "
		       "(delivery goes on without it)", st.text);
	return ctx->history;
}

static void log_losses(tr_history *h, const tr_hist_strip *sp)
{
	for (int i = 0; i < h->n && i < (int)(sizeof sp->lost / sizeof sp->lost[0]); i++)
		if (sp->lost[i])
			tr_log(h->ctx, LOG_WARNING, "STARTTLS missing at %s[%s] (%s): it offered "
			       "STARTTLS and verified before (TLS history)", h->a[i].mx, h->a[i].addr,
			       h->a[i].dest_idx >= 0 ? h->dests[h->a[i].dest_idx].dest : "?");
	if (sp->alert > 0)
		tr_log(h->ctx, LOG_WARNING, "STARTTLS missing for %d destinations that offered it: "
		       "a middlebox may be stripping it", sp->alert);
}

/* The fleet's share (fleet.h): the delivery's attempts to the shared
 * daily aggregate, queued with the delivery's other shared writes and
 * sent now in one flight (the sessions have ended); then the outages and
 * dropped writes of the delivery's process so far become counters
 * (metrics). */
static void fleet_share(tr_history *h, const tr_hist_attempt *out, struct counters *c)
{
	long long fails, drops;
	tr_fleet *f;

	if (!tr_fleet_configured(h->ctx))
		return;
	f = tr_fleet_writer(h->ctx);
	if (f == NULL || tr_fleet_hist_add(f, out, (size_t)h->n, h->ctx->cfg.tls_history_days) < 0)
		tr_fleet_dropped(h->ctx, 1);
	tr_fleet_flush(h->ctx);
	tr_fleet_take_counts(h->ctx, &fails, &drops);
	for (long long i = 0; i < fails && i < 8; i++)
		counter(c, "tlsrelay_shared_store_failures_total", "%s", "");
	for (long long i = 0; i < drops && i < 16; i++)
		counter(c, "tlsrelay_shared_store_dropped_total", "%s", "");
}

static void write_delivery(tr_history *h)
{
	tr_hist_attempt *out;
	struct counters *c;
	tr_hist_strip sp = { TR_HIST_STRIP_WINDOW, TR_HIST_STRIP_MIN, { 0 }, 0 };
	tr_hist_store *s;
	tlsrelay_status st;

	if (h->n == 0 || (s = store(h->ctx)) == NULL)
		return;
	/* the last attempt of each destination settled its message */
	for (int i = 0; i < h->n; i++) {
		int last = 1;
		for (int j = i + 1; j < h->n && last; j++)
			last = h->a[j].dest_idx != h->a[i].dest_idx;
		h->a[i].message = last;
	}
	out = calloc((size_t)h->n, sizeof *out);
	c = calloc(1, sizeof *c);
	if (out == NULL || c == NULL) {
		tr_log(h->ctx, LOG_WARNING, "TLS history: out of memory; not recorded");
	} else {
		for (int i = 0; i < h->n; i++) {
			to_store(h, &h->a[i], &out[i]);
			count_attempt(c, &h->a[i]);
		}
		fleet_share(h, out, c);
		if (tr_hist_record(s, out, (size_t)h->n, c->c, c->n, &sp, (long long)time(NULL),
		                   &st) != TLSRELAY_OK)
			tr_log(h->ctx, LOG_WARNING, "TLS history: %s: not recorded (delivery goes on)",
			       st.text);
		else
			log_losses(h, &sp);
	}
	if (h->dropped > 0)
		tr_log(h->ctx, LOG_INFO, "TLS history: %d attempts of this delivery not recorded "
		       "(at most %d)", h->dropped, TR_HIST_MAX_ATTEMPTS);
	free(out);
	free(c);
}

/* ------------------------------------------------------------ observer */

void tr_history_init(tr_history *h, struct tlsrelay_ctx *ctx, const tr_shadow *shadow)
{
	memset(h, 0, sizeof *h);
	h->ctx = ctx;
	h->shadow = shadow;
	h->cur = -1;
}

void tr_history_end(tr_history *h)
{
	free(h->a);
	free(h->dests);
	h->a = NULL;
	h->dests = NULL;
	h->n = h->cap = h->ndest = h->dcap = 0;
}

/* DONE in a deferring context: h's arrays move into ctx->hist_later (h
 * keeps none). 0 when there is nothing to keep or no memory (write now). */
static int keep(tr_history *h)
{
	struct tlsrelay_ctx *ctx = h->ctx;
	struct tr_hist_later *l;

	if (h->n == 0)
		return 0;
	tr_history_flush(ctx);       /* one not flushed: written first, in order */
	if ((l = malloc(sizeof *l)) == NULL)
		return 0;
	l->h = *h;
	l->h.shadow = NULL;          /* the route's: gone after DONE */
	l->h.facts = NULL;
	l->h.cur = -1;
	memcpy(l->log_id, ctx->log_id, sizeof l->log_id);
	h->a = NULL;
	h->dests = NULL;
	h->n = h->cap = h->ndest = h->dcap = h->dropped = 0;
	ctx->hist_later = l;
	return 1;
}

void tr_history_defer(struct tlsrelay_ctx *ctx, int on)
{
	if (!on)
		tr_history_flush(ctx);
	ctx->hist_defer = on;
}

void tr_history_flush(struct tlsrelay_ctx *ctx)
{
	struct tr_hist_later *l = ctx ? ctx->hist_later : NULL;
	char id[sizeof ctx->log_id];

	if (l == NULL)
		return;
	ctx->hist_later = NULL;
	/* its lines and its rows carry the delivery's queue ID */
	memcpy(id, ctx->log_id, sizeof id);
	memcpy(ctx->log_id, l->log_id, sizeof id);
	l->h.ctx = ctx;
	write_delivery(&l->h);
	memcpy(ctx->log_id, id, sizeof id);
	tr_history_end(&l->h);
	free(l);
}

void tr_history_observe(void *arg, const tr_event *ev)
{
	tr_history *h = arg;

	switch (ev->type) {
	case TR_EV_NEXTHOP:
		on_nexthop(h, ev);
		break;
	case TR_EV_SERVER:
		on_server(h, ev);
		break;
	case TR_EV_CONNECT:
		on_connect(h, ev);
		break;
	case TR_EV_TLS:
		on_tls(h, ev);
		break;
	case TR_EV_RCPT:
		on_rcpt(h, ev);
		break;
	case TR_EV_END:
		on_end(h, ev);
		break;
	case TR_EV_DONE:
		if (!h->ctx->hist_defer || !keep(h))
			write_delivery(h);
		break;
	default:
		break;
	}
}

/*
 * deliver.c - from a request to SMTP sessions: nexthop, MX hosts,
 * addresses, limits, the plaintext retry of level may, per-recipient log
 * lines and the summary status. See deliver.h.
 *
 * Decisions:
 * - Recipients without a relay host are grouped by domain; each group is
 *   routed on its own (one MX lookup per domain).
 * - A recipient that no server settled keeps the last failure seen (the
 *   connect error, the TLS policy failure, ...). When no address could be
 *   tried at all, the DNS failure is the status; "host not found" and
 *   "no such domain" are permanent only for a recipient's own domain: a
 *   relay host (relayhost, -r) that does not resolve is an admin's
 *   problem, so the mail is kept (4.4.4).
 * - A 5xx to the greeting, HELO or EHLO after STARTTLS skips the server
 *   (temporary): it refused the session, not the message.
 * - Summary: all OK -> OK; any recipient still TEMP -> TEMP, also when
 *   others were accepted (the MTA then retries all: duplicates are better
 *   than loss; configure recipient limit 1 to avoid them); all PERM -> PERM
 *   (5.1.1 when every one was an unknown user, so that the exit status
 *   is EX_NOUSER).
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>
#include "ctx.h"
#include "deliver.h"
#include "dns.h"
#include "log.h"
#include "msgreq.h"
#include "nexthop.h"
#include "policy.h"
#include "sasl.h"
#include "status.h"

/* Certificate names and SNI of one policy, expanded for one server. */
typedef struct tls_names {
	char buf[TR_TLS_MAX_NAMES][TR_HOSTNAME_MAX + 2];
	char sni[TR_HOSTNAME_MAX];
} tls_names;

typedef struct route {
	tlsrelay_ctx *ctx;
	tlsrelay_request *req;
	tlsrelay_message *msg;
	tr_rcpt_trace *trace;
	unsigned char *select;      /* recipients of the nexthop being routed */
	unsigned char *routed;      /* recipients already routed */
	tr_dns dns;
	char helo[TR_HOSTNAME_MAX];
	long long deadline_ms;
	int attempted;              /* addresses tried for this nexthop */
	int sessions;
	tr_policy pol;              /* effective policy of the nexthop */
	const tr_nexthop *nh;
	tr_msgreq msgreq;           /* milter: the message's own requirement */
} route;

/* A policy "match" word for server host under nexthop nh. */
static void expand_name(const char *m, const char *host, const tr_nexthop *nh,
                        char *out, size_t cap)
{
	int max = (int)cap - 2;     /* room for a leading dot and the NUL */

	if (strcmp(m, "hostname") == 0)
		snprintf(out, cap, "%.*s", max, host);
	else if (strcmp(m, "nexthop") == 0)
		snprintf(out, cap, "%.*s", max, nh->host);
	else if (strcmp(m, "dot-nexthop") == 0)
		snprintf(out, cap, ".%.*s", max, nh->host);
	else
		snprintf(out, cap, "%.*s", max, m);
}

/* Session TLS parameters from the route's policy, for server host. */
static void tls_params(const route *r, const char *host, tr_session_params *p,
                       tls_names *nm)
{
	const tr_policy *pol = &r->pol;
	const char *sn = pol->servername;

	p->level = pol->level;
	expand_name(sn[0] ? sn : "hostname", host, r->nh, nm->sni, sizeof nm->sni);
	p->tls.sni = nm->sni;
	p->tls.min_proto = pol->min_proto;
	p->tls.max_proto = pol->max_proto;
	p->tls.ciphers = pol->ciphers[0] ? pol->ciphers : NULL;
	if (pol->level == TR_TLS_FINGERPRINT) {
		for (int i = 0; i < pol->nmatch; i++)
			p->tls.names[i] = pol->match[i];   /* used as digests */
		p->fps = p->tls.names;
		p->nfps = pol->nmatch;
		p->tls.nnames = 0;
		return;
	}
	for (int i = 0; i < pol->nmatch && i < TR_TLS_MAX_NAMES; i++) {
		expand_name(pol->match[i], host, r->nh, nm->buf[i], sizeof nm->buf[i]);
		p->tls.names[p->tls.nnames++] = nm->buf[i];
	}
	if (p->tls.nnames == 0)      /* levels below verify: log the host's name */
		p->tls.names[p->tls.nnames++] = host;
}

static int pending(const route *r)
{
	for (size_t i = 0; i < r->req->nrcpts; i++)
		if (r->select[i] && r->req->rcpts[i].status.cat == TLSRELAY_TEMP)
			return 1;
	return 0;
}

static void settle_selected(route *r, const tlsrelay_status *st)
{
	for (size_t i = 0; i < r->req->nrcpts; i++)
		if (r->select[i] && r->req->rcpts[i].status.cat == TLSRELAY_TEMP)
			tr_status_copy(&r->req->rcpts[i].status, st);
}

/* Sessions with every address of one host. 1 = stop trying hosts. */
static int try_host(route *r, const tr_nexthop *nh, const char *host,
                    tlsrelay_status *last)
{
	const tr_config *cfg = &r->ctx->cfg;
	tr_addr addrs[TR_DNS_MAX_ADDRS];
	tr_sasl_cred cred = { NULL, NULL, "" };
	int n = tr_dns_addrs(&r->dns, host, nh->port, addrs, TR_DNS_MAX_ADDRS, last);

	if (r->ctx->sasl && !tr_sasl_lookup(r->ctx->sasl, host, nh->port, nh, &cred))
		cred.user = NULL;

	for (int a = 0; a < n; a++) {
		tr_session_params p = { .helo = r->helo, .host = host, .addr = &addrs[a],
		                        .implicit_tls = nh->implicit_tls, .select = r->select };
		tls_names nm;

		tls_params(r, host, &p, &nm);
		p.cred = cred.user ? &cred : NULL;
		int greeted = 0, plain_greeted = 0;

		if (r->attempted >= cfg->mx_address_limit || tr_now_ms() >= r->deadline_ms)
			return 1;
		r->attempted++;
		if (tr_session_run(r->ctx, &p, r->req, r->msg, r->trace, r->deadline_ms,
		                   &greeted, last) == TR_OUT_PLAIN) {
			p.no_tls = 1;
			tr_session_run(r->ctx, &p, r->req, r->msg, r->trace, r->deadline_ms,
			               &plain_greeted, last);
		}
		r->sessions += greeted || plain_greeted;
		if (!pending(r) || r->sessions >= cfg->mx_session_limit)
			return 1;
	}
	return 0;
}

/* A relay host's DNS trouble never bounces mail. */
static void relay_dns_soft(const tr_nexthop *nh, int is_relay, tlsrelay_status *st)
{
	char why[TLSRELAY_TEXT_MAX];

	if (is_relay && st->cat == TLSRELAY_PERM) {
		snprintf(why, sizeof why, "%s", st->text);
		tr_status_set(st, TLSRELAY_TEMP, "4.4.4", "relay host %s: %.400s", nh->host, why);
	}
}

/* The policy for nh: the policy map's entry, else tls_security_level. A
 * level this build cannot enforce defers (never a weaker level). */
static int route_policy(route *r, const tr_nexthop *nh, tlsrelay_status *st)
{
	char text[TR_POLICY_TEXT_MAX];

	if (!tr_policy_lookup(r->ctx->policy, nh, &r->pol)) {
		tr_policy_from_level(r->ctx->cfg.tls_level, &r->pol);
		snprintf(r->pol.source, sizeof r->pol.source, "tls_security_level");
	}
	/* milter: the message's X-TLSRelay-Require raises, never lowers */
	if (tr_msgreq_apply(&r->msgreq, r->ctx->cfg.require_header,
	                    r->ctx->cfg.tls_required_enable, &r->pol, NULL, st) != TLSRELAY_OK)
		return -1;
	tr_vlog(r->ctx, 1, "policy for %s: %s", nh->host,
	        tr_policy_format(&r->pol, text, sizeof text));
	if (tr_tls_level_supported(r->pol.level))
		return 0;
	tr_status_set(st, TLSRELAY_TEMP, "4.7.5", "TLS level %s (%s) is not supported by this build",
	              tr_tls_level_name(r->pol.level), r->pol.source);
	return -1;
}

static void route_nexthop(route *r, const tr_nexthop *nh, int is_relay)
{
	tr_mx mx[TR_DNS_MAX_HOSTS];
	tlsrelay_status last;
	int nmx = 1, dns_perm = 1;

	r->nh = nh;
	r->attempted = r->sessions = 0;
	if (route_policy(r, nh, &last) < 0) {
		settle_selected(r, &last);
		return;
	}
	tr_status_set(&last, TLSRELAY_TEMP, "4.4.0", "no server could be tried");
	if (nh->mx_lookup) {
		nmx = tr_dns_mx(&r->dns, nh->host, mx, &last);
		if (nmx < 0) {
			relay_dns_soft(nh, is_relay, &last);
			settle_selected(r, &last);
			return;
		}
	} else {
		snprintf(mx[0].host, sizeof mx[0].host, "%s", nh->host);
		mx[0].pref = 0;
	}
	for (int h = 0; h < nmx && pending(r); h++) {
		int before = r->attempted;
		if (try_host(r, nh, mx[h].host, &last))
			break;
		if (r->attempted == before && last.cat != TLSRELAY_PERM)
			dns_perm = 0;
	}
	if (r->attempted > 0 || !pending(r))
		return;
	/* No address could be tried: the lookup failure decides. */
	if (last.cat == TLSRELAY_PERM && !dns_perm) {
		last.cat = TLSRELAY_TEMP;
		memcpy(last.dsn, "4.4.4", 6);
	}
	relay_dns_soft(nh, is_relay, &last);
	settle_selected(r, &last);
}

static const char *rcpt_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at ? at + 1 : NULL;
}

/* Route the recipients of domain groups (no relay host). */
static void route_by_domain(route *r)
{
	tlsrelay_request *q = r->req;

	for (size_t i = 0; i < q->nrcpts; i++) {
		const char *dom = rcpt_domain(q->rcpts[i].addr);
		tr_nexthop nh;
		char err[128];

		if (q->rcpts[i].status.cat != TLSRELAY_TEMP || r->routed[i])
			continue;
		if (dom == NULL || tr_nexthop_parse(dom, &nh, err, sizeof err) < 0 || !nh.mx_lookup) {
			tr_status_set(&q->rcpts[i].status, TLSRELAY_PERM, "5.1.3",
			              "bad recipient address syntax: <%s>", q->rcpts[i].addr);
			continue;
		}
		nh.port = 25;
		for (size_t j = 0; j < q->nrcpts; j++) {
			const char *d = rcpt_domain(q->rcpts[j].addr);
			r->select[j] = !r->routed[j] && d && strcasecmp(d, dom) == 0 &&
			               q->rcpts[j].status.cat == TLSRELAY_TEMP;
			r->routed[j] |= r->select[j];
		}
		route_nexthop(r, &nh, 0);
	}
}

/* ------------------------------------------------------------ summary */

tlsrelay_cat tr_deliver_summary(const tlsrelay_request *req, tlsrelay_status *st)
{
	const tlsrelay_status *first_temp = NULL, *first_perm = NULL;
	size_t nok = 0, nnouser = 0;

	for (size_t i = 0; i < req->nrcpts; i++) {
		const tlsrelay_status *r = &req->rcpts[i].status;
		if (r->cat == TLSRELAY_OK)
			nok++;
		else if (r->cat == TLSRELAY_PERM) {
			first_perm = first_perm ? first_perm : r;
			nnouser += strcmp(r->dsn, "5.1.1") == 0;
		} else if (first_temp == NULL)
			first_temp = r;
	}
	if (nok == req->nrcpts)
		return tr_status_ok(st);
	if (first_temp) {
		tr_status_copy(st, first_temp);
		st->cat = TLSRELAY_TEMP;     /* INTERNAL too: the mail is kept */
		return st->cat;
	}
	if (nok > 0) {   /* some accepted, some refused for good */
		return tr_status_set(st, TLSRELAY_TEMP, "4.3.0",
		        "%zu of %zu recipients accepted, the others refused (%s %s); "
		        "retrying all (set the recipient limit to 1 to avoid this)",
		        nok, req->nrcpts, first_perm->dsn, first_perm->text);
	}
	tr_status_copy(st, first_perm);
	if (nnouser != req->nrcpts && strcmp(st->dsn, "5.1.1") == 0)
		memcpy(st->dsn, "5.0.0", 6);   /* not every one unknown: EX_UNAVAILABLE */
	return st->cat;
}

/* ------------------------------------------------------------ logging */

static void log_rcpt(route *r, size_t i, long long started)
{
	const tlsrelay_rcpt *rc = &r->req->rcpts[i];
	const tr_rcpt_trace *t = &r->trace[i];
	const char *status = rc->status.cat == TLSRELAY_OK ? "sent"
	                   : rc->status.cat == TLSRELAY_PERM ? "bounced" : "deferred";
	long long ms = tr_now_ms() - started;

	tr_log(r->ctx, rc->status.cat == TLSRELAY_OK ? LOG_INFO : LOG_WARNING,
	       "to=<%s>, relay=%s, delay=%lld.%02lld, tls=%s, dsn=%s, status=%s (%s)",
	       rc->addr, t->relay[0] ? t->relay : "none", ms / 1000, (ms % 1000) / 10,
	       t->tls[0] ? t->tls : "none", rc->status.dsn[0] ? rc->status.dsn : "4.0.0",
	       status, rc->status.text);
}

/* ------------------------------------------------------------ request */

static tlsrelay_cat check_request(const tlsrelay_request *q, tlsrelay_status *st)
{
	if (q->nrcpts == 0 || q->rcpts == NULL)
		return tr_status_set(st, TLSRELAY_USAGE, "5.5.4", "no recipients given");
	if (tlsrelay_check_address(q->sender ? q->sender : "", 1, st) != TLSRELAY_OK)
		return st->cat;
	for (size_t i = 0; i < q->nrcpts; i++)
		if (tlsrelay_check_address(q->rcpts[i].addr, 0, st) != TLSRELAY_OK)
			return st->cat;
	if (q->ret && strcmp(q->ret, "FULL") != 0 && strcmp(q->ret, "HDRS") != 0)
		return tr_status_set(st, TLSRELAY_USAGE, "5.5.4", "bad DSN RET value \"%.20s\": use FULL or HDRS", q->ret);
	if (q->notify && strspn(q->notify, "NEVRSUCFAILDY,") != strlen(q->notify))
		return tr_status_set(st, TLSRELAY_USAGE, "5.5.4", "bad DSN NOTIFY value \"%.40s\"", q->notify);
	if (q->envid && strlen(q->envid) > 100)
		return tr_status_set(st, TLSRELAY_USAGE, "5.5.4", "DSN ENVID longer than 100 bytes");
	return tr_status_ok(st);
}

tlsrelay_cat tlsrelay_check_address(const char *addr, int allow_empty,
                                    tlsrelay_status *st)
{
	size_t n = strlen(addr);

	if (n == 0 && !allow_empty)
		return tr_status_set(st, TLSRELAY_USAGE, "5.1.3", "empty recipient address");
	if (n > 512)
		return tr_status_set(st, TLSRELAY_USAGE, "5.1.3", "address longer than 512 bytes");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)addr[i];
		if (c < 0x20 || c == 0x7f || c == '<' || c == '>')
			return tr_status_set(st, TLSRELAY_USAGE, "5.1.3",
			                     "bad address \"%.60s\": control character or angle bracket", addr);
	}
	return tr_status_ok(st);
}

static int route_init(route *r, tlsrelay_ctx *ctx, tlsrelay_request *req,
                      tlsrelay_message *msg, tlsrelay_status *st)
{
	const tr_config *cfg = &ctx->cfg;

	memset(r, 0, sizeof *r);
	r->ctx = ctx;
	r->req = req;
	r->msg = msg;
	r->deadline_ms = tr_now_ms() + (long long)cfg->deadline * 1000;
	r->trace = calloc(req->nrcpts, sizeof *r->trace);
	r->select = calloc(req->nrcpts, 1);
	r->routed = calloc(req->nrcpts, 1);
	if (!r->trace || !r->select || !r->routed) {
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		return -1;
	}
	if (tr_dns_init(&r->dns, cfg->dns_resolver, cfg->command_timeout < 10 ? cfg->command_timeout : 10) < 0) {
		tr_status_set(st, TLSRELAY_CONFIG, "4.3.5", "bad dns_resolver \"%s\"", cfg->dns_resolver);
		return -1;
	}
	if (tr_ctx_load_maps(ctx, st) != TLSRELAY_OK)
		return -1;
	/* milter: read and remove X-TLSRelay-Require before anything is sent */
	if (tr_msgreq_take(msg, &r->msgreq, st) != TLSRELAY_OK)
		return -1;
	if (r->msgreq.nfields > 0)
		tr_log(ctx, LOG_INFO, "%s: %s (removed from the message)", TR_MSGREQ_HEADER,
		       r->msgreq.bad ? r->msgreq.bad_value : tr_tls_level_name(r->msgreq.level));
	if (cfg->helo_name)
		snprintf(r->helo, sizeof r->helo, "%s", cfg->helo_name);
	else if (gethostname(r->helo, sizeof r->helo - 1) < 0 || r->helo[0] == '\0')
		snprintf(r->helo, sizeof r->helo, "localhost");
	for (size_t i = 0; i < req->nrcpts; i++)
		tr_status_set(&req->rcpts[i].status, TLSRELAY_TEMP, "4.4.0", "delivery not attempted");
	return 0;
}

static void route_free(route *r)
{
	free(r->trace);
	free(r->select);
	free(r->routed);
}

static tlsrelay_cat route_request(route *r, tlsrelay_status *st)
{
	const char *hop = r->req->nexthop ? r->req->nexthop : r->ctx->cfg.relayhost;
	tr_nexthop nh;
	char err[128];

	if (hop == NULL || *hop == '\0') {
		route_by_domain(r);
		return TLSRELAY_OK;
	}
	if (tr_nexthop_parse(hop, &nh, err, sizeof err) < 0)
		return tr_status_set(st, r->req->nexthop ? TLSRELAY_USAGE : TLSRELAY_CONFIG,
		                     "4.3.5", "bad nexthop \"%.100s\": %s", hop, err);
	memset(r->select, 1, r->req->nrcpts);
	route_nexthop(r, &nh, 1);
	return TLSRELAY_OK;
}

tlsrelay_cat tlsrelay_deliver(tlsrelay_ctx *ctx, tlsrelay_request *req,
                              tlsrelay_message *msg, tlsrelay_status *st)
{
	long long started = tr_now_ms();
	route r;

	if (check_request(req, st) != TLSRELAY_OK)
		return st->cat;
	if (route_init(&r, ctx, req, msg, st) < 0 || route_request(&r, st) != TLSRELAY_OK) {
		route_free(&r);
		return st->cat;
	}
	for (size_t i = 0; i < req->nrcpts; i++)
		log_rcpt(&r, i, started);
	route_free(&r);
	return tr_deliver_summary(req, st);
}

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
 * - Every TLS decision is the demand's (demand.h): the routing code
 *   gathers its inputs (the policy map entry or tls_security_level, the
 *   message's requirements, TLS-Required: No, tlsrelay-probe -l, MTA-STS,
 *   DANE facts, credentials) and runs the session each server's demand
 *   allows, or skips the server when the demand says so.
 * - The message's requirements (msgreq.h) are gathered per nexthop group
 *   (nexthop_inputs): the X-TLSRelay-Require level and the message_rules
 *   level of the sender and of this group's recipients, the strongest for
 *   the whole group (one transaction).
 * - A 5xx to the greeting, HELO or EHLO after STARTTLS skips the server
 *   (temporary): it refused the session, not the message.
 * - Summary: all OK -> OK; any recipient still TEMP -> TEMP, also when
 *   others were accepted (the MTA then retries all: duplicates are better
 *   than loss; configure recipient limit 1 to avoid them); all PERM -> PERM
 *   (5.1.1 when every one was an unknown user, so that the exit status
 *   is EX_NOUSER). A configuration error found while delivering (a
 *   tls_ca_file that cannot be loaded, bad protocols= or ciphers= of the
 *   policy) stays CONFIG when it is the first unsettled status: 4.3.5 and
 *   exit 78 as every other configuration error (the mail waits: Postfix
 *   reads the 4.3.5, Exim's temp_errors lists 78, sendmail's -T).
 * - The log line of a recipient names the user AUTH succeeded as
 *   (sasl_username=, as Postfix's smtpd logs it): which account sent it.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>
#include "buf.h"
#include "ctx.h"
#include "dane.h"
#include "dsn.h"
#include "deliver.h"
#include "demand.h"
#include "dns.h"
#include "fleet.h"
#include "history.h"
#include "log.h"
#include "message.h"
#include "msgreq.h"
#include "nexthop.h"
#include "observe.h"
#include "policy.h"
#include "sasl.h"
#include "shadow.h"
#include "status.h"
#include "sts.h"
#include "tlsrpt.h"

typedef struct route {
	tlsrelay_ctx *ctx;
	tlsrelay_request *req;
	tlsrelay_message *msg;
	const tr_deliver_opts *opts;
	tr_rcpt_trace *trace;
	unsigned char *select;      /* recipients of the nexthop being routed */
	unsigned char *routed;      /* recipients already routed */
	tr_dns dns;
	char helo[TR_HOSTNAME_MAX];
	long long deadline_ms;
	int attempted;              /* addresses tried for this nexthop */
	int sessions;
	tr_observers obs;           /* who watches (observe.h) */
	tr_sts_run *sts;            /* MTA-STS of the delivery (sts.h); NULL when
	                             * neither mta_sts nor mta_sts_cache is set */
	tr_tlsrpt_rec rpt;          /* TLS-RPT recording (tlsrpt.h) */
	tr_shadow *shadow;          /* the shadow policy (shadow.h), NULL: none */
	tr_history hist;            /* the TLS history (history.h) */
	tr_msgreq msgreq;           /* milter: the message's own requirement */
	char msg_source[160];       /* "X-TLSRelay-Require: verify",
	                             * "message_rules:3 to example.test encrypt" */
	/* the nexthop being routed */
	const tr_nexthop *nh;
	tr_policy pol;              /* its tls_policy_map entry or tls_security_level */
	tr_demand_in in;            /* the demand's inputs (demand.h) */
	tr_demand nhd;              /* the nexthop-level demand */
	tr_policy shown;            /* the same as a policy (tr_policy_format) */
	tr_dane_mx mx_state;        /* DNSSEC status of its MX lookup (DANE) */
} route;

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

/* Sessions with the n addresses of one host under demand d. 1 = stop
 * trying hosts. */
static int try_addrs(route *r, const char *host, const tr_addr *addrs, int n,
                     const tr_demand *d, const tr_sasl_cred *cred, tlsrelay_status *last)
{
	const tr_config *cfg = &r->ctx->cfg;

	for (int a = 0; a < n; a++) {
		tr_session_params p = {
			.helo = r->helo, .host = host, .addr = &addrs[a], .nexthop = r->nh->host,
			.demand = d, .cred = cred, .is_relay = r->in.is_relay,
			.implicit_tls = r->nh->implicit_tls,
			.dry_run = r->opts->dry_run, .cache_readonly = r->opts->cache_readonly,
			.select = r->select, .obs = &r->obs
		};
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

/* The demand for host, told to the observers; the skip is logged. */
static void server_demand(route *r, const char *host, const tr_dane_host *dh,
                          const tr_sasl_cred *cred, tr_demand *d)
{
	char text[TLSRELAY_TEXT_MAX];
	tr_event ev = { .type = TR_EV_SERVER, .nh = r->nh, .host = host, .demand = d,
	                .in = &r->in, .mx_state = (int)r->mx_state };

	r->in.host = host;
	r->in.dane = tr_level_dane(r->nhd.level) ? dh : NULL;
	r->in.cred_key = cred ? cred->key : NULL;
	tr_demand_for_server(&r->in, d);
	ev.dane = r->in.dane;
	if (r->in.dane)
		tr_vlog(r->ctx, 1, "DANE for %s: %s", host,
		        tr_demand_describe_dane(d, dh, text, sizeof text));
	if (d->skip && d->level_src.kind == TR_SRC_STS)
		tr_log(r->ctx, LOG_WARNING, "%s; skipped", d->why);
	tr_emit(&r->obs, &ev);
}

/* One host: its addresses and, at levels dane/dane-only, its DANE facts;
 * its demand (a server the demand skips is not tried); then the sessions.
 * 1 = stop trying hosts. */
static int try_host(route *r, const char *host, tlsrelay_status *last)
{
	const tr_nexthop *nh = r->nh;
	tr_addr addrs[TR_DNS_MAX_ADDRS];
	tr_dane_host dh;
	tr_sasl_cred cred = { NULL, NULL, "" };
	tr_demand d;
	int n, stop = 0;

	if (tr_dane_route_host(&r->dns, r->nhd.level, r->mx_state, nh->host, host, nh->port,
	                       addrs, TR_DNS_MAX_ADDRS, &n, &dh, last) != TLSRELAY_OK)
		return 0;
	if (r->ctx->sasl && !tr_sasl_lookup(r->ctx->sasl, host, nh->port, nh, &cred))
		cred.user = NULL;
	server_demand(r, host, &dh, cred.user ? &cred : NULL, &d);
	if (d.skip)
		tr_status_set(last, TLSRELAY_TEMP, "4.7.5", "%s", d.why);
	else
		stop = try_addrs(r, host, addrs, n, &d, cred.user ? &cred : NULL, last);
	tr_dane_host_free(&dh);
	return stop;
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

/* The demand's inputs for nh that do not depend on the server: the policy
 * (the map's entry, else tls_security_level), the message's requirement,
 * RFC 8689, tlsrelay-probe -l. An unusable requirement defers. */
static int nexthop_inputs(route *r, const tr_nexthop *nh, int is_relay, tlsrelay_status *st)
{
	const tr_config *cfg = &r->ctx->cfg;
	tr_demand_in *in = &r->in;
	int mapped = tr_policy_for_nexthop(r->ctx->policy, nh, cfg->tls_level, &r->pol);
	tr_tls_level env;
	char why[160];

	tr_demand_in_init(in);
	in->nh = nh;
	in->policy = &r->pol;
	in->mapped = mapped;
	in->is_relay = is_relay;
	in->force_level = r->opts->force_level;
	/* The message's requirements raise, never lower (demand.h R4): its
	 * X-TLSRelay-Require header, and the message_rules from/to rules on
	 * the sender and on this group's recipients as delivered */
	env = tr_msgreq_envelope(r->ctx->rules, r->req->sender, r->req->rcpts, r->select,
	                         r->req->nrcpts, why, sizeof why);
	if (tr_msgreq_demand(&r->msgreq, cfg->require_header, cfg->tls_required_enable, env, why,
	                     in, r->msg_source, sizeof r->msg_source, st) != TLSRELAY_OK)
		return -1;
	if (env > TR_TLS_MAY)
		tr_log(r->ctx, LOG_INFO, "%s (TLS requirement for %s)", why, nh->host);
	return 0;
}

/* The nexthop-level demand and its log lines (R3: TLS-Required: No). */
static void nexthop_demand(route *r)
{
	char text[TR_POLICY_TEXT_MAX];

	tr_demand_for_nexthop(&r->in, &r->nhd);
	if (r->nhd.dane_relaxed == TR_RELAX_DONE)
		tr_log(r->ctx, LOG_INFO, "TLS-Required: No: DANE requirements of %s relaxed "
		       "(level dane -> may: TLSA records are not used for this message)", r->nh->host);
	else if (r->nhd.dane_relaxed == TR_RELAX_KEPT)
		tr_log(r->ctx, LOG_INFO, "TLS-Required: No: level %s (%s) kept for %s: "
		       "configured by the admin", tr_tls_level_name(r->nhd.level),
		       r->nhd.base_src.text, r->nh->host);
	tr_demand_nexthop_policy(&r->in, &r->shown);
	tr_vlog(r->ctx, 1, "policy for %s: %s", r->nh->host,
	        tr_policy_format(&r->shown, text, sizeof text));
}

/* MTA-STS for the nexthop, when it applies (demand.h R6). */
static void nexthop_sts(route *r)
{
	const tr_nexthop *nh = r->nh;

	if (r->sts == NULL)
		return;
	tr_sts_run_clear(r->sts);
	if (!tr_demand_wants_sts(&r->in, r->ctx->cfg.mta_sts))
		return;
	tr_sts_run_nexthop(r->sts, &r->dns, nh->host, r->deadline_ms);
	r->in.sts = tr_sts_run_policy(r->sts);
	r->in.sts_id = r->sts->f.id;
	tr_demand_for_nexthop(&r->in, &r->nhd);
	if (r->nhd.sts_relaxed)
		tr_log(r->ctx, LOG_INFO, "TLS-Required: No: MTA-STS policy of %s (enforce) relaxed: "
		       "not enforced for this message (level %s, MX hosts outside the policy "
		       "tried)", nh->host, tr_tls_level_name(r->nhd.level));
}

/* The MX hosts of nh (DNSSEC status too at a DANE-based level), or nh's
 * host itself; -1 with *last set when the lookup failed. */
static int nexthop_hosts(route *r, int is_relay, tr_mx *mx, tlsrelay_status *last)
{
	const tr_nexthop *nh = r->nh;
	tlsrelay_cat cat = TLSRELAY_OK;
	int nmx = 1;

	if (nh->mx_lookup && tr_level_dane(r->nhd.level)) {
		tr_dns_sec sec;

		cat = tr_dns_mx_sec(&r->dns, nh->host, mx, &nmx, &sec, last);
		r->mx_state = sec.secure ? TR_DANE_MX_SECURE : TR_DANE_MX_INSECURE;
	} else if (nh->mx_lookup) {
		cat = tr_dns_mx(&r->dns, nh->host, mx, &nmx, last);
	} else {
		snprintf(mx[0].host, sizeof mx[0].host, "%s", nh->host);
		mx[0].pref = 0;
	}
	if (cat != TLSRELAY_OK) {
		relay_dns_soft(nh, is_relay, last);
		return -1;
	}
	return nmx;
}

static void route_nexthop(route *r, const tr_nexthop *nh, int is_relay)
{
	tr_mx mx[TR_DNS_MAX_HOSTS];
	tlsrelay_status last;
	int nmx, dns_perm = 1;
	tr_event ev = { .type = TR_EV_NEXTHOP, .nh = nh, .is_relay = is_relay };

	r->nh = nh;
	r->attempted = r->sessions = 0;
	r->mx_state = TR_DANE_MX_NONE;
	if (nexthop_inputs(r, nh, is_relay, &last) < 0) {
		settle_selected(r, &last);
		return;
	}
	nexthop_demand(r);
	nexthop_sts(r);
	ev.demand = &r->nhd;
	ev.in = &r->in;
	ev.policy = &r->shown;
	ev.sts = r->sts && r->sts->active ? &r->sts->f : NULL;
	tr_emit(&r->obs, &ev);
	tr_status_set(&last, TLSRELAY_TEMP, "4.4.0", "no server could be tried");
	if ((nmx = nexthop_hosts(r, is_relay, mx, &last)) < 0) {
		settle_selected(r, &last);
		return;
	}
	for (int h = 0; h < nmx && pending(r); h++) {
		int before = r->attempted;
		if (try_host(r, mx[h].host, &last))
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

/* "<a>, <b>" for the recipients of category class (OK, PERM, or the rest),
 * bounded by cap; "... N more" when they do not fit. 0 if there is none. */
static size_t rcpt_list(const tlsrelay_request *req, int class, char *out, size_t cap)
{
	size_t n = 0, left = 0;
	tr_buf b;

	tr_buf_fixed(&b, out, cap);
	for (size_t i = 0; i < req->nrcpts; i++) {
		tlsrelay_cat c = req->rcpts[i].status.cat;
		int in = class == TLSRELAY_OK ? c == TLSRELAY_OK
		       : class == TLSRELAY_PERM ? c == TLSRELAY_PERM
		       : c != TLSRELAY_OK && c != TLSRELAY_PERM;
		size_t len = strlen(req->rcpts[i].addr);

		if (!in)
			continue;
		if (left > 0 || b.len + len + 16 + 20 > cap) {   /* room for "... N more" */
			left++;
			continue;
		}
		tr_buf_printf(&b, "%s<%s>", n ? ", " : "", req->rcpts[i].addr);
		n++;
	}
	if (left > 0)
		tr_buf_printf(&b, "%s... %zu more", n ? ", " : "", left);
	return n + left;
}

/* Several recipients, not all accepted: the output line names who failed
 * (and who was accepted, and so will get the message again when the MTA
 * retries), so that the admin reading the MTA's log knows. The reason is
 * cut to make room; the lists are bounded. */
static void name_rcpts(const tlsrelay_request *req, tlsrelay_status *st)
{
	char lists[3][120], suffix[400], reason[TLSRELAY_TEXT_MAX];
	static const char *const words[3] = { "deferred", "refused", "accepted" };
	static const int classes[3] = { TLSRELAY_TEMP, TLSRELAY_PERM, TLSRELAY_OK };
	size_t keep;
	tr_buf b;

	if (req->nrcpts < 2)
		return;
	tr_buf_fixed(&b, suffix, sizeof suffix);
	for (int k = 0; k < 3; k++)
		if (rcpt_list(req, classes[k], lists[k], sizeof lists[k]) > 0)
			tr_buf_printf(&b, "%s%s: %s", b.len ? "; " : " [", words[k], lists[k]);
	tr_buf_putc(&b, ']');
	keep = sizeof st->text - 1 - b.len;
	snprintf(reason, sizeof reason, "%s", st->text);
	snprintf(st->text, sizeof st->text, "%.*s%s", (int)keep, reason, suffix);
	tr_sanitize_line(st->text);
}

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
		if (st->cat != TLSRELAY_CONFIG)
			st->cat = TLSRELAY_TEMP;     /* INTERNAL too: the mail is kept */
		/* Postfix takes the class from the output line before the exit
		 * status: a temporary result must never print 5.x.x. */
		if (st->dsn[0] != '4')
			snprintf(st->dsn, sizeof st->dsn, "4.0.0");
	} else if (nok > 0) {   /* some accepted, some refused for good */
		tr_status_set(st, TLSRELAY_TEMP, "4.3.0",
		        "%zu of %zu recipients accepted, the others refused (%s %s); "
		        "retrying all (set the recipient limit to 1 to avoid this)",
		        nok, req->nrcpts, first_perm->dsn, first_perm->text);
	} else {
		tr_status_copy(st, first_perm);
		if (nnouser != req->nrcpts && strcmp(st->dsn, "5.1.1") == 0)
			memcpy(st->dsn, "5.0.0", 6);   /* not every one unknown: EX_UNAVAILABLE */
	}
	name_rcpts(req, st);
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
	char use[32] = "";

	if (t->conn_use > 1)        /* as Postfix: only on a reused connection */
		snprintf(use, sizeof use, ", conn_use=%u", t->conn_use);
	tr_log(r->ctx, rc->status.cat == TLSRELAY_OK ? LOG_INFO : LOG_WARNING,
	       "to=<%s>, relay=%s%s, delay=%lld.%02lld, tls=%s%s%s, dsn=%s, status=%s (%s)",
	       rc->addr, t->relay[0] ? t->relay : "none", use, ms / 1000, (ms % 1000) / 10,
	       t->tls[0] ? t->tls : "none", t->sasl_user[0] ? ", sasl_username=" : "",
	       t->sasl_user, rc->status.dsn[0] ? rc->status.dsn : "4.0.0",
	       status, rc->status.text);
}

/* ------------------------------------------------------------ request */

/* The rule of tlsrelay_request's NOTIFY (tlsrelay -N), kept as it was:
 * the letters of NEVER, SUCCESS, FAILURE, DELAY and commas, at most 64. */
static int notify_ok(const char *v)
{
	return strspn(v, "NEVRSUCFAILDY,") == strlen(v) && strlen(v) <= 64;
}

/* Each recipient's own NOTIFY ("" is none for it; else the same rule as
 * the request's, and lib/dsn.h's word list) and ORCPT (lib/dsn.h: the LMTP listener's
 * rule, at most 500 characters). */
static tlsrelay_cat check_rcpt_dsn(const tlsrelay_request *q, tlsrelay_status *st)
{
	for (size_t i = 0; i < q->nrcpts; i++) {
		const tlsrelay_rcpt *r = &q->rcpts[i];

		if (r->notify && *r->notify &&
		    (!notify_ok(r->notify) || !tr_dsn_notify_ok(r->notify, strlen(r->notify))))
			return tr_status_set(st, TLSRELAY_USAGE, "5.5.4", "bad DSN NOTIFY value \"%.40s\" of recipient %zu",
			                     r->notify, i + 1);
		if (r->orcpt && !tr_dsn_orcpt_ok(r->orcpt, strlen(r->orcpt)))
			return tr_status_set(st, TLSRELAY_USAGE, "5.5.4",
			                     "bad DSN ORCPT value \"%.40s\" of recipient %zu: want addr-type;xtext, "
			                     "at most 500 characters", r->orcpt, i + 1);
	}
	return tr_status_ok(st);
}

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
	if (q->notify && !notify_ok(q->notify))
		return tr_status_set(st, TLSRELAY_USAGE, "5.5.4", "bad DSN NOTIFY value \"%.40s\"", q->notify);
	if (q->envid && strlen(q->envid) > 100)
		return tr_status_set(st, TLSRELAY_USAGE, "5.5.4", "DSN ENVID longer than 100 bytes");
	return check_rcpt_dsn(q, st);
}

/* Length of the UTF-8 sequence at s (RFC 3629: no overlong forms, no
 * surrogates, at most U+10FFFF), 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	unsigned long cp = s[0] & (0x3f >> (n - 1));

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Bad input is refused before any connection (5.1.3, exit 64): control
 * bytes, angle brackets, white space outside a quoted local part (it
 * would be sent as "RCPT TO:<a b@c>", which no server accepts; Postfix
 * pipe(8) flags=q quotes such local parts), bytes that are not UTF-8. */
tlsrelay_cat tlsrelay_check_address(const char *addr, int allow_empty,
                                    tlsrelay_status *st)
{
	size_t n = strlen(addr);
	int quoted = 0;
	const char *why = NULL;

	if (n == 0 && !allow_empty)
		return tr_status_set(st, TLSRELAY_USAGE, "5.1.3", "empty recipient address");
	if (n > 512)
		return tr_status_set(st, TLSRELAY_USAGE, "5.1.3", "address longer than 512 bytes");
	for (size_t i = 0; i < n && why == NULL; i++) {
		unsigned char c = (unsigned char)addr[i];
		size_t u;

		if (c < 0x20 || c == 0x7f || c == '<' || c == '>')
			why = "control character or angle bracket";
		else if (c >= 0x80 && (u = utf8_len((const unsigned char *)addr + i)) == 0)
			why = "not UTF-8";
		else if (c >= 0x80)
			i += u - 1;
		else if (c == '"' && (i == 0 || quoted))
			quoted = !quoted;
		else if (c == '\\' && quoted && addr[i + 1] != '\0')
			i++;
		else if (c == ' ' && !quoted)
			why = "white space outside a quoted local part";
	}
	if (why) {
		char ex[61];     /* printable: the output line goes to the MTA's log */
		size_t i;

		for (i = 0; i < n && i < sizeof ex - 1; i++)
			ex[i] = (addr[i] < 0x20 || addr[i] >= 0x7f) ? '?' : addr[i];
		ex[i] = '\0';
		return tr_status_set(st, TLSRELAY_USAGE, "5.1.3", "bad address \"%s\": %s", ex, why);
	}
	return tr_status_ok(st);
}

/* The observers of this delivery: TLS-RPT (when MTA-STS or its store is
 * configured; it needs the MTA-STS state), the shadow policy (when
 * configured), the TLS history (when tls_history is set; it reads the
 * shadow's verdicts, so it comes after it) - none of them for a dry run: a
 * probe's sessions are no delivery attempts -, then the caller's. -1 when
 * out of memory for the MTA-STS state. */
static int route_observers(route *r)
{
	const tr_config *cfg = &r->ctx->cfg;

	tr_history_init(&r->hist, r->ctx, NULL);
	if (cfg->mta_sts || cfg->mta_sts_cache) {   /* 36 KB: only when used */
		if ((r->sts = malloc(sizeof *r->sts)) == NULL)
			return -1;
		tr_sts_run_init(r->sts, r->ctx);
		tr_tlsrpt_rec_init(&r->rpt, r->ctx, r->sts);
		if (!r->opts->dry_run)
			tr_observe_add(&r->obs, tr_tlsrpt_observe, &r->rpt);
	}
	/* no memory for the shadow: the delivery goes on without it */
	if (tr_shadow_configured(r->ctx) && !r->opts->dry_run &&
	    (r->shadow = malloc(sizeof *r->shadow)) != NULL) {
		tr_shadow_init(r->shadow, r->ctx);
		r->hist.shadow = r->shadow;
		tr_observe_add(&r->obs, tr_shadow_observe, r->shadow);
	}
	if (cfg->tls_history && !r->opts->dry_run)
		tr_observe_add(&r->obs, tr_history_observe, &r->hist);
	for (int i = 0; r->opts->obs && i < r->opts->obs->n; i++)
		tr_observe_add(&r->obs, r->opts->obs->o[i].fn, r->opts->obs->o[i].arg);
	return 0;
}

static int route_init(route *r, tlsrelay_ctx *ctx, tlsrelay_request *req,
                      tlsrelay_message *msg, const tr_deliver_opts *opts,
                      tlsrelay_status *st)
{
	const tr_config *cfg = &ctx->cfg;

	memset(r, 0, sizeof *r);
	r->ctx = ctx;
	r->req = req;
	r->msg = msg;
	r->opts = opts;
	r->deadline_ms = tr_now_ms() + (long long)cfg->deadline * 1000;
	r->trace = calloc(req->nrcpts, sizeof *r->trace);
	r->select = calloc(req->nrcpts, 1);
	r->routed = calloc(req->nrcpts, 1);
	if (!r->trace || !r->select || !r->routed || route_observers(r) < 0) {
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		return -1;
	}
	if (tr_dns_init(&r->dns, cfg->dns_resolver, cfg->command_timeout < 10 ? cfg->command_timeout : 10) < 0) {
		tr_status_set(st, TLSRELAY_CONFIG, "4.3.5", "bad dns_resolver \"%s\"", cfg->dns_resolver);
		return -1;
	}
	if (tr_ctx_load_maps(ctx, st) != TLSRELAY_OK)
		return -1;
	/* milter: read and remove X-TLSRelay-Require before anything is sent
	 * (a dry run has no message) */
	r->msgreq.level = TR_TLS_INVALID;
	if (msg != NULL && tr_msgreq_take(msg, &r->msgreq, st) != TLSRELAY_OK)
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
	if (r->sts) {
		tr_sts_run_end(r->sts);
		free(r->sts);
	}
	tr_history_end(&r->hist);
	if (r->shadow)
		tr_shadow_end(r->shadow);
	free(r->shadow);
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
		return tr_status_set(st, TLSRELAY_CONFIG,    /* -r: the MTA's transport config */
		                     "4.3.5", "bad nexthop \"%.100s\": %s", hop, err);
	memset(r->select, 1, r->req->nrcpts);
	route_nexthop(r, &nh, 1);
	return TLSRELAY_OK;
}

tlsrelay_cat tr_deliver(tlsrelay_ctx *ctx, tlsrelay_request *req, tlsrelay_message *msg,
                        const tr_deliver_opts *opts, tlsrelay_status *st)
{
	static const tr_deliver_opts none = { 0, 0, TR_TLS_INVALID, NULL };
	long long started = tr_now_ms();
	tr_event ev = { .type = TR_EV_DONE, .req = req };
	route r;

	if (opts == NULL)
		opts = &none;
	for (size_t i = 0; req && req->rcpts && i < req->nrcpts; i++)
		req->rcpts[i].dsn_aware = 0;     /* set when a server accepts it */
	if (check_request(req, st) != TLSRELAY_OK) {
		for (size_t i = 0; req->rcpts && i < req->nrcpts; i++)   /* every status is set */
			tr_status_copy(&req->rcpts[i].status, st);
		return st->cat;
	}
	if (msg == NULL && !opts->dry_run)    /* only a dry run has none */
		return tr_status_set(st, TLSRELAY_USAGE, "4.3.0", "no message to deliver");
	if (tr_message_check(msg, st) != TLSRELAY_OK) {     /* nothing is sent */
		for (size_t i = 0; i < req->nrcpts; i++)
			tr_status_copy(&req->rcpts[i].status, st);
		return st->cat;
	}
	if (route_init(&r, ctx, req, msg, opts, st) < 0 || route_request(&r, st) != TLSRELAY_OK) {
		for (size_t i = 0; i < req->nrcpts; i++)     /* every status is set */
			tr_status_copy(&req->rcpts[i].status, st);
		route_free(&r);
		return st->cat;
	}
	for (size_t i = 0; i < req->nrcpts && !opts->dry_run; i++)
		log_rcpt(&r, i, started);
	tr_deliver_summary(req, st);
	ev.st = st;
	tr_emit(&r.obs, &ev);
	/* the fleet's queued writes, one flight (fleet.h); in a tlsrelayd
	 * delivery process with the history's, after the result
	 * (tr_ctx_after_result, history.h DEFERRED) */
	if (!ctx->hist_defer)
		tr_fleet_flush(ctx);
	route_free(&r);
	return st->cat;
}

tlsrelay_cat tlsrelay_deliver(tlsrelay_ctx *ctx, tlsrelay_request *req,
                              tlsrelay_message *msg, tlsrelay_status *st)
{
	return tr_deliver(ctx, req, msg, NULL, st);
}

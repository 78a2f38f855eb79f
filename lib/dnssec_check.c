/*
 * dnssec_check.c - the resolver self-test: does the resolver tlsrelay
 * uses validate DNSSEC? (tlsrelay_ctx_check_resolver, tlsrelay.h; run by
 * tlsrelay -t and at tlsrelayd's start.)
 *
 * Why. DANE trusts the resolver's AD bit (dns_res.h). A resolver that
 * does not validate (validation off, a forwarder that strips AD, a
 * middlebox) makes every TLSA answer insecure: dane falls back to may
 * without a word and dane-only defers every destination - the most common
 * cause of mass DANE deferrals (stalwart #1578, blocky #1969,
 * postfix-tlspol #52). MTA-STS does not need DNSSEC, but a broken resolver
 * hides its TXT records too, so it is checked when mta_sts = yes as well.
 *
 * What. Only when a dane level is in use (tls_security_level or an entry
 * of tls_policy_map) or mta_sts = yes, and dnssec_self_test = yes:
 *   1. dnssec_test_valid (default ".", the signed root; SOA with DO) must
 *      answer (records or NODATA) with the AD bit;
 *   2. dnssec_test_bogus (default dnssec-failed.org, a name kept broken on
 *      purpose; A with DO) must fail with SERVFAIL.
 * A resolver that answers 1 without AD or answers 2 does not validate: a
 * problem (counted; -t exits 78). No answer at all (timeout, refused)
 * cannot tell: a warning (a resolver still starting must not stop
 * tlsrelayd). A bogus name that does not exist (NXDOMAIN) cannot test
 * anything: a warning naming the setting. Each name is asked once, 3 s
 * at most, through dns_resolver (else the system's resolvers, as
 * delivery does).
 */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "ctx.h"
#include "dns_res.h"
#include "policy.h"
#include "status.h"
#include "tls_level.h"

#define CHECK_TIMEOUT 3

struct out {
	tlsrelay_report_fn problem, warning;
	void *arg;
	int n;
};

static void TR_PRINTF(3, 4) say(struct out *o, int problem, const char *fmt, ...)
{
	char line[TLSRELAY_TEXT_MAX + 200];
	size_t p = 0;
	va_list ap;

	if (!problem)
		p = (size_t)snprintf(line, sizeof line, "warning: ");
	va_start(ap, fmt);
	vsnprintf(line + p, sizeof line - p, fmt, ap);
	va_end(ap);
	tr_sanitize_line(line);
	if (problem) {
		o->problem(o->arg, line);
		o->n++;
	} else {
		o->warning(o->arg, line);
	}
}

/* Is DANE or MTA-STS in use? what: where, for the messages. */
static int wanted(const tr_config *cfg, char *what, size_t cap)
{
	char where[512];
	tr_policy_map *m;
	int found = 0;

	if (cfg->tls_level == TR_TLS_DANE || cfg->tls_level == TR_TLS_DANE_ONLY) {
		snprintf(what, cap, "tls_security_level = %s", tr_tls_level_name(cfg->tls_level));
		return 1;
	}
	if (cfg->tls_policy_map && (m = tr_policy_map_load(cfg->tls_policy_map, NULL)) != NULL) {
		if ((found = tr_policy_map_first_dane(m, where, sizeof where)) != 0)
			snprintf(what, cap, "tls_policy_map %s", where);
		tr_policy_map_free(m);
	}
	if (!found && cfg->mta_sts)
		snprintf(what, cap, "mta_sts = yes");
	return found || cfg->mta_sts;
}

/* A response came back with rcode SERVFAIL (not a timeout: the buffer's
 * header is zero until an answer is read). */
static int servfail(const tr_dns_answer *ans)
{
	return (ans->buf[2] & 0x80) && (ans->buf[3] & 0x0f) == ns_r_servfail;
}

static void check_valid(struct out *o, tr_dns_resolver *res, const char *who, const char *name)
{
	tr_dns_res r = tr_dns_query(&res->rs, name, ns_t_soa, &res->ans);
	const tr_dns_answer *ans = &res->ans;

	if (r == TR_DNS_TEMP && !servfail(ans))
		say(o, 0, "the resolver %s did not answer for %s (%s): cannot tell whether it "
		    "validates DNSSEC", who, name, tr_dns_temp_reason(ans));
	else if (r == TR_DNS_TEMP)
		say(o, 1, "the resolver %s fails (SERVFAIL) for %s, a signed name that must "
		    "validate: its DNSSEC validation is broken (trust anchor, clock?)", who, name);
	else if (!ans->ad)
		say(o, 1, "the resolver %s does not validate DNSSEC: its answer for %s (signed) has "
		    "no AD bit, so every TLSA record looks insecure: destinations at level dane "
		    "fall back to may, dane-only ones are deferred", who, name);
}

static void check_bogus(struct out *o, tr_dns_resolver *res, const char *who, const char *name)
{
	tr_dns_res r = tr_dns_query(&res->rs, name, ns_t_a, &res->ans);
	const tr_dns_answer *ans = &res->ans;

	if (r == TR_DNS_TEMP && !servfail(ans))
		say(o, 0, "the resolver %s did not answer for %s (%s): cannot tell whether it "
		    "refuses broken signatures", who, name, tr_dns_temp_reason(ans));
	else if (r == TR_DNS_NXDOMAIN)
		say(o, 0, "dnssec_test_bogus %s does not exist: set it to a name whose DNSSEC "
		    "signatures are broken on purpose", name);
	else if (r != TR_DNS_TEMP)
		say(o, 1, "the resolver %s does not validate DNSSEC: it answered for %s, whose "
		    "signatures are broken on purpose (a validating resolver says SERVFAIL); "
		    "forged TLSA records would be believed", who, name);
}

int tr_dnssec_check(const tr_config *cfg, tlsrelay_report_fn problem,
                    tlsrelay_report_fn warning, void *arg)
{
	struct out o = { problem, warning, arg, 0 };
	const char *valid = cfg->dnssec_test_valid ? cfg->dnssec_test_valid : ".";
	const char *bogus = cfg->dnssec_test_bogus ? cfg->dnssec_test_bogus : "dnssec-failed.org";
	char what[600], who[128];
	tr_dns_resolver res;
	tr_dns d;

	if (!cfg->dnssec_self_test || !wanted(cfg, what, sizeof what))
		return 0;
	if (tr_dns_init(&d, cfg->dns_resolver, CHECK_TIMEOUT) < 0) {
		say(&o, 0, "cannot set up the resolver to check DNSSEC validation");
		return 0;
	}
	d.dnssec = 1;
	d.attempts = 1;
	if (tr_dns_resolver_open(&d, &res) != TR_DNS_OPEN_OK) {
		say(&o, 0, "cannot set up the resolver to check DNSSEC validation");
		return 0;
	}
	snprintf(who, sizeof who, "%s", cfg->dns_resolver ? cfg->dns_resolver
	                                                  : "of /etc/resolv.conf");
	check_valid(&o, &res, who, valid);
	check_bogus(&o, &res, who, bogus);
	tr_dns_resolver_close(&res);
	if (o.n > 0)
		say(&o, 0, "DNSSEC validation is needed by %s; see DANE.md (\"a validating "
		    "resolver\") or set dnssec_self_test = no", what);
	return o.n;
}

int tlsrelay_ctx_check_resolver(tlsrelay_ctx *ctx, tlsrelay_report_fn problem,
                                tlsrelay_report_fn warning, void *arg)
{
	return tr_dnssec_check(&ctx->cfg, problem, warning, arg);
}

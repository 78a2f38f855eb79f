/*
 * query_dane.c - the DANE part of tlsrelay -q (tlsrelay_policy_describe in
 * query.c): at levels dane and dane-only, what delivery would decide for
 * each MX host, from the same DNSSEC lookups (MX, addresses, TLSA) through
 * the configured resolver; nothing is connected to. See dane.h.
 *
 * Output: one line per host appended to the policy line,
 *   "\n  HOST: DANE (1 usable TLSA record of 1 at _25._tcp.HOST)"
 *   "\n  HOST: may (no TLSA records at _25._tcp.HOST)"
 *   "\n  HOST: deferred (4.7.5 TLSA lookup for ... failed: ...)"
 * preceded by "\n  MX records of DOMAIN: DNSSEC-validated" (or "insecure")
 * for MX delivery. A failed MX lookup is one line with its status.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctx.h"
#include "dane.h"
#include "demand.h"
#include "dns.h"
#include "nexthop.h"
#include "policy.h"
#include "status.h"

static void append(char *out, size_t cap, const char *fmt, ...) TR_PRINTF(3, 4);

static void append(char *out, size_t cap, const char *fmt, ...)
{
	size_t n = strlen(out);
	va_list ap;

	if (n + 1 >= cap)
		return;
	va_start(ap, fmt);
	vsnprintf(out + n, cap - n, fmt, ap);
	va_end(ap);
}

static void describe_host(const tr_dns *d, const tr_demand_in *nhin, tr_tls_level level,
                          tr_dane_mx mx, const char *host, char *out, size_t cap)
{
	const tr_nexthop *nh = nhin->nh;
	tr_addr addrs[TR_DNS_MAX_ADDRS];
	tr_dane_host h;
	tr_demand_in in = *nhin;
	tr_demand dm;
	tlsrelay_status st;
	char text[TLSRELAY_TEXT_MAX + 32];
	int n;

	if (tr_dane_route_host(d, level, mx, nh->host, host, nh->port, addrs,
	                       TR_DNS_MAX_ADDRS, &n, &h, &st) != TLSRELAY_OK) {
		snprintf(text, sizeof text, "%s %s", st.dsn, st.text);
		append(out, cap, "\n  %s: %s (%s)", host,
		       st.cat == TLSRELAY_PERM ? "failed" : "deferred", text);
		return;
	}
	in.host = host;
	in.dane = &h;
	tr_demand_for_server(&in, &dm);
	append(out, cap, "\n  %s: %s", host, tr_demand_describe_dane(&dm, &h, text, sizeof text));
	tr_dane_host_free(&h);
}

void tr_query_dane(struct tlsrelay_ctx *ctx, const tr_demand_in *in, tr_tls_level level,
                   char *out, size_t cap)
{
	const tr_nexthop *nh = in->nh;
	tr_mx mx[TR_DNS_MAX_HOSTS];
	tr_dane_mx mx_state = TR_DANE_MX_NONE;
	tr_dns_sec sec;
	tr_dns d;
	tlsrelay_status st;
	int nmx = 1;

	if (!tr_level_dane(level))
		return;
	if (tr_dns_init(&d, ctx->cfg.dns_resolver, 5) < 0) {
		append(out, cap, "\n  DANE: bad dns_resolver \"%s\"", ctx->cfg.dns_resolver);
		return;
	}
	snprintf(mx[0].host, sizeof mx[0].host, "%s", nh->host);
	if (nh->mx_lookup) {
		if (tr_dns_mx_sec(&d, nh->host, mx, &nmx, &sec, &st) != TLSRELAY_OK) {
			append(out, cap, "\n  MX lookup: %s %s", st.dsn, st.text);
			return;
		}
		mx_state = sec.secure ? TR_DANE_MX_SECURE : TR_DANE_MX_INSECURE;
		append(out, cap, "\n  MX records of %s: %s", nh->host,
		       sec.secure ? "DNSSEC-validated" : "not DNSSEC-validated (insecure)");
	}
	for (int i = 0; i < nmx; i++)
		describe_host(&d, in, level, mx_state, mx[i].host, out, cap);
}

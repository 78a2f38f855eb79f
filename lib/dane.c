/*
 * dane.c - the DANE policy of one server (see dane.h for the rules).
 *
 * Decisions (Postfix smtp_tls_policy.c dane_init semantics, RFC 7672):
 * - "no DANE for this server" is may under dane and a temporary failure
 *   (4.7.5) under dane-only; "records, none usable" is encrypt under dane
 *   (Postfix: TLS is then mandatory but not authenticated) and 4.7.5
 *   under dane-only; a failed TLSA lookup is 4.7.5 under both.
 * - An insecure MX RRset: dane-only defers at once, dane still uses the
 *   MX hosts' own secure TLSA records ("Trusted", as Postfix >= 3.10).
 * - Address records must be secure for a TLSA lookup (RFC 7672 2.2.2): an
 *   unsigned host gets no TLSA lookup at all (no query leaks, no delay).
 * - A numeric host (IP literal nexthop) has no TLSA base domain: no DANE.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "dane.h"
#include "status.h"

int tr_tls_level_dane(tr_tls_level level)
{
	return level == TR_TLS_DANE || level == TR_TLS_DANE_ONLY;
}

int tr_dane_preempts_sts(const tr_dane_host *h)
{
	return h != NULL && h->state == TR_DANE_USABLE;
}

void tr_dane_host_free(tr_dane_host *h)
{
	tr_tlsa_free(&h->tlsa);
}

/* No usable DANE for this server (the demand decides what follows). */
static void dane_without(tr_dane_host *h, tr_dane_state state)
{
	h->state = state;
	tr_tlsa_free(&h->tlsa);
}

static void add_name(tr_dane_host *h, const char *name)
{
	if (name == NULL || name[0] == '\0' || h->nnames >= TR_DANE_MAX_NAMES)
		return;
	for (int i = 0; i < h->nnames; i++)
		if (strcmp(h->names[i], name) == 0)
			return;
	snprintf(h->names[h->nnames++], TR_HOSTNAME_MAX, "%s", name);
}

static int is_ip(const char *s)
{
	unsigned char b[16];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* TLSA at the alias target first, then at the host name itself. */
static tr_tlsa_res lookup_tlsa(const tr_dns *d, int port, const char *host,
                               const tr_dns_sec *sec, tr_dane_host *h)
{
	tr_tlsa_res r = TR_TLSA_NONE;

	if (sec->rname[0]) {
		r = tr_dns_tlsa(d, port, sec->rname, &h->tlsa, h->why, sizeof h->why);
		if (r != TR_TLSA_NONE) {
			snprintf(h->base, sizeof h->base, "%s", sec->rname);
			return r;
		}
	}
	r = tr_dns_tlsa(d, port, host, &h->tlsa, h->why, sizeof h->why);
	snprintf(h->base, sizeof h->base, "%s", host);
	return r;
}

/* The DANE part of tr_dane_route_host, after the address lookup: the
 * facts (the state, why), never a decision. */
static void dane_facts(const tr_dns *d, tr_tls_level level, tr_dane_mx mx,
                       const char *nexthop, const char *host, int port,
                       const tr_dns_sec *sec, tr_dane_host *h)
{
	h->mx_insecure = mx == TR_DANE_MX_INSECURE;
	if (mx == TR_DANE_MX_INSECURE && level == TR_TLS_DANE_ONLY) {
		/* nothing can make it DANE: no TLSA query */
		snprintf(h->why, sizeof h->why, "non DNSSEC destination: the MX records of %s "
		         "are not DNSSEC-validated", nexthop);
		dane_without(h, TR_DANE_NONE);
		return;
	}
	if (is_ip(host)) {
		snprintf(h->why, sizeof h->why, "%s is an IP address: no TLSA base domain", host);
		dane_without(h, TR_DANE_NONE);
		return;
	}
	if (!sec->secure) {
		snprintf(h->why, sizeof h->why, "the address records of %s are not "
		         "DNSSEC-validated: no TLSA lookup", host);
		dane_without(h, TR_DANE_NONE);
		return;
	}
	switch (lookup_tlsa(d, port, host, sec, h)) {
	case TR_TLSA_TEMP:
		h->tlsa_failed = 1;
		h->base[0] = '\0';
		dane_without(h, TR_DANE_NONE);
		return;
	case TR_TLSA_NONE:
		h->base[0] = '\0';
		dane_without(h, TR_DANE_NONE);
		return;
	case TR_TLSA_FOUND:
	default:
		break;
	}
	if (h->tlsa.n == 0) {
		snprintf(h->why, sizeof h->why, "%d TLSA record%s at %s, none usable (only "
		         "DANE-TA(2) and DANE-EE(3) are used for SMTP)", h->tlsa.total,
		         h->tlsa.total == 1 ? "" : "s", h->tlsa.owner);
		h->base[0] = '\0';
		dane_without(h, TR_DANE_UNUSABLE);
		return;
	}
	h->state = TR_DANE_USABLE;
	add_name(h, h->base);
	add_name(h, host);
	if (mx != TR_DANE_MX_NONE)
		add_name(h, nexthop);
	snprintf(h->why, sizeof h->why, "%d usable TLSA record%s of %d at %s%s",
	         h->tlsa.n, h->tlsa.n == 1 ? "" : "s", h->tlsa.total, h->tlsa.owner,
	         h->mx_insecure ? " (MX records insecure: a match is Trusted, not Verified)" : "");
}

tlsrelay_cat tr_dane_route_host(const tr_dns *d, tr_tls_level level, tr_dane_mx mx,
                                const char *nexthop, const char *host, int port,
                                tr_addr *out, int max, int *n, tr_dane_host *h,
                                tlsrelay_status *st)
{
	tr_dns_sec sec;

	memset(h, 0, sizeof *h);
	if (!tr_tls_level_dane(level))
		return tr_dns_addrs(d, host, port, out, max, n, st);
	if (tr_dns_addrs_sec(d, host, port, out, max, n, &sec, st) != TLSRELAY_OK)
		return st->cat;
	dane_facts(d, level, mx, nexthop ? nexthop : host, host, port, &sec, h);
	return TLSRELAY_OK;
}

char *tr_dane_rr_name(const tr_tlsa_rr *rr, char *out, size_t cap)
{
	static const char *const usage[] = { "PKIX-TA", "PKIX-EE", "DANE-TA", "DANE-EE" };
	static const char *const sel[] = { "Cert", "SPKI" };
	static const char *const mt[] = { "Full", "SHA2-256", "SHA2-512" };

	snprintf(out, cap, "%s(%u) %s(%u) %s(%u)",
	         rr->usage < 4 ? usage[rr->usage] : "?", rr->usage,
	         rr->selector < 2 ? sel[rr->selector] : "?", rr->selector,
	         rr->mtype < 3 ? mt[rr->mtype] : "?", rr->mtype);
	return out;
}

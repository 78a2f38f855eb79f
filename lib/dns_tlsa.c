/*
 * dns_tlsa.c - TLSA lookups at _PORT._tcp.HOST (see dns_tlsa.h).
 *
 * Decisions:
 * - A TLSA RRset counts only with the AD bit (a validated answer): an
 *   unsigned or insecure zone's TLSA records are ignored, as RFC 7672
 *   section 2.2 asks, and logged by the caller as insecure.
 * - Every lookup failure is temporary: SERVFAIL is what a validating
 *   resolver answers for bogus data, and an attacker who can make the
 *   lookup fail must not be able to turn DANE off.
 * - NXDOMAIN for the TLSA name is "no records" (secure or not, nothing
 *   to use). CNAMEs in the answer are followed (RFC 7671 section 7).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_res.h"
#include "dns_tlsa.h"

int tr_tlsa_usable(int usage, int selector, int mtype, size_t len)
{
	if (usage != TR_TLSA_USAGE_DANE_TA && usage != TR_TLSA_USAGE_DANE_EE)
		return 0;
	if (selector != 0 && selector != 1)
		return 0;
	switch (mtype) {
	case 0:
		return len > 0 && len <= TR_TLSA_DATA_MAX;
	case 1:
		return len == 32;
	case 2:
		return len == 64;
	default:
		return 0;
	}
}

void tr_tlsa_free(tr_tlsa_set *s)
{
	for (int i = 0; i < s->n && i < TR_TLSA_MAX; i++) {
		free(s->rr[i].data);
		s->rr[i].data = NULL;
	}
	s->n = 0;
	s->total = 0;
}

static int tlsa_add(ns_msg *msg, ns_rr *rr, void *arg)
{
	tr_tlsa_set *s = arg;
	const unsigned char *rd = ns_rr_rdata(*rr);
	size_t len = ns_rr_rdlen(*rr);
	tr_tlsa_rr *t;

	(void)msg;
	s->total++;
	if (len < 3 || s->n >= TR_TLSA_MAX ||
	    !tr_tlsa_usable(rd[0], rd[1], rd[2], len - 3))
		return 0;
	for (int i = 0; i < s->n; i++)          /* a duplicate adds nothing */
		if (s->rr[i].usage == rd[0] && s->rr[i].selector == rd[1] &&
		    s->rr[i].mtype == rd[2] && s->rr[i].len == len - 3 &&
		    memcmp(s->rr[i].data, rd + 3, len - 3) == 0)
			return 0;
	t = &s->rr[s->n];
	if ((t->data = malloc(len - 3)) == NULL)
		return -1;
	memcpy(t->data, rd + 3, len - 3);
	t->len = len - 3;
	t->usage = rd[0];
	t->selector = rd[1];
	t->mtype = rd[2];
	s->n++;
	return 0;
}

/* Classify a TR_DNS_OK answer. */
static tr_tlsa_res tlsa_answer(tr_dns_answer *ans, tr_tlsa_set *out,
                               char *why, size_t whysz)
{
	if (tr_dns_walk(&ans->msg, out->owner, ns_t_tlsa, tlsa_add, out, NULL, 0) < 0) {
		tr_tlsa_free(out);
		snprintf(why, whysz, "TLSA lookup for %s failed: malformed answer or out of memory",
		         out->owner);
		return TR_TLSA_TEMP;
	}
	if (out->total == 0) {                  /* e.g. a CNAME to nothing */
		snprintf(why, whysz, "no TLSA records at %s", out->owner);
		return TR_TLSA_NONE;
	}
	if (!ans->ad) {
		out->insecure = 1;
		snprintf(why, whysz, "TLSA records at %s are not DNSSEC-validated (insecure): ignored",
		         out->owner);
		tr_tlsa_free(out);
		return TR_TLSA_NONE;
	}
	return TR_TLSA_FOUND;
}

tr_tlsa_res tr_dns_tlsa(const tr_dns *d, int port, const char *host,
                        tr_tlsa_set *out, char *why, size_t whysz)
{
	char name[TR_HOSTNAME_MAX];
	tr_dns_resolver r;
	tr_dns dd;
	tr_tlsa_res res = TR_TLSA_TEMP;

	memset(out, 0, sizeof *out);
	why[0] = '\0';
	if (d == NULL || port < 1 || port > 65535 ||
	    tr_dns_norm_name(host, name, sizeof name) < 0) {
		snprintf(why, whysz, "no TLSA lookup for \"%.100s\": not a host name",
		         host ? host : "");
		return TR_TLSA_TEMP;
	}
	snprintf(out->owner, sizeof out->owner, "_%d._tcp.%s", port, name);
	dd = *d;
	dd.dnssec = 1;
	switch (tr_dns_resolver_open(&dd, &r)) {
	case TR_DNS_OPEN_NOMEM:
		snprintf(why, whysz, "TLSA lookup for %s: out of memory", out->owner);
		return TR_TLSA_TEMP;
	case TR_DNS_OPEN_RESOLVER:
		snprintf(why, whysz, "TLSA lookup for %s failed: cannot initialise the resolver",
		         out->owner);
		return TR_TLSA_TEMP;
	case TR_DNS_OPEN_OK:
		break;
	}
	switch (tr_dns_query(&r.rs, out->owner, ns_t_tlsa, &r.ans)) {
	case TR_DNS_OK:
		res = tlsa_answer(&r.ans, out, why, whysz);
		break;
	case TR_DNS_NODATA:
	case TR_DNS_NXDOMAIN:
		snprintf(why, whysz, "no TLSA records at %s%s", out->owner,
		         r.ans.ad ? "" : " (insecure answer)");
		res = TR_TLSA_NONE;
		break;
	case TR_DNS_TEMP:
	default:
		snprintf(why, whysz, "TLSA lookup for %s failed: %s", out->owner,
		         tr_dns_temp_reason(&r.ans));
		res = TR_TLSA_TEMP;
		break;
	}
	tr_dns_resolver_close(&r);
	return res;
}

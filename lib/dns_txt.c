/*
 * dns_txt.c - TXT lookups (see dns_txt.h) on the resolver core of dns.c
 * and dns_tlsa.c (dns_res.h): a private resolver state with the configured
 * server, one query, and the answer walk, which takes only the records
 * owned by the name asked for or by the end of its CNAME chain in the
 * answer. A record of another owner in the answer (a resolver that does
 * not scrub, a forged answer) is not taken: it could carry an _mta-sts id
 * or a TLS-RPT rua for a name the lookup was not about.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "dns_res.h"
#include "dns_txt.h"
#include "status.h"

typedef struct txt_acc {
	char (*out)[TR_DNS_TXT_MAX];
	int max, n;
} txt_acc;

/* The character-strings of one TXT rdata joined into out (cap bytes). */
static int txt_join(const unsigned char *rd, size_t len, char *out, size_t cap)
{
	size_t o = 0, i = 0;

	while (i < len) {
		size_t n = rd[i++];

		if (n > len - i)
			return -1;
		for (size_t k = 0; k < n && o + 1 < cap; k++) {
			if (rd[i + k] == '\0')
				break;
			out[o++] = (char)rd[i + k];
		}
		i += n;
	}
	out[o] = '\0';
	return 0;
}

/* tr_dns_walk's callback: one TXT record of the name. */
static int txt_add(ns_msg *msg, ns_rr *rr, void *arg)
{
	txt_acc *a = arg;

	(void)msg;
	if (a->n >= a->max)
		return 0;
	if (txt_join(ns_rr_rdata(*rr), ns_rr_rdlen(*rr), a->out[a->n], TR_DNS_TXT_MAX) < 0)
		return -1;
	a->n++;
	return 0;
}

tlsrelay_cat tr_dns_txt(const tr_dns *d, const char *name,
                        char out[][TR_DNS_TXT_MAX], int max, int *n, tlsrelay_status *st)
{
	tr_dns_resolver r;
	txt_acc a = { out, max, 0 };

	*n = 0;
	switch (tr_dns_resolver_open(d, &r)) {
	case TR_DNS_OPEN_NOMEM:
		return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
	case TR_DNS_OPEN_RESOLVER:
		return tr_status_set(st, TLSRELAY_TEMP, "4.4.3", "cannot initialise the resolver");
	case TR_DNS_OPEN_OK:
		break;
	}
	switch (tr_dns_query(&r.rs, name, ns_t_txt, &r.ans)) {
	case TR_DNS_OK:
		if (tr_dns_walk(&r.ans.msg, name, ns_t_txt, txt_add, &a, NULL, 0) < 0) {
			tr_status_set(st, TLSRELAY_TEMP, "4.4.3", "malformed DNS answer");
		} else {
			*n = a.n;
			tr_status_ok(st);
		}
		break;
	case TR_DNS_NODATA:
	case TR_DNS_NXDOMAIN:
		tr_status_ok(st);
		break;
	case TR_DNS_TEMP:
	default:
		tr_status_set(st, TLSRELAY_TEMP, "4.4.3", "TXT lookup of %s: %s", name,
		              tr_dns_temp_reason(&r.ans));
		break;
	}
	tr_dns_resolver_close(&r);
	return st->cat;
}

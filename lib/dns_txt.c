/*
 * dns_txt.c - TXT lookups through the resolver settings of dns.c (see
 * dns_txt.h).
 */
#include "config.h"
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dns_res.h"
#include "dns_txt.h"
#include "status.h"

#define TXT_BUFSIZE 65536

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

static int txt_answer(const unsigned char *buf, int len, char out[][TR_DNS_TXT_MAX],
                      int max, tlsrelay_status *st)
{
	ns_msg msg;
	int n = 0;

	if (ns_initparse(buf, len, &msg) < 0)
		goto bad;
	if (ns_msg_getflag(msg, ns_f_rcode) == ns_r_nxdomain)
		return 0;
	if (ns_msg_getflag(msg, ns_f_rcode) != ns_r_noerror || ns_msg_getflag(msg, ns_f_tc))
		goto bad;
	for (int i = 0; i < ns_msg_count(msg, ns_s_an) && n < max; i++) {
		ns_rr rr;

		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			goto bad;
		if (ns_rr_type(rr) != ns_t_txt || ns_rr_class(rr) != ns_c_in)
			continue;
		if (txt_join(ns_rr_rdata(rr), ns_rr_rdlen(rr), out[n], TR_DNS_TXT_MAX) < 0)
			goto bad;
		n++;
	}
	return n;
bad:
	tr_status_set(st, TLSRELAY_TEMP, "4.4.3", "malformed DNS answer");
	return -1;
}

tlsrelay_cat tr_dns_txt(const tr_dns *d, const char *name,
                        char out[][TR_DNS_TXT_MAX], int max, int *n, tlsrelay_status *st)
{
	struct __res_state rs;
	unsigned char *buf = malloc(TXT_BUFSIZE);
	int len;

	*n = 0;
	if (buf == NULL)
		return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
	if (tr_dns_res_open(d, &rs) < 0) {
		free(buf);
		return tr_status_set(st, TLSRELAY_TEMP, "4.4.3", "cannot initialise the resolver");
	}
	rs.res_h_errno = 0;
	len = res_nquery(&rs, name, ns_c_in, ns_t_txt, buf, TXT_BUFSIZE);
	if (len < 0 && (rs.res_h_errno == HOST_NOT_FOUND || rs.res_h_errno == NO_DATA))
		tr_status_ok(st);
	else if (len < 0 || len > TXT_BUFSIZE)
		tr_status_set(st, TLSRELAY_TEMP, "4.4.3", "TXT lookup of %.300s: DNS server failure or timeout",
		              name);
	else if ((*n = txt_answer(buf, len, out, max, st)) < 0)
		*n = 0;
	else
		tr_status_ok(st);
	res_nclose(&rs);
	free(buf);
	return st->cat;
}

/*
 * tls_dane.c - OpenSSL's DANE API for one connection (see tls_dane.h).
 *
 * Decisions:
 * - Only DANE-TA(2) and DANE-EE(3) records reach OpenSSL (dns_tlsa.c drops
 *   the others): PKIX usages would make OpenSSL consult the CA store,
 *   which RFC 7672 section 3.1.3 rules out for SMTP.
 * - DANE-EE matches ignore names and validity dates as RFC 7672 3.1.1
 *   asks (DANE_FLAG_NO_DANE_EE_NAMECHECKS; OpenSSL ignores the dates of a
 *   DANE-EE match itself). DANE-TA matches check the reference names of
 *   dane.h, without partial wildcards (as Postfix).
 * - A record OpenSSL refuses is skipped; if it refuses all of them the
 *   connection is not made (4.7.5 by the caller): never a silent
 *   downgrade to unauthenticated TLS.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "dane.h"
#include "status.h"
#include "tls_dane.h"

tlsrelay_cat tr_tls_dane_ctx(SSL_CTX *c, tlsrelay_status *st)
{
	int r = SSL_CTX_dane_enable(c);

	ERR_clear_error();
	if (r <= 0)
		return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0",
		                     "OpenSSL cannot enable DANE (SSL_CTX_dane_enable)");
	return tr_status_ok(st);
}

/* Every record of h that OpenSSL takes, with the names, on ssl; why
 * (cap bytes) when none could be. 0 or -1. */
static int dane_add(SSL *ssl, const tr_dane_host *h, char *why, size_t cap)
{
	int added = 0;

	if (h == NULL || h->state != TR_DANE_USABLE || h->base[0] == '\0') {
		snprintf(why, cap, "no usable TLSA records");
		return -1;
	}
	if (SSL_dane_enable(ssl, h->base) <= 0) {
		ERR_clear_error();
		snprintf(why, cap, "OpenSSL cannot enable DANE for %s", h->base);
		return -1;
	}
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	for (int i = 0; i < h->nnames; i++)
		if (strcmp(h->names[i], h->base) != 0)
			(void)SSL_add1_host(ssl, h->names[i]);
	for (int i = 0; i < h->tlsa.n; i++) {
		const tr_tlsa_rr *rr = &h->tlsa.rr[i];

		if (SSL_dane_tlsa_add(ssl, rr->usage, rr->selector, rr->mtype,
		                      rr->data, rr->len) > 0)
			added++;
	}
	ERR_clear_error();
	if (added == 0) {
		snprintf(why, cap, "OpenSSL accepted none of the TLSA records of %s", h->base);
		return -1;
	}
	return 0;
}

tlsrelay_cat tr_tls_dane_setup(SSL *ssl, const tr_dane_host *h, const char *relay,
                               tlsrelay_status *st)
{
	char why[TR_HOSTNAME_MAX + 64];

	if (dane_add(ssl, h, why, sizeof why) < 0)
		return tr_status_set(st, TLSRELAY_TEMP, "4.7.5", "DANE for %s: %s", relay, why);
	return tr_status_ok(st);
}

void tr_tls_dane_posture(SSL *ssl, tr_tls_info *info)
{
	uint8_t usage = 0, selector = 0, mtype = 0;
	const unsigned char *data = NULL;
	size_t dlen = 0;
	long vr = SSL_get_verify_result(ssl);
	int depth = SSL_get0_dane_tlsa(ssl, &usage, &selector, &mtype, &data, &dlen);

	info->dane = 1;
	if (vr == X509_V_OK && depth >= 0) {
		tr_tlsa_rr rr = { usage, selector, mtype, NULL, 0 };
		char name[64];

		info->dane_ok = 1;
		snprintf(info->dane_match, sizeof info->dane_match, "%s at depth %d",
		         tr_dane_rr_name(&rr, name, sizeof name), depth);
		return;
	}
	snprintf(info->dane_error, sizeof info->dane_error, "%s",
	         vr != X509_V_OK ? X509_verify_cert_error_string(vr)
	                         : "no TLSA record matched");
}

/* X509_verify_cert of chain (leaf first) with the DANE state of tmp. */
static int verify_with(SSL *tmp, X509 *leaf, STACK_OF(X509) *chain, long *vr)
{
	X509_STORE_CTX *xs = X509_STORE_CTX_new();
	int ok = 0;

	*vr = X509_V_ERR_UNSPECIFIED;
	if (xs && X509_STORE_CTX_init(xs, SSL_CTX_get_cert_store(SSL_get_SSL_CTX(tmp)), leaf,
	                              chain)) {
		X509_STORE_CTX_set_default(xs, "ssl_server");
		X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(xs), SSL_get0_param(tmp));
		X509_STORE_CTX_set0_dane(xs, SSL_get0_dane(tmp));
		ok = X509_verify_cert(xs) == 1;
		*vr = X509_STORE_CTX_get_error(xs);
	}
	X509_STORE_CTX_free(xs);
	return ok;
}

int tr_tls_dane_check(SSL *ssl, const tr_dane_host *h, tr_tls_info *info)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	X509 *leaf = SSL_get0_peer_certificate(ssl);
	SSL *tmp = SSL_new(SSL_get_SSL_CTX(ssl));
	uint8_t usage = 0, selector = 0, mtype = 0;
	const unsigned char *data = NULL;
	size_t dlen = 0;
	tlsrelay_status st;
	long vr;
	int r = 0, depth;

	if (tmp == NULL || leaf == NULL || chain == NULL ||
	    tr_tls_dane_setup(tmp, h, "", &st) != TLSRELAY_OK)
		goto out;
	r = 1;
	info->dane = 1;
	if (verify_with(tmp, leaf, chain, &vr) &&
	    (depth = SSL_get0_dane_tlsa(tmp, &usage, &selector, &mtype, &data, &dlen)) >= 0) {
		tr_tlsa_rr rr = { usage, selector, mtype, NULL, 0 };
		char name[64];

		info->dane_ok = 1;
		snprintf(info->dane_match, sizeof info->dane_match, "%s at depth %d",
		         tr_dane_rr_name(&rr, name, sizeof name), depth);
		goto out;
	}
	snprintf(info->dane_error, sizeof info->dane_error, "%s",
	         vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "no TLSA record matched");
out:
	SSL_free(tmp);
	ERR_clear_error();
	return r;
}

tlsrelay_cat tr_tls_dane_enforce(const tr_tls_info *info, const char *relay,
                                 tlsrelay_status *st)
{
	if (!info->have_cert)
		return tr_status_set(st, TLSRELAY_TEMP, "4.7.5",
		                     "Server certificate not verified: %s presented none", relay);
	if (info->dane && info->dane_ok)
		return tr_status_ok(st);
	return tr_status_set(st, TLSRELAY_TEMP, "4.7.5",
	        "Server certificate not verified: %s: no TLSA record matched the "
	        "certificate chain (%s; subject %s)", relay,
	        info->dane_error[0] ? info->dane_error : "DANE not in force",
	        info->subject);
}

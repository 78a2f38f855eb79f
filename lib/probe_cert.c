/*
 * probe_cert.c - tlsrelay-probe's view of a TLS session: protocol, cipher,
 * key-exchange group, resumption, then each certificate the server sent
 * (subject, issuer, subject alternative names, validity, SHA-256 digests of
 * the certificate and of its public key in the "AB:CD:..." form that the
 * policy map's match= takes), then the verification result.
 *
 * Output is meant to be stable between runs (no times of day, no session
 * ids) so that two probes can be compared with diff.
 */
#include "config.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "buf.h"
#include "status.h"
#include "probe.h"

/* "DNS:a.example, DNS:b.example, IP:192.0.2.1" (truncated to cap). */
static void san_list(X509 *cert, char *out, size_t cap)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	tr_buf b;

	tr_buf_fixed(&b, out, cap);
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && !b.lost; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const unsigned char *d;
		char v6[64];
		int len;

		if (g->type == GEN_DNS) {
			d = ASN1_STRING_get0_data(g->d.dNSName);
			len = ASN1_STRING_length(g->d.dNSName);
			tr_buf_printf(&b, "%sDNS:%.*s", b.len ? ", " : "", len, (const char *)d);
		} else if (g->type == GEN_IPADD) {
			d = ASN1_STRING_get0_data(g->d.iPAddress);
			len = ASN1_STRING_length(g->d.iPAddress);
			if (len == 4)
				tr_buf_printf(&b, "%sIP:%u.%u.%u.%u", b.len ? ", " : "",
				              d[0], d[1], d[2], d[3]);
			else if (len == 16 && inet_ntop(AF_INET6, d, v6, sizeof v6))
				tr_buf_printf(&b, "%sIP:%s", b.len ? ", " : "", v6);
		}
	}
	GENERAL_NAMES_free(gens);
}

/* ASN1 time as "2026-11-22 08:00:00 UTC". */
static void time_text(const ASN1_TIME *t, char *out, size_t cap)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		snprintf(out, cap, "?");
		return;
	}
	strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static void show_cert(const tr_probe *p, int depth, X509 *cert)
{
	char subject[256], issuer[256], sans[512], nb[40], na[40];
	char cfp[96], kfp[96];

	X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
	X509_NAME_oneline(X509_get_issuer_name(cert), issuer, sizeof issuer);
	san_list(cert, sans, sizeof sans);
	time_text(X509_get0_notBefore(cert), nb, sizeof nb);
	time_text(X509_get0_notAfter(cert), na, sizeof na);
	tr_tls_cert_digests(cert, cfp, kfp);
	tr_probe_say(p, "  certificate %d: subject %s", depth, subject);
	tr_probe_say(p, "    issuer %s", issuer);
	if (sans[0])
		tr_probe_say(p, "    names %s", sans);
	tr_probe_say(p, "    valid from %s to %s", nb, na);
	tr_probe_say(p, "    cert-sha256 %s", cfp);
	tr_probe_say(p, "    pkey-sha256 %s", kfp);
}

void tr_probe_tls(const tr_probe *p, void *sslp, const tr_tls_info *info)
{
	SSL *ssl = sslp;
	STACK_OF(X509) *chain;
	int nid;

	if (ssl == NULL)
		return;
	nid = SSL_get_negotiated_group(ssl);
	tr_probe_say(p, "  TLS: %s with cipher %s (%d/%d bits), group %s, %s",
	             info->protocol, info->cipher, info->bits, info->alg_bits,
	             nid > 0 && OBJ_nid2sn(nid) ? OBJ_nid2sn(nid) : "unknown",
	             info->resumed ? "session resumed" : "new session");
	chain = SSL_get_peer_cert_chain(ssl);
	if (chain == NULL || sk_X509_num(chain) == 0)
		tr_probe_say(p, "  no server certificate");
	for (int i = 0; chain && i < sk_X509_num(chain); i++)
		show_cert(p, i, sk_X509_value(chain, i));
	if (info->dane)
		tr_probe_say(p, "  DANE: %s", info->dane_ok ? info->dane_match
		             : info->dane_error[0] ? info->dane_error : "no TLSA record matched");
	if (!info->have_cert)
		return;
	tr_probe_say(p, "  verification: chain %s%s%s, name %s%s -> %s",
	             info->chain_ok ? "trusted" : "not trusted",
	             info->chain_ok ? "" : ": ", info->chain_ok ? "" : info->verify_error,
	             info->name_ok ? "matched " : "not matched",
	             info->name_ok ? info->matched : "", tr_trust_label(info->trust));
}

/*
 * tls.c - OpenSSL client side of STARTTLS and implicit TLS.
 *
 * See tls.h for the contract. The TLS pair of tr_io operations lives here:
 * they map SSL_get_error() onto "retry after POLLIN/POLLOUT", EOF or error.
 */
#include "config.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "buf.h"
#include "ctx.h"
#include "log.h"
#include "tls.h"
#include "tls_dane.h"
#include "demand.h"
#include "tls_cache.h"
#include "tls_level.h"

/* ------------------------------------------------------------ stream ops */

/* Reason text of an OpenSSL error code. The libcrypto error strings are
 * not loaded at start-up (OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS saves about
 * a million instructions per run); libssl's are, and handshake failures
 * carry libssl reasons. Others print as "error:CODE:lib(N)::reason(M)". */
static const char *err_text(unsigned long code, char *buf, size_t cap)
{
	const char *r = ERR_reason_error_string(code);

	if (r)
		return r;
	ERR_error_string_n(code, buf, cap);
	return buf;
}

static ssize_t tls_map_error(tr_io *io, int ret, short *want)
{
	SSL *ssl = io->tls;
	int e = SSL_get_error(ssl, ret);
	unsigned long code;
	char text[256];

	*want = 0;
	switch (e) {
	case SSL_ERROR_WANT_READ:
		*want = POLLIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		*want = POLLOUT;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		code = ERR_get_error();
		ERR_clear_error();
		snprintf(io->err, sizeof io->err, "TLS error: %.200s",
		         code ? err_text(code, text, sizeof text) : "connection closed");
		return -1;
	}
}

static ssize_t tls_read(tr_io *io, void *buf, size_t n, short *want)
{
	int one = 1, r;

	/* ACK at once what arrives (TLS 1.3 session tickets after the
	 * handshake): a server that writes the ticket and then its EHLO reply
	 * would otherwise wait for our delayed ACK (40 ms, Nagle on its side).
	 * Linux drops quick-ACK mode by itself, so it is set before each read. */
	(void)setsockopt(io->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
	r = SSL_read(io->tls, buf, n > 0x7fffffff ? 0x7fffffff : (int)n);

	if (r > 0)
		return r;
	return tls_map_error(io, r, want);
}

static ssize_t tls_write(tr_io *io, const void *buf, size_t n, short *want)
{
	int r = SSL_write(io->tls, buf, n > 0x7fffffff ? 0x7fffffff : (int)n);

	if (r > 0)
		return r;
	return tls_map_error(io, r, want);
}

/* With read-ahead (tr_tls_start) OpenSSL reads what the socket holds, not
 * one record's header and then its body: one read(2) instead of two per
 * record, and several records in one. What it holds is then invisible to
 * poll(): tr_io_unread() and tr_io_buffered() ask here. */
static size_t tls_buffered(const tr_io *io, int any)
{
	int n = SSL_pending(io->tls);

	if (n > 0)
		return (size_t)n;
	return any && SSL_has_pending(io->tls) ? 1 : 0;
}

static const tr_io_ops tls_ops = { tls_read, tls_write, tls_buffered };

void tr_io_set_tls(tr_io *io, void *ssl)
{
	io->tls = ssl;
	io->ops = &tls_ops;
}

/* ------------------------------------------------------------ the SSL_CTX */

/* 0 when path is a directory, else why not (an errno). */
static int dir_error(const char *path)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
		return errno;
	return S_ISDIR(sb.st_mode) ? 0 : ENOTDIR;
}

/* err: an errno of opening it (its text and the user are named), 0: the
 * file was read but holds nothing OpenSSL could load. */
static tlsrelay_cat ca_error(const char *key, const char *path, int err, tlsrelay_status *st)
{
	char user[TR_AS_USER_MAX];

	ERR_clear_error();
	if (err != 0)
		return tr_status_set(st, TLSRELAY_CONFIG, "4.3.5", "%s: cannot load CA certificates "
		                     "from %s: %s%s", key, path, strerror(err), tr_as_user(user));
	return tr_status_set(st, TLSRELAY_CONFIG, "4.3.5", "%s: cannot load CA certificates from %s",
	                     key, path);
}

/* tls_ca_file is parsed when a certificate chain is first checked, not
 * when the SSL_CTX is made: a resumed session (tls_cache.c) checks no
 * chain and so never pays for it (2.5 M instructions for one small PEM
 * file with OpenSSL 3.0). A file that cannot be loaded fails the chain
 * check and sets ctx->ca_failed; tr_tls_start() then reports the
 * configuration error exactly as an eager load did. */
static int verify_chain(X509_STORE_CTX *xs, void *arg)
{
	struct tlsrelay_ctx *ctx = arg;

	if (!ctx->ca_loaded && !ctx->ca_failed) {
		if (SSL_CTX_load_verify_file(ctx->ssl_ctx, ctx->cfg.tls_ca_file))
			ctx->ca_loaded = 1;
		else
			ctx->ca_failed = 1;
		ERR_clear_error();
	}
	if (ctx->ca_failed) {
		X509_STORE_CTX_set_error(xs, X509_V_ERR_UNSPECIFIED);
		return 0;
	}
	return X509_verify_cert(xs);
}

static SSL_CTX *get_ssl_ctx(struct tlsrelay_ctx *ctx, tlsrelay_status *st)
{
	SSL_CTX *c;
	const tr_config *cfg = &ctx->cfg;

	if (ctx->ssl_ctx)
		return ctx->ssl_ctx;
	/* No openssl.cnf, no libcrypto error strings (err_text), no clean-up
	 * at exit (the process ends: 1.5 M instructions of freeing saved). */
	OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT |
	                 OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS, NULL);
	if ((c = SSL_CTX_new(TLS_client_method())) == NULL) {
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "cannot create TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
	SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF
	                       | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(c, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* The chain is always evaluated (to log Trusted/Untrusted); whether a
	 * bad chain is fatal is the policy's decision, not OpenSSL's. */
	SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
	{
		tlsrelay_status ignored;   /* per SSL only where TLSA records say so */
		(void)tr_tls_dane_ctx(c, &ignored);
	}
	/* Without configured CAs, the system's hashed CA directory: looked up
	 * lazily per certificate, never the whole bundle loaded up front. */
	if (!cfg->tls_ca_file && !cfg->tls_ca_path)
		(void)SSL_CTX_load_verify_dir(c, X509_get_default_cert_dir());
	/* The CA file must at least be readable now: its contents are parsed
	 * by verify_chain() on the first full handshake. */
	if (cfg->tls_ca_file) {
		FILE *fp = fopen(cfg->tls_ca_file, "r");
		if (fp == NULL) {
			int err = errno;
			SSL_CTX_free(c);
			ca_error("tls_ca_file", cfg->tls_ca_file, err, st);
			return NULL;
		}
		fclose(fp);
		SSL_CTX_set_cert_verify_callback(c, verify_chain, ctx);
	}
	/* OpenSSL only records a directory: check it is one, or nothing would
	 * ever verify and the cause would be hidden. */
	if (cfg->tls_ca_path && (dir_error(cfg->tls_ca_path) != 0 ||
	                         !SSL_CTX_load_verify_dir(c, cfg->tls_ca_path))) {
		SSL_CTX_free(c);
		ca_error("tls_ca_path", cfg->tls_ca_path, dir_error(cfg->tls_ca_path), st);
		return NULL;
	}
	tr_tls_cache_setup(ctx, c);
	ERR_clear_error();
	ctx->ca_loaded = cfg->tls_ca_file == NULL;
	ctx->ca_failed = 0;
	ctx->ssl_ctx = c;
	return c;
}

/* For a long-lived process (tlsrelayd): make the SSL_CTX now and parse
 * tls_ca_file at once, so that every delivery forked from it starts with
 * both done. A CA file that cannot be parsed is the configuration error
 * the first handshake would report. */
tlsrelay_cat tr_tls_prepare(struct tlsrelay_ctx *ctx, tlsrelay_status *st)
{
	if (get_ssl_ctx(ctx, st) == NULL)
		return st->cat;
	if (!ctx->ca_loaded) {
		if (!SSL_CTX_load_verify_file(ctx->ssl_ctx, ctx->cfg.tls_ca_file)) {
			ctx->ca_failed = 1;
			return ca_error("tls_ca_file", ctx->cfg.tls_ca_file, 0, st);
		}
		ctx->ca_loaded = 1;
	}
	return tr_status_ok(st);
}

void tr_tls_ctx_free(struct tlsrelay_ctx *ctx)
{
	tr_tls_cache_free(ctx);
	SSL_CTX_free(ctx->ssl_ctx);
	ctx->ssl_ctx = NULL;
}

/* ------------------------------------------------------------ posture */

static void hex_digest(const unsigned char *md, unsigned len, char *out, size_t cap)
{
	tr_buf b;

	tr_buf_fixed(&b, out, cap);
	tr_buf_hex(&b, md, len, ':');
}

static int is_ip_literal(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* SHA-256 of the DER SubjectPublicKeyInfo, as Postfix and "openssl pkey
 * -pubin -outform DER | openssl dgst -sha256" compute a public-key pin
 * (X509_pubkey_digest hashes the key bits only: a different value). */
static int spki_digest(X509 *cert, unsigned char *md, unsigned *mdlen)
{
	unsigned char *der = NULL;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	int ok = len > 0 && EVP_Digest(der, (size_t)len, md, mdlen, EVP_sha256(), NULL);

	OPENSSL_free(der);
	return ok;
}

/* Does cert carry name? ".example.com" matches any subdomain. 2: in a
 * subjectAltName DNS-ID (or IP address); 1: only as the subject CN, which
 * OpenSSL accepts for a certificate without DNS names; 0: no. */
static int cert_has_name(X509 *cert, const char *name)
{
	unsigned flags = X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS;

	if (is_ip_literal(name))
		return X509_check_ip_asc(cert, name, 0) == 1 ? 2 : 0;
	if (X509_check_host(cert, name, 0, flags | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL) == 1)
		return 2;
	return X509_check_host(cert, name, 0, flags, NULL) == 1;
}

/* name_ok, name_cn_only and matched from the demand's names: a subjectAltName
 * match first; the subject CN only when no name is in a SAN. */
static void cert_names(X509 *cert, const tr_demand *d, tr_tls_info *info)
{
	const char *san = NULL, *cn = NULL;

	for (int i = 0; i < d->nnames && san == NULL; i++) {
		int m;

		if (d->names[i][0] == '\0')
			continue;
		m = cert_has_name(cert, d->names[i]);
		if (m == 2)
			san = d->names[i];
		else if (m == 1 && cn == NULL)
			cn = d->names[i];
	}
	info->name_cn_only = san == NULL && cn != NULL;
	if (san == NULL && d->san_only)
		cn = NULL;
	if (san || cn) {
		info->name_ok = 1;
		snprintf(info->matched, sizeof info->matched, "%s", san ? san : cn);
	}
}

void tr_tls_cert_digests(struct x509_st *cert, char cert_sha256[96],
                         char pkey_sha256[96])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	cert_sha256[0] = pkey_sha256[0] = '\0';
	if (X509_digest(cert, EVP_sha256(), md, &mdlen))
		hex_digest(md, mdlen, cert_sha256, 96);
	if (spki_digest(cert, md, &mdlen))
		hex_digest(md, mdlen, pkey_sha256, 96);
}

/* The subjectAltName DNS names of cert into out, for error texts. */
static void cert_dns_names(X509 *cert, char *out, size_t cap)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	int n = gens ? sk_GENERAL_NAME_num(gens) : 0;
	tr_buf b;

	tr_buf_fixed(&b, out, cap);
	for (int i = 0; i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const unsigned char *p;
		int len;

		if (g->type != GEN_DNS)
			continue;
		p = ASN1_STRING_get0_data(g->d.dNSName);
		len = ASN1_STRING_length(g->d.dNSName);
		if (b.len + (size_t)len + 8 >= cap) {    /* no name is shown cut */
			tr_buf_puts(&b, ", ...");
			break;
		}
		tr_buf_printf(&b, "%s%.*s", b.len ? ", " : "", len, (const char *)p);
	}
	if (b.len == 0)
		tr_buf_puts(&b, "none");
	GENERAL_NAMES_free(gens);
	for (char *c = out; *c; c++)     /* server data: printable only */
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
}

static void cert_info(SSL *ssl, X509 *cert, const tr_demand *d, tr_tls_info *info)
{
	long vr = SSL_get_verify_result(ssl);

	info->have_cert = 1;
	X509_NAME_oneline(X509_get_subject_name(cert), info->subject, sizeof info->subject);
	X509_NAME_oneline(X509_get_issuer_name(cert), info->issuer, sizeof info->issuer);
	tr_tls_cert_digests(cert, info->cert_sha256, info->pkey_sha256);
	info->chain_ok = vr == X509_V_OK;
	/* A resumed session carries the verdict of its full handshake (made
	 * under the same policy key): only time can have changed it since. */
	if (info->chain_ok && SSL_session_reused(ssl) &&
	    X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) {
		info->chain_ok = 0;
		vr = X509_V_ERR_CERT_HAS_EXPIRED;
	}
	if (!info->chain_ok)
		snprintf(info->verify_error, sizeof info->verify_error, "%s",
		         X509_verify_cert_error_string(vr));
	cert_names(cert, d, info);
	if (!info->name_ok)
		cert_dns_names(cert, info->dns_names, sizeof info->dns_names);
}

/* Which CAs a chain is checked against, for a trust failure's text. */
static void ca_source(const tr_config *cfg, char *out, size_t cap)
{
	if (cfg->tls_ca_file && cfg->tls_ca_path)
		snprintf(out, cap, "tls_ca_file %.120s and tls_ca_path %.120s", cfg->tls_ca_file,
		         cfg->tls_ca_path);
	else if (cfg->tls_ca_file)
		snprintf(out, cap, "tls_ca_file %.240s", cfg->tls_ca_file);
	else if (cfg->tls_ca_path)
		snprintf(out, cap, "tls_ca_path %.240s", cfg->tls_ca_path);
	else
		snprintf(out, cap, "the system's CA directory %.200s", X509_get_default_cert_dir());
}

static void fill_info(SSL *ssl, const tr_demand *d, tr_tls_info *info)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);

	snprintf(info->protocol, sizeof info->protocol, "%s", SSL_get_version(ssl));
	snprintf(info->cipher, sizeof info->cipher, "%s", SSL_get_cipher_name(ssl));
	info->bits = SSL_get_cipher_bits(ssl, &info->alg_bits);
	info->resumed = SSL_session_reused(ssl);
	if (cert)
		cert_info(ssl, cert, d, info);
	if (!info->have_cert)
		info->trust = TR_TRUST_ANONYMOUS;
	else if (info->chain_ok && info->name_ok)
		info->trust = TR_TRUST_VERIFIED;
	else if (info->chain_ok)
		info->trust = TR_TRUST_TRUSTED;
	else
		info->trust = TR_TRUST_UNTRUSTED;
}

/* ------------------------------------------------------------ handshake */

static void handshake_error(tr_io *io, int ret, char *out, size_t cap)
{
	unsigned long code = ERR_get_error();
	int e = SSL_get_error(io->tls, ret);
	char text[256];

	if (code)
		snprintf(out, cap, "%s", err_text(code, text, sizeof text));
	else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN)
		snprintf(out, cap, "connection closed during handshake");
	else
		snprintf(out, cap, "handshake error %d", e);
	ERR_clear_error();
}

static int run_handshake(tr_io *io, char *why, size_t cap)
{
	for (;;) {
		int r = SSL_connect(io->tls), e, w;

		if (r == 1)
			return 0;
		e = SSL_get_error(io->tls, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			handshake_error(io, r, why, cap);
			return -1;
		}
		w = tr_io_wait(io, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT);
		if (w != TR_IO_OK) {
			snprintf(why, cap, "%s", io->err);
			return -1;
		}
	}
}

/* SNI, protocol bounds, ciphers and DANE of the demand on ssl. */
static tlsrelay_cat setup_ssl(SSL *ssl, const tr_tls_conn *c, tlsrelay_status *st)
{
	const tr_demand *d = c->demand;

	if (d->sni[0] && !is_ip_literal(d->sni))
		SSL_set_tlsext_host_name(ssl, d->sni);
	if ((d->min_proto && !SSL_set_min_proto_version(ssl, d->min_proto)) ||
	    (d->max_proto && !SSL_set_max_proto_version(ssl, d->max_proto)) ||
	    (d->ciphers[0] && !SSL_set_cipher_list(ssl, d->ciphers))) {
		ERR_clear_error();
		return tr_status_set(st, TLSRELAY_CONFIG, "4.3.5",
		                     "bad TLS protocols or ciphers in the policy for %s", c->relay);
	}
	if (d->auth == TR_AUTH_DANE)
		return tr_tls_dane_setup(ssl, d->dane, c->relay, st);
	return tr_status_ok(st);
}

tlsrelay_cat tr_tls_start(struct tlsrelay_ctx *ctx, tr_io *io,
                          const tr_tls_conn *c, tr_tls_info *info,
                          tlsrelay_status *st)
{
	SSL_CTX *sc = get_ssl_ctx(ctx, st);
	SSL *ssl;
	int dane = c->demand->auth == TR_AUTH_DANE;
	char why[256];

	memset(info, 0, sizeof *info);
	if (sc == NULL)
		return st->cat;
	if ((ssl = SSL_new(sc)) == NULL || !SSL_set_fd(ssl, io->fd)) {
		SSL_free(ssl);
		return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "cannot create TLS session");
	}
	if (setup_ssl(ssl, c, st) != TLSRELAY_OK) {
		SSL_free(ssl);
		return st->cat;
	}
	SSL_set_connect_state(ssl);
	SSL_set_read_ahead(ssl, 1);     /* fewer reads: see tls_buffered() */
	/* No session reuse under DANE: a resumed session skips the chain
	 * check, and with it the TLSA match (tls_cache.h). */
	if (!dane)
		tr_tls_cache_attach(ctx, ssl, c);
	io->tls = ssl;
	if (run_handshake(io, why, sizeof why) < 0 || ctx->ca_failed) {
		tr_tls_cache_detach(ssl);
		SSL_free(ssl);
		io->tls = NULL;
		if (ctx->ca_failed)
			return ca_error("tls_ca_file", ctx->cfg.tls_ca_file, 0, st);
		return tr_status_set(st, TLSRELAY_TEMP, "4.7.5",
		                     "TLS handshake with %s failed: %s", c->relay, why);
	}
	tr_io_set_tls(io, ssl);
	fill_info(ssl, c->demand, info);
	ca_source(&ctx->cfg, info->cas, sizeof info->cas);
	if (dane)
		tr_tls_dane_posture(ssl, info);
	return tr_status_ok(st);
}

void tr_tls_approve(tr_io *io)
{
	if (io->tls)
		tr_tls_cache_approve(io->tls);
}

static int pin_listed(const tr_tls_info *info, const tr_demand *d)
{
	for (int i = 0; i < d->npins; i++)
		if (strcasecmp(d->pins[i], info->cert_sha256) == 0 ||
		    strcasecmp(d->pins[i], info->pkey_sha256) == 0)
			return 1;
	return 0;
}

/* The names the demand accepts, "mx.example.com, .example.com". */
static const char *wanted_names(const tr_demand *d, char *out, size_t cap)
{
	tr_buf b;

	tr_buf_fixed(&b, out, cap);
	for (int i = 0; i < d->nnames; i++)
		if (d->names[i][0] != '\0')
			tr_buf_printf(&b, "%s%s", b.len ? ", " : "", d->names[i]);
	if (out[0] == '\0')
		snprintf(out, cap, "none");
	return out;
}

/* The chain's failure class: expired or not trusted (the text is the
 * chain check's, X509_verify_cert_error_string). */
static tr_tls_fail chain_fail(const tr_tls_info *info)
{
	return strcmp(info->verify_error,
	              X509_verify_cert_error_string(X509_V_ERR_CERT_HAS_EXPIRED)) == 0
	       ? TR_FAIL_EXPIRED : TR_FAIL_UNTRUSTED;
}

tr_tls_fail tr_tls_enforce_why(const tr_tls_info *info, const tr_demand *d,
                               const char *relay, tlsrelay_status *st)
{
	switch (d->auth) {
	case TR_AUTH_DANE:
		if (tr_tls_dane_enforce(info, relay, st) == TLSRELAY_OK)
			return TR_FAIL_NONE;
		return info->have_cert ? TR_FAIL_TLSA : TR_FAIL_NO_CERT;
	case TR_AUTH_NONE:
		tr_status_ok(st);
		return TR_FAIL_NONE;
	case TR_AUTH_PINS:
	case TR_AUTH_CA_NAME:
	default:
		break;
	}
	if (!info->have_cert) {
		tr_status_set(st, TLSRELAY_TEMP, "4.7.5",
		              "Server certificate not verified: %s presented none", relay);
		return TR_FAIL_NO_CERT;
	}
	if (d->auth == TR_AUTH_PINS) {
		if (pin_listed(info, d)) {
			tr_status_ok(st);
			return TR_FAIL_NONE;
		}
		tr_status_set(st, TLSRELAY_TEMP, "4.7.5",
		        "Server certificate not verified: fingerprint of %s matches no "
		        "match= value (cert %s, pkey %s)", relay, info->cert_sha256,
		        info->pkey_sha256);
		return TR_FAIL_PINS;
	}
	if (!info->chain_ok) {
		tr_status_set(st, TLSRELAY_TEMP, "4.7.5",
		        "Server certificate not trusted: %s: %s (CAs: %s)", relay,
		        info->verify_error, info->cas);
		return chain_fail(info);
	}
	if (!info->name_ok && info->name_cn_only) {
		tr_status_set(st, TLSRELAY_TEMP, "4.7.5",
		        "Server certificate not verified: %s: the certificate has the name "
		        "only as its subject CN, not as a subjectAltName DNS-ID (MTA-STS "
		        "requires one) (%s)", relay, info->subject);
		return TR_FAIL_NAME_CN_ONLY;
	}
	if (!info->name_ok) {
		char wanted[200];
		tr_status_set(st, TLSRELAY_TEMP, "4.7.5",
		        "Server certificate not verified: %s: certificate name does not "
		        "match the policy (wanted: %.120s; certificate DNS names: %.140s; "
		        "subject %.100s)",
		        relay, wanted_names(d, wanted, sizeof wanted), info->dns_names, info->subject);
		return TR_FAIL_NAME;
	}
	tr_status_ok(st);
	return TR_FAIL_NONE;
}

tlsrelay_cat tr_tls_enforce(const tr_tls_info *info, const tr_demand *d,
                            const char *relay, tlsrelay_status *st)
{
	(void)tr_tls_enforce_why(info, d, relay, st);
	return st->cat;
}

int tr_tls_posture_for(const tr_demand *d, void *ssl, const tr_tls_info *seen,
                       tr_tls_info *out)
{
	X509 *cert = ssl ? SSL_get0_peer_certificate(ssl) : NULL;

	*out = *seen;
	if (cert == NULL)
		return !seen->have_cert;
	out->name_ok = out->name_cn_only = 0;
	out->matched[0] = '\0';
	cert_names(cert, d, out);
	out->dane = out->dane_ok = 0;
	out->dane_match[0] = out->dane_error[0] = '\0';
	if (d->auth == TR_AUTH_DANE && !tr_tls_dane_check(ssl, d->dane, out)) {
		*out = *seen;
		return 0;
	}
	if (!out->chain_ok)
		out->trust = TR_TRUST_UNTRUSTED;
	else
		out->trust = out->name_ok ? TR_TRUST_VERIFIED : TR_TRUST_TRUSTED;
	return 1;
}

void tr_tls_release_cache(tr_io *io)
{
	if (io->tls != NULL)
		tr_tls_cache_detach(io->tls);
}

void tr_tls_stop(tr_io *io)
{
	SSL *ssl = io->tls;

	if (ssl == NULL)
		return;
	(void)SSL_shutdown(ssl);   /* non-blocking socket: one try */
	ERR_clear_error();
	tr_tls_cache_detach(ssl);
	SSL_free(ssl);
	io->tls = NULL;
}

const char *tr_trust_name(tr_trust t)
{
	static const char *const n[] = {
		"none", "anonymous", "untrusted", "trusted", "verified"
	};
	return (unsigned)t < 5 ? n[t] : "none";
}

const char *tr_trust_label(tr_trust t)
{
	static const char *const n[] = {
		"No", "Anonymous", "Untrusted", "Trusted", "Verified"
	};
	return (unsigned)t < 5 ? n[t] : "No";
}

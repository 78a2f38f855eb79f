/*
 * sts_fetch.c - HTTPS fetch of an MTA-STS policy with libcurl (see
 * sts_fetch.h).
 *
 * libcurl is not linked: it is loaded with dlopen("libcurl.so.4") on the
 * first fetch (dynload.h says why: ~8 M instructions and 4.5 MB of RSS at
 * every start of the transport otherwise). This file is compiled against
 * curl's headers and calls libcurl only through the table below. When it
 * cannot be loaded, or is older than 7.85.0 (CURLOPT_PROTOCOLS_STR), the
 * fetch fails with that reason (sts-policy-fetch-error).
 *
 * curl_global_init is called once per process, on the first fetch (the
 * transport is single-threaded; a threaded host program must call
 * curl_global_init itself before its threads start).
 *
 * The host name check is OpenSSL's, not libcurl's: RFC 8461 3.3 accepts a
 * policy only from a host whose certificate carries mta-sts.DOMAIN as a
 * subjectAltName DNS-ID, and libcurl falls back to the subject CN for a
 * certificate without DNS names (no option turns that off in every
 * version). CURLOPT_SSL_CTX_FUNCTION (on_ssl_ctx) sets the host and
 * X509_CHECK_FLAG_NEVER_CHECK_SUBJECT in the SSL_CTX's verification
 * parameters, so the chain verification libcurl asks for already fails
 * for a CN-only certificate (the handshake fails: sts-webpki-invalid).
 * That callback receives libcurl's SSL_CTX, so libcurl must use the
 * OpenSSL this process uses: a libcurl.so.4 built with another TLS
 * library (or another OpenSSL major version) is refused when loaded, with
 * that reason (every fetch then fails: RFC 8461's rules for a failed
 * fetch apply).
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "buf.h"
#include "ctx.h"
#include "dynload.h"
#include "sts_fetch.h"
#include "sts_policy.h"

#define CURL_SONAME "libcurl.so.4"
#define CURL_MIN_VERSION 0x075500        /* 7.85.0 */

/* The libcurl functions used, resolved by tr_dynload. */
static struct {
	CURLcode (*global_init)(long flags);
	curl_version_info_data *(*version_info)(CURLversion v);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *c);
	CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode rc);
	void (*easy_cleanup)(CURL *c);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
} cu;

static tr_dynlib curl_lib = { CURL_SONAME, 0, "" };

/* libcurl loaded and initialised. Returns: OK, INTERNAL 4.3.0 (why). */
static tlsrelay_cat curl_load(tlsrelay_status *st)
{
	static const tr_dynsym syms[] = {
		{ "curl_global_init", &cu.global_init },
		{ "curl_version_info", &cu.version_info },
		{ "curl_easy_init", &cu.easy_init },
		{ "curl_easy_setopt", &cu.easy_setopt },
		{ "curl_easy_perform", &cu.easy_perform },
		{ "curl_easy_getinfo", &cu.easy_getinfo },
		{ "curl_easy_strerror", &cu.easy_strerror },
		{ "curl_easy_cleanup", &cu.easy_cleanup },
		{ "curl_slist_append", &cu.slist_append },
		{ "curl_slist_free_all", &cu.slist_free_all },
	};
	int first = curl_lib.state == 0;
	curl_version_info_data *v;
	char why[sizeof curl_lib.err], ours[32];

	if (tr_dynload(&curl_lib, syms, sizeof syms / sizeof syms[0], st) != TLSRELAY_OK || !first)
		return st->cat;
	v = cu.version_info(CURLVERSION_NOW);
	snprintf(ours, sizeof ours, "OpenSSL/%u.", OPENSSL_version_major());
	if (v == NULL || v->version_num < CURL_MIN_VERSION) {
		snprintf(why, sizeof why, "%s is version %s, 7.85.0 or later is needed",
		         CURL_SONAME, v && v->version ? v->version : "(unknown)");
		tr_dynload_refuse(&curl_lib, why);
	} else if (v->ssl_version == NULL || strncmp(v->ssl_version, ours, strlen(ours)) != 0) {
		snprintf(why, sizeof why, "%s uses %.40s, not %.12sx as tlsrelay: the policy "
		         "host's certificate cannot be checked as RFC 8461 requires", CURL_SONAME,
		         v->ssl_version ? v->ssl_version : "no TLS library", ours);
		tr_dynload_refuse(&curl_lib, why);
	} else if (cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		tr_dynload_refuse(&curl_lib, "curl_global_init failed");
	}
	return tr_dynload(&curl_lib, syms, 0, st);
}

typedef struct body_buf {
	char *data;
	size_t len;
	int too_big;
} body_buf;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	body_buf *b = arg;
	size_t add = size * n;
	char *nd;

	if (add > TR_STS_POLICY_MAX - b->len) {
		b->too_big = 1;
		return 0;                        /* aborts the transfer */
	}
	if ((nd = realloc(b->data, b->len + add + 1)) == NULL)
		return 0;
	memcpy(nd + b->len, p, add);
	b->data = nd;
	b->len += add;
	b->data[b->len] = '\0';
	return add;
}

/* CURLOPT_SSL_CTX_FUNCTION: libcurl's SSL_CTX (OpenSSL, checked in
 * curl_load) verifies the host name itself, subjectAltName DNS-IDs only
 * (RFC 8461 3.3). arg is the host name. */
static CURLcode on_ssl_ctx(CURL *c, void *sslctx, void *arg)
{
	X509_VERIFY_PARAM *vp = SSL_CTX_get0_param(sslctx);

	(void)c;
	X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
	                                    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return X509_VERIFY_PARAM_set1_host(vp, arg, 0) ? CURLE_OK : CURLE_SSL_CERTPROBLEM;
}

/* "mta-sts.d:PORT:addr1,addr2" for CURLOPT_RESOLVE from our own DNS. */
static struct curl_slist *resolve_list(const tr_dns *dns, const char *host, int port,
                                       char *err, size_t cap)
{
	tr_addr addrs[TR_DNS_MAX_ADDRS];
	tlsrelay_status st;
	char entry[TR_HOSTNAME_MAX + 16 * 70];
	struct curl_slist *l;
	tr_buf b;
	int n;

	if (tr_dns_addrs(dns, host, port, addrs, TR_DNS_MAX_ADDRS, &n, &st) != TLSRELAY_OK) {
		snprintf(err, cap, "%s", st.text);
		return NULL;
	}
	tr_buf_fixed(&b, entry, sizeof entry);
	tr_buf_printf(&b, "%s:%d:", host, port);
	for (int i = 0; i < n; i++)
		tr_buf_printf(&b, strchr(addrs[i].text, ':') ? "%s[%s]" : "%s%s",
		              i ? "," : "", addrs[i].text);
	if ((l = cu.slist_append(NULL, entry)) == NULL)
		snprintf(err, cap, "out of memory");
	return l;
}

static int set_options(CURL *c, const struct tlsrelay_ctx *ctx, const char *url,
                       const char *host, struct curl_slist *res, int timeout_s,
                       body_buf *b)
{
	const tr_config *cfg = &ctx->cfg;
	long connect_s = cfg->connect_timeout < 30 ? cfg->connect_timeout : 30;
	int bad = 0;

	bad |= cu.easy_setopt(c, CURLOPT_URL, url) != CURLE_OK;
	bad |= cu.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK;
	bad |= cu.easy_setopt(c, CURLOPT_RESOLVE, res) != CURLE_OK;
	bad |= cu.easy_setopt(c, CURLOPT_NOPROXY, "*") != CURLE_OK;
	bad |= cu.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= cu.easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK;
	bad |= cu.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
	bad |= cu.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
	bad |= cu.easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx) != CURLE_OK;
	bad |= cu.easy_setopt(c, CURLOPT_SSL_CTX_DATA, host) != CURLE_OK;
	bad |= cu.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, connect_s) != CURLE_OK;
	bad |= cu.easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout_s) != CURLE_OK;
	bad |= cu.easy_setopt(c, CURLOPT_MAXFILESIZE, (long)TR_STS_POLICY_MAX) != CURLE_OK;
	bad |= cu.easy_setopt(c, CURLOPT_USERAGENT, "tlsrelay-mta-sts/" PACKAGE_VERSION) != CURLE_OK;
	bad |= cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
	bad |= cu.easy_setopt(c, CURLOPT_WRITEDATA, b) != CURLE_OK;
	if (cfg->tls_ca_file || cfg->tls_ca_path) {   /* then only those */
		bad |= cu.easy_setopt(c, CURLOPT_CAINFO, cfg->tls_ca_file) != CURLE_OK;
		bad |= cu.easy_setopt(c, CURLOPT_CAPATH, cfg->tls_ca_path) != CURLE_OK;
	}
	return bad ? -1 : 0;
}

/* "text/plain" with optional parameters, any case. */
static int is_text_plain(const char *ct)
{
	size_t n = strlen("text/plain");

	if (ct == NULL || strncasecmp(ct, "text/plain", n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static tr_sts_fetch_res check_reply(CURL *c, CURLcode rc, const body_buf *b,
                                    const char *url, char *err, size_t cap)
{
	long code = 0;
	char *ct = NULL;

	if (b->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(err, cap, "%s: policy larger than %d bytes", url, TR_STS_POLICY_MAX);
		return TR_STS_FETCH_ERROR;
	}
	if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
	    rc == CURLE_SSL_CERTPROBLEM) {
		snprintf(err, cap, "%s: certificate not valid: %s", url, cu.easy_strerror(rc));
		return TR_STS_FETCH_WEBPKI;
	}
	if (rc != CURLE_OK) {
		snprintf(err, cap, "%s: %s", url, cu.easy_strerror(rc));
		return TR_STS_FETCH_ERROR;
	}
	cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		snprintf(err, cap, "%s: HTTP status %ld%s", url, code,
		         code / 100 == 3 ? " (redirects are not followed)" : "");
		return TR_STS_FETCH_ERROR;
	}
	cu.easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	if (!is_text_plain(ct)) {
		snprintf(err, cap, "%s: media type %.60s, not text/plain", url, ct ? ct : "(none)");
		return TR_STS_FETCH_ERROR;
	}
	return TR_STS_FETCH_OK;
}

/* tr_sts_fetch with the reason in err (cap bytes). */
static tr_sts_fetch_res fetch(struct tlsrelay_ctx *ctx, const tr_dns *dns,
                              const char *domain, int timeout_s,
                              char **body, size_t *len, char *err, size_t cap)
{
	int port = ctx->cfg.mta_sts_https_port;
	char host[TR_HOSTNAME_MAX + 8], url[TR_HOSTNAME_MAX + 64];
	tlsrelay_status lst;
	body_buf b = { NULL, 0, 0 };
	struct curl_slist *res = NULL;
	tr_sts_fetch_res out = TR_STS_FETCH_ERROR;
	CURL *c = NULL;

	*body = NULL;
	*len = 0;
	snprintf(host, sizeof host, "mta-sts.%s", domain);
	if (port == 443)
		snprintf(url, sizeof url, "https://%s/.well-known/mta-sts.txt", host);
	else
		snprintf(url, sizeof url, "https://%s:%d/.well-known/mta-sts.txt", host, port);
	if (curl_load(&lst) != TLSRELAY_OK) {
		snprintf(err, cap, "%s: %.200s", url, lst.text);   /* the loader's reason: 200 bytes */
		return TR_STS_FETCH_ERROR;
	}
	if ((res = resolve_list(dns, host, port, err, cap)) == NULL)
		goto out;
	if ((c = cu.easy_init()) == NULL || set_options(c, ctx, url, host, res, timeout_s, &b) < 0) {
		snprintf(err, cap, "%s: cannot set up libcurl", url);
		goto out;
	}
	out = check_reply(c, cu.easy_perform(c), &b, url, err, cap);
	if (out == TR_STS_FETCH_OK) {
		*body = b.data;
		*len = b.len;
		b.data = NULL;
		if (*body == NULL && (*body = calloc(1, 1)) == NULL)
			out = TR_STS_FETCH_ERROR;
	}
out:
	if (c != NULL)
		cu.easy_cleanup(c);
	if (res != NULL)
		cu.slist_free_all(res);
	free(b.data);
	return out;
}

tlsrelay_cat tr_sts_fetch(struct tlsrelay_ctx *ctx, const tr_dns *dns,
                          const char *domain, int timeout_s, char **body, size_t *len,
                          tr_sts_fetch_res *res, tlsrelay_status *st)
{
	char err[TLSRELAY_TEXT_MAX + 128];   /* the URL and the loader's reason fit */

	*res = fetch(ctx, dns, domain, timeout_s, body, len, err, sizeof err);
	if (*res == TR_STS_FETCH_OK)
		return tr_status_ok(st);
	return tr_status_set(st, TLSRELAY_TEMP, NULL, "%s", err);
}

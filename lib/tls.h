/*
 * tls.h - OpenSSL on an existing SMTP connection (tls.c).
 *
 * One SSL_CTX per context, made on first use (a plaintext-only delivery
 * never initialises OpenSSL's TLS state). OpenSSL's configuration file is
 * not loaded: the settings that matter (TLS >= 1.2, no compression) are set
 * here, so behaviour does not depend on /etc/ssl/openssl.cnf.
 *
 * tr_tls_start() runs the client handshake on io->fd (already connected,
 * after a 220 to STARTTLS or at once for implicit TLS) within the io's
 * timeout and deadline, then installs the TLS read/write functions in io.
 * It fills *info with the negotiated posture, whatever the level, so that
 * the caller can log it and decide. It returns
 *   TLSRELAY_OK   - TLS is up (info->trust says how far it was checked);
 *   TLSRELAY_TEMP - the handshake failed: dsn 4.7.5, text says why. The
 *                   connection must then be closed (tr_tls_stop + close).
 * Certificate requirements of the levels above encrypt are checked by the
 * policy code from *info (and, later, enforced in the handshake itself).
 */
#ifndef TR_TLS_H
#define TR_TLS_H

#include "tlsrelay.h"
#include "io.h"

typedef enum tr_trust {
	TR_TRUST_NONE = 0,     /* no TLS */
	TR_TRUST_ANONYMOUS,    /* TLS without a server certificate */
	TR_TRUST_UNTRUSTED,    /* certificate not checked or chain not trusted */
	TR_TRUST_TRUSTED,      /* chain verified, name not matched */
	TR_TRUST_VERIFIED      /* chain verified and name matched */
} tr_trust;

typedef struct tr_tls_info {
	char protocol[16];         /* "TLSv1.3" */
	char cipher[64];           /* "TLS_AES_256_GCM_SHA384" */
	int bits, alg_bits;
	int resumed;
	int have_cert;
	int chain_ok;              /* chain verified against the configured CAs */
	int name_ok;               /* certificate matches one of the names (only
	                            * in a subjectAltName when san_only) */
	int name_cn_only;          /* no name is in a subjectAltName DNS-ID but
	                            * one is the subject CN: OpenSSL's fallback
	                            * for certificates without DNS names; it
	                            * counts for name_ok unless san_only */
	char matched[256];         /* the name that matched */
	tr_trust trust;
	char verify_error[128];    /* why chain_ok is 0 */
	char subject[256], issuer[256];
	char cert_sha256[96];      /* "AB:CD:..." (32 bytes) */
	char pkey_sha256[96];
	int dane;                  /* DANE was in force (tls_dane.c) */
	int dane_ok;               /* a TLSA record matched */
	char dane_match[96];       /* "DANE-EE(3) SPKI(1) SHA2-256(1) at depth 0" */
	char dane_error[128];      /* why dane_ok is 0 */
	char dns_names[200];       /* the certificate's subjectAltName DNS names,
	                            * "a.example, b.example" (cut with "..."),
	                            * "none": for a name mismatch's text */
	char cas[280];             /* the CAs the chain was checked against:
	                            * "tls_ca_file FILE", "tls_ca_path DIR",
	                            * "the system's CA directory DIR" */
} tr_tls_info;

struct tr_demand;

/* One TLS connection: what it must satisfy and what to call it. */
typedef struct tr_tls_conn {
	const struct tr_demand *demand;  /* SNI, names, pins, protocols, ciphers,
	                            * TLSA records (demand.h) */
	const char *nexthop;       /* the nexthop host (session cache key) */
	const char *relay;         /* "host[addr]:port", for messages */
	int cache_readonly;        /* read the session cache, never write it */
} tr_tls_conn;

struct tlsrelay_ctx;

/* The client handshake on io (see the top of this file); *info the
 * negotiated posture whatever the outcome.
 * Returns: OK (TLS is up); TEMP 4.7.5 (the handshake failed, or DANE could
 * not be set up); CONFIG 4.3.5 (the TLS context: tls_ca_file; the
 * demand's protocols or ciphers); INTERNAL 4.3.0 (OpenSSL could not make a
 * context or session). */
tlsrelay_cat tr_tls_start(struct tlsrelay_ctx *ctx, tr_io *io,
                          const tr_tls_conn *c, tr_tls_info *info,
                          tlsrelay_status *st);

/* Does the posture meet the demand (its auth, demand.h)? DANE: a TLSA
 * match (tls_dane.h). None: any TLS. Pins: the certificate's or its
 * public key's SHA-256 digest (upper-case "AB:CD:..") is one of the pins.
 * CA + name: the chain is trusted and a name matched (subjectAltName
 * DNS-IDs only when the demand says san_only). TLSRELAY_OK, or
 * TLSRELAY_TEMP 4.7.5 with the reason ("Server certificate not verified:
 * ...").
 * Returns: OK, TEMP 4.7.5. */
tlsrelay_cat tr_tls_enforce(const tr_tls_info *info, const struct tr_demand *d,
                            const char *relay, tlsrelay_status *st);

/* Why a server fails (or would fail) a demand: a bounded vocabulary for
 * the TLS history, the shadow policy, metrics and reports. */
typedef enum tr_tls_fail {
	TR_FAIL_NONE = 0,         /* the demand is met */
	TR_FAIL_DANE_REQUIRED,    /* skipped: DANE required, not possible */
	TR_FAIL_DNSSEC,           /* skipped: the TLSA lookup failed (bogus) */
	TR_FAIL_STS_MX,           /* skipped: MTA-STS enforce, MX matches no pattern */
	TR_FAIL_SKIPPED,          /* skipped, another reason */
	TR_FAIL_NO_STARTTLS,      /* TLS required, STARTTLS not offered */
	TR_FAIL_HANDSHAKE,        /* TLS required, the handshake failed */
	TR_FAIL_NO_CERT,          /* no certificate presented */
	TR_FAIL_UNTRUSTED,        /* the chain is not trusted */
	TR_FAIL_EXPIRED,          /* the certificate has expired */
	TR_FAIL_NAME,             /* no name matched */
	TR_FAIL_NAME_CN_ONLY,     /* the name only as subject CN (MTA-STS) */
	TR_FAIL_PINS,             /* no pinned digest matched */
	TR_FAIL_TLSA,             /* no TLSA record matched */
	TR_FAIL_COUNT
} tr_tls_fail;

/* "starttls-not-offered", "certificate-name-mismatch", ... ("" for NONE). */
const char *tr_tls_fail_name(tr_tls_fail f);
/* "STARTTLS not offered", "certificate name mismatch", ... */
const char *tr_tls_fail_words(tr_tls_fail f);
/* The class of a name (tr_tls_fail_name); TR_FAIL_COUNT if none. */
tr_tls_fail tr_tls_fail_from_name(const char *name);

/* tr_tls_enforce with the class of the failure: TR_FAIL_NONE (st OK) or
 * the class (st TEMP 4.7.5 with the text of tr_tls_enforce).
 * Returns: OK (TR_FAIL_NONE), TEMP 4.7.5 (the class). */
tr_tls_fail tr_tls_enforce_why(const tr_tls_info *info, const struct tr_demand *d,
                               const char *relay, tlsrelay_status *st);

typedef enum tr_verdict {
	TR_VERDICT_PASS = 0,      /* the demand is met by what the session showed */
	TR_VERDICT_DEFER,         /* it is not: the session would be deferred */
	TR_VERDICT_UNKNOWN        /* the session did not show enough to tell */
} tr_verdict;

struct tr_tls_outcome;
struct tr_dane_host;

/* Would a session that showed o (observe.h) have met demand d? A pure
 * function of the two, with the session's own rules: a skip defers (why:
 * DANE, DNSSEC when facts says the TLSA lookup failed, MTA-STS); a demand
 * without TLS passes; TLS required (tr_demand_tls_required) and no
 * STARTTLS, or a failed handshake, defers; TLS up: tr_tls_enforce_why on
 * o->info (whose name and DANE checks must be d's: tr_tls_posture_for).
 * UNKNOWN: the session never got to TLS (not greeted), or TLS was offered
 * but not tried (the live level was none). *why gets the class, st the
 * text (OK for PASS). relay names the server in texts.
 * Returns: OK (PASS, UNKNOWN), TEMP 4.7.5 4.7.4 (DEFER: the text the live
 * session would have given). */
tr_verdict tr_tls_judge(const struct tr_demand *d, const struct tr_dane_host *facts,
                        const struct tr_tls_outcome *o, const char *relay,
                        tr_tls_fail *why, tlsrelay_status *st);

/* The posture a TLS connection (ssl, the live SSL *, with seen its live
 * posture) shows under another demand d: the name checks against d's
 * names (and san_only), the pins' digests, and, when d authenticates by
 * DANE, its TLSA records matched against the peer's chain by OpenSSL's
 * DANE code. 1, or 0 when it cannot be told (no peer chain: a resumed
 * session under a DANE demand); out is seen then. */
int tr_tls_posture_for(const struct tr_demand *d, void *ssl, const tr_tls_info *seen,
                       tr_tls_info *out);

/* The policy accepted the TLS posture of io: its session may be saved in
 * the session cache (tls_cache.h) for later processes. */
void tr_tls_approve(tr_io *io);

/* The connection on io is kept idle (conn_cache.h): it no longer stores
 * sessions in the session cache (a late TLS 1.3 ticket is dropped rather
 * than filed under the key of whichever connection is active then). */
void tr_tls_release_cache(tr_io *io);

/* Send close_notify (one non-blocking try) and free the SSL; the socket
 * stays open for the caller to close. Safe when TLS is not active. */
void tr_tls_stop(tr_io *io);

/* SHA-256 digests of a certificate and of its DER SubjectPublicKeyInfo,
 * "AB:CD:..." (the forms the policy map's match= takes). */
struct x509_st;
void tr_tls_cert_digests(struct x509_st *cert, char cert_sha256[96],
                         char pkey_sha256[96]);

/* Free the context's SSL_CTX. */
void tr_tls_ctx_free(struct tlsrelay_ctx *ctx);

/* The SSL_CTX made and tls_ca_file parsed now rather than on first use
 * (ctx_warm.c, for tlsrelayd): TLSRELAY_OK or CONFIG/INTERNAL.
 * Returns: OK, CONFIG 4.3.5, INTERNAL 4.3.0. */
tlsrelay_cat tr_tls_prepare(struct tlsrelay_ctx *ctx, tlsrelay_status *st);

/* "verified", "trusted", "untrusted", "anonymous", "none". */
const char *tr_trust_name(tr_trust t);

/* Postfix's capitalised form for the "... TLS connection established"
 * line: "Verified", "Trusted", "Untrusted", "Anonymous". */
const char *tr_trust_label(tr_trust t);

#endif

/*
 * tls_dane.h - OpenSSL's DANE verification for one connection
 * (tls_dane.c), driven by the per-server policy of dane.h.
 *
 * tr_tls_dane_ctx() enables DANE on the shared SSL_CTX (SSL_CTX_dane_enable;
 * harmless for connections that do not use it). tr_tls_dane_setup() turns
 * DANE on for one SSL before the handshake: SSL_dane_enable with the TLSA
 * base domain (also the SNI), the other reference names (SSL_add1_host),
 * DANE_FLAG_NO_DANE_EE_NAMECHECKS, and every usable record
 * (SSL_dane_tlsa_add). The handshake itself never fails on the
 * certificate (SSL_VERIFY_NONE, as for every level): after it,
 * tr_tls_dane_posture() records whether a TLSA record authenticated the
 * server, and tr_tls_dane_enforce() turns that into the verdict before
 * anything else is sent.
 */
#ifndef TR_TLS_DANE_H
#define TR_TLS_DANE_H

#include <openssl/ssl.h>
#include "tls.h"

struct tr_dane_host;

/* DANE on the shared SSL_CTX. Without it (an OpenSSL without DANE
 * support) every DANE connection fails at tr_tls_dane_setup (4.7.5).
 * Returns: OK, INTERNAL 4.3.0 (OpenSSL refused). */
tlsrelay_cat tr_tls_dane_ctx(SSL_CTX *c, tlsrelay_status *st);

/* DANE for the connection to relay ("host[addr]:port", for the text).
 * Otherwise (no usable records, OpenSSL refused the base domain or every
 * record) the caller must not go on with TLS.
 * Returns: OK, TEMP 4.7.5 ("DANE for RELAY: REASON"). */
tlsrelay_cat tr_tls_dane_setup(SSL *ssl, const struct tr_dane_host *h, const char *relay,
                               tlsrelay_status *st);

/* After the handshake: info->dane = 1, info->dane_ok and dane_match
 * ("DANE-EE(3) SPKI(1) SHA2-256(1) at depth 0") when a record matched, or
 * dane_error with the verification error. */
void tr_tls_dane_posture(SSL *ssl, tr_tls_info *info);

/* After the handshake of a connection made without DANE (ssl): would the
 * usable records of h have matched its peer's chain? The same OpenSSL DANE
 * code as tr_tls_dane_setup + the handshake, run on the chain the peer
 * sent (a throw-away SSL carries the records; X509_verify_cert with it).
 * Sets info->dane, dane_ok, dane_match or dane_error as
 * tr_tls_dane_posture does and returns 1; returns 0 (info untouched) when
 * it cannot be told (no peer chain: a resumed session; DANE not possible
 * for h). */
int tr_tls_dane_check(SSL *ssl, const struct tr_dane_host *h, tr_tls_info *info);

/* Whether a TLSA record matched.
 * Returns: OK; TEMP 4.7.5 ("Server certificate not verified: RELAY: no
 * TLSA record matched (...)", or the server presented no certificate). */
tlsrelay_cat tr_tls_dane_enforce(const tr_tls_info *info, const char *relay,
                                 tlsrelay_status *st);

#endif

/*
 * tls_cache.h - TLS session resumption across transport processes: an
 * on-disk client session cache (tls_cache.c) shared by every tlsrelay
 * process of one user.
 *
 * Layout: one directory (setting tls_session_cache), mode 0700, owned by
 * the user tlsrelay runs as; tlsrelay creates it (0700) when it is missing
 * and its parent exists. It holds at most tls_session_cache_size entries:
 * a key is hashed (SHA-256) onto one of that many slot files "sNNNNN", so
 * the count never grows past the size and no directory scan is ever needed;
 * two keys that share a slot simply replace each other (the key is stored
 * in the file and compared on reading). An entry is written to a temporary
 * file "tmp.PID.N" (O_EXCL, mode 0600) and renamed over its slot: readers
 * see the old file or the new one, never a mix, whatever the number of
 * concurrent writers. A file larger than TR_TLS_CACHE_ENTRY_MAX bytes is
 * never written nor read, so the cache is bounded by size * 16 KB.
 *
 * Entry file: "TRSC1 EXPIRY KEYLEN DERLEN\n" KEY DER, where EXPIRY is a
 * time_t, KEY the policy key below and DER the i2d_SSL_SESSION encoding.
 * Anything else (truncated, wrong lengths, other key, expired, not
 * parseable, not a regular file owned by us, writable by others) is a miss:
 * a full handshake, the delivery goes on.
 *
 * The key is the policy in force, not only the server: nexthop, server host
 * name, address and port, TLS level, certificate names (and san_only:
 * whether only subjectAltNames count) or pinned digests,
 * SNI, protocol range, cipher list and the identity (path, device, inode,
 * size, mtime) of the CA file or directory. A session made under "may"
 * therefore never satisfies "verify", and a CA change forgets old sessions.
 * Anything else that decides whether a certificate is accepted must be in
 * the key too, or disable caching for that connection: with DANE, the TLSA
 * records (a resumed session runs no chain check, so no DANE check either).
 * A resumed session is still checked by tr_tls_enforce (tls.c re-derives
 * names and digests from the peer certificate kept in the session; the
 * chain result is the one of the full handshake under the same key; an
 * expired certificate is refused).
 *
 * A session is stored only after the policy accepted the handshake
 * (tr_tls_cache_approve): TLS 1.2 sessions known during the handshake wait
 * for it, TLS 1.3 tickets arrive after it. Lifetime: the smallest of
 * tls_session_cache_timeout and the server's ticket lifetime hint.
 *
 * Errors never fail a delivery: a directory that cannot be created, opened
 * or written, or that is writable by others or owned by another user,
 * turns the cache off for the process with one warning.
 */
#ifndef TR_TLS_CACHE_H
#define TR_TLS_CACHE_H

#include <openssl/ssl.h>
#include "tls.h"

#define TR_TLS_CACHE_ENTRY_MAX 16384   /* bytes of one entry file */
#define TR_TLS_CACHE_KEY_MAX 3072      /* bytes of a key */

struct tlsrelay_ctx;
typedef struct tr_tls_cache tr_tls_cache;

/* Enable client session caching on c for ctx when tls_session_cache is
 * set (installs the new-session callback). */
void tr_tls_cache_setup(struct tlsrelay_ctx *ctx, SSL_CTX *c);

/* Before the handshake: compute the key of c, and offer a cached session
 * for it on ssl if there is one. c->cache_readonly: never create the
 * directory nor store a session (tlsrelay-probe, run as any user). */
void tr_tls_cache_attach(struct tlsrelay_ctx *ctx, SSL *ssl, const tr_tls_conn *c);

/* The policy accepted the handshake on ssl: store its session (now or when
 * the TLS 1.3 tickets arrive). */
void tr_tls_cache_approve(SSL *ssl);

/* The connection ends (before SSL_free). */
void tr_tls_cache_detach(SSL *ssl);

/* Free the cache state of ctx. */
void tr_tls_cache_free(struct tlsrelay_ctx *ctx);

/* The key text of c: nexthop, server, tr_demand_key() of its demand, the
 * CA file or directory's identity (for tests and -v logs): returns its length, or -1 when
 * it does not fit in cap. */
int tr_tls_cache_key(const struct tlsrelay_ctx *ctx, const tr_tls_conn *c,
                     char *out, size_t cap);

#endif

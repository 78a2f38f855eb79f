/*
 * tls_level.h - TLS security levels as ordered integers (tls_level.c).
 *
 * Same names and order as Postfix smtp_tls_security_level, so that policy
 * questions are comparisons: "TLS required" is level >= TR_TLS_ENCRYPT,
 * "certificate must be checked" is level >= TR_TLS_FINGERPRINT.
 */
#ifndef TR_TLS_LEVEL_H
#define TR_TLS_LEVEL_H

#include <stddef.h>

typedef enum tr_tls_level {
	TR_TLS_INVALID = -1,
	TR_TLS_NONE = 0,        /* no STARTTLS, ever */
	TR_TLS_MAY,             /* STARTTLS when offered; plaintext fallback */
	TR_TLS_ENCRYPT,         /* TLS required, certificate not checked */
	TR_TLS_DANE,            /* DANE when usable TLSA records, else encrypt */
	TR_TLS_DANE_ONLY,       /* DANE required */
	TR_TLS_FINGERPRINT,     /* certificate/public-key digest pinned */
	TR_TLS_VERIFY,          /* CA chain + MX host name */
	TR_TLS_SECURE           /* CA chain + nexthop domain name */
} tr_tls_level;

/* TR_TLS_INVALID for an unknown name; names are case-sensitive, as in
 * Postfix. */
tr_tls_level tr_tls_level_from_name(const char *name);

/* "none", "may", ...; "invalid" for anything else. */
const char *tr_tls_level_name(tr_tls_level level);

/* "none, may, encrypt, ..., secure": every level name in order, for error
 * texts, written into buf (cut to cap, always terminated). Returns buf. */
const char *tr_tls_level_list(char *buf, size_t cap);

#endif

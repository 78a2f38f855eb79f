/*
 * sasl.h - SMTP AUTH client credentials (sasl.c) and the AUTH dialogue
 * (smtp_auth.c).
 *
 * Password map (setting sasl_password_map = /path/file), Postfix
 * smtp_sasl_password_maps text syntax:
 *
 *     # comment
 *     [relay.example.com]:587   alice:pass:word with spaces
 *     relay.example.net         bob:secret
 *
 * - One entry per line: KEY, white space (spaces, tabs), VALUE. VALUE is the
 *   rest of the line with white space around it trimmed, split at its FIRST
 *   ':' into user and password (the password may hold ':' and inner white
 *   space, but cannot begin or end with white space). User and password
 *   must both be non-empty, at most TR_SASL_USER_MAX / TR_SASL_PASS_MAX
 *   bytes.
 * - KEY is "[host]:port", "[host]", "host" or "domain"; matched
 *   case-insensitively. host: letters, digits, '-', '_', '.', at most 255
 *   bytes; inside brackets also an IPv6 address ("[2001:db8::1]" or
 *   "[ipv6:2001:db8::1]", the tag is dropped as in nexthop.h). port: 1-65535
 *   or smtp, submission, smtps, submissions. A ':' outside brackets
 *   ("host:port", a bare IPv6 address) is refused: say "[host]:port", or
 *   "host" for any port.
 * - Blank lines and lines whose first non-blank byte is '#' are ignored.
 *   A line that starts with white space and is not blank or a comment is an
 *   error (Postfix would join it to the previous line; a password map has
 *   no use for that). LF or CRLF line ends; lines up to TR_SASL_LINE_MAX
 *   bytes; NUL and other control bytes (except TAB) are errors.
 * - The same key twice (also spelled differently: "[H]:587" and
 *   "[h]:submission") is an error: which one wins would be a guess.
 * - At most TR_SASL_ENTRIES_MAX entries, TR_SASL_FILE_MAX bytes.
 * - The file must be a regular file (symbolic links to one are followed)
 *   not readable, writable or executable by "other" (mode & 007 == 0).
 *
 * Errors are TLSRELAY_CONFIG, dsn "4.3.5", text "FILE:LINE: reason" (or
 * "FILE: reason" for the file as a whole). No error text and no log line
 * ever holds a password; no error text holds a user name: texts quote a key
 * only once it has been checked to be a valid key, and never quote a
 * value. The one place a user name appears is the delivery log line of a
 * recipient after the server accepted AUTH ("sasl_username=USER",
 * deliver.c, issue 19): which account sent the mail.
 */
#ifndef TR_SASL_H
#define TR_SASL_H

#include <stddef.h>
#include "tlsrelay.h"
#include "nexthop.h"
#include "status.h"

#define TR_SASL_USER_MAX     255
#define TR_SASL_PASS_MAX     255
#define TR_SASL_LINE_MAX     4096
#define TR_SASL_ENTRIES_MAX  10000
#define TR_SASL_FILE_MAX     (4 * 1024 * 1024)
#define TR_SASL_KEY_MAX      300      /* "[" 255 "]:" port, with room */

/* Length of the base64 text for n bytes (no NUL). */
#define TR_SASL_B64_LEN(n)   ((((size_t)(n) + 2) / 3) * 4)
/* Buffer for tr_sasl_plain() that always suffices (NUL included). */
#define TR_SASL_PLAIN_B64_MAX (TR_SASL_B64_LEN(2 + TR_SASL_USER_MAX + TR_SASL_PASS_MAX) + 1)

typedef struct tr_sasl_map tr_sasl_map;

/* Read and check the map at path. Returns a new map (release with
 * tr_sasl_map_free), or NULL with *st set: TLSRELAY_CONFIG for a bad,
 * unreadable or too open file, TLSRELAY_INTERNAL when out of memory.
 * The whole file is kept in one allocation that is wiped on free and on
 * every error path.
 * Returns: the map, or NULL with *st CONFIG 4.3.5, INTERNAL 4.3.0. */
tr_sasl_map *tr_sasl_map_load(const char *path, tlsrelay_status *st);

/* Check mode (tlsrelay -t): read path reporting every line problem to fn
 * ("path:line: reason", also the file's permissions) instead of stopping at
 * the first. Returns the number of problems. Secrets never reach fn. */
int tr_sasl_map_check(const char *path, tr_report_fn fn, void *arg);

/* Wipe every secret (OPENSSL_cleanse) and free. NULL is harmless. */
void tr_sasl_map_free(tr_sasl_map *m);

/* Number of entries (0 for NULL). */
size_t tr_sasl_map_count(const tr_sasl_map *m);

/* Credentials found by tr_sasl_lookup. user and pass point into the map
 * and stay valid until tr_sasl_map_free; key is the matching key as
 * written in the file (for logs: it is not a secret). */
typedef struct tr_sasl_cred {
	const char *user;
	const char *pass;
	char key[TR_SASL_KEY_MAX];
} tr_sasl_cred;

/* Find credentials, in Postfix order, first match wins:
 *   1. the server host name: "[host]:port", "[host]", "host"
 *      (host NULL or "" skips these; port <= 0 skips "[host]:port");
 *   2. the nexthop (nh may be NULL): "[host]:port" as the nexthop says when
 *      it names a host without MX lookup, else "domain" (nh->host).
 * Bracketed keys match only bracketed forms, unbracketed keys only "host"
 * and "domain"; host names compare case-insensitively, ports as numbers.
 * Returns 1 and fills *out when found; 0 otherwise (*out: user and pass
 * NULL, key ""). m NULL: 0. out must not be NULL. */
int tr_sasl_lookup(const tr_sasl_map *m, const char *host, int port,
                   const tr_nexthop *nh, tr_sasl_cred *out);

/* Encoders and decoder. Results go to caller buffers; the caller wipes
 * them (OPENSSL_cleanse) when they held secrets. On failure out is set to
 * "" when cap > 0. */

/* base64 of n bytes of in (EVP_EncodeBlock), NUL-terminated. Needs
 * cap >= TR_SASL_B64_LEN(n) + 1. Returns the text length, or -1 (cap too
 * small, n too large, in NULL with n > 0). */
int tr_sasl_b64(const char *in, size_t n, char *out, size_t cap);

/* RFC 4616 PLAIN initial response: base64("" NUL user NUL pass) (no
 * authorization identity). user: 1..TR_SASL_USER_MAX bytes, pass:
 * 0..TR_SASL_PASS_MAX bytes. The cleartext is assembled in a local buffer
 * that is wiped before return. Returns the text length, or -1 (bad
 * lengths, cap too small; cap TR_SASL_PLAIN_B64_MAX always suffices). */
int tr_sasl_plain(const char *user, const char *pass, char *out, size_t cap);

/* Strict base64 decoding of the NUL-terminated text in: length a multiple
 * of 4, alphabet A-Z a-z 0-9 + /, '=' padding only at the end, no white
 * space; "" decodes to 0 bytes. out receives the bytes followed by a NUL
 * (the bytes may hold NULs: *outlen counts them; outlen may be NULL).
 * Needs cap >= strlen(in) / 4 * 3 + 1. Returns 0, or -1 (bad text, cap too
 * small; *outlen is then 0). */
int tr_sasl_b64_decode(const char *in, char *out, size_t cap, size_t *outlen);

/* ------------------------------------------------------ the AUTH dialogue */

struct tr_session;

/* Authenticate session s (after EHLO, and after STARTTLS's EHLO) with
 * cred.
 * Returns: OK (authenticated); TEMP 4.7.0 or the server's code with class
 * 4 (Postfix smtp_sasl_auth_soft_bounce = yes: an authentication problem
 * defers mail, it never bounces it), 4.4.2, 4.5.0; INTERNAL 4.3.0
 * (unusable credentials, an encoding failure). The TEMP cases:
 * - TLS not active: "4.7.0 credentials for HOST are configured, but TLS is
 *   not active: AUTH refused"; nothing is sent.
 * - no PLAIN or LOGIN offered: "4.7.0 credentials configured for HOST, but
 *   it offers no supported AUTH mechanism (offered: LIST|none)"; nothing is
 *   sent.
 * - a 4xx/5xx reply: the server's enhanced code with class 4 (default
 *   4.7.0), "SASL authentication failed; server HOST said: REPLY".
 * - any other unexpected reply: "4.7.0"; after a 3xx the exchange is
 *   cancelled with "*" (RFC 4954) and the server's answer read.
 * - a lost connection or malformed reply: as tr_sess_reply().
 * PLAIN is preferred (one round trip with an initial response), then
 * LOGIN. HOST is s->relay. Credential lines are logged (verbosity 2) as
 * "********" only, and every buffer that held them is wiped, the session's
 * write buffer included. s->in_sync tells whether QUIT may follow. */
tlsrelay_cat tr_auth_run(struct tr_session *s, const tr_sasl_cred *cred,
                         tlsrelay_status *st);

#endif

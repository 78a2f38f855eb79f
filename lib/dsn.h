/*
 * dsn.h - the syntax of the DSN parameters (RFC 3461) that are checked on
 * two sides: the library checks what its callers give (lib/deliver.c:
 * tlsrelay_request's NOTIFY, each tlsrelay_rcpt's NOTIFY and ORCPT) and
 * the LMTP server checks what its client sends (lib/lmtp_server.c). One
 * rule for both, so that a value the LMTP listener accepts is never
 * refused later by the delivery (which would turn one bad parameter into
 * a refusal of every recipient).
 *
 * Pure functions, no allocation.
 */
#ifndef TR_DSN_H
#define TR_DSN_H

#include <stddef.h>
#include "tlsrelay.h"

/* RFC 3461 section 4.2: "the ORCPT parameter MUST NOT exceed 500
 * characters" (the whole value as sent: addr-type ";" xtext). */
#define TR_DSN_ORCPT_MAX 500

/* xtext (RFC 3461 section 4) of the n bytes at in, decoded into out (cap
 * bytes, NUL-terminated). 0; -1 for bad xtext (a byte outside 0x21-0x7e
 * or "=", a "+" not followed by two upper-case hex digits), a decoded
 * byte outside 0x20-0x7e, or no room. */
int tr_dsn_xtext_decode(const char *in, size_t n, char *out, size_t cap);

/* NOTIFY: NEVER, or a comma-separated list of SUCCESS, FAILURE, DELAY
 * (any case). 1 when v (n bytes) is one, else 0. */
int tr_dsn_notify_ok(const char *v, size_t n);

/* ORCPT's form as given on the wire: addr-type ";" xtext, addr-type an
 * atom (RFC 5322 atext) without "=" (which an ESMTP parameter value
 * cannot hold), the xtext well formed ("+" and two hex digits of either
 * case; any octet once decoded: see dsn.c). No length bound. 1 when v (n
 * bytes) is one, else 0. */
int tr_dsn_orcpt_form_ok(const char *v, size_t n);

/* ORCPT as the library sends it: tr_dsn_orcpt_form_ok and at most
 * TR_DSN_ORCPT_MAX bytes. 1 or 0. */
int tr_dsn_orcpt_ok(const char *v, size_t n);

/* One recipient's DSN parameters as on its RCPT line (tlsrelay -D, which
 * the Exim module gives tlsrelayd: plugin/transport/transport.c): words
 * separated by spaces, "NOTIFY=value" and "ORCPT=value" (the keyword in
 * any case), each at most once; "" is none. Parsed in place: p is cut
 * into its words, the NOTIFY value upper-cased; *notify and *orcpt point
 * into p, NULL when absent. The values must pass the library's check
 * (tr_dsn_notify_ok and at most 64 bytes, tr_dsn_orcpt_ok).
 * Returns: OK; USAGE 5.5.4 with the reason naming the bad word. */
tlsrelay_cat tr_dsn_rcpt_params(char *p, const char **notify, const char **orcpt,
                                tlsrelay_status *st);

#endif

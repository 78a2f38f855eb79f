/*
 * msgreq.h - the per-message TLS requirement carried in the message's
 * header section (msgreq.c): read it from the spool, remove it, apply it
 * to a destination policy.
 *
 * THE HEADER
 *   X-TLSRelay-Require: LEVEL
 *   written by tlsrelay-milter(8) after it removed every incoming copy.
 *   LEVEL (case-insensitive, white space around it ignored):
 *     encrypt, dane, dane-only, verify, secure   raise the destination's
 *                                                policy to at least LEVEL
 *     none, may                                  require nothing (no effect)
 *     anything else, fingerprint (it has no digests), a value longer than
 *     TR_MSGREQ_VALUE_MAX bytes                  unusable: the message is
 *                                                deferred (4.7.5), never
 *                                                sent at a weaker level
 *   Several fields: the strongest level counts; one unusable value defers.
 *
 * TLS-Required: No  (RFC 8689 section 5)
 *   Only recorded here. Where the admin enables it (tls_required_enable),
 *   tr_msgreq_apply sets tr_policy.tls_required_no: requirements that come
 *   from DANE or MTA-STS lookups may then be relaxed by the code that makes
 *   them; the level from tls_policy_map / tls_security_level and the level
 *   the X-TLSRelay-Require header asks for are never lowered. The field
 *   stays in the message (RFC 8689: it travels with the message).
 *
 * WHERE
 *   The header section as the MTA parsed it, all of it: the spool from its
 *   start up to where the input's first empty line starts (msg->header_end,
 *   recorded by the spooler in the input's own LF line structure, before a
 *   bare CR became CR LF; the end of the spool if there is no empty line).
 *   Every line of that region that is an X-TLSRelay-Require field ("name:",
 *   white space allowed before the colon, the name compared
 *   case-insensitively) counts, with its continuation lines (starting with
 *   space or tab). A line that is neither a field nor a continuation (an
 *   odd or over-long field name, a piece after a bare CR, an empty line
 *   made from one) does NOT end the region: the milter's field, which the
 *   MTA appends after its last header line, is found whatever comes
 *   before it (security issue 13). Field names and lines of any length
 *   are read to their end; memory stays fixed. Counting a doubtful line
 *   can only make delivery stricter (the strongest level counts, an
 *   unusable value defers), so nothing here is left uncertain.
 *   "TLS-Required: No", which relaxes, is recorded only where it is a
 *   header field beyond doubt: before the first line that is neither a
 *   field nor a continuation, and only if no bare CR is in the region.
 *   The body (after the first empty line) is never read.
 */
#ifndef TR_MSGREQ_H
#define TR_MSGREQ_H

#include "tlsrelay.h"
#include "tls_level.h"
#include "policy.h"

#define TR_MSGREQ_HEADER    "X-TLSRelay-Require"
#define TR_MSGREQ_VALUE_MAX 64
#define TR_MSGREQ_FIELDS_MAX 1000   /* requirement fields removed at most */

typedef struct tr_msgreq {
	tr_tls_level level;     /* strongest usable level; TR_TLS_INVALID = none */
	int nfields;            /* X-TLSRelay-Require fields found (and removed) */
	int bad;                /* one of them had an unusable value */
	char bad_value[TR_MSGREQ_VALUE_MAX + 4]; /* that value, control bytes
	                                            replaced, "..." if cut */
	int tls_required_no;    /* a "TLS-Required: No" field is present */
} tr_msgreq;

/* Scan msg's header section (WHERE above) into *out and remove every
 * X-TLSRelay-Require field (with its continuation lines) from the spool
 * file, in place: msg->size, msg->lines and msg->header_end shrink
 * accordingly (max_line, has_8bit and has_nul stay as they were: upper
 * bounds). msg must come from the spooler (message.h: header_end).
 * Returns TLSRELAY_OK, or TLSRELAY_TEMP "4.3.0" on a read/write error (the
 * spool is then unusable: the caller must not send it), or with more than
 * TR_MSGREQ_FIELDS_MAX requirement fields. */
tlsrelay_cat tr_msgreq_take(tlsrelay_message *msg, tr_msgreq *out,
                            tlsrelay_status *st);

/* Apply rq to the destination policy pol:
 * - honour_no (tls_required_enable) and TLS-Required: No -> pol->tls_required_no
 *   = 1 (nothing else changes);
 * - honour_header (require_header) off, or no requirement field -> pol as is;
 * - an unusable value -> TLSRELAY_TEMP "4.7.5" (pol untouched);
 * - pol->level below the header's level -> pol->level raised, its match=
 *   names replaced by that level's defaults (verify: hostname; secure:
 *   nexthop, dot-nexthop); protocols, ciphers and servername kept; source
 *   gets " + X-TLSRelay-Require: LEVEL" appended. Returns 1 in *raised.
 *   A fingerprint destination already pins the server's certificate: it
 *   satisfies every header level and is kept as it is.
 * Returns TLSRELAY_OK otherwise. raised may be NULL. */
tlsrelay_cat tr_msgreq_apply(const tr_msgreq *rq, int honour_header,
                             int honour_no, tr_policy *pol, int *raised,
                             tlsrelay_status *st);

/* RFC 8689 TLS-Required: No and opportunistic DANE. With pol->
 * tls_required_no set and pol->level dane coming from tls_security_level
 * (own: the level before tr_msgreq_apply; mapped: pol is a tls_policy_map
 * entry), pol becomes level may (as for a server without usable TLSA
 * records; protocols, ciphers kept; source gets " + TLS-Required: No") and
 * 1 is returned. Nothing changes (0) for any other level, dane-only, a
 * tls_policy_map entry, or when the message's X-TLSRelay-Require (honoured:
 * honour_header) asks for more than may: those are the admin's own
 * requirements. -1: the flag is set, the level is dane-based, and it is
 * kept for one of these reasons (for a log line). */
int tr_msgreq_relax_dane(const tr_msgreq *rq, int honour_header, tr_tls_level own,
                         int mapped, tr_policy *pol);

#endif

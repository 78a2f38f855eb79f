/*
 * msgreq.h - per-message TLS requirements on the transport side
 * (msgreq.c): the one carried in the message's header section (read it
 * from the spool, remove it) and the one the envelope gets from the
 * message_rules file (msgrules.h). What a requirement does to a server's
 * TLS is the demand's rule R4 (demand.h): it only ever raises.
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
 * THE ENVELOPE (message_rules, tlsrelay.conf(5))
 *   The from and to rules of the message_rules file (msgrules.h syntax;
 *   header rules are the milter's) are matched against the sender and the
 *   recipients the transport delivers to: the addresses after the MTA's
 *   rewriting (aliases, virtual and canonical maps, a trailing dot
 *   dropped), which the milter, seeing the SMTP envelope, cannot know.
 *   Recipients are routed in nexthop groups (one SMTP transaction each):
 *   a group gets the strongest level of its recipients and the sender, so
 *   a recipient without a rule that shares a transaction with one that has
 *   one gets the stronger level too (a raise, never a split; a recipient
 *   limit of 1 in the MTA keeps them apart). The strongest of this level
 *   and the header's is applied (tr_msgreq_demand), and the policy's source
 *   names it: " + message_rules:LINE to PATTERN LEVEL" or
 *   " + X-TLSRelay-Require: LEVEL" (the header on a tie).
 *
 * TLS-Required: No  (RFC 8689 section 5)
 *   Only recorded here. Where the admin enables it (tls_required_enable),
 *   requirements that come from DANE or MTA-STS lookups may be relaxed
 *   (demand.h R3); the level from tls_policy_map / tls_security_level and
 *   the level the X-TLSRelay-Require header asks for are never lowered.
 *   The field stays in the message (RFC 8689: it travels with the
 *   message).
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
#include "demand.h"
#include "tls_level.h"
#include "msgrules.h"

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
 * TR_MSGREQ_FIELDS_MAX requirement fields.
 * Returns: OK, TEMP 4.3.0, INTERNAL 4.3.0 (out of memory). */
tlsrelay_cat tr_msgreq_take(tlsrelay_message *msg, tr_msgreq *out,
                            tlsrelay_status *st);

/* The strongest level that the from and to rules of rules give the
 * envelope: sender (NULL or "" = the null sender, which matches nothing)
 * and the recipients rcpts[i] with sel[i] set (sel NULL: all n). origin
 * (cap bytes) gets "message_rules:LINE TYPE PATTERN LEVEL" of the first rule
 * that gave that level (the sender first, then the recipients in order),
 * "" when none did. TR_TLS_INVALID when no rule matches or rules is NULL. */
tr_tls_level tr_msgreq_envelope(const tr_msgrules *rules, const char *sender,
                                const tlsrelay_rcpt *rcpts, const unsigned char *sel,
                                size_t n, char *origin, size_t cap);

/* The message's part of the TLS demand's inputs (demand.h):
 * - honour_no (tls_required_enable) and TLS-Required: No ->
 *   in->tls_required_no = 1;
 * - honour_header (require_header) and an unusable header value ->
 *   TLSRELAY_TEMP "4.7.5" (the message is deferred, never sent at a weaker
 *   level; in untouched otherwise);
 * - the strongest of the header's level (honour_header and a field
 *   present) and env, the envelope's level from tr_msgreq_envelope (its
 *   origin in env_why; TR_TLS_INVALID = none; the header wins a tie) ->
 *   in->msg_level, and in->msg_source = source (written into the caller's
 *   buffer of cap bytes: "X-TLSRelay-Require: LEVEL" or env_why).
 * Returns TLSRELAY_OK otherwise.
 * Returns: OK, TEMP 4.7.5. */
tlsrelay_cat tr_msgreq_demand(const tr_msgreq *rq, int honour_header, int honour_no,
                              tr_tls_level env, const char *env_why, tr_demand_in *in,
                              char *source, size_t cap, tlsrelay_status *st);

#endif

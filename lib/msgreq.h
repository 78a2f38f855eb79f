/*
 * msgreq.h - the per-message TLS requirement carried in the message's
 * header section (msgreq.c): read it from the spool and remove it. What it
 * does to a server's TLS is the demand's rule R4 (demand.h): it only ever
 * raises.
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
 *   requirements that come from DANE or MTA-STS lookups may be relaxed
 *   (demand.h R3); the level from tls_policy_map / tls_security_level and
 *   the level the X-TLSRelay-Require header asks for are never lowered.
 *   The field stays in the message (RFC 8689: it travels with the
 *   message).
 *
 * WHERE
 *   Only the header section counts: the lines from the start of the spool
 *   up to the first empty line, or up to the first line that is neither a
 *   header field ("name:" with name printable ASCII, optional white space
 *   before the colon) nor a continuation line (starting with space or tab).
 *   Field names are compared case-insensitively.
 */
#ifndef TR_MSGREQ_H
#define TR_MSGREQ_H

#include "tlsrelay.h"
#include "demand.h"
#include "tls_level.h"

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

/* Scan msg's header section into *out and remove every X-TLSRelay-Require
 * field (with its continuation lines) from the spool file, in place:
 * msg->size and msg->lines shrink accordingly (max_line, has_8bit and
 * has_nul stay as they were: upper bounds). Returns TLSRELAY_OK, or
 * TLSRELAY_TEMP "4.3.0" on a read/write error (the spool is then unusable:
 * the caller must not send it), or with more than TR_MSGREQ_FIELDS_MAX
 * requirement fields. */
tlsrelay_cat tr_msgreq_take(tlsrelay_message *msg, tr_msgreq *out,
                            tlsrelay_status *st);

/* The message's part of the TLS demand's inputs (demand.h):
 * - honour_no (tls_required_enable) and TLS-Required: No ->
 *   in->tls_required_no = 1;
 * - honour_header (require_header) and a requirement field ->
 *   in->msg_level, and in->msg_source = source ("X-TLSRelay-Require:
 *   LEVEL", written into the caller's buffer of cap bytes);
 * - an unusable value -> TLSRELAY_TEMP "4.7.5" (the message is deferred,
 *   never sent at a weaker level; in->msg_* untouched).
 * Returns TLSRELAY_OK otherwise. */
tlsrelay_cat tr_msgreq_demand(const tr_msgreq *rq, int honour_header, int honour_no,
                              tr_demand_in *in, char *source, size_t cap,
                              tlsrelay_status *st);

#endif

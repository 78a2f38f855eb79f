/*
 * rcpt_result.h - each recipient's result of a delivery, as one line of
 * text, for a client that had another process deliver (the Exim module
 * through tlsrelayd: tlsrelay -P prints them on standard output, the
 * module reads them back), and the one rule that gives every recipient a
 * final status after tlsrelay_deliver().
 *
 * The line (at most TR_RCPT_LINE_MAX bytes with its LF):
 *   "rcpt INDEX CATEGORY DSN TEXT\n"
 *   INDEX     the recipient's position, 0-based, decimal, no sign or zero
 *             padding
 *   CATEGORY  tlsrelay_cat_name(): ok, temporary, permanent, usage, data,
 *             config, internal; "ok+dsn" is ok with dsn_aware set (the
 *             server that accepted it announced DSN), "ok" has it 0
 *   DSN       the RFC 3463 code ("4.2.0") or "-" for none
 *   TEXT      the status text (may be empty): bytes 0x20-0x7e and >= 0x80
 *             only (a control byte is written as '?'), at most
 *             TLSRELAY_TEXT_MAX - 1 bytes
 *
 * Decisions:
 * - The reader trusts nothing (the delivery ran in another process, a
 *   daemon's): a line that does not parse exactly, an index out of range
 *   or given twice, an exit status 0 without an "ok" line for every
 *   recipient, or more output than n recipients can make, makes the whole
 *   result malformed: every recipient TEMP ("malformed result"), i.e.
 *   deferred - at worst sent twice, never lost, never bounced on a guess.
 * - A recipient without a line (the run failed before the delivery: its
 *   command line, configuration, memory) takes the run's outcome: TEMP
 *   for exit 75 (EX_TEMPFAIL), CONFIG otherwise (deferred; the reason,
 *   which may name local files, is not passed to the sender), with the
 *   text of the first other output line ("X.Y.Z reason").
 * - dsn_aware rides on the category word ("ok+dsn"), the one word whose
 *   values are exact: a line without it (an older tlsrelay) reads as
 *   dsn_aware 0, and no status text can be mistaken for it. Only "ok"
 *   takes it ("permanent+dsn" is malformed): dsn_aware is 0 for any other
 *   status. An older reader takes "ok+dsn" as malformed (every recipient
 *   deferred, never lost): the module and tlsrelay come from one build.
 * - The daemon's own reply line (the delivery process died or never ran:
 *   lib/trd_proto.h) makes every recipient TEMP with that line.
 */
#ifndef TR_RCPT_RESULT_H
#define TR_RCPT_RESULT_H

#include <stddef.h>
#include "tlsrelay.h"

#define TR_RCPT_LINE_TAG "rcpt "
#define TR_RCPT_LINE_MAX (TLSRELAY_TEXT_MAX + TLSRELAY_DSN_MAX + 64)
#define TR_RCPT_DSN_AWARE "+dsn"     /* after "ok": dsn_aware 1 */

/* Before tlsrelay_deliver(): every recipient "not settled" (a status the
 * library never sets). */
void tr_rcpts_unsettled(tlsrelay_rcpt *r, size_t n);

/* After it (or after a failure before it), *summary being its outcome:
 * a recipient still "not settled", or not OK while the summary is a
 * failure of the whole request (neither OK, TEMP nor PERM: configuration,
 * memory, spool, a bad address), takes the summary. Never fails. */
void tr_rcpts_settle(tlsrelay_rcpt *r, size_t n, const tlsrelay_status *summary);

/* The line of recipient index with status st (and dsn_aware, written only
 * with OK) into buf (cap >= TR_RCPT_LINE_MAX); its length. */
size_t tr_rcpt_line_format(char *buf, size_t cap, size_t index, const tlsrelay_status *st,
                           int dsn_aware);

/* The whole result of a delivery run for the n recipients r[] (their
 * status set, every one): out/len what the run printed on standard
 * output, exit_status its exit status, daemon_line the daemon's reply line
 * ("" or NULL: none). Lines are read by the form above exactly; anything
 * else that starts with the tag makes the result malformed.
 * Returns: OK (the output was well formed: each recipient has its own
 * status), TEMP 4.3.0 (malformed, or the daemon answered for a dead
 * delivery process: every recipient deferred, *st says why). */
tlsrelay_cat tr_rcpt_results_read(const char *out, size_t len, int exit_status,
                                  const char *daemon_line, tlsrelay_rcpt *r, size_t n,
                                  tlsrelay_status *st);

#endif

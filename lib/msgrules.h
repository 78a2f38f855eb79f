/*
 * msgrules.h - per-message TLS requirement rules (msgrules.c): which
 * envelope senders, recipients and header fields make a message need at
 * least a given TLS level. tlsrelay-milter(8) loads the table (-r,
 * milter_rules) and applies every type; the transport loads it too
 * (message_rules, ctx.c) and applies the from and to rules to the envelope
 * it delivers, after the MTA's rewriting (msgreq.h tr_msgreq_envelope).
 *
 * FILE
 *   One rule a line: "TYPE PATTERN LEVEL", fields separated by white space
 *   (spaces, tabs). LEVEL is the last field of the line, TYPE the first,
 *   PATTERN everything between (trimmed; a header pattern may hold spaces).
 *   A line whose first non-blank byte is '#' is a comment; blank lines are
 *   ignored; no continuation lines. LF or CRLF line ends. Limits:
 *   TR_MSGRULES_LINE_MAX bytes a line (without the line end),
 *   TR_MSGRULES_MAX rules. An empty file is a valid empty table.
 *
 * TYPES AND PATTERNS (TYPE is case-insensitive)
 *   from    the envelope sender (MAIL FROM)
 *   to      an envelope recipient (RCPT TO)
 *     Addresses are compared normalised: case-insensitive, and a trailing
 *     dot of the domain is ignored ("user@Example.TEST." matches the
 *     pattern example.test), as the MTA delivers them.
 *     user@example.org   that address (compared whole, case-insensitive)
 *     @example.org       any address in that domain (not its subdomains)
 *     example.org        the same as @example.org
 *     .example.org       any address in a subdomain of example.org (not in
 *                        example.org itself; add both lines for both)
 *     @.example.org      the same as .example.org
 *   header  "Name: text": a header field called Name (case-insensitive)
 *           whose value, unfolded, contains text as a case-insensitive
 *           substring; "Name:" alone matches any such field. Substrings, not
 *           regular expressions: "Subject: [secure]" needs no escaping, and
 *           a match costs at most (value length x text length) byte
 *           comparisons whatever a sender writes (text is at most
 *           TR_MSGRULES_TEXT_MAX bytes; no backtracking).
 *
 * LEVELS
 *   encrypt, dane, dane-only, verify, secure (tls_level.h names, case-
 *   sensitive as in Postfix). Refused: none and may (a rule that requires
 *   nothing is a mistake), fingerprint (it needs digests, which belong in
 *   the destination's tls_policy_map entry).
 *
 * MATCHING
 *   Every rule is tried (a linear scan: rule tables are small); the result
 *   is the strongest level matched (the highest tls_level.h value), so the
 *   order of lines does not matter.
 *
 * ERRORS: TLSRELAY_CONFIG, dsn "4.3.5", text "FILE:LINE: reason" (the first
 * error stops the load), "FILE: cannot open: ...", "FILE: read error: ...";
 * TLSRELAY_INTERNAL "4.3.0" "out of memory".
 */
#ifndef TR_MSGRULES_H
#define TR_MSGRULES_H

#include <stddef.h>
#include "tlsrelay.h"
#include "tls_level.h"

#define TR_MSGRULES_LINE_MAX 4096
#define TR_MSGRULES_MAX      10000
#define TR_MSGRULES_TEXT_MAX 200    /* bytes of a header rule's text */

typedef enum tr_rule_type {
	TR_RULE_FROM,
	TR_RULE_TO,
	TR_RULE_HEADER
} tr_rule_type;

typedef struct tr_msgrules tr_msgrules;

/* Read and check the whole file. Returns a table owned by the caller
 * (tr_msgrules_free), or NULL with *st set (see ERRORS).
 * Returns: the table, or NULL with *st CONFIG 4.3.5, INTERNAL 4.3.0. */
tr_msgrules *tr_msgrules_load(const char *path, tlsrelay_status *st);

/* Parse rules from a NUL-terminated text; where names it in errors
 * ("where:LINE: reason"). Same syntax and errors as a file.
 * Returns: the table, or NULL with *st CONFIG 4.3.5, INTERNAL 4.3.0. */
tr_msgrules *tr_msgrules_parse(const char *text, const char *where,
                               tlsrelay_status *st);

void tr_msgrules_free(tr_msgrules *r);
size_t tr_msgrules_size(const tr_msgrules *r);

/* The strongest level of the rules of type that match, or TR_TLS_INVALID
 * when none does (or r is NULL). For TR_RULE_FROM and TR_RULE_TO, a is the
 * address ("user@domain", "<user@domain>", a source route "<@a,@b:u@d>" is
 * reduced to "u@d"; "" or "<>" matches no rule) and b is unused (NULL).
 * For TR_RULE_HEADER, a is the field name and b its value (CR and LF, as
 * in a folded value, are skipped). *line (may be NULL) gets the file line
 * of the strongest matching rule (the first one of that level). r is not
 * modified: concurrent calls are safe. */
tr_tls_level tr_msgrules_match(const tr_msgrules *r, tr_rule_type type,
                               const char *a, const char *b, int *line);

/* The rule at file line (as loaded: lower case, white space made single),
 * e.g. "to example.test", "to .example.test", "from alice@example.test",
 * "header subject: [secure]", into out (cap bytes, always terminated):
 * the origin of a requirement in log lines and policy sources. "" when no
 * rule is on that line or r is NULL. Returns out. */
char *tr_msgrules_describe(const tr_msgrules *r, int line, char *out, size_t cap);

#endif

/*
 * sts_policy.h - MTA-STS (RFC 8461) texts: the policy file, its MX
 * patterns and the _mta-sts TXT record (sts_policy.c). No I/O.
 *
 * POLICY FILE (RFC 8461 section 3.2), parsed by its grammar; a refused
 * policy counts as a failed fetch (the caller keeps a cached policy or
 * applies none):
 *   - lines "key: value", LF or CRLF ends, the last line end optional;
 *     white space (SP, TAB) after ':' and at the end of a line ignored;
 *   - version: STSv1            required;
 *   - mode: enforce|testing|none  required (case-sensitive);
 *   - max_age: 1..10 digits     required; values above 31557600 (one year,
 *                               the RFC's maximum) are clamped to it;
 *   - mx: PATTERN               repeatable; at least one unless mode is
 *                               none; ["*."] Domain (RFC 5321: LDH labels
 *                               of 1..63 bytes, no '-' at either end), so
 *                               "*.com" and a single label are patterns;
 *                               stored lower case;
 *   - a repeated version, mode or max_age: the first counts, the later
 *     ones are ignored (3.2: "all entries except for the first SHOULD be
 *     ignored"); they must still be well-formed lines;
 *   - other keys (extensions) are ignored; their name is 1..32 of
 *     [A-Za-z0-9_.-] starting with a letter or digit, their value at least
 *     one visible character: printable ASCII or UTF-8 (RFC 3629), spaces
 *     inside;
 *   - refused: anything else, among them an empty line in the middle, a
 *     line without ':', white space before the key, a control byte, a NUL,
 *     bytes >= 0x80 outside an extension value, more than
 *     TR_STS_POLICY_MAX bytes (the fetch limit, 64 KB).
 *   Outside the grammar but accepted (each has one meaning, and refusing
 *   the whole policy would drop the domain's protection; the RFC makes
 *   refusal mandatory only for a missing field): one empty line at the
 *   very end, and a trailing dot on an mx pattern (dropped).
 *   The RFC sets no limit on mx lines: TR_STS_MAX_MX patterns and
 *   TR_STS_MX_BYTES bytes of them are kept, far beyond real policies;
 *   further mx lines are ignored and counted in mx_ignored (the policy is
 *   kept: under enforce a host matching only an ignored pattern is not
 *   used, which defers rather than weakens).
 *
 * MX PATTERNS (RFC 8461 section 4.1): "mx.example.com" matches that host
 * only; "*.example.com" matches exactly one more label on the left
 * ("a.example.com", not "example.com" nor "a.b.example.com"). Comparison is
 * case-insensitive, a trailing dot on the host is ignored.
 *
 * TXT RECORD (RFC 8461 section 3.1), by its grammar:
 *   "v=STSv1" *WSP ";" then fields "name=value" separated by *WSP ";" *WSP,
 *   one optional ";" (and white space) at the end. A text that does not
 *   begin with "v=STSv1" and *WSP ";" is not an STS record. In an STS
 *   record: id=1..32 letters or digits, required; other fields are
 *   extensions (name as in the policy, value 1* of %x21-7E but '=' and
 *   ';'), ignored; a repeated id: the first counts. Anything else (an
 *   empty field "id=a;;", "more=", "test==", a 33-byte name, "1%=a",
 *   white space at the end without ';') makes the record invalid, which
 *   RFC 8461 3.1 treats as no policy.
 */
#ifndef TR_STS_POLICY_H
#define TR_STS_POLICY_H

#include <stddef.h>

#define TR_STS_POLICY_MAX  65536     /* bytes of a policy file at most */
#define TR_STS_MAX_MX      1024      /* mx patterns kept at most */
#define TR_STS_MX_BYTES    32768     /* bytes of kept patterns, NULs included */
#define TR_STS_ID_MAX      33        /* id + NUL */
#define TR_STS_MAX_AGE_MAX 31557600L /* RFC 8461 3.2 */
/* Room for tr_sts_policy_format() of any policy, NUL included. */
#define TR_STS_POLICY_TEXT_MAX (TR_STS_MX_BYTES + 5 * TR_STS_MAX_MX + 64)

typedef enum tr_sts_mode {
	TR_STS_MODE_NONE = 0,
	TR_STS_MODE_TESTING,
	TR_STS_MODE_ENFORCE
} tr_sts_mode;

/* A parsed policy: a plain value (copied with '=' or memcpy). The mx
 * patterns are read with tr_sts_policy_mx(). */
typedef struct tr_sts_policy {
	tr_sts_mode mode;
	long max_age;                        /* seconds, 0..TR_STS_MAX_AGE_MAX */
	int nmx;                             /* patterns kept */
	int mx_ignored;                      /* mx lines beyond the limits */
	unsigned mx_used;                    /* bytes of mx_buf in use */
	unsigned short mx_off[TR_STS_MAX_MX]; /* pattern i at mx_buf + mx_off[i] */
	char mx_buf[TR_STS_MX_BYTES];        /* lower case, no trailing dot, NUL
	                                      * after each */
} tr_sts_policy;

/* Parse text[0..len) (need not be NUL-terminated). 0 with *out filled, or
 * -1 with a one-line reason in err (cap bytes) and *out unspecified. */
int tr_sts_policy_parse(const char *text, size_t len, tr_sts_policy *out,
                        char *err, size_t cap);

/* Pattern i (0..nmx-1) of p: valid while p is. */
const char *tr_sts_policy_mx(const tr_sts_policy *p, int i);

/* Does host match pattern (see MX PATTERNS)? 1 yes, 0 no. */
int tr_sts_pattern_match(const char *pattern, const char *host);

/* Does host match one of p's mx patterns? 1 yes, 0 no. */
int tr_sts_mx_match(const tr_sts_policy *p, const char *host);

/* "enforce", "testing", "none". */
const char *tr_sts_mode_name(tr_sts_mode m);

/* What one TXT record's text (the strings joined) is. */
typedef enum tr_sts_txt_res {
	TR_STS_TXT_INVALID = -1, /* an STSv1 record outside the grammar or
	                          * without an id (RFC 8461 3.1: no policy) */
	TR_STS_TXT_OTHER = 0,    /* not an STS record (does not begin with
	                          * "v=STSv1" *WSP ";") */
	TR_STS_TXT_ID = 1        /* an STSv1 record, its id copied to id */
} tr_sts_txt_res;

/* Parse txt; id: TR_STS_ID_MAX bytes. */
tr_sts_txt_res tr_sts_txt_parse(const char *txt, char *id);

/* The RFC 8460 "policy-string" form of p: one string per line of the
 * canonical policy ("version: STSv1", "mode: ...", "mx: ..."...,
 * "max_age: N") joined with '\n' into out; TR_STS_POLICY_TEXT_MAX bytes
 * always suffice. Returns out (truncated, always NUL-terminated when
 * cap > 0). */
char *tr_sts_policy_format(const tr_sts_policy *p, char *out, size_t cap);

#endif

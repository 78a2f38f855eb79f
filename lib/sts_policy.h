/*
 * sts_policy.h - MTA-STS (RFC 8461) texts: the policy file, its MX
 * patterns and the _mta-sts TXT record (sts_policy.c). No I/O.
 *
 * POLICY FILE (RFC 8461 section 3.2), parsed strictly: a policy that is not
 * exactly right is refused, and a refused policy counts as a failed fetch
 * (the caller keeps a cached policy or applies none).
 *   - lines "key: value", LF or CRLF ends, the last line end optional;
 *     white space (SP, TAB) after ':' and at the end of the value ignored;
 *   - version: STSv1            exactly once, required;
 *   - mode: enforce|testing|none  exactly once, required (case-sensitive);
 *   - max_age: 1..10 digits     exactly once, required; values above
 *                               31557600 (one year, the RFC's maximum) are
 *                               clamped to it, not refused;
 *   - mx: PATTERN               repeatable (at most TR_STS_MAX_MX); at least
 *                               one unless mode is none; a host name or
 *                               "*." + a domain of at least two labels,
 *                               LDH labels of 1..63 bytes, no trailing dot
 *                               (one is tolerated and dropped), stored lower
 *                               case;
 *   - other keys (extensions, RFC 8461 3.2) are ignored when their name is
 *     1..32 of [A-Za-z0-9_.-] and the value printable ASCII;
 *   - refused: an empty line in the middle, a line without ':', a repeated
 *     version/mode/max_age, control bytes, NUL, more than TR_STS_POLICY_MAX
 *     bytes (the fetch limit, 64 KB).
 *
 * MX PATTERNS (RFC 8461 section 4.1): "mx.example.com" matches that host
 * only; "*.example.com" matches exactly one more label on the left
 * ("a.example.com", not "example.com" nor "a.b.example.com"). Comparison is
 * case-insensitive, a trailing dot on the host is ignored.
 *
 * TXT RECORD (RFC 8461 section 3.1): "v=STSv1; id=ID;" fields separated by
 * ';' with optional white space, "v=STSv1" first, id 1..32 letters or
 * digits, other fields (extensions) ignored.
 */
#ifndef TR_STS_POLICY_H
#define TR_STS_POLICY_H

#include <stddef.h>

#define TR_STS_POLICY_MAX  65536     /* bytes of a policy file at most */
#define TR_STS_MAX_MX      32        /* mx lines kept at most */
#define TR_STS_ID_MAX      33        /* id + NUL */
#define TR_STS_MAX_AGE_MAX 31557600L /* RFC 8461 3.2 */

typedef enum tr_sts_mode {
	TR_STS_MODE_NONE = 0,
	TR_STS_MODE_TESTING,
	TR_STS_MODE_ENFORCE
} tr_sts_mode;

typedef struct tr_sts_policy {
	tr_sts_mode mode;
	long max_age;                        /* seconds, 0..TR_STS_MAX_AGE_MAX */
	char mx[TR_STS_MAX_MX][256];         /* lower case, no trailing dot */
	int nmx;
} tr_sts_policy;

/* Parse text[0..len) (need not be NUL-terminated). 0 with *out filled, or
 * -1 with a one-line reason in err (cap bytes) and *out unspecified. */
int tr_sts_policy_parse(const char *text, size_t len, tr_sts_policy *out,
                        char *err, size_t cap);

/* Does host match pattern (see MX PATTERNS)? 1 yes, 0 no. */
int tr_sts_pattern_match(const char *pattern, const char *host);

/* Does host match one of p's mx patterns? 1 yes, 0 no. */
int tr_sts_mx_match(const tr_sts_policy *p, const char *host);

/* "enforce", "testing", "none". */
const char *tr_sts_mode_name(tr_sts_mode m);

/* One TXT record's text (the strings joined). 1 = an STSv1 record, its id
 * copied to id (TR_STS_ID_MAX bytes); 0 = not an STS record (does not
 * start with "v=STSv1"); -1 = an STSv1 record with a bad or missing id. */
int tr_sts_txt_parse(const char *txt, char *id);

/* The RFC 8460 "policy-string" form of p: one string per line of the
 * canonical policy ("version: STSv1", "mode: ...", "mx: ..."...,
 * "max_age: N") joined with '\n' into out. Returns out (truncated, always
 * NUL-terminated when cap > 0). */
char *tr_sts_policy_format(const tr_sts_policy *p, char *out, size_t cap);

#endif

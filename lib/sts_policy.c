/*
 * sts_policy.c - MTA-STS policy file, MX patterns and TXT record (see
 * sts_policy.h). Pure text processing: no I/O, no allocation.
 *
 * Decisions:
 * - The grammar of RFC 8461 3.1 and 3.2, checked production by production
 *   (the tables in tests/unit/test_sts_policy.c come from the RFC and from
 *   the test corpora of other implementations): a policy or record outside
 *   it is refused, a well-formed one is never dropped for what the RFC
 *   allows (a repeated field: the first counts; "*.com"; UTF-8 in an
 *   extension value; any number of mx lines).
 * - Two forms outside the policy grammar are accepted (sts_policy.h says
 *   which and why); none in the TXT record, where RFC 8461 3.1 makes a
 *   record outside the grammar mean "no policy".
 * - max_age above one year is clamped to one year (the RFC's maximum)
 *   rather than refused: the digits are well-formed, only the value is
 *   large, and the cache must never keep a policy longer than a year.
 */
#include "config.h"
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "buf.h"
#include "sts_policy.h"

#define FIELD_VERSION 1
#define FIELD_MODE    2
#define FIELD_MAXAGE  4

const char *tr_sts_mode_name(tr_sts_mode m)
{
	switch (m) {
	case TR_STS_MODE_ENFORCE: return "enforce";
	case TR_STS_MODE_TESTING: return "testing";
	default:                  return "none";
	}
}

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* sts-ext-name / sts-policy-ext-name: (ALPHA / DIGIT) *31(ALPHA / DIGIT /
 * "_" / "-" / "."). */
static int ext_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 32 || !is_alnum(s[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
			return 0;
	return 1;
}

/* Length of the UTF-8 sequence at s (n bytes left) if it is one of RFC
 * 3629's UTF8-2, UTF8-3 or UTF8-4 (no overlong form, no surrogate, at most
 * U+10FFFF), else 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 :
	             c >= 0xf0 && c <= 0xf4 ? 4 : 0;
	unsigned char lo = 0x80, hi = 0xbf;

	if (len == 0 || len > n)
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* sts-policy-ext-value (already trimmed of white space): vchar
 * [*(SP / vchar) vchar], vchar = %x21-7E / UTF-8. */
static int ext_value_ok(const char *v, size_t n, const char **why)
{
	const unsigned char *s = (const unsigned char *)v;

	*why = "bad extension value";
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n;) {
		size_t k;

		if (s[i] == ' ' || (s[i] >= 0x21 && s[i] <= 0x7e)) {
			i++;
			continue;
		}
		if (s[i] < 0x80 || (k = utf8_len(s + i, n - i)) == 0) {
			*why = s[i] < 0x80 ? "bad extension value" : "extension value is not UTF-8";
			return 0;
		}
		i += k;
	}
	return 1;
}

/* A host name label (RFC 5321 sub-domain): LDH, 1..63 bytes, not starting
 * or ending with '-'. */
static int label_ok(const char *s, size_t n)
{
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return 0;
	return 1;
}

/* sts-policy-mx-value ["*."] Domain of n bytes (a trailing dot tolerated
 * and dropped), appended lower case to p. 0 stored, 1 valid but past the
 * limits (counted in mx_ignored), -1 invalid. */
static int pattern_store(const char *s, size_t n, tr_sts_policy *p)
{
	size_t start = n > 2 && s[0] == '*' && s[1] == '.' ? 2 : 0;
	char *out;

	if (n > start + 1 && s[n - 1] == '.')
		n--;
	if (n <= start || n > 253)
		return -1;
	for (size_t i = start, from = start; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (!label_ok(s + from, i - from))
			return -1;
		from = i + 1;
	}
	if (p->nmx >= TR_STS_MAX_MX || p->mx_used + n + 1 > TR_STS_MX_BYTES) {
		p->mx_ignored++;
		return 1;
	}
	out = p->mx_buf + p->mx_used;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[n] = '\0';
	p->mx_off[p->nmx++] = (unsigned short)p->mx_used;
	p->mx_used += (unsigned)n + 1;
	return 0;
}

const char *tr_sts_policy_mx(const tr_sts_policy *p, int i)
{
	return i >= 0 && i < p->nmx ? p->mx_buf + p->mx_off[i] : "";
}

static int fail(char *err, size_t cap, int line, const char *why)
{
	if (cap > 0)
		snprintf(err, cap, "line %d: %s", line, why);
	return -1;
}

/* The mode value, or -1. */
static int mode_value(const char *v, size_t n)
{
	if (n == 7 && memcmp(v, "enforce", 7) == 0)
		return TR_STS_MODE_ENFORCE;
	if (n == 7 && memcmp(v, "testing", 7) == 0)
		return TR_STS_MODE_TESTING;
	if (n == 4 && memcmp(v, "none", 4) == 0)
		return TR_STS_MODE_NONE;
	return -1;
}

/* The max_age value (1..10 digits, clamped to a year), or -1. */
static long max_age_value(const char *v, size_t n)
{
	long age = 0;

	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)v[i]))
			return -1;
		age = age * 10 + (v[i] - '0');
		if (age > TR_STS_MAX_AGE_MAX)
			age = TR_STS_MAX_AGE_MAX + 1;
	}
	return age > TR_STS_MAX_AGE_MAX ? TR_STS_MAX_AGE_MAX : age;
}

/* Which of version/mode/max_age key k is (FIELD_*), 0 for another. */
static unsigned single_field(const char *k, size_t n)
{
	if (n == 7 && memcmp(k, "version", 7) == 0)
		return FIELD_VERSION;
	if (n == 4 && memcmp(k, "mode", 4) == 0)
		return FIELD_MODE;
	if (n == 7 && memcmp(k, "max_age", 7) == 0)
		return FIELD_MAXAGE;
	return 0;
}

/* One "key: value" line (key checked, value trimmed). 0 ok, -1 with *why.
 * A repeated version/mode/max_age only has to be a well-formed field. */
static int policy_field(const char *k, size_t klen, const char *v, size_t vlen,
                        tr_sts_policy *out, unsigned *seen, const char **why)
{
	unsigned f = single_field(k, klen);
	long n;

	if (f & *seen) {                                /* ignored (RFC 8461 3.2) */
		if (ext_value_ok(v, vlen, why))
			return 0;
		*why = "repeated field with a bad value";
		return -1;
	}
	*seen |= f;
	switch (f) {
	case FIELD_VERSION:
		*why = "version is not STSv1";
		return vlen == 5 && memcmp(v, "STSv1", 5) == 0 ? 0 : -1;
	case FIELD_MODE:
		*why = "mode is not enforce, testing or none";
		if ((n = mode_value(v, vlen)) < 0)
			return -1;
		out->mode = (tr_sts_mode)n;
		return 0;
	case FIELD_MAXAGE:
		*why = "max_age is not 1 to 10 digits";
		if ((n = max_age_value(v, vlen)) < 0)
			return -1;
		out->max_age = n;
		return 0;
	default:
		break;
	}
	if (klen == 2 && memcmp(k, "mx", 2) == 0) {
		*why = "bad mx pattern";
		return pattern_store(v, vlen, out) < 0 ? -1 : 0;
	}
	return ext_value_ok(v, vlen, why) ? 0 : -1;     /* an extension: ignored */
}

/* Split one line (no line end) at ':' and trim. Bytes >= 0x80 are left
 * to the value checks: only an extension value may hold them (UTF-8). */
static int policy_line(const char *s, size_t n, tr_sts_policy *out,
                       unsigned *seen, const char **why)
{
	const char *colon = memchr(s, ':', n);
	size_t klen, vstart, vend = n;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f) {
			*why = "control byte";
			return -1;
		}
	if (colon == NULL) {
		*why = n == 0 ? "empty line" : "no ':' in the line";
		return -1;
	}
	klen = (size_t)(colon - s);
	if (!ext_name_ok(s, klen)) {
		*why = "bad field name";
		return -1;
	}
	vstart = klen + 1;
	while (vstart < n && is_wsp(s[vstart]))
		vstart++;
	while (vend > vstart && is_wsp(s[vend - 1]))
		vend--;
	return policy_field(s, klen, s + vstart, vend - vstart, out, seen, why);
}

int tr_sts_policy_parse(const char *text, size_t len, tr_sts_policy *out,
                        char *err, size_t cap)
{
	unsigned seen = 0;
	size_t pos = 0;
	int line = 0;
	const char *why = "";

	memset(out, 0, offsetof(tr_sts_policy, mx_off));
	if (len > TR_STS_POLICY_MAX)
		return fail(err, cap, 0, "policy larger than 64 KB");
	while (pos < len) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;

		line++;
		pos += n + (nl != NULL);
		if (n > 0 && s[n - 1] == '\r' && nl != NULL)
			n--;
		if (n == 0 && pos >= len)
			break;          /* a trailing empty line after the last end */
		if (policy_line(s, n, out, &seen, &why) < 0)
			return fail(err, cap, line, why);
	}
	if (!(seen & FIELD_VERSION))
		return fail(err, cap, line, "no version: STSv1");
	if (!(seen & FIELD_MODE))
		return fail(err, cap, line, "no mode");
	if (!(seen & FIELD_MAXAGE))
		return fail(err, cap, line, "no max_age");
	if (out->nmx == 0 && out->mode != TR_STS_MODE_NONE)
		return fail(err, cap, line, "no mx pattern");
	return 0;
}

int tr_sts_pattern_match(const char *pattern, const char *host)
{
	size_t hl = strlen(host);
	const char *dot;

	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	if (pattern[0] != '*')
		return strlen(pattern) == hl && strncasecmp(pattern, host, hl) == 0;
	/* "*.example.com": one non-empty label, then ".example.com". */
	dot = memchr(host, '.', hl);
	if (dot == NULL || dot == host)
		return 0;
	return strlen(pattern + 1) == hl - (size_t)(dot - host) &&
	       strncasecmp(pattern + 1, dot, hl - (size_t)(dot - host)) == 0;
}

int tr_sts_mx_match(const tr_sts_policy *p, const char *host)
{
	for (int i = 0; i < p->nmx; i++)
		if (tr_sts_pattern_match(tr_sts_policy_mx(p, i), host))
			return 1;
	return 0;
}

/* ------------------------------------------------------------ TXT */

/* One field of an STS record at *pp ("name=value"); *pp moves past it.
 * The first id is copied to id. 0 ok, -1 outside the grammar. */
static int txt_field(const char **pp, char *id, int *have_id)
{
	const char *p = *pp, *name = p, *v;
	size_t nlen, vlen;

	while (is_alnum(*p) || *p == '_' || *p == '-' || *p == '.')
		p++;
	nlen = (size_t)(p - name);
	if (!ext_name_ok(name, nlen) || *p++ != '=')
		return -1;
	for (v = p; *p >= 0x21 && *p <= 0x7e && *p != '=' && *p != ';'; p++)
		;
	vlen = (size_t)(p - v);
	if (vlen == 0)
		return -1;
	*pp = p;
	if (nlen != 2 || memcmp(name, "id", 2) != 0 || *have_id)
		return 0;                        /* an extension, or a later id */
	if (vlen >= TR_STS_ID_MAX)
		return -1;
	for (size_t i = 0; i < vlen; i++)
		if (!is_alnum(v[i]))
			return -1;
	memcpy(id, v, vlen);
	id[vlen] = '\0';
	*have_id = 1;
	return 0;
}

tr_sts_txt_res tr_sts_txt_parse(const char *txt, char *id)
{
	const char *p = txt;
	int have_id = 0;

	if (strncmp(p, "v=STSv1", 7) != 0)
		return TR_STS_TXT_OTHER;
	for (p += 7; is_wsp(*p); p++)
		;
	if (*p != ';')
		return TR_STS_TXT_OTHER;         /* "v=STSv10", "v=STSv1 id=..." */
	for (;;) {
		/* at a ';': the end, or *WSP and a field */
		for (p++; is_wsp(*p); p++)
			;
		if (*p == '\0')
			break;
		if (txt_field(&p, id, &have_id) < 0)
			return TR_STS_TXT_INVALID;
		if (*p == '\0')
			break;
		while (is_wsp(*p))
			p++;
		if (*p != ';')
			return TR_STS_TXT_INVALID;   /* junk, or white space at the end */
	}
	return have_id ? TR_STS_TXT_ID : TR_STS_TXT_INVALID;
}

char *tr_sts_policy_format(const tr_sts_policy *p, char *out, size_t cap)
{
	tr_buf b;

	if (cap == 0)
		return out;
	tr_buf_fixed(&b, out, cap);
	tr_buf_printf(&b, "version: STSv1\nmode: %s", tr_sts_mode_name(p->mode));
	for (int i = 0; i < p->nmx; i++)
		tr_buf_printf(&b, "\nmx: %s", tr_sts_policy_mx(p, i));
	tr_buf_printf(&b, "\nmax_age: %ld", p->max_age);
	return out;
}

/*
 * sts_policy.c - MTA-STS policy file, MX patterns and TXT record (see
 * sts_policy.h). Pure text processing: no I/O, no allocation.
 *
 * Decisions:
 * - Strict: a repeated version/mode/max_age, a line without ':', an empty
 *   line between fields or a control byte refuses the whole policy. The RFC
 *   gives the grammar; a policy outside it is a publisher's error, and
 *   refusing it is the safe side (a cached good policy stays in force).
 * - max_age above one year is clamped to one year (the RFC's maximum)
 *   rather than refused: the digits are well-formed, only the value is
 *   large, and the cache must never keep a policy longer than a year.
 * - Extension keys are ignored (RFC 8461 3.2: unknown fields are ignored).
 */
#include "config.h"
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
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

/* A host name label: LDH, 1..63 bytes, not starting or ending with '-'. */
static int label_ok(const char *s, size_t n)
{
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

/* Check an mx pattern of n bytes and store it lower case in out (256). */
static int pattern_store(const char *s, size_t n, char *out)
{
	int wild = n > 2 && s[0] == '*' && s[1] == '.';
	size_t start = wild ? 2 : 0, labels = 0;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n <= start || n > 253)
		return -1;
	for (size_t i = start; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (!label_ok(s + start, i - start))
			return -1;
		labels++;
		start = i + 1;
	}
	if (wild && labels < 2)
		return -1;           /* "*.com" would match every .com host */
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[n] = '\0';
	return 0;
}

static int fail(char *err, size_t cap, int line, const char *why)
{
	if (cap > 0)
		snprintf(err, cap, "line %d: %s", line, why);
	return -1;
}

/* One "key: value" line (no line end). 0 ok, -1 with *why. */
static int policy_field(const char *k, size_t klen, const char *v, size_t vlen,
                        tr_sts_policy *out, unsigned *seen, const char **why)
{
	if (klen == 7 && memcmp(k, "version", 7) == 0) {
		*why = (*seen & FIELD_VERSION) ? "version repeated" : "version is not STSv1";
		if ((*seen & FIELD_VERSION) || vlen != 5 || memcmp(v, "STSv1", 5) != 0)
			return -1;
		*seen |= FIELD_VERSION;
	} else if (klen == 4 && memcmp(k, "mode", 4) == 0) {
		*why = (*seen & FIELD_MODE) ? "mode repeated" : "mode is not enforce, testing or none";
		if (*seen & FIELD_MODE)
			return -1;
		if (vlen == 7 && memcmp(v, "enforce", 7) == 0)
			out->mode = TR_STS_MODE_ENFORCE;
		else if (vlen == 7 && memcmp(v, "testing", 7) == 0)
			out->mode = TR_STS_MODE_TESTING;
		else if (vlen == 4 && memcmp(v, "none", 4) == 0)
			out->mode = TR_STS_MODE_NONE;
		else
			return -1;
		*seen |= FIELD_MODE;
	} else if (klen == 7 && memcmp(k, "max_age", 7) == 0) {
		long age = 0;

		*why = (*seen & FIELD_MAXAGE) ? "max_age repeated" : "max_age is not 1 to 10 digits";
		if ((*seen & FIELD_MAXAGE) || vlen == 0 || vlen > 10)
			return -1;
		for (size_t i = 0; i < vlen; i++) {
			if (!isdigit((unsigned char)v[i]))
				return -1;
			age = age * 10 + (v[i] - '0');
			if (age > TR_STS_MAX_AGE_MAX)
				age = TR_STS_MAX_AGE_MAX + 1;
		}
		out->max_age = age > TR_STS_MAX_AGE_MAX ? TR_STS_MAX_AGE_MAX : age;
		*seen |= FIELD_MAXAGE;
	} else if (klen == 2 && memcmp(k, "mx", 2) == 0) {
		*why = out->nmx >= TR_STS_MAX_MX ? "too many mx lines" : "bad mx pattern";
		if (out->nmx >= TR_STS_MAX_MX || pattern_store(v, vlen, out->mx[out->nmx]) < 0)
			return -1;
		out->nmx++;
	} else {
		*why = "bad field name";
		if (klen == 0 || klen > 32)
			return -1;
		for (size_t i = 0; i < klen; i++)
			if (!isalnum((unsigned char)k[i]) && !strchr("_.-", k[i]))
				return -1;
	}
	return 0;
}

/* Split one line at ':' and trim; reject control bytes. */
static int policy_line(const char *s, size_t n, tr_sts_policy *out,
                       unsigned *seen, const char **why)
{
	const char *colon = memchr(s, ':', n);
	size_t klen, vstart, vend = n;

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t') {
			*why = "control byte";
			return -1;
		} else if ((unsigned char)s[i] >= 0x7f) {
			*why = "byte outside printable ASCII";
			return -1;
		}
	if (colon == NULL) {
		*why = n == 0 ? "empty line" : "no ':' in the line";
		return -1;
	}
	klen = (size_t)(colon - s);
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

	memset(out, 0, sizeof *out);
	if (len > TR_STS_POLICY_MAX)
		return fail(err, cap, 0, "policy larger than 64 KB");
	while (pos < len) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;

		line++;
		pos += n + (nl != NULL);
		if (n > 0 && s[n - 1] == '\r')
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
		if (tr_sts_pattern_match(p->mx[i], host))
			return 1;
	return 0;
}

/* ------------------------------------------------------------ TXT */

int tr_sts_txt_parse(const char *txt, char *id)
{
	const char *p = txt;
	int first = 1, have_id = 0;

	while (*p) {
		const char *end = strchr(p, ';'), *eq;
		size_t n;

		while (is_wsp(*p))
			p++;
		n = end ? (size_t)(end - p) : strlen(p);
		while (n > 0 && is_wsp(p[n - 1]))
			n--;
		if (first) {
			if (n != 7 || memcmp(p, "v=STSv1", 7) != 0)
				return 0;
			first = 0;
		} else if (n > 3 && memcmp(p, "id=", 3) == 0 && !have_id) {
			if (n - 3 >= TR_STS_ID_MAX)
				return -1;
			for (size_t i = 3; i < n; i++)
				if (!isalnum((unsigned char)p[i]))
					return -1;
			memcpy(id, p + 3, n - 3);
			id[n - 3] = '\0';
			have_id = 1;
		} else if (n > 0 && ((eq = memchr(p, '=', n)) == NULL || eq == p)) {
			return -1;      /* a field must be name=value */
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	if (first)
		return 0;
	return have_id ? 1 : -1;
}

char *tr_sts_policy_format(const tr_sts_policy *p, char *out, size_t cap)
{
	size_t used;

	if (cap == 0)
		return out;
	used = (size_t)snprintf(out, cap, "version: STSv1\nmode: %s", tr_sts_mode_name(p->mode));
	for (int i = 0; i < p->nmx && used < cap; i++)
		used += (size_t)snprintf(out + used, cap - used, "\nmx: %s", p->mx[i]);
	if (used < cap)
		snprintf(out + used, cap - used, "\nmax_age: %ld", p->max_age);
	return out;
}

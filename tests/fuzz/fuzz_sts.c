/*
 * fuzz_sts.c - libFuzzer target: the MTA-STS texts (sts_policy.c), which a
 * remote party writes: the policy file fetched over HTTPS
 * (tr_sts_policy_parse) and the _mta-sts TXT record (tr_sts_txt_parse).
 *
 * The input is a whole policy file; its first line (up to LF, at most 512
 * bytes) is also parsed as a TXT record. Checked:
 * - a refused policy has a printable one-line reason;
 * - an accepted one has a known mode, max_age within 0..TR_STS_MAX_AGE_MAX,
 *   at most TR_STS_MAX_MX patterns in TR_STS_MX_BYTES, an mx pattern unless
 *   the mode is none, and every pattern in the form the matcher relies on
 *   (non-empty, lower case, LDH labels, "*." only as a prefix, no trailing
 *   dot);
 * - its canonical form (tr_sts_policy_format, which TLS-RPT reports and the
 *   fleet store carry) parses again to the same policy;
 * - an STS TXT record's id is 1..32 letters or digits.
 */
#include "config.h"
#include "fuzz.h"
#include "sts_policy.h"

static const char *const hosts[] = {
	"mx.example.com", "a.example.com", "example.com", "MX.EXAMPLE.COM.", "x", "",
};

static int pattern_ok(const char *p)
{
	size_t n = strlen(p);

	if (strncmp(p, "*.", 2) == 0)
		p += 2, n -= 2;
	if (n == 0 || p[n - 1] == '.' || p[0] == '.')
		return 0;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      (*p == '.' && p[1] != '.')))
			return 0;
	return 1;
}

static void same_policy(const tr_sts_policy *a, const tr_sts_policy *b)
{
	fuzz_check(a->mode == b->mode && a->max_age == b->max_age && a->nmx == b->nmx,
	           "the canonical form parses to the same mode, max_age and patterns");
	for (int i = 0; i < a->nmx; i++)
		fuzz_check(strcmp(tr_sts_policy_mx(a, i), tr_sts_policy_mx(b, i)) == 0,
		           "the canonical form keeps every pattern");
}

static void check_policy(const uint8_t *data, size_t size)
{
	static tr_sts_policy p, q;
	static char text[TR_STS_POLICY_TEXT_MAX];
	char err[256];

	err[0] = '\0';
	if (tr_sts_policy_parse((const char *)data, size, &p, err, sizeof err) < 0) {
		fuzz_check(err[0] != '\0' && fuzz_printable(err), "a refusal has a printable reason");
		return;
	}
	fuzz_check(p.mode == TR_STS_MODE_NONE || p.mode == TR_STS_MODE_TESTING ||
	           p.mode == TR_STS_MODE_ENFORCE, "a known mode");
	fuzz_check(p.max_age >= 0 && p.max_age <= TR_STS_MAX_AGE_MAX, "max_age within bounds");
	fuzz_check(p.nmx >= 0 && p.nmx <= TR_STS_MAX_MX && p.mx_used <= TR_STS_MX_BYTES,
	           "the patterns within their limits");
	fuzz_check(p.mode == TR_STS_MODE_NONE || p.nmx + p.mx_ignored > 0,
	           "an mx pattern unless the mode is none");
	for (int i = 0; i < p.nmx; i++)
		fuzz_check(pattern_ok(tr_sts_policy_mx(&p, i)), "a pattern in canonical form");
	for (size_t h = 0; h < sizeof hosts / sizeof hosts[0]; h++)
		(void)tr_sts_mx_match(&p, hosts[h]);
	tr_sts_policy_format(&p, text, sizeof text);
	fuzz_check(strlen(text) < sizeof text - 1, "the canonical form fits its buffer");
	fuzz_check(tr_sts_policy_parse(text, strlen(text), &q, err, sizeof err) == 0,
	           "the canonical form parses");
	same_policy(&p, &q);
}

static void check_txt(const uint8_t *data, size_t size)
{
	char txt[513], id[TR_STS_ID_MAX];
	size_t n = 0;

	while (n < size && n < sizeof txt - 1 && data[n] != '\n' && data[n] != '\0')
		n++;
	memcpy(txt, data, n);
	txt[n] = '\0';
	memset(id, 0, sizeof id);
	if (tr_sts_txt_parse(txt, id) != TR_STS_TXT_ID)
		return;
	n = strlen(id);
	fuzz_check(n >= 1 && n <= 32, "an id of 1..32 characters");
	for (const char *c = id; *c; c++)
		fuzz_check((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		           (*c >= '0' && *c <= '9'), "an id of letters and digits");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > TR_STS_POLICY_MAX + 16)
		return 0;
	check_policy(data, size);
	check_txt(data, size);
	return 0;
}

/*
 * fuzz_policy.c - libFuzzer target: the TLS policy map parser and lookup
 * (policy.c).
 *
 * The input is a whole tls_policy file, read through a memfd; the same
 * bytes, up to the first LF, are also parsed as one policy value
 * (tr_policy_parse_value). After a successful load, a few nexthops are
 * looked up and every policy found is formatted. Checked: errors are
 * TLSRELAY_CONFIG/4.3.5 (or INTERNAL) with a printable text; a policy has
 * a known level, at most TR_POLICY_MAX_MATCH match values, match values
 * only at fingerprint/verify/secure, fingerprint with at least one digest;
 * the formatted policy is one printable line that fits TR_POLICY_TEXT_MAX.
 */
#include "config.h"
#include "fuzz.h"
#include "policy.h"

static const char *const hops[] = {
	"example.com", "[mx.example.com]:587", "a.b.example.com", "[mx.example.com]",
	"smtps:[relay.example.net]", "[ipv6:2001:db8::1]:25", "example.com:587",
	"com", "[192.0.2.1]",
};

static void check_policy(const tr_policy *p)
{
	static char text[TR_POLICY_TEXT_MAX];

	fuzz_check(tr_tls_level_name(p->level) != NULL, "known level");
	fuzz_check(p->nmatch >= 0 && p->nmatch <= TR_POLICY_MAX_MATCH, "match count");
	fuzz_check(p->nmatch == 0 || p->level >= TR_TLS_FINGERPRINT, "match only at >= fingerprint");
	fuzz_check(p->level != TR_TLS_FINGERPRINT || p->nmatch > 0, "fingerprint needs digests");
	tr_policy_format(p, text, sizeof text);
	fuzz_check(strlen(text) < sizeof text && fuzz_printable(text), "formatted policy");
}

static void check_error(tlsrelay_cat rc, const tlsrelay_status *st)
{
	fuzz_check(rc == TLSRELAY_CONFIG || rc == TLSRELAY_INTERNAL, "error category");
	fuzz_check(rc != TLSRELAY_CONFIG || strcmp(st->dsn, "4.3.5") == 0, "error dsn");
	fuzz_check(st->text[0] != '\0' && fuzz_printable(st->text), "error text");
}

static void one_value(const uint8_t *data, size_t size)
{
	char value[TR_POLICY_LINE_MAX + 64];
	const uint8_t *lf = memchr(data, '\n', size);
	size_t n = lf ? (size_t)(lf - data) : size;
	static tr_policy p;
	tlsrelay_status st;
	tlsrelay_cat rc;

	if (n >= sizeof value)
		n = sizeof value - 1;
	memcpy(value, data, n);
	value[n] = '\0';          /* a NUL inside ends the value early */
	rc = tr_policy_parse_value(value, "fuzz", &p, &st);
	if (rc == TLSRELAY_OK)
		check_policy(&p);
	else
		check_error(rc, &st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file(data, size, 0644);
	static tr_policy p;
	tlsrelay_status st;
	tr_policy_map *m;

	one_value(data, size);
	m = tr_policy_map_load(path, &st);
	if (m == NULL) {
		check_error(st.cat, &st);
		return 0;
	}
	for (size_t i = 0; i < sizeof hops / sizeof hops[0]; i++) {
		tr_nexthop nh;
		fuzz_check(tr_nexthop_parse(hops[i], &nh, NULL, 0) == 0, "test nexthop");
		if (tr_policy_lookup(m, &nh, &p))
			check_policy(&p);
	}
	tr_policy_map_free(m);
	return 0;
}

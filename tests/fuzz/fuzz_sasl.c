/*
 * fuzz_sasl.c - libFuzzer target: the SASL password map parser and lookup
 * (sasl.c), and the strict base64 decoder the AUTH LOGIN dialogue uses on
 * server challenges.
 *
 * The input is a whole sasl_passwd file (mode 0600, through a memfd); the
 * same bytes, up to the first LF, are decoded as base64. Checked: errors
 * are TLSRELAY_CONFIG/4.3.5 (or INTERNAL) with a printable text that
 * never holds a password of the input (see no_secret); found
 * credentials are non-empty and within their limits; a decoded length
 * fits the documented bound.
 */
#include "config.h"
#include "fuzz.h"
#include "sasl.h"

static const struct { const char *host; int port; const char *nh; } keys[] = {
	{ "relay.example.com", 587, "[relay.example.com]:587" },
	{ "mx.example.net", 25, "example.net" },
	{ "RELAY.EXAMPLE.COM", 25, NULL },
	{ "2001:db8::1", 587, "[ipv6:2001:db8::1]:587" },
	{ NULL, 0, "example.org" },
};

/* A password of the input that the check can recognise without chance
 * matches: 6+ bytes, an upper-case letter and a digit (the fixed texts
 * have no such word), found only once in the whole input (so no key
 * holds it). */
static int recognisable(const uint8_t *data, size_t size, const char *pass)
{
	size_t n = strlen(pass), seen = 0;
	int upper = 0, digit = 0;

	for (const char *c = pass; *c; c++) {
		upper |= *c >= 'A' && *c <= 'Z';
		digit |= *c >= '0' && *c <= '9';
	}
	for (size_t i = 0; i + n <= size; i++)
		seen += memcmp(data + i, pass, n) == 0;
	return n >= 6 && upper && digit && seen == 1;
}

/* The error text (after the file name) holds no password of a
 * "KEY USER:PASS" line of the input. */
static void no_secret(const uint8_t *data, size_t size, const char *path,
                      const char *text)
{
	const char *p = (const char *)data, *end = p + size;
	size_t plen = strlen(path);

	if (strncmp(text, path, plen) == 0)
		text += plen;
	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		const char *le = lf ? lf : end, *colon = memchr(p, ':', (size_t)(le - p));
		const char *sp = memchr(p, ' ', (size_t)(le - p));
		char pass[64];
		size_t n;

		if (sp && colon && colon > sp) {
			n = (size_t)(le - colon - 1);
			if (n > 0 && colon[n] == '\r')
				n--;
			if (n < sizeof pass && !memchr(colon + 1, '\0', n)) {
				memcpy(pass, colon + 1, n);
				pass[n] = '\0';
				if (recognisable(data, size, pass))
					fuzz_check(strstr(text, pass) == NULL, "password in error text");
			}
		}
		p = lf ? lf + 1 : end;
	}
}

static void decode(const uint8_t *data, size_t size)
{
	static char in[TR_SASL_LINE_MAX + 1], out[TR_SASL_LINE_MAX];
	const uint8_t *lf = memchr(data, '\n', size);
	size_t n = lf ? (size_t)(lf - data) : size, got = 99;

	if (n > TR_SASL_LINE_MAX)
		n = TR_SASL_LINE_MAX;
	memcpy(in, data, n);
	in[n] = '\0';
	if (tr_sasl_b64_decode(in, out, strlen(in) / 4 * 3 + 1, &got) == 0)
		fuzz_check(got <= strlen(in) / 4 * 3 && out[got] == '\0', "decoded length");
	else
		fuzz_check(got == 0, "failed decode length");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file(data, size, 0600);
	tlsrelay_status st;
	tr_sasl_map *m;

	decode(data, size);
	m = tr_sasl_map_load(path, &st);
	if (m == NULL) {
		fuzz_check(st.cat == TLSRELAY_CONFIG || st.cat == TLSRELAY_INTERNAL, "error category");
		fuzz_check(st.text[0] != '\0' && fuzz_printable(st.text), "error text");
		no_secret(data, size, path, st.text);
		return 0;
	}
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		tr_nexthop nh;
		tr_sasl_cred c;
		if (keys[i].nh)
			fuzz_check(tr_nexthop_parse(keys[i].nh, &nh, NULL, 0) == 0, "test nexthop");
		if (tr_sasl_lookup(m, keys[i].host, keys[i].port, keys[i].nh ? &nh : NULL, &c)) {
			fuzz_check(c.user && c.pass && *c.user && *c.pass, "non-empty credentials");
			fuzz_check(strlen(c.user) <= TR_SASL_USER_MAX && strlen(c.pass) <= TR_SASL_PASS_MAX,
			           "credential limits");
			fuzz_check(fuzz_printable(c.key), "key printable");
		}
	}
	tr_sasl_map_free(m);
	return 0;
}

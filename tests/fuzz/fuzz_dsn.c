/*
 * fuzz_dsn.c - libFuzzer target: the DSN syntax rules of lib/dsn.c, which
 * read what remote senders chose: an ORCPT as Exim received it, passed to
 * tlsrelayd in tlsrelay's -D (tr_dsn_rcpt_params), and the LMTP client's
 * NOTIFY, ORCPT and ENVID (tr_dsn_notify_ok, tr_dsn_orcpt_form_ok,
 * tr_dsn_xtext_decode).
 *
 * Input: the bytes, cut at the first NUL for the -D parser (argv strings
 * hold none), whole for the others.
 * Checked:
 * - tr_dsn_rcpt_params: OK gives NULL or values inside the input that pass
 *   the library's own checks (NOTIFY at most 64 bytes and of its words,
 *   ORCPT tr_dsn_orcpt_ok); anything else is USAGE 5.5.4 with a printable
 *   reason;
 * - tr_dsn_orcpt_ok implies tr_dsn_orcpt_form_ok and at most
 *   TR_DSN_ORCPT_MAX bytes; a well-formed ORCPT has an addr-type before
 *   its ";" and no space, "=" before it or control byte anywhere;
 * - an accepted NOTIFY is letters and commas only;
 * - xtext decodes to printable ASCII no longer than its input, within the
 *   buffer given.
 */
#include "config.h"
#include "fuzz.h"
#include "dsn.h"

#include <ctype.h>

#define IN_MAX 4096

static void check_params(const uint8_t *data, size_t size)
{
	static char p[IN_MAX + 1];
	const char *notify, *orcpt;
	tlsrelay_status st;
	size_t n = strnlen((const char *)data, size);

	memcpy(p, data, n);
	p[n] = '\0';
	if (tr_dsn_rcpt_params(p, &notify, &orcpt, &st) != TLSRELAY_OK) {
		fuzz_check(st.cat == TLSRELAY_USAGE && strcmp(st.dsn, "5.5.4") == 0, "a refusal is USAGE 5.5.4");
		fuzz_check(st.text[0] != '\0' && fuzz_printable(st.text), "a refusal says why, printably");
		return;
	}
	fuzz_check(notify == NULL || (notify >= p && notify <= p + n), "NOTIFY points into the input");
	fuzz_check(orcpt == NULL || (orcpt >= p && orcpt <= p + n), "ORCPT points into the input");
	fuzz_check(notify == NULL || (strlen(notify) <= 64 && tr_dsn_notify_ok(notify, strlen(notify))),
	           "an accepted NOTIFY passes the library's check");
	fuzz_check(orcpt == NULL || tr_dsn_orcpt_ok(orcpt, strlen(orcpt)),
	           "an accepted ORCPT passes the library's check");
}

static void check_orcpt(const char *v, size_t n)
{
	const char *semi = memchr(v, ';', n);
	int form = tr_dsn_orcpt_form_ok(v, n);

	fuzz_check(!tr_dsn_orcpt_ok(v, n) || (form && n <= TR_DSN_ORCPT_MAX),
	           "ORCPT ok: well formed and at most 500 bytes");
	if (!form)
		return;
	fuzz_check(semi != NULL && semi > v, "a well-formed ORCPT has an addr-type");
	for (const char *c = v; c < v + n; c++)
		fuzz_check(*c > 0x20 && *c < 0x7f && (c > semi || *c != '='),
		           "no space, control byte, 8-bit byte or = in the addr-type");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[IN_MAX + 1];
	const char *v = (const char *)data;

	if (size > IN_MAX)
		return 0;
	check_params(data, size);
	check_orcpt(v, size);
	if (tr_dsn_notify_ok(v, size))
		for (size_t i = 0; i < size; i++)
			fuzz_check(isalpha((unsigned char)v[i]) || v[i] == ',', "a NOTIFY is words and commas");
	if (tr_dsn_xtext_decode(v, size, out, sizeof out) == 0) {
		fuzz_check(strlen(out) <= size, "decoded xtext is no longer than its input");
		for (const char *c = out; *c; c++)
			fuzz_check(*c >= 0x20 && *c <= 0x7e, "decoded xtext is printable ASCII");
	}
	return 0;
}

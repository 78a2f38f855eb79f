/*
 * fuzz_ehlo.c - libFuzzer target: EHLO capability parsing (tr_caps_parse in
 * smtp_reply.c).
 *
 * Each input line is one capability line of a 250 EHLO reply: the target
 * builds "250-mx.example.test", "250-LINE"..., "250 LAST" (the last input
 * line ends the reply), so the fuzzer spends its time in the keyword and
 * parameter parsing rather than in reply syntax. Checked: the parse is
 * deterministic, SIZE is only set with TR_CAP_SIZE, AUTH mechanisms only
 * with TR_CAP_AUTH, a keyword matched means the word appears in the input
 * (case-insensitively), and tr_caps_format() gives a printable line.
 */
#include "config.h"
#include <strings.h>
#include "fuzz.h"
#include "smtp_reply.h"

static int feed(tr_reply *r, const char *code, const char *text, size_t len)
{
	char line[TR_REPLY_LINE_MAX + 8];

	if (len > TR_REPLY_LINE_MAX)
		len = TR_REPLY_LINE_MAX;
	memcpy(line, code, 4);
	memcpy(line + 4, text, len);
	return tr_reply_feed(r, line, len + 4);
}

/* Case-insensitive search of a NUL-free needle in n bytes. */
static int contains(const uint8_t *h, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (strncasecmp((const char *)h + i, needle, k) == 0)
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static tr_reply r;
	const char *p = (const char *)data, *end = p + size;
	tr_caps c, c2;
	char out[256];
	int rc = TR_REPLY_MORE;

	tr_reply_init(&r);
	feed(&r, "250-", "mx.example.test", 15);
	while (p < end && rc == TR_REPLY_MORE) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		size_t len = lf ? (size_t)(lf - p) : (size_t)(end - p);
		const char *next = lf ? lf + 1 : end;

		if (len > 0 && p[len - 1] == '\r')
			len--;
		rc = feed(&r, next < end ? "250-" : "250 ", p, len);
		p = next;
	}
	if (rc == TR_REPLY_MORE)
		rc = feed(&r, "250 ", "", 0);
	tr_caps_parse(&r, &c);
	tr_caps_parse(&r, &c2);
	fuzz_check(memcmp(&c, &c2, sizeof c) == 0, "deterministic");
	if (rc != TR_REPLY_DONE) {
		fuzz_check(c.flags == 0 && c.auth == 0 && c.size_max == 0, "nothing from a bad reply");
		return 0;
	}
	fuzz_check(c.size_max == 0 || (c.flags & TR_CAP_SIZE), "SIZE value without SIZE");
	fuzz_check(c.auth == 0 || (c.flags & TR_CAP_AUTH), "mechanisms without AUTH");
	fuzz_check(!(c.flags & TR_CAP_STARTTLS) || contains(data, size, "STARTTLS"), "STARTTLS invented");
	fuzz_check(!(c.flags & TR_CAP_PIPELINING) || contains(data, size, "PIPELINING"), "PIPELINING invented");
	fuzz_check(!(c.auth & TR_AUTH_PLAIN) || contains(data, size, "PLAIN"), "PLAIN invented");
	tr_caps_format(&c, out, sizeof out);
	fuzz_check(fuzz_printable(out), "caps text printable");
	return 0;
}

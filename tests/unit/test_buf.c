/*
 * test_buf.c - the growable, bounded string buffer (lib/buf.c): appends
 * into the caller's array (cut at cap - 1, lost set), into the heap up to
 * a bound, formatted appends longer than the internal 256-byte scratch
 * (the second vsnprintf pass, with a va_list copied for it), hex, reset,
 * take. Table-driven: each case is a sequence of appends and the text,
 * length and lost flag it must leave. Then a formatter built on it with a
 * bound of its own: tr_xtext (RFC 3461 xtext for ENVID) never cuts an
 * escape in half.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "smtp_client.h"
#include "tap.h"

enum op { END, PUTS, PUTC, ADD, PRINTF_BIG, PRINTF_D, HEX, RESET };

struct step {
	enum op op;
	const char *s;          /* PUTS, ADD (with n), HEX bytes */
	size_t n;               /* ADD, HEX: bytes; PUTC: the byte */
	int d;                  /* PRINTF_D ("-%d-"); HEX: the separator */
	int want;               /* the append's return: 0 or -1 */
};

static const struct {
	const char *name;
	size_t fixed;           /* 0: heap storage */
	size_t max;             /* heap bound (0: the default 1 MiB) */
	struct step steps[6];
	const char *text;       /* NULL: only the length is checked */
	size_t len;
	int lost;
} cases[] = {
	{ "fixed: two appends that fit", 16, 0,
	  { { PUTS, "abc", 0, 0, 0 }, { PRINTF_D, NULL, 0, 42, 0 } }, "abc-42-", 7, 0 },
	{ "fixed: exactly cap - 1 bytes fit", 4, 0,
	  { { PUTS, "abc", 0, 0, 0 } }, "abc", 3, 0 },
	{ "fixed: one byte too many is cut and lost", 4, 0,
	  { { PUTS, "abcd", 0, 0, -1 } }, "abc", 3, 1 },
	{ "fixed: appends after a cut add nothing", 4, 0,
	  { { PUTS, "abcd", 0, 0, -1 }, { PUTC, NULL, 'x', 0, -1 } }, "abc", 3, 1 },
	{ "fixed: cap 1 holds only the terminator", 1, 0,
	  { { PUTS, "a", 0, 0, -1 } }, "", 0, 1 },
	{ "fixed: add with an embedded NUL counts n bytes", 8, 0,
	  { { ADD, "a\0b", 3, 0, 0 } }, "a", 3, 0 },
	{ "heap: grows past its first 64 bytes", 0, 0,
	  { { PRINTF_BIG, NULL, 0, 0, 0 }, { PUTC, NULL, '!', 0, 0 } }, NULL, 303, 0 },
	{ "heap: bounded at max bytes", 0, 10,
	  { { PUTS, "0123456789abc", 0, 0, -1 } }, "0123456789", 10, 1 },
	{ "heap: long printf cut at the bound", 0, 100,
	  { { PRINTF_BIG, NULL, 0, 0, -1 } }, NULL, 100, 1 },
	{ "hex: upper-case pairs with a separator", 32, 0,
	  { { HEX, "\x01\xab\xff", 3, ':', 0 } }, "01:AB:FF", 8, 0 },
	{ "hex: no separator", 32, 0,
	  { { HEX, "\x0f\xf0", 2, 0, 0 } }, "0FF0", 4, 0 },
	{ "reset: empties the text and the lost flag", 4, 0,
	  { { PUTS, "abcdef", 0, 0, -1 }, { RESET, NULL, 0, 0, 0 }, { PUTS, "xy", 0, 0, 0 } }, "xy", 2, 0 },
};

/* One step; -1 when it lost something (the appends return nothing: the
 * lost flag says it, and is cleared before each step here to see each
 * step's own loss). */
static int run(tr_buf *b, const struct step *s)
{
	static char big[301];

	memset(big, 'x', sizeof big - 1);
	b->lost = 0;
	switch (s->op) {
	case PUTS: tr_buf_puts(b, s->s); break;
	case PUTC: tr_buf_putc(b, (char)s->n); break;
	case ADD: tr_buf_add(b, s->s, s->n); break;
	case PRINTF_BIG: tr_buf_printf(b, "<%s>", big); break;   /* 302 bytes */
	case PRINTF_D: tr_buf_printf(b, "-%d-", s->d); break;
	case HEX: tr_buf_hex(b, (const unsigned char *)s->s, s->n, (char)s->d); break;
	case RESET: tr_buf_reset(b); break;
	case END: break;
	}
	return b->lost ? -1 : 0;
}

static void test_cases(void)
{
	char name[160], mem[64];

	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		tr_buf b;
		int steps_ok = 1;

		if (cases[c].fixed)
			tr_buf_fixed(&b, mem, cases[c].fixed);
		else
			tr_buf_init(&b, cases[c].max);
		for (int i = 0; i < 6 && cases[c].steps[i].op != END; i++)
			if (run(&b, &cases[c].steps[i]) != cases[c].steps[i].want)
				steps_ok = 0;
		snprintf(name, sizeof name, "%s: each append's loss", cases[c].name);
		tap_ok(steps_ok, name, NULL);
		if (cases[c].text) {
			snprintf(name, sizeof name, "%s: text", cases[c].name);
			TAP_STR(tr_buf_str(&b), cases[c].text, name);
		}
		snprintf(name, sizeof name, "%s: length", cases[c].name);
		TAP_INT((int)b.len, (int)cases[c].len, name);
		snprintf(name, sizeof name, "%s: NUL-terminated", cases[c].name);
		tap_ok(b.s == NULL || b.s[b.len] == '\0', name, NULL);
		snprintf(name, sizeof name, "%s: lost", cases[c].name);
		TAP_INT(b.lost, cases[c].lost, name);
		if (!cases[c].fixed)
			tr_buf_free(&b);
	}
}

/* Heap text handed over; fixed storage never is; empty buffers read "". */
static void test_take(void)
{
	tr_buf b;
	char mem[8], *s;

	tr_buf_init(&b, 0);
	TAP_STR(tr_buf_str(&b), "", "heap: an empty buffer reads \"\"");
	tr_buf_printf(&b, "%s=%d", "k", 7);
	s = tr_buf_take(&b);
	TAP_STR(s ? s : "(null)", "k=7", "take: the heap text");
	TAP_STR(tr_buf_str(&b), "", "take: the buffer is left empty");
	free(s);
	tr_buf_free(&b);
	tr_buf_fixed(&b, mem, sizeof mem);
	tr_buf_puts(&b, "abc");
	tap_ok(tr_buf_take(&b) == NULL, "take: NULL for fixed storage", NULL);
	TAP_STR(mem, "abc", "take: fixed storage keeps its text");
}

static const struct {
	const char *name, *in;
	size_t cap;
	const char *want;
} xtext_cases[] = {
	{ "xtext: '+', '=' and space escaped", "a+b=c d", 64, "a+2Bb+3Dc+20d" },
	{ "xtext: control and 8-bit bytes escaped", "\x01\xe9", 64, "+01+E9" },
	{ "xtext: two escapes fit in 8 bytes, not half of a third", "+++", 8, "+2B+2B" },
	{ "xtext: stops while an escape would still fit", "abcdefgh", 8, "abcd" },
	{ "xtext: cap 1", "abc", 1, "" },
};

static void test_xtext(void)
{
	char out[64];

	for (size_t c = 0; c < sizeof xtext_cases / sizeof xtext_cases[0]; c++)
		TAP_STR(tr_xtext(xtext_cases[c].in, out, xtext_cases[c].cap), xtext_cases[c].want,
		        xtext_cases[c].name);
}

int main(void)
{
	tap_plan(12 * 4 + 10 + 5 + 5);
	test_cases();
	test_take();
	test_xtext();
	return tap_done();
}

/*
 * fuzz_rcpt.c - libFuzzer target: the per-recipient result of a delivery
 * run in another process (lib/rcpt_result.c, tr_rcpt_results_read), which
 * the Exim module reads back from tlsrelayd's delivery process (tlsrelay
 * -P). Its texts carry what the remote SMTP server answered, and the reader
 * promises to trust nothing of it.
 *
 * Input: byte 0 the number of recipients (1..8), byte 1 the run's exit
 * status, byte 2 bit 0 whether the daemon answered itself (a fixed line, as
 * for a delivery process that died); the rest is what the run printed.
 * Checked:
 * - every recipient ends with a status of a known category, a DSN that is
 *   empty or "C.X.Y" of at most TLSRELAY_DSN_MAX - 1 bytes, a printable
 *   text of at most TLSRELAY_TEXT_MAX - 1 bytes: never "not settled";
 * - a refusal (TEMP) defers every recipient and says why, printably;
 * - a daemon's own line defers every recipient;
 * - exit status 0 is never read as anything but OK for every recipient;
 * - dsn_aware is 0 or 1, and 1 only for an OK recipient (0 for every one
 *   of a refusal);
 * - an accepted result, written again line by line (tr_rcpt_line_format)
 *   with exit status 0 or 75, reads back to the same statuses and
 *   dsn_aware flags.
 */
#include "config.h"
#include "fuzz.h"
#include "rcpt_result.h"

#define NMAX 8

static void check_status(const tlsrelay_status *s)
{
	size_t d = strnlen(s->dsn, sizeof s->dsn), t = strnlen(s->text, sizeof s->text);

	fuzz_check(s->cat >= TLSRELAY_OK && s->cat <= TLSRELAY_INTERNAL, "a known category");
	fuzz_check(d < sizeof s->dsn && t < sizeof s->text, "DSN and text end within their buffers");
	fuzz_check(d == 0 || (d >= 5 && (s->dsn[0] == '2' || s->dsn[0] == '4' || s->dsn[0] == '5') &&
	                      s->dsn[1] == '.'), "a DSN is empty or C.X.Y");
	fuzz_check(fuzz_printable(s->text), "a printable text");
}

/* The accepted statuses, formatted and read again, are the same. */
static void round_trip(const tlsrelay_rcpt *r, size_t n)
{
	static char out[NMAX * TR_RCPT_LINE_MAX];
	tlsrelay_rcpt again[NMAX];
	tlsrelay_status st;
	size_t len = 0;
	int all_ok = 1;

	for (size_t i = 0; i < n; i++) {
		len += tr_rcpt_line_format(out + len, sizeof out - len, i, &r[i].status, r[i].dsn_aware);
		all_ok &= r[i].status.cat == TLSRELAY_OK;
		again[i].addr = r[i].addr;
	}
	fuzz_check(tr_rcpt_results_read(out, len, all_ok ? 0 : 75, NULL, again, n, &st) == TLSRELAY_OK,
	           "the result written again reads back");
	for (size_t i = 0; i < n; i++)
		fuzz_check(again[i].status.cat == r[i].status.cat &&
		           strcmp(again[i].status.dsn, r[i].status.dsn) == 0 &&
		           strcmp(again[i].status.text, r[i].status.text) == 0 &&
		           again[i].dsn_aware == r[i].dsn_aware,
		           "each recipient's status and dsn_aware survive the round trip");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const addrs[NMAX] = {
		"a@example.com", "b@example.com", "c@example.com", "d@example.com",
		"e@example.com", "f@example.com", "g@example.com", "h@example.com",
	};
	tlsrelay_rcpt r[NMAX];
	tlsrelay_status st;
	const char *daemon_line;
	tlsrelay_cat cat;
	size_t n;
	int status;

	if (size < 3 || size > (NMAX + 8) * TR_RCPT_LINE_MAX)
		return 0;
	n = (size_t)(data[0] % NMAX) + 1;
	status = data[1];
	daemon_line = (data[2] & 1) ? "4.3.0 tlsrelayd: the delivery process ended without a result" : NULL;
	for (size_t i = 0; i < n; i++) {
		r[i].addr = addrs[i];
		memset(&r[i].status, 0xa5, sizeof r[i].status);   /* whatever was there */
		r[i].dsn_aware = 0x5a;
	}
	cat = tr_rcpt_results_read((const char *)data + 3, size - 3, status, daemon_line, r, n, &st);
	for (size_t i = 0; i < n; i++) {
		check_status(&r[i].status);
		fuzz_check(r[i].dsn_aware == 0 || (r[i].dsn_aware == 1 && r[i].status.cat == TLSRELAY_OK),
		           "dsn_aware is 0, or 1 for an OK recipient");
	}
	if (cat != TLSRELAY_OK) {
		fuzz_check(cat == TLSRELAY_TEMP, "a refusal is TEMP");
		fuzz_check(st.text[0] != '\0' && fuzz_printable(st.text), "a refusal says why, printably");
		for (size_t i = 0; i < n; i++)
			fuzz_check(r[i].status.cat == TLSRELAY_TEMP && r[i].dsn_aware == 0,
			           "a refusal defers every recipient");
		return 0;
	}
	fuzz_check(daemon_line == NULL, "the daemon's own line is never an accepted result");
	for (size_t i = 0; i < n; i++)
		fuzz_check(status != 0 || r[i].status.cat == TLSRELAY_OK,
		           "exit status 0 only with every recipient OK");
	round_trip(r, n);
	return 0;
}

/*
 * fuzz_hjournal.c - libFuzzer target: the TLS history's pending journal
 * parser (tr_hj_next, lib/history_journal.c), which reads a file that a
 * crash may have cut or that may be anything.
 *
 * Input: the journal's bytes.
 * Checked:
 * - the cursor moves forward only, never past the end; at the end every
 *   byte was either in a record or counted as skipped;
 * - a record has at most TR_HJ_MAX_ATTEMPTS attempts and
 *   TR_HJ_MAX_COUNTERS counters, and every string lies inside the input;
 * - a record encodes again (tr_hj_encode) and that reads back to the same
 *   numbers and strings.
 */
#include "config.h"
#include "fuzz.h"
#include "history_journal.h"

static tr_hj_record r, back;

static int inside(const char *s, const uint8_t *data, size_t size)
{
	return (const uint8_t *)s >= data && (const uint8_t *)s + strlen(s) < data + size;
}

static void check_again(void)
{
	unsigned char *buf;
	size_t len = tr_hj_encode(r.a, r.n, r.c, r.nc, r.now, &buf);
	tr_hj_cursor cur = { 0, 0, 0 };

	fuzz_check(len > 0, "a record read encodes again");
	fuzz_check(tr_hj_next(buf, len, &cur, &back) == 1 && cur.off == len && cur.skipped == 0,
	           "... and reads back whole");
	fuzz_check(back.now == r.now && back.n == r.n && back.nc == r.nc, "... the same counts");
	for (size_t i = 0; i < r.n; i++) {
		fuzz_check(back.a[i].t == r.a[i].t && back.a[i].offered == r.a[i].offered &&
		           back.a[i].cert_not_after == r.a[i].cert_not_after &&
		           back.a[i].message == r.a[i].message && back.a[i].conn_use == r.a[i].conn_use,
		           "... the same numbers");
		fuzz_check(strcmp(back.a[i].dest, r.a[i].dest) == 0 &&
		           strcmp(back.a[i].text, r.a[i].text) == 0 &&
		           strcmp(back.a[i].queue_id, r.a[i].queue_id) == 0, "... the same strings");
	}
	for (size_t i = 0; i < r.nc; i++)
		fuzz_check(strcmp(back.c[i].name, r.c[i].name) == 0 &&
		           strcmp(back.c[i].labels, r.c[i].labels) == 0, "... the same counters");
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tr_hj_cursor cur = { 0, 0, 0 };
	size_t in_records = 0, before;

	if (size > TR_HJ_CAP + TR_HJ_REC_MAX)
		return 0;
	for (;;) {
		size_t skipped = cur.skipped;
		before = cur.off;
		if (!tr_hj_next(data, size, &cur, &r))
			break;
		fuzz_check(cur.off > before && cur.off <= size, "the cursor moves forward, within the input");
		in_records += cur.off - before - (cur.skipped - skipped);
		fuzz_check(r.n <= TR_HJ_MAX_ATTEMPTS && r.nc <= TR_HJ_MAX_COUNTERS, "a record within the limits");
		for (size_t i = 0; i < r.n; i++)
			fuzz_check(inside(r.a[i].dest, data, size) && inside(r.a[i].shadow_text, data, size) &&
			           inside(r.a[i].queue_id, data, size), "its strings inside the input");
		check_again();
	}
	fuzz_check(cur.off == size || size == 0, "the parse ends at the end");
	fuzz_check(in_records + cur.skipped == size, "every byte in a record or skipped");
	return 0;
}

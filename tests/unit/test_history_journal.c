/*
 * test_history_journal.c - the TLS history's pending journal format
 * (lib/history_journal.c): a record reads back to the delivery written;
 * a table of damaged buffers (cut at every length, garbage before, between
 * and after, a bad checksum, a length past the end or over the limit, a
 * string without its NUL, too many attempts, a buffer of magics) gives the
 * whole records it holds and nothing else, never reading past its end;
 * the limits of the encoder; the append to a file (its size limit).
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "history_journal.h"
#include "tap.h"

static tr_hj_record rec;

static tr_hist_attempt att(const char *dest, const char *text)
{
	tr_hist_attempt a = {
		.t = 1800000000, .dest = dest, .nexthop = dest, .policy_domain = "", .mx = "mx",
		.addr = "192.0.2.1", .offered = -1, .posture = "verified", .verified_by = "dane",
		.verify_detail = "3 1 1 AB", .sts = "", .protocol = "TLSv1.3", .cipher = "X",
		.cert_not_after = -5, .spki = "AB:CD", .level = "may", .level_src = "map",
		.level_detail = "", .outcome = "delivered", .dsn = "2.0.0", .reason = "", .text = text,
		.dane_result = "", .sts_result = "", .shadow = "", .shadow_level = "",
		.shadow_text = "", .message = 1, .queue_id = "Q1", .conn_use = 3
	};
	return a;
}

/* Every record of buf[0..len): how many, and the dests joined by ",". */
static int parse_all(const unsigned char *buf, size_t len, char *dests, size_t cap,
                     size_t *skipped)
{
	tr_hj_cursor cur = { 0, 0, 0 };
	int n = 0;

	dests[0] = '\0';
	while (tr_hj_next(buf, len, &cur, &rec)) {
		n++;
		for (size_t i = 0; i < rec.n; i++)
			snprintf(dests + strlen(dests), cap - strlen(dests), "%s%s", dests[0] ? "," : "",
			         rec.a[i].dest);
	}
	*skipped = cur.skipped;
	return n;
}

static void t_roundtrip(void)
{
	tr_hist_attempt a[2] = { att("a.example", "ok"), att("[b.example]:587", "") };
	tr_hist_count c[1] = { { "tlsrelay_x_total", "posture=\"verified\"" } };
	unsigned char *buf;
	size_t len = tr_hj_encode(a, 2, c, 1, 1800000001, &buf), skipped;
	char d[256];

	tap_ok(len > 0, "a delivery encodes", "");
	TAP_INT(parse_all(buf, len, d, sizeof d, &skipped), 1, "... and reads back as one record");
	tap_ok(rec.now == 1800000001 && rec.n == 2 && rec.nc == 1, "... its time and counts", "");
	tap_ok(rec.a[0].offered == -1 && rec.a[0].cert_not_after == -5 && rec.a[1].conn_use == 3 &&
	       rec.a[0].t == 1800000000 && rec.a[0].message == 1, "... its numbers (negative too)", "");
	tap_ok(strcmp(d, "a.example,[b.example]:587") == 0 && strcmp(rec.a[0].verify_detail, "3 1 1 AB") == 0 &&
	       strcmp(rec.a[1].text, "") == 0 && strcmp(rec.a[0].queue_id, "Q1") == 0,
	       "... its strings", d);
	tap_ok(strcmp(rec.c[0].name, "tlsrelay_x_total") == 0 &&
	       strcmp(rec.c[0].labels, "posture=\"verified\"") == 0, "... its counters", "");
	TAP_INT((long long)skipped, 0, "... with nothing skipped");
	free(buf);
}

/* Damaged buffers: what each holds of whole records. */
static void t_damaged(void)
{
	tr_hist_attempt a = att("one.example", "x"), b = att("two.example", "y");
	unsigned char *r1, *r2, buf[4096], big[TR_HJ_REC_MAX + 64];
	size_t l1 = tr_hj_encode(&a, 1, NULL, 0, 1, &r1), l2 = tr_hj_encode(&b, 1, NULL, 0, 2, &r2);
	size_t skipped;
	int bad_cuts = 0;
	char d[256];
	struct {
		const char *name;
		const char *layout;  /* 1, 2: the records; g garbage; c 1 cut; k 1 with a bad
		                      * checksum; L a length past the end; N a string without its
		                      * NUL (checksum right); M a bare magic */
		int want;
		const char *dests;
	} cases[] = {
		{ "empty", "", 0, "" },
		{ "two records", "12", 2, "one.example,two.example" },
		{ "garbage before", "g1", 1, "one.example" },
		{ "garbage between", "1g2", 2, "one.example,two.example" },
		{ "a cut record between", "1c2", 2, "one.example,two.example" },
		{ "a cut record last", "12c", 2, "one.example,two.example" },
		{ "a bad checksum", "k2", 1, "two.example" },
		{ "a length past the end", "L2", 1, "two.example" },
		{ "a string without its NUL", "N2", 1, "two.example" },
		{ "bare magics", "MMM1M", 1, "one.example" },
		{ "garbage only", "ggg", 0, "" },
	};

	if (l1 == 0 || l2 == 0 || l1 + l2 > 512) {
		tap_ok(0, "records for the damage table", "");
		return;
	}
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = 0;
		for (const char *p = cases[i].layout; *p; p++) {
			switch (*p) {
			case '1': memcpy(buf + n, r1, l1), n += l1; break;
			case '2': memcpy(buf + n, r2, l2), n += l2; break;
			case 'g': memcpy(buf + n, "\x01\xffTRH\x00garbage TRHJ\x05", 19), n += 19; break;
			case 'c': memcpy(buf + n, r1, l1 / 2), n += l1 / 2; break;
			case 'k': memcpy(buf + n, r1, l1), buf[n + 8] ^= 1, n += l1; break;
			case 'L': memcpy(buf + n, r1, l1), buf[n + 6] = 0x7f, n += l1; break;
			case 'N': {
				/* the last string's NUL becomes 'x', the checksum redone */
				unsigned h = 2166136261u;
				memcpy(buf + n, r1, l1);
				buf[n + l1 - 1] = 'x';
				for (size_t k = n + 12; k < n + l1; k++)
					h = (h ^ buf[k]) * 16777619u;
				for (int k = 0; k < 4; k++)
					buf[n + 8 + k] = (unsigned char)(h >> (8 * k));
				n += l1;
				break;
			}
			case 'M': memcpy(buf + n, "TRHJ", 4), n += 4; break;
			}
		}
		{
			/* a heap copy of exactly n bytes: ASan sees a read past its end */
			unsigned char *exact = malloc(n ? n : 1);
			memcpy(exact, buf, n);
			TAP_INT(parse_all(exact, n, d, sizeof d, &skipped), cases[i].want, cases[i].name);
			tap_ok(strcmp(d, cases[i].dests) == 0, "... the records it holds", d);
			free(exact);
		}
	}
	/* one record cut at every length: no record, every byte skipped */
	for (size_t cut = 0; cut < l1; cut++) {
		unsigned char *exact = malloc(cut ? cut : 1);
		memcpy(exact, r1, cut);
		if (parse_all(exact, cut, d, sizeof d, &skipped) != 0 || skipped != cut)
			bad_cuts++;
		free(exact);
	}
	TAP_INT(bad_cuts, 0, "a record cut at every length gives no record, all skipped");
	/* a length over the limit with a whole buffer behind it */
	for (size_t i = 0; i + 4 <= sizeof big; i += 4)
		memcpy(big + i, "TRHJ", 4);
	memcpy(big, r2, 12);
	big[4] = (unsigned char)(TR_HJ_REC_MAX + 1), big[5] = (unsigned char)((TR_HJ_REC_MAX + 1) >> 8);
	big[6] = (unsigned char)((TR_HJ_REC_MAX + 1) >> 16), big[7] = 0;
	memcpy(big + sizeof big - l1, r1, l1);
	TAP_INT(parse_all(big, sizeof big, d, sizeof d, &skipped), 0,
	        "a length over the limit; then more bad magics than the resync limit: the rest skipped");
	memcpy(big, r1, l1);
	TAP_INT(parse_all(big, l1 + 100, d, sizeof d, &skipped), 1, "a record, then junk: the record");
	free(r1);
	free(r2);
}

static void t_limits(void)
{
	static tr_hist_attempt many[TR_HJ_MAX_ATTEMPTS + 1];
	static char huge[70000];
	tr_hist_attempt a;
	unsigned char *buf;

	for (size_t i = 0; i < TR_HJ_MAX_ATTEMPTS + 1; i++)
		many[i] = att("m.example", "x");
	tap_ok(tr_hj_encode(many, TR_HJ_MAX_ATTEMPTS + 1, NULL, 0, 1, &buf) == 0 && buf == NULL,
	       "more attempts than the limit: not encoded", "");
	memset(huge, 'x', sizeof huge - 1);
	a = att("h.example", huge);
	tap_ok(tr_hj_encode(&a, 1, NULL, 0, 1, &buf) == 0 && buf == NULL,
	       "a string longer than 65534 bytes: not encoded", "");
}

static void t_append(void)
{
	char dir[] = "/tmp/tlsrelay-hj.XXXXXX", path[64];
	tr_hist_attempt a = att("f.example", "x");
	tlsrelay_status st;
	struct stat sb;
	int n = 0, rc = 0;

	if (mkdtemp(dir) == NULL) {
		tap_ok(0, "temporary directory", "");
		return;
	}
	snprintf(path, sizeof path, "%s/h.db-pending", dir);
	TAP_INT(tr_hj_append(path, &a, 1, NULL, 0, 1, &st), TLSRELAY_OK, "append makes the journal");
	tap_ok(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0640, "... mode 0640", "");
	for (n = 1; n < 100000 && (rc = tr_hj_append(path, &a, 1, NULL, 0, 1, &st)) == TLSRELAY_OK; n++)
		;
	tap_ok(rc == TLSRELAY_TEMP && strcmp(st.dsn, "4.3.0") == 0 &&
	       strstr(st.text, "pending journal full") != NULL, "appends stop at the size limit (TEMP 4.3.0)",
	       st.text);
	tap_ok(stat(path, &sb) == 0 && sb.st_size <= TR_HJ_CAP, "... the file stays within it", "");
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	tap_plan(7 + 2 * 11 + 3 + 2 + 4);
	t_roundtrip();
	t_damaged();
	t_limits();
	t_append();
	return tap_done();
}

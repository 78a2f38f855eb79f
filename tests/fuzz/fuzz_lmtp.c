/*
 * fuzz_lmtp.c - libFuzzer target: the LMTP server state machine
 * (lib/lmtp_server.c), which reads what a local LMTP client (Postfix's
 * lmtp(8), or anything that can connect to tlsrelayd's LMTP socket) sends:
 * commands, pipelined, and the DATA reader.
 *
 * Input: byte 0 how the bytes arrive (0: all at once, else chunks of that
 * many bytes), byte 1 the statuses the deliveries get (two bits per
 * recipient, cycling: OK, TEMP, PERM, CONFIG); the rest is what the
 * client sends. The session runs with size_max 512 and rcpts_max 4 so
 * that the bounds are reached.
 * Checked:
 * - every reply line ends with CR LF, starts with a code 2xx-5xx and ' '
 *   or '-', is printable and at most 512 bytes; every one but the
 *   greeting, 354 and the LHLO reply carries an enhanced status code of
 *   its class;
 * - the state stays bounded: at most rcpts_max recipients, at MORE at
 *   most TR_LMTP_LINE_MAX + 1 bytes left unused, nothing used after CLOSE;
 * - a transaction handed over for delivery has a checked sender, at
 *   least one checked recipient, at most size_max bytes of data (exactly
 *   what the sink got), DSN values of their syntax;
 * - one reply per recipient after the delivery;
 * - the same bytes all at once and in chunks give the same replies and
 *   deliveries.
 */
#include "config.h"
#include "fuzz.h"
#include "lmtp_server.h"

#define SIZE_MAX_FUZZ 512
#define RCPTS_MAX_FUZZ 4

static const tlsrelay_status statuses[4] = {
	{ TLSRELAY_OK, "2.0.0", "250 2.0.0 ok" },
	{ TLSRELAY_TEMP, "4.2.0", "host h said: 450 4.2.0 \x01 busy" },
	{ TLSRELAY_PERM, "5.1.1", "host h said: 550 5.1.1 unknown" },
	{ TLSRELAY_CONFIG, "4.3.5", "/etc/x: bad" },
};

static int sink(void *arg, const char *p, size_t n)
{
	tr_buf *b = arg;

	if (!p)
		tr_buf_reset(b);
	else
		tr_buf_add(b, p, n);
	return 0;
}

static void check_replies(const char *s, size_t len)
{
	int in_lhlo = 0;

	for (size_t i = 0; i < len; ) {
		const char *lf = memchr(s + i, '\n', len - i), *l = s + i;
		size_t n;
		int code;

		fuzz_check(lf && lf > l && lf[-1] == '\r', "a reply line ends with CR LF");
		n = (size_t)(lf - l) - 1;
		fuzz_check(n >= 4 && n <= 510, "a reply line has a code and at most 512 bytes");
		fuzz_check(l[0] >= '2' && l[0] <= '5' && l[1] >= '0' && l[1] <= '9' && l[2] >= '0' &&
		           l[2] <= '9' && (l[3] == ' ' || l[3] == '-'), "a reply code and separator");
		for (size_t k = 0; k < n; k++)
			fuzz_check((unsigned char)l[k] >= 0x20 && l[k] != 0x7f, "a printable reply");
		code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
		if (code == 250 && l[3] == '-')
			in_lhlo = 1;
		if (!in_lhlo && code != 220 && code != 354)
			fuzz_check(n >= 9 && l[4] == l[0] && l[5] == '.', "an enhanced status code of its class");
		if (l[3] == ' ')
			in_lhlo = 0;
		i = (size_t)(lf - s) + 1;
	}
}

static void check_delivery(const tr_lmtp *s, const tr_buf *data)
{
	tlsrelay_status st;

	fuzz_check(s->sender && tlsrelay_check_address(s->sender, 1, &st) == TLSRELAY_OK, "a checked sender");
	fuzz_check(s->nrcpts >= 1 && s->nrcpts <= RCPTS_MAX_FUZZ, "1..rcpts_max recipients");
	for (size_t i = 0; i < s->nrcpts; i++) {
		fuzz_check(tlsrelay_check_address(s->rcpts[i].addr, 0, &st) == TLSRELAY_OK, "a checked recipient");
		fuzz_check(strspn(s->rcpts[i].notify, "NEVRSUCFAILDY,") == strlen(s->rcpts[i].notify),
		           "NOTIFY of its alphabet");
	}
	fuzz_check(s->dsize <= SIZE_MAX_FUZZ && !s->oversize && data->len == s->dsize,
	           "at most size_max bytes, all of them stored");
	fuzz_check(!s->ret[0] || strcmp(s->ret, "FULL") == 0 || strcmp(s->ret, "HDRS") == 0, "RET");
	fuzz_check(fuzz_printable(s->envid) && strlen(s->envid) <= TR_LMTP_ENVID_MAX, "ENVID printable");
	fuzz_check(strspn(s->ident, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
	           strlen(s->ident) && s->ident[0] != '-', "IDENT usable as a log ID");
}

/* The session over in (n bytes) in chunks of chunk; replies and
 * deliveries into out. */
static void run(const char *in, size_t n, size_t chunk, unsigned pat, tr_buf *out)
{
	static char pend[TR_LMTP_LINE_MAX + 2 + 256 + 65536];
	tlsrelay_status st[RCPTS_MAX_FUZZ];
	size_t off = 0, plen = 0, used;
	tr_buf data;
	tr_lmtp s;
	tr_lmtp_act act;

	tr_buf_init(&data, 1 << 20);
	tr_lmtp_init(&s, "fuzz.test", SIZE_MAX_FUZZ, RCPTS_MAX_FUZZ, sink, &data);
	tr_lmtp_greeting(&s, out);
	do {
		size_t add = n - off < chunk ? n - off : chunk;
		memcpy(pend + plen, in + off, add);
		plen += add;
		off += add;
		while ((act = tr_lmtp_input(&s, pend, plen, &used, out)) == TR_LMTP_DELIVER) {
			size_t before, k = s.nrcpts;
			check_delivery(&s, &data);
			tr_buf_printf(out, "[deliver %zu rcpts, %zu bytes]\r\n", s.nrcpts, data.len);
			for (size_t i = 0; i < s.nrcpts; i++)
				st[i] = statuses[(pat >> (2 * (i % 4))) & 3];
			memmove(pend, pend + used, plen - used);
			plen -= used;
			before = out->len;
			tr_lmtp_results(&s, st, out);
			{
				size_t lines = 0;
				for (size_t i = before; i < out->len; i++)
					lines += out->s[i] == '\n';
				fuzz_check(lines == k && s.nrcpts == 0, "one reply per recipient, the transaction ends");
			}
			tr_buf_reset(&data);
		}
		fuzz_check(used <= plen, "used within what was offered");
		fuzz_check(s.nrcpts <= RCPTS_MAX_FUZZ, "at most rcpts_max recipients");
		if (act == TR_LMTP_CLOSE) {
			size_t again;
			fuzz_check(tr_lmtp_input(&s, "NOOP\r\n", 6, &again, out) == TR_LMTP_CLOSE && again == 0,
			           "nothing used after CLOSE");
			break;
		}
		memmove(pend, pend + used, plen - used);
		plen -= used;
		fuzz_check(s.state == TR_LMTP_S_DATA || plen <= TR_LMTP_LINE_MAX + 1,
		           "at MORE at most a partial line is left");
		fuzz_check(s.state != TR_LMTP_S_DATA || plen == 0, "the DATA reader uses every byte");
	} while (off < n);
	tr_lmtp_free(&s);
	tr_buf_free(&data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tr_buf whole, chunked;
	const char *in = (const char *)data + 2;
	size_t n, chunk;

	if (size < 2 || size > 65536)
		return 0;
	n = size - 2;
	chunk = data[0] ? data[0] : 1;
	tr_buf_init(&whole, 16u << 20);
	tr_buf_init(&chunked, 16u << 20);
	run(in, n, n ? n : 1, data[1], &whole);
	run(in, n, chunk, data[1], &chunked);
	fuzz_check(!whole.lost && !chunked.lost, "replies fit");
	fuzz_check(whole.len == chunked.len && memcmp(whole.s, chunked.s, whole.len) == 0,
	           "all at once and in chunks the same");
	/* the delivery markers are the harness's, not replies */
	{
		tr_buf r;
		tr_buf_init(&r, 16u << 20);
		for (size_t i = 0; i < whole.len; ) {
			const char *lf = memchr(whole.s + i, '\n', whole.len - i);
			size_t e = lf ? (size_t)(lf - whole.s) + 1 : whole.len;
			if (whole.s[i] != '[')
				tr_buf_add(&r, whole.s + i, e - i);
			i = e;
		}
		check_replies(r.s ? r.s : "", r.len);
		tr_buf_free(&r);
	}
	tr_buf_free(&whole);
	tr_buf_free(&chunked);
	return 0;
}

/*
 * fuzz_redirect.c - libFuzzer target: what a Redis Cluster node (or
 * anything answering at a node's address) sends to redirect a command,
 * and the hash slot of a key (lib/redis_slot.c): tr_redis_redirect,
 * tr_redis_slot.
 *
 * Input: an error reply's text, as hiredis gives it (no leading "-", no
 * CRLF; any bytes, NUL included); the same bytes as a key.
 * Checked:
 * - tr_redis_redirect returns -1, 0 or 1; 0 unless the text starts with
 *   "MOVED " or "ASK " (and *ask says which); 1 gives a slot in
 *   0..16383, a port in 1..65535 and a host of at most cap - 1 bytes, of
 *   letters, digits and ".-_:" only, that is a part of the input, and
 *   the text holds no NUL byte (a host cut short by one would name another
 *   node); a host never overflows a small buffer (cap 16, checked by ASan);
 * - tr_redis_slot is in 0..16383, and a key with a non-empty hash tag has
 *   the tag's slot.
 */
#include "config.h"
#include "fuzz.h"
#include "redis_slot.h"

#include <ctype.h>

static void check_redirect(const char *text, size_t size, size_t cap)
{
	char *host = malloc(cap);           /* exactly cap: ASan sees an overflow */
	int ask = -1, slot = -1, port = -1;
	int rc = tr_redis_redirect(text, size, &ask, &slot, host, cap, &port);
	int moved = size > 6 && memcmp(text, "MOVED ", 6) == 0;
	int askp = size > 4 && memcmp(text, "ASK ", 4) == 0;

	fuzz_check(host != NULL, "memory");
	fuzz_check(rc >= -1 && rc <= 1, "a known result");
	fuzz_check(rc == 0 || moved || askp, "only MOVED and ASK are redirections");
	if (rc == 1) {
		size_t hl = strlen(host);

		fuzz_check(ask == askp, "ASK said as ASK");
		fuzz_check(slot >= 0 && slot < TR_REDIS_SLOTS, "a slot in range");
		fuzz_check(port >= 1 && port <= 65535, "a port in range");
		fuzz_check(hl < cap, "the host fits");
		for (size_t i = 0; i < hl; i++)
			fuzz_check(isalnum((unsigned char)host[i]) || strchr(".-_:", host[i]) != NULL,
			           "a host of address or name characters only");
		fuzz_check(hl == 0 || memmem(text, size, host, hl) != NULL, "the host is the input's");
		fuzz_check(memchr(text, '\0', size) == NULL, "no NUL byte hidden in an accepted text");
	}
	free(host);
}

static void check_slot(const char *key, size_t size)
{
	int s = tr_redis_slot(key, size);
	const char *o = memchr(key, '{', size), *c;

	fuzz_check(s >= 0 && s < TR_REDIS_SLOTS, "a slot in range");
	if (o && (c = memchr(o + 1, '}', size - (size_t)(o - key) - 1)) != NULL && c > o + 1)
		fuzz_check(s == tr_redis_slot(o + 1, (size_t)(c - o - 1)), "a tag's slot");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;

	check_redirect(text, size, 256);
	check_redirect(text, size, 16);
	check_slot(text, size);
	return 0;
}

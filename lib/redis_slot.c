/*
 * redis_slot.c - a key's hash slot, a command's key, MOVED/ASK parsed
 * (see redis_slot.h). Pure; the replies parsed here come from the
 * network: every field is bounded and checked before use.
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "redis.h"
#include "redis_slot.h"

/* CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as Redis
 * Cluster's specification ("Keys distribution model"). */
static unsigned crc16(const char *buf, size_t len)
{
	unsigned crc = 0;

	for (size_t i = 0; i < len; i++) {
		crc ^= (unsigned)(unsigned char)buf[i] << 8;
		for (int b = 0; b < 8; b++)
			crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
	}
	return crc;
}

int tr_redis_slot(const char *key, size_t len)
{
	const char *open = memchr(key, '{', len), *close;

	if (open) {
		size_t rest = len - (size_t)(open - key) - 1;

		close = memchr(open + 1, '}', rest);
		if (close && close > open + 1)
			return (int)(crc16(open + 1, (size_t)(close - open - 1)) % TR_REDIS_SLOTS);
	}
	return (int)(crc16(key, len) % TR_REDIS_SLOTS);
}

int tr_redis_cmd_slot(const struct tr_redis_cmd *c)
{
	const char *name = c->argv[0];

	if (c->argc < 2 || strcasecmp(name, "AUTH") == 0 || strcasecmp(name, "SELECT") == 0 ||
	    strcasecmp(name, "PING") == 0 || strcasecmp(name, "ASKING") == 0 ||
	    strcasecmp(name, "CLUSTER") == 0)
		return -1;
	if (strcasecmp(name, "EVAL") == 0 || strcasecmp(name, "EVALSHA") == 0) {
		if (c->argc < 4 || c->len[2] == 0 || c->len[2] > 3 || c->argv[2][0] < '1' ||
		    c->argv[2][0] > '9')
			return -1;
		return tr_redis_slot(c->argv[3], c->len[3]);
	}
	return tr_redis_slot(c->argv[1], c->len[1]);
}

/* digits [s, e) as an int in [min, max]; -1 if not */
static int number(const char *s, const char *e, int min, int max)
{
	long v = 0;

	if (e <= s || e - s > 5)
		return -1;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v < min || v > max ? -1 : (int)v;
}

int tr_redis_redirect(const char *text, size_t len, int *ask, int *slot, char *host,
                      size_t hcap, int *port)
{
	const char *p, *end = text + len, *sp, *colon, *h, *he;

	if (len > 6 && memcmp(text, "MOVED ", 6) == 0)
		*ask = 0, p = text + 6;
	else if (len > 4 && memcmp(text, "ASK ", 4) == 0)
		*ask = 1, p = text + 4;
	else
		return 0;
	if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL ||
	    (*slot = number(p, sp, 0, TR_REDIS_SLOTS - 1)) < 0)
		return -1;
	h = sp + 1;
	for (colon = NULL, p = h; p < end; p++)        /* the last ':' ends the host */
		if (*p == ':')
			colon = p;
	if (colon == NULL || (*port = number(colon + 1, end, 1, 65535)) < 0)
		return -1;
	he = colon;
	if (he > h && *h == '[' && he[-1] == ']')      /* [v6]:port */
		h++, he--;
	if ((size_t)(he - h) >= hcap)
		return -1;
	for (p = h; p < he; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || (*p && strchr(".-_:", *p))))
			return -1;
	memcpy(host, h, (size_t)(he - h));
	host[he - h] = '\0';
	return 1;
}

/*
 * redis_slot.h - the pure parts of the Redis Cluster client (redis_slot.c,
 * used by redis.c and redis_cluster.c): a key's hash slot, the key of a
 * command, a MOVED or ASK error parsed. No I/O, built with or without
 * hiredis (the unit tests use it either way).
 *
 * CONTRACT
 * - tr_redis_slot: the cluster's hash slot of key (CRC16-XMODEM mod 16384
 *   of the hash tag, the text between the first '{' and the next '}' when
 *   that text is not empty, else of the whole key).
 * - tr_redis_cmd_slot: the slot of the command's first key, -1 for a
 *   command without a key (PING, AUTH, SELECT, ASKING, EVAL with 0 keys).
 *   The key is argv[1], or argv[3] for EVAL/EVALSHA (numkeys >= 1).
 * - tr_redis_redirect: an error reply's text ("MOVED 3999 10.0.0.2:6381",
 *   "ASK 3999 [::1]:6381", "MOVED 3999 :6381" = the host that answered):
 *   1 with *ask, *slot, host (NUL-terminated, "" for the answering host)
 *   and *port set; 0 when it is another error; -1 when it is a MOVED or
 *   ASK that does not parse (bad slot, port or host: an error like any).
 *   Hosts are limited to letters, digits and ".-_:" (an address or a
 *   name), at most hcap - 1 bytes.
 */
#ifndef TR_REDIS_SLOT_H
#define TR_REDIS_SLOT_H

#include <stddef.h>

#define TR_REDIS_SLOTS 16384

struct tr_redis_cmd;

int tr_redis_slot(const char *key, size_t len);

int tr_redis_cmd_slot(const struct tr_redis_cmd *c);

int tr_redis_redirect(const char *text, size_t len, int *ask, int *slot, char *host,
                      size_t hcap, int *port);

#endif

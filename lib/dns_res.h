/*
 * dns_res.h - the resolver state of dns.c for lookups that live in other
 * files (dns_txt.c). Private to the library.
 */
#ifndef TR_DNS_RES_H
#define TR_DNS_RES_H

#include <resolv.h>
#include "dns.h"

/* Initialise rs (caller-owned) for a lookup through d's settings: d's
 * server only when one is configured, its timeout and attempts,
 * RES_TRUSTAD. 0 ok (release with res_nclose), -1 failed (nothing to
 * release). */
int tr_dns_res_open(const tr_dns *d, struct __res_state *rs);

#endif

/*
 * query.h - the routing of tlsrelay -q (query.c), shared with
 * tlsrelay-report explain (report_explain.c): a destination as mail for it
 * would be routed, and the nexthop-level inputs of its demand.
 * tlsrelay_policy_describe() itself is public (tlsrelay.h).
 */
#ifndef TR_QUERY_H
#define TR_QUERY_H

#include "demand.h"

struct tlsrelay_ctx;

/* The nexthop-level inputs of mail for dest (a bare domain goes to the
 * relayhost when one is set): *nh, *pol (its map entry or
 * tls_security_level), *in (no message, no server), *via_relay. The maps
 * are loaded.
 * Returns: OK, USAGE 4.3.5 (bad dest), CONFIG 4.3.5 (bad relayhost or
 * map), INTERNAL 4.3.0 (loading the maps). */
tlsrelay_cat tr_query_inputs(struct tlsrelay_ctx *ctx, const char *dest, tr_nexthop *nh,
                             tr_policy *pol, tr_demand_in *in, int *via_relay,
                             tlsrelay_status *st);

#endif

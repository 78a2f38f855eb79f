/*
 * deliver.h - routing one message to its servers (deliver.c).
 *
 * tlsrelay_deliver() (public, tlsrelay.h) validates the request, groups
 * recipients by nexthop (the -r nexthop, else relayhost, else each
 * recipient's domain), looks up MX hosts and addresses, and runs SMTP
 * sessions until every recipient is settled or the limits are reached:
 *   mx_address_limit - addresses tried at most per nexthop (default 5);
 *   mx_session_limit - sessions that got past EHLO at most (default 2),
 * as Postfix's smtp_mx_address_limit / smtp_mx_session_limit. Under level
 * may a failed TLS handshake is retried once on the same address without
 * STARTTLS. Then it logs one line per recipient and computes the summary.
 */
#ifndef TR_DELIVER_H
#define TR_DELIVER_H

#include "tlsrelay.h"
#include "smtp_client.h"

/* The summary of per-recipient statuses (see tlsrelay_deliver). */
tlsrelay_cat tr_deliver_summary(const tlsrelay_request *req, tlsrelay_status *st);

#endif

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
#include "observe.h"
#include "smtp_client.h"
#include "tls_level.h"

/* How a caller wants a delivery run (tr_deliver). */
typedef struct tr_deliver_opts {
	int dry_run;               /* every session stops after the EHLO that
	                            * follows STARTTLS (or the first EHLO without
	                            * TLS) and sends QUIT: never AUTH, never MAIL;
	                            * recipients are settled OK "would be
	                            * delivered"; no message is needed (NULL) and
	                            * no recipient log line is written */
	int cache_readonly;        /* the TLS session cache is only read */
	tr_tls_level force_level;  /* replaces the nexthop's policy (demand.h
	                            * R2); TR_TLS_INVALID: none */
	const tr_observers *obs;   /* the caller's observers (after the
	                            * library's own); NULL: none */
} tr_deliver_opts;

/* tlsrelay_deliver with options (NULL: those of tlsrelay_deliver).
 * Returns: as tlsrelay_deliver: OK, TEMP, PERM (the summary); USAGE (a bad
 * request, no message), DATAERR 5.6.0, CONFIG 4.3.5, INTERNAL 4.3.0 before
 * anything is sent. */
tlsrelay_cat tr_deliver(struct tlsrelay_ctx *ctx, tlsrelay_request *req,
                        tlsrelay_message *msg, const tr_deliver_opts *opts,
                        tlsrelay_status *st);

/* The summary of per-recipient statuses (see tlsrelay_deliver).
 * Returns: OK, TEMP (also for INTERNAL recipients), PERM (5.1.1 only when
 * every recipient was unknown). */
tlsrelay_cat tr_deliver_summary(const tlsrelay_request *req, tlsrelay_status *st);

#endif

/*
 * observe.h - the delivery's event stream (observe.c).
 *
 * The routing code (deliver.c) and the SMTP session (smtp_client.c,
 * smtp_txn.c) report what happens as events; observers watch without being
 * threaded through the code (OpenSMTPD's smtp.h callbacks). TLS-RPT
 * recording (tlsrpt_record.c), tlsrelay-probe's report (probe.c), the
 * shadow policy (shadow.c) and the TLS history with its metrics
 * (history.c) are observers. The session knows nothing of them: it calls
 * tr_emit() and goes on.
 *
 * Contract:
 * - An observer sees every event of one delivery, in order, on the thread
 *   that delivers. Pointers in an event are valid only during the call.
 * - An observer never changes the delivery: it gets const data, returns
 *   nothing, and a failure of its own (a store that cannot be written) is
 *   its own business (log it, go on). It must not block for long.
 * - Events, with the fields they set (others are 0/NULL):
 *     NEXTHOP   routing starts a nexthop: nh, demand (nexthop level, host
 *               unknown), in (its inputs), policy (the same as a policy,
 *               for display), sts (the MTA-STS lookup, NULL when it does
 *               not apply), is_relay
 *     SERVER    a server's demand is decided: nh, host, demand, in (the
 *               inputs it was computed from: a candidate demand can be
 *               computed beside it, shadow.c), dane (the DANE facts, NULL
 *               when not looked up), mx_state (the DNSSEC status of the MX
 *               lookup, dane.h); demand->skip: the server is not tried (st
 *               says why)
 *     CONNECT   a session starts: host, addr, relay, demand, plain_retry;
 *               reused: on an idle connection taken from tlsrelayd's
 *               connection cache (conn_cache.h): no TCP connection, no
 *               greeting, EHLO, STARTTLS, TLS handshake nor AUTH follow
 *               (no REPLY, STARTTLS, TLS or AUTH events), the TLS session
 *               is the one its first session reported
 *     REPLY     a reply was read: label ("greeting", "EHLO", "HELO",
 *               "reply to STARTTLS", "EHLO after TLS"), reply
 *     STARTTLS  the server's STARTTLS offer, looked at: offered
 *     TLS       TLS is up: tls (the posture), ssl (the SSL *, for the
 *               certificate chain)
 *     FALLBACK  TLS failed under level may: st; a plaintext session follows
 *     FAIL      the session failed at site level: st
 *     AUTH      credentials: cred_key; st (OK, or the failure); dry_run:
 *               not tried
 *     RCPT      a recipient was settled in this session: rcpt (its index),
 *               st
 *     END       the session ended: outcome (what it showed of TLS), st,
 *               ssl (the connection's SSL *, NULL without TLS: on a reused
 *               connection, which has no TLS event, the only way to its
 *               certificate). With reused set the outcome is the
 *               connection's, already reported by the session that opened
 *               it: not a new TLS session (TLS-RPT does not count it
 *               again; the TLS history counts it as a reuse). stale: the
 *               cached connection was found closed before MAIL was
 *               accepted: nothing was tried on it, nothing settled, and a
 *               new connection follows at once (CONNECT); observers that
 *               count attempts leave it out
 * - Every session event (CONNECT to END) carries reused and conn_use: the
 *   transactions given to the connection so far, this one included (1: a
 *   new connection; Postfix's conn_use).
 *     DONE      the delivery ended: req (every recipient's status)
 */
#ifndef TR_OBSERVE_H
#define TR_OBSERVE_H

#include <stddef.h>
#include "tlsrelay.h"
#include "dns.h"
#include "smtp_reply.h"
#include "tls.h"

struct tr_demand;
struct tr_demand_in;
struct tr_policy;
struct tr_dane_host;
struct tr_nexthop;
struct tr_sts_found;

typedef enum tr_ev_type {
	TR_EV_NEXTHOP = 0,
	TR_EV_SERVER,
	TR_EV_CONNECT,
	TR_EV_REPLY,
	TR_EV_STARTTLS,
	TR_EV_TLS,
	TR_EV_FALLBACK,
	TR_EV_FAIL,
	TR_EV_AUTH,
	TR_EV_RCPT,
	TR_EV_END,
	TR_EV_DONE
} tr_ev_type;

/* What one session showed of the server's TLS (TLS-RPT, history). */
typedef struct tr_tls_outcome {
	int greeted;               /* EHLO/HELO completed (a TLS result exists) */
	int offered;               /* the server advertised STARTTLS (or smtps) */
	int tried;                 /* a TLS handshake was attempted */
	int up;                    /* TLS was established */
	int enforced;              /* the certificate met the demand */
	tr_tls_info info;          /* posture when up (certificate checks) */
	char sending_ip[64];       /* our end of the connection, "" unknown */
} tr_tls_outcome;

typedef struct tr_event {
	tr_ev_type type;
	const struct tr_nexthop *nh;
	int is_relay;
	const char *host;
	const tr_addr *addr;
	const char *relay;               /* "host[addr]:port" */
	const struct tr_demand *demand;
	const struct tr_demand_in *in;
	const struct tr_policy *policy;
	const struct tr_dane_host *dane;
	int mx_state;                    /* tr_dane_mx (SERVER) */
	const struct tr_sts_found *sts;
	int plain_retry;
	int reused;                      /* the session's connection was cached */
	int stale;                       /* END: ... and found closed (not tried) */
	unsigned conn_use;               /* its transactions, this one included */
	const char *label;
	const tr_reply *reply;
	int offered;
	const tr_tls_info *tls;
	void *ssl;
	const char *cred_key;
	int dry_run;
	size_t rcpt;
	const tr_tls_outcome *outcome;
	const tlsrelay_request *req;
	const tlsrelay_status *st;
} tr_event;

typedef void (*tr_observe_fn)(void *arg, const tr_event *ev);

/* The delivery's own (TLS-RPT, the shadow policy, the TLS history: 3)
 * and the caller's (tr_deliver_opts: the probe's one) */
#define TR_OBSERVERS_MAX 12

typedef struct tr_observers {
	struct { tr_observe_fn fn; void *arg; } o[TR_OBSERVERS_MAX];
	int n;
} tr_observers;

/* Add an observer. A full list (TR_OBSERVERS_MAX) is a bug of the code
 * that adds them (the list is sized for the observers this library has):
 * tr_panic(). */
void tr_observe_add(tr_observers *obs, tr_observe_fn fn, void *arg);

/* Hand ev to every observer in obs (NULL: none), in the order added. */
void tr_emit(const tr_observers *obs, const tr_event *ev);

#endif

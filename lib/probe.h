/*
 * probe.h - tlsrelay_probe() (probe.c, probe_cert.c): what tlsrelay-probe
 * shows while the real delivery code routes, connects, greets, says EHLO
 * and starts TLS, and where it stops: never MAIL FROM. The probe is an
 * ordinary caller of the delivery (tr_deliver with a dry run, a read-only
 * session cache and its own observer, observe.h): nothing in the delivery
 * or the session knows it.
 */
#ifndef TR_PROBE_H
#define TR_PROBE_H

#include "status.h"
#include "smtp_reply.h"
#include "tls.h"

typedef struct tr_probe {
	tlsrelay_report_fn fn;
	void *arg;
	/* the session being watched (probe.c) */
	int is_relay;              /* its nexthop is the relay host */
	int auth_offered;          /* the last EHLO offered AUTH */
	int cred_used;             /* credentials would be used */
} tr_probe;

/* One output line. */
void tr_probe_say(const tr_probe *p, const char *fmt, ...) TR_PRINTF(2, 3);

/* Protocol, cipher, group, resumption and the certificate chain of the TLS
 * session on ssl (an SSL *), with the verification result in info
 * (probe_cert.c). */
void tr_probe_tls(const tr_probe *p, void *ssl, const tr_tls_info *info);

#endif

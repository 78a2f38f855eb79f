/*
 * probe.h - probe mode of a context (probe.c, probe_cert.c): what
 * tlsrelay-probe shows while the real delivery code routes, connects,
 * greets, says EHLO and starts TLS, and where it stops: never MAIL FROM.
 *
 * The session and routing code call these hooks; they do nothing unless
 * tlsrelay_probe() has put the context in probe mode (ctx->probe set), so
 * a delivery pays one pointer test per hook.
 */
#ifndef TR_PROBE_H
#define TR_PROBE_H

#include "status.h"
#include "smtp_reply.h"
#include "tls.h"

struct tlsrelay_ctx;
struct tr_policy;
struct tr_session;

typedef struct tr_probe {
	tlsrelay_report_fn fn;
	void *arg;
	int level;                 /* -l: forced level, or -1 */
} tr_probe;

/* One output line (nothing when not probing). */
void tr_probe_say(struct tlsrelay_ctx *ctx, const char *fmt, ...) TR_PRINTF(2, 3);

/* Each line of reply r under label ("greeting", "EHLO", "EHLO after TLS"). */
void tr_probe_reply(struct tlsrelay_ctx *ctx, const char *label, const tr_reply *r);

/* Protocol, cipher, group, resumption and the certificate chain of the TLS
 * session on ssl (an SSL *), with the verification result in info. */
void tr_probe_tls(struct tlsrelay_ctx *ctx, void *ssl, const tr_tls_info *info);

/* Routing: replace the effective policy by the -l level, if any. */
void tr_probe_policy(struct tlsrelay_ctx *ctx, struct tr_policy *pol);

/* In place of AUTH and the mail transaction: settle every recipient the
 * session is trying as "would be delivered" with the TLS posture. Returns
 * 1 when probing (the caller skips AUTH and the transaction), else 0. */
int tr_probe_instead_of_mail(struct tr_session *s, tlsrelay_status *st);

#endif

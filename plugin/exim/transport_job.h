/*
 * transport_job.h - what the Exim transport module's files share
 * (tlsrelay_transport.c: options, context, the group and its in-process
 * delivery; transport_daemon.c: the delivery through tlsrelayd). Built
 * against the Exim tree only (exim_api.h first). Not an interface of
 * anything else: only _transport_info leaves the module.
 */
#ifndef TR_EXIM_TRANSPORT_JOB_H
#define TR_EXIM_TRANSPORT_JOB_H

#include "exim_api.h"
#include "tlsrelay.h"
#include "tlsrelay_internal.h"

typedef struct {
	uschar *config;
	uschar *daemon_socket;
	uschar *relayhost;
	uschar *helo_data;
	void *warm;                 /* struct warm: not an option */
} tlsrelay_transport_options_block;

/* The context read at initialisation, for the deliveries forked later. */
struct warm {
	tlsrelay_ctx *ctx;
	int used;                   /* given to a delivery in this process */
};

/* One call of the entry point: the group of addresses and the options. */
typedef struct job {
	transport_instance *tblock;
	tlsrelay_transport_options_block *ob;
	address_item *addrlist;
	address_item **addr;        /* the group as an array */
	int n;
	int max_rcpt;
	tlsrelay_ctx *ctx;          /* NULL until an in-process delivery needs it */
	const uschar *config, *relayhost, *helo, *sock;   /* the options, expanded */
	int helo_set;               /* helo_data set in the transport block */
	int in_process;             /* tlsrelayd not used (any more) in this call */
} job;

/* A status made here, not by the library (the texts are in doc/
 * TROUBLESHOOTING.md: tests/docs/errors.py reads this function's calls). */
static inline void exim_status_set(tlsrelay_status *st, tlsrelay_cat cat, const char *dsn,
                            const char *text)
{
	st->cat = cat;
	snprintf(st->dsn, sizeof st->dsn, "%s", dsn);
	snprintf(st->text, sizeof st->text, "%s", text);
}

/* The message as this transport's options make it, in memory or in an
 * unlinked file, at offset 0. -1 with *st on failure. */
int tr_exim_write_message(job *j, tlsrelay_status *st);

/* ENVID decoded from Exim's xtext, if usable; else NULL. */
const char *tr_exim_envid_plain(void);

/* The recipients rcpts[0..k) through tlsrelayd at daemon_socket (dsn: RET
 * and ENVID too): 1 when each has its status (from the delivery, or TEMP
 * when the outcome is unknown), 0 when the daemon ran nothing (none,
 * refused, not served): the caller delivers here, as it does from then on
 * (j->in_process set, the reason logged once). transport_daemon.c. */
int tr_exim_deliver_via_daemon(job *j, tlsrelay_rcpt *rcpts, int k, int dsn);

#endif

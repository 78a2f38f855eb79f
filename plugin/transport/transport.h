/*
 * transport.h - the transport program's body (transport.c), shared by
 * tlsrelay (main.c) and the delivery processes of tlsrelayd.
 */
#ifndef TR_TRANSPORT_H
#define TR_TRANSPORT_H

#include "tlsrelay.h"

/* A context tlsrelayd prepared (tlsrelay_ctx_prepare) from the file
 * config: used when a command line names the same file and gives no -o.
 * It is never freed by tr_transport_main(). */
struct tr_warm {
	tlsrelay_ctx *ctx;
	const char *config;
};

/* The whole program: arguments, configuration, one delivery (or -q, -n,
 * -d, -t), the exit status. warm may be NULL. The message is read from
 * standard input; the result line goes to standard output. */
int tr_transport_main(int argc, char **argv, const struct tr_warm *warm);

#endif

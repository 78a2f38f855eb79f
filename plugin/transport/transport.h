/*
 * transport.h - the transport program's body (transport.c), shared by
 * tlsrelay (main.c) and the delivery processes of tlsrelayd.
 */
#ifndef TR_TRANSPORT_H
#define TR_TRANSPORT_H

#include "tlsrelay.h"

/* What tlsrelayd gives a delivery process: the context it prepared
 * (tlsrelay_ctx_prepare) from its configuration file, which
 * tr_transport_main() never frees. */
struct tr_warm {
	tlsrelay_ctx *ctx;       /* NULL: the file could not be prepared */
	const char *config;      /* the daemon's configuration file */
	const char *cwd;         /* the client's working directory: a relative
	                          * -c is resolved against it (NULL: ours) */
	const char *not_served;  /* set with TR_EXIT_NOT_SERVED: why */
};

/* tr_transport_main() with a tr_warm: the command line is not one the
 * daemon runs (tlsrelayd(8): it serves deliveries with its own
 * configuration, nothing else). Nothing was read from standard input or
 * written anywhere; warm->not_served says why. Never an exit status. */
#define TR_EXIT_NOT_SERVED 256

/* The whole program: arguments, configuration, one delivery (or -q, -n,
 * -d, -t), the exit status. warm is NULL for tlsrelay; with tlsrelayd's,
 * only a delivery with the daemon's configuration file is run (no -o,
 * -t, -n, -d, -q, -r; -c only naming that file): anything else returns
 * TR_EXIT_NOT_SERVED before any other work. The message is read from
 * standard input; the result line goes to standard output. */
int tr_transport_main(int argc, char **argv, struct tr_warm *warm);

#endif

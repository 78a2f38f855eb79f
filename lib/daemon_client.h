/*
 * daemon_client.h - the client side of tlsrelayd's protocol
 * (trd_proto.h): one delivery handed to the daemon, its reply read.
 * Used by the Exim transport module (daemon_socket). The steps themselves
 * (connect, request, send, reply) are trd_client.h, shared with
 * tlsrelayc, which links no library (a header, as trd_fdpass.h).
 *
 * Decisions:
 * - The outcome says what the caller may do next, which is all a client
 *   must get right: UNREACHABLE and NOT_SERVED mean the daemon ran nothing
 *   of the request and touched none of its descriptors (deliver in this
 *   process: a missing daemon never holds mail back); LOST means the
 *   request went out and no usable reply came (the delivery may have
 *   happened: defer, never report it sent); REPLIED gives the status.
 * - The wait for the reply is bounded (timeout_s: the caller knows the
 *   delivery's own deadline); past it the connection is closed, which
 *   the daemon takes as the client gone (it stops the delivery), and the
 *   outcome is LOST.
 * - Nothing here logs: the caller says what happened in its own log.
 */
#ifndef TR_DAEMON_CLIENT_H
#define TR_DAEMON_CLIENT_H

#include "tlsrelay.h"

typedef enum tr_daemon_outcome {
	TR_DAEMON_REPLIED,      /* status (and the daemon's line) below */
	TR_DAEMON_NOT_SERVED,   /* the daemon refused it, ran nothing */
	TR_DAEMON_UNREACHABLE,  /* nothing was sent (no daemon, refused, too big) */
	TR_DAEMON_LOST          /* sent; no reply, or an unreadable one */
} tr_daemon_outcome;

#define TR_DAEMON_LINE_MAX 512

typedef struct tr_daemon_reply {
	int status;                       /* the delivery's exit status */
	char line[TR_DAEMON_LINE_MAX + 1]; /* the daemon's own line ("4.3.0
	                                   * tlsrelayd: ..."), "" when the
	                                   * delivery process replied */
} tr_daemon_reply;

/* Hand the command line argv[0..argc) (tlsrelay's, tlsrelay(8)) to the
 * daemon at socket path sock, with fds[0..2] as the delivery's standard
 * input, output and error; wait at most timeout_s seconds for the reply.
 * REPLIED fills *reply; the other outcomes set *st: UNREACHABLE and
 * NOT_SERVED with why (CONFIG 4.3.5 / TEMP 4.3.0, for the caller's log),
 * LOST with TEMP 4.3.0 "tlsrelayd at SOCK: ...: delivery status unknown".
 * Returns: the outcome; *st: OK (REPLIED), TEMP 4.3.0, CONFIG 4.3.5. */
tr_daemon_outcome tr_daemon_deliver(const char *sock, int argc, char *const *argv,
                                    const int fds[3], int timeout_s,
                                    tr_daemon_reply *reply, tlsrelay_status *st);

#endif

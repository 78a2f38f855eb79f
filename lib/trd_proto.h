/*
 * trd_proto.h - what tlsrelayc (plugin/transport/tlsrelayc.c) and tlsrelayd
 * (plugin/daemon) say to each other over the daemon's unix stream socket.
 * In lib/ because the library's lib/daemon_client.c speaks it too (the
 * library includes nothing of plugin/); internal, never installed; the
 * daemon gets it through tlsrelay_internal.h, tlsrelayc through
 * trd_client.h. Header-only: tlsrelayc links nothing but libc.
 *
 * Request, client to daemon, once per connection:
 *   magic     TRD_MAGIC, TRD_MAGIC_LEN bytes (with its NUL)
 *   argc      uint32, host order (same host), 1..TRD_ARGC_MAX
 *   len       uint32, bytes that follow, 1..TRD_LEN_MAX
 *   strings   the client's working directory, then argc arguments
 *             (argv[0] first), each ending with a NUL: exactly argc + 1
 *             NULs, the last byte a NUL
 * The client's descriptors 0, 1 and 2 ride as SCM_RIGHTS on the first
 * bytes: the delivery process reads the message from the MTA's pipe and
 * writes its result line to the MTA's pipe itself, exactly as the
 * one-process transport does.
 *
 * The client then sends nothing more and never shuts its side down: the
 * daemon takes the end of the connection (POLLRDHUP) as the client gone
 * (the MTA killed it, a timeout) and stops the delivery process.
 *
 * Reply, to the client, once, when the delivery has ended:
 *   "<status>\n" or "<status> <line>\n"
 * status is the exit status to exit with (0-255); line, when given, is a
 * DSN line ("4.3.0 tlsrelayd: ...") the client prints on its standard
 * output: the delivery process died or never ran, so nobody else did. At
 * most TRD_REPLY_MAX bytes. The delivery process writes it itself (the
 * daemon hands it the connection), so that a daemon killed or restarted
 * meanwhile loses nothing; the daemon writes it only when no delivery
 * process took the request or the process died during the delivery. No
 * reply (end of file) means the outcome is unknown: the client exits 75
 * (the message is kept; at worst sent twice, never lost).
 *
 * Or "not-served\n" (TRD_REPLY_NOT_SERVED): the daemon runs only
 * deliveries with its own configuration, and this request was something
 * else (-o, -t, -n, -d, -q, -r, -c naming another file). Nothing of it
 * was run: the descriptors were neither read nor written. The client
 * runs tlsrelay itself, as its own user, with the same arguments.
 */
#ifndef TRD_PROTO_H
#define TRD_PROTO_H

#define TRD_MAGIC "TLSRELAYD/1"
#define TRD_MAGIC_LEN 12
#define TRD_HEAD_LEN (TRD_MAGIC_LEN + 8)
#define TRD_ARGC_MAX 10000
#define TRD_LEN_MAX (1024 * 1024)
#define TRD_REPLY_MAX 512

/* A delivery process's result when the request was malformed (the
 * transport itself never exits with it). */
#define TRD_EXIT_BAD_REQUEST 250
/* ... and when the request was not served (the same). */
#define TRD_EXIT_NOT_SERVED 251
#define TRD_REPLY_NOT_SERVED "not-served"

#endif

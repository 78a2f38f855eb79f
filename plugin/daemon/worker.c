/*
 * worker.c - a delivery process of tlsrelayd: forked from the daemon with
 * the warm context, it runs deliveries one after the other, as Postfix's
 * smtp(8) processes do, until the daemon closes its control socket.
 *
 * Per delivery: the daemon passes the client's connection over the
 * control socket (SCM_RIGHTS, one byte); the worker reads the request
 * (request.c), which makes the client's descriptors 0-2 its own, runs
 * the transport, then puts /dev/null back on 0-2 (so that the MTA's pipe
 * is held by the client alone and ends with it), tells the daemon
 * (TRD_REPORT_DONE, with its idle connection's label), writes the result
 * to the client (trd_proto.h), closes the client's connection, and only
 * then writes the delivery's TLS history record (tr_ctx_after_result,
 * lib/history.h DEFERRED; its lines to the daemon's log), before it takes
 * the next connection.
 *
 * Between deliveries the process keeps at most one idle SMTP connection
 * (lib/conn_cache.h, on the warm context: none without one). It waits on
 * the control socket and on that connection's socket at once, up to the
 * connection's idle time limit: when the server speaks or hangs up, or
 * the limit passes, the connection is closed (QUIT when still in step)
 * and the daemon is told (TRD_REPORT_IDLE). Nothing else is left armed:
 * the transport's last-resort alarm is cancelled, standard output and
 * error are flushed.
 *
 * Decisions (issue 16 item 4):
 * - The result goes from this process to the client, not through the
 *   daemon: a daemon killed or restarted during a burst leaves its
 *   delivery processes running, and each client whose delivery completed
 *   gets its status (0 after the server's 2xx), not an end of file (75,
 *   and the MTA would send the message again). The daemon is told first,
 *   then the client: the client can only end after the reply, so the
 *   daemon never takes a client that has its reply and went for one that
 *   went away (which would stop this process).
 * - The daemon gone (the report cannot be written, or the control socket
 *   ends): the client still gets its result, then the process closes its
 *   idle connection and exits. A control socket that ends while a client
 *   is being handed over still delivers what was queued on it.
 * - The TLS history after the result: the client (and the MTA) never
 *   waits for the history store (its lock wait, a pending journal's
 *   import, the fleet's share). A next client the daemon hands over
 *   meanwhile waits in the control socket for it. The process dying
 *   between its result and that write loses the record (not the mail,
 *   whose result is out).
 * - Every crash point, and what the client (the MTA) sees:
 *     daemon dies before a process took the client (accept queue, route
 *       wait, hand-over not sent): end of file -> 75, nothing was sent;
 *     daemon dies after the hand-over: the process delivers, the client
 *       gets the real result;
 *     process dies before the server's 2xx to the end of data: the daemon
 *       replies 75 (4.3.0 ... ended by signal N): at most that message
 *       sent twice; after its report and before its reply: the daemon has
 *       closed its copy, the client gets end of file -> 75, the same;
 *     both die: end of file -> 75;
 *     client dies: the daemon stops the process (SIGTERM); the MTA counts
 *       the delivery as failed and will retry.
 *   Exit 0 only ever comes from this process's own result after the
 *   server's 2xx to the end of data.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "tlsrelay_internal.h"
#include "daemon.h"

_Static_assert(TRD_LABEL_MAX >= TR_CONN_LABEL_MAX, "a label must fit in a report");

/* Tell the daemon; -1 when it is gone. */
static int report(int ctl, int kind, int rc, int uses, const tlsrelay_ctx *warm)
{
	struct trd_report r;
	ssize_t n;

	memset(&r, 0, sizeof r);
	r.kind = kind;
	r.rc = rc;
	r.uses = uses;
	snprintf(r.label, sizeof r.label, "%s", warm ? tr_conn_cache_label(warm) : "");
	do
		n = send(ctl, &r, sizeof r, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof r ? 0 : -1;
}

/* The connection passed on ctl, *lmtp whether it is an LMTP client; -1
 * when told to stop (end of file). */
static int take_conn(int ctl, int *lmtp)
{
	union { char space[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
	char byte = 0;
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = { 0 };
	struct cmsghdr *cm;
	ssize_t n;
	int fd = -1;

	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.space;
	mh.msg_controllen = sizeof u.space;
	do
		n = recvmsg(ctl, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof fd);
	*lmtp = byte == 'l';
	return fd;
}

/* The next connection from the daemon, looking after the idle SMTP
 * connection meanwhile; -1 when told to stop. */
static int next_conn(int ctl, tlsrelay_ctx *warm, int *lmtp)
{
	for (;;) {
		struct pollfd p[2] = { { ctl, POLLIN, 0 }, { -1, POLLIN, 0 } };
		int ms, n;

		p[1].fd = tr_conn_cache_idle_fd(warm, &ms);
		n = poll(p, 2, p[1].fd >= 0 ? ms : -1);
		if (n < 0 && errno != EINTR)
			return -1;
		if (p[0].revents)
			return take_conn(ctl, lmtp);
		if (p[1].fd >= 0 && n >= 0 && !tr_conn_cache_tend(warm) &&
		    report(ctl, TRD_REPORT_IDLE, 0, 0, warm) < 0)
			return -1;
	}
}

/* /dev/null on 0, 1 and 2: the client's descriptors are let go. null: a
 * descriptor of /dev/null the process keeps (-1: open one now). */
static void release_std(int null)
{
	int mine = null < 0 ? open("/dev/null", O_RDWR | O_CLOEXEC) : null;

	fflush(stdout);
	fflush(stderr);
	for (int fd = 0; fd <= 2; fd++)
		if (mine >= 0)
			(void)dup2(mine, fd);
		else
			close(fd);
	if (null < 0 && mine > 2)
		close(mine);
}

/* The result for the client (trd_proto.h). */
static void reply(int conn, int rc)
{
	char line[TRD_REPLY_MAX];

	if (rc == TRD_EXIT_BAD_REQUEST)
		snprintf(line, sizeof line, "%d 4.3.0 tlsrelayd: request refused (see the mail log)\n",
		         trd_temp_exit());
	else if (rc == TRD_EXIT_NOT_SERVED)
		snprintf(line, sizeof line, TRD_REPLY_NOT_SERVED "\n");
	else
		snprintf(line, sizeof line, "%d\n", rc & 0xff);
	(void)!send(conn, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* The client has its result: the work left until then (the history). */
static void after_result(tlsrelay_ctx *warm)
{
	if (warm == NULL)
		return;
	tlsrelay_ctx_set_logger(warm, trd_lib_log, NULL, 0);
	tr_ctx_after_result(warm);
	tlsrelay_ctx_set_logger(warm, NULL, NULL, 0);
}

void trd_worker_run(int ctl, tlsrelay_ctx *warm, const char *config, int max_use)
{
	tlsrelay_status done = { .cat = TLSRELAY_OK }, st;
	int conn, rc, gone = 0, null, lmtp = 0, uses = 0;

	release_std(-1);
	/* kept from now on, above 2: one open(2) less per delivery */
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	(void)tlsrelay_no_core_dumps();     /* inherited already; the transport
	                                     * leaves it to us (it holds the maps) */
	if (warm != NULL)       /* connection cache, memory spool */
		(void)tr_ctx_delivery_process(warm, &st);   /* out of memory: no reuse */
	while (!gone && (conn = next_conn(ctl, warm, &lmtp)) >= 0) {
		if (lmtp) {     /* a session, its own replies (lmtp.c) */
			int n = trd_lmtp_run(conn, warm, max_use - uses);
			uses += n > 0 ? n : 1;
			gone = report(ctl, TRD_REPORT_DONE, 0, uses, warm) < 0;
			close(conn);
			after_result(warm);      /* done by the session already */
			continue;
		}
		rc = trd_request_run(conn, warm, config);
		uses++;
		alarm(0);
		release_std(null);
		gone = report(ctl, TRD_REPORT_DONE, rc, uses, warm) < 0;
		reply(conn, rc);
		close(conn);
		after_result(warm);
	}
	tr_conn_cache_free(warm);
	if (null >= 0)
		close(null);
	/* exit, not _exit: leak checkers (LSan, valgrind) see the worker. Its
	 * status says only that it ended as told (each delivery's result went
	 * to its client). */
	exit(tlsrelay_status_exit(&done));
}

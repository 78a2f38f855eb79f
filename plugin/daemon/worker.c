/*
 * worker.c - a delivery process of tlsrelayd: forked from the daemon with
 * the warm context, it runs deliveries one after the other, as Postfix's
 * smtp(8) processes do, until the daemon closes its control socket.
 *
 * Per delivery: the daemon passes the client's connection over the
 * control socket (SCM_RIGHTS, one byte); the worker reads the request
 * (request.c), which makes the client's descriptors 0-2 its own, runs
 * the transport, then puts /dev/null back on 0-2 (so that the MTA's pipe
 * is held by the client alone and ends with it), closes its copy of the
 * client's connection (the daemon replies on its own and closes it) and
 * writes the exit status (an int) to the control socket.
 *
 * Between deliveries nothing is left armed: the transport's last-resort
 * alarm is cancelled, standard output and error are flushed.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "daemon.h"

/* The next connection from the daemon; -1 when told to stop (end of file). */
static int next_conn(int ctl)
{
	union { char space[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
	char byte;
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
	return fd;
}

/* /dev/null on 0, 1 and 2: the client's descriptors are let go. */
static void release_std(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	fflush(stdout);
	fflush(stderr);
	for (int fd = 0; fd <= 2; fd++)
		if (null >= 0)
			(void)dup2(null, fd);
		else
			close(fd);
	if (null > 2)
		close(null);
}

void trd_worker_run(int ctl, tlsrelay_ctx *warm, const char *config)
{
	tlsrelay_status done = { .cat = TLSRELAY_OK };
	int conn, rc;

	release_std();
	while ((conn = next_conn(ctl)) >= 0) {
		rc = trd_request_run(conn, warm, config);
		alarm(0);
		release_std();
		close(conn);
		if (write(ctl, &rc, sizeof rc) != (ssize_t)sizeof rc)
			break;
	}
	/* exit, not _exit: leak checkers (LSan, valgrind) see the worker. Its
	 * status says only that it ended as told (each delivery's went to the
	 * daemon over ctl). */
	exit(tlsrelay_status_exit(&done));
}

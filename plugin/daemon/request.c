/*
 * request.c - one delivery process of tlsrelayd: the request of trd_proto.h,
 * then the transport (plugin/transport/transport.c) run as the program
 * would run, with the client's descriptors as 0, 1 and 2.
 *
 * Decisions:
 * - The request must arrive whole within TRD_REQUEST_TIMEOUT seconds and
 *   carry exactly three descriptors; anything else (a short or oversized
 *   request, a bad magic, too few or too many descriptors, a truncated
 *   control message, strings that do not add up) is refused: logged, exit
 *   TRD_EXIT_BAD_REQUEST, which the daemon replies to as 4.3.0 / 75.
 * - conn is left open (the worker closes it).
 * - Only a delivery with the daemon's own configuration is run (the
 *   transport decides, on the command line it parsed: transport.h). Any
 *   other request (-o, -t, -n, -d, -q, -r, another -c: whatever bytes a
 *   client sends) gets TRD_EXIT_NOT_SERVED, logged, before anything is
 *   read from its descriptors or written to them: tlsrelayc then runs
 *   tlsrelay itself, as its own user, with its standard input untouched.
 * - The delivery runs in the daemon's working directory; the client's is
 *   only used to resolve a relative -c (for the comparison: the file read
 *   is the daemon's path). Every path of the configuration is absolute.
 * - The environment is the daemon's, not the client's (TMPDIR included).
 */
#include "config.h"
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "tlsrelay_internal.h"
#include "daemon.h"
#include "../transport/transport.h"

#define TRD_REQUEST_TIMEOUT 10
#define TRD_MAX_FDS 8

/* Wait until conn is readable or the request deadline passes. */
static int wait_readable(int conn, time_t deadline)
{
	struct pollfd p = { conn, POLLIN, 0 };
	time_t now = time(NULL);
	int n;

	if (now >= deadline)
		return -1;
	do
		n = poll(&p, 1, (int)(deadline - now) * 1000);
	while (n < 0 && errno == EINTR);
	return n > 0 ? 0 : -1;
}

static void close_fds(const int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/* Exactly len bytes into buf, each wait bounded by the deadline; 0 or -1. */
static int read_full(int conn, char *buf, size_t len, time_t deadline)
{
	size_t have = 0;

	while (have < len) {
		ssize_t n;

		if (wait_readable(conn, deadline) < 0)
			return -1;
		n = read(conn, buf + have, len - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		have += (size_t)n;
	}
	return 0;
}

/* The head and the descriptors; nfds set to what arrived. The descriptors
 * ride on the first bytes: one recvmsg (no MSG_WAITALL, which would wait
 * past the deadline for a client that sent part of the head and then
 * nothing), the rest of the head read under the deadline. */
static int read_head(int conn, char *head, int *fds, int *nfds, time_t deadline)
{
	union { char space[CMSG_SPACE(TRD_MAX_FDS * sizeof(int))]; struct cmsghdr align; } u;
	struct iovec iov = { head, TRD_HEAD_LEN };
	struct msghdr mh = { 0 };
	struct cmsghdr *cm;
	ssize_t n;

	*nfds = 0;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.space;
	mh.msg_controllen = sizeof u.space;
	if (wait_readable(conn, deadline) < 0)
		return -1;
	do
		n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (int i = 0; i < k && *nfds < TRD_MAX_FDS; i++)
				memcpy(&fds[(*nfds)++], CMSG_DATA(cm) + (size_t)i * sizeof(int), sizeof(int));
		}
	if (n <= 0 || (mh.msg_flags & MSG_CTRUNC))
		return -1;
	return read_full(conn, head + n, TRD_HEAD_LEN - (size_t)n, deadline);
}

/* len bytes of strings, before the deadline. */
static char *read_body(int conn, size_t len, time_t deadline)
{
	char *buf = malloc(len);

	if (buf && read_full(conn, buf, len, deadline) == 0)
		return buf;
	free(buf);
	return NULL;
}

/* argv (argc + 1 slots) pointing into buf; *cwd the first string. */
static char **split(char *buf, size_t len, uint32_t argc, char **cwd)
{
	char **argv = calloc((size_t)argc + 1, sizeof *argv);
	size_t off = 0;

	if (argv == NULL || buf[len - 1] != '\0')
		goto bad;
	for (uint32_t i = 0; i <= argc; i++) {
		if (off >= len)
			goto bad;
		if (i == 0)
			*cwd = buf + off;
		else
			argv[i - 1] = buf + off;
		off += strlen(buf + off) + 1;
	}
	if (off != len)
		goto bad;
	return argv;
bad:
	free(argv);
	return NULL;
}

static int refuse(const char *why, const int *fds, int nfds)
{
	close_fds(fds, nfds);
	trd_log(LOG_ERR, "refused a request: %s", why);
	return TRD_EXIT_BAD_REQUEST;
}

int trd_request_run(int conn, tlsrelay_ctx *warm, const char *config)
{
	time_t deadline = time(NULL) + TRD_REQUEST_TIMEOUT;
	char head[TRD_HEAD_LEN], *body, *cwd = NULL, **argv;
	struct tr_warm w = { warm, config, NULL, NULL };
	uint32_t argc, len;
	int fds[TRD_MAX_FDS], nfds, rc;

	if (read_head(conn, head, fds, &nfds, deadline) < 0)
		return refuse("short or late request, or a truncated control message", fds, nfds);
	if (memcmp(head, TRD_MAGIC, TRD_MAGIC_LEN) != 0)
		return refuse("not a " TRD_MAGIC " request", fds, nfds);
	if (nfds != 3)
		return refuse("not exactly three descriptors", fds, nfds);
	memcpy(&argc, head + TRD_MAGIC_LEN, 4);
	memcpy(&len, head + TRD_MAGIC_LEN + 4, 4);
	if (argc < 1 || argc > TRD_ARGC_MAX || len < 2 || len > TRD_LEN_MAX)
		return refuse("argument count or length out of range", fds, nfds);
	if ((body = read_body(conn, len, deadline)) == NULL)
		return refuse("short or late arguments", fds, nfds);
	if ((argv = split(body, len, argc, &cwd)) == NULL) {
		free(body);
		return refuse("arguments do not match their count", fds, nfds);
	}
	for (int i = 0; i < 3; i++) {
		if (dup2(fds[i], i) < 0) {
			free(argv);
			free(body);
			return refuse("cannot take the descriptors", fds, nfds);
		}
	}
	close_fds(fds, nfds);
	w.cwd = cwd;
	rc = tr_transport_main((int)argc, argv, &w);
	if (rc == TR_EXIT_NOT_SERVED) {
		trd_log(LOG_NOTICE, "request not served (%s): the daemon runs deliveries with its "
		        "own configuration only; the client runs tlsrelay as its own user", w.not_served);
		rc = TRD_EXIT_NOT_SERVED;
	}
	free(argv);
	free(body);
	return rc;
}

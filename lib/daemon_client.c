/*
 * daemon_client.c - one delivery handed to tlsrelayd (daemon_client.h;
 * the bytes are those of plugin/daemon/proto.h, whose constants and
 * descriptor passing (fdpass.h) this file includes: the protocol has one
 * definition, next to its server).
 */
#include "config.h"
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "daemon_client.h"
#include "status.h"
#include "../plugin/daemon/proto.h"
#include "../plugin/daemon/fdpass.h"

_Static_assert(TR_DAEMON_LINE_MAX >= TRD_REPLY_MAX, "a reply line must fit");

static int connect_to(const char *path)
{
	struct sockaddr_un sa;
	int s;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		close(s);
		errno = e;
		return -1;
	}
	return s;
}

/* The request of proto.h (malloc'd, *len bytes); NULL when over the
 * protocol's limits or out of memory. */
static char *build(int argc, char *const *argv, size_t *len)
{
	char cwd[PATH_MAX];
	size_t body, off = TRD_HEAD_LEN;
	uint32_t u;
	char *buf;

	if (getcwd(cwd, sizeof cwd) == NULL)
		strcpy(cwd, "/");
	body = strlen(cwd) + 1;
	for (int i = 0; i < argc; i++)
		body += strlen(argv[i]) + 1;
	if (argc < 1 || argc > TRD_ARGC_MAX || body > TRD_LEN_MAX ||
	    (buf = malloc(TRD_HEAD_LEN + body)) == NULL)
		return NULL;
	memcpy(buf, TRD_MAGIC, TRD_MAGIC_LEN);
	u = (uint32_t)argc;
	memcpy(buf + TRD_MAGIC_LEN, &u, 4);
	u = (uint32_t)body;
	memcpy(buf + TRD_MAGIC_LEN + 4, &u, 4);
	memcpy(buf + off, cwd, strlen(cwd) + 1);
	off += strlen(cwd) + 1;
	for (int i = 0; i < argc; i++) {
		memcpy(buf + off, argv[i], strlen(argv[i]) + 1);
		off += strlen(argv[i]) + 1;
	}
	*len = off;
	return buf;
}

/* All of buf, the descriptors on the first bytes: 0; -1 when nothing was
 * sent; -2 when only part was. */
static int send_all(int s, const char *buf, size_t len, const int fds[3])
{
	ssize_t n = trd_send_fds(s, buf, len, fds, 3);

	if (n <= 0)
		return -1;
	for (size_t off = (size_t)n; off < len; off += (size_t)n) {
		do
			n = send(s, buf + off, len - off, MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n <= 0)
			return -2;
	}
	return 0;
}

/* The reply line (without LF) into line; 0, or -1 (end of file, error,
 * over TRD_REPLY_MAX), -2 (timeout). */
static int read_line(int s, char *line, int timeout_s)
{
	time_t deadline = time(NULL) + timeout_s;
	size_t have = 0;
	char *nl;

	while ((nl = memchr(line, '\n', have)) == NULL) {
		struct pollfd p = { s, POLLIN, 0 };
		time_t now = time(NULL);
		ssize_t n;

		if (have >= TRD_REPLY_MAX)
			return -1;
		if (now >= deadline)
			return -2;
		n = poll(&p, 1, (int)(deadline - now) * 1000);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return -2;
		if (n < 0)
			return -1;
		n = read(s, line + have, TRD_REPLY_MAX - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		have += (size_t)n;
	}
	*nl = '\0';
	return 0;
}

/* "<status>" or "<status> <line>" into *r; -1 if neither. */
static int parse_reply(const char *line, tr_daemon_reply *r)
{
	long status;
	char *end;

	errno = 0;
	status = strtol(line, &end, 10);
	if (errno || end == line || line[0] == '-' || line[0] == '+' || status > 255 ||
	    (*end && *end != ' '))
		return -1;
	r->status = (int)status;
	snprintf(r->line, sizeof r->line, "%s", *end == ' ' ? end + 1 : "");
	return 0;
}

tr_daemon_outcome tr_daemon_deliver(const char *sock, int argc, char *const *argv,
                                    const int fds[3], int timeout_s,
                                    tr_daemon_reply *reply, tlsrelay_status *st)
{
	char line[TRD_REPLY_MAX + 1];
	tr_daemon_outcome out = TR_DAEMON_LOST;
	size_t len = 0;
	char *buf = build(argc, argv, &len);
	int s = -1, rc;

	if (buf == NULL) {
		tr_status_set(st, TLSRELAY_CONFIG, "4.3.5", "tlsrelayd at %s: request over the "
		              "protocol's limits, or out of memory", sock);
		return TR_DAEMON_UNREACHABLE;
	}
	if ((s = connect_to(sock)) < 0) {
		tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "tlsrelayd at %s: cannot connect: %s",
		              sock, strerror(errno));
		free(buf);
		return TR_DAEMON_UNREACHABLE;
	}
	if ((rc = send_all(s, buf, len, fds)) == -1) {
		tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "tlsrelayd at %s: request not accepted: %s",
		              sock, strerror(errno));
		out = TR_DAEMON_UNREACHABLE;
	} else if (rc < 0) {
		tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "tlsrelayd at %s: cannot send the request: "
		              "%s: delivery status unknown", sock, strerror(errno));
	} else if ((rc = read_line(s, line, timeout_s)) < 0) {
		if (rc == -2)
			tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "tlsrelayd at %s: no result within "
			              "%d s: delivery status unknown", sock, timeout_s);
		else
			tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "tlsrelayd at %s: ended without a "
			              "result: delivery status unknown", sock);
	} else if (strcmp(line, TRD_REPLY_NOT_SERVED) == 0) {
		tr_status_set(st, TLSRELAY_CONFIG, "4.3.5", "tlsrelayd at %s: request not served "
		              "(it runs deliveries with its own configuration only: no -o, -r or "
		              "other -c)", sock);
		out = TR_DAEMON_NOT_SERVED;
	} else if (parse_reply(line, reply) < 0) {
		tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "tlsrelayd at %s: unreadable result: "
		              "delivery status unknown", sock);
	} else {
		tr_status_ok(st);
		out = TR_DAEMON_REPLIED;
	}
	close(s);
	free(buf);
	return out;
}

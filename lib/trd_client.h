/*
 * trd_client.h - the client's steps of tlsrelayd's protocol (trd_proto.h):
 * connect, build and send the request with its descriptors, read and parse
 * the reply line. Shared by tlsrelayc (plugin/transport/tlsrelayc.c, which
 * links nothing but libc and is built by musl-gcc from its one file: hence
 * a header, as trd_fdpass.h) and the library's lib/daemon_client.c (the
 * Exim transport module's daemon_socket). What each does with an outcome
 * (fall back, print, defer) stays with it. Internal, never installed; it
 * includes only libc and its two siblings, by paths relative to this file,
 * so that musl-gcc compiles tlsrelayc.c with no -I of lib/.
 */
#ifndef TRD_CLIENT_H
#define TRD_CLIENT_H

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "trd_fdpass.h"
#include "trd_proto.h"

/* A connected unix stream socket to path (close-on-exec), or -1 with errno. */
static inline int trd_client_connect(const char *path)
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

/* The request of trd_proto.h for argv[0..argc) and the working directory, in
 * small (small_len bytes) when it fits, else malloc'd (the caller frees it
 * when it is not small); *len its bytes. NULL when over the protocol's
 * limits or out of memory. */
static inline char *trd_client_request(int argc, char *const *argv, char *small, size_t small_len,
                                       size_t *len)
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
	if (argc < 1 || argc > TRD_ARGC_MAX || body > TRD_LEN_MAX)
		return NULL;
	if (TRD_HEAD_LEN + body <= small_len)
		buf = small;
	else if ((buf = malloc(TRD_HEAD_LEN + body)) == NULL)
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

/* All of buf, the three descriptors fds riding on the first bytes: 0; -1
 * when nothing was sent (the daemon has nothing: the caller may deliver
 * itself); -2 when only part was (the daemon may be delivering). */
static inline int trd_client_send(int s, const char *buf, size_t len, const int fds[3])
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

/* The reply line, without its LF, into line (TRD_REPLY_MAX + 1 bytes),
 * waiting at most timeout_s seconds (< 0: no limit of its own). 0, or -1
 * (end of file, error, no LF within TRD_REPLY_MAX bytes), -2 (timeout). */
static inline int trd_client_reply(int s, char *line, int timeout_s)
{
	time_t deadline = time(NULL) + (timeout_s < 0 ? 0 : timeout_s);
	size_t have = 0;
	char *nl;

	while ((nl = memchr(line, '\n', have)) == NULL) {
		struct pollfd p = { s, POLLIN, 0 };
		time_t now = time(NULL);
		ssize_t n;

		if (have >= TRD_REPLY_MAX)
			return -1;
		if (timeout_s >= 0) {	/* else the read blocks: one system call less */
			if (now >= deadline)
				return -2;
			n = poll(&p, 1, (int)(deadline - now) * 1000);
			if (n < 0 && errno == EINTR)
				continue;
			if (n == 0)
				return -2;
			if (n < 0)
				return -1;
		}
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

/* "<status>" or "<status> <line>" (status 0-255, digits only): 0 with
 * *status and *rest (the line after the space, or NULL); -1 otherwise. */
static inline int trd_client_parse(const char *line, int *status, const char **rest)
{
	long v;
	char *end;

	errno = 0;
	v = strtol(line, &end, 10);
	if (errno || line[0] < '0' || line[0] > '9' || v > 255 || (*end && *end != ' '))
		return -1;
	*status = (int)v;
	*rest = *end == ' ' ? end + 1 : NULL;
	return 0;
}

#endif

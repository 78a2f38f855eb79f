/*
 * metrics.c - tlsrelayd's metrics listener (metrics_listen) and the
 * resolver self-test at start; glue over tlsrelay_report("metrics") and
 * tlsrelay_ctx_check_resolver (tlsrelayd(8)).
 *
 * Decisions:
 * - Loopback or a unix socket only (the setting refuses anything else):
 *   the counters say which TLS failures happen, which is for the admin's
 *   monitoring, not for the network. A unix socket is made like the
 *   daemon's own (mode from the umask at bind: 0660).
 * - Each scrape is served by a child of its own (fork, read the request
 *   with a 2 s limit, answer, exit): a slow or hostile client never holds
 *   up the daemon's loop, and the store is only ever opened by that child
 *   (a store must not cross a fork).
 * - HTTP/1.0 with Connection: close; GET /metrics (or /) gets 200 and the
 *   Prometheus text format 0.0.4, anything else 404; a store that cannot
 *   be read 503 with the reason.
 * - The listener is made once, from the configuration at start: a changed
 *   metrics_listen needs a restart (said in the log on reload).
 * - The resolver self-test runs in a child too, so that DNS timeouts never
 *   delay the start; its lines go to the mail log.
 */
#include "config.h"
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "daemon.h"

#define METRICS_READ_MS 2000
#define METRICS_REQ_MAX 4096

/* ------------------------------------------------------------ listening */

static int listen_unix(const char *path)
{
	struct sockaddr_un sa;
	struct stat sb;
	mode_t old;
	int s, rc = -1;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
		(void)unlink(path);              /* ours from a previous run */
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return -1;
	old = umask(0117);
	rc = bind(s, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (rc < 0) {
		close(s);
		return -1;
	}
	return s;
}

static int listen_inet(const char *spec)
{
	char addr[64];
	const char *colon = strrchr(spec, ':');
	struct sockaddr_storage ss;
	socklen_t len;
	int s, one = 1, port = colon ? atoi(colon + 1) : 0;

	memset(&ss, 0, sizeof ss);
	if (spec[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
		snprintf(addr, sizeof addr, "%.*s", (int)(strchr(spec, ']') - spec - 1), spec + 1);
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((unsigned short)port);
		if (inet_pton(AF_INET6, addr, &a6->sin6_addr) != 1)
			return -1;
		len = sizeof *a6;
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
		snprintf(addr, sizeof addr, "%.*s", (int)(colon - spec), spec);
		a4->sin_family = AF_INET;
		a4->sin_port = htons((unsigned short)port);
		if (inet_pton(AF_INET, addr, &a4->sin_addr) != 1)
			return -1;
		len = sizeof *a4;
	}
	if ((s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return -1;
	(void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, (struct sockaddr *)&ss, len) < 0) {
		close(s);
		return -1;
	}
	return s;
}

int trd_metrics_listen(const char *spec)
{
	int s;

	if (spec == NULL)
		return -1;
	s = strncmp(spec, "unix:", 5) == 0 ? listen_unix(spec + 5) : listen_inet(spec);
	if (s < 0 || listen(s, 16) < 0) {
		trd_log(LOG_ERR, "metrics_listen %s: cannot listen: %s (no metrics served)", spec,
		        strerror(errno));
		if (s >= 0)
			close(s);
		return -1;
	}
	trd_log(LOG_INFO, "metrics on %s", spec);
	return s;
}

/* ------------------------------------------------------------ serving */

struct body {
	char *p;
	size_t len, cap;
	int full;
};

static void add_line(void *arg, const char *line)
{
	struct body *b = arg;
	size_t n = strlen(line) + 1;

	if (b->full)
		return;
	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2;
		char *p = cap <= (64u << 20) ? realloc(b->p, cap) : NULL;

		if (p == NULL) {
			b->full = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, line, n - 1);
	b->p[b->len + n - 1] = '\n';
	b->len += n;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* The request line, read within METRICS_READ_MS; -1 if none. */
static int read_request(int fd, char *req, size_t cap)
{
	struct timespec t0, t;
	size_t n = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (n + 1 < cap && memchr(req, '\n', n) == NULL) {
		struct pollfd p = { fd, POLLIN, 0 };
		long ms;
		ssize_t r;

		clock_gettime(CLOCK_MONOTONIC, &t);
		ms = METRICS_READ_MS - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (ms <= 0 || poll(&p, 1, (int)ms) <= 0)
			return -1;
		if ((r = recv(fd, req + n, cap - 1 - n, 0)) <= 0)
			return -1;
		n += (size_t)r;
		req[n] = '\0';
	}
	req[n] = '\0';
	return memchr(req, '\n', n) ? 0 : -1;
}

static void answer(int fd, tlsrelay_ctx *ctx)
{
	char req[METRICS_REQ_MAX], head[256];
	struct body b = { NULL, 0, 0, 0 };
	tlsrelay_status st;

	if (read_request(fd, req, sizeof req) < 0)
		return;
	if (strncmp(req, "GET /metrics ", 13) != 0 && strncmp(req, "GET / ", 6) != 0) {
		static const char nf[] = "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n"
		                         "Connection: close\r\n\r\nGET /metrics\n";
		send_all(fd, nf, sizeof nf - 1);
		return;
	}
	if (ctx == NULL)
		snprintf(st.text, sizeof st.text, "the configuration could not be loaded");
	if (ctx == NULL || tlsrelay_report(ctx, "metrics", NULL, 0, add_line, &b, &st) !=
	    TLSRELAY_OK || b.full) {
		snprintf(head, sizeof head, "HTTP/1.0 503 Service Unavailable\r\nContent-Type: "
		         "text/plain\r\nConnection: close\r\n\r\n");
		send_all(fd, head, strlen(head));
		send_all(fd, b.full ? "out of memory" : st.text, strlen(b.full ? "out of memory"
		                                                             : st.text));
		send_all(fd, "\n", 1);
		free(b.p);
		return;
	}
	snprintf(head, sizeof head, "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; "
	         "charset=utf-8\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", b.len);
	send_all(fd, head, strlen(head));
	send_all(fd, b.p ? b.p : "", b.len);
	free(b.p);
}

void trd_metrics_serve(struct trd_server *srv)
{
	int conn = accept4(srv->mfd, NULL, NULL, SOCK_CLOEXEC);
	pid_t pid;

	if (conn < 0)
		return;
	if ((pid = fork()) < 0) {
		trd_log(LOG_ERR, "metrics: fork: %s", strerror(errno));
	} else if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		alarm(10);                  /* a last resort: the child never lingers */
		answer(conn, srv->warm);
		close(conn);
		_exit(0);
	}
	close(conn);
}

/* ------------------------------------------------------------ self-test */

static void log_problem(void *arg, const char *line)
{
	(void)arg;
	trd_log(LOG_ERR, "resolver self-test: %s", line);
}

static void log_warning(void *arg, const char *line)
{
	(void)arg;
	trd_log(LOG_WARNING, "resolver self-test: %s", line);
}

void trd_resolver_check(struct trd_server *srv)
{
	pid_t pid;

	if (srv->warm == NULL || (pid = fork()) != 0) {
		if (srv->warm != NULL && pid < 0)
			trd_log(LOG_ERR, "resolver self-test: fork: %s", strerror(errno));
		return;
	}
	signal(SIGTERM, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	alarm(30);
	(void)tlsrelay_ctx_check_resolver(srv->warm, log_problem, log_warning, NULL);
	_exit(0);
}

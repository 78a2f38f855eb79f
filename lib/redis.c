/*
 * redis.c - a minimal, deadline-bounded Redis client (see redis.h).
 *
 * Decisions:
 * - One deadline per call (connect + TLS + AUTH + SELECT is one call):
 *   the fd is non-blocking and every wait is a poll() bounded by what is
 *   left, so no read or write can outlast it.
 * - A host name is resolved with getaddrinfo, which the deadline does not
 *   bound: doc/FLEET.md says to give an address (or a name in /etc/hosts).
 * - Replies are bounded by the callers' commands (small hashes, one
 *   day's aggregate); hiredis's reader keeps its own limits on a bulk
 *   string's size.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <hiredis/hiredis.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include "io.h"
#include "log.h"
#include "redis.h"

struct tr_redis {
	int fd;
	SSL_CTX *sctx;
	SSL *ssl;
	redisReader *reader;
	char name[300];            /* "redis HOST:PORT" for texts */
};

static tlsrelay_cat fail(tr_redis *r, tlsrelay_status *st, const char *what)
{
	return tr_status_set(st, TLSRELAY_TEMP, "4.4.1", "%s: %s", r->name, what);
}

static int left_ms(long long deadline)
{
	long long l = deadline - tr_now_ms();

	return l < 0 ? 0 : (int)l;
}

/* Wait for ev on r->fd until deadline: 0 ready, -1 timeout or error. */
static int wait_fd(tr_redis *r, short ev, long long deadline)
{
	struct pollfd p = { r->fd, ev, 0 };
	int n;

	do {
		n = poll(&p, 1, left_ms(deadline));
	} while (n < 0 && errno == EINTR);
	return n > 0 ? 0 : -1;
}

static int open_socket(tr_redis *r, const tr_redis_addr *a, long long deadline)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	struct sockaddr_un un = { 0 };
	const struct sockaddr *sa;
	socklen_t salen;
	char port[16];
	int err = 0, rc;
	socklen_t elen = sizeof err;

	if (a->path[0]) {
		un.sun_family = AF_UNIX;
		snprintf(un.sun_path, sizeof un.sun_path, "%s", a->path);
		sa = (const struct sockaddr *)&un;
		salen = sizeof un;
	} else {
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICSERV;
		snprintf(port, sizeof port, "%d", a->port);
		if (getaddrinfo(a->host, port, &hints, &res) != 0 || res == NULL)
			return -1;
		sa = res->ai_addr;
		salen = res->ai_addrlen;
	}
	r->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	rc = r->fd < 0 ? -1 : connect(r->fd, sa, salen);
	if (rc < 0 && r->fd >= 0 && (errno == EINPROGRESS || errno == EAGAIN))
		rc = wait_fd(r, POLLOUT, deadline) == 0 &&
		     getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0 ? 0 : -1;
	if (res)
		freeaddrinfo(res);
	if (rc == 0 && !a->path[0]) {
		int one = 1;
		setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	return rc;
}

/* -1 timeout/error; else the SSL call's result once done. */
static int ssl_wait(tr_redis *r, int rc, long long deadline)
{
	int e = SSL_get_error(r->ssl, rc);

	if (e == SSL_ERROR_WANT_READ)
		return wait_fd(r, POLLIN, deadline);
	if (e == SSL_ERROR_WANT_WRITE)
		return wait_fd(r, POLLOUT, deadline);
	return -1;
}

static int start_tls(tr_redis *r, const tr_redis_addr *a, const char *ca_file,
                     long long deadline)
{
	int rc;

	if ((r->sctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return -1;
	SSL_CTX_set_min_proto_version(r->sctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(r->sctx, SSL_VERIFY_PEER, NULL);
	if ((ca_file ? SSL_CTX_load_verify_locations(r->sctx, ca_file, NULL)
	     : SSL_CTX_set_default_verify_paths(r->sctx)) != 1)
		return -1;
	if ((r->ssl = SSL_new(r->sctx)) == NULL || SSL_set_fd(r->ssl, r->fd) != 1 ||
	    SSL_set1_host(r->ssl, a->host) != 1)
		return -1;
	SSL_set_tlsext_host_name(r->ssl, a->host);
	while ((rc = SSL_connect(r->ssl)) != 1)
		if (ssl_wait(r, rc, deadline) < 0)
			return -1;
	return 0;
}

static int write_all(tr_redis *r, const char *buf, size_t len, long long deadline)
{
	while (len > 0) {
		ssize_t n;

		if (r->ssl) {
			int rc = SSL_write(r->ssl, buf, (int)len);
			if (rc <= 0) {
				if (ssl_wait(r, rc, deadline) < 0)
					return -1;
				continue;
			}
			n = rc;
		} else if ((n = send(r->fd, buf, len, MSG_NOSIGNAL)) < 0) {
			if ((errno != EAGAIN && errno != EINTR) || wait_fd(r, POLLOUT, deadline) < 0)
				return -1;
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Some bytes into buf: their count, -1 on timeout, error or EOF. */
static ssize_t read_some(tr_redis *r, char *buf, size_t cap, long long deadline)
{
	for (;;) {
		ssize_t n;

		if (r->ssl) {
			int rc = SSL_read(r->ssl, buf, (int)cap);
			if (rc > 0)
				return rc;
			if (ssl_wait(r, rc, deadline) < 0)
				return -1;
			continue;
		}
		if ((n = read(r->fd, buf, cap)) > 0)
			return n;
		if (n == 0 || (errno != EAGAIN && errno != EINTR) || wait_fd(r, POLLIN, deadline) < 0)
			return -1;
	}
}

void tr_redis_free_replies(void **replies, int n)
{
	for (int i = 0; i < n; i++) {
		if (replies[i])
			freeReplyObject(replies[i]);
		replies[i] = NULL;
	}
}

/* The formatted commands, concatenated (malloc'd), or NULL. */
static char *format_all(const tr_redis_cmd *cmds, int n, size_t *len)
{
	char *all = NULL;

	*len = 0;
	for (int i = 0; i < n; i++) {
		char *one = NULL, *grown;
		const char *argv[TR_REDIS_ARGS_MAX];    /* hiredis 0.14 wants it non-const */
		int l;

		memcpy(argv, cmds[i].argv, sizeof argv);
		l = redisFormatCommandArgv(&one, cmds[i].argc, argv, cmds[i].len);

		if (l < 0 || (grown = realloc(all, *len + (size_t)l + 1)) == NULL) {
			if (l >= 0)
				redisFreeCommand(one);
			free(all);
			return NULL;
		}
		all = grown;
		memcpy(all + *len, one, (size_t)l);
		*len += (size_t)l;
		redisFreeCommand(one);
	}
	return all;
}

tlsrelay_cat tr_redis_call(tr_redis *r, const tr_redis_cmd *cmds, int n, void **replies,
                           int timeout_ms, tlsrelay_status *st)
{
	long long deadline = tr_now_ms() + timeout_ms;
	size_t len;
	char *out = format_all(cmds, n, &len), buf[16384];
	int got = 0;

	for (int i = 0; i < n; i++)
		replies[i] = NULL;
	if (out == NULL)
		return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
	if (write_all(r, out, len, deadline) < 0) {
		free(out);
		return fail(r, st, "cannot send (timeout or connection lost)");
	}
	free(out);
	while (got < n) {
		void *rep = NULL;
		ssize_t k;

		if (redisReaderGetReply(r->reader, &rep) != REDIS_OK) {
			tr_redis_free_replies(replies, got);
			return fail(r, st, "protocol error in a reply");
		}
		if (rep != NULL) {
			replies[got++] = rep;
			continue;
		}
		if ((k = read_some(r, buf, sizeof buf, deadline)) < 0 ||
		    redisReaderFeed(r->reader, buf, (size_t)k) != REDIS_OK) {
			tr_redis_free_replies(replies, got);
			return fail(r, st, k < 0 ? "no reply in time (timeout or connection lost)"
			            : "protocol error in a reply");
		}
	}
	return tr_status_ok(st);
}

/* AUTH and SELECT: OK, or TEMP with the server's error (never the
 * password). */
static tlsrelay_cat hello(tr_redis *r, const char *password, int db, int left,
                          tlsrelay_status *st)
{
	tr_redis_cmd c[2];
	void *rep[2];
	char dbs[16];
	int n = 0;
	const char *sel[] = { "SELECT", dbs };

	snprintf(dbs, sizeof dbs, "%d", db);
	if (password) {
		const char *auth[] = { "AUTH", password };
		tr_redis_cmdv(&c[n++], 2, auth);
	}
	tr_redis_cmdv(&c[n++], 2, sel);
	if (tr_redis_call(r, c, n, rep, left, st) != TLSRELAY_OK)
		return st->cat;
	for (int i = 0; i < n; i++) {
		redisReply *x = rep[i];
		if (x->type == REDIS_REPLY_ERROR) {
			tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "%s: %s refused: %.200s", r->name,
			              password && i == 0 ? "AUTH" : "SELECT", x->str);
			tr_redis_free_replies(rep, n);
			return st->cat;
		}
	}
	tr_redis_free_replies(rep, n);
	return tr_status_ok(st);
}

tr_redis *tr_redis_connect(const tr_redis_addr *a, const char *password, const char *ca_file,
                           int timeout_ms, tlsrelay_status *st)
{
	long long deadline = tr_now_ms() + timeout_ms;
	tr_redis *r = calloc(1, sizeof *r);

	if (r == NULL || (r->reader = redisReaderCreate()) == NULL) {
		free(r);
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		return NULL;
	}
	r->fd = -1;
	if (a->path[0])
		snprintf(r->name, sizeof r->name, "redis unix:%s", a->path);
	else
		snprintf(r->name, sizeof r->name, "redis %s%s:%d", a->host, a->tls ? " (TLS)" : "",
		         a->port);
	if (open_socket(r, a, deadline) < 0)
		fail(r, st, "cannot connect (refused, unreachable or timeout)");
	else if (a->tls && start_tls(r, a, ca_file, deadline) < 0)
		fail(r, st, "TLS handshake failed (certificate, name or timeout)");
	else if (hello(r, password, a->db, left_ms(deadline), st) == TLSRELAY_OK)
		return r;
	ERR_clear_error();
	tr_redis_close(r);
	return NULL;
}

void tr_redis_close(tr_redis *r)
{
	if (r == NULL)
		return;
	if (r->ssl)
		SSL_free(r->ssl);
	if (r->sctx)
		SSL_CTX_free(r->sctx);
	if (r->fd >= 0)
		close(r->fd);
	if (r->reader)
		redisReaderFree(r->reader);
	free(r);
}

void tr_redis_cmdv(tr_redis_cmd *c, int argc, const char *const *argv)
{
	if (argc < 1 || argc > TR_REDIS_ARGS_MAX)	/* the callers' commands are fixed */
		tr_panic(NULL, "a Redis command of %d arguments", argc);
	c->argc = argc;
	for (int i = 0; i < argc; i++) {
		c->argv[i] = argv[i];
		c->len[i] = strlen(argv[i]);
	}
}

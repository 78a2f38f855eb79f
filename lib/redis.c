/*
 * redis.c - a minimal, deadline-bounded Redis client (see redis.h).
 *
 * Decisions:
 * - One deadline per call (connect + TLS + AUTH + SELECT is one call):
 *   the fd is non-blocking and every wait is a poll() bounded by what is
 *   left, so no read or write can outlast it.
 * - A host name is resolved with getaddrinfo, which the deadline does not
 *   bound: doc/FLEET.md says to give an address (or a name in /etc/hosts).
 * - rediss:// to an address (shared_store = rediss://10.0.0.5:6380/2)
 *   checks the certificate's IP address SAN and sends no SNI; to a name,
 *   the DNS name and SNI.
 * - AUTH and SELECT ride with the first call's commands (one flight).
 *   The password is wiped from every buffer that held it.
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
#include <arpa/inet.h>
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
#include <openssl/x509v3.h>
#include "io.h"
#include "log.h"
#include "redis.h"
#include "redis_slot.h"

struct tr_redis {
	int fd;
	SSL_CTX *sctx;
	SSL *ssl;
	redisReader *reader;
	tr_redis_batch hello;      /* AUTH, SELECT: sent with the first call */
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
	unsigned char ip[16];
	int rc;

	if ((r->sctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return -1;
	SSL_CTX_set_min_proto_version(r->sctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(r->sctx, SSL_VERIFY_PEER, NULL);
	if ((ca_file ? SSL_CTX_load_verify_locations(r->sctx, ca_file, NULL)
	     : SSL_CTX_set_default_verify_paths(r->sctx)) != 1)
		return -1;
	if ((r->ssl = SSL_new(r->sctx)) == NULL || SSL_set_fd(r->ssl, r->fd) != 1)
		return -1;
	if (inet_pton(AF_INET, a->host, &ip) == 1 || inet_pton(AF_INET6, a->host, &ip) == 1) {
		/* an address: its IP SAN, and no SNI (RFC 6066 3) */
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(r->ssl), a->host) != 1)
			return -1;
	} else if (SSL_set1_host(r->ssl, a->host) != 1 ||
	           SSL_set_tlsext_host_name(r->ssl, a->host) != 1) {
		return -1;
	}
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

/* Room for one more command and len more bytes; 0, or -1 (out of memory). */
static int batch_grow(tr_redis_batch *b, size_t len)
{
	if (b->n + 1 > b->ncap) {
		int ncap = b->ncap ? b->ncap * 2 : 8;
		size_t *off = realloc(b->off, (size_t)ncap * sizeof *off);
		int *slot;

		if (off == NULL)
			return -1;
		b->off = off;
		if ((slot = realloc(b->slot, (size_t)ncap * sizeof *slot)) == NULL)
			return -1;
		b->slot = slot;
		b->ncap = ncap;
	}
	if (b->len + len > b->cap) {
		size_t cap = (b->len + len) * 2;
		char *grown = malloc(cap);

		if (grown == NULL)
			return -1;
		if (b->buf) {
			memcpy(grown, b->buf, b->len);
			explicit_bzero(b->buf, b->cap);     /* it may hold AUTH's password */
			free(b->buf);
		}
		b->buf = grown;
		b->cap = cap;
	}
	return 0;
}

/* One formatted command (len bytes, its slot) at the end of b. */
static int batch_put(tr_redis_batch *b, const char *cmd, size_t len, int slot)
{
	if (batch_grow(b, len) < 0)
		return -1;
	memcpy(b->buf + b->len, cmd, len);
	b->off[b->n] = b->len;
	b->slot[b->n] = slot;
	b->len += len;
	b->n++;
	return 0;
}

int tr_redis_batch_add(tr_redis_batch *b, const tr_redis_cmd *cmds, int n)
{
	size_t len0 = b->len;
	int n0 = b->n;

	for (int i = 0; i < n; i++) {
		char *one = NULL;
		const char *argv[TR_REDIS_ARGS_MAX];    /* hiredis 0.14 wants it non-const */
		int l, rc;

		memcpy(argv, cmds[i].argv, sizeof argv);
		l = redisFormatCommandArgv(&one, cmds[i].argc, argv, cmds[i].len);
		if (l < 0)
			goto oom;
		rc = batch_put(b, one, (size_t)l, tr_redis_cmd_slot(&cmds[i]));
		explicit_bzero(one, (size_t)l);
		redisFreeCommand(one);
		if (rc < 0)
			goto oom;
	}
	return 0;
oom:
	b->len = len0;
	b->n = n0;
	return -1;
}

int tr_redis_batch_copy(tr_redis_batch *dst, const tr_redis_batch *src, int i)
{
	size_t end = i + 1 < src->n ? src->off[i + 1] : src->len;

	return batch_put(dst, src->buf + src->off[i], end - src->off[i], src->slot[i]);
}

void tr_redis_batch_free(tr_redis_batch *b)
{
	if (b->buf)
		explicit_bzero(b->buf, b->cap);
	free(b->buf);
	free(b->off);
	free(b->slot);
	*b = (tr_redis_batch){ 0 };
}

/* n replies into replies[] (n slots) before deadline: 0, or -1 with
 * every slot NULL and *k < 0 when the connection failed, else a protocol
 * error. */
static int read_replies(tr_redis *r, void **replies, int n, long long deadline, ssize_t *k)
{
	char buf[16384];
	int got = 0;

	*k = 0;
	while (got < n) {
		void *rep = NULL;

		if (redisReaderGetReply(r->reader, &rep) != REDIS_OK)
			goto bad;
		if (rep != NULL) {
			replies[got++] = rep;
			continue;
		}
		if ((*k = read_some(r, buf, sizeof buf, deadline)) < 0 ||
		    redisReaderFeed(r->reader, buf, (size_t)*k) != REDIS_OK)
			goto bad;
	}
	return 0;
bad:
	tr_redis_free_replies(replies, got);
	return -1;
}

/* The replies of AUTH and SELECT: OK, or TEMP with the server's error
 * (never the password). They are freed. */
static tlsrelay_cat hello_replies(tr_redis *r, void **rep, tlsrelay_status *st)
{
	for (int i = 0; i < r->hello.n; i++) {
		redisReply *x = rep[i];

		if (x->type == REDIS_REPLY_ERROR) {
			tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "%s: %s refused: %.200s", r->name,
			              r->hello.n == 2 && i == 0 ? "AUTH" : "SELECT", x->str);
			tr_redis_free_replies(rep, r->hello.n);
			return st->cat;
		}
	}
	tr_redis_free_replies(rep, r->hello.n);
	return tr_status_ok(st);
}

tlsrelay_cat tr_redis_call_batch(tr_redis *r, const tr_redis_batch *b, void **replies,
                                 int timeout_ms, tlsrelay_status *st)
{
	long long deadline = tr_now_ms() + timeout_ms;
	void *hrep[2] = { NULL, NULL };
	const char *out = b->buf;
	size_t len = b->len;
	char *both = NULL;
	ssize_t k;
	int rc;

	for (int i = 0; i < b->n; i++)
		replies[i] = NULL;
	if (r->hello.n > 0) {           /* AUTH, SELECT in front, one write */
		if ((both = malloc(r->hello.len + b->len + 1)) == NULL)
			return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		memcpy(both, r->hello.buf, r->hello.len);
		if (b->len)
			memcpy(both + r->hello.len, b->buf, b->len);
		out = both;
		len = r->hello.len + b->len;
	}
	rc = write_all(r, out, len, deadline);
	if (both) {
		explicit_bzero(both, len);
		free(both);
	}
	if (rc < 0)
		return fail(r, st, "cannot send (timeout or connection lost)");
	if (r->ssl == NULL)             /* no reply yet: wait, then read (no EAGAIN read) */
		(void)wait_fd(r, POLLIN, deadline);
	if (r->hello.n > 0) {
		if (read_replies(r, hrep, r->hello.n, deadline, &k) < 0)
			goto bad;
		if (hello_replies(r, hrep, st) != TLSRELAY_OK)
			return st->cat;
		tr_redis_batch_free(&r->hello);
	}
	if (read_replies(r, replies, b->n, deadline, &k) < 0)
		goto bad;
	return tr_status_ok(st);
bad:
	return fail(r, st, k < 0 ? "no reply in time (timeout or connection lost)"
	            : "protocol error in a reply");
}

tlsrelay_cat tr_redis_call(tr_redis *r, const tr_redis_cmd *cmds, int n, void **replies,
                           int timeout_ms, tlsrelay_status *st)
{
	tr_redis_batch b = { 0 };

	for (int i = 0; i < n; i++)
		replies[i] = NULL;
	if (tr_redis_batch_add(&b, cmds, n) < 0)
		return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
	tr_redis_call_batch(r, &b, replies, timeout_ms, st);
	tr_redis_batch_free(&b);
	return st->cat;
}

int tr_redis_closed(const tr_redis *r)
{
	struct pollfd p = { r->fd, POLLRDHUP, 0 };

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* AUTH and SELECT, kept for the first call. 0, -1 out of memory. */
static int hello(tr_redis *r, const char *password, int db)
{
	tr_redis_cmd c[2];
	char dbs[16];
	int n = 0, rc;
	const char *sel[] = { "SELECT", dbs };

	snprintf(dbs, sizeof dbs, "%d", db);
	if (password) {
		const char *auth[] = { "AUTH", password };
		tr_redis_cmdv(&c[n++], 2, auth);
	}
	tr_redis_cmdv(&c[n++], 2, sel);
	rc = tr_redis_batch_add(&r->hello, c, n);
	explicit_bzero(c, sizeof c);
	return rc;
}

tr_redis *tr_redis_connect(const tr_redis_addr *a, const char *password, const char *ca_file,
                           int timeout_ms, tlsrelay_status *st)
{
	long long deadline = tr_now_ms() + timeout_ms;
	tr_redis *r = calloc(1, sizeof *r);

	if (r != NULL)
		r->fd = -1;
	if (r == NULL || (r->reader = redisReaderCreate()) == NULL ||
	    hello(r, password, a->db) < 0) {
		tr_redis_close(r);
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		return NULL;
	}
	if (a->path[0])
		snprintf(r->name, sizeof r->name, "redis unix:%s", a->path);
	else
		snprintf(r->name, sizeof r->name, "redis %s%s:%d", a->host, a->tls ? " (TLS)" : "",
		         a->port);
	if (open_socket(r, a, deadline) < 0)
		fail(r, st, "cannot connect (refused, unreachable or timeout)");
	else if (a->tls && start_tls(r, a, ca_file, deadline) < 0)
		fail(r, st, "TLS handshake failed (certificate, name or timeout)");
	else {
		tr_status_ok(st);
		return r;
	}
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
	tr_redis_batch_free(&r->hello);
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

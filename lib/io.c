/*
 * io.c - buffered, deadline-bounded I/O on one TCP connection.
 *
 * See io.h for the contract. Plain socket operations live here; the TLS
 * pair lives in tls.c and is installed with tr_io_set_tls().
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "io.h"

long long tr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* r from read/send: r itself, or -1 with *want = retry_on (try again when
 * the socket is ready) or 0 and the error text in io->err. */
static ssize_t plain_result(tr_io *io, ssize_t r, short retry_on, short *want)
{
	if (r >= 0)
		return r;
	*want = 0;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		*want = retry_on;
	else
		snprintf(io->err, sizeof io->err, "%s", strerror(errno));
	return -1;
}

static ssize_t plain_read(tr_io *io, void *buf, size_t n, short *want)
{
	return plain_result(io, read(io->fd, buf, n), POLLIN, want);
}

static ssize_t plain_write(tr_io *io, const void *buf, size_t n, short *want)
{
	return plain_result(io, send(io->fd, buf, n, MSG_NOSIGNAL), POLLOUT, want);
}

static const tr_io_ops plain_ops = { plain_read, plain_write, NULL };

void tr_io_init(tr_io *io, long long deadline_ms)
{
	memset(io, 0, sizeof *io);
	io->fd = -1;
	io->ops = &plain_ops;
	io->deadline_ms = deadline_ms;
}

void tr_io_set_timeout(tr_io *io, int timeout_ms)
{
	io->timeout_ms = timeout_ms;
}

/* Milliseconds left for this wait, or -1 if none left. */
static int wait_budget(const tr_io *io, long long started)
{
	long long now = tr_now_ms(), left = 60 * 60 * 1000;   /* never unbounded */

	/* Each bound only ever lowers "left". (It used to start at -1 meaning
	 * "no timeout", so an operation timeout that had just expired, left
	 * < 0, was taken for "none" and the wait went on until the deadline:
	 * a silent server held the process for the whole deadline.) */
	if (io->timeout_ms > 0 && started + io->timeout_ms - now < left)
		left = started + io->timeout_ms - now;
	if (io->deadline_ms > 0 && io->deadline_ms - now < left)
		left = io->deadline_ms - now;
	if (left <= 0)
		return -1;
	return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

tr_io_res tr_io_wait(tr_io *io, short events)
{
	long long started = tr_now_ms();

	for (;;) {
		struct pollfd p = { io->fd, events, 0 };
		int budget = wait_budget(io, started);
		int r;

		if (budget < 0) {
			snprintf(io->err, sizeof io->err, "%s",
			         io->deadline_ms > 0 && tr_now_ms() >= io->deadline_ms
			         ? "delivery deadline reached" : "timeout");
			return TR_IO_TIMEOUT;
		}
		r = poll(&p, 1, budget);
		if (r > 0)
			return TR_IO_OK;  /* also POLLERR/POLLHUP: the I/O call tells */
		if (r < 0 && errno != EINTR) {
			snprintf(io->err, sizeof io->err, "poll: %s", strerror(errno));
			return TR_IO_ERROR;
		}
	}
}

static int connect_result(tr_io *io)
{
	int soerr = 0;
	socklen_t slen = sizeof soerr;

	if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) < 0)
		soerr = errno;
	if (soerr == 0)
		return TR_IO_OK;
	snprintf(io->err, sizeof io->err, "%s", strerror(soerr));
	return TR_IO_ERROR;
}

tr_io_res tr_io_connect(tr_io *io, const struct sockaddr *sa, socklen_t len,
                  int timeout_ms)
{
	int one = 1, r;

	io->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (io->fd < 0) {
		snprintf(io->err, sizeof io->err, "socket: %s", strerror(errno));
		return TR_IO_ERROR;
	}
	(void)setsockopt(io->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(io->fd, sa, len) == 0)
		return TR_IO_OK;
	if (errno != EINPROGRESS) {
		snprintf(io->err, sizeof io->err, "%s", strerror(errno));
		return TR_IO_ERROR;
	}
	tr_io_set_timeout(io, timeout_ms);
	r = tr_io_wait(io, POLLOUT);
	if (r != TR_IO_OK)
		return r;
	return connect_result(io);
}

/* Refill rbuf (which must be empty). */
static int fill(tr_io *io)
{
	long long started = tr_now_ms();

	io->rpos = io->rlen = 0;
	for (;;) {
		short want = 0;
		ssize_t r = io->ops->read(io, io->rbuf, sizeof io->rbuf, &want);
		int w;

		if (r > 0) {
			io->rlen = (size_t)r;
			io->nread += (size_t)r;
			io->reads++;
			return TR_IO_OK;
		}
		if (r == 0) {
			snprintf(io->err, sizeof io->err, "connection closed by peer");
			return TR_IO_EOF;
		}
		if (want == 0)
			return TR_IO_ERROR;
		/* The budget counts from the start of this read, not each wake-up. */
		if (io->timeout_ms > 0 && tr_now_ms() - started >= io->timeout_ms) {
			snprintf(io->err, sizeof io->err, "timeout");
			return TR_IO_TIMEOUT;
		}
		w = tr_io_wait(io, want);
		if (w != TR_IO_OK)
			return w;
	}
}

tr_io_res tr_io_readline(tr_io *io, char *line, size_t cap, size_t *len)
{
	size_t n = 0;

	if (io->failed)
		return TR_IO_ERROR;
	for (;;) {
		char *lf;
		size_t take;
		int r;

		if (io->rpos == io->rlen && (r = fill(io)) != TR_IO_OK)
			return r;
		lf = memchr(io->rbuf + io->rpos, '\n', io->rlen - io->rpos);
		take = lf ? (size_t)(lf - (io->rbuf + io->rpos)) : io->rlen - io->rpos;
		if (n + take + 1 > cap) {
			snprintf(io->err, sizeof io->err, "line longer than %zu bytes", cap - 1);
			return TR_IO_TOOLONG;
		}
		memcpy(line + n, io->rbuf + io->rpos, take);
		n += take;
		io->rpos += take + (lf ? 1 : 0);
		if (lf) {
			if (n > 0 && line[n - 1] == '\r')
				n--;
			line[n] = '\0';
			*len = n;
			return TR_IO_OK;
		}
	}
}

size_t tr_io_unread(const tr_io *io)
{
	return io->rlen - io->rpos + (io->ops->buffered ? io->ops->buffered(io, 0) : 0);
}

int tr_io_buffered(const tr_io *io)
{
	return io->rpos != io->rlen || (io->ops->buffered && io->ops->buffered(io, 1) != 0);
}

/* Write len bytes from buf completely. */
static int write_all(tr_io *io, const char *buf, size_t len)
{
	long long started = tr_now_ms();

	while (len > 0) {
		short want = 0;
		ssize_t r = io->ops->write(io, buf, len, &want);
		int w;

		if (r > 0) {
			buf += r;
			len -= (size_t)r;
			io->nwritten += (size_t)r;
			started = tr_now_ms();   /* progress restarts the timer */
			continue;
		}
		if (want == 0)
			return TR_IO_ERROR;
		if (io->timeout_ms > 0 && tr_now_ms() - started >= io->timeout_ms) {
			snprintf(io->err, sizeof io->err, "timeout");
			return TR_IO_TIMEOUT;
		}
		if ((w = tr_io_wait(io, want)) != TR_IO_OK)
			return w;
	}
	return TR_IO_OK;
}

void tr_io_fail(tr_io *io, const char *why)
{
	io->failed = 1;
	io->wlen = 0;
	snprintf(io->err, sizeof io->err, "%s", why);
}

tr_io_res tr_io_flush(tr_io *io)
{
	int r;

	if (io->failed)
		return TR_IO_ERROR;
	if (io->wlen == 0)
		return TR_IO_OK;
	r = write_all(io, io->wbuf, io->wlen);
	io->wlen = 0;
	io->flushes++;
	return r;
}

tr_io_res tr_io_write(tr_io *io, const void *buf, size_t n)
{
	const char *p = buf;

	if (io->failed)
		return TR_IO_ERROR;
	while (n > 0) {
		size_t room = sizeof io->wbuf - io->wlen;
		size_t take = n < room ? n : room;
		int r;

		memcpy(io->wbuf + io->wlen, p, take);
		io->wlen += take;
		p += take;
		n -= take;
		if (io->wlen == sizeof io->wbuf && (r = tr_io_flush(io)) != TR_IO_OK)
			return r;
	}
	return TR_IO_OK;
}

int tr_io_idle_ok(tr_io *io)
{
	char shown[64];

	if (io->failed)
		return 0;
	if (io->fd < 0) {
		snprintf(io->err, sizeof io->err, "not connected");
		return 0;
	}
	if (tr_io_unread(io) != 0) {
		snprintf(io->err, sizeof io->err, "unread bytes from the server");
		return 0;
	}
	/* A few TLS records without data (session tickets) at most: a
	 * server that keeps sending them is not idle either. Bytes the TLS
	 * layer already holds (read-ahead) are read first: poll() cannot see
	 * them. After a read that wants more, nothing complete is held (at
	 * most part of a record, whose rest must come through the socket):
	 * from then on poll() tells. */
	for (int i = 0, look = !tr_io_buffered(io); i < 8; i++, look = 1) {
		struct pollfd p = { io->fd, POLLIN, 0 };
		short want = 0;
		ssize_t r;

		if (look && poll(&p, 1, 0) == 0)
			return 1;
		r = io->ops->read(io, io->rbuf, sizeof io->rbuf, &want);
		if (r > 0) {
			size_t n = (size_t)r < sizeof shown - 1 ? (size_t)r : sizeof shown - 1;

			for (size_t k = 0; k < n; k++) {
				char ch = io->rbuf[k];
				shown[k] = ch == '\r' || ch == '\n' ? ' ' :
				           (ch < 0x20 || ch == 0x7f) ? '?' : ch;
			}
			shown[n] = '\0';
			io->rpos = io->rlen = 0;
			snprintf(io->err, sizeof io->err, "the server said: %s", shown);
			return 0;
		}
		if (r == 0) {
			snprintf(io->err, sizeof io->err, "connection closed by peer");
			return 0;
		}
		if (want != POLLIN) {    /* an error (err set), or TLS wants to write */
			if (want != 0)
				snprintf(io->err, sizeof io->err, "TLS wants to write while idle");
			return 0;
		}
	}
	snprintf(io->err, sizeof io->err, "the server keeps sending");
	return 0;
}

void tr_io_close(tr_io *io)
{
	if (io->fd >= 0)
		close(io->fd);
	io->fd = -1;
	io->ops = &plain_ops;
	io->tls = NULL;
	io->rpos = io->rlen = io->wlen = 0;
}

/* tr_io_set_tls is defined in tls.c, next to the TLS operations. */

/*
 * io.h - buffered, deadline-bounded I/O on one TCP connection (io.c).
 *
 * The stream reads and writes through a pair of functions (plain socket or
 * TLS); tr_io_set_tls() swaps them in place after a STARTTLS handshake, so
 * protocol code never asks whether TLS is on. The socket is non-blocking;
 * every wait is a poll() bounded by the smaller of the current operation
 * timeout and the session's absolute deadline.
 *
 * Writes are buffered (one TLS record's worth, 16 KiB) and leave on
 * tr_io_flush(), so a pipelined command group goes out in one write and,
 * with TLS, one record. TCP_NODELAY is set: we decide when data leaves.
 *
 * Return values: tr_io_res, TR_IO_OK (0) or one of the negative codes;
 * io->err then holds a short description ("timeout", "Connection reset by
 * peer"). This layer's own convention (no tlsrelay_status): its callers,
 * the session (tr_sess_reply) and the TLS handshake, give the status,
 * which depends on what was being done ("lost connection with H while
 * sending RCPT TO"). Listed in status.h.
 */
#ifndef TR_IO_H
#define TR_IO_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#define TR_IO_RBUF 16384
#define TR_IO_WBUF 16384

typedef enum tr_io_res {
	TR_IO_OK = 0,
	TR_IO_EOF = -1,        /* peer closed the connection */
	TR_IO_TIMEOUT = -2,    /* operation timeout or session deadline */
	TR_IO_ERROR = -3,      /* system or TLS error (see err) */
	TR_IO_TOOLONG = -4     /* line longer than the caller's buffer */
} tr_io_res;

struct tr_io;

/* One direction of the stream: returns bytes moved (> 0), 0 at EOF (read
 * only) or -1; on -1, *want is POLLIN/POLLOUT when the call must be retried
 * after that event, or 0 for a hard error (io->err filled in). */
typedef struct tr_io_ops {
	ssize_t (*read)(struct tr_io *io, void *buf, size_t n, short *want);
	ssize_t (*write)(struct tr_io *io, const void *buf, size_t n, short *want);
	/* What the layer holds that poll() on fd cannot see (NULL: nothing,
	 * the plain socket): any = 0, bytes of data ready to be read; any =
	 * 1, nonzero when anything is buffered, a record not yet processed
	 * included (TLS read-ahead, tls.c). */
	size_t (*buffered)(const struct tr_io *io, int any);
} tr_io_ops;

typedef struct tr_io {
	int fd;                       /* -1 when closed */
	const tr_io_ops *ops;
	void *tls;                    /* SSL * when ops are the TLS ones */
	char rbuf[TR_IO_RBUF];
	size_t rpos, rlen;            /* unread bytes: rbuf[rpos..rlen) */
	char wbuf[TR_IO_WBUF];
	size_t wlen;
	long long deadline_ms;        /* absolute CLOCK_MONOTONIC ms; 0 = none */
	int timeout_ms;               /* per operation; <= 0 = deadline only */
	unsigned long long nread, nwritten;
	unsigned reads, flushes;      /* read calls that returned data; flushes */
	int failed;                   /* tr_io_fail: every operation fails */
	char err[256];
} tr_io;

/* Milliseconds on CLOCK_MONOTONIC. */
long long tr_now_ms(void);

/* Initialise an unconnected stream with the session deadline. */
void tr_io_init(tr_io *io, long long deadline_ms);

/* Connect a new non-blocking socket to sa within timeout_ms. */
tr_io_res tr_io_connect(tr_io *io, const struct sockaddr *sa, socklen_t len,
                  int timeout_ms);

/* Timeout for the following operations (ms). */
void tr_io_set_timeout(tr_io *io, int timeout_ms);

/* Read one line ending in LF (a CR before it is removed) into line (cap
 * bytes, NUL-terminated; the line may contain NULs: *len counts them). */
tr_io_res tr_io_readline(tr_io *io, char *line, size_t cap, size_t *len);

/* Bytes received but not yet consumed by the protocol: in rbuf, and data
 * bytes of a TLS record already processed (SSL_pending). */
size_t tr_io_unread(const tr_io *io);

/* Nonzero when the stream holds bytes from the server that poll() on its
 * socket cannot see (TLS read-ahead: records read from the socket, not yet
 * processed) or unread bytes. Whoever watches an idle connection with
 * poll() checks this first (lib/conn_cache.c). */
int tr_io_buffered(const tr_io *io);

/* Queue bytes; full buffers are written out at once. */
tr_io_res tr_io_write(tr_io *io, const void *buf, size_t n);

/* Write out everything queued. */
tr_io_res tr_io_flush(tr_io *io);

/* The caller found the stream unusable (it would have sent something
 * wrong): nothing queued is sent, and every later read, write and flush
 * returns TR_IO_ERROR with why in io->err. */
void tr_io_fail(tr_io *io, const char *why);

/* Swap in TLS read/write functions for an established SSL *. */
void tr_io_set_tls(tr_io *io, void *ssl);

/* Wait for the socket to become readable/writable (POLLIN/POLLOUT) within
 * the current timeout and deadline: TR_IO_OK or TR_IO_TIMEOUT/TR_IO_ERROR.
 * Used by the TLS handshake. */
tr_io_res tr_io_wait(tr_io *io, short events);

/* An idle connection (kept between transactions): 1 when nothing is
 * unread and the server sent nothing but TLS records of its own (a
 * session ticket, read and handled here), 0 when it sent data (a "421
 * ..." before it hangs up), closed the connection or failed: io->err says
 * what ("the server said: 421 ...", "connection closed by peer"). Never
 * waits. Records already in the TLS layer's read-ahead buffer are read
 * too, not only what poll() reports. */
int tr_io_idle_ok(tr_io *io);

/* Close the socket (TLS is shut down by tls.c first). */
void tr_io_close(tr_io *io);

#endif

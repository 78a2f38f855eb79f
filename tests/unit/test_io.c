/*
 * test_io.c - the waits of lib/io.c end at the first of the operation
 * timeout and the session deadline, whichever comes first, for reads and
 * writes, against a silent peer (the other end of a socketpair, which
 * never reads nor writes).
 *
 * Regression: wait_budget() took an operation timeout that had just
 * expired (time left < 0) for "no timeout" and went on waiting until the
 * deadline. Bounds are generous (the timeout + 2 s); the bug waited for
 * the whole 20 s deadline.
 */
#include "config.h"
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "tap.h"
#include "io.h"

#define DEADLINE_MS 20000
#define SLACK_MS 2000

/* A stream on one end of a socketpair; *other gets the silent end. */
static int open_pair(tr_io *io, long long deadline_ms, int *other)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		return -1;
	tr_io_init(io, deadline_ms);
	io->fd = sv[0];
	*other = sv[1];
	return 0;
}

static void read_waits(const char *what, int timeout_ms, long long deadline_in,
                       const char *want_err)
{
	char line[64], name[160];
	size_t len;
	tr_io io;
	int other, r;
	long long t0 = tr_now_ms(), ms;

	tap_expect(3);
	if (open_pair(&io, t0 + deadline_in, &other) < 0) {
		tap_ok(0, what, "socketpair failed");
		return;
	}
	tr_io_set_timeout(&io, timeout_ms);
	r = tr_io_readline(&io, line, sizeof line, &len);
	ms = tr_now_ms() - t0;
	snprintf(name, sizeof name, "%s: the read times out", what);
	TAP_INT(r, TR_IO_TIMEOUT, name);
	snprintf(name, sizeof name, "%s: reason", what);
	TAP_STR(io.err, want_err, name);
	if (timeout_ms > 0 && timeout_ms < deadline_in)
		deadline_in = timeout_ms;       /* the first bound to come */
	snprintf(name, sizeof name, "%s: ended within %lld ms", what, deadline_in + SLACK_MS);
	TAP_INT(ms <= deadline_in + SLACK_MS, 1, name);
	tr_io_close(&io);
	close(other);
}

/* A write that cannot progress (the peer reads nothing) ends at the timeout. */
static void write_waits(void)
{
	static char chunk[TR_IO_WBUF];
	tr_io io;
	int other, r = TR_IO_OK;
	long long t0 = tr_now_ms(), ms;

	tap_expect(2);
	if (open_pair(&io, t0 + DEADLINE_MS, &other) < 0) {
		tap_ok(0, "write", "socketpair failed");
		return;
	}
	memset(chunk, 'x', sizeof chunk);
	tr_io_set_timeout(&io, 300);
	for (int i = 0; i < 4096 && r == TR_IO_OK; i++)   /* 64 MB at most */
		r = tr_io_write(&io, chunk, sizeof chunk);
	ms = tr_now_ms() - t0;
	TAP_INT(r, TR_IO_TIMEOUT, "write to a peer that reads nothing: times out");
	TAP_INT(ms <= 300 + SLACK_MS, 1, "write: ended within the timeout + 2 s");
	tr_io_close(&io);
	close(other);
}

/* tr_io_fail: what was queued is never sent, and every later operation
 * fails with the reason (a command that would have gone out cut). */
static void sticky_failure(void)
{
	tr_io io;
	char line[64];
	size_t len;

	tap_expect(7);
	tr_io_init(&io, 0);
	TAP_INT(tr_io_write(&io, "MAIL FROM:<a@b>\r\n", 17), TR_IO_OK, "fail: a write is queued");
	tr_io_fail(&io, "a command too long to send (not sent)");
	TAP_INT(io.wlen, 0, "fail: the queued bytes are dropped, never sent");
	TAP_INT(tr_io_write(&io, "x", 1), TR_IO_ERROR, "fail: a later write fails");
	TAP_INT(tr_io_flush(&io), TR_IO_ERROR, "fail: a flush fails");
	TAP_INT(tr_io_readline(&io, line, sizeof line, &len), TR_IO_ERROR, "fail: a read fails");
	TAP_INT(tr_io_idle_ok(&io), 0, "fail: the connection is not kept");
	TAP_STR(io.err, "a command too long to send (not sent)", "fail: the reason");
}

int main(void)
{
	read_waits("timeout 300 ms, deadline 20 s", 300, DEADLINE_MS, "timeout");
	read_waits("timeout 1 ms, deadline 20 s", 1, DEADLINE_MS, "timeout");
	read_waits("timeout 20 s, deadline 300 ms", DEADLINE_MS, 300, "delivery deadline reached");
	read_waits("no timeout, deadline 300 ms", 0, 300, "delivery deadline reached");
	write_waits();
	sticky_failure();
	return tap_done();
}

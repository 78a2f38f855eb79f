/*
 * lmtp.c - a delivery process of tlsrelayd serving one LMTP session (the
 * listener of -L): the socket wired to lib/lmtp_server.h's state machine,
 * each transaction delivered with the library under the daemon's own
 * configuration (the warm context), with the process's kept SMTP
 * connection (lib/conn_cache.h), and one reply per recipient.
 *
 * Decisions:
 * - The message goes to a memfd while it is read (tlsrelay_spool_write), to
 *   an unlinked file of spool_directory ($TMPDIR, else /tmp, when unset:
 *   as the library's own spool) once it is over TLSRELAY_SPOOL_MEMORY_MAX
 *   (memory stays bounded whatever the limit), is then spooled by the library as
 *   every delivery is, and is bounded by the setting message_size_limit
 *   (default 10240000 as Postfix's; 0: TLSRELAY_MESSAGE_SIZE_HARD, 1
 *   GiB), which LHLO announces (SIZE); over it: 552 5.3.4 (lmtp_server.c).
 * - Each message is delivered in ONE SMTP transaction, whatever its
 *   recipients' NOTIFY values: each RCPT carries its recipient's own
 *   NOTIFY and ORCPT (tlsrelay_rcpt), sent when the server announces DSN,
 *   as Postfix's smtp(8) does.
 * - Each transaction is one of the process's uses (-r). After the last
 *   one the process ends the session itself: the replies, then "421
 *   4.3.2 ... closing" and the end of the connection, so that a client
 *   that kept the connection for another message (Postfix's lmtp(8)
 *   connection cache, which checks a cached connection with RSET) opens
 *   a new one and reaches a fresh process.
 * - A file of the configuration changed (tlsrelay_ctx_changed): the
 *   session ends the same way after the transaction, so that the next one
 *   reaches a process with the new settings (the daemon retires this one
 *   on its report). A SIGHUP alone is not seen until the session ends.
 * - No command for TRD_LMTP_TIMEOUT seconds: 421 4.4.2 and the end.
 *   Replies are written within the same time or the session ends.
 * - Without a warm context (a configuration error), the session is
 *   refused at once: 421 4.3.5, logged by the daemon already; the client
 *   (Postfix) defers and tries again.
 * - The replies of a transaction are sent before the TLS history's record
 *   of its delivery is written (tr_ctx_after_result), so that the client
 *   never waits for the history store; the record is lost if the process
 *   dies in between (lib/history.h, DEFERRED).
 * - A process killed during a transaction: the client sees the
 *   connection end before its replies and defers every recipient (the
 *   daemon only closes its copy). Exactly as for tlsrelayc, a 2xx reply
 *   is only ever written after the remote server's 2xx to the end of
 *   data.
 */
#include "config.h"
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "tlsrelay_internal.h"
#include "daemon.h"

#define TRD_LMTP_TIMEOUT 300
#define TRD_LMTP_READ 65536

/* The state machine's sink: the message into the spool (a memfd, a file
 * once it is over TLSRELAY_SPOOL_MEMORY_MAX: tlsrelay_spool_write); p
 * NULL: the transaction's message is dropped. */
static int spool_sink(void *arg, const char *p, size_t n)
{
	tlsrelay_spool *sp = arg;
	tlsrelay_status st;

	if (p == NULL) {
		if (sp->fd >= 0)
			close(sp->fd);
		sp->fd = -1;
		sp->size = 0;
		return 0;
	}
	if (tlsrelay_spool_write(sp, p, n, &st) != TLSRELAY_OK) {
		trd_log(LOG_ERR, "LMTP: %s", st.text);
		return -1;
	}
	return 0;
}

/* Write all of out to conn within the time limit; 0 or -1. */
static int send_all(int conn, tr_buf *out)
{
	size_t off = 0;
	time_t deadline = time(NULL) + TRD_LMTP_TIMEOUT;

	while (off < out->len) {
		struct pollfd p = { conn, POLLOUT, 0 };
		ssize_t n;

		if (time(NULL) >= deadline)
			return -1;
		if (poll(&p, 1, 1000) < 0 && errno != EINTR)
			return -1;
		n = send(conn, out->s + off, out->len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -1;
		off += (size_t)n;
	}
	tr_buf_reset(out);
	return out->lost ? -1 : 0;
}

/* The transaction s holds, its message in sp, delivered in one
 * transaction with each recipient's own NOTIFY and ORCPT; one status per
 * recipient into sts. */
static void deliver(tlsrelay_ctx *ctx, const tr_lmtp *s, tlsrelay_spool *sp, tlsrelay_status *sts)
{
	tlsrelay_rcpt *r = calloc(s->nrcpts, sizeof *r);
	tlsrelay_request req = { s->sender, NULL, NULL, s->ret[0] ? s->ret : NULL,
	                         s->envid[0] ? s->envid : NULL, r, s->nrcpts };
	tlsrelay_message *msg;
	tlsrelay_status st;

	(void)tlsrelay_spool_write(sp, "", 0, &st);    /* an empty message: the spool made */
	if (r == NULL || sp->fd < 0) {
		for (size_t i = 0; i < s->nrcpts; i++)
			tr_status_set(&sts[i], TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < s->nrcpts; i++) {
		r[i].addr = s->rcpts[i].addr;
		r[i].notify = s->rcpts[i].notify[0] ? s->rcpts[i].notify : NULL;
		r[i].orcpt = s->rcpts[i].orcpt;
	}
	(void)tlsrelay_ctx_set_log_id(ctx, s->ident[0] ? s->ident : NULL, NULL);
	tr_rcpts_unsettled(r, s->nrcpts);
	if (lseek(sp->fd, 0, SEEK_SET) != 0)
		tr_status_set(&st, TLSRELAY_TEMP, "4.3.0", "cannot read the spooled message");
	else if ((msg = tlsrelay_message_spool(ctx, sp->fd, &st)) != NULL) {
		alarm((unsigned)tlsrelay_ctx_deadline(ctx) + 15);   /* the transport's last resort */
		tlsrelay_deliver(ctx, &req, msg, &st);
		alarm(0);
		tlsrelay_message_free(msg);
	}
	tr_rcpts_settle(r, s->nrcpts, &st);
	for (size_t i = 0; i < s->nrcpts; i++)
		sts[i] = r[i].status;
	(void)tlsrelay_ctx_set_log_id(ctx, NULL, NULL);
out:
	free(r);
	if (sp->fd >= 0)
		close(sp->fd);
	sp->fd = -1;
	sp->size = 0;
}

/* Wait for the client's bytes, tending the idle SMTP connection; 1 when
 * readable, 0 on the time limit, -1 on an error. */
static int wait_client(int conn, tlsrelay_ctx *ctx)
{
	time_t deadline = time(NULL) + TRD_LMTP_TIMEOUT;

	for (;;) {
		struct pollfd p[2] = { { conn, POLLIN, 0 }, { -1, POLLIN, 0 } };
		int ms, left = (int)(deadline - time(NULL)), n;

		if (left <= 0)
			return 0;
		p[1].fd = tr_conn_cache_idle_fd(ctx, &ms);
		if (p[1].fd < 0 || ms > left * 1000)
			ms = left * 1000;
		n = poll(p, 2, ms);
		if (n < 0 && errno != EINTR)
			return -1;
		if (n > 0 && p[0].revents)
			return 1;
		if (p[1].fd >= 0 && n >= 0)
			(void)tr_conn_cache_tend(ctx);
	}
}

/* The session's loop: read, feed, reply, deliver; the transactions done. */
static int session(int conn, tlsrelay_ctx *ctx, int left, tr_lmtp *s, tlsrelay_spool *sp, tr_buf *out)
{
	static char in[TR_LMTP_LINE_MAX + 2 + TRD_LMTP_READ];
	static tlsrelay_status sts[TR_LMTP_RCPTS_MAX];
	size_t have = 0, used;
	int done = 0, sent;

	for (;;) {
		tr_lmtp_act act = tr_lmtp_input(s, in, have, &used, out);

		memmove(in, in + used, have - used);
		have -= used;
		if (act == TR_LMTP_DELIVER) {
			if (send_all(conn, out) < 0)
				return done;
			deliver(ctx, s, sp, sts);
			tr_lmtp_results(s, sts, out);
			done++;
			sent = send_all(conn, out);
			tr_ctx_after_result(ctx);    /* the history, once the replies are out */
			if (sent < 0)
				return done;
			if (done >= left || tlsrelay_ctx_changed(ctx) != NULL) {
				tr_buf_printf(out, "421 4.3.2 %s closing: the delivery process retires\r\n", s->host);
				(void)send_all(conn, out);
				return done;
			}
			continue;
		}
		if (send_all(conn, out) < 0 || act == TR_LMTP_CLOSE)
			return done;
		int w = wait_client(conn, ctx);
		if (w <= 0) {
			if (w == 0) {
				tr_lmtp_timeout(s, out);
				(void)send_all(conn, out);
			}
			return done;
		}
		ssize_t n = read(conn, in + have, sizeof in - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return done;    /* the client went away: a transaction not
			                 * ended is not delivered */
		have += (size_t)n;
	}
}

int trd_lmtp_run(int conn, tlsrelay_ctx *warm, int left)
{
	tlsrelay_spool sp = { .fd = -1, .dir = warm ? tlsrelay_ctx_spool_directory(warm) : NULL };
	tr_buf out;
	tr_lmtp s;
	char host[128];
	int done;

	tr_buf_init(&out, TR_LMTP_OUT_MAX);
	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	tr_lmtp_init(&s, host, warm ? tlsrelay_ctx_message_size_limit(warm) : 0, 0, spool_sink, &sp);
	if (warm == NULL) {
		tr_buf_printf(&out, "421 4.3.5 %s configuration error, see the mail log\r\n", s.host);
		(void)send_all(conn, &out);
		tr_buf_free(&out);
		return 0;
	}
	tlsrelay_ctx_set_logger(warm, trd_lib_log, NULL, 0);   /* the daemon's log */
	tr_lmtp_greeting(&s, &out);
	done = session(conn, warm, left > 0 ? left : 1, &s, &sp, &out);
	tlsrelay_ctx_set_logger(warm, NULL, NULL, 0);
	tr_lmtp_free(&s);
	spool_sink(&sp, NULL, 0);
	tr_buf_free(&out);
	return done;
}

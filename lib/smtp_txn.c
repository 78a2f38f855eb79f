/*
 * smtp_txn.c - the mail transaction: MAIL FROM, RCPT TO..., then the body
 * with BDAT (CHUNKING, RFC 3030) or DATA, and the end of data.
 *
 * On a connection taken from the connection cache (conn_cache.h) this is
 * the whole session: no greeting, EHLO, STARTTLS or AUTH come before it,
 * so with PIPELINING MAIL, every RCPT and "BDAT n LAST" with the message
 * (or DATA) leave in one write - one round trip for the message. RSET goes
 * first, in the same write, only when the connection's last transaction
 * did not end with a 2xx to the end of data (tr_conn.needs_rset); without
 * PIPELINING it waits for its reply like every command.
 *
 * Round trips (a write followed by a wait for replies):
 * - CHUNKING + PIPELINING: MAIL, every RCPT, "BDAT n LAST" and the whole
 *   body leave in one write (one TLS record when it fits in 16 KiB): one
 *   round trip for the transaction. A message over BDAT_CHUNK (1 MiB) goes
 *   in 1 MiB chunks: the first with MAIL and RCPT; the others, pipelined,
 *   only after MAIL and a RCPT were accepted and the first chunk's reply
 *   was 2xx (so a refused message costs at most 1 MiB of traffic).
 * - CHUNKING without PIPELINING: each command and each chunk waits for its
 *   reply (RFC 3030 section 4.2).
 * - PIPELINING only: MAIL, every RCPT and DATA in one write; after 354 the
 *   body and the final dot in as few writes as the 16 KiB buffer allows.
 * - Neither: each command waits for its reply.
 * The spool is read in fixed-size pieces: memory does not grow with the
 * message. BDAT sends the canonical spool as it is (no dot-stuffing); its
 * byte counts are those of the canonical CR LF message.
 *
 * A recipient is settled OK only after the server's 2xx to the end of
 * data: the reply to "BDAT n LAST" (with a 2xx to every earlier chunk) or
 * to the final dot. With BDAT: all RCPTs refused -> the BDAT reply is
 * read and ignored, nothing is delivered; a 4xx/5xx to any chunk fails the
 * transaction (temporary/permanent, no more chunks are sent); a 2xx to
 * LAST after a refused chunk is out of step (4.5.0, temporary: never
 * lose); a lost connection or timeout before the reply to LAST is
 * temporary (4.4.2). use_chunking = no (tlsrelay.conf) always uses DATA.
 *
 * Decisions:
 * - A reused connection that fails before this transaction's MAIL was
 *   accepted (end of file, reset or another I/O error while writing the
 *   first flight or reading the replies to RSET or MAIL, a 421 reply, or a
 *   refused RSET) was closed by the server while it was idle (or is out of
 *   step): TR_TXN_STALE, nothing is settled, and the session opens a new
 *   connection. Nothing can have been delivered: a server delivers only
 *   after MAIL. A timeout is not stale (a silent server stays a failure:
 *   waiting twice would double the delay). From MAIL's 2xx on, a failure
 *   is the same as on a new connection.
 * - SIZE: a message larger than the server's declared SIZE is refused
 *   before MAIL (5.3.4, permanent), as Postfix does.
 * - An address with non-ASCII bytes needs SMTPUTF8; a server without it
 *   makes the delivery fail permanently with 5.6.7 (RFC 6531).
 * - BODY=8BITMIME is declared when the body has 8-bit bytes and the server
 *   offers 8BITMIME; without the extension the body is sent as it is.
 * - DSN parameters (RET, ENVID, NOTIFY, ORCPT) are sent only when the
 *   server offers DSN; otherwise they are dropped. NOTIFY and ORCPT are
 *   per recipient (tlsrelay_rcpt; NOTIFY NULL: the request's), each on
 *   its own RCPT line, all in the one transaction: the first flight on a
 *   reused connection is unchanged (only its RCPT lines are longer).
 * - A lost connection after the end of data was sent but before its reply
 *   is a temporary failure: the message may arrive twice, never be lost.
 * - Bytes received after the 354 reply to DATA (before the body was sent)
 *   put the dialogue out of step: a "250" already there would be read as
 *   the reply to the end of data. Temporary failure 4.5.0, no body sent,
 *   no QUIT (found by tests/fuzz/fuzz_session).
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "buf.h"
#include "dsn.h"
#include "ctx.h"
#include "log.h"
#include "message.h"
#include "smtp_session.h"

#define BODY_CHUNK 65536
#define BDAT_CHUNK (1024 * 1024)     /* bytes per BDAT command */

char *tr_xtext(const char *s, char *out, size_t cap)
{
	tr_buf b;

	if (cap == 0)
		return out;
	tr_buf_fixed(&b, out, cap);
	for (; *s && b.len + 4 < cap; s++) {      /* never half an escape */
		unsigned char c = (unsigned char)*s;
		if (c < 33 || c > 126 || c == '+' || c == '=')
			tr_buf_printf(&b, "+%02X", c);
		else
			tr_buf_putc(&b, (char)c);
	}
	return out;
}

static int has_non_ascii(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

static int needs_smtputf8(const tr_session *s)
{
	if (has_non_ascii(s->req->sender))
		return 1;
	for (size_t i = 0; i < s->req->nrcpts; i++)
		if (s->trying[i] && has_non_ascii(s->req->rcpts[i].addr))
			return 1;
	return 0;
}

/* Message-level checks before MAIL: -1 after settling everything. */
static int precheck(tr_session *s, int *utf8, tlsrelay_status *st)
{
	unsigned long long max = s->c->caps.size_max;

	*utf8 = needs_smtputf8(s);
	if (*utf8 && !(s->c->caps.flags & TR_CAP_SMTPUTF8)) {
		tr_status_set(st, TLSRELAY_PERM, "5.6.7",
		              "SMTPUTF8 is required, but was not offered by host %s", s->relay);
		tr_sess_fail_pending(s, st);
		return -1;
	}
	if ((s->c->caps.flags & TR_CAP_SIZE) && max > 0 && s->msg->size > max) {
		tr_status_set(st, TLSRELAY_PERM, "5.3.4",
		              "message size %llu exceeds size limit %llu of server %s",
		              s->msg->size, max, s->relay);
		tr_sess_fail_pending(s, st);
		return -1;
	}
	return 0;
}

static void send_mail_from(tr_session *s, int utf8)
{
	const tlsrelay_request *q = s->req;
	char params[600], envid[300];
	int dsn = (s->c->caps.flags & TR_CAP_DSN) != 0;
	tr_buf b;

	tr_buf_fixed(&b, params, sizeof params);   /* the MAIL parameters' bound */
	if (s->c->caps.flags & TR_CAP_SIZE)
		tr_buf_printf(&b, " SIZE=%llu", s->msg->size);
	if (s->msg->has_8bit && (s->c->caps.flags & TR_CAP_8BITMIME))
		tr_buf_puts(&b, " BODY=8BITMIME");
	if (utf8)
		tr_buf_puts(&b, " SMTPUTF8");
	if (dsn && q->ret && *q->ret)
		tr_buf_printf(&b, " RET=%s", q->ret);
	if (dsn && q->envid && *q->envid)
		tr_buf_printf(&b, " ENVID=%s", tr_xtext(q->envid, envid, sizeof envid));
	tr_sess_state(s, TR_ST_MAIL);
	tr_sess_send(s, 0, "MAIL FROM:<%s>%s", q->sender ? q->sender : "", params);
	s->c->needs_rset = 1;       /* until a 2xx to the end of data */
}

/* RSET before MAIL when the connection's last transaction may be open;
 * queued only (pipelined, it leaves with MAIL). */
static void send_rset(tr_session *s)
{
	if (!s->c->needs_rset)
		return;
	tr_sess_send(s, 0, "RSET");
	s->rset_pending = 1;
}

/* The reply to RSET when one was sent: -1 when it could not be read
 * (st set). A refusal is kept for stale(): on a reused connection the
 * transaction then cannot be trusted, however MAIL is answered. */
static int rset_reply(tr_session *s, tlsrelay_status *st)
{
	if (!s->rset_pending)
		return 0;
	s->rset_pending = 0;
	if (tr_sess_reply(s, "sending RSET", st) != TLSRELAY_OK)
		return -1;
	s->rset_refused = s->reply.code / 100 != 2;
	if (s->rset_refused)
		tr_sess_reply_status(s, "RSET command", st);
	return 0;
}

/* A reused connection failed before MAIL was accepted (see Decisions). */
static int stale(const tr_session *s)
{
	return s->reused && !s->mail_accepted &&
	       (s->last_io == TR_IO_EOF || s->last_io == TR_IO_ERROR ||
	        s->reply.code == 421 || s->rset_refused);
}

/* RCPT with recipient i's DSN parameters (see Decisions): NOTIFY its own
 * or the request's, ORCPT its own; checked by deliver.c before. */
static void send_rcpt(tr_session *s, size_t i)
{
	const tlsrelay_request *q = s->req;
	const tlsrelay_rcpt *r = &q->rcpts[i];
	const char *notify = r->notify ? r->notify : q->notify;
	char params[TR_DSN_ORCPT_MAX + 100];
	tr_buf b;

	tr_buf_fixed(&b, params, sizeof params);   /* NOTIFY <= 64, ORCPT <= 500 */
	if ((s->c->caps.flags & TR_CAP_DSN) && notify && *notify)
		tr_buf_printf(&b, " NOTIFY=%s", notify);
	if ((s->c->caps.flags & TR_CAP_DSN) && r->orcpt && *r->orcpt)
		tr_buf_printf(&b, " ORCPT=%s", r->orcpt);
	tr_sess_send(s, 0, "RCPT TO:<%s>%s", r->addr, params);
}

/* Settle every recipient accepted in this session with *st. */
static void settle_accepted(tr_session *s, const tlsrelay_status *st)
{
	for (size_t i = 0; i < s->req->nrcpts; i++)
		if (s->accepted[i])
			tr_sess_settle(s, i, st);
}

/* Read the reply to RCPT for recipient i. -1: connection trouble. */
static int rcpt_reply(tr_session *s, size_t i, tlsrelay_status *st)
{
	tlsrelay_status rs;

	if (tr_sess_reply(s, "sending RCPT TO", st) != TLSRELAY_OK)
		return -1;
	if (tr_sess_reply_status(s, "RCPT TO command", &rs) == TLSRELAY_OK) {
		s->accepted[i] = 1;
		s->naccepted++;
	} else {
		tr_sess_settle(s, i, &rs);
	}
	return 0;
}

/* The body from the spool, dot-stuffed, and the end of data. */
static int send_body(tr_session *s, tlsrelay_status *st)
{
	char in[BODY_CHUNK], out[2 * BODY_CHUNK];
	tr_dotstuff_state ds = { 1 };
	off_t off = 0;

	tr_sess_state(s, TR_ST_BODY);
	tr_io_set_timeout(&s->c->io, s->ctx->cfg.data_timeout * 1000);
	for (;;) {
		ssize_t n = pread(s->msg->fd, in, sizeof in, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "cannot read spool file: %s",
			              strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		off += n;
		if (tr_io_write(&s->c->io, out, tr_dotstuff(&ds, in, (size_t)n, out)) != TR_IO_OK)
			goto lost;
	}
	tr_sess_state(s, TR_ST_DOT);
	if (tr_io_write(&s->c->io, ".\r\n", 3) != TR_IO_OK || tr_io_flush(&s->c->io) != TR_IO_OK)
		goto lost;
	tr_io_set_timeout(&s->c->io, s->ctx->cfg.command_timeout * 1000);
	return 0;
lost:
	tr_status_set(st, TLSRELAY_TEMP, "4.4.2", "lost connection with %s while sending message body: %s",
	              s->relay, s->c->io.err);
	return -1;
}

/* DATA's reply is in s->reply. Sends the body and settles accepted ones. */
static void data_and_end(tr_session *s, tlsrelay_status *st)
{
	tlsrelay_status rs;

	if (s->reply.code != 354) {
		tr_sess_reply_status(s, "DATA command", &rs);
		if (rs.cat == TLSRELAY_OK)   /* 2xx to DATA: out of step */
			tr_status_set(&rs, TLSRELAY_TEMP, "4.5.0", "host %s answered DATA with %d",
			              s->relay, s->reply.code);
		settle_accepted(s, &rs);
		tr_status_copy(st, &rs);
		return;
	}
	if (tr_io_unread(&s->c->io) > 0) {
		/* Bytes after the 354: a reply to a dot not yet sent would be
		 * taken as the end-of-data reply. Out of step: no body. */
		s->c->in_sync = 0;
		tr_status_set(st, TLSRELAY_TEMP, "4.5.0",
		              "host %s sent %zu bytes after its 354 reply to DATA (out of step)",
		              s->relay, tr_io_unread(&s->c->io));
		settle_accepted(s, st);
		return;
	}
	if (send_body(s, st) < 0) {
		s->c->in_sync = 0;
		settle_accepted(s, st);
		return;
	}
	if (tr_sess_reply(s, "sending end of data -- message may be sent more than once", st) != TLSRELAY_OK) {
		settle_accepted(s, st);
		return;
	}
	if (tr_sess_reply_status(s, "end of DATA command", &rs) == TLSRELAY_OK)
		s->c->needs_rset = 0;
	settle_accepted(s, &rs);
	tr_status_copy(st, &rs);
}

/* What reading the replies to RSET (when sent) and MAIL gave. */
enum mail_end {
	MAIL_OK = 1,          /* accepted */
	MAIL_REFUSED = 0,     /* refused: the pending recipients are settled */
	MAIL_LOST = -1,       /* connection trouble: nothing settled (st set) */
	MAIL_STALE = -2       /* a reused connection found closed: nothing
	                       * settled, the session opens a new one */
};

/* Read the replies to RSET (when sent) and MAIL. */
static enum mail_end mail_replies(tr_session *s, tlsrelay_status *st)
{
	if (rset_reply(s, st) < 0 || tr_sess_reply(s, "sending MAIL FROM", st) != TLSRELAY_OK)
		return stale(s) ? MAIL_STALE : MAIL_LOST;
	if (tr_sess_reply_status(s, "MAIL FROM command", st) == TLSRELAY_OK) {
		s->mail_accepted = 1;
		return MAIL_OK;
	}
	if (stale(s))
		return MAIL_STALE;
	tr_sess_fail_pending(s, st);
	return MAIL_REFUSED;
}

/* With PIPELINING: RSET when needed, MAIL FROM and every RCPT TO sent
 * without waiting (txn_pipelined and txn_bdat_pipelined send what ends
 * the group). */
static void send_envelope(tr_session *s)
{
	send_rset(s);
	send_mail_from(s, needs_smtputf8(s));
	tr_sess_state(s, TR_ST_RCPT);
	for (size_t i = 0; i < s->req->nrcpts; i++)
		if (s->trying[i])
			send_rcpt(s, i);
}

/* The replies to send_envelope's commands. Returns MAIL_OK when all were
 * read, MAIL_REFUSED when MAIL FROM was refused (the other replies are not
 * needed: QUIT follows), MAIL_LOST when the connection was lost (the
 * caller fails what is pending), MAIL_STALE (mail_replies). */
static enum mail_end envelope_replies(tr_session *s, tlsrelay_status *st)
{
	enum mail_end r = mail_replies(s, st);

	if (r != MAIL_OK)
		return r;
	for (size_t i = 0; i < s->req->nrcpts; i++)
		if (s->trying[i] && rcpt_reply(s, i, st) < 0)
			return MAIL_LOST;
	return MAIL_OK;
}

static tr_txn_end txn_pipelined(tr_session *s, tlsrelay_status *st)
{
	enum mail_end r;

	send_envelope(s);
	tr_sess_send(s, 0, "DATA");
	if ((r = envelope_replies(s, st)) == MAIL_STALE)
		return TR_TXN_STALE;
	if (r == MAIL_REFUSED)
		return TR_TXN_DONE;
	if (r == MAIL_LOST)
		goto lost;
	tr_sess_state(s, TR_ST_DATA);
	if (tr_sess_reply(s, "sending DATA", st) != TLSRELAY_OK)
		goto lost;
	if (s->naccepted > 0) {
		data_and_end(s, st);
		return TR_TXN_DONE;
	}
	/* No recipient: end an accepted DATA with an empty message (RFC 2920). */
	if (s->reply.code == 354) {
		tr_io_write(&s->c->io, ".\r\n", 3);
		if (tr_sess_reply(s, "ending an empty DATA", st) != TLSRELAY_OK)
			s->c->in_sync = 0;
	}
	return TR_TXN_DONE;
lost:
	tr_sess_fail_pending(s, st);
	return TR_TXN_DONE;
}

/* Without PIPELINING: RSET when needed, MAIL FROM, then each RCPT TO,
 * each waiting for its reply (txn_serial and txn_bdat_serial). Returns 1
 * when a recipient was accepted (the message may follow), 0 when the
 * transaction ends here (MAIL refused, or no recipient accepted), -1 when
 * the connection was lost (the pending recipients have failed), -2 when a
 * reused connection was found closed (nothing settled). */
static int serial_envelope(tr_session *s, tlsrelay_status *st)
{
	enum mail_end r;

	send_rset(s);
	if (rset_reply(s, st) < 0 || s->rset_refused) {
		if (stale(s))
			return -2;
		goto lost;
	}
	send_mail_from(s, needs_smtputf8(s));
	if ((r = mail_replies(s, st)) == MAIL_STALE)
		return -2;
	if (r == MAIL_LOST)
		goto lost;
	if (r == MAIL_REFUSED)
		return 0;
	tr_sess_state(s, TR_ST_RCPT);
	for (size_t i = 0; i < s->req->nrcpts; i++) {
		if (!s->trying[i])
			continue;
		send_rcpt(s, i);
		if (rcpt_reply(s, i, st) < 0)
			goto lost;
	}
	return s->naccepted > 0;
lost:
	tr_sess_fail_pending(s, st);
	return -1;
}

static tr_txn_end txn_serial(tr_session *s, tlsrelay_status *st)
{
	int r = serial_envelope(s, st);

	if (r <= 0)
		return r == -2 ? TR_TXN_STALE : TR_TXN_DONE;
	tr_sess_state(s, TR_ST_DATA);
	tr_sess_send(s, 0, "DATA");
	if (tr_sess_reply(s, "sending DATA", st) != TLSRELAY_OK) {
		tr_sess_fail_pending(s, st);
		return TR_TXN_DONE;
	}
	data_and_end(s, st);
	return TR_TXN_DONE;
}

/* ------------------------------------------------------------------- BDAT */

/* The BDAT progress of one transaction. */
typedef struct bdat {
	unsigned long long off;       /* spool bytes sent so far */
	unsigned long nsent, nreplied; /* chunks sent / replies read */
	int refused;                  /* a chunk got 4xx/5xx (status in fail) */
	tlsrelay_status fail;
} bdat;

/* Queue one "BDAT n [LAST]" and its n bytes from the spool; -1 with *st
 * on a spool read error or a lost connection. */
static int bdat_send_chunk(tr_session *s, bdat *b, tlsrelay_status *st)
{
	unsigned long long left = s->msg->size - b->off;
	unsigned long long n = left < BDAT_CHUNK ? left : BDAT_CHUNK;
	char buf[BODY_CHUNK];
	int w;

	if ((w = tr_sess_send(s, 0, "BDAT %llu%s", n, n == left ? " LAST" : "")) != TR_IO_OK)
		goto lost;
	while (n > 0) {
		ssize_t r = pread(s->msg->fd, buf, n < sizeof buf ? n : sizeof buf, (off_t)b->off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			s->last_io = TR_IO_OK;      /* ours, not the connection's */
			tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "cannot read spool file: %s",
			              r < 0 ? strerror(errno) : "file shorter than its size");
			return -1;
		}
		if ((w = tr_io_write(&s->c->io, buf, (size_t)r)) != TR_IO_OK)
			goto lost;
		b->off += (unsigned long long)r;
		n -= (unsigned long long)r;
	}
	b->nsent++;
	return 0;
lost:
	s->last_io = w;
	tr_status_set(st, TLSRELAY_TEMP, "4.4.2", "lost connection with %s while sending message body: %s",
	              s->relay, s->c->io.err);
	return -1;
}

/* Queue the chunks up to the end of the message (first only: just one). */
static int bdat_send(tr_session *s, bdat *b, int first_only, tlsrelay_status *st)
{
	tr_sess_state(s, TR_ST_BODY);
	tr_io_set_timeout(&s->c->io, s->ctx->cfg.data_timeout * 1000);
	do {
		if (bdat_send_chunk(s, b, st) < 0)
			return -1;
	} while (!first_only && b->off < s->msg->size);
	if (b->off == s->msg->size)
		tr_sess_state(s, TR_ST_DOT);
	if ((s->last_io = tr_io_flush(&s->c->io)) != TR_IO_OK) {
		tr_status_set(st, TLSRELAY_TEMP, "4.4.2", "lost connection with %s while sending message body: %s",
		              s->relay, s->c->io.err);
		return -1;
	}
	tr_io_set_timeout(&s->c->io, s->ctx->cfg.command_timeout * 1000);
	return 0;
}

/* Read the replies to every chunk sent and not yet answered. The first
 * refusal is kept in b->fail. -1 with *st: connection trouble. */
static int bdat_replies(tr_session *s, bdat *b, tlsrelay_status *st)
{
	tlsrelay_status rs;

	while (b->nreplied < b->nsent) {
		int last = b->nreplied + 1 == b->nsent && b->off == s->msg->size;

		if (tr_sess_reply(s, last ? "sending end of data -- message may be sent more than once"
		                          : "sending message body", st) != TLSRELAY_OK)
			return -1;
		b->nreplied++;
		if (tr_sess_reply_status(s, last ? "end of data (BDAT LAST)" : "BDAT command", &rs)
		    == TLSRELAY_OK && s->reply.code / 100 == 2)
			continue;
		if (s->reply.code / 100 != 4 && s->reply.code / 100 != 5)
			tr_status_set(&rs, TLSRELAY_TEMP, "4.5.0", "host %s answered BDAT with %d",
			              s->relay, s->reply.code);
		if (!b->refused)
			tr_status_copy(&b->fail, &rs);
		b->refused = 1;
	}
	return 0;
}

/* Every chunk is answered: settle the accepted recipients. The reply to
 * the LAST chunk is in s->reply. */
static void bdat_settle(tr_session *s, bdat *b, tlsrelay_status *st)
{
	tlsrelay_status rs;

	if (!b->refused) {
		if (tr_sess_reply_status(s, "end of data (BDAT LAST)", &rs) == TLSRELAY_OK)
			s->c->needs_rset = 0;
	} else if (b->off == s->msg->size && s->reply.code / 100 == 2) {
		tr_status_set(&rs, TLSRELAY_TEMP, "4.5.0",
		              "host %s accepted the last chunk after refusing one (%s %s): out of step",
		              s->relay, b->fail.dsn, b->fail.text);
	} else {
		tr_status_copy(&rs, &b->fail);
	}
	settle_accepted(s, &rs);
	tr_status_copy(st, &rs);
}

/* MAIL's and the RCPTs' replies are read: send and settle the body.
 * Without PIPELINING each chunk waits for its reply. */
static void bdat_body(tr_session *s, bdat *b, tlsrelay_status *st)
{
	int pipelined = (s->c->caps.flags & TR_CAP_PIPELINING) != 0;

	/* nsent == 0: an empty message still needs its "BDAT 0 LAST". */
	while ((b->off < s->msg->size || b->nsent == 0) && !b->refused) {
		if (bdat_send(s, b, !pipelined, st) < 0 || bdat_replies(s, b, st) < 0) {
			s->c->in_sync = 0;
			settle_accepted(s, st);
			return;
		}
	}
	bdat_settle(s, b, st);
}

/* With PIPELINING: RSET when needed, MAIL, RCPTs and the first chunk in
 * one write. */
static tr_txn_end txn_bdat_pipelined(tr_session *s, bdat *b, tlsrelay_status *st)
{
	enum mail_end r;

	send_envelope(s);
	if (bdat_send(s, b, 1, st) < 0) {
		s->c->in_sync = 0;
		if (stale(s))
			return TR_TXN_STALE;
		goto lost;
	}
	if ((r = envelope_replies(s, st)) == MAIL_STALE)
		return TR_TXN_STALE;
	if (r == MAIL_REFUSED)
		return TR_TXN_DONE;
	if (r == MAIL_LOST)
		goto lost;
	if (bdat_replies(s, b, st) < 0) {
		settle_accepted(s, st);
		goto lost;
	}
	if (s->naccepted == 0)
		return TR_TXN_DONE;  /* the chunk was refused or ignored: nothing delivered */
	bdat_body(s, b, st);
	return TR_TXN_DONE;
lost:
	tr_sess_fail_pending(s, st);
	return TR_TXN_DONE;
}

/* Without PIPELINING: every command waits for its reply. */
static tr_txn_end txn_bdat_serial(tr_session *s, bdat *b, tlsrelay_status *st)
{
	int r = serial_envelope(s, st);

	if (r > 0)
		bdat_body(s, b, st);
	return r == -2 ? TR_TXN_STALE : TR_TXN_DONE;
}

static tr_txn_end txn_bdat(tr_session *s, tlsrelay_status *st)
{
	bdat b;

	memset(&b, 0, sizeof b);
	if (s->c->caps.flags & TR_CAP_PIPELINING)
		return txn_bdat_pipelined(s, &b, st);
	return txn_bdat_serial(s, &b, st);
}

tr_txn_end tr_txn_run(tr_session *s, tlsrelay_status *st)
{
	int utf8;

	s->mail_accepted = s->rset_pending = s->rset_refused = 0;
	s->last_io = TR_IO_OK;
	if (s->ntrying == 0)
		return TR_TXN_DONE;
	if (precheck(s, &utf8, st) < 0)
		return TR_TXN_DONE;
	if ((s->c->caps.flags & TR_CAP_CHUNKING) && s->ctx->cfg.use_chunking)
		return txn_bdat(s, st);
	if (s->c->caps.flags & TR_CAP_PIPELINING)
		return txn_pipelined(s, st);
	return txn_serial(s, st);
}

/*
 * fuzz_session.c - libFuzzer target: the SMTP client state machine
 * (smtp_client.c, smtp_txn.c, smtp_auth.c) against a scripted server.
 *
 * INPUT
 *   The first line holds options, one character each (others ignored):
 *     n m e s   TLS level none / may (default) / encrypt / secure
 *     1 2 3 4   number of recipients (default 1)
 *     a         SASL credentials are configured
 *     8         the message has 8-bit bytes;  b  it is 200 KB (several
 *               body chunks and full write buffers)
 *     d         DSN parameters (NOTIFY, RET, ENVID)
 *     u         a recipient with a UTF-8 local part (SMTPUTF8)
 *     i         implicit TLS (smtps);  p  the plaintext retry (no STARTTLS)
 *     T         "after TLS": the session starts as STARTTLS leaves it after
 *               a handshake (tr_session_params.tls_up, a verified posture):
 *               EHLO is sent and the next reply read answers it, then
 *               AUTH (with a) and the transaction run. This reaches the
 *               AUTH dialogue, which needs TLS that this harness cannot
 *               give (there is no socket, so a real handshake fails).
 *     R         "reused": as T (AUTH with a), then the connection is given
 *               to the transaction as one taken from the connection cache
 *               (tr_session_params.reused_up, conn_cache.h): a failure
 *               before MAIL's 2xx makes it stale and the session opens a
 *               new connection (as T again, on the rest of the input);
 *               r  with RSET first (the connection's last transaction was
 *               open)
 *   The rest is what the server sends, in reads: a line "@@" ends one read
 *   (so "220 ...\n@@\n" is the greeting alone, and a pipelined group of
 *   replies can arrive in one read or several). After the last byte the
 *   server closes the connection.
 *
 * The session is the real one (tr_session_run) with the stream's read and
 * write functions replaced (tr_session_params.io_ops): no network, no
 * sleeping, no TLS (STARTTLS reaches the handshake, which fails at once).
 * Every mode runs tr_session_run; "after TLS" and "reused" through the
 * library's own seams (tls_up, reused_up), so nothing of the session's
 * set-up is copied here.
 *
 * FUZZ_SESSION_TRACE=1 (replay only) prints, for each input, what the
 * client wrote: "session: ehlo=N auth=N mail=N dot=N quit=N" on stderr
 * (tests/fuzz/test_corpus.sh checks the after-TLS seeds with it).
 *
 * ORACLES (abort = crash)
 *   - No MAIL, RCPT, DATA or AUTH is ever written in plaintext when the
 *     level is encrypt or above or credentials are configured.
 *   - A recipient is OK only if the end of data was written and the server
 *     sent something after it.
 *   - Every recipient is settled OK / TEMP / PERM with a matching enhanced
 *     code class (2 / 4 / 5), and the summary and every status and log
 *     line are one printable line.
 *   - The password, and its base64 forms, never appear in a log line or
 *     status text.
 *   - A connection found stale (its END event) was a reused one, and no
 *     recipient was settled on it.
 */
#include "config.h"
#include <arpa/inet.h>
#include <poll.h>
#include "fuzz.h"
#include "ctx.h"
#include "deliver.h"
#include "demand.h"
#include "message.h"
#include "sasl.h"
#include "smtp_client.h"

#define USER "fuzz-user"
#define PASS "Pa55-w0rd-fuzz"
/* base64 of PASS, and of "\0" USER "\0" PASS (AUTH PLAIN) */
#define PASS_B64 "UGE1NS13MHJkLWZ1eno="
#define PLAIN_B64 "AGZ1enotdXNlcgBQYTU1LXcwcmQtZnV6eg=="

static struct {
	const uint8_t *data;
	size_t len, pos;
	int plaintext_required;    /* nothing but EHLO/STARTTLS/QUIT in clear */
	int tls;                   /* the "after TLS" mode */
	char line[16];             /* start of the line being written */
	size_t linelen;
	int dot_sent;              /* the end of data was written */
	size_t read_after_dot;
	int mail_sent, auth_sent;
	int n_ehlo, n_auth, n_mail, n_dot, n_quit;   /* FUZZ_SESSION_TRACE */
} srv;

/* --------------------------------------------------------- the server */

static ssize_t srv_read(tr_io *io, void *buf, size_t n, short *want)
{
	const uint8_t *p = srv.data + srv.pos, *end = srv.data + srv.len;
	const uint8_t *cut = end;
	size_t take;

	(void)io;
	*want = 0;
	while (end - p >= 3 && memcmp(p, "@@\n", 3) == 0)
		p += 3;                             /* empty reads: skip */
	for (const uint8_t *q = p; q + 4 <= end; q++)
		if (memcmp(q, "\n@@\n", 4) == 0) {
			cut = q + 1;
			break;
		}
	take = (size_t)(cut - p) < n ? (size_t)(cut - p) : n;
	memcpy(buf, p, take);
	srv.pos = (size_t)(p - srv.data) + take;
	if (cut < end && srv.pos == (size_t)(cut - srv.data))
		srv.pos += 3;                       /* consume the "@@\n" */
	if (srv.dot_sent)
		srv.read_after_dot += take;
	return (ssize_t)take;                       /* 0: the server closed */
}

/* What the client wrote, one line at a time (only its start matters). */
static void srv_line(void)
{
	const char *l = srv.line;

	if (srv.linelen >= 10 && strncmp(l, "MAIL FROM:", 10) == 0) {
		srv.mail_sent = 1;
		srv.n_mail++;
	}
	if (srv.linelen >= 4 && strncmp(l, "EHLO", 4) == 0)
		srv.n_ehlo++;
	if (srv.linelen >= 4 && strncmp(l, "QUIT", 4) == 0)
		srv.n_quit++;
	if ((srv.linelen >= 10 && strncmp(l, "MAIL FROM:", 10) == 0) ||
	    (srv.linelen >= 8 && strncmp(l, "RCPT TO:", 8) == 0) ||
	    (srv.linelen >= 4 && strncmp(l, "DATA", 4) == 0) ||
	    (srv.linelen >= 4 && strncmp(l, "AUTH", 4) == 0)) {
		if (strncmp(l, "AUTH", 4) == 0) {
			srv.auth_sent = 1;
			srv.n_auth++;
		}
		fuzz_check(!srv.plaintext_required, "command in plaintext when TLS is required");
	}
	if (srv.linelen == 2 && strncmp(l, ".\r", 2) == 0) {
		srv.dot_sent = 1;
		srv.n_dot++;
	}
}

static ssize_t srv_write(tr_io *io, const void *buf, size_t n, short *want)
{
	const char *p = buf;

	(void)io;
	*want = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			srv_line();
			srv.linelen = 0;
		} else if (srv.linelen < sizeof srv.line) {
			srv.line[srv.linelen++] = p[i];
		} else {
			srv.linelen = sizeof srv.line;  /* long line: start kept */
		}
	}
	return (ssize_t)n;
}

static const tr_io_ops srv_ops = { srv_read, srv_write, NULL };

/* ---------------------------------------------------------- fixtures */

static int echoed;       /* the server sent a secret itself: not our leak */

static void no_secret(const char *text)
{
	fuzz_check(fuzz_printable(text), "one printable line");
	fuzz_check(echoed || (strstr(text, PASS) == NULL && strstr(text, PASS_B64) == NULL &&
	           strstr(text, PLAIN_B64) == NULL), "password in a log or status line");
}

static void logger(void *arg, int prio, const char *line)
{
	(void)arg;
	(void)prio;
	no_secret(line);
}

/* A spooled message from text (canonical: CRLF lines). */
static tlsrelay_message *message(const char *first, size_t repeat)
{
	static const char head[] = "From: a@example.test\r\nSubject: fuzz\r\n\r\n";
	tlsrelay_message *m = calloc(1, sizeof *m);
	size_t off = 0;

	fuzz_check(m != NULL, "calloc");
	m->fd = memfd_create("tlsrelay-fuzz-msg", MFD_CLOEXEC);
	fuzz_check(m->fd >= 0, "memfd");
	fuzz_check(pwrite(m->fd, head, sizeof head - 1, 0) > 0, "pwrite");
	off = sizeof head - 1;
	for (size_t i = 0; i < repeat; i++) {
		size_t n = strlen(first);
		fuzz_check(pwrite(m->fd, first, n, (off_t)off) == (ssize_t)n, "pwrite");
		off += n;
	}
	m->size = off;
	for (const char *c = first; *c; c++)
		m->has_8bit |= (unsigned char)*c >= 0x80;
	return m;
}

static tlsrelay_ctx *ctx;
static tlsrelay_message *msg_plain, *msg_8bit, *msg_big;

static void setup(void)
{
	tlsrelay_status st;

	ctx = tlsrelay_ctx_new();
	fuzz_check(ctx != NULL, "ctx");
	fuzz_check(tlsrelay_ctx_set(ctx, "helo_name", "client.example.test", &st) == TLSRELAY_OK, "helo");
	tlsrelay_ctx_set_logger(ctx, logger, NULL, 2);
	/* "." alone and ".." lines are dot-stuffed, never an end of data */
	msg_plain = message("hello\r\n.\r\n..\r\nbye\r\n", 1);
	msg_8bit = message("gr\xc3\xbc\xc3\x9f" "e\r\n", 1);
	msg_big = message("0123456789012345678901234567890123456789012345678\r\n", 4000);
}

/* ------------------------------------------------------------ options */

typedef struct opts {
	tr_tls_level level;
	size_t nrcpts;
	int cred, dsn, utf8, implicit, no_tls, after_tls, reused, rset;
	tlsrelay_message *msg;
} opts;

static size_t parse_opts(const uint8_t *d, size_t n, opts *o)
{
	const uint8_t *lf = memchr(d, '\n', n);
	size_t len = lf ? (size_t)(lf - d) : n;

	memset(o, 0, sizeof *o);
	o->level = TR_TLS_MAY;
	o->nrcpts = 1;
	o->msg = msg_plain;
	for (size_t i = 0; i < len; i++) {
		switch (d[i]) {
		case 'n': o->level = TR_TLS_NONE; break;
		case 'm': o->level = TR_TLS_MAY; break;
		case 'e': o->level = TR_TLS_ENCRYPT; break;
		case 's': o->level = TR_TLS_SECURE; break;
		case '1': case '2': case '3': case '4': o->nrcpts = (size_t)(d[i] - '0'); break;
		case 'a': o->cred = 1; break;
		case '8': o->msg = msg_8bit; break;
		case 'b': o->msg = msg_big; break;
		case 'd': o->dsn = 1; break;
		case 'u': o->utf8 = 1; break;
		case 'i': o->implicit = 1; break;
		case 'p': o->no_tls = 1; break;
		case 'T': o->after_tls = 1; break;
		case 'R': o->after_tls = o->reused = 1; break;
		case 'r': o->rset = 1; break;
		default: break;
		}
	}
	return lf ? len + 1 : n;
}

/* ------------------------------------------------------------- checks */

static int trace_on(void)
{
	static int on = -1;

	if (on < 0) {
		const char *v = getenv("FUZZ_SESSION_TRACE");
		on = v != NULL && strcmp(v, "1") == 0;
	}
	return on;
}

static void check_outcome(const tlsrelay_request *req, const tlsrelay_status *st)
{
	tlsrelay_status sum;

	no_secret(st->text);
	for (size_t i = 0; i < req->nrcpts; i++) {
		const tlsrelay_status *r = &req->rcpts[i].status;
		no_secret(r->text);
		if (r->cat == TLSRELAY_OK) {
			fuzz_check(srv.dot_sent && srv.read_after_dot > 0,
			           "recipient OK without a reply to the end of data");
			fuzz_check(r->dsn[0] == '2', "OK with a 2.x.x code");
		} else if (r->cat == TLSRELAY_PERM) {
			fuzz_check(r->dsn[0] == '5', "PERM with a 5.x.x code");
		} else {
			fuzz_check(r->cat == TLSRELAY_TEMP || r->cat == TLSRELAY_INTERNAL,
			           "settled as OK, TEMP or PERM");
			fuzz_check(r->dsn[0] == '4', "TEMP with a 4.x.x code");
		}
	}
	tr_deliver_summary(req, &sum);
	no_secret(sum.text);
	fuzz_check(sum.cat != TLSRELAY_OK || srv.dot_sent, "summary OK without data");
}

/* A stale cached connection (the END event says stale): it was a reused
 * one, and nothing was settled on it (MAIL never accepted). */
static void stale_check(void *arg, const tr_event *ev)
{
	const tlsrelay_request *req = arg;

	if (ev->type != TR_EV_END || !ev->stale)
		return;
	fuzz_check(ev->reused, "stale only on a reused connection");
	for (size_t i = 0; i < req->nrcpts; i++)
		fuzz_check(strcmp(req->rcpts[i].status.text, "delivery not attempted") == 0,
		           "a recipient settled on a stale connection");
}

/* What the "after TLS" mode's handshake showed: TLSv1.3, a certificate
 * with a trusted chain and the right name (verified), so that the
 * enforcement of every level lets the session go on to AUTH. */
static const tr_tls_info after_tls_up = {
	.protocol = "TLSv1.3", .cipher = "TLS_AES_256_GCM_SHA384", .bits = 256, .alg_bits = 256,
	.have_cert = 1, .chain_ok = 1, .name_ok = 1, .trust = TR_TRUST_VERIFIED,
};

/* The demand of the scripted server (demand.h): level, with credentials
 * (TLS required) when cred_key is set. */
static const tr_demand *fuzz_demand(tr_tls_level level, const char *cred_key)
{
	static tr_demand d;
	tr_policy pol;
	tr_nexthop nh;
	tr_demand_in in;

	tr_policy_from_level(level, &pol);
	tr_nexthop_parse("example.test", &nh, NULL, 0);
	tr_demand_in_init(&in);
	in.nh = &nh;
	in.policy = &pol;
	in.host = "mx.example.test";
	in.cred_key = cred_key;
	tr_demand_for_server(&in, &d);
	return &d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const addrs[] = {
		"r1@example.test", "r2@example.test", "r3@example.test", "r4@example.test"
	};
	tlsrelay_rcpt rcpts[4];
	tr_rcpt_trace trace[4];
	tlsrelay_request req = { .sender = "sender@example.test" };
	tr_sasl_cred cred = { USER, PASS, "[mx.example.test]:25" };
	tr_addr addr = { .len = sizeof(struct sockaddr_in), .text = "192.0.2.25" };
	tr_session_params p = { .helo = "client.example.test", .host = "mx.example.test",
	                        .nexthop = "example.test",
	                        .addr = &addr, .io_ops = &srv_ops };
	tlsrelay_status st;
	tr_observers obs;
	int greeted = 0;
	size_t skip;
	opts o;

	if (ctx == NULL)
		setup();
	skip = parse_opts(data, size, &o);
	memset(&srv, 0, sizeof srv);
	srv.data = data + skip;
	srv.len = size - skip;
	echoed = memmem(data, size, PASS, strlen(PASS)) || memmem(data, size, PASS_B64, 12) ||
	         memmem(data, size, PLAIN_B64, 12);
	srv.plaintext_required = !o.after_tls && (o.level >= TR_TLS_ENCRYPT || o.cred);
	memset(rcpts, 0, sizeof rcpts);
	memset(trace, 0, sizeof trace);
	for (size_t i = 0; i < o.nrcpts; i++) {
		rcpts[i].addr = o.utf8 && i == 0 ? "j\xc3\xb6rg@example.test" : addrs[i];
		tr_status_set(&rcpts[i].status, TLSRELAY_TEMP, "4.4.0", "delivery not attempted");
	}
	req.rcpts = rcpts;
	req.nrcpts = o.nrcpts;
	if (o.dsn) {
		req.notify = "SUCCESS,FAILURE";
		req.ret = "HDRS";
		req.envid = "id+1=2 \x01";
	}
	((struct sockaddr_in *)&addr.sa)->sin_family = AF_INET;
	((struct sockaddr_in *)&addr.sa)->sin_port = htons(25);
	p.demand = fuzz_demand(o.level, o.cred ? cred.key : NULL);
	p.cred = o.cred ? &cred : NULL;
	p.implicit_tls = o.implicit;
	p.no_tls = o.no_tls;
	p.tls_up = o.after_tls ? &after_tls_up : NULL;
	tr_status_set(&st, TLSRELAY_TEMP, "4.4.0", "no server could be tried");
	p.reused_up = o.reused ? 1 + o.rset : 0;
	memset(&obs, 0, sizeof obs);
	tr_observe_add(&obs, stale_check, &req);
	p.obs = &obs;
	tr_session_run(ctx, &p, &req, o.msg, trace, 0, &greeted, &st);
	if (srv.plaintext_required)
		fuzz_check(!srv.mail_sent && !srv.auth_sent, "plaintext MAIL/AUTH");
	check_outcome(&req, &st);
	if (trace_on())
		fprintf(stderr, "session: ehlo=%d auth=%d mail=%d dot=%d quit=%d\n",
		        srv.n_ehlo, srv.n_auth, srv.n_mail, srv.n_dot, srv.n_quit);
	return 0;
}

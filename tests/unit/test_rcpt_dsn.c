/*
 * test_rcpt_dsn.c - each recipient's DSN parameters (tlsrelay_rcpt's
 * notify and orcpt, RFC 3461) through tlsrelay_deliver():
 * - lib/dsn.h's syntax rules, a table of ORCPT and NOTIFY values;
 * - a scripted SMTP peer (a child process on 127.0.0.1, the kernel's
 *   random port) that records every command: with DSN announced, each
 *   RCPT carries its own NOTIFY (or the request's) and ORCPT, all in ONE
 *   transaction (one MAIL); without DSN, none of them; each delivered
 *   recipient's dsn_aware says whether the peer announced DSN;
 * - a bad per-recipient NOTIFY or ORCPT is USAGE 5.5.4 for every
 *   recipient before anything is sent: the listening socket has no
 *   connection waiting (a non-blocking accept finds none), and no
 *   recipient is dsn_aware.
 * With MX fallback (the server that accepted a recipient decides, not the
 * first one tried; DSN parameters only to a server that announced DSN):
 * tests/dns/test_mx_delivery.sh, case 13 (two servers need the test zone).
 */
#include "config.h"
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "dsn.h"
#include "tlsrelay.h"
#include "tap.h"

static const struct {
	const char *name, *value;
	int orcpt;                 /* 1: ORCPT, 0: NOTIFY */
	int ok;
} syntax[] = {
	{ "ORCPT rfc822 with xtext", "rfc822;joe+2Bx@example.com", 1, 1 },
	{ "ORCPT utf-8 addr-type", "utf-8;joe@example.com", 1, 1 },
	{ "ORCPT empty xtext", "rfc822;", 1, 1 },
	{ "ORCPT without addr-type", ";joe@example.com", 1, 0 },
	{ "ORCPT without semicolon", "joe@example.com", 1, 0 },
	{ "ORCPT lower-case hex (Postfix's xtext_unquote takes it)", "rfc822;joe+2bx@example.com", 1, 1 },
	{ "ORCPT an 8-bit address quoted (Postfix's smtp/lmtp)", "rfc822;caf+C3+A9@example.com", 1, 1 },
	{ "ORCPT a bad hex digit", "rfc822;joe+2gx@example.com", 1, 0 },
	{ "ORCPT half an escape", "rfc822;joe+2", 1, 0 },
	{ "ORCPT with =", "rfc822;a=b@example.com", 1, 0 },
	{ "ORCPT with a space", "rfc822;a b@example.com", 1, 0 },
	{ "ORCPT decoding to a control byte (passed on as received)", "rfc822;a+0Ab@example.com", 1, 1 },
	{ "ORCPT a raw 8-bit byte", "rfc822;caf\xc3\xa9@example.com", 1, 0 },
	{ "ORCPT addr-type with =", "rfc=822;a@example.com", 1, 0 },
	{ "NOTIFY NEVER", "never", 0, 1 },
	{ "NOTIFY list", "SUCCESS,FAILURE,DELAY", 0, 1 },
	{ "NOTIFY unknown word", "SOMETIMES", 0, 0 },
	{ "NOTIFY trailing comma", "SUCCESS,", 0, 0 },
};

#define X10 "xxxxxxxxxx"
#define X100 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10
#define ORCPT_500 "rfc822;" X100 X100 X100 X100 X10 X10 X10 X10 X10 X10 X10 X10 X10 "xxx"
#define L60 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
/* 512 bytes, the longest address: a local part of 263 ("." between four
 * runs of 60 and 18 more), "@", a domain of 248 (four labels of 60 and
 * "test") */
#define LONG_ADDR L60 "." L60 "." L60 "." L60 ".ccccccccccccccccccc@" L60 "." L60 "." L60 "." L60 ".test"
#define NOTIFY_63 "SUCCESS,FAILURE,DELAY,SUCCESS,FAILURE,DELAY,FAILURE,DELAY,DELAY"

/* A full request against a peer. */
static const struct {
	const char *name;
	int dsn;                   /* the peer announces DSN */
	const char *notify;        /* the request's */
	const char *n1, *o1, *n2, *o2;   /* the recipients' */
	const char *addr2;         /* the second's address; NULL: b@example.test */
	const char *want1, *want2; /* the RCPT lines the peer saw */
} peer_cases[] = {
	{ "DSN announced: own NOTIFY and ORCPT, the request's NOTIFY for the other", 1, "FAILURE,DELAY",
	  "SUCCESS", "rfc822;a+2Bx@example.test", NULL, NULL, NULL,
	  "RCPT TO:<a@example.test> NOTIFY=SUCCESS ORCPT=rfc822;a+2Bx@example.test",
	  "RCPT TO:<b@example.test> NOTIFY=FAILURE,DELAY" },
	{ "DSN announced: different NOTIFY, ORCPT on both, no default", 1, NULL,
	  "NEVER", "rfc822;a@example.test", "SUCCESS,FAILURE", "rfc822;B@example.test", NULL,
	  "RCPT TO:<a@example.test> NOTIFY=NEVER ORCPT=rfc822;a@example.test",
	  "RCPT TO:<b@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;B@example.test" },
	{ "DSN announced: \"\" is no NOTIFY for this recipient, the request's for the other", 1, "FAILURE",
	  "", NULL, NULL, NULL, NULL, "RCPT TO:<a@example.test>", "RCPT TO:<b@example.test> NOTIFY=FAILURE" },
	{ "DSN announced: the longest RCPT (512-byte address, NOTIFY of 63, ORCPT of 500)", 1, NULL,
	  NULL, NULL, NOTIFY_63, ORCPT_500, LONG_ADDR, "RCPT TO:<a@example.test>",
	  "RCPT TO:<" LONG_ADDR "> NOTIFY=" NOTIFY_63 " ORCPT=" ORCPT_500 },
	{ "DSN not announced: no NOTIFY, no ORCPT", 0, "FAILURE",
	  "SUCCESS", "rfc822;a@example.test", NULL, "rfc822;b@example.test", NULL,
	  "RCPT TO:<a@example.test>", "RCPT TO:<b@example.test>" },
};

static const struct {
	const char *name;
	const char *n2, *o2;       /* the second recipient's */
} bad_cases[] = {
	{ "a bad ORCPT (no addr-type)", NULL, "joe@example.test" },
	{ "an ORCPT of 501 characters", NULL, NULL },      /* made below */
	{ "a bad ORCPT xtext", NULL, "rfc822;joe+zz@example.test" },
	{ "a bad per-recipient NOTIFY", "SUCCESS,NEVERMORE", NULL },
};

/* The peer: one session on the accepted connection; every command line
 * written to rec (one a line). */
static void peer(int lfd, int dsn, FILE *rec)
{
	int c = accept(lfd, NULL, NULL);
	FILE *in, *out;
	char line[2048];
	int data = 0;

	if (c < 0 || !(in = fdopen(c, "r")) || !(out = fdopen(dup(c), "w")))
		_exit(1);
	fputs("220 peer ESMTP\r\n", out);
	fflush(out);
	while (fgets(line, sizeof line, in)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (data) {
			if (strcmp(line, ".") == 0) {
				data = 0;
				fputs("250 2.0.0 queued\r\n", out);
			}
		} else {
			fprintf(rec, "%s\n", line);
			fflush(rec);
			if (strncmp(line, "EHLO", 4) == 0)
				fprintf(out, "250-peer\r\n%s250 8BITMIME\r\n", dsn ? "250-DSN\r\n" : "");
			else if (strcmp(line, "DATA") == 0) {
				data = 1;
				fputs("354 go\r\n", out);
			} else if (strcmp(line, "QUIT") == 0) {
				fputs("221 bye\r\n", out);
				fflush(out);
				break;
			} else
				fputs("250 2.0.0 ok\r\n", out);
		}
		fflush(out);
	}
	_exit(0);
}

/* One check named "CASE: WHAT", its diagnostic a format. */
static void check(int pass, const char *c, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void check(int pass, const char *c, const char *what, const char *fmt, ...)
{
	char name[300], diag[2200];
	va_list ap;

	snprintf(name, sizeof name, "%s: %s", c, what);
	va_start(ap, fmt);
	vsnprintf(diag, sizeof diag, fmt, ap);
	va_end(ap);
	tap_ok(pass, name, diag);
}

static int listen_local(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t n = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &n) != 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

static tlsrelay_cat run(const char *spool, int port, tlsrelay_request *req, tlsrelay_status *st)
{
	tlsrelay_ctx *ctx = tlsrelay_ctx_new();
	char nexthop[64];
	FILE *in = fopen(spool, "r");
	tlsrelay_message *msg;

	snprintf(nexthop, sizeof nexthop, "[127.0.0.1]:%d", port);
	req->nexthop = nexthop;
	tlsrelay_ctx_set(ctx, "tls_security_level", "none", st);
	tlsrelay_ctx_set(ctx, "helo_name", "client.example.test", st);
	tlsrelay_ctx_set(ctx, "syslog", "no", st);
	/* a bound only: without the check, a bad case waits for a greeting
	 * the never-accepting socket does not send, and fails */
	tlsrelay_ctx_set(ctx, "command_timeout", "5s", st);
	msg = in ? tlsrelay_message_spool(ctx, fileno(in), st) : NULL;
	tlsrelay_deliver(ctx, req, msg, st);
	req->nexthop = NULL;
	tlsrelay_message_free(msg);
	tlsrelay_ctx_free(ctx);
	if (in)
		fclose(in);
	return st->cat;
}

static void test_syntax(void)
{
	tap_expect(NROWS(syntax));
	for (size_t c = 0; c < NROWS(syntax); c++) {
		size_t n = strlen(syntax[c].value);
		int ok = syntax[c].orcpt ? tr_dsn_orcpt_ok(syntax[c].value, n)
		                         : tr_dsn_notify_ok(syntax[c].value, n);
		tap_ok(ok == syntax[c].ok, syntax[c].name, syntax[c].value);
	}
}

static void test_peer(const char *spool, const char *recfile)
{
	tap_expect(NROWS(peer_cases) * 5);
	for (size_t c = 0; c < NROWS(peer_cases); c++) {
		tlsrelay_rcpt r[2] = { { .addr = "a@example.test", .notify = peer_cases[c].n1, .orcpt = peer_cases[c].o1,
		                         .dsn_aware = 7 },
		                       { .addr = peer_cases[c].addr2 ? peer_cases[c].addr2 : "b@example.test",
		                         .notify = peer_cases[c].n2, .orcpt = peer_cases[c].o2, .dsn_aware = 7 } };
		tlsrelay_request req = { .sender = "s@example.test", .notify = peer_cases[c].notify,
		                         .rcpts = r, .nrcpts = 2 };
		tlsrelay_status st;
		char line[2048], rcpt[2][2048] = { "", "" };
		int port, lfd = listen_local(&port), nmail = 0, nrcpt = 0;
		FILE *rec = fopen(recfile, "w+");
		pid_t pid = -1;

		if (lfd < 0 || rec == NULL || (pid = fork()) < 0)
			tap_bail("cannot start the peer");
		if (pid == 0)
			peer(lfd, peer_cases[c].dsn, rec);
		close(lfd);
		run(spool, port, &req, &st);
		waitpid(pid, NULL, 0);
		rewind(rec);
		while (fgets(line, sizeof line, rec)) {
			line[strcspn(line, "\n")] = '\0';
			nmail += strncmp(line, "MAIL FROM:", 10) == 0;
			if (strncmp(line, "RCPT TO:", 8) == 0 && nrcpt < 2)
				snprintf(rcpt[nrcpt++], sizeof rcpt[0], "%s", line);
		}
		fclose(rec);
		check(st.cat == TLSRELAY_OK, peer_cases[c].name, "delivered", "%s", st.text);
		check(nmail == 1, peer_cases[c].name, "one transaction (one MAIL)", "MAIL commands: %d", nmail);
		check(strcmp(rcpt[0], peer_cases[c].want1) == 0, peer_cases[c].name, "first RCPT",
		      "got \"%s\"", rcpt[0]);
		check(strcmp(rcpt[1], peer_cases[c].want2) == 0, peer_cases[c].name, "second RCPT",
		      "got \"%s\"", rcpt[1]);
		check(r[0].dsn_aware == peer_cases[c].dsn && r[1].dsn_aware == peer_cases[c].dsn,
		      peer_cases[c].name, peer_cases[c].dsn ? "both dsn_aware" : "neither dsn_aware",
		      "dsn_aware %d %d", r[0].dsn_aware, r[1].dsn_aware);
	}
}

static void test_bad(const char *spool)
{
	static char long_orcpt[TR_DSN_ORCPT_MAX + 2];

	memcpy(long_orcpt, "rfc822;", 7);
	memset(long_orcpt + 7, 'x', TR_DSN_ORCPT_MAX + 1 - 7);    /* 501 characters */
	tap_expect(NROWS(bad_cases) * 5);
	for (size_t c = 0; c < NROWS(bad_cases); c++) {
		const char *o2 = bad_cases[c].o2 ? bad_cases[c].o2 : bad_cases[c].n2 ? NULL : long_orcpt;
		tlsrelay_rcpt r[2] = { { .addr = "a@example.test", .orcpt = "rfc822;a@example.test", .dsn_aware = 1 },
		                       { .addr = "b@example.test", .notify = bad_cases[c].n2, .orcpt = o2,
		                         .dsn_aware = 1 } };
		tlsrelay_request req = { .sender = "s@example.test", .rcpts = r, .nrcpts = 2 };
		tlsrelay_status st;
		int port, lfd = listen_local(&port), conn;

		if (lfd < 0)
			tap_bail("cannot listen");
		run(spool, port, &req, &st);
		check(st.cat == TLSRELAY_USAGE && strcmp(st.dsn, "5.5.4") == 0, bad_cases[c].name,
		      "USAGE 5.5.4", "%s", st.text);
		check(strstr(st.text, "of recipient 2") != NULL && strchr(st.text, '\n') == NULL,
		      bad_cases[c].name, "one line naming the recipient", "%s", st.text);
		check(r[0].status.cat == TLSRELAY_USAGE && r[1].status.cat == TLSRELAY_USAGE,
		      bad_cases[c].name, "every recipient has the status", "%s / %s",
		      r[0].status.text, r[1].status.text);
		check(r[0].dsn_aware == 0 && r[1].dsn_aware == 0, bad_cases[c].name, "no recipient dsn_aware",
		      "dsn_aware %d %d", r[0].dsn_aware, r[1].dsn_aware);
		fcntl(lfd, F_SETFL, O_NONBLOCK);
		conn = accept(lfd, NULL, NULL);
		check(conn < 0 && (errno == EAGAIN || errno == EWOULDBLOCK), bad_cases[c].name,
		      "nothing was connected to", "accept: %d", conn);
		if (conn >= 0)
			close(conn);
		close(lfd);
	}
}

int main(void)
{
	char dir[] = "/tmp/test_rcpt_dsn.XXXXXX", spool[64], rec[64];
	FILE *f;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(spool, sizeof spool, "%s/msg", dir);
	snprintf(rec, sizeof rec, "%s/rec", dir);
	if ((f = fopen(spool, "w")) != NULL) {
		fputs("Subject: x\n\nbody\n", f);
		fclose(f);
	}
	test_syntax();
	test_peer(spool, rec);
	test_bad(spool);
	unlink(spool);
	unlink(rec);
	rmdir(dir);
	return tap_done();
}

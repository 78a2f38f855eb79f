/*
 * test_lmtp_server.c - lib/lmtp_server.c, the LMTP server state machine,
 * without sockets. A table of named conversations: what the client sends
 * (LF written as CR LF unless the case says raw), the statuses its
 * deliveries get, and the exact replies and deliveries (envelope and
 * unstuffed data) expected. Every conversation runs twice, all bytes at
 * once (pipelined) and one byte at a time: both must give the same.
 * Then the reply rule per status, a long line, a NUL, a sink failure and
 * the timeout.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "lmtp_server.h"

#define GREET "220 lmtp.test LMTP tlsrelayd ready\n"
#define LHLO_OK "250-lmtp.test\n250-PIPELINING\n250-ENHANCEDSTATUSCODES\n250-8BITMIME\n" \
	"250-SMTPUTF8\n250-SIZE 100\n250-DSN\n250 XFORWARD IDENT\n"
#define BYE "221 2.0.0 lmtp.test Bye\n"
#define S354 "354 End data with <CR><LF>.<CR><LF>\n"

static const tlsrelay_status ST_OK = { TLSRELAY_OK, "2.0.0", "delivered" };
static const tlsrelay_status ST_TEMP = { TLSRELAY_TEMP, "4.2.0", "host h said: 450 4.2.0 busy" };
static const tlsrelay_status ST_PERM = { TLSRELAY_PERM, "5.1.1", "host h said: 550 5.1.1 unknown" };

typedef struct conv {
	const char *name, *in;
	int raw;                       /* send in as written (else LF -> CR LF) */
	const tlsrelay_status *st[3];  /* recipient i gets st[i % n] */
	const char *out;               /* replies, CR LF written as LF */
	const char *log;               /* deliveries */
	tr_lmtp_act act;               /* the last act */
} conv;

/* ORCPT's bound (RFC 3461: 500 characters, the library's own, lib/dsn.h):
 * "rfc822;" and 493 or 494 more */
#define X10 "xxxxxxxxxx"
#define X100 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10
#define ORCPT_500 "rfc822;" X100 X100 X100 X100 X10 X10 X10 X10 X10 X10 X10 X10 X10 "xxx"
#define ORCPT_501 ORCPT_500 "x"

static const conv convs[] = {
	{ "LHLO and QUIT", "LHLO client\nQUIT\nNOOP\n", 0, { &ST_OK },
	  GREET LHLO_OK BYE, "", TR_LMTP_CLOSE },
	{ "three recipients, one reply each in order, pipelined next transaction",
	  "LHLO c\nMAIL FROM:<s@a.test> RET=hdrs ENVID=id+2Bx BODY=8BITMIME\n"
	  "RCPT TO:<a@x.test> NOTIFY=success,failure\nRCPT TO:<b@x.test> ORCPT=rfc822;b+40x.test\n"
	  "RCPT TO:<c@x.test>\nDATA\nSubject: t\n..dot\n.x\n\nbody\n.\n"
	  "MAIL FROM:<>\nRCPT TO:<d@x.test>\nDATA\nhi\n.\nQUIT\n", 0,
	  { &ST_OK, &ST_TEMP, &ST_PERM },
	  GREET LHLO_OK "250 2.1.0 Ok\n250 2.1.5 Ok\n250 2.1.5 Ok\n250 2.1.5 Ok\n" S354
	  "250 2.0.0 <a@x.test> delivered\n451 4.2.0 <b@x.test> host h said: 450 4.2.0 busy\n"
	  "550 5.1.1 <c@x.test> host h said: 550 5.1.1 unknown\n"
	  "250 2.1.0 Ok\n250 2.1.5 Ok\n" S354 "250 2.0.0 <d@x.test> delivered\n" BYE,
	  "from=<s@a.test> ret=HDRS envid=id+x ident= body8=1 rcpt=<a@x.test>/SUCCESS,FAILURE/ "
	  "rcpt=<b@x.test>//rfc822;b+40x.test rcpt=<c@x.test>// data=Subject: t~|.dot~|x~|~|body~|\n"
	  "from=<> ret= envid= ident= body8=0 rcpt=<d@x.test>// data=hi~|\n", TR_LMTP_CLOSE },
	{ "HELO and EHLO refused, LHLO required", "HELO x\nEHLO x\nMAIL FROM:<a@b>\nXFORWARD IDENT=a\nLHLO\n",
	  0, { &ST_OK }, GREET "500 5.5.1 Error: this is LMTP, use LHLO\n"
	  "500 5.5.1 Error: this is LMTP, use LHLO\n503 5.5.1 Error: send LHLO first\n"
	  "503 5.5.1 Error: send LHLO first\n501 5.5.4 Syntax: LHLO hostname\n", "", TR_LMTP_MORE },
	{ "commands out of sequence and unknown",
	  "LHLO c\nRCPT TO:<a@b>\nDATA\nMAIL FROM:<>\nMAIL FROM:<>\nXFORWARD IDENT=x\nDATA\nDATA x\n"
	  "RSET\nRCPT TO:<a@b>\nNOOP\nVRFY a\nEXPN a\nSTARTTLS\nBDAT 1\nFOO\n\n", 0, { &ST_OK },
	  GREET LHLO_OK "503 5.5.1 Error: need MAIL command\n503 5.5.1 Error: need MAIL command\n"
	  "250 2.1.0 Ok\n503 5.5.1 Error: nested MAIL command\n503 5.5.1 Error: MAIL transaction in progress\n"
	  "503 5.5.1 Error: no valid recipients\n501 5.5.4 Syntax: DATA\n250 2.0.0 Ok\n"
	  "503 5.5.1 Error: need MAIL command\n250 2.0.0 Ok\n252 2.5.0 Cannot VRFY user\n"
	  "502 5.5.1 Error: command not implemented\n502 5.5.1 Error: command not implemented\n"
	  "502 5.5.1 Error: command not implemented\n500 5.5.2 Error: command not recognized\n"
	  "500 5.5.2 Error: command not recognized\n", "", TR_LMTP_MORE },
	{ "too many recipients: 452 4.5.3, the rest delivered",
	  "LHLO c\nMAIL FROM:<>\nRCPT TO:<a@b>\nRCPT TO:<b@b>\nRCPT TO:<c@b>\nRCPT TO:<d@b>\nDATA\nx\n.\n",
	  0, { &ST_OK }, GREET LHLO_OK "250 2.1.0 Ok\n250 2.1.5 Ok\n250 2.1.5 Ok\n250 2.1.5 Ok\n"
	  "452 4.5.3 Error: too many recipients\n" S354 "250 2.0.0 <a@b> delivered\n"
	  "250 2.0.0 <b@b> delivered\n250 2.0.0 <c@b> delivered\n",
	  "from=<> ret= envid= ident= body8=0 rcpt=<a@b>// rcpt=<b@b>// rcpt=<c@b>// data=x~|\n", TR_LMTP_MORE },
	{ "SIZE= over the limit refused at MAIL",
	  "LHLO c\nMAIL FROM:<> SIZE=101\nMAIL FROM:<> SIZE=abc\nMAIL FROM:<> SIZE=99999999999999999999\n"
	  "MAIL FROM:<> SIZE=100\n", 0, { &ST_OK },
	  GREET LHLO_OK "552 5.3.4 Message size exceeds fixed limit\n501 5.5.4 Bad SIZE value\n"
	  "552 5.3.4 Message size exceeds fixed limit\n250 2.1.0 Ok\n", "", TR_LMTP_MORE },
	{ "data over the limit: 552 5.3.4 per recipient, nothing delivered, session goes on",
	  "LHLO c\nMAIL FROM:<>\nRCPT TO:<a@b>\nRCPT TO:<b@b>\nDATA\n"
	  "0123456789012345678901234567890123456789\n0123456789012345678901234567890123456789\n"
	  "0123456789012345678901234567890123456789\n.\nMAIL FROM:<>\nRCPT TO:<a@b>\nDATA\nok\n.\n",
	  0, { &ST_OK }, GREET LHLO_OK "250 2.1.0 Ok\n250 2.1.5 Ok\n250 2.1.5 Ok\n" S354
	  "552 5.3.4 Error: message file too big\n552 5.3.4 Error: message file too big\n"
	  "250 2.1.0 Ok\n250 2.1.5 Ok\n" S354 "250 2.0.0 <a@b> delivered\n",
	  "from=<> ret= envid= ident= body8=0 rcpt=<a@b>// data=ok~|\n", TR_LMTP_MORE },
	{ "bad addresses and control bytes",
	  "LHLO c\nMAIL FROM:a@b\nMAIL FROM:<a@b>x\nMAIL FROM:<a\tb>\nMAIL FROM:<>\nRCPT TO:<>\n"
	  "RCPT TO:<caf\xc3\xa9@x>\nRCPT TO:<a<b@x>\nRCPT TO:a@b\n", 0, { &ST_OK },
	  GREET LHLO_OK "501 5.5.4 Syntax: address in angle brackets\n501 5.5.4 Syntax: address in angle brackets\n"
	  "500 5.5.2 Error: bad character in command\n250 2.1.0 Ok\n553 5.1.3 Bad recipient address syntax\n"
	  "553 5.6.7 8-bit address without SMTPUTF8\n553 5.1.3 Bad recipient address syntax\n"
	  "501 5.5.4 Syntax: address in angle brackets\n", "", TR_LMTP_MORE },
	{ "SMTPUTF8 lets an 8-bit address pass",
	  "LHLO c\nMAIL FROM:<caf\xc3\xa9@x> SMTPUTF8\nRCPT TO:<\xc3\xa9@x>\nDATA\n.\n", 0, { &ST_OK },
	  GREET LHLO_OK "250 2.1.0 Ok\n250 2.1.5 Ok\n" S354 "250 2.0.0 <\xc3\xa9@x> delivered\n",
	  "from=<caf\xc3\xa9@x> ret= envid= ident= body8=0 rcpt=<\xc3\xa9@x>// data=\n", TR_LMTP_MORE },
	{ "bad parameters",
	  "LHLO c\nMAIL FROM:<> BODY=9BIT\nMAIL FROM:<> RET=X\nMAIL FROM:<> ENVID=a+ZZ\nMAIL FROM:<> FOO=1\n"
	  "MAIL FROM:<> =x\nMAIL FROM:<> AUTH=<>\nMAIL FROM:<>\nRCPT TO:<a@b> NOTIFY=NEVER,SUCCESS\n"
	  "RCPT TO:<a@b> NOTIFY=SUCCESS,\nRCPT TO:<a@b> ORCPT=noxtext\nRCPT TO:<a@b> ORCPT=rfc822;a+4\n"
	  "RCPT TO:<a@b> XYZ\nRCPT TO:<a@b> NOTIFY=delay\n", 0, { &ST_OK },
	  GREET LHLO_OK "501 5.5.4 Bad BODY value\n501 5.5.4 Bad RET value\n501 5.5.4 Bad ENVID value\n"
	  "555 5.5.4 Unsupported MAIL parameter\n501 5.5.4 Bad parameter syntax\n"
	  "555 5.5.4 Unsupported MAIL parameter\n250 2.1.0 Ok\n501 5.5.4 Bad NOTIFY value\n"
	  "501 5.5.4 Bad NOTIFY value\n501 5.5.4 Bad ORCPT value\n501 5.5.4 Bad ORCPT value\n"
	  "555 5.5.4 Unsupported RCPT parameter\n250 2.1.5 Ok\n", "", TR_LMTP_MORE },
	{ "ENVID of 100 characters kept; of 101 the MAIL taken, the ENVID not (RFC 3461's bound)",
	  "LHLO c\nMAIL FROM:<> ENVID=" X100 "\nRCPT TO:<a@b>\nDATA\n.\n"
	  "MAIL FROM:<> ENVID=" X100 "y\nRCPT TO:<a@b>\nDATA\n.\n",
	  0, { &ST_OK },
	  GREET LHLO_OK "250 2.1.0 Ok\n250 2.1.5 Ok\n" S354 "250 2.0.0 <a@b> delivered\n"
	  "250 2.1.0 Ok\n250 2.1.5 Ok\n" S354 "250 2.0.0 <a@b> delivered\n",
	  "from=<> ret= envid=" X100 " ident= body8=0 rcpt=<a@b>// data=\n"
	  "from=<> ret= envid= ident= body8=0 rcpt=<a@b>// data=\n",
	  TR_LMTP_MORE },
	{ "ORCPT of 500 characters kept; of 501 the recipient taken, the ORCPT not (the delivery's bound)",
	  "LHLO c\nMAIL FROM:<>\nRCPT TO:<a@b> ORCPT=" ORCPT_500 "\nRCPT TO:<c@b> ORCPT=" ORCPT_501 "\n"
	  "RCPT TO:<d@b> ORCPT=rfc822;caf+C3+A9+0a@b\nDATA\n.\n",
	  0, { &ST_OK, &ST_OK, &ST_OK },
	  GREET LHLO_OK "250 2.1.0 Ok\n250 2.1.5 Ok\n250 2.1.5 Ok\n250 2.1.5 Ok\n" S354
	  "250 2.0.0 <a@b> delivered\n250 2.0.0 <c@b> delivered\n250 2.0.0 <d@b> delivered\n",
	  "from=<> ret= envid= ident= body8=0 rcpt=<a@b>//" ORCPT_500 " rcpt=<c@b>// "
	  "rcpt=<d@b>//rfc822;caf+C3+A9+0a@b data=\n",
	  TR_LMTP_MORE },
	{ "XFORWARD IDENT kept when usable as a log ID, for one transaction",
	  "LHLO c\nXFORWARD IDENT=4XyZ.1_a\nXFORWARD NAME=x\nMAIL FROM:<>\nRCPT TO:<a@b>\nDATA\n.\n"
	  "XFORWARD IDENT=-bad\nMAIL FROM:<>\nRCPT TO:<a@b>\nDATA\n.\n"
	  "XFORWARD IDENT=q+2Fx\nRSET\nMAIL FROM:<>\nRCPT TO:<a@b>\nDATA\n.\n", 0, { &ST_OK },
	  GREET LHLO_OK "250 2.0.0 Ok\n501 5.5.4 Syntax: XFORWARD IDENT=value\n250 2.1.0 Ok\n250 2.1.5 Ok\n"
	  S354 "250 2.0.0 <a@b> delivered\n250 2.0.0 Ok\n250 2.1.0 Ok\n250 2.1.5 Ok\n" S354
	  "250 2.0.0 <a@b> delivered\n250 2.0.0 Ok\n250 2.0.0 Ok\n250 2.1.0 Ok\n250 2.1.5 Ok\n" S354
	  "250 2.0.0 <a@b> delivered\n",
	  "from=<> ret= envid= ident=4XyZ.1_a body8=0 rcpt=<a@b>// data=\n"
	  "from=<> ret= envid= ident= body8=0 rcpt=<a@b>// data=\n"
	  "from=<> ret= envid= ident= body8=0 rcpt=<a@b>// data=\n", TR_LMTP_MORE },
	{ "raw: LF-only lines, a CR after a leading dot, QUIT inside the data is data",
	  "LHLO c\r\nMAIL FROM:<>\nRCPT TO:<a@b>\r\nDATA\n.\r.\r\nQUIT\n..\n.\r\n", 1, { &ST_OK },
	  GREET LHLO_OK "250 2.1.0 Ok\n250 2.1.5 Ok\n" S354 "250 2.0.0 <a@b> delivered\n",
	  "from=<> ret= envid= ident= body8=0 rcpt=<a@b>// data=~.~|QUIT|.|\n", TR_LMTP_MORE },
	{ "raw: a CR alone in a command is a bad character", "NOOP\rNOOP\n", 1, { &ST_OK },
	  GREET "500 5.5.2 Error: bad character in command\n", "", TR_LMTP_MORE },
};

typedef struct run_out {
	tr_buf out, log, data;
	tr_lmtp_act act;
} run_out;

static int sink(void *arg, const char *p, size_t n)
{
	if (!p)
		tr_buf_reset(arg);
	else
		tr_buf_add(arg, p, n);
	return 0;
}

/* The envelope and data of the transaction s holds, one line into log. */
static void log_delivery(const tr_lmtp *s, tr_buf *data, tr_buf *log)
{
	tr_buf_printf(log, "from=<%s> ret=%s envid=%s ident=%s body8=%d", s->sender, s->ret, s->envid,
	              s->ident, s->body8);
	for (size_t i = 0; i < s->nrcpts; i++)
		tr_buf_printf(log, " rcpt=<%s>/%s/%s", s->rcpts[i].addr, s->rcpts[i].notify,
		              s->rcpts[i].orcpt ? s->rcpts[i].orcpt : "");
	tr_buf_puts(log, " data=");
	for (size_t i = 0; i < data->len; i++)
		tr_buf_putc(log, data->s[i] == '\r' ? '~' : data->s[i] == '\n' ? '|' : data->s[i]);
	tr_buf_putc(log, '\n');
	tr_buf_reset(data);
}

static void run(const conv *c, size_t chunk, run_out *r)
{
	size_t n = strlen(c->in), inlen = 0, off = 0, plen = 0, used, nst = 0;
	char *in = malloc(2 * n + 1), *pend = malloc(2 * n + 1);
	tlsrelay_status st[TR_LMTP_RCPTS_MAX];
	tr_lmtp s;

	for (size_t i = 0; i < n; i++) {
		if (!c->raw && c->in[i] == '\n')
			in[inlen++] = '\r';
		in[inlen++] = c->in[i];
	}
	while (nst < 3 && c->st[nst])
		nst++;
	tr_buf_init(&r->out, 0);
	tr_buf_init(&r->log, 0);
	tr_buf_init(&r->data, 0);
	tr_lmtp_init(&s, "lmtp.test", 100, 3, sink, &r->data);
	tr_lmtp_greeting(&s, &r->out);
	for (;;) {
		size_t add = inlen - off < chunk ? inlen - off : chunk;
		memcpy(pend + plen, in + off, add);
		plen += add;
		off += add;
		while ((r->act = tr_lmtp_input(&s, pend, plen, &used, &r->out)) == TR_LMTP_DELIVER) {
			memmove(pend, pend + used, plen - used);
			plen -= used;
			log_delivery(&s, &r->data, &r->log);
			for (size_t i = 0; i < s.nrcpts; i++)
				st[i] = *c->st[i % nst];
			tr_lmtp_results(&s, st, &r->out);
		}
		memmove(pend, pend + used, plen - used);
		plen -= used;
		if (r->act == TR_LMTP_CLOSE || off == inlen)
			break;
	}
	tr_lmtp_free(&s);
	free(in);
	free(pend);
}

/* out without CR (each CR LF as LF); NULL when a line does not end in CR LF */
static char *lf_only(const tr_buf *b)
{
	char *o = malloc(b->len + 1);
	size_t k = 0;

	for (size_t i = 0; i < b->len; i++) {
		if (b->s[i] == '\r') {
			if (i + 1 == b->len || b->s[i + 1] != '\n')
				return free(o), NULL;
			continue;
		}
		if (b->s[i] == '\n' && (i == 0 || b->s[i - 1] != '\r'))
			return free(o), NULL;
		o[k++] = b->s[i];
	}
	o[k] = '\0';
	return o;
}

static void test_convs(void)
{
	tap_expect(NROWS(convs) * 4);
	for (size_t i = 0; i < NROWS(convs); i++) {
		const conv *c = &convs[i];
		run_out a, b;
		char name[200], *out;

		run(c, (size_t)-1, &a);
		run(c, 1, &b);
		out = lf_only(&a.out);
		snprintf(name, sizeof name, "%s: replies", c->name);
		if (!tap_ok(out && strcmp(out, c->out) == 0, name, out ? out : "a line without CR LF"))
			fprintf(stderr, "# want:\n%s", c->out);
		snprintf(name, sizeof name, "%s: deliveries", c->name);
		tap_ok(strcmp(tr_buf_str(&a.log), c->log) == 0, name, tr_buf_str(&a.log));
		snprintf(name, sizeof name, "%s: last act", c->name);
		tap_ok(a.act == c->act, name, NULL);
		snprintf(name, sizeof name, "%s: byte by byte the same", c->name);
		tap_ok(strcmp(tr_buf_str(&a.out), tr_buf_str(&b.out)) == 0 &&
		       strcmp(tr_buf_str(&a.log), tr_buf_str(&b.log)) == 0 && a.act == b.act,
		       name, tr_buf_str(&b.out));
		free(out);
		tr_buf_free(&a.out), tr_buf_free(&a.log), tr_buf_free(&a.data);
		tr_buf_free(&b.out), tr_buf_free(&b.log), tr_buf_free(&b.data);
	}
}

typedef struct reply_case {
	const char *name;
	tlsrelay_status st;
	const char *want;
} reply_case;

static const reply_case replies[] = {
	{ "OK", { TLSRELAY_OK, "2.0.0", "sent" }, "250 2.0.0 <r@x> sent" },
	{ "OK without DSN", { TLSRELAY_OK, "", "" }, "250 2.0.0 <r@x> -" },
	{ "TEMP keeps its DSN", { TLSRELAY_TEMP, "4.7.5", "no TLS" }, "451 4.7.5 <r@x> no TLS" },
	{ "TEMP with a 5.x.x DSN gets 4.0.0", { TLSRELAY_TEMP, "5.1.1", "odd" }, "451 4.0.0 <r@x> odd" },
	{ "PERM", { TLSRELAY_PERM, "5.7.1", "refused" }, "550 5.7.1 <r@x> refused" },
	{ "PERM with a 4.x.x DSN gets 5.0.0", { TLSRELAY_PERM, "4.1.1", "odd" }, "550 5.0.0 <r@x> odd" },
	{ "USAGE", { TLSRELAY_USAGE, "5.1.3", "bad" }, "553 5.1.3 <r@x> bad" },
	{ "DATAERR", { TLSRELAY_DATAERR, "5.6.0", "NUL" }, "554 5.6.0 <r@x> NUL" },
	{ "CONFIG hides its text", { TLSRELAY_CONFIG, "4.3.5", "/etc/secret: bad" },
	  "451 4.3.5 <r@x> temporary local problem, see the log" },
	{ "INTERNAL hides its text", { TLSRELAY_INTERNAL, "4.3.0", "oom" },
	  "451 4.3.0 <r@x> temporary local problem, see the log" },
	{ "unknown category is temporary", { (tlsrelay_cat)42, "2.0.0", "x" },
	  "451 4.0.0 <r@x> temporary local problem, see the log" },
	{ "control bytes become ?", { TLSRELAY_TEMP, "4.0.0", "a\r\nb\x7f" }, "451 4.0.0 <r@x> a??b?" },
};

static void test_replies(void)
{
	char line[TR_LMTP_TEXT_MAX + 200];
	tlsrelay_status longst = { TLSRELAY_TEMP, "4.0.0", "" };

	tap_expect(NROWS(replies) + 1);
	for (size_t i = 0; i < NROWS(replies); i++) {
		char name[160];
		tr_lmtp_rcpt_reply(&replies[i].st, "r@x", line, sizeof line);
		snprintf(name, sizeof name, "reply: %s", replies[i].name);
		tap_ok(strcmp(line, replies[i].want) == 0, name, line);
	}
	memset(longst.text, 'y', sizeof longst.text - 1);
	tr_lmtp_rcpt_reply(&longst, "r@x", line, sizeof line);
	tap_ok(strlen(line) == strlen("451 4.0.0 <r@x> ") + TR_LMTP_TEXT_MAX,
	       "reply: a long text is cut to TR_LMTP_TEXT_MAX", NULL);
}

static int failing_sink(void *arg, const char *p, size_t n)
{
	(void)arg, (void)p, (void)n;
	return -1;
}

/* Lines of TR_LMTP_LINE_MAX bytes are read, longer ones close; a partial
 * line is left for the next read. */
static void test_long_lines(void)
{
	static char buf[TR_LMTP_LINE_MAX + 16];
	tr_lmtp s;
	tr_buf out;
	size_t used;
	tr_lmtp_act a;

	tap_expect(7);
	tr_buf_init(&out, 0);
	tr_lmtp_init(&s, NULL, 0, 0, NULL, NULL);
	memset(buf, 'A', TR_LMTP_LINE_MAX);
	memcpy(buf + TR_LMTP_LINE_MAX, "\r\n", 2);
	a = tr_lmtp_input(&s, buf, TR_LMTP_LINE_MAX + 2, &used, &out);
	tap_ok(a == TR_LMTP_MORE && used == TR_LMTP_LINE_MAX + 2 &&
	       strcmp(tr_buf_str(&out), "500 5.5.2 Error: command not recognized\r\n") == 0,
	       "long lines: TR_LMTP_LINE_MAX bytes is a command", tr_buf_str(&out));
	tr_buf_reset(&out);
	a = tr_lmtp_input(&s, buf, TR_LMTP_LINE_MAX + 1, &used, &out);
	tap_ok(a == TR_LMTP_MORE && used == 0 && out.len == 0,
	       "long lines: a partial line with its CR is kept for more", NULL);
	memset(buf, 'A', TR_LMTP_LINE_MAX + 1);
	a = tr_lmtp_input(&s, buf, TR_LMTP_LINE_MAX + 1, &used, &out);
	tap_ok(a == TR_LMTP_CLOSE && strcmp(tr_buf_str(&out), "500 5.5.2 Error: line too long\r\n") == 0,
	       "long lines: one byte more without a line end closes", tr_buf_str(&out));
	tap_ok(s.state == TR_LMTP_S_CLOSED, "long lines: state closed", tr_lmtp_state_name(s.state));
	tr_buf_reset(&out);
	a = tr_lmtp_input(&s, "NOOP\r\n", 6, &used, &out);
	tap_ok(a == TR_LMTP_CLOSE && used == 0 && out.len == 0, "long lines: nothing read after", NULL);
	tr_lmtp_free(&s);

	tr_lmtp_init(&s, NULL, 0, 0, NULL, NULL);
	tr_buf_reset(&out);
	memcpy(buf + TR_LMTP_LINE_MAX + 1, "\r\n", 2);
	a = tr_lmtp_input(&s, buf, TR_LMTP_LINE_MAX + 3, &used, &out);
	tap_ok(a == TR_LMTP_CLOSE && strcmp(tr_buf_str(&out), "500 5.5.2 Error: line too long\r\n") == 0,
	       "long lines: a whole line one byte too long closes", tr_buf_str(&out));
	tr_lmtp_free(&s);

	tr_lmtp_init(&s, NULL, 0, 0, NULL, NULL);
	tr_buf_reset(&out);
	a = tr_lmtp_input(&s, "NO\0OP\r\nNOOP\r\n", 13, &used, &out);
	tap_ok(a == TR_LMTP_MORE && used == 13 &&
	       strcmp(tr_buf_str(&out), "500 5.5.2 Error: bad character in command\r\n250 2.0.0 Ok\r\n") == 0,
	       "NUL: refused, still in step", tr_buf_str(&out));
	tr_lmtp_free(&s);
	tr_buf_free(&out);
}

static void test_sink_timeout(void)
{
	static const char in[] = "LHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@b>\r\nRCPT TO:<b@b>\r\nDATA\r\nx\r\n.\r\n";
	tr_lmtp s;
	tr_buf out;
	size_t used;
	tr_lmtp_act a;

	tap_expect(4);
	tr_buf_init(&out, 0);
	tr_lmtp_init(&s, "h", 0, 0, failing_sink, NULL);
	a = tr_lmtp_input(&s, in, sizeof in - 1, &used, &out);
	tap_ok(a == TR_LMTP_MORE && used == sizeof in - 1 &&
	       strstr(tr_buf_str(&out), "354 End data with <CR><LF>.<CR><LF>\r\n"
	              "451 4.3.0 Error: cannot store the message\r\n"
	              "451 4.3.0 Error: cannot store the message\r\n") != NULL &&
	       s.state == TR_LMTP_S_READY && s.nrcpts == 0,
	       "sink failure: 451 4.3.0 per recipient, no delivery", tr_buf_str(&out));
	tr_buf_reset(&out);
	tr_lmtp_timeout(&s, &out);
	tap_ok(strcmp(tr_buf_str(&out), "421 4.4.2 h Error: timeout exceeded\r\n") == 0,
	       "timeout: 421 4.4.2", tr_buf_str(&out));
	a = tr_lmtp_input(&s, "NOOP\r\n", 6, &used, &out);
	tap_ok(a == TR_LMTP_CLOSE && used == 0, "timeout: then closed", NULL);
	tr_lmtp_free(&s);
	tr_lmtp_init(&s, "bad host\r\n", 0, 0, NULL, NULL);
	tap_ok(strcmp(s.host, "bad?host??") == 0, "host name: control bytes and spaces become ?", s.host);
	tr_lmtp_free(&s);
	tr_buf_free(&out);
}

int main(void)
{
	test_convs();
	test_replies();
	test_long_lines();
	test_sink_timeout();
	return tap_done();
}

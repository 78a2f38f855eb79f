/*
 * test_admin.c - what issue 19 added for the admin, table-driven:
 *   - the session (smtp_client.c) against a scripted server (no socket:
 *     tr_session_params.io_ops; one line per read): a 530 of the relay host defers, of an MX
 *     host it stays 5.x.x; a server greeting or answering EHLO with our
 *     own name is a loop (4.4.6) and gets no command after it;
 *   - loop.c: tr_loop_name and tr_loop_addr (this host's addresses at
 *     local_mta_ports);
 *   - settings: syslog_name, local_mta_ports, where each value came from
 *     (tr_config_origin) and the strength order of the security settings.
 */
#include "config.h"
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "ctx.h"
#include "deliver.h"
#include "demand.h"
#include "loop.h"
#include "message.h"
#include "settings.h"
#include "smtp_session.h"
#include "tap.h"

/* ------------------------------------------------------ scripted server */

static struct {
	const char *script;          /* everything the server says, then EOF */
	size_t pos;
	char written[4096];          /* everything the client wrote */
	size_t wlen;
} srv;

/* One line per read (a real server sends each reply when asked: bytes
 * after a 354 would be out of step). */
static ssize_t srv_read(tr_io *io, void *buf, size_t n, short *want)
{
	const char *p = srv.script + srv.pos, *lf = strchr(p, '\n');
	size_t left = lf ? (size_t)(lf - p) + 1 : strlen(p);
	size_t take = left < n ? left : n;

	(void)io;
	*want = 0;
	memcpy(buf, srv.script + srv.pos, take);
	srv.pos += take;
	return (ssize_t)take;
}

static ssize_t srv_write(tr_io *io, const void *buf, size_t n, short *want)
{
	size_t room = sizeof srv.written - 1 - srv.wlen;

	(void)io;
	*want = 0;
	memcpy(srv.written + srv.wlen, buf, n < room ? n : room);
	srv.wlen += n < room ? n : room;
	srv.written[srv.wlen] = '\0';
	return (ssize_t)n;
}

static const tr_io_ops srv_ops = { srv_read, srv_write, NULL };

static tlsrelay_message *message(void)
{
	static const char text[] = "Subject: t\r\n\r\nbody\r\n";
	tlsrelay_message *m = calloc(1, sizeof *m);

	if (m == NULL || (m->fd = memfd_create("tr-test", MFD_CLOEXEC)) < 0 ||
	    pwrite(m->fd, text, sizeof text - 1, 0) != (ssize_t)(sizeof text - 1))
		exit(99);
	m->size = sizeof text - 1;
	return m;
}

static const tr_demand *demand_none(void)
{
	static tr_demand d;
	tr_policy pol;
	tr_nexthop nh;
	tr_demand_in in;

	tr_policy_from_level(TR_TLS_NONE, &pol);
	tr_nexthop_parse("example.test", &nh, NULL, 0);
	tr_demand_in_init(&in);
	in.nh = &nh;
	in.policy = &pol;
	in.host = "relay.example.test";
	tr_demand_for_server(&in, &d);
	return &d;
}

#define GREET  "220 peer.test ESMTP\r\n"
#define EHLO   "250-peer.test\r\n250 8BITMIME\r\n"
#define OK250  "250 2.0.0 Ok\r\n"

static const struct session_case {
	const char *name;
	const char *helo;            /* our EHLO name */
	int is_relay;
	const char *script;
	tlsrelay_cat cat;            /* the recipient's category */
	const char *dsn;
	const char *text;            /* a substring of its text */
	const char *not_written;     /* the client never wrote this ("" none) */
} session_cases[] = {
	{ "530 to MAIL from the relay host: deferred", "client.test", 1,
	  GREET EHLO "530 5.7.0 Authentication required\r\n", TLSRELAY_TEMP, "4.7.0",
	  "said: 530 5.7.0 Authentication required (in reply to MAIL FROM command); a 530 of "
	  "the relay host is deferred: no credentials of sasl_password_map match it", "RCPT" },
	{ "530 without an enhanced code: 4.0.0", "client.test", 1,
	  GREET EHLO "530 Must issue a STARTTLS command first\r\n", TLSRELAY_TEMP, "4.0.0",
	  "a 530 of the relay host is deferred", "RCPT" },
	{ "530 to RCPT from the relay host: deferred", "client.test", 1,
	  GREET EHLO OK250 "530 5.7.0 Authentication required\r\n", TLSRELAY_TEMP, "4.7.0",
	  "(in reply to RCPT TO command); a 530 of the relay host is deferred", "DATA" },
	{ "530 from an MX host: as the server says (5.7.0)", "client.test", 0,
	  GREET EHLO "530 5.7.0 Authentication required\r\n", TLSRELAY_PERM, "5.7.0",
	  "said: 530 5.7.0 Authentication required (in reply to MAIL FROM command)", "RCPT" },
	{ "550 from the relay host: still a bounce", "client.test", 1,
	  GREET EHLO "550 5.7.1 Sender rejected\r\n", TLSRELAY_PERM, "5.7.1",
	  "Sender rejected (in reply to MAIL FROM command)", "RCPT" },
	{ "greeting with our name: a loop, no EHLO", "client.test", 1,
	  "220 client.test ESMTP Postfix\r\n", TLSRELAY_TEMP, "4.4.6",
	  "mail for example.test loops back to myself: host relay.example.test[192.0.2.25]:25 "
	  "greets as client.test, the name this host says EHLO with (helo_name)", "EHLO" },
	{ "greeting with our name, other case, a dot, an enhanced code", "Client.Test", 1,
	  "220 2.0.0 CLIENT.test. ready\r\n", TLSRELAY_TEMP, "4.4.6", "loops back to myself",
	  "EHLO" },
	{ "EHLO reply with our name: a loop, no MAIL", "client.test", 0,
	  "220 gateway.test ESMTP\r\n250-client.test\r\n250 8BITMIME\r\n", TLSRELAY_TEMP, "4.4.6",
	  "host relay.example.test[192.0.2.25]:25 answers EHLO as client.test", "MAIL" },
	{ "a longer name is not ours", "client.test", 1,
	  "220 client.test.example ESMTP\r\n250-client.testing\r\n250 8BITMIME\r\n" OK250 OK250
	  "354 go\r\n" OK250, TLSRELAY_OK, "2.0.0", "Ok", "" },
	{ "localhost never counts as our name", "localhost", 1,
	  "220 localhost ESMTP\r\n250-localhost\r\n250 8BITMIME\r\n" OK250 OK250 "354 go\r\n" OK250,
	  TLSRELAY_OK, "2.0.0", "Ok", "" },
};

static void test_sessions(tlsrelay_ctx *ctx, tlsrelay_message *msg)
{
	tap_expect(NROWS(session_cases) * 4);
	for (size_t i = 0; i < NROWS(session_cases); i++) {
		const struct session_case *c = &session_cases[i];
		tr_addr addr = { .len = sizeof(struct sockaddr_in), .text = "192.0.2.25" };
		tr_session_params p = { .helo = c->helo, .host = "relay.example.test",
		                        .nexthop = "example.test", .addr = &addr,
		                        .demand = demand_none(), .is_relay = c->is_relay,
		                        .io_ops = &srv_ops };
		tlsrelay_rcpt rcpt = { .addr = "rcpt@example.test" };
		tlsrelay_request req = { .sender = "s@example.test", .rcpts = &rcpt, .nrcpts = 1 };
		tr_rcpt_trace trace;
		tlsrelay_status st;
		char name[200], diag[1200];
		int greeted;

		memset(&srv, 0, sizeof srv);
		memset(&trace, 0, sizeof trace);
		srv.script = c->script;
		((struct sockaddr_in *)&addr.sa)->sin_family = AF_INET;
		((struct sockaddr_in *)&addr.sa)->sin_port = htons(25);
		tr_status_set(&rcpt.status, TLSRELAY_TEMP, "4.4.0", "delivery not attempted");
		tr_session_run(ctx, &p, &req, msg, &trace, 0, &greeted, &st);
		snprintf(diag, sizeof diag, "got %d %s %s; wrote: %.400s", rcpt.status.cat,
		         rcpt.status.dsn, rcpt.status.text, srv.written);
		snprintf(name, sizeof name, "session %s: category", c->name);
		tap_ok(rcpt.status.cat == c->cat, name, diag);
		snprintf(name, sizeof name, "session %s: %s", c->name, c->dsn);
		tap_ok(strcmp(rcpt.status.dsn, c->dsn) == 0, name, diag);
		snprintf(name, sizeof name, "session %s: the text says so", c->name);
		tap_ok(strstr(rcpt.status.text, c->text) != NULL, name, diag);
		snprintf(name, sizeof name, "session %s: nothing after (%s)", c->name,
		         c->not_written[0] ? c->not_written : "-");
		tap_ok(c->not_written[0] == '\0' || strstr(srv.written, c->not_written) == NULL,
		       name, diag);
	}
}

/* ------------------------------------------------------------- loop.c */

static const struct {
	const char *name, *text, *me;
	int want;
} name_cases[] = {
	{ "same name", "host.example ESMTP Postfix", "host.example", 1 },
	{ "case and trailing dot", "HOST.Example. ESMTP", "host.example", 1 },
	{ "our name with a trailing dot", "host.example ESMTP", "host.example.", 1 },
	{ "enhanced code first", "2.0.0 host.example ready", "host.example", 1 },
	{ "name alone", "host.example", "host.example", 1 },
	{ "another name", "mx.example ESMTP", "host.example", 0 },
	{ "a longer name", "host.example.net ESMTP", "host.example", 0 },
	{ "a shorter name", "host ESMTP", "host.example", 0 },
	{ "our name later in the line", "mx.example greets host.example", "host.example", 0 },
	{ "localhost", "localhost ESMTP", "localhost", 0 },
	{ "localhost.localdomain", "localhost.localdomain ESMTP", "localhost.localdomain", 0 },
	{ "local is not localhost", "local ESMTP", "local", 1 },
	{ "empty text", "", "host.example", 0 },
	{ "NULL text", NULL, "host.example", 0 },
	{ "empty name", "host.example", "", 0 },
};

static void test_loop_name(void)
{
	tap_expect(NROWS(name_cases));
	for (size_t i = 0; i < NROWS(name_cases); i++) {
		char name[160];

		snprintf(name, sizeof name, "tr_loop_name: %s", name_cases[i].name);
		TAP_INT(tr_loop_name(name_cases[i].text, name_cases[i].me), name_cases[i].want, name);
	}
}

/* Is addr one of this host's interface addresses? (what the rows expect) */
static int have_if_addr(int family, const char *addr)
{
	unsigned char want[16];
	struct ifaddrs *ifs, *i;
	int found = 0;

	if (inet_pton(family, addr, want) != 1 || getifaddrs(&ifs) != 0)
		return 0;
	for (i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != family)
			continue;
		if (family == AF_INET)
			found |= memcmp(&((struct sockaddr_in *)i->ifa_addr)->sin_addr, want, 4) == 0;
		else
			found |= memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, want, 16) == 0;
	}
	freeifaddrs(ifs);
	return found;
}

static const struct {
	const char *name, *ports, *addr;
	int port, want;              /* -1: 1 when the address is an interface's */
} addr_cases[] = {
	{ "127.0.0.1:25, default ports", NULL, "127.0.0.1", 25, -1 },
	{ "127.0.0.1:2525 not in the ports", NULL, "127.0.0.1", 2525, 0 },
	{ "127.0.0.1:2525 in local_mta_ports", "25, 2525", "127.0.0.1", 2525, -1 },
	{ "127.0.0.1:25 with local_mta_ports empty", "", "127.0.0.1", 25, 0 },
	{ "another loopback address is not ours", NULL, "127.0.0.26", 25, 0 },
	{ "0.0.0.0:25 reaches this host", NULL, "0.0.0.0", 25, 1 },
	{ "a documentation address", NULL, "192.0.2.25", 25, 0 },
	{ "[::1]:25", NULL, "::1", 25, -1 },
	{ "[::]:25 reaches this host", NULL, "::", 25, 1 },
	{ "[::1]:587 not in the ports", NULL, "::1", 587, 0 },
};

static void test_loop_addr(void)
{
	tap_expect(NROWS(addr_cases));
	for (size_t i = 0; i < NROWS(addr_cases); i++) {
		struct sockaddr_storage ss;
		tr_config cfg;
		tlsrelay_status st;
		int v6 = strchr(addr_cases[i].addr, ':') != NULL, want = addr_cases[i].want;
		char name[160];

		memset(&ss, 0, sizeof ss);
		tr_config_init(&cfg);
		if (addr_cases[i].ports)
			tr_config_set(&cfg, "local_mta_ports", addr_cases[i].ports, NULL, &st);
		if (v6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			a->sin6_family = AF_INET6;
			a->sin6_port = htons((unsigned short)addr_cases[i].port);
			inet_pton(AF_INET6, addr_cases[i].addr, &a->sin6_addr);
		} else {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			a->sin_family = AF_INET;
			a->sin_port = htons((unsigned short)addr_cases[i].port);
			inet_pton(AF_INET, addr_cases[i].addr, &a->sin_addr);
		}
		if (want < 0)
			want = have_if_addr(v6 ? AF_INET6 : AF_INET, addr_cases[i].addr);
		snprintf(name, sizeof name, "tr_loop_addr: %s -> %d", addr_cases[i].name, want);
		TAP_INT(tr_loop_addr(&cfg, (struct sockaddr *)&ss), want, name);
		tr_config_free(&cfg);
	}
}

/* ------------------------------------------------------------ settings */

static const struct {
	const char *name, *key, *value;
	tlsrelay_cat cat;
	const char *shown;           /* tr_config_value_text, or the error text */
} setting_cases[] = {
	{ "syslog_name", "syslog_name", "tlsrelay-out/smtp", TLSRELAY_OK, "tlsrelay-out/smtp" },
	{ "syslog_name with a space", "syslog_name", "tls relay", TLSRELAY_CONFIG,
	  "bad value for syslog_name: expected letters, digits, \".\", \"_\", \"-\" and \"/\", "
	  "at most 64 bytes" },
	{ "syslog_name of 65 bytes", "syslog_name",
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", TLSRELAY_CONFIG,
	  "bad value for syslog_name: expected letters, digits, \".\", \"_\", \"-\" and \"/\", "
	  "at most 64 bytes" },
	{ "local_mta_ports list", "local_mta_ports", "25,587 10025", TLSRELAY_OK, "25, 587, 10025" },
	{ "local_mta_ports empty", "local_mta_ports", "", TLSRELAY_OK, "" },
	{ "local_mta_ports 0", "local_mta_ports", "0", TLSRELAY_CONFIG,
	  "bad value for local_mta_ports: expected port numbers from 1 to 65535 separated by "
	  "\",\" or spaces, at most 8" },
	{ "local_mta_ports a name", "local_mta_ports", "smtp", TLSRELAY_CONFIG,
	  "bad value for local_mta_ports: expected port numbers from 1 to 65535 separated by "
	  "\",\" or spaces, at most 8" },
	{ "local_mta_ports nine", "local_mta_ports", "1 2 3 4 5 6 7 8 9", TLSRELAY_CONFIG,
	  "bad value for local_mta_ports: expected port numbers from 1 to 65535 separated by "
	  "\",\" or spaces, at most 8" },
	{ "local_mta_ports eight", "local_mta_ports", "1 2 3 4 5 6 7 8", TLSRELAY_OK,
	  "1, 2, 3, 4, 5, 6, 7, 8" },
};

static void test_settings(void)
{
	tap_expect(NROWS(setting_cases) * 2);   /* category; the value shown or the error text */
	for (size_t i = 0; i < NROWS(setting_cases); i++) {
		tr_config cfg;
		tlsrelay_status st;
		char name[160], text[256];
		tlsrelay_cat cat;

		tr_config_init(&cfg);
		cat = tr_config_set(&cfg, setting_cases[i].key, setting_cases[i].value, NULL, &st);
		snprintf(name, sizeof name, "setting %s: category", setting_cases[i].name);
		TAP_INT(cat, setting_cases[i].cat, name);
		if (cat == TLSRELAY_OK)
			tr_config_value_text(&cfg, tr_config_key_index(setting_cases[i].key), text,
			                     sizeof text);
		snprintf(name, sizeof name, "setting %s: %s", setting_cases[i].name,
		         cat == TLSRELAY_OK ? "shown" : "error text");
		TAP_STR(cat == TLSRELAY_OK ? text : st.text, setting_cases[i].shown, name);
		tr_config_free(&cfg);
	}
}

static void test_defaults_and_origins(void)
{
	tr_config cfg, copy;
	tlsrelay_status st;
	char text[64];
	int lv = tr_config_key_index("tls_security_level");

	tap_expect(11);
	tr_config_init(&cfg);
	TAP_STR(tr_config_value_text(&cfg, tr_config_key_index("local_mta_ports"), text, sizeof text),
	        "25", "local_mta_ports: default 25");
	TAP_INT(tr_config_local_mta_port(&cfg, 25), 1, "local_mta_ports: 25 listed by default");
	TAP_STR(tr_config_origin(&cfg, lv), "default", "origin: default before any line");
	tr_config_set(&cfg, "tls_security_level", "secure", "f.conf:3", &st);
	TAP_STR(tr_config_origin(&cfg, lv), "f.conf:3", "origin: the line that set it");
	tr_config_set(&cfg, "tls_security_level", "bogus", "f.conf:4", &st);
	TAP_STR(tr_config_origin(&cfg, lv), "f.conf:3", "origin: a refused line leaves it");
	tr_config_set(&cfg, "tls_security_level", "may", NULL, &st);
	TAP_STR(tr_config_origin(&cfg, lv), "-o", "origin: without where it is -o");
	TAP_INT(tr_config_copy(&copy, &cfg, &st), TLSRELAY_OK, "copy");
	TAP_STR(tr_config_origin(&copy, lv), "-o", "origin: copied");
	tr_config_free(&copy);
	TAP_INT(tr_config_key_index("no_such_key"), -1, "key index of an unknown key");
	TAP_STR(tr_config_origin(&cfg, -1), "default", "origin of index -1");
	TAP_INT(tr_config_strength(&cfg, tr_config_key_index("relayhost")), -1,
	        "strength: relayhost is not a security setting");
	tr_config_free(&cfg);
}

/* Strength order: each row's value must be weaker than the next one's. */
static const struct {
	const char *key, *weaker, *stronger;
} order_cases[] = {
	{ "tls_security_level", "none", "may" },
	{ "tls_security_level", "may", "encrypt" },
	{ "tls_security_level", "encrypt", "dane" },
	{ "tls_security_level", "dane", "dane-only" },
	{ "tls_security_level", "dane-only", "verify" },
	{ "tls_security_level", "verify", "secure" },
	{ "mta_sts", "no", "yes" },
	{ "require_header", "no", "yes" },
	{ "tls_required_enable", "yes", "no" },
	{ "message_rules", "", "/etc/tlsrelay/rules" },
};

static void test_strength(void)
{
	tap_expect(NROWS(order_cases));
	for (size_t i = 0; i < NROWS(order_cases); i++) {
		tr_config a, b;
		tlsrelay_status st;
		char name[160];
		int k = tr_config_key_index(order_cases[i].key);

		tr_config_init(&a);
		tr_config_init(&b);
		tr_config_set(&a, order_cases[i].key, order_cases[i].weaker, NULL, &st);
		tr_config_set(&b, order_cases[i].key, order_cases[i].stronger, NULL, &st);
		snprintf(name, sizeof name, "strength: %s \"%s\" < \"%s\"", order_cases[i].key,
		         order_cases[i].weaker, order_cases[i].stronger);
		tap_ok(tr_config_strength(&a, k) >= 0 &&
		       tr_config_strength(&a, k) < tr_config_strength(&b, k), name, "");
		tr_config_free(&a);
		tr_config_free(&b);
	}
}

int main(void)
{
	tlsrelay_ctx *ctx = tlsrelay_ctx_new();
	tlsrelay_message *msg = message();

	if (ctx == NULL)
		return 99;
	test_sessions(ctx, msg);
	test_loop_name();
	test_loop_addr();
	test_settings();
	test_defaults_and_origins();
	test_strength();
	close(msg->fd);
	free(msg);
	tlsrelay_ctx_free(ctx);
	return tap_done();
}

/*
 * test_deliver_status.c - tlsrelay_deliver() sets every recipient's
 * status whatever stops it before a session (tlsrelay.h: "Each
 * recipient's status is set"): a bad policy map, a bad dns_resolver, a
 * bad nexthop. Nothing is connected to (the failures come first).
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tlsrelay.h"
#include "tap.h"

static const struct {
	const char *name;
	const char *key, *value;   /* the setting that breaks the delivery */
	const char *nexthop;
	tlsrelay_cat want;
	const char *dsn;
} cases[] = {
	{ "a policy map that does not parse", "tls_policy_map", "MAP", "[127.0.0.1]:1",
	  TLSRELAY_CONFIG, "4.3.5" },
	{ "a missing policy map", "tls_policy_map", "/nonexistent/tlsrelay-map", "[127.0.0.1]:1",
	  TLSRELAY_CONFIG, "4.3.5" },
	{ "a bad -r nexthop", NULL, NULL, "[bad host]", TLSRELAY_CONFIG, "4.3.5" },
	{ "a DSN NOTIFY over 64 bytes (RCPT TO would not fit a command line)", "NOTIFY",
	  "SUCCESS,FAILURE,DELAY,SUCCESS,FAILURE,DELAY,SUCCESS,FAILURE,DELAY,SUCCESS",
	  "[127.0.0.1]:1", TLSRELAY_USAGE, "5.5.4" },
};

int main(void)
{
	char dir[] = "/tmp/test_deliver_status.XXXXXX", map[64], spool[64];
	FILE *f;

	tap_plan((int)(sizeof cases / sizeof cases[0]) * 3);
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(map, sizeof map, "%s/map", dir);
	snprintf(spool, sizeof spool, "%s/msg", dir);
	if ((f = fopen(map, "w")) != NULL) {
		fputs("example.test bogus-level\n", f);
		fclose(f);
	}
	if ((f = fopen(spool, "w")) != NULL) {
		fputs("Subject: x\n\nbody\n", f);
		fclose(f);
	}
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		tlsrelay_ctx *ctx = tlsrelay_ctx_new();
		tlsrelay_status st;
		tlsrelay_rcpt r[2] = { { .addr = "a@example.test" }, { .addr = "b@example.test" } };
		int notify = cases[c].key && strcmp(cases[c].key, "NOTIFY") == 0;
		tlsrelay_request req = { "s@example.test", cases[c].nexthop,
		                         notify ? cases[c].value : NULL, NULL, NULL, r, 2 };
		tlsrelay_message *msg;
		char name[200];
		FILE *in = fopen(spool, "r");

		tlsrelay_ctx_set(ctx, "spool_directory", dir, &st);
		if (cases[c].key && !notify)
			tlsrelay_ctx_set(ctx, cases[c].key, strcmp(cases[c].value, "MAP") == 0 ? map
			                 : cases[c].value, &st);
		msg = in ? tlsrelay_message_spool(ctx, fileno(in), &st) : NULL;
		tlsrelay_deliver(ctx, &req, msg, &st);
		snprintf(name, sizeof name, "%s: the summary", cases[c].name);
		tap_ok(st.cat == cases[c].want && strcmp(st.dsn, cases[c].dsn) == 0, name, st.text);
		for (int i = 0; i < 2; i++) {
			snprintf(name, sizeof name, "%s: recipient %d has the status", cases[c].name, i + 1);
			tap_ok(r[i].status.cat == cases[c].want && strcmp(r[i].status.dsn, cases[c].dsn) == 0,
			       name, r[i].status.text);
		}
		tlsrelay_message_free(msg);
		tlsrelay_ctx_free(ctx);
		if (in)
			fclose(in);
	}
	unlink(map);
	unlink(spool);
	rmdir(dir);
	return tap_done();
}

/*
 * daemon_client.c - one delivery handed to tlsrelayd (daemon_client.h).
 * The protocol's bytes and the client's steps are those of
 * trd_proto.h and trd_client.h, which tlsrelayc and tlsrelayd use too:
 * the protocol has one definition, in lib/ (the library includes nothing
 * of plugin/); this file adds the outcomes and their statuses.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "daemon_client.h"
#include "status.h"
#include "trd_client.h"

_Static_assert(TR_DAEMON_LINE_MAX >= TRD_REPLY_MAX, "a reply line must fit");

/* "<status>" or "<status> <line>" into *r; -1 if neither. */
static int parse_reply(const char *line, tr_daemon_reply *r)
{
	const char *rest;

	if (trd_client_parse(line, &r->status, &rest) < 0)
		return -1;
	snprintf(r->line, sizeof r->line, "%s", rest ? rest : "");
	return 0;
}

tr_daemon_outcome tr_daemon_deliver(const char *sock, int argc, char *const *argv,
                                    const int fds[3], int timeout_s,
                                    tr_daemon_reply *reply, tlsrelay_status *st)
{
	char line[TRD_REPLY_MAX + 1];
	tr_daemon_outcome out = TR_DAEMON_LOST;
	size_t len = 0;
	char *buf = trd_client_request(argc, argv, NULL, 0, &len);
	int s = -1, rc;

	if (buf == NULL) {
		tr_status_set(st, TLSRELAY_CONFIG, "4.3.5", "tlsrelayd at %s: request over the "
		              "protocol's limits, or out of memory", sock);
		return TR_DAEMON_UNREACHABLE;
	}
	if ((s = trd_client_connect(sock)) < 0) {
		tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "tlsrelayd at %s: cannot connect: %s",
		              sock, strerror(errno));
		free(buf);
		return TR_DAEMON_UNREACHABLE;
	}
	if ((rc = trd_client_send(s, buf, len, fds)) == -1) {
		tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "tlsrelayd at %s: request not accepted: %s",
		              sock, strerror(errno));
		out = TR_DAEMON_UNREACHABLE;
	} else if (rc < 0) {
		tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "tlsrelayd at %s: cannot send the request: "
		              "%s: delivery status unknown", sock, strerror(errno));
	} else if ((rc = trd_client_reply(s, line, timeout_s)) < 0) {
		if (rc == -2)
			tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "tlsrelayd at %s: no result within "
			              "%d s: delivery status unknown", sock, timeout_s);
		else
			tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "tlsrelayd at %s: ended without a "
			              "result: delivery status unknown", sock);
	} else if (strcmp(line, TRD_REPLY_NOT_SERVED) == 0) {
		tr_status_set(st, TLSRELAY_CONFIG, "4.3.5", "tlsrelayd at %s: request not served "
		              "(it runs deliveries with its own configuration only: no -o, -r or "
		              "other -c)", sock);
		out = TR_DAEMON_NOT_SERVED;
	} else if (parse_reply(line, reply) < 0) {
		tr_status_set(st, TLSRELAY_TEMP, "4.3.0", "tlsrelayd at %s: unreadable result: "
		              "delivery status unknown", sock);
	} else {
		tr_status_ok(st);
		out = TR_DAEMON_REPLIED;
	}
	close(s);
	free(buf);
	return out;
}

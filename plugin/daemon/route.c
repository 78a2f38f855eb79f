/*
 * route.c - the routing label of a request, read by the daemon before it
 * hands the client to a delivery process (pool.c routes it to the process
 * whose idle SMTP connection serves that label: lib/conn_cache.h).
 *
 * The request (trd_proto.h) is peeked (MSG_PEEK, no control buffer): its
 * bytes and descriptors stay queued for the delivery process, which reads
 * and checks them as it always did. The label is the delivery's nexthop:
 * the configuration's relayhost, else the domain of the first recipient
 * (tr_conn_route_label), exactly as the delivery process labels the
 * connection it keeps.
 *
 * Decisions:
 * - The label is a hint for choosing a process, never a decision: a
 *   process reuses a connection only when the full key of the delivery's
 *   demand matches (conn_cache.h). A wrong or missing label costs a new
 *   connection, nothing else; so this parser gives up ("") on anything
 *   unusual (a bad magic, a first recipient beyond the first TRD_PEEK_MAX
 *   bytes or the first write of the client) instead of handling it.
 * - The command line is scanned as the transport's getopt reads it
 *   ("+c:f:r:N:R:V:D:o:q:Q:u:vindtTP", plugin/transport/transport.c): options
 *   until "--" or the first argument that is not one; an option that takes
 *   a value takes the rest of its word or the next word. Requests the
 *   daemon does not serve get a label too; it does not matter. -D
 *   (a recipient's DSN parameters, once per recipient: the Exim module's
 *   requests) comes before the recipients: with many long ORCPTs the
 *   first recipient may lie past TRD_PEEK_MAX, which costs the hint only.
 * - A client that connected but sent nothing yet is waited for by
 *   serve.c, at most TRD_ROUTE_WAIT_MS, without blocking the daemon.
 */
#include "config.h"
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include "tlsrelay_internal.h"
#include "daemon.h"

#define TRD_PEEK_MAX 8192

/* The first recipient among the n strings at p (argv[0] first); NULL when
 * the bytes end before it (*more set when it may still come). */
static const char *first_rcpt(const char *p, const char *end, uint32_t argc, int *more)
{
	int dashdash = 0;
	const char *want_value = NULL;

	*more = 1;
	for (uint32_t i = 0; i < argc; i++) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		const char *arg = p;

		if (nul == NULL)
			return NULL;
		p = nul + 1;
		if (i == 0)
			continue;                  /* argv[0] */
		if (want_value) {
			want_value = NULL;
			continue;
		}
		if (dashdash || arg[0] != '-' || arg[1] == '\0')
			return arg;                /* the first recipient */
		if (strcmp(arg, "--") == 0) {
			dashdash = 1;
			continue;
		}
		for (const char *o = arg + 1; *o; o++)
			if (strchr("cfrNRVDoqQu", *o)) {
				if (o[1] == '\0')
					want_value = arg;
				break;
			}
	}
	*more = 0;                          /* no recipient at all */
	return NULL;
}

int trd_route_label(int conn, const tlsrelay_ctx *warm, int final, char *label, size_t cap)
{
	char buf[TRD_PEEK_MAX];
	const char *p, *end, *rcpt, *cwd_end;
	uint32_t argc;
	ssize_t n;
	int more;

	label[0] = '\0';
	do
		n = recv(conn, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return final;
	if (n <= 0 || warm == NULL)
		return 1;                       /* the delivery process will see */
	if ((size_t)n < TRD_HEAD_LEN)
		return final || (size_t)n == sizeof buf;
	if (memcmp(buf, TRD_MAGIC, TRD_MAGIC_LEN) != 0)
		return 1;
	memcpy(&argc, buf + TRD_MAGIC_LEN, 4);
	p = buf + TRD_HEAD_LEN;
	end = buf + n;
	if (argc < 1 || argc > TRD_ARGC_MAX ||
	    (cwd_end = memchr(p, '\0', (size_t)(end - p))) == NULL)
		return final || (size_t)n == sizeof buf || argc < 1 || argc > TRD_ARGC_MAX;
	rcpt = first_rcpt(cwd_end + 1, end, argc, &more);
	if (rcpt == NULL)
		return final || !more || (size_t)n == sizeof buf;
	tr_conn_route_label(warm, rcpt, label, cap);
	return 1;
}

/*
 * tlsrelayc.c - the thin transport: hands the delivery to tlsrelayd.
 *
 *   tlsrelayc [-S SOCKET] TLSRELAY-ARGUMENTS...
 *   tlsrelayc --help | --version   (answered here, never sent)
 *
 * Takes tlsrelay's own command line (tlsrelay(8)): the MTA runs it in
 * place of tlsrelay with the same arguments. It sends them, with its
 * standard input, output and error (SCM_RIGHTS), to tlsrelayd over the
 * unix socket SOCKET (default RUNSTATEDIR/tlsrelay/tlsrelayd.sock; -S must
 * be the first argument), waits for the delivery process to end and exits
 * with its status. The delivery process reads the message from the MTA's
 * pipe, writes the result line itself, and sends the status on this
 * connection. Protocol: lib/trd_proto.h (its steps: lib/trd_client.h).
 *
 * Why: this program links nothing but libc and does not load OpenSSL;
 * the daemon forks each delivery from a process where the TLS context,
 * the CA file and the maps are ready (doc/PERFORMANCE.md).
 *
 * Decisions:
 * - When the daemon cannot be reached (no socket, refused, no permission,
 *   nothing of the request accepted), the command line is over the
 *   protocol's limits, or one of descriptors 0-2 is closed, tlsrelayc runs tlsrelay itself,
 *   the program beside it (/proc/self/exe's directory), with the same
 *   arguments: the same code and configuration, only slower. The daemon
 *   being down never holds mail back. The fallback is logged (LOG_MAIL,
 *   warning), not printed: the MTA reads the output as the result.
 * - Once the request is sent the daemon may be delivering: from then on
 *   any doubt (an error, no reply) is 4.3.0 and exit 75, never 0.
 * - The one exception is the daemon's "not-served" reply (trd_proto.h): it
 *   runs only deliveries with its own configuration, and this command
 *   line was something else (-o, -t, -n, -d, -q, -r, another -c). It ran
 *   nothing of it and did not touch descriptors 0-2, so tlsrelayc runs
 *   tlsrelay itself as above: with the rights of its own user, never the
 *   daemon's. The daemon decides (a client may send anything); tlsrelayc
 *   does not guess beforehand.
 * - No timeout of its own: the MTA's (pipe(8) time limit) ends this
 *   process, and the daemon stops the delivery when it sees that.
 * - The result comes from the delivery process itself, on this
 *   connection (the daemon handed it over with the descriptors): a daemon
 *   killed or restarted after the hand-over changes nothing here, the
 *   connection stays open until the delivery process has replied. End of
 *   file without a reply is the delivery process's death, or the daemon's
 *   before the hand-over: 75 (plugin/daemon/worker.c lists every case).
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "../../lib/trd_client.h"
#include "../../lib/status_exit.h"
#include "../cli.h"

/* Exit statuses through the one translation (lib/status_exit.h: this
 * program links nothing but libc): a delivery whose outcome is unknown is
 * temporary; a bad -S is the transport's configuration. */
#define EXIT_TEMP   tr_status_exit_code(TLSRELAY_TEMP, "", 0)
#define EXIT_CONFIG tr_status_exit_code(TLSRELAY_CONFIG, "", 0)

#define DELIVERING "delivering in this process"

/* Log why (tail: what now), then become tlsrelay; never returns. */
static void __attribute__((noreturn)) fallback_as(char **argv, const char *why, const char *sock, const char *tail)
{
	char self[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 16);

	openlog("tlsrelayc", LOG_PID, LOG_MAIL);
	if (sock)
		syslog(LOG_WARNING, "tlsrelayd at %s: %s: %s", sock, why, tail);
	else
		syslog(LOG_WARNING, "%s: %s", why, tail);
	closelog();
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			strcpy(slash + 1, "tlsrelay");
			argv[0] = self;
			execv(self, argv);
		}
	}
	printf("4.3.0 tlsrelayc: cannot run tlsrelay beside %s: %s\n",
	       n > 0 ? self : "this program", strerror(errno));
	exit(EXIT_TEMP);
}

static void __attribute__((noreturn)) fallback(char **argv, const char *why, const char *sock)
{
	fallback_as(argv, why, sock, DELIVERING);
}

static int std_fds_open(void)
{
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			return 0;
	return 1;
}

/* The request in a static buffer when it fits: no heap set-up. */
static char small_request[8192];

/* The reply: the exit status, after printing its line if any; -1 for
 * "not-served" (trd_proto.h). No timeout of its own (the file header). */
static int read_reply(int s)
{
	char line[TRD_REPLY_MAX + 1];
	const char *rest;
	int status;

	if (trd_client_reply(s, line, -1) < 0) {
		printf("4.3.0 tlsrelayc: tlsrelayd ended without a result: delivery status unknown\n");
		return EXIT_TEMP;
	}
	if (strcmp(line, TRD_REPLY_NOT_SERVED) == 0)
		return -1;
	if (trd_client_parse(line, &status, &rest) < 0) {
		printf("4.3.0 tlsrelayc: unreadable result from tlsrelayd\n");
		return EXIT_TEMP;
	}
	if (rest)
		printf("%s\n", rest);
	return status;
}

int main(int argc, char **argv)
{
	const char *sock = RUNSTATEDIR "/tlsrelay/tlsrelayd.sock";
	size_t len;
	char *buf;
	int s, rc;

	if ((rc = tr_cli_std(argc, argv, "tlsrelayc", "usage: tlsrelayc [-S socket] "
	                     "tlsrelay-arguments...\n       tlsrelayc --help | --version\n"
	                     "tlsrelay-arguments: as tlsrelay's (tlsrelay --help)")) >= 0)
		return rc;
	if (argc >= 2 && strcmp(argv[1], "-S") == 0) {
		if (argc < 3) {
			printf("4.3.5 tlsrelayc: -S needs a socket path\n");
			return EXIT_CONFIG;
		}
		sock = argv[2];
		argv[2] = argv[0];
		argv += 2;
		argc -= 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!std_fds_open())
		fallback(argv, "descriptor 0, 1 or 2 is closed", NULL);
	/* Made before connecting: the request follows the connection at once,
	 * and the daemon routes it by its first bytes (route.c). */
	if ((buf = trd_client_request(argc, argv, small_request, sizeof small_request, &len)) == NULL)
		fallback(argv, "command line over the protocol's limits", sock);
	if ((s = trd_client_connect(sock)) < 0) {
		char why[128];
		snprintf(why, sizeof why, "cannot connect: %s", strerror(errno));
		fallback(argv, why, sock);
	}
	if ((rc = trd_client_send(s, buf, len, (const int[3]){ 0, 1, 2 })) == -1)
		fallback(argv, "request not accepted", sock);
	if (rc < 0) {
		printf("4.3.0 tlsrelayc: cannot send the request to tlsrelayd: %s\n", strerror(errno));
		return EXIT_TEMP;
	}
	if (buf != small_request)
		free(buf);
	if ((rc = read_reply(s)) < 0) {
		close(s);
		fallback_as(argv, "not served there (it runs deliveries with its own configuration "
		            "only: no -o, -t, -n, -d, -q, -r or other -c)", sock,
		            "running tlsrelay in this process, as this user");
	}
	fflush(stdout);
	return rc;
}

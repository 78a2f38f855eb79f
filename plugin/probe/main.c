/*
 * main.c - tlsrelay-probe: what would happen to mail for a destination.
 *
 *   tlsrelay-probe [-c CONFIG] [-o KEY=VALUE]... [-l LEVEL] [-p PORT] [-v]
 *                  DESTINATION
 *   tlsrelay-probe --help | --version
 *
 * Glue only: the library's tlsrelay_probe() runs the delivery code in probe
 * mode (see lib/probe.c) and this prints what it reports, then the verdict
 * as the last line. Never sends MAIL FROM.
 *
 * No core dumps (tlsrelay_no_core_dumps): the delivery code loads
 * sasl_password_map, as the transport's does.
 *
 * Exit status (documented in tlsrelay-probe(8)): the library's translation
 * of the verdict with TLSRELAY_EXIT_NO_NOUSER (a verdict on a destination:
 * a bounce is 69, never 67): 0 mail would be delivered, 75 it would be
 * deferred, 69 it would bounce, 64 bad arguments, 78 bad configuration.
 */
#include "config.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tlsrelay.h"
#include "../cli.h"

#define EXIT_FLAGS TLSRELAY_EXIT_NO_NOUSER

/* The exit status of a category (the library's translation). */
static int exit_status(tlsrelay_cat cat)
{
	tlsrelay_status st = { .cat = cat };

	return tlsrelay_status_exit_flags(&st, EXIT_FLAGS);
}

static const char synopsis[] =
	"usage: tlsrelay-probe [-c config] [-o key=value] [-l level] [-p port] [-v] destination\n"
	"       tlsrelay-probe --help | --version";

static void usage(void)
{
	fprintf(stderr, "%s\n", synopsis);
}

static void print_line(void *arg, const char *line)
{
	(void)arg;
	printf("%s\n", line);
}

static void log_line(void *arg, int priority, const char *line)
{
	(void)arg;
	(void)priority;
	printf("  | %s\n", line);
}

/* The exit status of the alarm, computed before it is armed. */
static volatile sig_atomic_t alarm_exit;

static void on_alarm(int sig)
{
	static const char msg[] = "tlsrelay-probe: deadline exceeded\n";

	(void)sig;
	(void)!write(STDOUT_FILENO, msg, sizeof msg - 1);
	_exit(alarm_exit);
}

int main(int argc, char **argv)
{
	const char *config = NULL, *level = NULL;
	const char *ov[32];
	int nov = 0, port = 0, verbose = 0, c, rc;
	tlsrelay_status st;
	tlsrelay_ctx *ctx;

	if ((rc = tr_cli_std(argc, argv, "tlsrelay-probe", synopsis)) >= 0)
		return rc;
	(void)tlsrelay_no_core_dumps();   /* it may load sasl_password_map */
	while ((c = getopt(argc, argv, "c:o:l:p:v")) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'l': level = optarg; break;
		case 'p': port = atoi(optarg); if (port <= 0 || port > 65535) port = -1; break;
		case 'v': verbose = 1; break;
		case 'o':
			if (nov == 32 || strchr(optarg, '=') == NULL) {
				usage();
				return exit_status(TLSRELAY_USAGE);
			}
			ov[nov++] = optarg;
			break;
		default: usage(); return exit_status(TLSRELAY_USAGE);
		}
	}
	if (optind != argc - 1) {
		usage();
		return exit_status(TLSRELAY_USAGE);
	}
	if ((ctx = tlsrelay_ctx_new()) == NULL) {
		puts("tlsrelay-probe: out of memory");
		return exit_status(TLSRELAY_INTERNAL);
	}
	if (tlsrelay_ctx_configure(ctx, config, ov, nov, &st) != TLSRELAY_OK) {
		printf("tlsrelay-probe: %s\n", st.text);
		tlsrelay_ctx_free(ctx);
		return tlsrelay_status_exit_flags(&st, EXIT_FLAGS);
	}
	if (verbose)
		tlsrelay_ctx_set_logger(ctx, log_line, NULL, 2);
	signal(SIGPIPE, SIG_IGN);
	alarm_exit = exit_status(TLSRELAY_TEMP);
	signal(SIGALRM, on_alarm);
	alarm((unsigned)tlsrelay_ctx_deadline(ctx) + 15);
	setvbuf(stdout, NULL, _IOLBF, 0);
	tlsrelay_probe(ctx, argv[optind], level, port, print_line, NULL, &st);
	printf("%s\n", st.text);
	rc = tlsrelay_status_exit_flags(&st, EXIT_FLAGS);
	tlsrelay_ctx_free(ctx);
	return rc;
}

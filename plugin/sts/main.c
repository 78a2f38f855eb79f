/*
 * tlsrelay-sts - MTA-STS cache maintenance and TLS-RPT reports (a thin
 * command over lib/sts_admin.h).
 *
 *   tlsrelay-sts [-c config] [-o key=value]... [-v] refresh [domain...]
 *       Look up and fetch again the policy of each domain (default: every
 *       cached domain), even when the TXT id is unchanged, so that cached
 *       policies are renewed before they expire (cron, e.g. daily). One
 *       line per domain on stdout. Then expired policies and TLS-RPT
 *       results older than 30 days are removed (the file stays bounded).
 *       Exit 0, or 1 when a domain has no usable policy after the
 *       refresh (an answer, not a failure: the one exit status that is not
 *       a category), 78 for a configuration error, 71 out of memory.
 *   tlsrelay-sts [...] show domain...
 *       The cached policy (no network but shared_store: the fleet's copy
 *       too, and which one deliveries use). Exit 1 when one is not cached.
 *   tlsrelay-sts [...] report --day YYYY-MM-DD [--domain D] [--org NAME]
 *       [--contact ADDR] [--submitter DOMAIN] [--send --from ADDR]
 *       RFC 8460 JSON report of each policy domain with results that day
 *       (only D with --domain), one JSON object per line on stdout; with
 *       --send, mailed instead through tlsrelay itself to the mailto: rua
 *       of the domain's _smtp._tls TXT record (MTA-STS not applied to that
 *       mail: TLS-Required: No). Defaults: --submitter and --org the host
 *       name, --contact postmaster@SUBMITTER.
 * mta_sts_cache must be set (in the file or with -o). No core dumps
 * (tlsrelay_no_core_dumps): report --send delivers with the library,
 * which loads sasl_password_map.
 *
 * This file parses the arguments and prints; the work is the library's
 * (lib/sts_admin.h): result lines on stdout, problems on stderr.
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "tlsrelay.h"
#include "tlsrelay_internal.h"
#include "../cli.h"

struct opts {
	const char *config, *overrides[32];
	int noverrides, verbose;
	tr_tlsrpt_job job;
};

static void log_stderr(void *arg, int priority, const char *line)
{
	(void)arg;
	(void)priority;
	fprintf(stderr, "tlsrelay-sts: %s\n", line);
}

/* The library's lines: results on stdout, problems on stderr. */
static void print_line(void *arg, int problem, const char *line)
{
	(void)arg;
	if (problem)
		fprintf(stderr, "tlsrelay-sts: %s\n", line);
	else
		printf("%s\n", line);
}

/* A category's exit status (the one translation, lib/status.c): out of
 * memory is 71 here, as for the milter. */
static int exit_status(tlsrelay_cat cat)
{
	tlsrelay_status st = { cat, "", "" };

	return tlsrelay_status_exit_flags(&st, TLSRELAY_EXIT_OSERR);
}

static const char synopsis[] =
	"usage: tlsrelay-sts [-c config] [-o key=value] [-v] refresh [domain...]\n"
	"       tlsrelay-sts [-c config] [-o key=value] show domain...\n"
	"       tlsrelay-sts [-c config] [-o key=value] report --day YYYY-MM-DD [--domain D]\n"
	"                    [--org NAME] [--contact ADDR] [--submitter DOMAIN] [--send --from ADDR]\n"
	"       tlsrelay-sts --help | --version";

static int usage(void)
{
	fprintf(stderr, "%s\n", synopsis);
	return exit_status(TLSRELAY_USAGE);
}

static int parse(int argc, char **argv, struct opts *o)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-v") == 0)
			o->verbose++;
		else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			o->config = argv[++i];
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc && strchr(argv[i + 1], '=') &&
		         o->noverrides < 32)
			o->overrides[o->noverrides++] = argv[++i];
		else
			return -1;
	}
	return i < argc ? i : -1;
}

static int parse_report(int argc, char **argv, int i, tr_tlsrpt_job *job)
{
	for (; i < argc; i++) {
		const char **slot = NULL;

		if (strcmp(argv[i], "--send") == 0) {
			job->send = 1;
			continue;
		}
		if (strcmp(argv[i], "--day") == 0) slot = &job->day;
		else if (strcmp(argv[i], "--domain") == 0) slot = &job->domain;
		else if (strcmp(argv[i], "--org") == 0) slot = &job->org;
		else if (strcmp(argv[i], "--contact") == 0) slot = &job->contact;
		else if (strcmp(argv[i], "--submitter") == 0) slot = &job->submitter;
		else if (strcmp(argv[i], "--from") == 0) slot = &job->from;
		if (slot == NULL || i + 1 >= argc)
			return -1;
		*slot = argv[++i];
	}
	return 0;
}

/* The command at argv[i] with the open cache: its exit status. */
static int run(tr_sts_admin *a, int argc, char **argv, int i, const struct opts *o)
{
	int rc = 0;

	if (strcmp(argv[i], "refresh") == 0)
		return tr_sts_admin_refresh(a, argv + i + 1, argc - i - 1) ? 1 : 0;
	if (strcmp(argv[i], "show") == 0) {
		for (int k = i + 1; k < argc; k++)
			rc |= tr_sts_admin_show(a, argv[k]);
		return rc;
	}
	{
		tlsrelay_status st;

		if (tr_sts_admin_report(a, &o->job, &rc, &st) != TLSRELAY_OK)
			return usage();
	}
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	tlsrelay_ctx *ctx;
	tr_sts_admin *a = NULL;
	tlsrelay_status st;
	int i, rc;

	if ((rc = tr_cli_std(argc, argv, "tlsrelay-sts", synopsis)) >= 0)
		return rc;
	(void)tlsrelay_no_core_dumps();   /* report --send loads sasl_password_map */
	memset(&o, 0, sizeof o);
	if ((i = parse(argc, argv, &o)) < 0)
		return usage();
	if (strcmp(argv[i], "report") == 0 && parse_report(argc, argv, i + 1, &o.job) < 0)
		return usage();
	if (strcmp(argv[i], "show") == 0 && i + 1 >= argc)
		return usage();
	if (strcmp(argv[i], "refresh") && strcmp(argv[i], "show") && strcmp(argv[i], "report"))
		return usage();
	if ((ctx = tlsrelay_ctx_new()) == NULL)
		return exit_status(TLSRELAY_INTERNAL);
	tlsrelay_ctx_set_logger(ctx, log_stderr, NULL, o.verbose);
	if (tlsrelay_ctx_configure(ctx, o.config, o.overrides, o.noverrides, &st) != TLSRELAY_OK ||
	    tr_sts_admin_open(ctx, print_line, NULL, &a, &st) != TLSRELAY_OK) {
		fprintf(stderr, "tlsrelay-sts: %s\n", st.text);
		rc = tlsrelay_status_exit_flags(&st, TLSRELAY_EXIT_OSERR);
	} else {
		rc = run(a, argc, argv, i, &o);
	}
	tr_sts_admin_close(a);
	tlsrelay_ctx_free(ctx);
	return rc;
}

/*
 * main.c - tlsrelay-report, what the TLS history says (tlsrelay-report(8)).
 *
 *   tlsrelay-report [-c CONFIG] summary [--days N]
 *   tlsrelay-report [-c CONFIG] explain DEST [--days N]
 *   tlsrelay-report [-c CONFIG] suggest [--days N]
 *   tlsrelay-report [-c CONFIG] html [-o FILE] [--days N]
 *   tlsrelay-report [-c CONFIG] metrics [-o FILE]
 *   tlsrelay-report --help | --version
 *
 * Only glue: arguments, configuration, one library call
 * (tlsrelay_report), the output. With -o the output goes to FILE.tmp,
 * then is renamed to FILE, so that a reader (node_exporter's textfile
 * collector, a web server) never sees half a file.
 *
 * Exit: the library's one translation (tlsrelay_status_exit_flags), as
 * for tlsrelay-sts, a program without mail (TLSRELAY_EXIT_OSERR): 0; 64 a
 * bad command line (USAGE); 75 the store cannot be read (TEMP); 78 a bad
 * configuration, tls_history unset (CONFIG); 71 the output file cannot be
 * written, or out of memory (INTERNAL).
 * No core dumps: explain loads the maps, the password map included.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tlsrelay.h"
#include "../cli.h"

static const char synopsis[] =
	"usage: tlsrelay-report [-c config] summary [--days N]\n"
	"       tlsrelay-report [-c config] explain DESTINATION [--days N]\n"
	"       tlsrelay-report [-c config] suggest [--days N]\n"
	"       tlsrelay-report [-c config] html [-o FILE] [--days N]\n"
	"       tlsrelay-report [-c config] metrics [-o FILE]\n"
	"       tlsrelay-report --help | --version";

/* A category's exit status (the one translation). */
static int exit_status(tlsrelay_cat cat)
{
	tlsrelay_status st = { .cat = cat };

	return tlsrelay_status_exit_flags(&st, TLSRELAY_EXIT_OSERR);
}

static int usage(const char *why)
{
	fprintf(stderr, "tlsrelay-report: %s\n%s\n", why, synopsis);
	return exit_status(TLSRELAY_USAGE);
}

static void put_line(void *arg, const char *line)
{
	fprintf(arg, "%s\n", line);
}

struct args {
	const char *config, *command, *dest, *out;
	int days;
};

/* The command's own arguments: DEST, --days N, -o FILE. */
static int command_args(int argc, char **argv, int i, struct args *a)
{
	for (; i < argc; i++) {
		char *end;

		if (strcmp(argv[i], "--days") == 0 && i + 1 < argc) {
			long v = strtol(argv[++i], &end, 10);
			if (*argv[i] == '\0' || *end || v < 1 || v > 3650)
				return usage("--days takes a number of days, 1..3650");
			a->days = (int)v;
		} else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc &&
		           (strcmp(a->command, "html") == 0 || strcmp(a->command, "metrics") == 0)) {
			a->out = argv[++i];
		} else if (argv[i][0] != '-' && a->dest == NULL &&
		           strcmp(a->command, "explain") == 0) {
			a->dest = argv[i];
		} else {
			return usage("unexpected argument");
		}
	}
	if (strcmp(a->command, "explain") == 0 && a->dest == NULL)
		return usage("explain needs a destination");
	return 0;
}

static int parse(int argc, char **argv, struct args *a)
{
	int c;

	memset(a, 0, sizeof *a);
	opterr = 0;
	while ((c = getopt(argc, argv, "+c:")) != -1) {
		if (c != 'c')
			return usage("unknown option or missing argument");
		a->config = optarg;
	}
	if (optind >= argc)
		return usage("no command given");
	a->command = argv[optind];
	if (strcmp(a->command, "summary") && strcmp(a->command, "explain") &&
	    strcmp(a->command, "suggest") && strcmp(a->command, "html") &&
	    strcmp(a->command, "metrics"))
		return usage("unknown command: use summary, explain, suggest, html or metrics");
	return command_args(argc, argv, optind + 1, a);
}

/* The output: standard output, or FILE.tmp (renamed by finish). */
static FILE *open_out(const struct args *a, char *tmp, size_t cap)
{
	FILE *f;

	if (a->out == NULL)
		return stdout;
	snprintf(tmp, cap, "%s.tmp", a->out);
	if ((f = fopen(tmp, "w")) == NULL)
		fprintf(stderr, "tlsrelay-report: %s: %s\n", tmp, strerror(errno));
	return f;
}

/* The output closed (FILE.tmp renamed to FILE when ok): OK, or INTERNAL
 * (said on standard error). */
static tlsrelay_cat finish(const struct args *a, FILE *f, const char *tmp, int ok)
{
	int bad;

	if (f == stdout) {
		if (fflush(stdout) == 0)
			return TLSRELAY_OK;
		fprintf(stderr, "tlsrelay-report: cannot write the output: %s\n", strerror(errno));
		return TLSRELAY_INTERNAL;
	}
	bad = ferror(f);
	if (fclose(f) != 0 || bad || !ok || rename(tmp, a->out) < 0) {
		if (ok)
			fprintf(stderr, "tlsrelay-report: %s: cannot write: %s\n", a->out,
			        strerror(errno));
		unlink(tmp);
		return ok ? TLSRELAY_INTERNAL : TLSRELAY_OK;
	}
	return TLSRELAY_OK;
}

int main(int argc, char **argv)
{
	tlsrelay_ctx *ctx;
	tlsrelay_status st;
	struct args a;
	char tmp[4096];
	FILE *f;
	int rc;

	if ((rc = tr_cli_std(argc, argv, "tlsrelay-report", synopsis)) >= 0)
		return rc;
	(void)tlsrelay_no_core_dumps();
	if ((rc = parse(argc, argv, &a)) != 0)
		return rc;
	if ((ctx = tlsrelay_ctx_new()) == NULL) {
		fprintf(stderr, "tlsrelay-report: out of memory\n");
		return exit_status(TLSRELAY_INTERNAL);
	}
	if (tlsrelay_ctx_configure(ctx, a.config, NULL, 0, &st) != TLSRELAY_OK) {
		fprintf(stderr, "tlsrelay-report: %s\n", st.text);
	} else if ((f = open_out(&a, tmp, sizeof tmp)) == NULL) {
		st.cat = TLSRELAY_INTERNAL;
	} else if (tlsrelay_report(ctx, a.command, a.dest, a.days, put_line, f, &st) != TLSRELAY_OK) {
		fprintf(stderr, "tlsrelay-report: %s\n", st.text);
		(void)finish(&a, f, tmp, 0);
	} else {
		st.cat = finish(&a, f, tmp, 1);
	}
	tlsrelay_ctx_free(ctx);
	return tlsrelay_status_exit_flags(&st, TLSRELAY_EXIT_OSERR);
}

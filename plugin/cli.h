/*
 * cli.h - --help and --version, the same for every program of tlsrelay
 * (tlsrelay, tlsrelay-probe, tlsrelay-sts, tlsrelayd, tlsrelayc,
 * tlsrelay-milter). Header only: tlsrelayc links nothing but libc.
 *
 * Contract: tr_cli_std(argc, argv, prog, synopsis) looks at the first
 * argument only. "--help" prints the synopsis and where the manual is,
 * "--version" prints "PROG VERSION"; both on standard output, and the
 * program exits 0 with what tr_cli_std returns. Any other command line:
 * -1, nothing printed (the program's own parsing follows).
 *
 * Decisions:
 * - Only as the first argument: "--help" anywhere else is an ordinary
 *   argument (a recipient after "--", an option's value).
 * - Standard output and exit 0 (GNU coding standards): a person asked;
 *   an MTA never passes these.
 */
#ifndef TR_CLI_H
#define TR_CLI_H

#include <stdio.h>
#include <string.h>

static inline int tr_cli_std(int argc, char **argv, const char *prog, const char *synopsis)
{
	if (argc < 2 || argv[1] == NULL)
		return -1;
	if (strcmp(argv[1], "--version") == 0) {
		printf("%s %s\n", prog, PACKAGE_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0) {
		printf("%s\nThe manual: man %s. Problems and their fixes: TROUBLESHOOTING.md "
		       "(with the documentation of tlsrelay).\n", synopsis, prog);
		return 0;
	}
	return -1;
}

#endif

/*
 * testutil.h - helpers shared by the unit tests that read files (test_config,
 * test_policy, test_sasl): a private temporary directory, temporary files
 * in it, expected error texts that name those files, and string checks.
 *
 * Like tap.h, everything is static: include it (after tap.h) from the one
 * source file of a test. The test makes tmpdir with mkdtemp() in main().
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include "tap.h"

/* The test's own temporary directory (set by main with mkdtemp). */
static char tmpdir[64];

/* TAP_STR through a function: the compiler then does not know the sizes of
 * the arrays compared, and -Wformat-truncation stays quiet about tap.h's
 * fixed diagnostic buffer (a long diagnostic is merely cut short). */
static void check_str(const char *got, const char *want, const char *name)
{
	TAP_STR(got, want, name);
}

/* want with every "FILE" replaced by path. */
static void expand(const char *want, const char *path, char *out, size_t cap)
{
	const char *p;
	size_t used = 0;

	out[0] = '\0';
	while ((p = strstr(want, "FILE")) != NULL && used < cap) {
		used += (size_t)snprintf(out + used, cap - used, "%.*s%s",
		                         (int)(p - want), want, path);
		want = p + 4;
	}
	if (used < cap)
		snprintf(out + used, cap - used, "%s", want);
}

/* Write len bytes to a new temporary file tmpdir/prefixXXXXXX; its name
 * into path. Inline: not every test writes unnamed files. */
static inline int write_temp(const char *prefix, const char *data, size_t len,
                             char *path, size_t cap)
{
	int fd;

	snprintf(path, cap, "%s/%sXXXXXX", tmpdir, prefix);
	if ((fd = mkstemp(path)) < 0)
		return -1;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		unlink(path);
		return -1;
	}
	return close(fd);
}

#endif

/*
 * replay.c - main() for a fuzz target built without libFuzzer: runs
 * LLVMFuzzerTestOneInput() on every file named on the command line (a
 * directory: every regular file in it) and prints one TAP line per
 * argument. A broken promise or a sanitizer error aborts the program, which
 * the TAP driver reports as an error.
 *
 *   replay_reply tests/fuzz/corpus/reply
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fuzz.h"

#define REPLAY_MAX (1024 * 1024)

/* Run one file; -1 if it cannot be read. */
static int run_file(const char *path)
{
	static uint8_t buf[REPLAY_MAX];
	FILE *fp = fopen(path, "rb");
	size_t n;

	if (fp == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof buf, fp);
	fclose(fp);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order. Returns the count or -1. */
static long run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	long done = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char path[4096];
		struct stat sb;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			names = realloc(names, cap * sizeof *names);
			if (names == NULL)
				abort();
		}
		if ((names[n++] = strdup(path)) == NULL)
			abort();
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp);
	for (size_t i = 0; i < n; i++) {
		if (run_file(names[i]) == 0)
			done++;
		else
			done = -1 - (long)n;
		free(names[i]);
	}
	free(names);
	return done < 0 ? -1 : done;
}

int main(int argc, char **argv)
{
	int bad = 0;

	printf("1..%d\n", argc - 1);
	for (int i = 1; i < argc; i++) {
		struct stat sb;
		long n;
		if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode))
			n = run_dir(argv[i]);
		else
			n = run_file(argv[i]) == 0 ? 1 : -1;
		if (n > 0) {
			printf("ok %d - %s: %ld inputs\n", i, argv[i], n);
		} else {
			printf("not ok %d - %s: %s\n", i, argv[i], n == 0 ? "no inputs" : "unreadable");
			bad = 1;
		}
		fflush(stdout);
	}
	return bad;
}

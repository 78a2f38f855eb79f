/*
 * fuzz.h - helpers shared by the libFuzzer targets in tests/fuzz/.
 *
 * Each target defines LLVMFuzzerTestOneInput(). Built with --enable-fuzz
 * (clang -fsanitize=fuzzer) it is a libFuzzer program; built without, it
 * links replay.c instead and "make check" runs it over its committed
 * corpus (tests/fuzz/test_corpus.sh), so every seed and every crash
 * reproducer is a regression test, also under ASan/UBSan.
 *
 * Oracles: besides the sanitizers, a target calls fuzz_check() for a
 * property the code promises (no control byte in a log or status line, no
 * MAIL FROM in plaintext when TLS is required, ...): a broken promise
 * aborts, which libFuzzer reports as a crash with its input.
 */
#ifndef TR_FUZZ_H
#define TR_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define fuzz_check(cond, what) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: broken promise: %s (%s)\n", \
			        __FILE__, __LINE__, what, #cond); \
			abort(); \
		} \
	} while (0)

/* A text meant for one log or status line holds no control byte. */
static inline int fuzz_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 0;
	return 1;
}

/* The loaders read files by path: the input goes to a memfd (no disk
 * writes, one per process, rewritten for each input) and the path is
 * /proc/self/fd/N. mode: the file mode to set (the SASL map must not be
 * readable by others). Returns the path (static buffer) or aborts. */
static inline const char *fuzz_file(const uint8_t *data, size_t size, mode_t mode)
{
	static int fd = -1;
	static char path[64];

	if (fd < 0) {
		fd = memfd_create("tlsrelay-fuzz", MFD_CLOEXEC);
		fuzz_check(fd >= 0, "memfd_create");
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	fuzz_check(ftruncate(fd, 0) == 0, "ftruncate");
	fuzz_check(size == 0 || pwrite(fd, data, size, 0) == (ssize_t)size, "pwrite");
	fuzz_check(fchmod(fd, mode) == 0, "fchmod");
	return path;
}

#endif

/*
 * dynload.h - libraries loaded with dlopen on first use (dynload.c).
 *
 * The transport is one process per message, and every shared library it
 * is linked with is mapped and relocated at each start, used or not.
 * libcurl (with its ~28 dependencies) costs ~8 M instructions and 4.5 MB
 * of RSS per start, SQLite 1.3 M and 0.7 MB (doc/PERFORMANCE.md), while
 * only MTA-STS needs them, and only when a policy is fetched (libcurl) or
 * the policy cache is opened (SQLite). So they are not linked: the code is
 * compiled against their headers and resolves the functions it calls with
 * dlsym the first time it needs them. Packages must then depend on the
 * libraries explicitly (debian/control: libcurl4, libsqlite3-0), since the
 * shared-library dependency scan does not see them.
 *
 * A library that cannot be loaded (not installed, too old, a symbol
 * missing) is an error of the operation that needed it, with the loader's
 * reason: an MTA-STS fetch failure (RFC 8461 rules: a cached policy is
 * still used, else no policy applies) or an unusable cache (MTA-STS works
 * without it). The attempt is made once per process; the handle is never
 * closed (libcurl and SQLite keep global state).
 */
#ifndef TR_DYNLOAD_H
#define TR_DYNLOAD_H

#include <stddef.h>
#include "status.h"

/* One function to resolve: its name and where to store its address (the
 * address of a function pointer of the right type). */
typedef struct tr_dynsym {
	const char *name;
	void *slot;
} tr_dynsym;

/* A library loaded once per process. Zero-initialise (static storage). */
typedef struct tr_dynlib {
	const char *soname;        /* "libcurl.so.4" */
	int state;                 /* 0 not tried, 1 loaded, -1 failed */
	char err[200];             /* why it failed */
} tr_dynlib;

/* Load lib->soname and resolve every symbol of syms (n of them) on the
 * first call; later calls return the first outcome.
 * Returns: OK (loaded); INTERNAL 4.3.0 with a one-line reason ("cannot
 * load libcurl.so.4: ...", "libcurl.so.4 has no SYMBOL (too old?)", or
 * tr_dynload_refuse's why). */
tlsrelay_cat tr_dynload(tr_dynlib *lib, const tr_dynsym *syms, size_t n, tlsrelay_status *st);

/* Mark a loaded library unusable (e.g. too old a version): later calls of
 * tr_dynload fail with why. */
void tr_dynload_refuse(tr_dynlib *lib, const char *why);

#endif

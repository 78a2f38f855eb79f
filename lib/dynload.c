/*
 * dynload.c - libraries loaded with dlopen on first use (see dynload.h).
 *
 * RTLD_NOW: every symbol of the library is bound when it is loaded, so a
 * broken installation shows at that point, with the loader's message, not
 * as a crash in the middle of a fetch. RTLD_LOCAL: the library's symbols
 * do not become visible to other objects.
 */
#include "config.h"
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include "dynload.h"

tlsrelay_cat tr_dynload(tr_dynlib *lib, const tr_dynsym *syms, size_t n, tlsrelay_status *st)
{
	void *h;

	if (lib->state == 0) {
		lib->state = -1;
		if ((h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL)) == NULL) {
			const char *why = dlerror();

			snprintf(lib->err, sizeof lib->err, "cannot load %s: %s", lib->soname,
			         why ? why : "unknown reason");
		} else {
			size_t i;

			for (i = 0; i < n; i++) {
				void *p = dlsym(h, syms[i].name);

				if (p == NULL)
					break;
				/* POSIX: a function's address fits a void *. */
				memcpy(syms[i].slot, &p, sizeof p);
			}
			if (i < n)
				snprintf(lib->err, sizeof lib->err, "%s has no %s (too old?)",
				         lib->soname, syms[i].name);
			else
				lib->state = 1;
		}
	}
	if (lib->state < 0)
		return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "%s", lib->err);
	return tr_status_ok(st);
}

void tr_dynload_refuse(tr_dynlib *lib, const char *why)
{
	lib->state = -1;
	snprintf(lib->err, sizeof lib->err, "%s", why);
}

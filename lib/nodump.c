/*
 * nodump.c - tlsrelay_no_core_dumps(): the one place where a program that
 * may hold secrets (SMTP AUTH passwords of sasl_password_map) keeps them
 * out of core files (see tlsrelay.h).
 *
 * Every program that can load the password map calls it first thing in
 * main(): the transport (tlsrelay), tlsrelayd, tlsrelay-probe and
 * tlsrelay-sts (report --send delivers through the library). It is not
 * done by the library on its own when the map is loaded: the library also
 * runs inside other programs (the Exim shared object, which never loads
 * the map), whose process settings are theirs.
 *
 * Decisions:
 * - Both RLIMIT_CORE 0 (no core file, whatever the kernel's core_pattern
 *   says for a dumpable process) and PR_SET_DUMPABLE 0 (no core through a
 *   pipe core_pattern either, and no ptrace or /proc/PID/mem by another
 *   process of the same user: /proc/PID then belongs to root).
 * - A failure is returned, not fatal: the callers go on (a sandbox that
 *   forbids prctl must not stop mail); the transport never logged it.
 */
#include "config.h"
#include <sys/prctl.h>
#include <sys/resource.h>
#include "tlsrelay.h"

int tlsrelay_no_core_dumps(void)
{
	struct rlimit none = { 0, 0 };
	int r = 0;

	if (setrlimit(RLIMIT_CORE, &none) < 0)
		r = -1;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		r = -1;
	return r;
}

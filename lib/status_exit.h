/*
 * status_exit.h - the one translation of a status to a sysexits(3) exit
 * code, as an inline function of this header only.
 *
 * Why a header: tlsrelayc (plugin/transport/tlsrelayc.c) links nothing
 * but libc (it may be one static musl file), yet its exits must be the
 * same translation as every other program's. libtlsrelay's
 * tlsrelay_status_exit() and tlsrelay_status_exit_flags() (status.c) are
 * this function; tlsrelayc includes this header. Nothing else includes it:
 * programs that link the library call tlsrelay_status_exit_flags().
 *
 * The table (flags: tlsrelay.h TLSRELAY_EXIT_*):
 *   OK                0  EX_OK
 *   TEMP             75  EX_TEMPFAIL
 *   INTERNAL         75  EX_TEMPFAIL (mail is kept); 71 EX_OSERR with
 *                        TLSRELAY_EXIT_OSERR
 *   PERM, DSN 5.1.1  67  EX_NOUSER; 69 with TLSRELAY_EXIT_NO_NOUSER
 *   PERM, other      69  EX_UNAVAILABLE
 *   USAGE            64  EX_USAGE
 *   DATAERR          65  EX_DATAERR
 *   CONFIG           78  EX_CONFIG; 75 with TLSRELAY_EXIT_CONFIG_TEMP
 *   anything else    75  (uncertain is temporary)
 */
#ifndef TR_STATUS_EXIT_H
#define TR_STATUS_EXIT_H

#include <string.h>
#include <sysexits.h>
#include "tlsrelay.h"

static inline int tr_status_exit_code(tlsrelay_cat cat, const char *dsn, unsigned flags)
{
	switch (cat) {
	case TLSRELAY_OK:
		return EX_OK;
	case TLSRELAY_PERM:
		return strcmp(dsn, "5.1.1") == 0 && !(flags & TLSRELAY_EXIT_NO_NOUSER)
		       ? EX_NOUSER : EX_UNAVAILABLE;
	case TLSRELAY_USAGE:
		return EX_USAGE;
	case TLSRELAY_DATAERR:
		return EX_DATAERR;
	case TLSRELAY_CONFIG:
		return flags & TLSRELAY_EXIT_CONFIG_TEMP ? EX_TEMPFAIL : EX_CONFIG;
	case TLSRELAY_INTERNAL:
		return flags & TLSRELAY_EXIT_OSERR ? EX_OSERR : EX_TEMPFAIL;
	case TLSRELAY_TEMP:
	default:
		/* Anything uncertain is a temporary failure: mail is kept. */
		return EX_TEMPFAIL;
	}
}

#endif

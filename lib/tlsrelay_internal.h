/*
 * tlsrelay_internal.h - the internal interface of libtlsrelay for the
 * in-tree programs that need more than the public API (tlsrelay.h).
 *
 * A program of plugin/ includes tlsrelay.h; the few that need the library's
 * internals include this header too, and nothing else of lib/
 * (tests/build/test_api_boundary.sh holds the list of those programs and
 * fails any other include of lib/). Everything declared here may change
 * with the library: it is no ABI, and libtlsrelay is linked statically into
 * each program (mk/lib.mk, doc/DESIGN.md "libtlsrelay is not an installed
 * library").
 *
 * Who uses what:
 *   tlsrelay-sts (plugin/sts/)       the context's settings (ctx.h), TXT
 *                                    lookups (dns_txt.h), the MTA-STS cache
 *                                    and discovery (sts.h), TLS-RPT reports
 *                                    (tlsrpt.h)
 *   tlsrelay-milter (plugin/milter/) the settings table (settings.h), the
 *                                    rules (msgrules.h), the header the
 *                                    transport reads (msgreq.h), level names
 *                                    (tls_level.h)
 * A program that needs a new part of the library adds the header here,
 * with a line above, rather than including it itself.
 */
#ifndef TLSRELAY_INTERNAL_H
#define TLSRELAY_INTERNAL_H

#include "tlsrelay.h"

/* settings and the context */
#include "settings.h"
#include "ctx.h"
#include "tls_level.h"

/* per-message TLS requirements: the milter's rules and header */
#include "msgrules.h"
#include "msgreq.h"

/* MTA-STS and TLS-RPT */
#include "dns_txt.h"
#include "sts.h"
#include "tlsrpt.h"

#endif

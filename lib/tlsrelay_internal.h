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
 * library"). No program sees the context's inside (ctx.h), through this
 * header or another (tests/layers/test_program_headers.sh).
 *
 * Who uses what:
 *   tlsrelay-sts (plugin/sts/)       the MTA-STS cache maintenance and the
 *                                    TLS-RPT reports as library calls
 *                                    (sts_admin.h)
 *   tlsrelay-milter (plugin/milter/) the settings table (settings.h), the
 *                                    rules (msgrules.h), the header the
 *                                    transport reads (msgreq.h), level names
 *                                    (tls_level.h)
 *   tlsrelayd (plugin/daemon/)       a delivery process's warm context and
 *                                    its connection cache, routed by
 *                                    nexthop (conn_cache.h)
 *   the Exim transport module        handing a delivery to tlsrelayd
 *   (plugin/exim/)                   (daemon_client.h) and reading each
 *                                    recipient's result back, the rule
 *                                    that settles every recipient
 *                                    (rcpt_result.h), the DSN
 *                                    parameters' syntax (dsn.h, also
 *                                    tlsrelay -D)
 * A program that needs a new part of the library adds the header here,
 * with a line above, rather than including it itself.
 *
 * (tlsrelayc, which links no library, compiles the exit translation from
 * lib/status_exit.h: the one declared exception of test_api_boundary.sh.)
 */
#ifndef TLSRELAY_INTERNAL_H
#define TLSRELAY_INTERNAL_H

#include "tlsrelay.h"

/* tlsrelay-milter: the settings, per-message TLS requirements (the rules
 * and the header), level names */
#include "settings.h"
#include "tls_level.h"
#include "msgrules.h"
#include "msgreq.h"

/* tlsrelay-sts: MTA-STS and TLS-RPT maintenance */
#include "sts_admin.h"

/* tlsrelayd: the connection cache of a delivery process */
#include "conn_cache.h"

/* the Exim transport module: tlsrelayd's client side, recipients' results
 * (also tlsrelay -P, plugin/transport/transport.c) */
#include "daemon_client.h"
#include "rcpt_result.h"
#include "dsn.h"
/* tlsrelayd's LMTP listener (plugin/daemon/lmtp.c) */
#include "lmtp_server.h"
/* tlsrelayd: the wire protocol with tlsrelayc and the descriptors it
 * passes (header-only; tlsrelayc includes trd_client.h, which has both) */
#include "trd_proto.h"
#include "trd_fdpass.h"

#endif

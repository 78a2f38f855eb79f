/*
 * loop.h - is this server this host? (loop.c)
 *
 * Mail sent to this host's own MTA comes back to tlsrelay and goes round
 * until the MTA's hop count stops it (and by then every copy has been sent
 * again). Postfix's smtp(8) defers "mail for X loops back to myself" when
 * the server's EHLO name is its own myhostname, or when the best MX host
 * is an address of its own. tlsrelay does the same, with what it knows:
 *
 * - by name: the first word of the server's greeting or of its EHLO reply
 *   (after an enhanced status code, if any) is the name tlsrelay says EHLO
 *   with (helo_name, else this host's name), ignoring case and a trailing
 *   dot. "localhost" and "localhost.localdomain" never count: they name no
 *   host (a smarthost that greets as "localhost" is not us);
 * - by address, before connecting: the address is one of this host's
 *   (an address of one of its interfaces, getifaddrs(3), or the
 *   unspecified 0.0.0.0 / ::) AND its port is one of local_mta_ports
 *   (default 25): the ports on which the admin says the MTA listens.
 *   Another loopback address (127.0.0.2) is not "this host's" unless an
 *   interface has it; a local port outside the list (a content filter on
 *   127.0.0.1:10025, a tunnel to the smarthost) is not the MTA.
 *
 * Decided here, not in Postfix's way: the MTA's listener is a setting,
 * because tlsrelay cannot read every MTA's configuration (Postfix's
 * inet_interfaces, Exim's daemon_smtp_ports, sendmail's DaemonPortOptions).
 */
#ifndef TR_LOOP_H
#define TR_LOOP_H

#include <sys/socket.h>
#include "settings.h"

/* 1 when the first word of text (a greeting's or EHLO reply's first line,
 * without its code) names me (see above); 0 otherwise, and for NULL. */
int tr_loop_name(const char *text, const char *me);

/* 1 when sa (AF_INET or AF_INET6, with its port) is an address of this
 * host at one of cfg->local_mta_ports; 0 otherwise (and when the
 * interfaces cannot be listed). */
int tr_loop_addr(const tr_config *cfg, const struct sockaddr *sa);

#endif

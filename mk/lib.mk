# mk/lib.mk - included by Makefile.am: libtlsrelay, the library in lib/.
#
# Every source of the library is listed here, once, grouped by concern (the
# file headers say more; doc/DESIGN.md "Layout"). A new file of lib/ goes
# into the group it belongs to, nowhere else.
#
# libtlsrelay is a convenience library (noinst): each program, the Exim
# object and the tests link its objects statically, and nothing installs a
# libtlsrelay.so, a header or a .pc file. The decision and its reasons are
# in doc/DESIGN.md ("libtlsrelay is not an installed library"): the
# transport is started once per message and a shared library costs it a
# mapping and relocation at every start (doc/PERFORMANCE.md, item 4); no
# program outside this tree uses the C API; an installed library would make
# the internal interface of tlsrelay-sts, the milter and tlsrelayd an ABI.
#
# The boundary is a header one: lib/tlsrelay.h is the API of the programs
# (plugin/), lib/tlsrelay_internal.h the declared internal interface for
# the few that need more; tests/build/test_api_boundary.sh fails a program
# that includes anything else of lib/. Unit and fuzz tests may include any
# header of lib/ (they test the parts).
#
# Objects are PIC (libtool): the Exim ${dlfunc} object and the Exim
# transport module link them too.

noinst_LTLIBRARIES = lib/libtlsrelay.la
lib_libtlsrelay_la_SOURCES = \
	lib/tlsrelay.h lib/tlsrelay_internal.h

# status (status_exit.h: the exit translation, also compiled into
# tlsrelayc), logging, buffers, settings, the context, loading libcurl and
# SQLite (dynload, sqlite_dl)
lib_libtlsrelay_la_SOURCES += \
	lib/status.c lib/status.h lib/status_exit.h \
	lib/log.c lib/log.h \
	lib/buf.c lib/buf.h \
	lib/nodump.c \
	lib/settings.c lib/settings_value.c lib/settings_value.h lib/settings_file.c lib/settings.h \
	lib/ctx.c lib/ctx_warm.c lib/ctx.h \
	lib/confcheck.c \
	lib/dynload.c lib/dynload.h \
	lib/sqlite_dl.c lib/sqlite_dl.h

# the policy: levels, the policy map, SASL credentials, the per-message
# rules (msgrules: the milter; msgreq: the transport's header), the one
# pure decision (demand) and the event stream (observe)
lib_libtlsrelay_la_SOURCES += \
	lib/tls_level.c lib/tls_level.h \
	lib/nexthop.c lib/nexthop.h \
	lib/policy.c lib/policy_value.c lib/policy.h \
	lib/sasl.c lib/sasl.h \
	lib/msgrules.c lib/msgrules.h \
	lib/msgreq.c lib/msgreq.h \
	lib/demand.c lib/demand.h \
	lib/observe.c lib/observe.h

# DNS: the resolver core, MX/addresses, TXT, TLSA; the DANE facts of a server
lib_libtlsrelay_la_SOURCES += \
	lib/dns_res.c lib/dns_res.h \
	lib/dns.c lib/dns.h \
	lib/dns_txt.c lib/dns_txt.h \
	lib/dns_tlsa.c lib/dns_tlsa.h \
	lib/dane.c lib/dane.h

# MTA-STS (RFC 8461) and TLS-RPT (RFC 8460): policy texts, HTTPS fetch
# (libcurl) and the cache (SQLite), both loaded with dlopen (dynload.h);
# the reports (zlib); what tlsrelay-sts does (sts_admin)
lib_libtlsrelay_la_SOURCES += \
	lib/sts_policy.c lib/sts_policy.h \
	lib/sts_fetch.c lib/sts_fetch.h \
	lib/sts_cache.c lib/sts_cache.h \
	lib/sts.c lib/sts.h \
	lib/tlsrpt.c lib/tlsrpt_record.c lib/tlsrpt_send.c lib/tlsrpt.h \
	lib/sts_admin.c lib/sts_admin.h

# the session: message spool, I/O, TLS (OpenSSL, DANE, the session cache),
# SMTP replies, the client state machine (opening a connection, loop
# detection), the transaction, AUTH; the connection cache of a delivery
# process (tlsrelayd's connection reuse)
lib_libtlsrelay_la_SOURCES += \
	lib/message.c lib/message.h \
	lib/io.c lib/io.h \
	lib/tls.c lib/tls.h \
	lib/tls_dane.c lib/tls_dane.h \
	lib/tls_cache.c lib/tls_cache.h \
	lib/smtp_reply.c lib/smtp_reply.h \
	lib/smtp_client.c lib/smtp_client.h lib/smtp_session.h \
	lib/smtp_open.c \
	lib/loop.c lib/loop.h \
	lib/smtp_txn.c \
	lib/smtp_auth.c \
	lib/conn_cache.c lib/conn_cache.h

# handing a delivery to tlsrelayd (its client side, for the Exim transport
# module), each recipient's result as a line (tlsrelay -P), the LMTP server
# and the DSN parameters' syntax it shares with deliver.c (dsn)
lib_libtlsrelay_la_SOURCES += \
	lib/daemon_client.c lib/daemon_client.h lib/trd_client.h lib/trd_proto.h lib/trd_fdpass.h \
	lib/rcpt_result.c lib/rcpt_result.h \
	lib/lmtp_server.c lib/lmtp_server.h \
	lib/dsn.c lib/dsn.h

# delivery and the questions about it: routing (deliver), tlsrelay -q
# (query), the probe, the Exim object's policy lookup (policy_api)
lib_libtlsrelay_la_SOURCES += \
	lib/deliver.c lib/deliver.h \
	lib/query.c lib/query_dane.c lib/query.h \
	lib/probe.c lib/probe_cert.c lib/probe.h \
	lib/policy_api.c

# what deliveries showed (observers of the event stream and their readers):
# the verdict of a demand on a session, the TLS history (SQLite), the
# shadow policy, tlsrelay-report's summaries, explanations, HTML and
# metrics, the resolver's DNSSEC self-test
lib_libtlsrelay_la_SOURCES += \
	lib/tls_verdict.c \
	lib/history.c lib/history.h lib/history_store.h lib/history_sqlite.c \
	lib/history_sqlite_read.c lib/history_sqlite_int.h lib/history_journal.c lib/history_journal.h \
	lib/shadow.c lib/shadow.h \
	lib/report.c lib/report.h lib/report_agg.c lib/report_explain.c \
	lib/report_html.c lib/report_metrics.c \
	lib/dnssec_check.c

# the fleet store on Redis (shared_store, doc/FLEET.md): optional
# (ac/lib.ac, hiredis); without hiredis, fleet_none.c answers "not built in"
lib_libtlsrelay_la_SOURCES += \
	lib/fleet.h lib/fleet_keys.c lib/fleet_check.c lib/redis.h \
	lib/redis_slot.c lib/redis_slot.h lib/redis_cluster.h
if HAVE_HIREDIS
lib_libtlsrelay_la_SOURCES += lib/fleet.c lib/fleet_hist.c lib/fleet_int.h lib/redis.c \
	lib/redis_cluster.c
else
lib_libtlsrelay_la_SOURCES += lib/fleet_none.c
endif
EXTRA_DIST += lib/fleet.c lib/fleet_hist.c lib/fleet_int.h lib/redis.c lib/fleet_none.c \
	lib/redis_cluster.c

# libcurl, SQLite and zlib: only their headers at build time for the first
# two (ac/lib.ac). The flags are the library's own: programs that include
# tlsrelay_internal.h get OpenSSL's from AM_CPPFLAGS, which is all the
# internal headers need.
lib_libtlsrelay_la_CPPFLAGS = $(AM_CPPFLAGS) $(CURL_CFLAGS) $(SQLITE_CFLAGS) $(ZLIB_CFLAGS) $(HIREDIS_CFLAGS)
lib_libtlsrelay_la_LIBADD = $(OPENSSL_LIBS) $(RESOLV_LIBS) $(DL_LIBS) $(ZLIB_LIBS) $(HIREDIS_LIBS)

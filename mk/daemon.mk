# mk/daemon.mk - included by Makefile.am (one fragment per area; use += on the shared
# variables: TESTS, check_PROGRAMS, EXTRA_DIST, SCRIPT_DIRS, lib_libtlsrelay_core_la_SOURCES ...).
#
# tlsrelayd, the delivery daemon, and tlsrelayc, the thin transport that
# hands it each delivery (doc/tlsrelayd.8, doc/PERFORMANCE.md). The
# daemon's delivery processes run the transport's own code
# (plugin/transport/transport.c); tlsrelayc links nothing but libc.

# h-reuse (issue 16): the session's open step, and the connection cache of
# a delivery process (for lib.mk when the lead merges)
lib_libtlsrelay_core_la_SOURCES += lib/smtp_open.c lib/conn_cache.c lib/conn_cache.h

sbin_PROGRAMS += plugin/daemon/tlsrelayd plugin/transport/tlsrelayc
plugin_daemon_tlsrelayd_SOURCES = plugin/daemon/main.c plugin/daemon/serve.c plugin/daemon/route.c \
	plugin/daemon/pool.c plugin/daemon/worker.c plugin/daemon/request.c plugin/daemon/daemon.h plugin/daemon/proto.h plugin/daemon/fdpass.h \
	plugin/transport/transport.c plugin/transport/transport.h
plugin_daemon_tlsrelayd_CPPFLAGS = $(AM_CPPFLAGS) -DRUNSTATEDIR='"$(runstatedir)"'
plugin_daemon_tlsrelayd_LDADD = lib/libtlsrelay-core.la
TLSRELAYC_SRC = plugin/transport/tlsrelayc.c plugin/daemon/proto.h plugin/daemon/fdpass.h plugin/cli.h
EXTRA_DIST += $(TLSRELAYC_SRC)
if TLSRELAYC_MUSL
# Built by musl-gcc, statically (ac/daemon.ac: glibc's start-up CPUIDs trap
# on VMs). No objects of the C compiler: the link command compiles the
# source itself.
plugin_transport_tlsrelayc_SOURCES =
EXTRA_plugin_transport_tlsrelayc_DEPENDENCIES = $(TLSRELAYC_SRC) config.h
plugin_transport_tlsrelayc_LINK = $(MUSL_GCC) $(STD_CFLAGS) $(WARN_CFLAGS) $(CFLAGS) $(DEFS) -I. \
	-DRUNSTATEDIR='"$(runstatedir)"' $(LDFLAGS) -static -o $@ $(srcdir)/plugin/transport/tlsrelayc.c
else
plugin_transport_tlsrelayc_SOURCES = $(TLSRELAYC_SRC)
plugin_transport_tlsrelayc_CPPFLAGS = $(AM_CPPFLAGS) -DRUNSTATEDIR='"$(runstatedir)"'
plugin_transport_tlsrelayc_LDFLAGS = $(TLSRELAYC_LDFLAGS)
# Automake's own link command: it writes none once _LINK is set in a branch.
plugin_transport_tlsrelayc_LINK = $(LIBTOOL) $(AM_V_lt) --tag=CC $(AM_LIBTOOLFLAGS) $(LIBTOOLFLAGS) \
	--mode=link $(CCLD) $(AM_CFLAGS) $(CFLAGS) $(plugin_transport_tlsrelayc_LDFLAGS) $(LDFLAGS) -o $@
endif

check_PROGRAMS += tests/unit/test_ctx_warm
tests_unit_test_ctx_warm_SOURCES = tests/unit/test_ctx_warm.c tests/unit/tap.h
tests_unit_test_ctx_warm_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ctx_warm_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_ctx_warm

# tlsrelayc(8) is tlsrelayd(8) (a .so link; dh_installman makes it a symlink).
man_MANS += doc/tlsrelayd.8 doc/tlsrelayc.8

# tests/daemon/test_daemon.sh: the daemon and the client against a real
# Postfix receiver, peer.py, malformed requests (hostile.py) and a host
# Postfix whose pipe(8) runs tlsrelayc.
TESTS += tests/daemon/test_daemon.sh
# the fault matrix of tests/peer/test_faults.sh, each delivery through the
# daemon (tests/daemon/via_daemon.sh: one daemon per case)
TESTS += tests/daemon/test_faults_daemon.sh
# who may do what through the socket (two users made for the test), how
# the socket is made (strace)
TESTS += tests/daemon/test_daemon_access.sh
# connection reuse (issue 16): peer.py and a Postfix receiver
# (tests/daemon/conn_facts.py reads what the peer saw)
TESTS += tests/daemon/test_reuse.sh
# ... routed by nexthop between processes (unbound, peers on 127.0.0.51-52:25)
TESTS += tests/daemon/test_reuse_routing.sh
# ... a daemon or its delivery processes killed during a burst of 600
# (tests/daemon/burst.py)
TESTS += tests/daemon/test_reuse_faults.sh
# ... no descriptor or memory leak over 10,000 messages (/proc)
TESTS += tests/daemon/test_reuse_soak.sh
SCRIPT_DIRS += tests/daemon
EXTRA_DIST += tests/daemon

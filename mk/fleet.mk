# mk/fleet.mk - included by Makefile.am (one fragment per area; use += on the shared
# variables: TESTS, check_PROGRAMS, EXTRA_DIST, SCRIPT_DIRS, lib_libtlsrelay_core_la_SOURCES ...).
#
# The fleet store (issue 18, lib/fleet.h): MTA-STS policies, TLS-RPT
# counters and the TLS history's daily aggregate shared by several hosts
# through Redis. Optional (ac/fleet.ac): with hiredis, lib/fleet.c,
# fleet_hist.c and the client lib/redis.c; without, lib/fleet_none.c.
lib_libtlsrelay_core_la_SOURCES += \
	lib/fleet.h lib/fleet_keys.c lib/fleet_check.c lib/redis.h
if HAVE_HIREDIS
lib_libtlsrelay_core_la_SOURCES += lib/fleet.c lib/fleet_hist.c lib/fleet_int.h lib/redis.c
lib_libtlsrelay_core_la_CFLAGS += $(HIREDIS_CFLAGS)
lib_libtlsrelay_core_la_LIBADD += $(HIREDIS_LIBS)
else
lib_libtlsrelay_core_la_SOURCES += lib/fleet_none.c
endif
EXTRA_DIST += lib/fleet.c lib/fleet_hist.c lib/fleet_int.h lib/redis.c lib/fleet_none.c

check_PROGRAMS += tests/unit/test_fleet
tests_unit_test_fleet_SOURCES = tests/unit/test_fleet.c tests/unit/tap.h
tests_unit_test_fleet_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_fleet_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_fleet

# A real redis-server on loopback and three tlsrelay hosts (tests/fleet/fleet.sh).
SCRIPT_DIRS += tests/fleet
TESTS += tests/fleet/test_fleet_sts.sh tests/fleet/test_fleet_rpt.sh tests/fleet/test_fleet_show.sh \
	tests/fleet/test_fleet_tls.sh
EXTRA_DIST += tests/fleet doc/FLEET.md bench/fleet bench/fleet.py
# the lock that makes the fleet tests take turns (tests/fleet/fleet.sh)
CLEANFILES += tests/fleet/.port25.lock

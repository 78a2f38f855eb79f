# mk/admin.mk - included by Makefile.am: the admin tools (tlsrelay -n/-d/-t,
# tlsrelay-probe) and their tests.
SCRIPT_DIRS += tests/admin
TESTS += tests/admin/test_confcheck.sh
EXTRA_DIST += tests/admin

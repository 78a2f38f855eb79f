# mk/docs.mk - included by Makefile.am (one fragment per area; use += on the shared
# variables: TESTS, check_PROGRAMS, EXTRA_DIST, SCRIPT_DIRS, lib_libtlsrelay_core_la_SOURCES ...).
#
# Docs an admin can follow cold: the README quick starts run as written
# (test_quickstart.sh: installs the packages, so only with CI=true or
# TR_TEST_PACKAGES=yes), the README's Exim block against the shipped snippets
# (test_readme.sh), and every error the transport prints documented in
# doc/TROUBLESHOOTING.md (test_errors_documented.sh).
SCRIPT_DIRS += tests/docs
TESTS += tests/docs/test_readme.sh tests/docs/test_errors_documented.sh \
	tests/docs/test_quickstart.sh
EXTRA_DIST += tests/docs doc/TROUBLESHOOTING.md
dist_doc_DATA += doc/TROUBLESHOOTING.md

# mk/admin.mk - included by Makefile.am: the admin tools (tlsrelay -n/-d/-t,
# tlsrelay-probe) and their tests.
SCRIPT_DIRS += tests/admin
TESTS += tests/admin/test_confcheck.sh tests/admin/test_probe.sh tests/admin/test_session.sh
EXTRA_DIST += tests/admin

# h-admin: loop detection of the session (loop.h)
lib_libtlsrelay_core_la_SOURCES += lib/loop.c lib/loop.h

# tlsrelay-probe: glue over tlsrelay_probe() (lib/probe.c, lib/probe_cert.c)
sbin_PROGRAMS += plugin/probe/tlsrelay-probe
plugin_probe_tlsrelay_probe_SOURCES = plugin/probe/main.c
plugin_probe_tlsrelay_probe_LDADD = lib/libtlsrelay.la
man_MANS += doc/tlsrelay-probe.8

# The Debian packages (tests/pkg/test_debian.sh runs only with CI=true or
# TR_TEST_PACKAGES=yes: it installs them).
SCRIPT_DIRS += tests/pkg
TESTS += tests/pkg/test_debian.sh
EXTRA_DIST += tests/pkg debian

# h-admin (issue 19): the session's 530 and loop rules against a scripted
# server, loop.c, syslog_name, local_mta_ports, origins and strengths
check_PROGRAMS += tests/unit/test_admin
tests_unit_test_admin_SOURCES = tests/unit/test_admin.c tests/unit/tap.h
tests_unit_test_admin_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_admin_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_admin

# h-admin (issue 19): what make install puts beside the programs for the
# admin, and the paths in it.
# - The sendmail mailer, include()d by path: $(pkgdatadir)/sendmail/
#   (with the Exim snippets, mk/exim.mk), not /usr/share/doc, which a
#   system may leave out.
# - The samples: tlsrelay.conf (every setting with its default), the two
#   maps, the Postfix snippets, in $(docdir)/examples/ (the Debian
#   package installs tlsrelay.conf from there as /etc/tlsrelay/).
# - Their sources, the man pages and the snippets are written for a
#   default "./configure" (/usr/local/...): install-data-hook rewrites
#   those paths in the installed copies to this build's (sysconfdir,
#   sbindir, libdir, pkgdatadir, docdir), so that a package built with
#   --prefix=/usr --sysconfdir=/etc/tlsrelay names its own paths.
#   tests/docs/test_paths.sh installs with Debian's paths and finds no
#   /usr/local left.
sendmailconfdir = $(pkgdatadir)/sendmail
dist_sendmailconf_DATA = conf/sendmail/tlsrelay.m4
examplesdir = $(docdir)/examples
dist_examples_DATA = conf/tlsrelay.conf conf/tls_policy conf/sasl_passwd
postfixexamplesdir = $(docdir)/examples/postfix
dist_postfixexamples_DATA = conf/postfix/main.cf.snippet conf/postfix/master.cf.snippet

TR_EDIT_PATHS = sed -i \
	-e 's|/usr/local/etc/tlsrelay\.conf|$(sysconfdir)/tlsrelay.conf|g' \
	-e 's|/usr/local/etc/tls_policy|$(sysconfdir)/tls_policy|g' \
	-e 's|/usr/local/etc/sasl_passwd|$(sysconfdir)/sasl_passwd|g' \
	-e 's|/usr/local/sbin/|$(sbindir)/|g' \
	-e 's|/usr/local/lib/tlsrelay/|$(libdir)/tlsrelay/|g' \
	-e 's|/usr/local/share/tlsrelay/|$(pkgdatadir)/|g' \
	-e 's|/usr/local/share/doc/tlsrelay/|$(docdir)/|g'

install-data-hook: $(EXIM_MODULE_INSTALL_HOOK)
	@for f in $(man_MANS); do \
		b=$${f##*/}; p="$(DESTDIR)$(mandir)/man$${b##*.}/$$b"; \
		if test -f "$$p"; then echo "  EDIT     $$p"; $(TR_EDIT_PATHS) "$$p" || exit 1; fi; \
	done
	@for p in "$(DESTDIR)$(examplesdir)"/* "$(DESTDIR)$(postfixexamplesdir)"/* \
	          "$(DESTDIR)$(eximconfdir)"/* "$(DESTDIR)$(sendmailconfdir)"/*; do \
		if test -f "$$p"; then echo "  EDIT     $$p"; $(TR_EDIT_PATHS) "$$p" || exit 1; fi; \
	done
# h-admin: the installed man pages, samples and snippets name the build's
# paths (make install-data into a private DESTDIR with Debian's paths)
TESTS += tests/docs/test_paths.sh

/*
 * main.c - tlsrelay-milter: per-message TLS requirements for tlsrelay.
 *
 *   tlsrelay-milter [-c CONFIG] [-p SOCKET] [-r RULES] [-u USER] [-f] [-t]
 *
 * Glue only: options and configuration, the rules table (loaded once, at
 * start), privileges, the libmilter socket and main loop. The callbacks are
 * in milter.c; the rules in lib/msgrules.c. See tlsrelay-milter(8).
 *
 * Decisions:
 * - SOCKET and RULES come from -p/-r, else from milter_socket/milter_rules
 *   in tlsrelay.conf (the transport ignores those keys); both are required.
 *   Without -r and milter_rules, RULES is message_rules, the file whose
 *   from/to rules the transport applies to the envelope it delivers (after
 *   the MTA's rewriting, which the milter cannot see): one file serves
 *   both, each applies what it can see, and the stronger level wins.
 * - The rules are read once, before the socket is opened: an unreadable or
 *   bad file stops the start with "FILE:LINE: reason" and exit 78, so the
 *   MTA's milter_default_action (tempfail) holds mail until it is fixed.
 *   Nothing is reloaded per message; to change the rules, restart. (SIGHUP
 *   cannot reload: libmilter's signal thread stops the milter on SIGHUP,
 *   SIGTERM and SIGINT - each is a clean shutdown, smfi_main returns.)
 * - -u USER drops to that user (and its groups) after the rules are read
 *   and before the socket is made, so a unix socket belongs to USER. A
 *   milter needs no privilege: started as root without -u, it warns.
 * - Exit statuses (tlsrelay_status_exit_flags with TLSRELAY_EXIT_OSERR:
 *   the milter holds no mail): 0 after a clean stop, 64 usage, 78
 *   configuration (socket syntax, rules, user), 71 when the socket cannot
 *   be opened or libmilter fails (INTERNAL), also when out of memory at
 *   start.
 * - The temporary-failure path of a message is tested through a link-time
 *   seam (milter.h milter_msg_alloc), not a switch of this program.
 */
#include "config.h"
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include "tlsrelay.h"
#include "tlsrelay_internal.h"
#include "milter.h"
#include "../cli.h"

struct opts {
	const char *config, *socket, *rules, *user;
	int foreground, check;
};

static int to_stderr = 1;

static void logmsg(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void logmsg(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (to_stderr) {
		char line[1024];
		vsnprintf(line, sizeof line, fmt, ap);
		fprintf(stderr, "tlsrelay-milter: %s\n", line);
	} else {
		vsyslog(priority, fmt, ap);
	}
	va_end(ap);
}

static const char synopsis[] =
	"usage: tlsrelay-milter [-c config] [-p socket] [-r rules] [-u user] [-f] [-t]\n"
	"       tlsrelay-milter --help | --version";

static void usage(void)
{
	fprintf(stderr, "%s\n", synopsis);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof *o);
	opterr = 0;
	while ((c = getopt(argc, argv, "c:p:r:u:ft")) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'p': o->socket = optarg; break;
		case 'r': o->rules = optarg; break;
		case 'u': o->user = optarg; break;
		case 'f': o->foreground = 1; break;
		case 't': o->check = 1; break;
		default:
			fprintf(stderr, "tlsrelay-milter: unknown option -%c or missing argument\n", optopt);
			usage();
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tlsrelay-milter: unexpected argument \"%s\"\n", argv[optind]);
		usage();
		return -1;
	}
	return 0;
}

/* libmilter socket syntax: {inet|inet6}:PORT[@HOST], {unix|local}:PATH. */
static int good_socket(const char *s)
{
	static const char *const pfx[] = { "inet:", "inet6:", "unix:", "local:" };

	for (size_t i = 0; i < sizeof pfx / sizeof pfx[0]; i++)
		if (strncmp(s, pfx[i], strlen(pfx[i])) == 0 && s[strlen(pfx[i])] != '\0')
			return 1;
	return 0;
}

/* The program's exit status for cat: the library's one translation; the
 * milter holds no mail, so INTERNAL (the socket, libmilter, memory) is 71. */
static int exit_status(tlsrelay_cat cat)
{
	tlsrelay_status st = { .cat = cat };

	return tlsrelay_status_exit_flags(&st, TLSRELAY_EXIT_OSERR);
}

/* Configuration file, then -p/-r; fills socket/rules (owned by cfg or argv).
 * Logs the problem. Returns: OK, CONFIG, INTERNAL. */
static tlsrelay_cat configure(const struct opts *o, tr_config *cfg, const char **sock,
                              const char **rules)
{
	tlsrelay_status st;
	const char *path = o->config ? o->config : tlsrelay_default_config_path();

	tr_config_init(cfg);
	if (tr_config_load(cfg, path, o->config != NULL, &st) != TLSRELAY_OK) {
		logmsg(LOG_ERR, "%s", st.text);
		return st.cat;
	}
	*sock = o->socket ? o->socket : cfg->milter_socket;
	*rules = o->rules ? o->rules : cfg->milter_rules ? cfg->milter_rules : cfg->message_rules;
	if (*rules == NULL) {
		logmsg(LOG_ERR, "no rules file: give -r RULES, or milter_rules or message_rules in %s", path);
		return TLSRELAY_CONFIG;
	}
	if (!o->check && (*sock == NULL || !good_socket(*sock))) {
		logmsg(LOG_ERR, "%s socket \"%s\": expected inet:PORT@HOST, inet6:PORT@HOST "
		       "or unix:PATH (-p, or milter_socket in %s)", *sock ? "bad" : "no",
		       *sock ? *sock : "", path);
		return TLSRELAY_CONFIG;
	}
	return TLSRELAY_OK;
}

static int drop_privileges(const char *user)
{
	struct passwd *pw;

	if (user == NULL) {
		if (geteuid() == 0)
			logmsg(LOG_WARNING, "running as root: use -u USER (a milter needs no privilege)");
		return 0;
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		logmsg(LOG_ERR, "unknown user \"%s\"", user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		logmsg(LOG_ERR, "cannot become user \"%s\": %s", user, strerror(errno));
		return -1;
	}
	return 0;
}

/* Register, open the socket, run until stopped. Returns: OK (stopped by a
 * signal), INTERNAL (the socket or libmilter failed). */
static tlsrelay_cat serve(const milter_conf *mc, const char *sock)
{
	if (smfi_register(*milter_desc(mc)) != MI_SUCCESS) {
		logmsg(LOG_ERR, "smfi_register failed");
		return TLSRELAY_INTERNAL;
	}
	if (smfi_setconn((char *)sock) != MI_SUCCESS || smfi_opensocket(1) != MI_SUCCESS) {
		logmsg(LOG_ERR, "cannot open socket %s (in use, or no permission?)", sock);
		return TLSRELAY_INTERNAL;
	}
	logmsg(LOG_INFO, "listening on %s, %zu rules", sock, tr_msgrules_size(mc->rules));
	if (smfi_main() != MI_SUCCESS) {
		logmsg(LOG_ERR, "libmilter main loop failed");
		return TLSRELAY_INTERNAL;
	}
	logmsg(LOG_INFO, "stopped");
	return TLSRELAY_OK;
}

int main(int argc, char **argv)
{
	struct opts o;
	tr_config cfg;
	tlsrelay_status st;
	const char *sock = NULL, *rules_path = NULL;
	milter_conf mc = { NULL, logmsg };
	tr_msgrules *rules = NULL;
	tlsrelay_cat cat;
	int rc;

	if ((rc = tr_cli_std(argc, argv, "tlsrelay-milter", synopsis)) >= 0)
		return rc;
	if (parse_args(argc, argv, &o) < 0)
		return exit_status(TLSRELAY_USAGE);
	to_stderr = o.foreground || o.check;
	if (!to_stderr)
		openlog("tlsrelay-milter", LOG_PID, LOG_MAIL);
	if ((cat = configure(&o, &cfg, &sock, &rules_path)) != TLSRELAY_OK)
		goto out;
	if ((rules = tr_msgrules_load(rules_path, &st)) == NULL) {
		logmsg(LOG_ERR, "%s", st.text);
		cat = st.cat;
		goto out;
	}
	if (o.check) {
		printf("%s: %zu rules, ok\n", rules_path, tr_msgrules_size(rules));
		goto out;
	}
	mc.rules = rules;
	if (drop_privileges(o.user) < 0) {
		cat = TLSRELAY_CONFIG;
		goto out;
	}
	cat = serve(&mc, sock);
out:
	tr_msgrules_free(rules);
	tr_config_free(&cfg);
	return exit_status(cat);
}

/*
 * transport.c - tlsrelay, the sendmail-compatible transport program: all of
 * it but main() (main.c), so that tlsrelayd (plugin/daemon) runs exactly
 * the same code in the process it forks for a delivery.
 *
 *   tlsrelay [-c CONFIG] [-o KEY=VALUE]... [-f SENDER] [-r NEXTHOP]
 *            [-N NOTIFY] [-R RET] [-V ENVID] [-D RCPT_DSN]... [-Q QUEUE_ID]
 *            [-P] [-v] [-i] [--] RECIPIENT...
 *   tlsrelay [-c CONFIG] [-o KEY=VALUE]... -q [--explain] DESTINATION
 *   tlsrelay [-c CONFIG] [-o KEY=VALUE]... -n | -d | -t [-u USER]
 *   tlsrelay --help | --version
 *
 * Only glue: arguments, configuration, one library call, the exit status.
 * The message comes on standard input. On failure the first line on
 * standard output is "X.Y.Z reason": Postfix pipe(8) takes the DSN from it.
 *
 * Decisions:
 * - Configuration problems (bad option, bad setting, unreadable file) print
 *   DSN 4.3.5 and exit 78 (EX_CONFIG): with Postfix the 4.x.x DSN defers
 *   the mail instead of bouncing it, so a typo does not bounce the queue;
 *   Exim reads the exit status only, so list 78 in its temp_errors. A bad
 *   command line (unknown option, missing argument, bad -o, no recipient,
 *   bad -r) is a configuration problem of the MTA's transport: 78 too.
 *   64 (EX_USAGE) is left for bad addresses and DSN values (5.x.x).
 * - A last-resort alarm (deadline + 15 s) exits 75 even if something in the
 *   library blocks; the library keeps its own deadline on every wait.
 * - -i (ignore dots) is accepted and ignored: a lone "." never ends input.
 * - -n prints the non-default settings (postconf -n), -d every setting;
 *   -t checks the configuration and the files it names, printing every
 *   problem as "file:line: reason" and exiting 78 if there is any (0 and
 *   "configuration OK" otherwise); warnings ("warning: ...", such as a
 *   dane level with a resolver not on loopback) are printed, not counted.
 *   None of them reads a message.
 * - No core dumps (tlsrelay_no_core_dumps): the process may hold SMTP
 *   AUTH passwords, which must not end up in a core file.
 * - File descriptors 0, 1 and 2 are made valid before anything is opened
 *   (a missing one on /dev/null): a closed one would be reused by the
 *   config file, the spool file or the socket, so that the message would be
 *   read from the spool file itself (an empty message sent, exit 0) or the
 *   output and -v log written into the SMTP connection. A closed standard
 *   input is then refused: 4.3.0, exit 75, nothing sent.
 * - -t -u USER (root only) runs the checks with USER's rights: its uid,
 *   gid and groups (initgroups), before the configuration is read, so
 *   every file is opened as a delivery run by that user would open it
 *   (the pipe's user=, _tlsrelay). Anyone else gets one line and exit
 *   78: switching users is root's. -u goes with -t only.
 * - syslog_name (tlsrelay.conf) is the name the delivery logs as (openlog
 *   ident), "tlsrelay" when unset: Postfix's habit for several instances.
 * - Every exit status is the library's one translation of the run's status
 *   (tlsrelay_status_exit_flags). -T (for sendmail, whose mailers may only
 *   exit 75, 74 or 71 to keep a message queued) is a flag of that
 *   translation: configuration errors exit 75 instead of 78, with the
 *   same 4.3.5 line. It is found before the options are parsed, so a bad
 *   command line is covered too. Postfix (which reads the DSN) and Exim
 *   (temp_errors lists 78) do not need it.
 * - -Q QUEUE_ID (Postfix pipe(8) ${queue_id}, Exim $message_exim_id,
 *   sendmail $i): every log line of the delivery starts with "QUEUE_ID: ",
 *   as Postfix's own lines do, so one grep follows a message through the
 *   MTA and tlsrelay; the TLS history records it. Letters, digits, '.',
 *   '_', '-' only (at most 63): anything else is the transport's
 *   configuration error (4.3.5, 78), never a guess.
 * - -q --explain DEST: tlsrelay-report explain (tlsrelay_report()).
 * - SIGXFSZ is ignored: a spool file over RLIMIT_FSIZE is then a write
 *   error (4.3.0, exit 75) instead of a killed process.
 * - -P (per recipient): after the delivery, one line per recipient on
 *   standard output, "rcpt INDEX CATEGORY DSN TEXT" (lib/rcpt_result.h;
 *   "ok+dsn" for a recipient whose server announced DSN: its dsn_aware),
 *   after the usual first line: for a client that has the delivery run by
 *   another process and maps each recipient's result itself (the Exim
 *   module through tlsrelayd, which serves it: it changes what is printed,
 *   nothing of the policy). A recipient the library left unset, or a
 *   failure of the whole request, gets the request's status
 *   (tr_rcpts_settle, the module's in-process rule). No line when the run
 *   ends before the delivery (command line, configuration, memory): the
 *   reader then takes the exit status.
 * - In a delivery process of tlsrelayd (warm given), which runs with the
 *   daemon's user and files for whoever can connect to its socket, only a
 *   delivery with the daemon's own configuration is run: -o, -t, -n, -d,
 *   -q, -r and a -c naming another file are not served
 *   (TR_EXIT_NOT_SERVED, decided on the parsed command line before
 *   anything is read, printed or applied; tlsrelayc then runs tlsrelay
 *   itself, as its caller). -r too: SASL credentials are looked up by the
 *   server's name, and a key without a port matches any port of that
 *   host, so a nexthop chosen by a socket client ([127.0.0.1]:PORT where
 *   it listens) could collect them. The file read is always the daemon's
 *   path, never the client's (a link it could change meanwhile).
 * - -D RCPT_DSN (per recipient DSN, RFC 3461): the DSN parameters of one
 *   recipient as on its RCPT line, "NOTIFY=value ORCPT=addr-type;xtext"
 *   (either or both, or "" for none), given once per recipient in the
 *   recipients' order, or not at all (then -N is every recipient's, as
 *   before). A recipient's NOTIFY overrides -N; without one it has -N's.
 *   All recipients stay in one transaction whatever their NOTIFY (Exim's
 *   per-address flags, the Exim module through tlsrelayd). Parsed by
 *   lib/dsn.h's tr_dsn_rcpt_params, the library's own rules: a bad value
 *   is 5.5.4 and exit 64, as a bad -N (the library's check), printed
 *   before any message is read; a -D count that is not the recipients'
 *   is the transport's command line, 4.3.5 and 78. tlsrelayd serves -D
 *   (it changes what is sent for DSN, nothing of the policy); its
 *   routing label skips -D's value (plugin/daemon/route.c).
 */
#include "config.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/stat.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include "tlsrelay.h"
#include "tlsrelay_internal.h"
#include "transport.h"
#include "../cli.h"

struct opts {
	const char *config;
	const char *query;            /* -q DEST: print the policy, send nothing */
	const char *explain;          /* -q --explain DEST: tlsrelay-report explain */
	const char *queue_id;         /* -Q ID: the MTA's queue ID for the log lines */
	int show;                     /* -n: 1 = non-default settings, -d: 2 = all */
	int check;                    /* -t: check the configuration */
	const char *user;             /* -t -u USER: check with USER's rights */
	const char *sender, *nexthop, *notify, *ret, *envid;
	const char *overrides[32];
	int noverrides;
	int verbose;
	int per_rcpt;                 /* -P: one result line per recipient */
	struct rcpt_dsn { const char *notify, *orcpt; } *dsn;  /* -D, argc slots */
	int ndsn;
	int dsn_bad;                  /* -D number (1..) of the first bad value */
	char dsn_why[TLSRELAY_TEXT_MAX];   /* and why */
};

struct logsink {
	int to_syslog, to_stderr;
};

static const char synopsis[] =
	"usage: tlsrelay [-c config] [-o key=value] [-f sender] [-r nexthop] "
	"[-N notify] [-R ret] [-V envid] [-D rcpt_dsn]... [-Q queue_id] [-P] [-v] [-i] [-T]\n"
	"                [--] recipient...\n"
	"       tlsrelay [-c config] [-o key=value] -q [--explain] destination\n"
	"       tlsrelay [-c config] [-o key=value] -n | -d | -t [-u user]\n"
	"       tlsrelay --help | --version";

/* The synopsis, after a command line error, for a person at a terminal
 * only: an MTA (pipe(8)) puts all the output into the DSN text, which must
 * stay the one line that names the problem. */
static void usage_line(void)
{
	if (!isatty(STDOUT_FILENO))
		return;
	printf("%s\n", synopsis);
}

static void log_line(void *arg, int priority, const char *line)
{
	const struct logsink *s = arg;

	if (s->to_syslog)
		syslog(priority, "%s", line);
	if (s->to_stderr)
		fprintf(stderr, "tlsrelay: %s\n", line);
}

/* Open /dev/null on each of fds 0-2 that is closed; *stdin_closed tells
 * whether fd 0 was. -1 if /dev/null cannot be opened. In tlsrelayd
 * (warm) there is nothing to check: request.c has just put the client's
 * three descriptors on 0-2 with dup2, which fails on a closed one, and
 * tlsrelayc sends nothing when one of its own is closed (three fcntl
 * calls per delivery less). */
static int std_fds(int *stdin_closed, const struct tr_warm *warm)
{
	*stdin_closed = 0;
	for (int fd = 0; fd <= 2 && warm == NULL; fd++) {
		int nfd;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (fd == 0)
			*stdin_closed = 1;
		/* The lowest free number is fd itself: the lower ones are open. */
		if ((nfd = open("/dev/null", O_RDWR)) != fd) {
			if (nfd >= 0)
				close(nfd);
			return -1;
		}
	}
	return 0;
}

/* The exit status of the last-resort alarm, computed before it is armed
 * (a signal handler calls nothing but async-signal-safe functions). */
static volatile sig_atomic_t alarm_exit;

static void on_alarm(int sig)
{
	static const char msg[] = "4.4.2 tlsrelay: delivery deadline exceeded\n";

	(void)sig;
	(void)!write(STDOUT_FILENO, msg, sizeof msg - 1);
	_exit(alarm_exit);
}

/* The signal dispositions of a delivery (SIGPIPE and SIGXFSZ ignored:
 * the library sees EPIPE and EFBIG; SIGALRM: on_alarm), then the alarm.
 * keep: tlsrelayd's delivery process, whose later runs find them set
 * (nothing else in the process changes them): three rt_sigaction calls a
 * delivery less. */
static void arm_alarm(const tlsrelay_ctx *ctx, int keep)
{
	static int set;

	if (!set) {
		tlsrelay_status temp = { .cat = TLSRELAY_TEMP };

		alarm_exit = tlsrelay_status_exit(&temp);
		signal(SIGPIPE, SIG_IGN);
		signal(SIGXFSZ, SIG_IGN);
		signal(SIGALRM, on_alarm);
		set = keep;
	}
	alarm((unsigned)tlsrelay_ctx_deadline(ctx) + 15);
}

/* Upper-case a DSN keyword list in place ("success,delay" -> "SUCCESS,DELAY"). */
static char *upcase(char *s)
{
	for (char *p = s; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return s;
}

/* The flags of the exit translation: -T anywhere before the recipients
 * (or "--") makes configuration errors exit 75, not 78. Looked for before
 * parsing, which may itself fail. */
static unsigned exit_flags(int argc, char **argv)
{
	for (int i = 1; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-T") == 0)
			return TLSRELAY_EXIT_CONFIG_TEMP;
	return 0;
}

/* -D VALUE, the next recipient's DSN parameters; the first bad one is
 * kept in o->dsn_bad (reported as a usage error after parsing). */
static void rcpt_dsn_arg(struct opts *o, char *value)
{
	struct rcpt_dsn *d = &o->dsn[o->ndsn++];
	tlsrelay_status st;

	if (tr_dsn_rcpt_params(value, &d->notify, &d->orcpt, &st) != TLSRELAY_OK && !o->dsn_bad) {
		o->dsn_bad = o->ndsn;
		snprintf(o->dsn_why, sizeof o->dsn_why, "%s", st.text);
	}
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof *o);
	if ((o->dsn = calloc((size_t)argc + 1, sizeof *o->dsn)) == NULL) {
		printf("4.3.0 tlsrelay: out of memory\n");
		return -1;
	}
	opterr = 0;
	/* glibc: 0 makes getopt start afresh, reading the "+" again (in
	 * tlsrelayd's child the daemon's own getopt has run before). */
	optind = 0;
	while ((c = getopt(argc, argv, "+c:f:r:N:R:V:D:o:q:Q:u:vindtTP")) != -1) {
		switch (c) {
		case 'n': o->show = 1; break;
		case 'd': o->show = 2; break;
		case 't': o->check = 1; break;
		case 'q': o->query = optarg; break;
		case 'u': o->user = optarg; break;
		case 'Q': o->queue_id = optarg; break;
		case 'c': o->config = optarg; break;
		case 'f': o->sender = optarg; break;
		case 'r': o->nexthop = optarg; break;
		case 'N': o->notify = upcase(optarg); break;
		case 'R': o->ret = upcase(optarg); break;
		case 'V': o->envid = optarg; break;
		case 'D': rcpt_dsn_arg(o, optarg); break;
		case 'v': o->verbose++; break;
		case 'i': break;
		case 'P': o->per_rcpt = 1; break;
		case 'T': break;          /* exit_flags() */
		case 'o':
			if (o->noverrides == (int)(sizeof o->overrides / sizeof o->overrides[0]) ||
			    strchr(optarg, '=') == NULL) {
				printf("4.3.5 tlsrelay: bad -o \"%s\": expected key=value "
				       "(at most 32 -o options)\n", optarg);
				return -1;
			}
			o->overrides[o->noverrides++] = optarg;
			break;
		default:
			printf("4.3.5 tlsrelay: unknown option -%c or missing argument\n", optopt);
			usage_line();
			return -1;
		}
	}
	if (o->user && !o->check) {
		printf("4.3.5 tlsrelay: -u goes with -t only (tlsrelay -t -u USER)\n");
		usage_line();
		return -1;
	}
	if (o->sender && strcmp(o->sender, "<>") == 0)
		o->sender = "";
	if (o->query && strcmp(o->query, "--explain") == 0) {   /* -q --explain DEST */
		if (optind >= argc) {
			printf("4.3.5 tlsrelay: -q --explain needs a destination\n");
			usage_line();
			return -1;
		}
		o->explain = argv[optind++];
		o->query = NULL;
		if (optind < argc) {
			printf("4.3.5 tlsrelay: -q --explain takes one destination\n");
			return -1;
		}
		return optind;
	}
	if (optind >= argc && o->query == NULL && o->explain == NULL && !o->show && !o->check) {
		printf("4.3.5 tlsrelay: no recipients given\n");
		usage_line();
		return -1;
	}
	return optind;
}

/* -t -u USER: become USER (uid, gid, groups) for the checks; root only.
 * Prints the reason. Returns: OK, CONFIG. */
static tlsrelay_cat become(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (pw == NULL) {
		printf("4.3.5 tlsrelay: -u %s: no such user\n", user);
		return TLSRELAY_CONFIG;
	}
	if (pw->pw_uid == geteuid() && pw->pw_uid == getuid())
		return TLSRELAY_OK;                 /* already that user */
	if (geteuid() != 0) {
		printf("4.3.5 tlsrelay: -u %s: only root can check as another user "
		       "(run tlsrelay -t as %s, or as root with -u)\n", user, user);
		return TLSRELAY_CONFIG;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		printf("4.3.5 tlsrelay: -u %s: cannot become that user: %s\n", user, strerror(errno));
		return TLSRELAY_CONFIG;
	}
	return TLSRELAY_OK;
}

/* Configuration file and -o overrides. Prints the error. Returns: OK,
 * CONFIG, INTERNAL. */
static tlsrelay_cat configure(tlsrelay_ctx *ctx, const struct opts *o)
{
	tlsrelay_status st;

	if (tlsrelay_ctx_configure(ctx, o->config, o->overrides, o->noverrides, &st) == TLSRELAY_OK)
		return TLSRELAY_OK;
	printf("%s tlsrelay: %s\n", st.dsn[0] ? st.dsn : "4.3.5", st.text);
	return st.cat;
}

static void print_line(void *arg, const char *line)
{
	(void)arg;
	printf("%s\n", line);
}

static void print_problem(void *arg, const char *line)
{
	printf("tlsrelay: %s\n", line);
	++*(int *)arg;
}

static void print_warning(void *arg, const char *line)
{
	(void)arg;
	printf("tlsrelay: %s\n", line);     /* "warning: ...": not counted */
}

/* -t: every problem of the configuration. Returns: OK, CONFIG. */
static tlsrelay_cat check_all(tlsrelay_ctx *ctx, const struct opts *o)
{
	const char *path = o->config ? o->config : tlsrelay_default_config_path();
	tlsrelay_status st;
	int n = 0;

	tlsrelay_ctx_check_config(ctx, path, o->config != NULL, print_problem, &n);
	for (int i = 0; i < o->noverrides; i++)
		if (tlsrelay_ctx_set_pair(ctx, o->overrides[i], &st) != TLSRELAY_OK)
			print_problem(&n, st.text);
	tlsrelay_ctx_check_files(ctx, print_problem, &n);
	tlsrelay_ctx_check_warnings(ctx, print_warning, NULL);
	tlsrelay_ctx_check_resolver(ctx, print_problem, print_warning, &n);
	if (n > 0) {
		printf("tlsrelay: %d problem%s found in %s%s%s\n", n, n == 1 ? "" : "s", path,
		       o->user ? " as user " : "", o->user ? o->user : "");
		return TLSRELAY_CONFIG;
	}
	printf("tlsrelay: configuration OK (%s%s%s)\n", path, o->user ? ", as user " : "",
	       o->user ? o->user : "");
	return TLSRELAY_OK;
}

/* -q DEST: the effective policy on standard output. *st: the query's
 * status (OK, USAGE, CONFIG, INTERNAL). */
static void query(tlsrelay_ctx *ctx, const char *dest, tlsrelay_status *st)
{
	char line[8192];

	if (tlsrelay_policy_describe(ctx, dest, line, sizeof line, st) != TLSRELAY_OK) {
		printf("%s tlsrelay: %s\n", st->dsn, st->text);
		return;
	}
	printf("%s\n", line);
}

/* -q --explain DEST: tlsrelay-report explain on standard output. *st:
 * its status (OK, USAGE, CONFIG, TEMP, INTERNAL). */
static void explain(tlsrelay_ctx *ctx, const char *dest, tlsrelay_status *st)
{
	if (tlsrelay_report(ctx, "explain", dest, 0, print_line, NULL, st) != TLSRELAY_OK)
		printf("%s tlsrelay: %s\n", st->dsn, st->text);
}

/* -P: each recipient's final status, one line each (rcpt_result.h). */
static void print_rcpts(tlsrelay_rcpt *rcpts, size_t n, const tlsrelay_status *st)
{
	char line[TR_RCPT_LINE_MAX];

	tr_rcpts_settle(rcpts, n, st);
	for (size_t i = 0; i < n; i++) {
		tr_rcpt_line_format(line, sizeof line, i, &rcpts[i].status, rcpts[i].dsn_aware);
		fputs(line, stdout);
	}
}

/* The delivery; *st its summary (tlsrelay_deliver), or why there was none:
 * INTERNAL (out of memory), TEMP (no standard input, spool failure). */
static void deliver(tlsrelay_ctx *ctx, const struct opts *o, int nrcpt, char **rcpt,
                    int stdin_closed, tlsrelay_status *st)
{
	tlsrelay_rcpt *rcpts = calloc((size_t)nrcpt, sizeof *rcpts);
	tlsrelay_request req = { o->sender ? o->sender : "", o->nexthop, o->notify,
	                         o->ret, o->envid, rcpts, (size_t)nrcpt };
	tlsrelay_message *msg;

	if (rcpts == NULL) {
		printf("4.3.0 tlsrelay: out of memory\n");
		st->cat = TLSRELAY_INTERNAL;
		return;
	}
	if (stdin_closed) {
		printf("4.3.0 tlsrelay: standard input is closed: no message to send\n");
		free(rcpts);
		st->cat = TLSRELAY_TEMP;
		return;
	}
	for (int i = 0; i < nrcpt; i++) {
		rcpts[i].addr = rcpt[i];
		if (o->ndsn > 0) {       /* -D: check_rcpt_dsn made it one each */
			rcpts[i].notify = o->dsn[i].notify;
			rcpts[i].orcpt = o->dsn[i].orcpt;
		}
	}
	tr_rcpts_unsettled(rcpts, (size_t)nrcpt);
	if ((msg = tlsrelay_message_spool(ctx, STDIN_FILENO, st)) != NULL) {
		/* Re-arm: the library's deadline starts now, after the input. */
		alarm((unsigned)tlsrelay_ctx_deadline(ctx) + 15);
		tlsrelay_deliver(ctx, &req, msg, st);
		tlsrelay_message_free(msg);
	}
	if (st->cat != TLSRELAY_OK)
		printf("%s %s\n", st->dsn[0] ? st->dsn : (st->cat == TLSRELAY_PERM ? "5.0.0" : "4.0.0"),
		       st->text);
	if (o->per_rcpt)
		print_rcpts(rcpts, (size_t)nrcpt, st);
	free(rcpts);
}

/* Whether path (relative: to cwd, NULL = ours) names the file config. */
static int same_file(const char *path, const char *cwd, const char *config)
{
	char full[PATH_MAX * 2 + 2];
	struct stat a, b;

	if (path[0] != '/' && cwd != NULL) {
		if ((size_t)snprintf(full, sizeof full, "%s/%s", cwd, path) >= sizeof full)
			return 0;
		path = full;
	}
	return stat(path, &a) == 0 && stat(config, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* tlsrelayd: NULL when the daemon runs this command line, else why not. */
static const char *not_served(const struct tr_warm *warm, const struct opts *o)
{
	const char *dflt = tlsrelay_default_config_path();

	if (o->noverrides > 0)
		return "-o given";
	if (o->check || o->show || o->query || o->explain)
		return o->check ? "-t given" : o->show == 1 ? "-n given" :
		       o->show ? "-d given" : "-q given";
	if (o->nexthop)
		return "-r given";
	if (o->config ? !same_file(o->config, warm->cwd, warm->config) :
	    strcmp(dflt, warm->config) != 0 && !same_file(dflt, NULL, warm->config))
		return "another configuration file than the daemon's";
	return NULL;
}

static tlsrelay_ctx *warm_ctx(const struct tr_warm *warm)
{
	return warm ? warm->ctx : NULL;
}

/* Done with ctx: freed, or (tlsrelayd's warm context, which serves the
 * next delivery too) left without this run's logger, whose argument is a
 * variable of run(). */
static void release(tlsrelay_ctx *ctx, const struct tr_warm *warm)
{
	if (ctx != warm_ctx(warm)) {
		tlsrelay_ctx_free(ctx);
	} else {
		tlsrelay_ctx_set_logger(ctx, NULL, NULL, 0);
		(void)tlsrelay_ctx_set_log_id(ctx, NULL, NULL);
	}
}

/* openlog with syslog_name (default "tlsrelay"). openlog keeps the
 * pointer: the name is copied to storage that outlives the context. */
static void open_syslog(tlsrelay_ctx *ctx)
{
	static char ident[TLSRELAY_SYSLOG_NAME_MAX + 1];

	snprintf(ident, sizeof ident, "%s", tlsrelay_ctx_syslog_name(ctx));
	openlog(ident, LOG_PID, LOG_MAIL);
}

/* What a context is for once configured: -n/-d, -q, -q --explain or the
 * delivery (logging to sink, which must outlive ctx's use). *st gets the
 * outcome. */
static void act(tlsrelay_ctx *ctx, const struct opts *o, int argc, char **argv,
                int stdin_closed, int in_daemon, struct logsink *sink, tlsrelay_status *st)
{
	if (o->show) {
		tlsrelay_config_show(ctx, o->show == 2, print_line, NULL);
		st->cat = TLSRELAY_OK;
		return;
	}
	if (o->query) {
		query(ctx, o->query, st);
		return;
	}
	if (o->explain) {
		explain(ctx, o->explain, st);
		return;
	}
	if (o->queue_id && tlsrelay_ctx_set_log_id(ctx, o->queue_id, st) != TLSRELAY_OK) {
		/* the MTA's transport configuration, as a bad command line: 78 */
		printf("%s tlsrelay: -Q: %s\n", st->dsn, st->text);
		st->cat = TLSRELAY_CONFIG;
		return;
	}
	sink->to_syslog = tlsrelay_ctx_use_syslog(ctx);
	sink->to_stderr = o->verbose > 0;
	if (sink->to_syslog)
		open_syslog(ctx);
	tlsrelay_ctx_set_logger(ctx, log_line, sink, o->verbose);
	arm_alarm(ctx, in_daemon);
	deliver(ctx, o, argc, argv, stdin_closed, st);
	fflush(stdout);
}

/* -D against the recipients (a delivery's only): OK; CONFIG 4.3.5 for a
 * count that is not theirs, USAGE 5.5.4 for a bad value. Prints why. */
static tlsrelay_cat check_rcpt_dsn(const struct opts *o, int nrcpt)
{
	if (o->ndsn == 0 || o->query || o->explain || o->show || o->check)
		return TLSRELAY_OK;
	if (o->ndsn != nrcpt) {
		printf("4.3.5 tlsrelay: -D given %d time%s for %d recipient%s: give it once per "
		       "recipient, in their order\n", o->ndsn, o->ndsn == 1 ? "" : "s", nrcpt,
		       nrcpt == 1 ? "" : "s");
		return TLSRELAY_CONFIG;
	}
	if (o->dsn_bad) {
		printf("5.5.4 tlsrelay: bad -D of recipient %d: %s\n", o->dsn_bad, o->dsn_why);
		return TLSRELAY_USAGE;
	}
	return TLSRELAY_OK;
}

/* The run (see run()) with the command line parsed into o; first is the
 * index of the first recipient. */
static int run_opts(int argc, char **argv, struct opts *o, int first, int stdin_closed,
                    struct tr_warm *warm, tlsrelay_status *st)
{
	struct logsink sink = { 0, 0 };
	tlsrelay_ctx *ctx;

	if (warm != NULL && (warm->not_served = not_served(warm, o)) != NULL)
		return TR_EXIT_NOT_SERVED;
	if ((st->cat = check_rcpt_dsn(o, argc - first)) != TLSRELAY_OK)
		return 0;
	if (warm != NULL && o->config != NULL)
		o->config = warm->config;    /* the same file, by the daemon's path */
	if (warm_ctx(warm) != NULL)
		ctx = warm->ctx;
	else if ((ctx = tlsrelay_ctx_new()) == NULL) {
		printf("4.3.0 tlsrelay: out of memory\n");
		st->cat = TLSRELAY_INTERNAL;
		return 0;
	}
	if (o->check)
		st->cat = o->user && become(o->user) != TLSRELAY_OK ? TLSRELAY_CONFIG : check_all(ctx, o);
	else if (ctx == warm_ctx(warm) || (st->cat = configure(ctx, o)) == TLSRELAY_OK)
		act(ctx, o, argc - first, argv + first, stdin_closed, warm != NULL, &sink, st);
	release(ctx, warm);
	return 0;
}

/* The run; its outcome in *st (category and, from the library, DSN).
 * Returns 0, or TR_EXIT_NOT_SERVED (nothing done). */
static int run(int argc, char **argv, struct tr_warm *warm, tlsrelay_status *st)
{
	struct opts o;
	int first, stdin_closed, rc = 0;

	st->cat = TLSRELAY_TEMP;    /* nowhere to print: 0-2 cannot be made valid */
	if (std_fds(&stdin_closed, warm) < 0)
		return 0;
	if (warm == NULL)             /* tlsrelayd did it once for its processes */
		(void)tlsrelay_no_core_dumps();
	/* A bad command line is the MTA's transport configuration (master.cf,
	 * an Exim transport): 78 like the other configuration errors, so that
	 * Exim (which reads only the exit status) defers too, as Postfix does
	 * on the 4.3.5 DSN. */
	st->cat = TLSRELAY_CONFIG;
	if ((first = parse_args(argc, argv, &o)) >= 0)
		rc = run_opts(argc, argv, &o, first, stdin_closed, warm, st);
	else if (o.dsn == NULL)
		st->cat = TLSRELAY_INTERNAL;     /* its "out of memory" */
	free(o.dsn);
	return rc;
}

int tr_transport_main(int argc, char **argv, struct tr_warm *warm)
{
	tlsrelay_status st = { .cat = TLSRELAY_TEMP };
	int rc;

	/* tlsrelayd's delivery processes run deliveries only: tlsrelayc
	 * answers --help and --version itself */
	if (warm == NULL && (rc = tr_cli_std(argc, argv, "tlsrelay", synopsis)) >= 0)
		return rc;
	if (run(argc, argv, warm, &st) == TR_EXIT_NOT_SERVED)
		return TR_EXIT_NOT_SERVED;
	return tlsrelay_status_exit_flags(&st, exit_flags(argc, argv));
}

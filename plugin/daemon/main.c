/*
 * main.c - tlsrelayd, the delivery daemon behind tlsrelayc.
 *
 *   tlsrelayd [-c CONFIG] [-s SOCKET] [-L LMTPSOCKET] [-u USER] [-m MODE]
 *             [-n MAXPROCS] [-r MAXUSE] [-i MAXIDLE] [-v]
 *
 * Reads the configuration once, prepares what every delivery needs (TLS
 * context, CA file, maps), listens on a unix socket and hands each
 * tlsrelayc request to a delivery process forked from that state, which
 * serves up to MAXUSE deliveries one after the other (serve.c, pool.c,
 * worker.c, request.c). It stays in the
 * foreground (systemd Type=simple) and logs to syslog (LOG_MAIL); start-up
 * errors go to standard error too, and with -v every line does, those of
 * the delivery processes included. tlsrelayd(8) has the details.
 *
 * Decisions:
 * - Started as root it needs -u: it becomes USER (its groups too) for
 *   good first, then makes the socket as USER (so owned by USER and its
 *   primary group) and reads the configuration. It never delivers as
 *   root. The socket is never touched as root: chmod/chown by path after
 *   bind() would follow a symbolic link that USER (who may write to the
 *   socket's directory) put there meanwhile, and fchmod on a socket
 *   descriptor does not change the file. Its mode comes from the umask
 *   at bind() (0777 & ~umask on Linux), set to ~MODE around the call. So
 *   the socket's directory must be writable by USER (the systemd unit's
 *   RuntimeDirectory is).
 * - -L: a second socket, for LMTP clients (Postfix's lmtp(8): lmtp.c),
 *   made exactly as the first one (after the privilege drop, same mode):
 *   the same access rule, the same deliveries.
 * - The socket's mode (default 0660) and directory are the access control:
 *   whoever can connect can have mail sent with this configuration (and
 *   its SASL passwords) - deliveries only: the daemon serves nothing else
 *   (no -o, -t, -n, -d, -q, -r, other -c: transport.c, request.c).
 * - A socket file left by a dead daemon is replaced; one a live daemon
 *   answers on is not (exit 75: already running).
 * - Usage and configuration errors exit 78, other start-up failures 75
 *   (CONFIG, TEMP and INTERNAL through the library's exit translation).
 * - No core dumps: the process holds SMTP AUTH passwords.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "daemon.h"
#include "../cli.h"

/* The exit status of cat: the library's one translation. */
static int exit_status(tlsrelay_cat cat)
{
	tlsrelay_status st = { .cat = cat };

	return tlsrelay_status_exit(&st);
}

/* Where trd_log copies its lines besides syslog: standard error while
 * starting (a start-up error is printed, not only logged), then with -v a
 * copy of it, which the delivery processes inherit (their own 0-2 are
 * /dev/null or a client's), so that their lines (refused requests) come
 * out there too; -1: nowhere. */
static int log_fd = STDERR_FILENO;

void trd_log(int priority, const char *fmt, ...)
{
	static const char prefix[] = "tlsrelayd: ";
	char line[1024];
	size_t len = sizeof prefix - 1;
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsyslog(priority, fmt, ap);
	va_end(ap);
	if (log_fd < 0)
		return;
	memcpy(line, prefix, len);
	va_start(ap, fmt);
	n = vsnprintf(line + len, sizeof line - len - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	len += (size_t)n < sizeof line - len - 1 ? (size_t)n : sizeof line - len - 2;
	line[len++] = '\n';
	(void)!write(log_fd, line, len);   /* one write: lines of several processes do not mix */
}

void trd_lib_log(void *arg, int priority, const char *line)
{
	(void)arg;
	trd_log(priority, "%s", line);
}

static const char synopsis[] =
	"usage: tlsrelayd [-c config] [-s socket] [-L lmtpsocket] [-u user] [-m mode]"
	" [-n maxprocs] [-r maxuse] [-i maxidle] [-v]\n"
	"       tlsrelayd --help | --version";

/* A bad command line (the service's configuration). Returns: CONFIG. */
static tlsrelay_cat usage(const char *why)
{
	fprintf(stderr, "tlsrelayd: %s\n%s\n", why, synopsis);
	return TLSRELAY_CONFIG;
}

/* Returns: OK, CONFIG (printed). */
static tlsrelay_cat parse_args(int argc, char **argv, struct trd_options *o)
{
	char *end;
	long v;
	int c;

	o->config = tlsrelay_default_config_path();
	o->socket = RUNSTATEDIR "/tlsrelay/tlsrelayd.sock";
	o->mode = 0660;
	o->max_procs = 100;
	o->max_use = 100;
	o->max_idle = 60;
	opterr = 0;
	while ((c = getopt(argc, argv, "c:s:L:u:m:n:r:i:v")) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 's': o->socket = optarg; break;
		case 'L': o->lmtp = optarg; break;
		case 'u': o->user = optarg; break;
		case 'v': o->verbose = 1; break;
		case 'm':
			v = strtol(optarg, &end, 8);
			if (*optarg == '\0' || *end || v < 0 || v > 0777)
				return usage("-m takes an octal mode (0600..0777)");
			o->mode = (unsigned)v;
			break;
		case 'n':
		case 'r':
		case 'i':
			v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || v < 1 ||
			    v > (c == 'i' ? 86400 : c == 'r' ? 100000 : 1000))
				return usage(c == 'n' ? "-n takes a number of processes, 1..1000" :
				             c == 'r' ? "-r takes a number of deliveries, 1..100000" :
				             "-i takes seconds, 1..86400");
			*(c == 'n' ? &o->max_procs : c == 'r' ? &o->max_use : &o->max_idle) = (int)v;
			break;
		default:
			return usage("unknown option or missing argument");
		}
	}
	if (optind != argc)
		return usage("unexpected argument");
	if (o->lmtp && strcmp(o->lmtp, o->socket) == 0)
		return usage("-L and -s name the same socket");
	return TLSRELAY_OK;
}

/* A socket file that no daemon answers on is removed; 0, or -1 if one does. */
static int clear_stale(const struct sockaddr_un *sa)
{
	struct stat sb;
	int s;

	if (lstat(sa->sun_path, &sb) < 0 || !S_ISSOCK(sb.st_mode))
		return 0;
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	if (connect(s, (const struct sockaddr *)sa, sizeof *sa) == 0) {
		close(s);
		return -1;
	}
	close(s);
	(void)unlink(sa->sun_path);
	return 0;
}

/* The socket, made by the current user: mode o->mode (umask), owner and
 * group the process's; no call by its path after bind(). */
static int listen_on(const struct trd_options *o, const char *path)
{
	struct sockaddr_un sa;
	mode_t old;
	int s, rc = -1;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa.sun_path) {
		trd_log(LOG_ERR, "socket path too long: %s", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	if (clear_stale(&sa) < 0) {
		trd_log(LOG_ERR, "another tlsrelayd answers on %s", path);
		return -1;
	}
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) >= 0) {
		old = umask(~o->mode & 0777);
		rc = bind(s, (struct sockaddr *)&sa, sizeof sa);
		umask(old);
	}
	if (rc < 0 || listen(s, 128) < 0) {
		trd_log(LOG_ERR, "cannot listen on %s: %s", path, strerror(errno));
		if (s >= 0)
			close(s);
		return -1;
	}
	return s;
}

static int become(const struct passwd *pw)
{
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0 || setuid(0) == 0) {
		trd_log(LOG_ERR, "cannot become user %s: %s", pw->pw_name, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct trd_options o;
	struct passwd *pw = NULL;
	tlsrelay_cat cat;
	int lfd, lmfd = -1, rc;

	if ((rc = tr_cli_std(argc, argv, "tlsrelayd", synopsis)) >= 0)
		return rc;
	memset(&o, 0, sizeof o);
	if ((cat = parse_args(argc, argv, &o)) != TLSRELAY_OK)
		return exit_status(cat);
	openlog("tlsrelayd", LOG_PID, LOG_MAIL);
	(void)tlsrelay_no_core_dumps();   /* workers hold the password map */
	if (o.user && (pw = getpwnam(o.user)) == NULL) {
		trd_log(LOG_ERR, "unknown user %s", o.user);
		return exit_status(TLSRELAY_CONFIG);
	}
	if (geteuid() == 0 && (pw == NULL || pw->pw_uid == 0)) {
		trd_log(LOG_ERR, "will not deliver as root: give -u USER");
		return exit_status(TLSRELAY_CONFIG);
	}
	if (geteuid() != 0 && pw && pw->pw_uid != geteuid()) {
		trd_log(LOG_ERR, "-u %s: only root can change user", o.user);
		return exit_status(TLSRELAY_CONFIG);
	}
	if (geteuid() == 0 && become(pw) < 0)
		return exit_status(TLSRELAY_TEMP);
	if ((lfd = listen_on(&o, o.socket)) < 0)
		return exit_status(TLSRELAY_TEMP);
	if (o.lmtp && (lmfd = listen_on(&o, o.lmtp)) < 0) {
		close(lfd);
		(void)unlink(o.socket);
		return exit_status(TLSRELAY_TEMP);
	}
	log_fd = o.verbose ? fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3) : -1;
	return exit_status(trd_serve(&o, lfd, lmfd));
}

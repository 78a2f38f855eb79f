/*
 * pool.c - tlsrelayd's delivery processes: started on demand (forked from
 * the warm context), handed one client at a time, retired.
 *
 * Decisions (tlsrelayd(8)):
 * - A process serves up to max_use deliveries (-r, default 100, Postfix's
 *   max_use), one at a time, then is retired; one idle for max_idle
 *   seconds (-i, default 60) too. Between its deliveries a process keeps
 *   nothing of them but freed memory, as a Postfix smtp(8) process does.
 * - When the warm context is remade (a file changed, SIGHUP), idle
 *   processes of the old generation are retired at once and busy ones
 *   after their delivery: a delivery never starts with stale settings.
 * - A request the daemon does not serve (proto.h) is answered
 *   TRD_REPLY_NOT_SERVED; the process goes on serving.
 * - The reply to the client is the daemon's: the worker's status, or
 *   4.3.0 / 75 with a line when the process died during the delivery (a
 *   non-zero status it exited with, such as the transport's last-resort
 *   alarm's 75, is passed on as it is: that path printed its own line;
 *   0 without a report is never taken for a success).
 */
#include "config.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "daemon.h"
#include "fdpass.h"
#include "proto.h"

static void reply(int conn, const char *line)
{
	(void)!send(conn, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* The forked side: nothing of the daemon but the warm context. conn is
 * the client about to be handed over (through ctl, like every later one):
 * its descriptor is closed here too, or the process would hold that
 * connection open for as long as it lives. */
static void child(struct trd_server *srv, int ctl, int conn)
{
	int sigs[] = { SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGPIPE };

	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		signal(sigs[i], SIG_DFL);
	if (srv->lfd >= 0)
		close(srv->lfd);
	if (srv->mfd >= 0)
		close(srv->mfd);
	close(srv->sigfd[0]);
	close(srv->sigfd[1]);
	for (int i = 0; i < srv->nw; i++) {
		if (srv->w[i].ctl >= 0)
			close(srv->w[i].ctl);
		if (srv->w[i].conn >= 0)
			close(srv->w[i].conn);
	}
	close(conn);
	closelog();
	trd_worker_run(ctl, srv->warm, srv->opt->config);
}

static struct trd_worker *spawn(struct trd_server *srv, int conn)
{
	struct trd_worker *w;
	int sv[2];
	pid_t pid;

	if (srv->nw >= srv->opt->max_procs)
		return NULL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		trd_log(LOG_ERR, "socketpair: %s", strerror(errno));
		return NULL;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		trd_log(LOG_ERR, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return NULL;
	}
	if (pid == 0) {
		close(sv[0]);
		child(srv, sv[1], conn);
	}
	close(sv[1]);
	w = &srv->w[srv->nw++];
	memset(w, 0, sizeof *w);
	w->pid = pid;
	w->ctl = sv[0];
	w->conn = -1;
	w->gen = srv->gen;
	w->idle_since = time(NULL);
	return w;
}

static int send_conn(int ctl, int conn)
{
	return trd_send_fds(ctl, "c", 1, &conn, 1) == 1 ? 0 : -1;
}

static int idle(const struct trd_worker *w)
{
	return w->ctl >= 0 && w->conn < 0 && !w->dead;
}

int trd_pool_can_take(const struct trd_server *srv)
{
	for (int i = 0; i < srv->nw; i++)
		if (idle(&srv->w[i]) && srv->w[i].gen == srv->gen)
			return 1;
	return srv->nw < srv->opt->max_procs;
}

void trd_pool_dispatch(struct trd_server *srv, int conn)
{
	struct trd_worker *w = NULL;

	for (int i = 0; i < srv->nw && w == NULL; i++)
		if (idle(&srv->w[i]) && srv->w[i].gen == srv->gen)
			w = &srv->w[i];
	if (w == NULL)
		w = spawn(srv, conn);
	if (w == NULL || send_conn(w->ctl, conn) < 0) {
		if (w)
			trd_log(LOG_ERR, "cannot hand a client to process %ld: %s", (long)w->pid,
			        strerror(errno));
		else
			trd_log(LOG_ERR, "no delivery process for a client (%d of at most %d)",
			        srv->nw, srv->opt->max_procs);
		reply(conn, "75 4.3.0 tlsrelayd: no delivery process available\n");
		close(conn);
		return;
	}
	w->conn = conn;
	w->uses++;
}

void trd_pool_retire(struct trd_worker *w)
{
	if (w->ctl >= 0)
		close(w->ctl);
	w->ctl = -1;
}

/* The reply for a delivery that ended with status (an int the worker
 * wrote: an exit status; or from waitpid when it died). */
static void answer(struct trd_worker *w, int rc, int died, int status)
{
	char line[TRD_REPLY_MAX];

	if (!died && rc == TRD_EXIT_BAD_REQUEST)
		snprintf(line, sizeof line, "75 4.3.0 tlsrelayd: request refused (see the mail log)\n");
	else if (!died && rc == TRD_EXIT_NOT_SERVED)
		snprintf(line, sizeof line, TRD_REPLY_NOT_SERVED "\n");
	else if (!died)
		snprintf(line, sizeof line, "%d\n", rc & 0xff);
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		snprintf(line, sizeof line, "%d\n", WEXITSTATUS(status));
	else if (w->stopped)
		snprintf(line, sizeof line, "75\n");
	else if (WIFEXITED(status))
		snprintf(line, sizeof line, "75 4.3.0 tlsrelayd: delivery process ended without a result\n");
	else {
		snprintf(line, sizeof line, "75 4.3.0 tlsrelayd: delivery process ended by signal %d\n",
		         WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		trd_log(LOG_ERR, "delivery process %ld ended by signal %d during a delivery",
		        (long)w->pid, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	}
	reply(w->conn, line);
	close(w->conn);
	w->conn = -1;
	w->stopped = 0;
}

void trd_pool_done(struct trd_server *srv, struct trd_worker *w)
{
	int rc;
	ssize_t n = read(w->ctl, &rc, sizeof rc);

	if (n != (ssize_t)sizeof rc) {
		if (n < 0 && errno == EINTR)
			return;
		w->dead = 1;    /* ended: SIGCHLD will tell how */
		return;
	}
	if (w->conn < 0)
		return;         /* a status without a delivery: ignore */
	answer(w, rc, 0, 0);
	w->idle_since = time(NULL);
	if (w->uses >= srv->opt->max_use || w->gen != srv->gen || srv->lfd < 0)
		trd_pool_retire(w);
}

void trd_pool_reaped(struct trd_server *srv, pid_t pid, int status)
{
	for (int i = 0; i < srv->nw; i++) {
		struct trd_worker *w = &srv->w[i];

		if (w->pid != pid)
			continue;
		if (w->conn >= 0)
			answer(w, 0, 1, status);
		if (w->ctl >= 0)
			close(w->ctl);
		srv->w[i] = srv->w[--srv->nw];
		return;
	}
}

/* Idle too long, of an old generation, or the daemon stopping: retire. */
void trd_pool_expire(struct trd_server *srv, time_t now)
{
	for (int i = 0; i < srv->nw; i++) {
		struct trd_worker *w = &srv->w[i];

		if (idle(w) && (w->gen != srv->gen || srv->lfd < 0 ||
		                now - w->idle_since >= srv->opt->max_idle))
			trd_pool_retire(w);
	}
}

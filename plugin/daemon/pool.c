/*
 * pool.c - tlsrelayd's delivery processes: started on demand (forked from
 * the warm context), handed one client at a time, retired.
 *
 * Decisions (tlsrelayd(8)):
 * - A process serves up to max_use deliveries (-r, default 100, Postfix's
 *   max_use), one at a time, then is retired; one idle for max_idle
 *   seconds (-i, default 60) too. Between its deliveries a process keeps
 *   nothing of them but freed memory and at most one idle SMTP connection
 *   (lib/conn_cache.h), as a Postfix smtp(8) process with its connection
 *   cache does.
 * - Routing (issue 16): a client goes to an idle process whose idle
 *   connection has the request's label (route.c: its nexthop); else to an
 *   idle process without one; else a new process is started (below -n), so
 *   that the connections to other nexthops stay; else to any idle process
 *   (its connection is replaced if the new one ends clean). A request
 *   without a label goes to an idle process without a connection first.
 *   The message moves to the connection, not the connection to the
 *   message: TLS state cannot leave the process that made it (see
 *   lib/conn_cache.c). Each process tells its label after each delivery
 *   and when its idle connection goes (TRD_REPORT_*): the daemon's view
 *   may be a moment late, which costs at most a new connection.
 * - When the warm context is remade (a file changed, SIGHUP), idle
 *   processes of the old generation are retired at once and busy ones
 *   after their delivery: a delivery never starts with stale settings.
 * - A request the daemon does not serve (trd_proto.h) is answered
 *   TRD_REPLY_NOT_SERVED; the process goes on serving.
 * - The result goes to the client from the delivery process itself
 *   (worker.c), so that it arrives when the daemon was killed or restarted
 *   meanwhile. The daemon replies only when the process did not: 4.3.0 /
 *   75 with a line when the process died during the delivery (a non-zero
 *   status it exited with, such as the transport's last-resort alarm's 75,
 *   is passed on as it is: that path printed its own line; 0 without a
 *   report is never taken for a success), or when no process could take
 *   the client. Its copy of the client's connection is only for noticing
 *   that the client went away.
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
#include "tlsrelay_internal.h"
#include "daemon.h"

static unsigned long idle_seq;     /* order in which processes became idle */

static void reply(int conn, const char *line)
{
	(void)!send(conn, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
}

int trd_temp_exit(void)
{
	tlsrelay_status st = { .cat = TLSRELAY_TEMP };

	return tlsrelay_status_exit(&st);
}

/* The forked side: nothing of the daemon but the warm context. conn is
 * the client about to be handed over (through ctl, like every later one):
 * its descriptor is closed here too, or the process would hold that
 * connection open for as long as it lives; so are those of the other
 * clients, served or waiting to be routed. */
static void child(struct trd_server *srv, int ctl, int conn)
{
	int sigs[] = { SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGPIPE };

	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		signal(sigs[i], SIG_DFL);
	if (srv->lfd >= 0)
		close(srv->lfd);
	if (srv->lmfd >= 0)
		close(srv->lmfd);
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
	for (int i = 0; i < srv->npend; i++)
		close(srv->pend[i].conn);     /* clients waiting to be routed */
	close(conn);
	closelog();
	trd_worker_run(ctl, srv->warm, srv->opt->config, srv->opt->max_use);
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
	w->label[0] = '\0';
	return w;
}

/* The byte says what the client is: "c" tlsrelayc, "l" LMTP. */
static int send_conn(int ctl, int conn, int lmtp)
{
	return trd_send_fds(ctl, lmtp ? "l" : "c", 1, &conn, 1) == 1 ? 0 : -1;
}

static int idle(const struct trd_worker *w)
{
	return w->ctl >= 0 && w->conn < 0 && !w->dead;
}

/* A process could take one more client than those waiting for their
 * routing label (serve.c). */
int trd_pool_can_take(const struct trd_server *srv)
{
	int free = srv->opt->max_procs - srv->nw;

	for (int i = 0; i < srv->nw; i++)
		if (idle(&srv->w[i]) && srv->w[i].gen == srv->gen)
			free++;
	return free > srv->npend;
}

/* The idle process of the current generation that serves label best:
 * rank 3 its idle connection has the label, 2 it has none, 1 another one
 * (0: not idle). A tie goes to the one that became idle last: the same
 * connections and processes stay busy, the others reach their idle limits
 * (connection_cache_time_limit, -i) and go. */
static int rank(const struct trd_server *srv, const struct trd_worker *w, const char *label)
{
	if (!idle(w) || w->gen != srv->gen)
		return 0;
	if (w->label[0] == '\0')
		return 2;
	return label[0] != '\0' && strcmp(w->label, label) == 0 ? 3 : 1;
}

static struct trd_worker *choose(struct trd_server *srv, const char *label)
{
	struct trd_worker *best = NULL;
	int best_rank = 0;

	for (int i = 0; i < srv->nw; i++) {
		struct trd_worker *w = &srv->w[i];
		int r = rank(srv, w, label);

		if (r > best_rank || (r == best_rank && r > 0 && w->idle_seq > best->idle_seq)) {
			best = w;
			best_rank = r;
		}
	}
	/* A labelled request does not take another nexthop's connection while
	 * a new process may be started. */
	if (best_rank == 1 && label[0] != '\0' && srv->nw < srv->opt->max_procs)
		return NULL;
	return best;
}

void trd_pool_dispatch(struct trd_server *srv, int conn, const char *label, int lmtp)
{
	struct trd_worker *w = choose(srv, label);

	if (w == NULL)
		w = spawn(srv, conn);
	if (w == NULL || send_conn(w->ctl, conn, lmtp) < 0) {
		if (w)
			trd_log(LOG_ERR, "cannot hand a client to process %ld: %s", (long)w->pid,
			        strerror(errno));
		else
			trd_log(LOG_ERR, "no delivery process for a client (%d of at most %d)",
			        srv->nw, srv->opt->max_procs);
		char line[TRD_REPLY_MAX];

		if (lmtp)
			snprintf(line, sizeof line, "421 4.3.0 tlsrelayd: no delivery process available%s", "\r\n");
		else
			snprintf(line, sizeof line, "%d 4.3.0 tlsrelayd: no delivery process available\n",
			         trd_temp_exit());
		reply(conn, line);
		close(conn);
		return;
	}
	w->conn = conn;
	w->lmtp = lmtp;
	w->uses++;
}

void trd_pool_retire(struct trd_worker *w)
{
	if (w->ctl >= 0)
		close(w->ctl);
	w->ctl = -1;
}

/* The process died during a delivery (waitpid's status): the reply it
 * could not write. */
static void answer_death(struct trd_worker *w, int status)
{
	char line[TRD_REPLY_MAX];

	if (w->lmtp) {
		/* no reply of ours: the LMTP client sees the connection end
		 * before its replies and defers (lmtp.c) */
		if (WIFSIGNALED(status))
			trd_log(LOG_ERR, "delivery process %ld ended by signal %d during an LMTP session",
			        (long)w->pid, WTERMSIG(status));
		close(w->conn);
		w->conn = -1;
		w->stopped = 0;
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		snprintf(line, sizeof line, "%d\n", WEXITSTATUS(status));
	else if (w->stopped)
		snprintf(line, sizeof line, "%d\n", trd_temp_exit());
	else if (WIFEXITED(status))
		snprintf(line, sizeof line, "%d 4.3.0 tlsrelayd: delivery process ended without a result\n",
		         trd_temp_exit());
	else {
		snprintf(line, sizeof line, "%d 4.3.0 tlsrelayd: delivery process ended by signal %d\n",
		         trd_temp_exit(), WIFSIGNALED(status) ? WTERMSIG(status) : 0);
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
	struct trd_report r;
	ssize_t n = read(w->ctl, &r, sizeof r);

	if (n != (ssize_t)sizeof r) {
		if (n < 0 && errno == EINTR)
			return;
		w->dead = 1;    /* ended: SIGCHLD will tell how */
		return;
	}
	r.label[sizeof r.label - 1] = '\0';
	memcpy(w->label, r.label, sizeof w->label);
	if (r.kind != TRD_REPORT_DONE || w->conn < 0)
		return;         /* the idle connection changed; or a stray report */
	close(w->conn);     /* the process has replied */
	w->conn = -1;
	if (r.uses > w->uses)
		w->uses = r.uses;
	w->stopped = 0;
	w->idle_since = time(NULL);
	w->idle_seq = ++idle_seq;
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
			answer_death(w, status);
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

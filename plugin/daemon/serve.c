/*
 * serve.c - tlsrelayd's loop: accept a client, hand it to a delivery
 * process (pool.c) forked from the warm context, reply with the exit
 * status of its delivery.
 *
 * The warm context is the configuration file read and prepared once
 * (tlsrelay_ctx_prepare: SSL_CTX, CA file, maps). Before each fork it is
 * checked (tlsrelay_ctx_changed: a few stat calls) and made afresh when a
 * file it came from changed; SIGHUP remakes it too. When it cannot be made
 * (a configuration error), deliveries run without it, so each reads the
 * configuration itself and reports the error to its MTA exactly as
 * tlsrelay does; another attempt is made at most every TRD_RETRY seconds.
 *
 * Routing (issue 16): a client just accepted is handed over once its
 * request's first bytes tell its routing label (route.c), so that it
 * reaches the process holding an idle connection for its nexthop
 * (pool.c). Until then it waits in a list of its own, polled with the
 * rest, for at most TRD_ROUTE_WAIT_MS; then it goes without a label.
 * Clients are accepted only while a process could take them, counting
 * those waiting in the list.
 *
 * Decisions:
 * - The client's end of the connection closing before the reply (the MTA
 *   killed it on its time limit) stops the delivery process (SIGTERM):
 *   the MTA already counts that delivery as failed and will retry.
 * - At most max_procs delivery processes; while all are busy further
 *   clients wait in the listen queue (the MTA's own process limit
 *   usually comes first).
 * - SIGTERM/SIGINT: stop accepting, remove the socket, wait for the
 *   running deliveries (each bounded by its deadline), then exit 0.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "tlsrelay_internal.h"
#include "daemon.h"

#define TRD_RETRY 5
#define TRD_TICK 5      /* seconds between checks for idle processes */
#define TRD_ROUTE_WAIT_MS 200   /* for a request's first bytes */

static int *sigpipe_fds;   /* the server's self-pipe, for the handler */
static volatile sig_atomic_t got_chld, got_hup, got_term;

static void on_signal(int sig)
{
	int e = errno;

	if (sig == SIGCHLD)
		got_chld = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
	(void)!write(sigpipe_fds[1], "", 1);
	errno = e;
}

static int signals_setup(struct trd_server *srv)
{
	struct sigaction sa;
	int sigs[] = { SIGCHLD, SIGHUP, SIGTERM, SIGINT };

	sigpipe_fds = srv->sigfd;
	if (pipe2(srv->sigfd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* (Re)make the warm context from the configuration file. */
static void warm_make(struct trd_server *srv, const char *why)
{
	tlsrelay_ctx *ctx = tlsrelay_ctx_new();
	tlsrelay_status st;

	/* A new generation whenever the processes' context changes, also when
	 * the new one cannot be made: those forked from the old context must
	 * not serve another delivery (with a broken file each delivery reads
	 * it and reports the error, as tlsrelay does, instead of using the
	 * old settings). A failed retry with none before changes nothing. */
	if (srv->warm != NULL)
		srv->gen++;
	tlsrelay_ctx_free(srv->warm);
	srv->warm = NULL;
	srv->warm_tried = time(NULL);
	if (ctx == NULL) {
		trd_log(LOG_ERR, "out of memory preparing the configuration");
		return;
	}
	if (tlsrelay_ctx_configure(ctx, srv->opt->config, NULL, 0, &st) != TLSRELAY_OK ||
	    tlsrelay_ctx_prepare(ctx, &st) != TLSRELAY_OK) {
		trd_log(LOG_ERR, "%s: %s (each delivery reads the configuration itself until it is fixed)",
		        srv->opt->config, st.text);
		tlsrelay_ctx_free(ctx);
		return;
	}
	srv->warm = ctx;
	srv->gen++;
	trd_log(LOG_INFO, "configuration %s %s", srv->opt->config, why);
}

static void warm_check(struct trd_server *srv)
{
	const char *changed;

	if (got_hup) {
		got_hup = 0;
		warm_make(srv, "reloaded (SIGHUP)");
	} else if (srv->warm && (changed = tlsrelay_ctx_changed(srv->warm)) != NULL) {
		char why[96];
		snprintf(why, sizeof why, "reloaded (%s changed)", changed);
		warm_make(srv, why);
	} else if (srv->warm == NULL && time(NULL) - srv->warm_tried >= TRD_RETRY) {
		warm_make(srv, "loaded");
	}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Hand the client over when its routing label is known (or final: when
 * waiting is over); 1 when it was handed over. */
static int route(struct trd_server *srv, int conn, int final)
{
	char label[TRD_LABEL_MAX];

	if (!trd_route_label(conn, srv->warm, final, label, sizeof label))
		return 0;
	trd_pool_dispatch(srv, conn, label, 0);
	return 1;
}

/* The configuration is checked before the client is taken: when it
 * changed, the processes of the old generation are retired, and with all
 * max_procs slots theirs until they are reaped the client waits in the
 * listen queue (taken once a slot is free) instead of being refused. */
/* A client of the listening socket fd, once a process could take it: the
 * configuration checked and the old generation out first. -1: none now
 * (what says why: "" or " (LMTP)"). */
static int accept_client(struct trd_server *srv, int fd, const char *what)
{
	int conn;

	warm_check(srv);
	trd_pool_expire(srv, time(NULL));   /* old generation out first */
	if (!trd_pool_can_take(srv))
		return -1;
	if ((conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) < 0 &&
	    errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
		trd_log(LOG_ERR, "accept%s: %s", what, strerror(errno));
	return conn;
}

static void accept_one(struct trd_server *srv)
{
	int conn = accept_client(srv, srv->lfd, "");

	if (conn < 0)
		return;
	if (route(srv, conn, 0))
		return;
	srv->pend[srv->npend++] = (struct trd_pending){ conn, now_ms() + TRD_ROUTE_WAIT_MS };
}

/* An LMTP client (-L): handed over at once, to the process that holds a
 * connection for the relayhost when there is one (the recipients come
 * later, in the session; without a relayhost the label is "", an idle
 * process without a connection first). */
static void accept_lmtp(struct trd_server *srv)
{
	char label[TRD_LABEL_MAX] = "";
	int conn = accept_client(srv, srv->lmfd, " (LMTP)");

	if (conn < 0)
		return;
	if (srv->warm)
		tr_conn_route_label(srv->warm, "postmaster", label, sizeof label);
	trd_pool_dispatch(srv, conn, label, 1);
}

/* The waiting clients whose first bytes came (readable) or whose time is
 * up are handed over. */
static void route_pending(struct trd_server *srv, const struct pollfd *pfd)
{
	long long now = now_ms();

	for (int i = 0; i < srv->npend; ) {
		struct trd_pending *p = &srv->pend[i];

		if ((pfd[i].fd == p->conn && pfd[i].revents) || now >= p->until_ms ||
		    srv->lfd < 0) {
			if (route(srv, p->conn, now >= p->until_ms || srv->lfd < 0)) {
				*p = srv->pend[--srv->npend];
				continue;
			}
		}
		i++;
	}
}

static void reap(struct trd_server *srv)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		trd_pool_reaped(srv, pid, status);
}

static void drain_signals(const struct trd_server *srv)
{
	char buf[64];

	while (read(srv->sigfd[0], buf, sizeof buf) > 0)
		;
}

/* Poll slots: the waiting clients (their first bytes), per process its
 * control socket and its client's connection (fd -1 where there is none:
 * poll skips it), then the signal pipe, the listening socket, the metrics
 * listener. */
static int wait_events(struct trd_server *srv, struct pollfd *pfd)
{
	int n = 0, accepting = srv->lfd >= 0 && trd_pool_can_take(srv), timeout = TRD_TICK * 1000;
	long long now = now_ms();

	for (int i = 0; i < srv->npend; i++) {
		long long left = srv->pend[i].until_ms - now;

		pfd[n++] = (struct pollfd){ srv->pend[i].conn, POLLIN, 0 };
		if (left < timeout)
			timeout = left < 0 ? 0 : (int)left;
	}
	for (int i = 0; i < srv->nw; i++) {
		const struct trd_worker *w = &srv->w[i];

		pfd[n++] = (struct pollfd){ w->dead ? -1 : w->ctl, POLLIN, 0 };
		/* an LMTP client's end is the process's to see (lmtp.c): its
		 * session outlives each delivery, and the process's kept SMTP
		 * connection is worth more than a SIGTERM */
		pfd[n++] = (struct pollfd){ w->stopped || w->lmtp ? -1 : w->conn, POLLRDHUP, 0 };
	}
	pfd[n++] = (struct pollfd){ srv->sigfd[0], POLLIN, 0 };
	pfd[n++] = (struct pollfd){ accepting ? srv->lfd : -1, POLLIN, 0 };
	pfd[n++] = (struct pollfd){ srv->lfd >= 0 ? srv->mfd : -1, POLLIN, 0 };
	pfd[n++] = (struct pollfd){ accepting ? srv->lmfd : -1, POLLIN, 0 };
	return poll(pfd, (nfds_t)n, timeout);
}

static void step(struct trd_server *srv, struct pollfd *pfd)
{
	int nw = srv->nw, np = srv->npend;
	struct pollfd *wp = pfd + np;

	for (int i = 0; i < nw; i++) {
		struct trd_worker *w = &srv->w[i];

		if (wp[2 * i].revents)
			trd_pool_done(srv, w);
		if ((wp[2 * i + 1].revents & (POLLRDHUP | POLLHUP | POLLERR)) && w->conn >= 0 &&
		    !w->stopped) {
			trd_log(LOG_WARNING, "the client of delivery process %ld went away: stopping it",
			        (long)w->pid);
			kill(w->pid, SIGTERM);
			w->stopped = 1;
		}
	}
	if (wp[2 * nw].revents & POLLIN)
		drain_signals(srv);
	if (got_chld) {
		got_chld = 0;
		reap(srv);
	}
	route_pending(srv, pfd);
	if ((wp[2 * nw + 1].revents & POLLIN) && !got_term)
		accept_one(srv);
	if ((wp[2 * nw + 2].revents & POLLIN) && !got_term)
		trd_metrics_serve(srv);
	if ((wp[2 * nw + 3].revents & POLLIN) && !got_term)
		accept_lmtp(srv);
	trd_pool_expire(srv, time(NULL));
}

static void stop_listening(struct trd_server *srv)
{
	trd_log(LOG_INFO, "stopping: %d delivery processes to wait for", srv->nw);
	close(srv->lfd);
	srv->lfd = -1;
	(void)unlink(srv->opt->socket);
	if (srv->lmfd >= 0) {
		close(srv->lmfd);
		(void)unlink(srv->opt->lmtp);
	}
	srv->lmfd = -1;
	if (srv->mfd >= 0)
		close(srv->mfd);
	srv->mfd = -1;
}

tlsrelay_cat trd_serve(const struct trd_options *opt, int lfd, int lmfd)
{
	struct trd_server srv;
	struct pollfd *pfd;

	memset(&srv, 0, sizeof srv);
	srv.opt = opt;
	srv.lfd = lfd;
	srv.lmfd = lmfd;
	srv.w = calloc((size_t)opt->max_procs, sizeof *srv.w);
	srv.pend = calloc((size_t)opt->max_procs, sizeof *srv.pend);
	pfd = calloc(3 * (size_t)opt->max_procs + 4, sizeof *pfd);
	srv.mfd = -1;
	if (srv.w == NULL || srv.pend == NULL || pfd == NULL || signals_setup(&srv) < 0) {
		trd_log(LOG_ERR, "cannot start: %s", strerror(errno));
		free(srv.w);
		free(pfd);
		return TLSRELAY_INTERNAL;
	}
	warm_make(&srv, "loaded");
	if (srv.warm != NULL)
		srv.mfd = trd_metrics_listen(tlsrelay_ctx_metrics_listen(srv.warm));
	trd_resolver_check(&srv);
	trd_log(LOG_INFO, "ready on %s%s%s (at most %d delivery processes)", opt->socket,
	        opt->lmtp ? ", LMTP on " : "", opt->lmtp ? opt->lmtp : "", opt->max_procs);
	while (srv.lfd >= 0 || srv.nw > 0 || srv.npend > 0) {
		if (got_term && srv.lfd >= 0)
			stop_listening(&srv);
		if (wait_events(&srv, pfd) < 0 && errno != EINTR) {
			trd_log(LOG_ERR, "poll: %s", strerror(errno));
			break;
		}
		if (got_hup)
			warm_check(&srv);
		step(&srv, pfd);
	}
	trd_log(LOG_INFO, "stopped");
	tlsrelay_ctx_free(srv.warm);
	free(srv.w);
	free(srv.pend);
	free(pfd);
	return TLSRELAY_OK;
}

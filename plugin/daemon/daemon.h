/*
 * daemon.h - tlsrelayd's parts: main.c (options, socket, privileges),
 * serve.c (the loop and the warm context), metrics.c (the metrics
 * listener, the resolver self-test), pool.c (the delivery
 * processes: start, hand over, retire), worker.c (a delivery process's
 * loop), request.c (one request: the descriptors, the transport).
 */
#ifndef TRD_DAEMON_H
#define TRD_DAEMON_H

#include <sys/types.h>
#include <time.h>
#include "tlsrelay.h"

struct trd_options {
	const char *config;     /* -c, default tlsrelay_default_config_path() */
	const char *socket;     /* -s */
	const char *user;       /* -u: deliveries run as this user */
	unsigned mode;          /* -m: socket mode, default 0660 */
	int max_procs;          /* -n: delivery processes at once, default 100 */
	int max_use;            /* -r: deliveries per process, default 100 */
	int max_idle;           /* -i: seconds an idle process is kept, default 60 */
	int verbose;            /* -v: also log to standard error */
};

/* A delivery process, as the daemon sees it (pool.c). */
struct trd_worker {
	pid_t pid;
	int ctl;                /* control socket; -1: retired (told to stop) */
	int conn;               /* the client being served, -1 when idle */
	int stopped;            /* SIGTERM sent: its client went away */
	int dead;               /* control socket at end of file: reaping soon */
	unsigned gen;           /* warm context generation it was forked with */
	int uses;
	time_t idle_since;
};

struct trd_server {
	const struct trd_options *opt;
	int lfd;
	int sigfd[2];           /* self-pipe of the signal handler */
	struct trd_worker *w;
	int nw;
	int mfd;                /* the metrics listener (metrics.c), -1: none */
	tlsrelay_ctx *warm;     /* NULL: could not be made (configuration error) */
	time_t warm_tried;
	unsigned gen;           /* incremented each time warm is remade */
};

/* pool.c */
void trd_pool_dispatch(struct trd_server *srv, int conn);
void trd_pool_done(struct trd_server *srv, struct trd_worker *w);
void trd_pool_reaped(struct trd_server *srv, pid_t pid, int status);
void trd_pool_retire(struct trd_worker *w);
void trd_pool_expire(struct trd_server *srv, time_t now);
int trd_pool_can_take(const struct trd_server *srv);

/* metrics.c: the listener of metrics_listen (spec; NULL: none): its
 * socket, or -1 (logged); one scrape served by a child; the resolver
 * self-test in a child at start. */
int trd_metrics_listen(const char *spec);
void trd_metrics_serve(struct trd_server *srv);
void trd_resolver_check(struct trd_server *srv);

/* Log one line (syslog LOG_MAIL, and standard error with -v). */
void trd_log(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The loop, until SIGTERM or SIGINT (then it waits for the running
 * deliveries); lfd is the listening socket. Returns the exit status. */
int trd_serve(const struct trd_options *opt, int lfd);

/* A delivery process: deliveries passed over ctl until it is closed.
 * Never returns. */
void trd_worker_run(int ctl, tlsrelay_ctx *warm, const char *config)
	__attribute__((noreturn));

/* In a delivery process: read the request from conn, take its
 * descriptors as 0-2, run the transport. The exit status. */
int trd_request_run(int conn, tlsrelay_ctx *warm, const char *config);

#endif

/*
 * daemon.h - tlsrelayd's parts: main.c (options, socket, privileges),
 * serve.c (the loop and the warm context), route.c (a request's routing
 * label, read before it is handed over), pool.c (the delivery processes:
 * start, hand over by routing label, retire), worker.c (a delivery
 * process's loop, its idle connection, its result to the client),
 * request.c (one request: the descriptors, the transport), metrics.c (the
 * metrics listener, the resolver self-test).
 */
#ifndef TRD_DAEMON_H
#define TRD_DAEMON_H

#include <sys/types.h>
#include <time.h>
#include "tlsrelay.h"

struct trd_options {
	const char *config;     /* -c, default tlsrelay_default_config_path() */
	const char *socket;     /* -s */
	const char *lmtp;       /* -L: the LMTP listener's socket, NULL none */
	const char *user;       /* -u: deliveries run as this user */
	unsigned mode;          /* -m: socket mode, default 0660 */
	int max_procs;          /* -n: delivery processes at once, default 100 */
	int max_use;            /* -r: deliveries per process, default 100 */
	int max_idle;           /* -i: seconds an idle process is kept, default 60 */
	int verbose;            /* -v: also log to standard error */
};

/* A routing label: the nexthop of a request or of a process's idle SMTP
 * connection, "host:port" (lib/conn_cache.h); "" none. */
#define TRD_LABEL_MAX 272

/* What a delivery process tells the daemon over its control socket, one
 * SOCK_SEQPACKET message each (worker.c -> pool.c). */
enum trd_report_kind {
	TRD_REPORT_DONE = 1,    /* a delivery ended; the process has written its
	                         * result to the client itself */
	TRD_REPORT_IDLE         /* between deliveries: its idle connection went
	                         * (label "") */
};
struct trd_report {
	int kind;
	int rc;                 /* DONE: the delivery's exit status (logs) */
	int uses;               /* DONE: the process's deliveries so far (an
	                         * LMTP session may have made several) */
	char label[TRD_LABEL_MAX]; /* the idle connection's label, "" none */
};

/* A delivery process, as the daemon sees it (pool.c). */
struct trd_worker {
	pid_t pid;
	int ctl;                /* control socket; -1: retired (told to stop) */
	int conn;               /* the client being served, -1 when idle */
	int lmtp;               /* conn is an LMTP client (lmtp.c) */
	int stopped;            /* SIGTERM sent: its client went away */
	int dead;               /* control socket at end of file: reaping soon */
	unsigned gen;           /* warm context generation it was forked with */
	int uses;
	time_t idle_since;
	unsigned long idle_seq; /* larger: became idle later */
	char label[TRD_LABEL_MAX]; /* its idle SMTP connection's, "" none */
};

/* A client accepted whose request is not readable yet (serve.c): its
 * routing label needs the first bytes. */
struct trd_pending {
	int conn;
	long long until_ms;     /* then it is handed over without a label */
};

struct trd_server {
	const struct trd_options *opt;
	int lfd;
	int lmfd;               /* the LMTP listener (-L), -1: none */
	int sigfd[2];           /* self-pipe of the signal handler */
	struct trd_worker *w;
	int nw;
	int mfd;                /* the metrics listener (metrics.c), -1: none */
	tlsrelay_ctx *warm;     /* NULL: could not be made (configuration error) */
	time_t warm_tried;
	unsigned gen;           /* incremented each time warm is remade */
	struct trd_pending *pend; /* at most max_procs */
	int npend;
};

/* pool.c */
void trd_pool_dispatch(struct trd_server *srv, int conn, const char *label, int lmtp);
void trd_pool_done(struct trd_server *srv, struct trd_worker *w);
void trd_pool_reaped(struct trd_server *srv, pid_t pid, int status);
void trd_pool_retire(struct trd_worker *w);
void trd_pool_expire(struct trd_server *srv, time_t now);
int trd_pool_can_take(const struct trd_server *srv);
/* The exit status of a delivery whose outcome is unknown, refused or that
 * never ran: temporary (the library's one translation), the mail is kept. */
int trd_temp_exit(void);

/* route.c: the routing label of the request on conn (a client just
 * accepted) from its first bytes, peeked: the delivery process reads them
 * as usual. 1 when known (label, "" when the request names none or cannot
 * be read), 0 when more bytes are needed (final: give up waiting, "").
 * warm: the daemon's context (relayhost), NULL: none. */
int trd_route_label(int conn, const tlsrelay_ctx *warm, int final, char *label, size_t cap);

/* metrics.c: the listener of metrics_listen (spec; NULL: none): its
 * socket, or -1 (logged); one scrape served by a child; the resolver
 * self-test in a child at start. */
int trd_metrics_listen(const char *spec);
void trd_metrics_serve(struct trd_server *srv);
void trd_resolver_check(struct trd_server *srv);

/* Log one line (syslog LOG_MAIL, and standard error with -v). */
void trd_log(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The library's lines into trd_log (a tlsrelay_log_fn; arg unused): the
 * logger of a delivery process's LMTP sessions and of the work it does
 * after a result (tr_ctx_after_result). */
void trd_lib_log(void *arg, int priority, const char *line);

/* The loop, until SIGTERM or SIGINT (then it waits for the running
 * deliveries); lfd is the listening socket. Returns: OK (stopped),
 * INTERNAL (cannot start: memory, signals). */
tlsrelay_cat trd_serve(const struct trd_options *opt, int lfd, int lmfd);

/* A delivery process: deliveries passed over ctl until it is closed.
 * Never returns. */
void trd_worker_run(int ctl, tlsrelay_ctx *warm, const char *config, int max_use)
	__attribute__((noreturn));

/* In a delivery process: the LMTP session of the client on conn (lmtp.c),
 * at most left transactions (each one use). The transactions delivered
 * (answered after a delivery). */
int trd_lmtp_run(int conn, tlsrelay_ctx *warm, int left);

/* In a delivery process: read the request from conn, take its
 * descriptors as 0-2, run the transport. The exit status. */
int trd_request_run(int conn, tlsrelay_ctx *warm, const char *config);

#endif

/*
 * ctx.h - the library context (ctx.c): configuration, logger and the
 * process's one SSL_CTX (created lazily, on the first TLS connection, so a
 * plaintext-only run never pays for OpenSSL start-up).
 */
#ifndef TR_CTX_H
#define TR_CTX_H

#include "tlsrelay.h"
#include "settings.h"

struct ssl_ctx_st;
struct tr_sasl_map;
struct tr_policy_map;
struct tr_tls_cache;
struct tr_msgrules;
struct tr_conn_cache;

/* What a file was when tlsrelay_ctx_prepare() read it (ctx_warm.c). */
struct tr_stamp {
	const char *what;             /* the setting, for the log */
	char *path;
	int exists;
	unsigned long long dev, ino, size;
	long long mtime_s, mtime_ns, ctime_s, ctime_ns;
};
#define TR_STAMPS 6

struct tlsrelay_ctx {
	tr_config cfg;
	struct tr_stamp stamps[TR_STAMPS]; /* [0] the configuration file (load_config), the rest by tlsrelay_ctx_prepare */
	int nstamps;
	tlsrelay_log_fn log_fn;
	void *log_arg;
	int verbose;
	struct ssl_ctx_st *ssl_ctx;   /* NULL until tr_tls_ctx() creates it */
	int ca_loaded;                /* tls_ca_file parsed into ssl_ctx (tls.c) */
	int ca_failed;                /* ... and that failed */
	struct tr_tls_cache *tls_cache; /* tls_session_cache state (tls_cache.c) */
	struct tr_sasl_map *sasl;     /* sasl_password_map, loaded on first use */
	struct tr_policy_map *policy; /* tls_policy_map, loaded on first use */
	struct tr_msgrules *rules;    /* message_rules, loaded on first use */
	char *check_notes;            /* tlsrelay -t: warnings found while reading
	                               * the file (lines that lower a security
	                               * setting), "\n"-separated; NULL = none */
	struct tr_conn_cache *conn_cache; /* idle SMTP connections (conn_cache.h):
	                               * NULL but in tlsrelayd's processes */
	unsigned long long spool_memory_max; /* messages up to this are spooled
	                               * in memory (message.h); 0 (a file)
	                               * but in tlsrelayd's processes */
	/* the TLS history and the shadow policy (history.h, shadow.h) */
	struct tr_policy_map *shadow_policy; /* tls_shadow_policy_map, on first use */
	struct tr_hist_store *history; /* tls_history, opened on first use by the
	                              * process that delivers (never across a fork) */
	int hist_defer;               /* history written by tr_history_flush, not at
	                              * DONE (history.h), and the fleet's queued
	                              * writes with it: tlsrelayd's processes */
	struct tr_hist_later *hist_later; /* the record kept meanwhile, or NULL */
	struct tr_fleet *fleet;       /* shared_store's connection (fleet.h), on
	                              * first use; NULL = none yet */
	char log_id[64];              /* the MTA's queue ID: "ID: " starts each log line */
};

/* Forget everything derived from the settings (they are about to change):
 * the SSL_CTX and the loaded maps. */
void tr_ctx_reset(struct tlsrelay_ctx *ctx);

/* Forget the stamps of tlsrelay_ctx_prepare (ctx_warm.c). */
void tr_ctx_stamps_free(struct tlsrelay_ctx *ctx);

/* The configuration file's stamp, taken before it is read (ctx_warm.c).
 * Returns: OK, INTERNAL 4.3.0 (out of memory). */
tlsrelay_cat tr_ctx_stamp_config(struct tlsrelay_ctx *ctx, const char *path,
                                 tlsrelay_status *st);

/* Load the configured maps (tls_policy_map, sasl_password_map,
 * message_rules) if not loaded yet: TLSRELAY_OK, or CONFIG (4.3.5) with a
 * text that starts with the setting's name, or INTERNAL.
 * Returns: OK, CONFIG 4.3.5, INTERNAL 4.3.0. */
tlsrelay_cat tr_ctx_load_maps(struct tlsrelay_ctx *ctx, tlsrelay_status *st);

/* The resolver self-test (dnssec_check.c; tlsrelay_ctx_check_resolver):
 * the number of problems. */
int tr_dnssec_check(const tr_config *cfg, tlsrelay_report_fn problem,
                    tlsrelay_report_fn warning, void *arg);

/* tlsrelay_ctx_check_warnings' DANE resolver check with resolv_conf as the
 * system's resolver file (confcheck.c; the tests give their own). */
int tr_confcheck_dane_resolver(const tr_config *cfg, const char *resolv_conf,
                               tlsrelay_report_fn fn, void *arg);

#endif

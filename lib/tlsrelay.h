/*
 * tlsrelay.h - the one public header of libtlsrelay.
 *
 * libtlsrelay delivers one message by SMTP to a relay host or to the MX hosts
 * of the recipient domain, upgrading the connection with STARTTLS and
 * enforcing the TLS policy the administrator configured.
 *
 * Typical use (this is what the tlsrelay transport program does):
 *
 *     tlsrelay_status st;
 *     tlsrelay_ctx *ctx = tlsrelay_ctx_new();
 *     tlsrelay_ctx_load_config(ctx, path, 1, &st);     // or defaults
 *     tlsrelay_message *msg = tlsrelay_message_spool(ctx, 0, &st);
 *     tlsrelay_deliver(ctx, &request, msg, &st);
 *     exit(tlsrelay_status_exit(&st));
 *
 * Conventions:
 * - Every function that can fail takes a tlsrelay_status *st and fills it in;
 *   st->text is one line of text (no CR/LF) owned by the caller's struct.
 * - Functions return the category of *st (TLSRELAY_OK on success) unless
 *   documented otherwise.
 * - Objects are created by *_new/_spool and released by *_free; free(NULL)
 *   semantics hold for every *_free.
 * - A tlsrelay_ctx is used by one thread at a time.
 * - Exported symbols all start with tlsrelay_.
 */
#ifndef TLSRELAY_H
#define TLSRELAY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status categories. The order is not meaningful; use the helpers. */
typedef enum tlsrelay_cat {
	TLSRELAY_OK = 0,       /* done (delivered, or the call succeeded) */
	TLSRELAY_TEMP,         /* temporary failure: try again later */
	TLSRELAY_PERM,         /* permanent failure: bounce */
	TLSRELAY_USAGE,        /* bad arguments from the caller */
	TLSRELAY_DATAERR,      /* the message bytes cannot be sent */
	TLSRELAY_CONFIG,       /* bad or unreadable configuration */
	TLSRELAY_INTERNAL      /* resource exhaustion or a bug: treated as temporary */
} tlsrelay_cat;

#define TLSRELAY_DSN_MAX  16
#define TLSRELAY_TEXT_MAX 512

typedef struct tlsrelay_status {
	tlsrelay_cat cat;
	char dsn[TLSRELAY_DSN_MAX];   /* RFC 3463 code "4.7.5", or "" */
	char text[TLSRELAY_TEXT_MAX]; /* one line, printable, no CR/LF */
} tlsrelay_status;

/* sysexits(3) status for a status: 0, 75 (TEMPFAIL, also INTERNAL), 67
 * (NOUSER: DSN 5.1.1), 69 (UNAVAILABLE: other permanent), 64 (USAGE),
 * 65 (DATAERR), 78 (CONFIG). Every program's exit status comes from here. */
int tlsrelay_status_exit(const tlsrelay_status *st);

/* Variants of that one translation, for a program whose caller reads exit
 * statuses differently (a parameter of the translation, never a rewrite of
 * its result afterwards): */
#define TLSRELAY_EXIT_CONFIG_TEMP 0x1u /* CONFIG exits 75, not 78: sendmail's
                                        * mailers keep a message queued only
                                        * on 75, 74 or 71 (tlsrelay -T) */
#define TLSRELAY_EXIT_NO_NOUSER   0x2u /* PERM exits 69 even with DSN 5.1.1: a
                                        * verdict on a destination, not on a
                                        * recipient (tlsrelay-probe) */
#define TLSRELAY_EXIT_OSERR       0x4u /* INTERNAL exits 71 (EX_OSERR), not
                                        * 75: a program that holds no mail
                                        * (tlsrelay-milter, tlsrelay-sts) */

/* tlsrelay_status_exit with flags (0: the same). */
int tlsrelay_status_exit_flags(const tlsrelay_status *st, unsigned flags);

/* Name of a category ("ok", "temporary", ...), never NULL. */
const char *tlsrelay_cat_name(tlsrelay_cat cat);

/* Library version string, e.g. "0.1.0". */
const char *tlsrelay_version(void);

/* For a program that may load sasl_password_map: no core file ever
 * (RLIMIT_CORE 0) and not dumpable (prctl PR_SET_DUMPABLE 0: no core
 * through core_pattern pipes, no ptrace or /proc/PID/mem by other processes
 * of the user). Call it first in main(), before any secret is read; it
 * stays in force for the process and its children. 0, or -1 (errno) when
 * one of the two failed (the other is still applied). */
int tlsrelay_no_core_dumps(void);

/* ---------------------------------------------------------------- context */

typedef struct tlsrelay_ctx tlsrelay_ctx;

/* Log priorities follow syslog(3): LOG_ERR=3, LOG_WARNING=4, LOG_INFO=6,
 * LOG_DEBUG=7. The line has no trailing newline and never holds a secret. */
typedef void (*tlsrelay_log_fn)(void *arg, int priority, const char *line);

/* A new context with every setting at its default; NULL when out of memory. */
tlsrelay_ctx *tlsrelay_ctx_new(void);
void tlsrelay_ctx_free(tlsrelay_ctx *ctx);

/* Where log lines go (default: nowhere). verbose: 0 = LOG_INFO and more
 * severe, 1 = also protocol state changes, 2 = also the SMTP dialogue. */
void tlsrelay_ctx_set_logger(tlsrelay_ctx *ctx, tlsrelay_log_fn fn, void *arg,
                             int verbose);

/* Read "key = value" settings from path. When must_exist is 0 a missing
 * file is not an error (the defaults stay). Errors are TLSRELAY_CONFIG with
 * "path:line: reason" in st->text.
 * Returns: OK, CONFIG 4.3.5, INTERNAL 4.3.0. */
tlsrelay_cat tlsrelay_ctx_load_config(tlsrelay_ctx *ctx, const char *path,
                                      int must_exist, tlsrelay_status *st);

/* Set one setting as if read from a file (same validation).
 * Returns: OK, CONFIG 4.3.5, INTERNAL 4.3.0. */
tlsrelay_cat tlsrelay_ctx_set(tlsrelay_ctx *ctx, const char *key,
                              const char *value, tlsrelay_status *st);

/* "key=value" (as given to a program's -o option) set by tlsrelay_ctx_set;
 * without "=" TLSRELAY_USAGE.
 * Returns: OK, USAGE 4.3.5 (no "="), CONFIG 4.3.5, INTERNAL 4.3.0. */
tlsrelay_cat tlsrelay_ctx_set_pair(tlsrelay_ctx *ctx, const char *pair,
                                   tlsrelay_status *st);

/* What a program's -c and -o options ask for: the settings of config (NULL:
 * tlsrelay_default_config_path(), which may be missing), then the n
 * "key=value" pairs in order, stopping at the first error.
 * Returns: OK, USAGE 4.3.5, CONFIG 4.3.5, INTERNAL 4.3.0. */
tlsrelay_cat tlsrelay_ctx_configure(tlsrelay_ctx *ctx, const char *config,
                                    const char *const *pairs, int n, tlsrelay_status *st);

/* Settings a host program needs for itself: the whole-run deadline in
 * seconds (to arm a last-resort timer) and whether to log to syslog. */
int tlsrelay_ctx_deadline(const tlsrelay_ctx *ctx);
int tlsrelay_ctx_use_syslog(const tlsrelay_ctx *ctx);
/* metrics_listen (tlsrelayd): "127.0.0.1:PORT", "[::1]:PORT",
 * "unix:/PATH", or NULL. */
const char *tlsrelay_ctx_metrics_listen(const tlsrelay_ctx *ctx);
/* message_size_limit (tlsrelayd's LMTP listener): the largest message in
 * bytes, never 0 and never over TLSRELAY_MESSAGE_SIZE_HARD (the setting's
 * 0, "no limit" as in Postfix, is this hard bound: a listener always has
 * one, as disk and time are bounded). */
#define TLSRELAY_MESSAGE_SIZE_HARD (1024ull * 1024 * 1024)
unsigned long long tlsrelay_ctx_message_size_limit(const tlsrelay_ctx *ctx);
/* spool_directory: where a program that receives a message itself (the
 * LMTP listener) writes one too large for memory, as the library's own
 * spool does; NULL when unset ($TMPDIR, else /tmp). */
const char *tlsrelay_ctx_spool_directory(const tlsrelay_ctx *ctx);

/* The name to log as (openlog ident): syslog_name, "tlsrelay" when unset.
 * At most TLSRELAY_SYSLOG_NAME_MAX bytes; valid while ctx's settings are
 * not changed. */
#define TLSRELAY_SYSLOG_NAME_MAX 64
const char *tlsrelay_ctx_syslog_name(const tlsrelay_ctx *ctx);

/* For a long-lived process that forks one child per delivery (tlsrelayd):
 * do now what each delivery would do lazily (the TLS context, tls_ca_file,
 * the policy and SASL maps, message_rules), so that children start with it done; also
 * remember the state of those files. TLSRELAY_OK, or the configuration
 * error the first delivery would have met.
 * Returns: OK, CONFIG 4.3.5, INTERNAL 4.3.0. */
tlsrelay_cat tlsrelay_ctx_prepare(tlsrelay_ctx *ctx, tlsrelay_status *st);

/* After tlsrelay_ctx_prepare: NULL while the configuration file and the
 * files prepared from it are unchanged, else the name of the first changed
 * one ("configuration", "tls_ca_file", "tls_policy_map",
 * "sasl_password_map", "message_rules"): the context should then be made
 * afresh. */
const char *tlsrelay_ctx_changed(const tlsrelay_ctx *ctx);

/* Default configuration file path (SYSCONFDIR/tlsrelay.conf). */
const char *tlsrelay_default_config_path(void);

/* ------------------------------------------------- configuration check */

/* Receives one line of output (no newline): a setting, or a problem as
 * "file[:line]: reason". */
typedef void (*tlsrelay_report_fn)(void *arg, const char *line);

/* `tlsrelay -n`: each setting as "key = value", in the settings table's
 * order: only those that differ from the default, or all when all != 0. */
void tlsrelay_config_show(tlsrelay_ctx *ctx, int all, tlsrelay_report_fn fn,
                          void *arg);

/* `tlsrelay -t`, first step: read the configuration file at path into ctx
 * reporting every problem to fn (and going on), instead of stopping at the
 * first. must_exist 0: a missing file is no problem. Returns the number of
 * problems. */
int tlsrelay_ctx_check_config(tlsrelay_ctx *ctx, const char *path, int must_exist,
                              tlsrelay_report_fn fn, void *arg);

/* `tlsrelay -t`, second step: check what the settings of ctx name (policy
 * map, SASL password map and its permissions, CA file and directory, spool
 * directory), every problem to fn.
 * Touches no network. Returns the number of problems. */
int tlsrelay_ctx_check_files(tlsrelay_ctx *ctx, tlsrelay_report_fn fn, void *arg);

/* `tlsrelay -t`, third step: what is not an error but deserves a word,
 * each line to fn starting with "warning: ". So far: a dane level
 * (tls_security_level or a tls_policy_map entry) with a resolver not on
 * loopback (dns_resolver, else /etc/resolv.conf's servers, read but not
 * queried): its AD bit is trusted as it comes. Touches no network.
 * Returns the number of warnings. */
int tlsrelay_ctx_check_warnings(tlsrelay_ctx *ctx, tlsrelay_report_fn fn, void *arg);

/* `tlsrelay -t`, fourth step, and tlsrelayd's start: when a dane level or
 * mta_sts = yes is in use (and dnssec_self_test = yes), does the resolver
 * validate DNSSEC? A signed name (dnssec_test_valid, default ".") must
 * answer with the AD bit, a deliberately broken one (dnssec_test_bogus,
 * default dnssec-failed.org) must fail. Asks the resolver (DNS only).
 * A resolver that does not validate: a line to problem (counted); one
 * that does not answer: a line "warning: ..." to warning. Returns the
 * number of problems. */
int tlsrelay_ctx_check_resolver(tlsrelay_ctx *ctx, tlsrelay_report_fn problem,
                                tlsrelay_report_fn warning, void *arg);

/* ---------------------------------------------------------------- message */

typedef struct tlsrelay_message tlsrelay_message;

/* Copy the message from fd (read to EOF) into an unlinked temporary file in
 * the configured spool directory, normalising line endings to CRLF (in
 * tlsrelayd's delivery processes: in memory, a memfd, while it is at most
 * TLSRELAY_SPOOL_MEMORY_MAX bytes). Memory use is bounded whatever the
 * size. Unusable content (NUL bytes) is found later, by tlsrelay_deliver
 * (DATAERR 5.6.0) before anything is sent.
 * Returns: the message, or NULL with *st TEMP 4.3.0 (read or write
 * trouble), USAGE (a bad descriptor), INTERNAL 4.3.0 (out of memory). */
tlsrelay_message *tlsrelay_message_spool(tlsrelay_ctx *ctx, int fd,
                                         tlsrelay_status *st);
void tlsrelay_message_free(tlsrelay_message *msg);

/* The largest message spooled in memory (tlsrelay_spool_fd; the library's
 * spool in tlsrelayd's delivery processes). */
#define TLSRELAY_SPOOL_MEMORY_MAX (1024 * 1024)

/* A descriptor for a caller that must write the message somewhere before
 * tlsrelay_message_spool() reads it (the Exim transport module): a memfd
 * (memory, no file system inode to make and remove) when size, the
 * expected size in bytes, is known (>= 0) and at most
 * TLSRELAY_SPOOL_MEMORY_MAX; else an unlinked file in dir (NULL: $TMPDIR,
 * else /tmp). The same function makes the library's own spool. *fd is at
 * offset 0, close-on-exec, the caller's to close; -1 on failure.
 * Returns: OK; TEMP 4.3.0 ("cannot create spool file in DIR: REASON"). */
tlsrelay_cat tlsrelay_spool_fd(const char *dir, long long size, int *fd,
                              tlsrelay_status *st);

/* A spool a caller writes as it receives the message (tlsrelayd's LMTP
 * listener), kept as the library keeps its own: a memfd while it is at
 * most TLSRELAY_SPOOL_MEMORY_MAX bytes, then an unlinked file in dir
 * (NULL: $TMPDIR, else /tmp), so that memory stays bounded. Start with
 * { .fd = -1, .dir = ... }; the bytes are stored as given. fd is the
 * caller's to close (then set it to -1 to start again). */
typedef struct tlsrelay_spool {
	int fd;                      /* -1: nothing yet */
	int in_memory;               /* fd is a memfd */
	unsigned long long size;     /* bytes written */
	const char *dir;             /* spool_directory, or NULL */
} tlsrelay_spool;

/* Append n bytes at p to sp (n may be 0: the spool is made if need be).
 * Returns: OK; TEMP 4.3.0 ("cannot create spool file in DIR: REASON",
 * "cannot write spool file in DIR: REASON"). */
tlsrelay_cat tlsrelay_spool_write(tlsrelay_spool *sp, const char *p, size_t n,
                                  tlsrelay_status *st);

/* Size in bytes of the message as sent (CRLF, before dot-stuffing). */
unsigned long long tlsrelay_message_size(const tlsrelay_message *msg);

/* --------------------------------------------------------------- delivery */

typedef struct tlsrelay_rcpt {
	const char *addr;          /* in: recipient address, no angle brackets */
	tlsrelay_status status;    /* out: this recipient's outcome */
	const char *notify;        /* in: DSN NOTIFY of this recipient; NULL =
	                            * the request's notify, "" = none for it */
	const char *orcpt;         /* in: DSN ORCPT as sent, addr-type ";" xtext
	                            * ("rfc822;joe+2Bx@example.com"); NULL = none */
	int dsn_aware;             /* out: 1 if status is OK and the server that
	                            * accepted this recipient announced DSN (it
	                            * got NOTIFY/ORCPT and answers for them), else
	                            * 0 (as Exim's dsn_aware: an MTA may then send
	                            * its own "relayed" notice for NOTIFY=SUCCESS) */
} tlsrelay_rcpt;

typedef struct tlsrelay_request {
	const char *sender;        /* "" or "<>" = null sender; NULL = "" */
	const char *nexthop;       /* NULL = relayhost setting, else MX lookup */
	const char *notify;        /* DSN NOTIFY value ("SUCCESS,FAILURE") or NULL:
	                            * the default of every recipient */
	const char *ret;           /* DSN RET value ("FULL"/"HDRS") or NULL */
	const char *envid;         /* DSN ENVID (plain text, xtext-encoded on send) */
	tlsrelay_rcpt *rcpts;
	size_t nrcpts;
} tlsrelay_request;

/* Deliver msg to every recipient of req. Each recipient's status is set;
 * *st is the summary that decides the exit status:
 *   OK    - every recipient accepted after the server's 2xx to the data;
 *   TEMP  - at least one recipient is not finally settled (it must be tried
 *           again; recipients already accepted may then be delivered twice,
 *           which is preferred to losing mail);
 *   PERM  - every recipient was permanently refused (dsn 5.1.1 when every
 *           one was unknown).
 * st->text names the host and the reason, for the first output line.
 * DSN (RFC 3461): RET and ENVID with MAIL, each recipient's NOTIFY (its
 * own, else req->notify) and ORCPT with its RCPT, all only to a server
 * that announces DSN (dropped otherwise, as Postfix does); one
 * transaction for all recipients whatever their NOTIFY. Each recipient's
 * dsn_aware says whether the server that accepted it announced DSN.
 * Returns: OK, TEMP, PERM (the summary above); before anything is sent also
 * USAGE (a bad address or DSN value: 5.1.3, 5.5.4), DATAERR 5.6.0, CONFIG
 * 4.3.5, INTERNAL 4.3.0. */
tlsrelay_cat tlsrelay_deliver(tlsrelay_ctx *ctx, tlsrelay_request *req,
                              tlsrelay_message *msg, tlsrelay_status *st);

/* What TLS policy mail for dest (a domain, or "[host]:port") would get, as
 * one line in out (e.g. "example.com: nexthop example.com:25: secure
 * match=nexthop:dot-nexthop (from /etc/tlsrelay/tls_policy:3 key
 * example.com)"). Sends nothing. TLSRELAY_USAGE for a bad dest,
 * TLSRELAY_CONFIG for a bad map.
 * Returns: OK, USAGE 5.5.4 (a bad destination, no room), CONFIG 4.3.5,
 * INTERNAL 4.3.0. */
tlsrelay_cat tlsrelay_policy_describe(tlsrelay_ctx *ctx, const char *dest,
                                      char *out, size_t cap, tlsrelay_status *st);

/* tlsrelay-probe: what would happen to mail for dest (a domain: routed as
 * mail to postmaster@dest, through the relayhost when one is configured;
 * "[host]:port": that server), found by running the delivery code up to
 * the EHLO after STARTTLS on each server it would try, in order, and
 * sending QUIT there: never AUTH, never MAIL FROM. level (NULL = the
 * configured policy) forces a level; port (0 = default) the port. What
 * each server said and showed (greeting, EHLO before and after TLS, TLS
 * protocol/cipher/group, the certificate chain with its digests, the
 * verification) goes to fn line by line. *st is the verdict: OK "mail for
 * DEST would be delivered: Verified TLS to HOST[ADDR]:PORT (...)", TEMP
 * "... would be deferred: REASON", PERM "... would be bounced: REASON",
 * USAGE for a bad dest, level or port, CONFIG for a bad configuration.
 * Returns: OK, TEMP, PERM (the verdict), USAGE 4.3.5, CONFIG 4.3.5. */
tlsrelay_cat tlsrelay_probe(tlsrelay_ctx *ctx, const char *dest, const char *level,
                            int port, tlsrelay_report_fn fn, void *arg,
                            tlsrelay_status *st);

/* What the TLS history (tls_history) says: tlsrelay-report's commands,
 * tlsrelay -q --explain, tlsrelayd's metrics listener. command:
 *   "summary"  per destination over the last days (0: tls_history_days)
 *   "explain"  dest's live demand and where each part comes from, the
 *              shadow demand, the recent history (days as summary)
 *   "suggest"  tls_policy_map lines for destinations Verified on every
 *              attempt on at least days days (0: 7), with no failure; the
 *              destinations a global raise would break
 *   "html"     one self-contained HTML page (days as summary)
 *   "metrics"  the counters, Prometheus text exposition format 0.0.4
 * Output line by line to fn (no newline). The store is only read.
 * Returns: OK, CONFIG 4.3.5 (tls_history unset, bad map), TEMP 4.3.0 (the
 * store cannot be read), USAGE 5.5.4 4.3.5 (bad command or destination),
 * INTERNAL 4.3.0. */
tlsrelay_cat tlsrelay_report(tlsrelay_ctx *ctx, const char *command, const char *dest,
                             int days, tlsrelay_report_fn fn, void *arg, tlsrelay_status *st);

/* Prefix every log line of ctx with "ID: " (the MTA's queue ID, as
 * Postfix's logs do): at most 63 bytes of letters, digits, '.', '_', '-'
 * (not first: an empty ID would make -Q take the next option).
 * NULL or "" clears it.
 * Returns: OK, USAGE 4.3.5 (another character, too long, "-" first). */
tlsrelay_cat tlsrelay_ctx_set_log_id(tlsrelay_ctx *ctx, const char *id, tlsrelay_status *st);

/* The TLS policy for one nexthop, for a host MTA that enforces it with its
 * own SMTP client (the Exim shared object, plugin/exim/). See
 * tlsrelay_policy_get. */
typedef struct tlsrelay_policy_info {
	const char *level;       /* "none", "may", "encrypt", "dane", "dane-only",
	                          * "fingerprint", "verify", "secure" (static) */
	int tls_required;        /* no plaintext: level encrypt and above */
	int verify_chain;        /* the certificate chain must verify against the
	                          * CA: levels verify and secure */
	int verify_name;         /* the certificate must name the server: levels
	                          * verify and secure */
	int complete;            /* 1 when the three flags are the whole policy, so
	                          * that a client enforcing just them (TLS, chain,
	                          * name = the server's host name) does what
	                          * tlsrelay would: levels none, may, encrypt;
	                          * verify with match=hostname only. 0 for dane,
	                          * dane-only, fingerprint, secure, other match=
	                          * lists, protocols=, ciphers= or servername=,
	                          * and for an MX destination (no brackets)
	                          * without a tls_policy_map entry when
	                          * mta_sts = yes: MTA-STS is decided at delivery
	                          * and its enforce mode (MX patterns, a
	                          * subjectAltName DNS-ID) is not expressible */
	char text[TLSRELAY_TEXT_MAX]; /* the policy as tlsrelay -q prints it,
	                          * with its source; truncated if need be */
} tlsrelay_policy_info;

/* The policy for nexthop exactly as written ("example.com" = MX delivery to
 * that domain, "[mx.example.com]", "[192.0.2.1]:587", ...; the relayhost
 * setting is NOT applied, unlike tlsrelay_policy_describe: the caller routes
 * the mail itself): the tls_policy_map entry, else tls_security_level,
 * with complete = 0 where MTA-STS may apply (see complete; the MTA-STS
 * cache is not read). Only tls_policy_map is read (not sasl_password_map).
 * Sends nothing, no DNS.
 * TLSRELAY_USAGE for a bad nexthop, TLSRELAY_CONFIG for an unreadable or
 * bad map, TLSRELAY_INTERNAL when out of memory; *out is filled on OK only.
 * Returns: OK, USAGE 5.5.4, CONFIG 4.3.5, INTERNAL 4.3.0. */
tlsrelay_cat tlsrelay_policy_get(tlsrelay_ctx *ctx, const char *nexthop,
                                 tlsrelay_policy_info *out, tlsrelay_status *st);

/* Validate an envelope address for use in MAIL FROM/RCPT TO: no control
 * characters, no angle brackets, bounded length. TLSRELAY_USAGE if bad.
 * Returns: OK, USAGE 5.1.3. */
tlsrelay_cat tlsrelay_check_address(const char *addr, int allow_empty,
                                    tlsrelay_status *st);

#ifdef __cplusplus
}
#endif

#endif /* TLSRELAY_H */

/*
 * status.h - building tlsrelay_status values (status.c), and the status
 * convention of the whole library.
 *
 * THE CONVENTION
 *   A function that can fail fills a caller-owned tlsrelay_status and
 *   returns its category (tlsrelay_cat). Two variants of the same rule: a
 *   constructor returns its object, or NULL with *st set; a function whose
 *   result is a named outcome (tr_found, tr_outcome) returns it and sets
 *   *st. A count goes to an out-parameter, never beside a status in the
 *   return value. The text is always one printable line: tr_status_set()
 *   replaces CR, LF and other control bytes with spaces and truncates to
 *   TLSRELAY_TEXT_MAX-1. On success *st is OK, except where the comment
 *   says "untouched" (lookups that the routing code runs with its "last
 *   failure" status).
 *
 *   Each such prototype says which categories it gives, in a line of its
 *   comment:  "Returns: OK, TEMP 4.4.3 (lookup failure), PERM 5.1.2."
 *   (categories: OK TEMP PERM USAGE DATAERR CONFIG INTERNAL, each with its
 *   DSNs where they are fixed; msmtp's "Used error codes").
 *
 *   Outcomes that are not failures get a named enum, never a bare int with
 *   three meanings (-1/0/1): tr_found for found/none/error lookups.
 *
 *   An impossible state (a bug, never anything a remote party, a file or a
 *   socket client controls) is tr_panic() (log.h): logged and abort().
 *
 *   A status becomes an exit code in one place: tlsrelay_status_exit_flags()
 *   (status.c, the table in status_exit.h); a program's variant is a flag of
 *   that translation (tlsrelay -T: TLSRELAY_EXIT_CONFIG_TEMP).
 *
 *   tests/docs/test_status_convention.sh checks every prototype of the
 *   headers in lib/: a "Returns:" line with categories on each one that
 *   fills a status, no bare tri-state int, and every function that fails
 *   otherwise listed below.
 *
 * EXCEPTIONS (functions that fail without a tlsrelay_status, and why)
 *   Pure parsers and encoders: no I/O and no allocation; a failure is a
 *   value whose category is the caller's (the same bad text is CONFIG in
 *   a setting, USAGE on a command line, "sts-policy-invalid" to MTA-STS).
 *   They return -1, with a reason in the caller's err (cap bytes) where
 *   there is one to give:
 *     tr_nexthop_parse() tr_sts_policy_parse() tr_parse_time() tr_dns_init()
 *     tr_dns_norm_name() tr_dns_walk() tr_tlsrpt_rua() tr_tlsrpt_day()
 *     tr_sasl_b64() tr_sasl_plain() tr_sasl_b64_decode() tr_parse_port()
 *     the string settings' validations of settings_value.h:
 *     tr_check_nexthop() tr_check_helo() tr_check_path() tr_check_resolver()
 *     tr_check_syslog_name() tr_check_dns_name() tr_check_metrics_listen()
 *     tr_dsn_xtext_decode()
 *   Bounded output: the length, or -1 when the caller's buffer is too small
 *   (a limit the caller chose, not a failure of the work):
 *     tr_demand_key() tr_tls_cache_key() tr_conn_key()
 *   DANE facts: the TLSA lookup's outcome is an input of the demand, which
 *   decides what a failed lookup means (4.7.5 under dane and dane-only); it
 *   returns FOUND, NONE or TEMP with a one-line why:
 *     tr_dns_tlsa()
 *   The stream layer: codes of tr_io_res with the reason in io->err; the
 *   session turns them into its status, which depends on what was being
 *   done ("lost connection with H while sending RCPT TO"):
 *     tr_io_connect() tr_io_readline() tr_io_write() tr_io_flush()
 *     tr_io_wait()
 *   The resolver core: which of two failures (out of memory, the resolver
 *   cannot be initialised); each lookup (MX, addresses, TLSA, TXT, the
 *   DNSSEC self-test) words its own status, with the name it looked up:
 *     tr_dns_resolver_open()
 *   Degrading, never failing its caller: NULL when the MTA-STS cache cannot
 *   be used, logged once (a cache problem never stops mail):
 *     tr_sts_run_store()
 *   Public constructor and system call, as malloc and setrlimit: NULL when
 *   out of memory; -1 with errno (the program goes on without):
 *     tlsrelay_ctx_new() tlsrelay_no_core_dumps()
 *   The fleet store (fleet.h), which never fails its caller: its URL parser
 *   and field splitter are pure parsers (-1, why); its writes are queued,
 *   -1 only when out of memory (the caller counts the write dropped, the
 *   delivery goes on); redis.h's batch grows or says -1 (out of memory):
 *     tr_fleet_parse_url() tr_fleet_split() tr_fleet_sts_put()
 *     tr_fleet_rpt_add() tr_fleet_hist_add() tr_fleet_queue()
 *     tr_redis_batch_add() tr_redis_batch_copy()
 *   The SQLite stores' file set-up: 0, or -1 with the reason in the
 *   caller's err; each store reports it as its own failure to open:
 *     tr_sqlite_create_for_owner()
 *   Answers, not failures: -1 is "no such setting" / "not a security
 *   setting" (the settings table's own questions, asked by -t and -n):
 *     tr_config_key_index() tr_config_strength()
 */
#ifndef TR_STATUS_H
#define TR_STATUS_H

#include "tlsrelay.h"

#if defined(__GNUC__)
#define TR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TR_PRINTF(a, b)
#endif

/* Set *st (may be NULL: then nothing happens); returns cat. dsn may be
 * NULL or "" for none.
 * Returns: cat, whichever it is (OK, TEMP, PERM, USAGE, DATAERR, CONFIG,
 * INTERNAL). */
tlsrelay_cat tr_status_set(tlsrelay_status *st, tlsrelay_cat cat,
                           const char *dsn, const char *fmt, ...) TR_PRINTF(4, 5);

/* st = OK, "2.0.0", empty text. Returns TLSRELAY_OK.
 * Returns: OK. */
tlsrelay_cat tr_status_ok(tlsrelay_status *st);

/* Copy src to dst (both non-NULL).
 * Returns: nothing; *dst gets src's category, whichever it is (OK ...
 * INTERNAL). */
void tr_status_copy(tlsrelay_status *dst, const tlsrelay_status *src);

/* TLSRELAY_CONFIG, dsn 4.3.5, text "where: reason" (no prefix when where
 * is NULL): the one form of every configuration error.
 * Returns: CONFIG 4.3.5. */
tlsrelay_cat tr_config_error(tlsrelay_status *st, const char *where,
                             const char *fmt, ...) TR_PRINTF(3, 4);

/* Receives one problem text ("file:line: reason") in check mode, where a
 * reader reports every problem and goes on instead of stopping at the
 * first (tlsrelay -t). */
typedef tlsrelay_report_fn tr_report_fn;

/* s made safe for an error text: control bytes become '?', at most
 * TR_QUOTE_MAX bytes (cut at a UTF-8 character boundary) then "...".
 * buf holds TR_QUOTE_MAX + 4 bytes. Returns buf. */
#define TR_QUOTE_MAX 64
const char *tr_quote(const char *s, char *buf);

/* " (as user NAME)": who could not open a file, for "cannot open" texts
 * (the effective user; "uid N" without a name). buf holds
 * TR_AS_USER_MAX bytes. Returns buf; errno is left as it was. */
#define TR_AS_USER_MAX 96
const char *tr_as_user(char *buf);

/* Replace control bytes in s (NUL-terminated, in place) with spaces. */
void tr_sanitize_line(char *s);

/* The outcome of a lookup that can find something, find nothing or fail
 * (where the failure's reason is, the function says). The values are
 * those of the 1/0/-1 convention it replaces. */
typedef enum tr_found {
	TR_LOOKUP_FAILED = -1,
	TR_NOT_FOUND = 0,
	TR_FOUND = 1
} tr_found;

#endif

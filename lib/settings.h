/*
 * settings.h - settings of a tlsrelay context (settings.c).
 *
 * Every key is declared once in the table in settings.c (name, type, default,
 * validation); this struct holds the parsed values. Strings are owned by
 * the struct (tr_config_free releases them). Time values are seconds,
 * written in files with Postfix units: "30" or "30s", "5m", "1h", "1d", "1w".
 *
 * File syntax: "key = value" per line; '#' starts a comment line (only at
 * the start of a line, after optional white space; elsewhere it is part of
 * the value); blank lines ignored; white space (spaces, tabs) around key and
 * value trimmed; the value may hold '=' and inner spaces; LF or CRLF line
 * ends; lines up to TR_CONFIG_LINE_MAX bytes (without the line end); key
 * names are [a-z0-9_]+; a repeated key: the last one wins (as in Postfix
 * main.cf). An unknown key, a bad value, a line without '=', an over-long
 * line or a NUL byte is TLSRELAY_CONFIG (dsn 4.3.5) with "file:line: reason".
 *
 * Keys (types, defaults, accepted values):
 *   relayhost           nexthop (nexthop.h syntax), default unset
 *   helo_name           host name or [address literal], default unset
 *   tls_security_level  a level of tls_level.h (none, may, encrypt, dane,
 *                       dane-only, verify, secure; fingerprint only in
 *                       tls_policy_map, where match= gives the digests),
 *                       default may
 *   tls_ca_file         absolute path, default unset
 *   tls_ca_path         absolute path, default unset
 *   connect_timeout     time 1s..1h, default 30s
 *   command_timeout     time 1s..1h, default 300s
 *   data_timeout        time 1s..1h, default 180s
 *   deadline            time 10s..1d, default 600s
 *   dns_resolver        numeric: IP, IP:PORT, IPv6, [IPv6] or [IPv6]:PORT;
 *                       stored normalised as "192.0.2.1", "192.0.2.1:5353",
 *                       "::1" or "[::1]:5353"; default unset
 *   spool_directory     absolute path, default unset
 *   mx_address_limit    integer 1..50, default 5
 *   mx_session_limit    integer 1..10, default 2
 *   syslog              yes|no (any case), default yes (use_syslog)
 *   use_chunking        yes|no, default yes: BDAT when the server offers
 *                       CHUNKING (no: always DATA)
 *   tls_policy_map      absolute path of a Postfix-style TLS policy table
 *   sasl_password_map   absolute path of "[host]:port user:password" lines
 *                       (must not be accessible by other users)
 *   mta_sts             yes|no, default no: MTA-STS for MX delivery (sts.h)
 *   mta_sts_cache       absolute path of the SQLite policy cache and TLS-RPT
 *                       store (sts_cache.h), default unset
 *   mta_sts_https_port  integer 1..65535, default 443 (a test seam: the
 *                       tests cannot bind 443; the policy host's
 *                       certificate is verified whatever the port)
 *   tls_session_cache   absolute path of the TLS session cache directory
 *                       (tls_cache.h), default unset (no resumption)
 *   tls_session_cache_timeout  time 1s..1w, default 3600s (longest life of a
 *                       cached session; the server's hint may shorten it)
 *   tls_session_cache_size     integer 1..100000, default 1000 (entries)
 *   require_header      yes|no, default yes: a message's X-TLSRelay-Require
 *                       header raises the level (msgreq.h)
 *   tls_required_enable yes|no, default no: RFC 8689 "TLS-Required: No" may
 *                       relax DANE/MTA-STS requirements (never a configured
 *                       level)
 *   message_rules       absolute path of a rules file (msgrules.h): its
 *                       from/to rules raise the level for the envelope
 *                       as delivered (msgreq.h); default unset. The milter
 *                       uses it too when -r and milter_rules are absent
 *   milter_socket       tlsrelay-milter only: inet:PORT@HOST, inet6:..., or
 *                       unix:PATH; checked by the milter; default unset
 *   milter_rules        tlsrelay-milter only: absolute path of the rules
 *                       file (msgrules.h); default unset
 *   syslog_name         the name the transport logs as (openlog ident),
 *                       letters, digits, ".", "_", "-" and "/", at most
 *                       TR_SYSLOG_NAME_MAX bytes; default unset: "tlsrelay"
 *                       (Postfix's syslog_name, for several instances)
 *   local_mta_ports     ports on which this host's MTA listens: a server at
 *                       an address of this host and one of these ports is
 *                       this host (mail loops back: smtp_open.c); a list
 *                       of 1..65535 separated by "," or spaces, at most
 *                       TR_PORTS_MAX; empty: none; default 25
 *   connection_cache    yes|no, default yes: tlsrelayd's delivery processes
 *                       keep an SMTP connection open for the next message
 *                       (conn_cache.h); the tlsrelay program never does
 *   connection_cache_time_limit   time 1s..300s, default 2s: idle time
 *   connection_reuse_count_limit  integer 1..100000, default 100:
 *                       transactions on one connection
 *   connection_reuse_time_limit   time 1s..1d, default 300s: from connect,
 *                       the time a connection is given transactions
 *   tls_history         absolute path of the TLS history store (SQLite,
 *                       history.h); default unset (no history)
 *   tls_history_days    integer 1..3650, default 30: retention
 *   tls_history_size_limit  integer 1048576..2000000000 (bytes), default
 *                       67108864: the store's size limit
 *   tls_shadow_security_level  a level, or empty (default): the candidate
 *                       policy's tls_security_level (shadow.h)
 *   tls_shadow_policy_map  absolute path of the candidate policy map
 *                       (Postfix syntax, policy.h); default unset
 *   metrics_listen      tlsrelayd only: 127.0.0.1:PORT, [::1]:PORT or
 *                       unix:/PATH (loopback only); default unset
 *   dnssec_self_test    yes|no, default yes: tlsrelay -t and tlsrelayd's
 *                       start check the resolver validates DNSSEC when a
 *                       dane level or mta_sts is in use (dnssec_check.h)
 *   dnssec_test_valid   a signed name that must answer with AD; unset: "."
 *   dnssec_test_bogus   a deliberately broken name that must fail; unset:
 *                       "dnssec-failed.org"
 *   shared_store        the fleet store (fleet.h, doc/FLEET.md):
 *                       redis://HOST[:PORT][/DB], rediss://... (TLS) or
 *                       unix:/PATH[?db=N]; unset: each host alone
 *   shared_store_password_file  absolute path of a file whose first line
 *                       is the Redis password (AUTH); mode 600
 *   shared_store_ca_file  absolute path: CA certificates for rediss://
 *                       (unset: the system's store)
 *   shared_store_timeout  integer 5..2000 (ms), default 50: every call to
 *                       Redis, connecting included
 *   shared_store_lease  time 5s..1d, default 600s: how long one host
 *                       holds the sending of a TLS-RPT report
 *   message_size_limit  tlsrelayd's LMTP listener only: integer
 *                       0..1073741824 (bytes), default 10240000 (Postfix's
 *                       default): the largest message it takes (LHLO
 *                       announces it as SIZE); 0: no limit of its own, which
 *                       is TLSRELAY_MESSAGE_SIZE_HARD (1 GiB)
 * Paths must be absolute; whether they exist is checked where they are used.
 * An empty value unsets a string key (back to NULL); for other keys it is a
 * bad value. Control bytes are never accepted in a value.
 */
#ifndef TR_SETTINGS_H
#define TR_SETTINGS_H

#include "tlsrelay.h"
#include "tls_level.h"
#include "status.h"

/* Longest line of a configuration file, and longest value for
 * tr_config_set, in bytes. */
#define TR_CONFIG_LINE_MAX 4096

/* Room for the settings table (settings.c checks that it fits). */
#define TR_CONFIG_KEYS_MAX 64

#define TR_PORTS_MAX 8          /* local_mta_ports */
#define TR_SYSLOG_NAME_MAX TLSRELAY_SYSLOG_NAME_MAX  /* syslog_name */

typedef struct tr_config {
	char *relayhost;          /* NULL = MX of the recipient domain */
	char *helo_name;          /* NULL = this host's name */
	tr_tls_level tls_level;   /* tls_security_level, default may */
	char *tls_ca_file;        /* NULL = none */
	char *tls_ca_path;        /* NULL = none */
	int connect_timeout;      /* seconds, default 30 */
	int command_timeout;      /* seconds, default 300: each reply */
	int data_timeout;         /* seconds, default 180: each write of data */
	int deadline;             /* seconds, default 600: whole run */
	char *dns_resolver;       /* "IP", "IP:PORT", "IPv6", "[IPv6]:PORT"; NULL = system */
	char *spool_directory;    /* NULL = $TMPDIR or /tmp */
	int mx_address_limit;     /* addresses tried at most, default 5 */
	int mx_session_limit;     /* SMTP sessions at most, default 2 */
	int use_syslog;           /* syslog = yes|no, default yes */
	int use_chunking;         /* use_chunking = yes|no, default yes: BDAT */
	char *tls_policy_map;     /* per-destination TLS policy file; NULL = none */
	char *sasl_password_map;  /* "[host]:port user:password" file; NULL = none */
	int mta_sts;              /* apply MTA-STS policies (RFC 8461), default no */
	char *mta_sts_cache;      /* SQLite file: STS policies, TLS-RPT results */
	int mta_sts_https_port;   /* policy fetch port (tests), default 443 */
	char *tls_session_cache;  /* session cache directory; NULL = off */
	int tls_session_cache_timeout; /* seconds, default 3600 */
	int tls_session_cache_size;    /* entries (slot files), default 1000 */
	/* milter (msgreq.h, tlsrelay-milter(8)) */
	int require_header;       /* honour X-TLSRelay-Require, default yes */
	int tls_required_enable;  /* honour RFC 8689 TLS-Required: No, default no */
	char *message_rules;      /* from/to rules applied by the transport */
	char *milter_socket;      /* tlsrelay-milter's socket (libmilter syntax) */
	char *milter_rules;       /* tlsrelay-milter's rules file */
	/* h-admin: logging name, loop detection */
	char *syslog_name;        /* openlog ident; NULL = "tlsrelay" */
	int local_mta_ports[TR_PORTS_MAX]; /* this host's MTA listens there */
	int nlocal_mta_ports;
	/* connection reuse (conn_cache.h, tlsrelayd) */
	int connection_cache;     /* keep connections between messages, default yes */
	int connection_cache_time_limit;  /* seconds idle, default 2 */
	int connection_reuse_count_limit; /* transactions per connection, default 100 */
	int connection_reuse_time_limit;  /* seconds from connect, default 300 */
	/* h-ops: TLS history, shadow policy, metrics, resolver self-test */
	char *tls_history;        /* SQLite file of the TLS history; NULL = off */
	int tls_history_days;     /* retention, default 30 */
	int tls_history_size_limit; /* bytes, default 64 MB */
	tr_tls_level tls_shadow_level; /* TR_TLS_INVALID = unset */
	char *tls_shadow_policy_map;   /* candidate policy map; NULL = the live one */
	char *metrics_listen;     /* tlsrelayd's metrics listener; NULL = none */
	int dnssec_self_test;     /* default yes */
	char *dnssec_test_valid;  /* NULL = "." */
	char *dnssec_test_bogus;  /* NULL = "dnssec-failed.org" */
	char *shared_store;       /* fleet store URL; NULL = none (fleet.h) */
	char *shared_store_password_file;
	char *shared_store_ca_file;
	int shared_store_timeout; /* ms, default 50 */
	int shared_store_lease;   /* seconds, default 600 */
	/* h-dsn: tlsrelayd's LMTP listener */
	int message_size_limit;   /* bytes, default 10240000; 0 = the hard bound */
	/* Where each value came from, by the key's index in the table:
	 * "FILE:LINE" of the line that set it last, "-o" (tr_config_set
	 * without where: -o, tlsrelay_ctx_set), NULL = the default. Owned. */
	char *origin[TR_CONFIG_KEYS_MAX];
} tr_config;

/* All defaults (allocates nothing: every string default is NULL). */
void tr_config_init(tr_config *cfg);

/* Frees the strings and sets them to NULL; the other fields are left as
 * they are, NOT reset to defaults (call tr_config_init to reuse cfg).
 * Calling it twice, or with NULL, is harmless. */
void tr_config_free(tr_config *cfg);

/* Set key to value (used as given: not trimmed; NULL = ""); where (may be
 * NULL) prefixes error text ("file:line"). Returns TLSRELAY_OK, or
 * TLSRELAY_CONFIG (dsn 4.3.5) with cfg unchanged, or TLSRELAY_INTERNAL when
 * out of memory.
 * Returns: OK, CONFIG 4.3.5, INTERNAL 4.3.0. */
tlsrelay_cat tr_config_set(tr_config *cfg, const char *key, const char *value,
                           const char *where, tlsrelay_status *st);

/* dst = deep copy of src (on failure dst holds nothing).
 * Returns: OK, INTERNAL 4.3.0 (out of memory). */
tlsrelay_cat tr_config_copy(tr_config *dst, const tr_config *src, tlsrelay_status *st);

/* Read a file (see above). must_exist = 0: ENOENT is not an error (cfg
 * unchanged, st OK); any other open or read error is TLSRELAY_CONFIG with
 * "path: cannot open: <strerror>" or "path: read error: <strerror>". All or
 * nothing: on any error cfg is left exactly as it was.
 * Returns: OK, CONFIG 4.3.5, INTERNAL 4.3.0. */
tlsrelay_cat tr_config_load(tr_config *cfg, const char *path, int must_exist,
                            tlsrelay_status *st);

/* Parse a Postfix-style time ("30", "30s", "5m", "2h", "1d", "1w": digits
 * and at most one lowercase unit, nothing else) into seconds in *out
 * (0 < value <= 1 week). 0 on success, -1 if bad (*out untouched). */
int tr_parse_time(const char *s, int *out);

/* Check mode (tlsrelay -t): read path like tr_config_load, but report
 * every problem to fn (each as "file:line: reason") and go on; cfg gets
 * every good line. Returns the number of problems (0 = clean).
 * warn (may be NULL) gets a "warning: ..." line for each line that lowers
 * a security setting an earlier line of the file set (the last one wins:
 * tr_config_lowers); warnings are not counted. */
int tr_config_load_report(tr_config *cfg, const char *path, tr_report_fn fn,
                          void *arg, tr_report_fn warn, void *warn_arg);

/* The index of setting name in the table, -1 if there is none. */
int tr_config_key_index(const char *name);

/* Where setting i's value came from: "FILE:LINE", "-o" or "default". */
const char *tr_config_origin(const tr_config *cfg, int i);

/* Security settings, whose value a later line should only raise:
 * tls_security_level (level order: none < may < encrypt < dane <
 * dane-only < fingerprint < verify < secure), mta_sts (yes over no),
 * require_header (yes over no), tls_required_enable (no over yes: yes
 * relaxes) and message_rules (a file over none). The strength of setting i
 * in cfg (-1 when i is not one), and its value as a warning may show it
 * (a level, yes/no, "a file"/"none": never a path). */
int tr_config_strength(const tr_config *cfg, int i);
const char *tr_config_strength_text(const tr_config *cfg, int i, char *buf,
                                    size_t cap);

/* 1 when local_mta_ports lists port. */
int tr_config_local_mta_port(const tr_config *cfg, int port);

/* Setting i's value as a file would hold it ("5m", "yes", a path); ""
 * when unset. Returns buf. */
const char *tr_config_value_text(const tr_config *cfg, int i, char *buf,
                                 size_t cap);

/* 1 when setting i has its default value (unset strings included). */
int tr_config_is_default(const tr_config *cfg, int i);

/* Iterate the key table: name of key i (0, 1, ...), or NULL when i < 0 or
 * past the end. */
const char *tr_config_key_name(int i);

#endif

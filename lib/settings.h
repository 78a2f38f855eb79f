/*
 * settings.h - settings of a tlsrelay context (settings.c).
 *
 * Every key is declared once in the table in settings.c (name, type, default,
 * validation); this struct holds the parsed values. Strings are owned by
 * the struct (tr_config_free releases them). Time values are seconds,
 * written in files with Postfix units: "30" or "30s", "5m", "1h", "1d".
 *
 * File syntax: "key = value" per line; '#' starts a comment line (only at
 * the start of a line, after optional white space); blank lines ignored;
 * white space around key and value trimmed. An unknown key, a bad value or
 * a line without '=' is TLSRELAY_CONFIG with "file:line: reason".
 */
#ifndef TR_SETTINGS_H
#define TR_SETTINGS_H

#include "tlsrelay.h"
#include "tls_level.h"

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
	char *dns_resolver;       /* "IP" or "IP:PORT" or "[IPv6]:PORT"; NULL = system */
	char *spool_directory;    /* NULL = $TMPDIR or /tmp */
	int mx_address_limit;     /* addresses tried at most, default 5 */
	int mx_session_limit;     /* SMTP sessions at most, default 2 */
	int use_syslog;           /* syslog = yes|no, default yes */
} tr_config;

void tr_config_init(tr_config *cfg);     /* all defaults */
void tr_config_free(tr_config *cfg);     /* releases strings; cfg reusable after init */

/* Set key to value; where (may be NULL) prefixes error text ("file:line").
 * Returns TLSRELAY_OK or TLSRELAY_CONFIG. */
tlsrelay_cat tr_config_set(tr_config *cfg, const char *key, const char *value,
                           const char *where, tlsrelay_status *st);

/* Read a file (see above). must_exist = 0: ENOENT is not an error. */
tlsrelay_cat tr_config_load(tr_config *cfg, const char *path, int must_exist,
                            tlsrelay_status *st);

/* Parse a Postfix-style time ("30", "30s", "5m", "2h", "1d", "1w") into
 * seconds in *out (0 < value <= 1 week). 0 on success, -1 if bad. */
int tr_parse_time(const char *s, int *out);

/* Iterate the key table: name of key i, or NULL past the end. */
const char *tr_config_key_name(int i);

#endif

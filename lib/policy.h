/*
 * policy.h - per-destination TLS policies (policy.c): a policy table in
 * Postfix smtp_tls_policy_maps text form, and the "LEVEL attr=value ..."
 * policy syntax on its own (for tls_security_level-like settings).
 *
 * TABLE FILE
 *   "KEY  POLICY" per entry, KEY and POLICY separated by white space (spaces,
 *   tabs). A line whose first non-blank byte is '#' is a comment; blank
 *   lines are ignored; neither ends an entry. A line starting with white
 *   space continues the previous entry (joined with one space), as in
 *   Postfix tables. '#' elsewhere is ordinary text. LF or CRLF line ends.
 *   Limits: TR_POLICY_LINE_MAX bytes per line (without the line end) and per
 *   entry (continuations included), TR_POLICY_MAX_ENTRIES entries.
 *
 * KEYS (case-insensitive; checked with the nexthop.h syntax)
 *   example.com        the domain (recipient domain or MX nexthop) only
 *   .example.com       every subdomain of example.com, not example.com itself
 *   [mx.example.com]   that host, no MX lookup, default port
 *   [mx.example.com]:587, [192.0.2.1]:25, [ipv6:2001:db8::1]:587
 *   example.com:587    MX nexthop with that port (exact match only)
 *   Ports may be named (smtp, submission, ...) and are stored as numbers;
 *   IPv6 addresses are compared in canonical form; "smtp:"/"smtps:" prefixes
 *   are not allowed in keys. "[h]" and "[h]:25" are different keys (Postfix
 *   keys on the nexthop text as written), so both may be present.
 *
 * POLICY
 *   LEVEL [attr=value]...  tokens separated by white space or ',' (as in
 *   Postfix). LEVEL is any name tr_tls_level_from_name() knows (case-
 *   sensitive). Attribute names are case-insensitive; values
 *   must not be empty. Level none takes no attributes (TLS is off).
 *   match=       repeatable; only at fingerprint, verify and secure.
 *                fingerprint: SHA-256 digests separated by '|', each 32 hex
 *                byte pairs separated by ':' (any case), stored upper case
 *                "AB:CD:..." like tr_tls_info.cert_sha256/pkey_sha256; a
 *                digest matches either the certificate or its public key.
 *                verify/secure: names separated by ':': hostname, nexthop,
 *                dot-nexthop (keywords, any case), a DNS name or ".domain"
 *                (any subdomain); stored lower case. Given match= values
 *                replace the defaults (verify: hostname; secure: nexthop,
 *                dot-nexthop). fingerprint without match= is an error.
 *                At most TR_POLICY_MAX_MATCH values in all.
 *   protocols=   once. Postfix syntax, elements separated by ':':
 *                "TLSv1.2" (allow only the listed ones), "!TLSv1" (exclude),
 *                ">=TLSv1.2", "<=TLSv1.3" (bounds); names SSLv2, SSLv3,
 *                TLSv1, TLSv1.1, TLSv1.2, TLSv1.3, any case. This client never
 *                uses less than TLSv1.2: lower versions are dropped from the
 *                allowed set, which is then stored as min_proto = its lowest
 *                version and max_proto = its highest, or 0 when no upper
 *                bound was set (no list, no "<=", TLSv1.3 not excluded), so
 *                that later versions stay allowed. ">=TLSv1" means TLSv1.2 and
 *                later; a set with nothing >= TLSv1.2 left is an error.
 *   ciphers=     once; Postfix cipher grade "high" or "medium" (any case);
 *                other grades (low, export, null) are refused. Stored as
 *                grade and as an OpenSSL cipher list for TLS <= 1.2:
 *                  high   "HIGH:!aNULL:!eNULL"
 *                  medium "HIGH:MEDIUM:!aNULL:!eNULL"
 *                (TLSv1.3 cipher suites are all strong and are left alone.)
 *   servername=  once; SNI to send: "hostname" (the MX host name, the
 *                default), "nexthop" (the nexthop domain) or a DNS name;
 *                stored lower case.
 *   exclude=, tafile=, connection_reuse=, enable_rpk= are Postfix attributes
 *                that tlsrelay does not support: refused with that reason.
 *   Any other attribute, a token without '=', a repeated once-only
 *   attribute or a control byte is an error.
 *
 * LOOKUP (tr_policy_lookup), first match wins, keys lower-cased:
 *   bracketed nexthop [h]:p (no MX lookup):
 *     p is the default port (25, or 465 with smtps:): "[h]", then "[h]:p";
 *     else: "[h]:p" only.
 *   MX nexthop h:p:
 *     p is the default port: "h", then "h:p", then the parent domains
 *     ".b.example.com", ".example.com", ".com" (from a.b.example.com);
 *     else: "h:p" only (Postfix walks parents only for a bare domain).
 *   Postfix looks up only the text the admin wrote; tr_nexthop no longer
 *   knows whether ":25" was written, so both spellings are tried, the bare
 *   one first.
 *
 * ERRORS: TLSRELAY_CONFIG, dsn "4.3.5", text "FILE:LINE: reason". LINE is
 * the first line of the entry for a bad key or policy, the physical line for
 * an over-long line or entry, a NUL byte or a stray continuation line, and
 * the second occurrence for a duplicate key (keys compared after
 * normalisation; the one earliest in the file is reported). Also
 * "FILE: cannot open: ...", "FILE: read error: ...", and TLSRELAY_INTERNAL
 * "4.3.0" "out of memory". A path longer than 200 bytes is shown as "..."
 * and its last 200 bytes. The first error stops the load.
 */
#ifndef TR_POLICY_H
#define TR_POLICY_H

#include <stddef.h>
#include "tlsrelay.h"
#include "tls_level.h"
#include "nexthop.h"
#include "status.h"

#define TR_POLICY_MAX_MATCH   16       /* = TR_TLS_MAX_NAMES of tls.h */
#define TR_POLICY_LINE_MAX    4096
#define TR_POLICY_MAX_ENTRIES 100000
/* Buffer size that always holds tr_policy_format()'s output. */
#define TR_POLICY_TEXT_MAX    (TR_POLICY_MAX_MATCH * 256 + 1024)

typedef struct tr_policy {
	tr_tls_level level;
	/* fingerprint: "AB:CD:..." digests; verify/secure: "hostname",
	 * "nexthop", "dot-nexthop", "mx.example.com" or ".example.com";
	 * other levels: none. */
	char match[TR_POLICY_MAX_MATCH][256];
	int nmatch;
	int min_proto, max_proto; /* TLS1_2_VERSION, TLS1_3_VERSION; 0 = default */
	char grade[8];            /* "high", "medium"; "" = default */
	char ciphers[64];         /* OpenSSL list for grade; "" = default */
	char servername[256];     /* "hostname", "nexthop" or a DNS name; "" at
	                           * level none */
	/* Where it came from: "FILE:LINE key KEY" for a table entry, the where
	 * given to tr_policy_parse_value, or what the caller writes here (e.g.
	 * "tls_security_level"); "" = unknown. Truncated if need be. */
	char source[300];
	/* Levels dane and dane-only only: the least a server without usable
	 * TLSA records gets, raised by a message's requirement (demand.h R4;
	 * set by the demand, shown by tr_policy_format as floor=LEVEL).
	 * TR_TLS_NONE (0): no floor, Postfix's fallback (may, or encrypt for
	 * unusable records). With a floor of verify or secure, match holds
	 * that level's names. Never set by the policy syntax. */
	tr_tls_level floor;
} tr_policy;

typedef struct tr_policy_map tr_policy_map;

/* Read and check the whole table at path. Returns a map owned by the caller
 * (tr_policy_map_free), or NULL with *st set (see ERRORS above); st may be
 * NULL. An empty file gives an empty map.
 * Returns: the map, or NULL with *st CONFIG 4.3.5, INTERNAL 4.3.0. */
tr_policy_map *tr_policy_map_load(const char *path, tlsrelay_status *st);

/* Check mode (tlsrelay -t): read the table at path reporting every problem
 * to fn ("FILE:LINE: reason") instead of stopping at the first. Returns
 * the number of problems. */
int tr_policy_map_check(const char *path, tr_report_fn fn, void *arg);

/* Free m and everything it holds; NULL is harmless. */
void tr_policy_map_free(tr_policy_map *m);

/* Number of entries (0 for NULL). */
size_t tr_policy_map_size(const tr_policy_map *m);

/* The entry of m at level dane or dane-only that comes first in the file,
 * as "FILE:LINE key KEY" into where (cap bytes): 1; 0 when there is none. */
int tr_policy_map_first_dane(const tr_policy_map *m, char *where, size_t cap);

/* Find the policy for nh (see LOOKUP above). Returns 1 with *out filled
 * (out->source = "FILE:LINE key KEY"), 0 when no key matches, m or nh is
 * NULL (*out untouched). m is not modified: concurrent lookups are safe. */
int tr_policy_lookup(const tr_policy_map *m, const tr_nexthop *nh,
                     tr_policy *out);

/* The policy of nh: its entry in m (returns 1), else tr_policy_from_level
 * (level) with source "tls_security_level" (returns 0). m may be NULL. */
int tr_policy_for_nexthop(const tr_policy_map *m, const tr_nexthop *nh,
                          tr_tls_level level, tr_policy *out);

/* Parse one POLICY (see above); where (may be NULL) prefixes error texts and
 * becomes out->source ("" when NULL). Values longer than TR_POLICY_LINE_MAX
 * are refused. Returns TLSRELAY_OK with *out filled, or TLSRELAY_CONFIG
 * with *st set and *out untouched. value NULL = "".
 * Returns: OK, CONFIG 4.3.5. */
tlsrelay_cat tr_policy_parse_value(const char *value, const char *where,
                                   tr_policy *out, tlsrelay_status *st);

/* The default policy for level: verify: match hostname; secure: match
 * nexthop, dot-nexthop; fingerprint: no digests (matches nothing: the
 * caller must add some); servername "hostname" ("" at level none); no
 * protocol, cipher or source. */
void tr_policy_from_level(tr_tls_level level, tr_policy *out);

/* One line for `tlsrelay -q`, e.g.
 *   "secure match=nexthop:dot-nexthop protocols=>=TLSv1.2 (from FILE:12 key
 *    .example.com)"
 * The level, then floor=LEVEL when a message's requirement set one (not
 * policy syntax: only this display shows it), match= (':'-separated names,
 * '|'-separated digests; at dane/dane-only the floor's names) when
 * there are any, protocols= (">=V", "<=V", ">=V:<=W", or "V" when min = max)
 * when set, ciphers=GRADE when set, servername= when not "hostname"/"",
 * then " (from SOURCE)" when source is not "". Always NUL-terminated when
 * cap > 0 (truncated if cap < TR_POLICY_TEXT_MAX). Returns out. */
char *tr_policy_format(const tr_policy *p, char *out, size_t cap);

/* Lower-case ASCII copy of src into dst (cap bytes, always terminated):
 * keys and names (the policy map; the TLS history and MTA-STS cache keys).
 * src NULL copies "". */
void tr_policy_lower(char *dst, const char *src, size_t cap);

#endif

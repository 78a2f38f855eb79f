/*
 * demand.h - what one server must satisfy: the TLS demand (demand.c).
 *
 * ONE PURE FUNCTION
 *   tr_demand_for_server() takes every policy input of one server and gives
 *   one value, the demand: the level in force there, how the certificate is
 *   authenticated (nothing, pinned digests, CA + names, DANE), the names to
 *   match, the SNI, the pins, the protocol bounds and ciphers, and where each
 *   part came from. No I/O, no globals, no allocation: the same inputs give
 *   the same demand, so a candidate policy (a shadow policy) can be computed
 *   next to the live one, a table test can pin every rule, and a cache (the
 *   TLS session cache, a connection cache) can key on tr_demand_key().
 *   The session holds a const pointer to the demand; nothing changes a
 *   demand after it is made.
 *
 * INPUTS (tr_demand_in; facts gathered by the routing code, deliver.c)
 *   policy, mapped   the nexthop's policy: its tls_policy_map entry
 *                    (mapped = 1) or tls_security_level's (mapped = 0)
 *   force_level      tlsrelay-probe -l (TR_TLS_INVALID: none)
 *   msg_level        the message's own requirement: X-TLSRelay-Require or a
 *                    message rule (TR_TLS_INVALID or <= may: none), with
 *                    msg_source naming it
 *   tls_required_no  RFC 8689 "TLS-Required: No", honoured (the caller
 *                    checked tls_required_enable)
 *   sts              the MTA-STS policy found for the nexthop domain when
 *                    mta_sts = yes (NULL: none), sts_id its id
 *   is_relay         the nexthop is the relay host or -r (no MTA-STS)
 *   host             the server's host name (MX or relay host); NULL for
 *                    the nexthop-level part only (tlsrelay -q, the Exim
 *                    object)
 *   dane             the DANE facts of host (dane.h; NULL or TR_DANE_OFF:
 *                    not looked up)
 *   cred_key         the sasl_password_map key of host's credentials, or
 *                    NULL: credentials make TLS required
 *
 * RULES, in this order (each in one named function of demand.c)
 *   R1 base       the map entry, else tls_security_level.
 *   R2 forced     tlsrelay-probe -l replaces the base (and its names).
 *   R3 relax      TLS-Required: No turns a base level dane that comes from
 *                 tls_security_level into may (no TLSA lookups), unless the
 *                 message's own requirement asks for more than may; a map
 *                 entry and dane-only are the admin's word and stay. Under
 *                 it an MTA-STS enforce policy is applied as testing.
 *   R4 message    the message's requirement R (the strongest of its
 *                 X-TLSRelay-Require header and the message_rules levels of
 *                 the envelope) only ever raises the policy D:
 *                   D fingerprint, dane-only   kept (a pinned certificate,
 *                                              or DANE or nothing, satisfies
 *                                              every level)
 *                   D dane                     R dane-only: dane-only;
 *                                              R encrypt, verify, secure:
 *                                              DANE kept, R is the floor of
 *                                              the servers DANE falls back
 *                                              for (with R's names)
 *                   D none, may, encrypt; R dane   dane, with D as the
 *                                              floor (no TLSA records must
 *                                              not mean may)
 *                   D below R otherwise        R with R's default names;
 *                                              verify raised to secure keeps
 *                                              the admin's names except
 *                                              "hostname", the defaults only
 *                                              when none is left
 *                   D at or above R            kept (Postfix order: verify
 *                                              and secure satisfy dane and
 *                                              dane-only)
 *                 Protocols, ciphers and servername are kept.
 *   R5 DANE       (levels dane, dane-only) usable TLSA records: level dane,
 *                 auth DANE, names the DANE reference names, SNI the TLSA
 *                 base domain (via an insecure MX RRset: a match is
 *                 Trusted, and dane-only defers). Otherwise dane-only skips
 *                 the server (4.7.5), and dane falls back to may (no
 *                 records, insecure addresses, an IP literal) or encrypt
 *                 (records, none usable), raised to the R4 floor; a failed
 *                 TLSA lookup skips the server under both.
 *   R6 MTA-STS    (mta_sts policy, MX delivery to the recipient domain, no
 *                 map entry, not the relay host) a server with usable TLSA
 *                 records is DANE's alone. enforce: a host that matches no
 *                 mx pattern is skipped (4.7.5); a level below verify
 *                 becomes verify, names = the host, matched against
 *                 subjectAltName DNS-IDs only (RFC 8461 4.2), SNI = the
 *                 host. testing: nothing changes (sts_testing = 1: the
 *                 session's TLS result is reported, not enforced).
 *   R7 credentials  credentials for the server and level may: encrypt
 *                 (they are never sent in plaintext). Level none stays
 *                 none (AUTH then fails before sending anything).
 *   R8 names      verify/secure: the match= words (hostname, nexthop,
 *                 dot-nexthop, a name) expanded for host; fingerprint: the
 *                 digests are pins; below: the host name, only for the
 *                 trust word of the log. SNI: servername= (hostname,
 *                 nexthop or a name), default the host.
 *
 * PREDICATES: name the question instead of comparing levels (Postfix's
 * TLS_MUST_MATCH style). tr_level_* on a bare level, tr_demand_* on a
 * demand.
 */
#ifndef TR_DEMAND_H
#define TR_DEMAND_H

#include "tlsrelay.h"
#include "dane.h"
#include "dns.h"
#include "nexthop.h"
#include "policy.h"
#include "sts_policy.h"
#include "tls_level.h"

/* How the server's certificate is authenticated. */
typedef enum tr_auth {
	TR_AUTH_NONE = 0,      /* not at all: levels none, may, encrypt */
	TR_AUTH_PINS,          /* a pinned certificate or public-key digest */
	TR_AUTH_CA_NAME,       /* a trusted CA chain and one of the names */
	TR_AUTH_DANE           /* a usable TLSA record (RFC 7672) */
} tr_auth;

/* Where a part of the demand came from. */
typedef enum tr_src {
	TR_SRC_NONE = 0,
	TR_SRC_SETTING,        /* tls_security_level */
	TR_SRC_MAP,            /* a tls_policy_map entry */
	TR_SRC_FORCED,         /* tlsrelay-probe -l */
	TR_SRC_MESSAGE,        /* X-TLSRelay-Require or a message rule */
	TR_SRC_TLS_REQUIRED_NO,/* RFC 8689 TLS-Required: No */
	TR_SRC_DANE,           /* the server's TLSA records (or their absence) */
	TR_SRC_STS,            /* the domain's MTA-STS policy */
	TR_SRC_CREDENTIALS,    /* sasl_password_map: TLS for the password */
	TR_SRC_HOST            /* the server's own name (a default) */
} tr_src;

#define TR_DEMAND_SRC_MAX 320

/* What R3 (TLS-Required: No) did to a DANE-based level. */
typedef enum tr_relax {
	TR_RELAX_NONE = 0,     /* not asked, or the level is not DANE-based */
	TR_RELAX_DONE,         /* dane from tls_security_level became may */
	TR_RELAX_KEPT          /* asked, but the level is the admin's (a map
	                        * entry, dane-only) or the message's own */
} tr_relax;

typedef struct tr_demand_src {
	tr_src kind;
	char text[TR_DEMAND_SRC_MAX];  /* "FILE:LINE key KEY", "tls_security_level",
	                                * "X-TLSRelay-Require: verify", ... */
} tr_demand_src;

typedef struct tr_demand_in {
	const tr_nexthop *nh;
	const tr_policy *policy;
	int mapped;
	tr_tls_level force_level;
	tr_tls_level msg_level;
	const char *msg_source;
	int tls_required_no;
	const tr_sts_policy *sts;
	const char *sts_id;
	int is_relay;
	const char *host;
	const tr_dane_host *dane;
	const char *cred_key;
} tr_demand_in;

/* An input with nothing set: no forced or message level, no STS, no DANE,
 * no credentials (set nh, policy and host after it). */
void tr_demand_in_init(tr_demand_in *in);

typedef struct tr_demand {
	tr_tls_level level;            /* in force at this server */
	int skip;                      /* do not connect (why: 4.7.5) */
	char why[TLSRELAY_TEXT_MAX];   /* the reason of skip, one line */
	tr_auth auth;
	int san_only;                  /* names match subjectAltName DNS-IDs only */
	char names[TR_POLICY_MAX_MATCH][TR_HOSTNAME_MAX + 2];
	int nnames;                    /* ".example.com" = any subdomain */
	char pins[TR_POLICY_MAX_MATCH][96];  /* "AB:CD:..." SHA-256 digests */
	int npins;
	char sni[TR_HOSTNAME_MAX];     /* "" or an IP literal: none is sent */
	int min_proto, max_proto;      /* TLS1_2_VERSION...; 0 = default */
	char ciphers[64];              /* OpenSSL list for TLS <= 1.2; "" */
	const tr_dane_host *dane;      /* auth DANE: the records (the input's:
	                                * valid as long as it is) */
	int dane_trusted_only;         /* DANE via an insecure MX RRset: a match
	                                * is Trusted, not Verified */
	tr_sts_mode sts_mode;          /* the MTA-STS mode applied at this server
	                                * (none when STS does not apply here) */
	int sts_relaxed;               /* enforce applied as testing (RFC 8689) */
	tr_relax dane_relaxed;         /* what R3 did */
	tr_demand_src level_src;       /* the level */
	tr_demand_src auth_src;        /* names, pins or TLSA records */
	tr_demand_src base_src;        /* the nexthop policy it started from */
} tr_demand;

/* The demand for in->host under every input (see RULES). Never fails:
 * a server that must not be tried has d->skip set and d->why. */
void tr_demand_for_server(const tr_demand_in *in, tr_demand *d);

/* The nexthop-level part (R1-R4, host unknown): what the routing code
 * needs before it looks up anything (is the level DANE-based? does
 * MTA-STS apply?), what tlsrelay -q and the Exim object show. */
void tr_demand_for_nexthop(const tr_demand_in *in, tr_demand *d);

/* The nexthop's policy after R1-R4 as a tr_policy (the match= words not
 * expanded, source = the level's source): what tlsrelay -q, the probe and
 * the logs show with tr_policy_format(). */
void tr_demand_nexthop_policy(const tr_demand_in *in, tr_policy *out);

/* What DANE gave a server, for -q and logs: "DANE (WHY)", "LEVEL (WHY)" for
 * a fallback ("LEVEL (WHY; level LEVEL: the message requires it)" when the
 * message's floor raised it), "deferred (4.7.5 WHY)" for a skip. Returns
 * out. */
char *tr_demand_describe_dane(const tr_demand *d, const tr_dane_host *h, char *out,
                              size_t cap);

/* Does MTA-STS apply to this nexthop at all (the routing code then looks
 * the policy up)? mta_sts is the setting. */
int tr_demand_wants_sts(const tr_demand_in *in, int mta_sts);

/* A canonical text of everything the session enforces (level, auth, names,
 * pins, SNI, protocols, ciphers, san_only, the TLSA records): equal keys,
 * identical demands. Sources are not part of it. Returns the length, or
 * -1 when cap is too small (out then holds a truncated key). */
int tr_demand_key(const tr_demand *d, char *out, size_t cap);

/* One line for logs and tlsrelay -q: "verify match=mx.example.com
 * sni=mx.example.com (from FILE:3 key example.com + MTA-STS id 123)". */
char *tr_demand_format(const tr_demand *d, char *out, size_t cap);

/* ------------------------------------------------------------ predicates */

/* The level asks for TLS (may and above). */
int tr_level_uses_tls(tr_tls_level l);
/* The level forbids plaintext (encrypt and above). */
int tr_level_tls_required(tr_tls_level l);
/* The level authenticates the certificate by a CA and names (verify,
 * secure). */
int tr_level_must_match(tr_tls_level l);
/* The level is DANE-based (dane, dane-only). */
int tr_level_dane(tr_tls_level l);

/* STARTTLS is tried at this server. */
int tr_demand_uses_tls(const tr_demand *d);
/* Plaintext is refused at this server. */
int tr_demand_tls_required(const tr_demand *d);
/* A failed or refused STARTTLS may go on in plaintext (level may). */
int tr_demand_plaintext_ok(const tr_demand *d);

/* "none", "pins", "ca+name", "dane". */
const char *tr_auth_name(tr_auth a);
/* "tls_security_level", "tls_policy_map", ... */
const char *tr_src_name(tr_src s);

#endif

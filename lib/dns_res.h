/*
 * dns_res.h - the resolver core shared by dns.c (MX, addresses),
 * dns_tlsa.c (TLSA) and dns_txt.c (TXT): name syntax, a private res_state
 * per lookup, one query with its outcome and DNSSEC status, and a walk
 * over the answer records of one type that follows CNAMEs. Private to the
 * library.
 *
 * DNSSEC status: a query made with tr_dns.dnssec set asks for DNSSEC
 * records (EDNS0 with the DO bit) and keeps the AD bit of the answer
 * (RES_TRUSTAD). tr_dns_answer.ad is that bit: 1 means the resolver says
 * it validated the answer. The library has no validator of its own: the AD
 * bit is only as trustworthy as the path to the resolver (a validating
 * resolver the admin runs on the same host; see tlsrelay.conf(5)).
 */
#ifndef TR_DNS_RES_H
#define TR_DNS_RES_H

#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <resolv.h>
#include "dns.h"

#define TR_DNS_BUFSIZE     65536  /* largest DNS message */

/* Outcome of one query. */
typedef enum tr_dns_res {
	TR_DNS_OK,          /* records of the type (or a CNAME) in the answer */
	TR_DNS_NODATA,      /* the name exists, no record of the type */
	TR_DNS_NXDOMAIN,    /* no such name */
	TR_DNS_TEMP         /* SERVFAIL (also DNSSEC bogus), timeout, bad answer */
} tr_dns_res;

/* One query's answer: buf (TR_DNS_BUFSIZE bytes, the caller's) holds the
 * message that msg parses (msg is valid for TR_DNS_OK only). */
typedef struct tr_dns_answer {
	unsigned char *buf;
	ns_msg msg;
	int herr;       /* resolver h_errno after a failure */
	int err;        /* errno after a failure */
	int ad;         /* AD bit of the answer (OK, NODATA, NXDOMAIN) */
} tr_dns_answer;

typedef int (*tr_rr_fn)(ns_msg *msg, ns_rr *rr, void *arg);

/* Copy a host/domain name to out (outsz bytes), lowercased, without the
 * trailing dot, checking LDH (plus '_') syntax and label lengths. 0 ok,
 * -1 bad. */
int tr_dns_norm_name(const char *in, char *out, size_t outsz);

/* Case-insensitive comparison of two names, ignoring one trailing dot. */
int tr_dns_same_name(const char *a, const char *b);

/* Whether text, an address as dns_resolver or resolv.conf write it
 * ("127.0.0.1", "127.0.0.1:5353", "::1", "[::1]:53", "fe80::1%eth0"), is
 * on loopback (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104). 1 or 0 (also for
 * what is not an address). */
int tr_dns_addr_loopback(const char *text);

/* Where the system resolver's name servers are. */
typedef enum tr_resolver_where {
	TR_RESOLVER_LOOPBACK = 0,  /* all on loopback (none, or no file: glibc
	                            * then asks 127.0.0.1) */
	TR_RESOLVER_REMOTE,        /* one is not: its address is in remote */
	TR_RESOLVER_UNREADABLE     /* the file cannot be read (errno kept) */
} tr_resolver_where;

/* The name servers the system resolver would use, from the resolv.conf
 * at path (the first MAXNS "nameserver" lines with an address, as
 * glibc); remote: cap bytes. Sends no query. */
tr_resolver_where tr_dns_system_resolver_remote(const char *path, char *remote, size_t cap);

/* What one lookup holds: a private resolver state and the buffer its
 * answers are read into (TR_DNS_BUFSIZE bytes, in ans.buf). Every lookup
 * (MX, addresses, TLSA, TXT, the DNSSEC self-test) opens one, queries it
 * (tr_dns_query(&r.rs, ..., &r.ans)) once or more, and closes it. */
typedef struct tr_dns_resolver {
	struct __res_state rs;
	tr_dns_answer ans;
} tr_dns_resolver;

/* How tr_dns_resolver_open failed. The caller words the failure itself
 * (a status with the name it looked up, TLSA's why line, a warning): the
 * texts differ, the two cases do not. */
typedef enum tr_dns_open_res {
	TR_DNS_OPEN_OK = 0,
	TR_DNS_OPEN_NOMEM,      /* the answer buffer: "out of memory" */
	TR_DNS_OPEN_RESOLVER    /* res_ninit failed or d's server is unusable:
	                         * "cannot initialise the resolver" */
} tr_dns_open_res;

/* Open r for one lookup: the answer buffer allocated, the private state
 * initialised with d's server, timeout, attempts; RES_TRUSTAD always,
 * EDNS0 + DO when d->dnssec. On failure nothing is held (no close). */
tr_dns_open_res tr_dns_resolver_open(const tr_dns *d, tr_dns_resolver *r);

/* Release what an open r holds (res_nclose, the buffer). */
void tr_dns_resolver_close(tr_dns_resolver *r);

/* One query of name/type into ans (ans->buf must be TR_DNS_BUFSIZE
 * bytes); classifies the outcome and records the AD bit. */
tr_dns_res tr_dns_query(res_state rs, const char *name, int type,
                        tr_dns_answer *ans);

/* Text for a TR_DNS_TEMP outcome ("DNS server failure or timeout", ...). */
const char *tr_dns_temp_reason(const tr_dns_answer *ans);

/* Call fn for each answer record of type that belongs to qname, following
 * CNAMEs in the answer (at most 8 hops). final (finalsz bytes, may be
 * NULL) receives the name the records belong to (qname when there is no
 * CNAME), without a trailing dot. -1 if the message is malformed or fn
 * returned -1. */
int tr_dns_walk(ns_msg *msg, const char *qname, int type, tr_rr_fn fn,
                void *arg, char *final, size_t finalsz);

#endif

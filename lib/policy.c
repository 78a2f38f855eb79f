/*
 * policy.c - TLS policy values and the per-destination policy table (see
 * policy.h).
 *
 * A table is an array of (key, policy text, line) sorted by key for binary
 * search. Each policy text is parsed when the table is loaded, to report
 * errors with their line, and again on lookup: parsing is cheap and it keeps
 * an entry small (a parsed tr_policy is about 5 KB).
 */
#include "config.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/ssl.h>
#include "policy.h"
#include "status.h"

#define WHERE_PATH_MAX 200       /* bytes of a file name kept in "file:line" */
#define WHERE_MAX      (WHERE_PATH_MAX + 32)
#define KEY_MAX        TR_NEXTHOP_TEXT_MAX
#define TOKEN_SEPS     " \t,"    /* between the level and attributes */
#define CIPHERS_HIGH   "HIGH:!aNULL:!eNULL"
#define CIPHERS_MEDIUM "HIGH:MEDIUM:!aNULL:!eNULL"

/* ------------------------------------------------------------ error texts */

static tlsrelay_cat no_memory(tlsrelay_status *st)
{
	return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
}

/* "none, may, ..., secure": every level name. */
static const char *level_names(char *buf, size_t cap)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int lv = TR_TLS_NONE; lv <= TR_TLS_SECURE && used < cap; lv++)
		used += (size_t)snprintf(buf + used, cap - used, "%s%s",
		                         used ? ", " : "",
		                         tr_tls_level_name((tr_tls_level)lv));
	return buf;
}

/* ------------------------------------------------------------- text bits */

/* ASCII lower-case copy, truncated to cap - 1 bytes. */
static void lower_copy(char *dst, const char *src, size_t cap)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < cap; i++)
		dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] + 32)
		                                          : src[i];
	dst[i] = '\0';
}

/* A host name as nexthop.h accepts it (letters, digits, '-', '_' and '.',
 * no empty label, at most 255 bytes), without brackets or port. */
static int dns_name_ok(const char *s)
{
	tr_nexthop nh;

	return strpbrk(s, ":[]") == NULL && tr_nexthop_parse(s, &nh, NULL, 0) == 0;
}

static int is_one_of(const char *s, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(s, words[i]) == 0)
			return 1;
	return 0;
}

/* ---------------------------------------------------------------- match= */

/* Append text (at most 255 bytes: the callers check). */
static tlsrelay_cat add_match(tr_policy *p, const char *text,
                              const char *where, tlsrelay_status *st)
{
	if (p->nmatch >= TR_POLICY_MAX_MATCH)
		return tr_config_error(st, where, "too many match= values (at most %d)",
		                 TR_POLICY_MAX_MATCH);
	snprintf(p->match[p->nmatch++], sizeof p->match[0], "%s", text);
	return tr_status_ok(st);
}

/* "ab:CD:..." (32 hex pairs) into "AB:CD:..." (96 bytes). */
static int normalise_digest(const char *d, char *out)
{
	static const char hex[] = "0123456789ABCDEFabcdef";

	if (strlen(d) != 32 * 3 - 1)
		return -1;
	for (size_t i = 0; i < 32 * 3 - 1; i++) {
		char c = d[i];
		if (i % 3 == 2 ? c != ':' : strchr(hex, c) == NULL)
			return -1;
		out[i] = (c >= 'a' && c <= 'f') ? (char)(c - 32) : c;
	}
	out[32 * 3 - 1] = '\0';
	return 0;
}

static tlsrelay_cat add_digests(char *val, tr_policy *p, const char *where,
                                tlsrelay_status *st)
{
	char norm[96], q[TR_QUOTE_MAX + 4];
	tlsrelay_cat rc;
	char *d;

	while ((d = strsep(&val, "|")) != NULL) {
		if (normalise_digest(d, norm) != 0)
			return tr_config_error(st, where, "bad fingerprint \"%s\": expected a "
			                 "SHA-256 digest, 32 hex byte pairs separated "
			                 "by \":\"", tr_quote(d, q));
		if ((rc = add_match(p, norm, where, st)) != TLSRELAY_OK)
			return rc;
	}
	return tr_status_ok(st);
}

static tlsrelay_cat add_names(char *val, tr_policy *p, const char *where,
                              tlsrelay_status *st)
{
	static const char *const words[] = { "hostname", "nexthop", "dot-nexthop" };
	char q[TR_QUOTE_MAX + 4], low[256];
	tlsrelay_cat rc;
	char *n;

	while ((n = strsep(&val, ":")) != NULL) {
		if (strlen(n) > 255 || (!is_one_of(n, words, 3) &&
		                        !dns_name_ok(n[0] == '.' ? n + 1 : n)))
			return tr_config_error(st, where, "bad match name \"%s\": expected "
			                 "hostname, nexthop, dot-nexthop, a DNS name or "
			                 ".domain", tr_quote(n, q));
		lower_copy(low, n, sizeof low);
		if ((rc = add_match(p, low, where, st)) != TLSRELAY_OK)
			return rc;
	}
	return tr_status_ok(st);
}

static tlsrelay_cat parse_match(char *val, tr_policy *p, const char *where,
                                tlsrelay_status *st)
{
	if (p->level == TR_TLS_FINGERPRINT)
		return add_digests(val, p, where, st);
	if (p->level == TR_TLS_VERIFY || p->level == TR_TLS_SECURE)
		return add_names(val, p, where, st);
	return tr_config_error(st, where, "attribute \"match\" is not allowed at level "
	                 "%s (only at fingerprint, verify and secure)",
	                 tr_tls_level_name(p->level));
}

/* ------------------------------------------------------------ protocols= */

/* Postfix's protocol names, oldest first; this client uses the last two. */
static const char *const protos[] = {
	"SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"
};

#define NPROTOS 6
#define BIT12   (1u << 4)    /* TLSv1.2 */
#define BIT13   (1u << 5)    /* TLSv1.3 */

/* The set protocols= allows (bit i: protos[i]), clamped to TLSv1.2 and up;
 * *open: no upper bound was given. -1 with *bad = the unknown name. */
static int proto_set(char *val, unsigned *set, int *open, char **bad)
{
	unsigned incl = 0, excl = 0, range = (1u << NPROTOS) - 1;
	char *tok;
	int i, skip;

	*open = 1;
	while ((tok = strsep(&val, ":")) != NULL) {
		skip = tok[0] == '!' ? 1
		       : (tok[0] == '>' || tok[0] == '<') && tok[1] == '=' ? 2 : 0;
		for (i = 0; i < NPROTOS && strcasecmp(tok + skip, protos[i]); i++)
			continue;
		if (i == NPROTOS) {
			*bad = tok + skip;
			return -1;
		}
		if (skip == 1)
			excl |= 1u << i;
		else if (skip == 0)
			incl |= 1u << i;
		else if (tok[0] == '>')
			range &= ~((1u << i) - 1);        /* drop those below i */
		else
			range &= (1u << (i + 1)) - 1;     /* drop those above i */
		*open &= skip == 1 || tok[0] == '>';
	}
	*set = (incl ? incl : ~0u) & ~excl & range & (BIT12 | BIT13);
	return 0;
}

static tlsrelay_cat parse_protocols(char *val, tr_policy *p, const char *where,
                                    tlsrelay_status *st)
{
	char q[TR_QUOTE_MAX + 4], q2[TR_QUOTE_MAX + 4], *bad;
	unsigned set;
	int open;

	tr_quote(val, q);
	if (proto_set(val, &set, &open, &bad) != 0)
		return tr_config_error(st, where, "bad protocols \"%s\": unknown protocol "
		                 "\"%s\" (expected SSLv2, SSLv3, TLSv1, TLSv1.1, "
		                 "TLSv1.2 or TLSv1.3)", q, tr_quote(bad, q2));
	if (set == 0)
		return tr_config_error(st, where, "bad protocols \"%s\": allows no protocol "
		                 "this client uses (TLSv1.2, TLSv1.3)", q);
	p->min_proto = (set & BIT12) ? TLS1_2_VERSION : TLS1_3_VERSION;
	p->max_proto = !(set & BIT13) ? TLS1_2_VERSION : open ? 0 : TLS1_3_VERSION;
	return tr_status_ok(st);
}

/* ------------------------------------------------- ciphers=, servername= */

static tlsrelay_cat parse_ciphers(char *val, tr_policy *p, const char *where,
                                  tlsrelay_status *st)
{
	static const struct {
		const char *grade, *list;
	} grades[] = { { "high", CIPHERS_HIGH }, { "medium", CIPHERS_MEDIUM } };
	char q[TR_QUOTE_MAX + 4];

	for (size_t i = 0; i < sizeof grades / sizeof grades[0]; i++) {
		if (strcasecmp(val, grades[i].grade) == 0) {
			strcpy(p->grade, grades[i].grade);
			strcpy(p->ciphers, grades[i].list);
			return tr_status_ok(st);
		}
	}
	return tr_config_error(st, where, "bad ciphers \"%s\": expected high or medium",
	                 tr_quote(val, q));
}

static tlsrelay_cat parse_servername(char *val, tr_policy *p,
                                     const char *where, tlsrelay_status *st)
{
	static const char *const words[] = { "hostname", "nexthop" };
	char q[TR_QUOTE_MAX + 4];

	if (!is_one_of(val, words, 2) && !dns_name_ok(val))
		return tr_config_error(st, where, "bad servername \"%s\": expected "
		                 "hostname, nexthop or a DNS name", tr_quote(val, q));
	lower_copy(p->servername, val, sizeof p->servername);
	return tr_status_ok(st);
}

/* -------------------------------------------------------------- a policy */

typedef tlsrelay_cat (*attr_fn)(char *val, tr_policy *p, const char *where,
                                tlsrelay_status *st);

static const struct attr {
	const char *name;
	int once;          /* may be given once only */
	attr_fn parse;     /* NULL: a Postfix attribute tlsrelay lacks */
} attrs[] = {
	{ "match",            0, parse_match },
	{ "protocols",        1, parse_protocols },
	{ "ciphers",          1, parse_ciphers },
	{ "servername",       1, parse_servername },
	{ "exclude",          1, NULL },
	{ "tafile",           0, NULL },
	{ "connection_reuse", 1, NULL },
	{ "enable_rpk",       1, NULL },
};

#define NATTRS (sizeof attrs / sizeof attrs[0])

/* One "name=value" token; *seen: bit i = attrs[i] given already. */
static tlsrelay_cat parse_attr(char *tok, tr_policy *p, unsigned *seen,
                               const char *where, tlsrelay_status *st)
{
	char *eq = strchr(tok, '='), q[TR_QUOTE_MAX + 4];
	const struct attr *a = NULL;
	unsigned bit;

	if (eq == NULL || eq == tok)
		return tr_config_error(st, where, "malformed attribute \"%s\": expected "
		                 "name=value", tr_quote(tok, q));
	*eq = '\0';
	for (size_t i = 0; i < NATTRS && a == NULL; i++)
		if (strcasecmp(tok, attrs[i].name) == 0)
			a = &attrs[i];
	if (a == NULL)
		return tr_config_error(st, where, "unknown attribute \"%s\"", tr_quote(tok, q));
	if (a->parse == NULL)
		return tr_config_error(st, where, "attribute \"%s\" is not supported by "
		                 "tlsrelay", a->name);
	if (p->level == TR_TLS_NONE)
		return tr_config_error(st, where, "attribute \"%s\" is not allowed at level "
		                 "none (TLS is disabled)", a->name);
	if (eq[1] == '\0')
		return tr_config_error(st, where, "attribute \"%s\" has an empty value",
		                 a->name);
	bit = 1u << (unsigned)(a - attrs);
	if (a->once && (*seen & bit))
		return tr_config_error(st, where, "attribute \"%s\" is given more than "
		                 "once", a->name);
	*seen |= bit;
	return a->parse(eq + 1, p, where, st);
}

/* Defaults for whatever the policy text left unset. */
static void apply_defaults(tr_policy *p)
{
	if (p->nmatch == 0 && p->level == TR_TLS_VERIFY) {
		strcpy(p->match[p->nmatch++], "hostname");
	} else if (p->nmatch == 0 && p->level == TR_TLS_SECURE) {
		strcpy(p->match[p->nmatch++], "nexthop");
		strcpy(p->match[p->nmatch++], "dot-nexthop");
	}
	if (p->servername[0] == '\0' && p->level > TR_TLS_NONE)
		strcpy(p->servername, "hostname");
}

void tr_policy_from_level(tr_tls_level level, tr_policy *out)
{
	memset(out, 0, sizeof *out);
	out->level = level;
	apply_defaults(out);
}

/* Checks of the text as a whole, then a copy to cut into tokens in buf. */
static tlsrelay_cat policy_text(const char *value, const char *where,
                                char *buf, tlsrelay_status *st)
{
	char q[TR_QUOTE_MAX + 4];

	if (strlen(value) > TR_POLICY_LINE_MAX)
		return tr_config_error(st, where, "policy longer than %d bytes",
		                 TR_POLICY_LINE_MAX);
	for (const char *c = value; *c != '\0'; c++)
		if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
			return tr_config_error(st, where, "control character in policy \"%s\"",
			                 tr_quote(value, q));
	strcpy(buf, value);
	return tr_status_ok(st);
}

tlsrelay_cat tr_policy_parse_value(const char *value, const char *where,
                                   tr_policy *out, tlsrelay_status *st)
{
	char buf[TR_POLICY_LINE_MAX + 1], q[TR_QUOTE_MAX + 4], names[128];
	char *cur, *tok;
	unsigned seen = 0;
	tlsrelay_cat rc;
	tr_policy p;

	if ((rc = policy_text(value ? value : "", where, buf, st)) != TLSRELAY_OK)
		return rc;
	if ((tok = strtok_r(buf, TOKEN_SEPS, &cur)) == NULL)
		return tr_config_error(st, where, "empty policy: expected a security level");
	memset(&p, 0, sizeof p);
	if ((p.level = tr_tls_level_from_name(tok)) == TR_TLS_INVALID)
		return tr_config_error(st, where, "unknown security level \"%s\" (expected "
		                 "one of: %s)", tr_quote(tok, q),
		                 level_names(names, sizeof names));
	while ((tok = strtok_r(NULL, TOKEN_SEPS, &cur)) != NULL)
		if ((rc = parse_attr(tok, &p, &seen, where, st)) != TLSRELAY_OK)
			return rc;
	if (p.level == TR_TLS_FINGERPRINT && p.nmatch == 0)
		return tr_config_error(st, where, "level fingerprint needs match= with at "
		                 "least one SHA-256 digest");
	apply_defaults(&p);
	snprintf(p.source, sizeof p.source, "%s", where ? where : "");
	*out = p;
	return tr_status_ok(st);
}

/* ---------------------------------------------------------------- format */

/* Append to out (cap bytes, *used of them used), truncating. */
static TR_PRINTF(4, 5) void put(char *out, size_t cap, size_t *used,
                                const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out + *used, cap - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used = (size_t)n >= cap - *used ? cap : *used + (size_t)n;
}

static const char *version_name(int v)
{
	return v == TLS1_3_VERSION ? "TLSv1.3" : v == TLS1_2_VERSION ? "TLSv1.2" : "?";
}

char *tr_policy_format(const tr_policy *p, char *out, size_t cap)
{
	const char *sep = p->level == TR_TLS_FINGERPRINT ? "|" : ":";
	const char *lo = version_name(p->min_proto);
	const char *hi = version_name(p->max_proto);
	size_t used = 0;

	if (out == NULL || cap == 0)
		return out;
	out[0] = '\0';
	put(out, cap, &used, "%s", tr_tls_level_name(p->level));
	for (int i = 0; i < p->nmatch && i < TR_POLICY_MAX_MATCH; i++)
		put(out, cap, &used, "%s%.255s", i ? sep : " match=", p->match[i]);
	if (p->min_proto && p->max_proto == p->min_proto)
		put(out, cap, &used, " protocols=%s", lo);
	else if (p->min_proto && p->max_proto)
		put(out, cap, &used, " protocols=>=%s:<=%s", lo, hi);
	else if (p->min_proto || p->max_proto)
		put(out, cap, &used, " protocols=%s%s", p->min_proto ? ">=" : "<=",
		    p->min_proto ? lo : hi);
	if (p->grade[0] != '\0')
		put(out, cap, &used, " ciphers=%.7s", p->grade);
	if (p->servername[0] != '\0' && strcmp(p->servername, "hostname") != 0)
		put(out, cap, &used, " servername=%.255s", p->servername);
	if (p->source[0] != '\0')
		put(out, cap, &used, " (from %.299s)", p->source);
	return out;
}

/* ------------------------------------------------------------------ keys */

/* Lower case; IPv6 addresses in inet_ntop form. out: 256 bytes. */
static void canon_host(const char *host, char *out)
{
	struct in6_addr a6;

	if (strchr(host, ':') != NULL && inet_pton(AF_INET6, host, &a6) == 1 &&
	    inet_ntop(AF_INET6, &a6, out, 256) != NULL)
		return;
	lower_copy(out, host, 256);
}

/* "[h]", "[h]:port", "h" or "h:port" (port 0: none). out: KEY_MAX. */
static void make_key(const char *host, int bracket, int port, char *out)
{
	char h[256];

	canon_host(host, h);
	if (port)
		snprintf(out, KEY_MAX, bracket ? "[%s]:%d" : "%s:%d", h, port);
	else
		snprintf(out, KEY_MAX, bracket ? "[%s]" : "%s", h);
}

/* A key as written into its canonical form (out: KEY_MAX); -1 with why. */
static int normalise_key(const char *key, char *out, char *why, size_t wcap)
{
	const char *text = key[0] == '.' ? key + 1 : key;
	size_t n = strcspn(text, ":");
	tr_nexthop nh;

	if (key[0] == '.' && key[1] == '\0') {
		snprintf(why, wcap, "empty domain after \".\"");
		return -1;
	}
	if (tr_nexthop_parse(text, &nh, why, wcap) != 0)
		return -1;
	if (nh.implicit_tls || (text[0] != '[' && text[n] == ':' &&
	                        (n != strlen(nh.host) ||
	                         strncmp(text, nh.host, n) != 0))) {
		snprintf(why, wcap, "no \"smtp:\" or \"smtps:\" prefix in keys");
		return -1;
	}
	if (text != key && (!nh.mx_lookup || text[n] == ':')) {
		snprintf(why, wcap, "a \".domain\" key takes no brackets or port");
		return -1;
	}
	if (text != key) {
		out[0] = '.';
		canon_host(nh.host, out + 1);
	} else {
		make_key(nh.host, !nh.mx_lookup,
		         strstr(text, text[0] == '[' ? "]:" : ":") ? nh.port : 0,
		         out);
	}
	return 0;
}

/* ----------------------------------------------------------------- table */

struct entry {
	char *key;             /* canonical; one allocation with value */
	const char *value;     /* the policy text, checked */
	unsigned long line;    /* first line of the entry */
};

struct tr_policy_map {
	struct entry *v;
	size_t n, cap;
	char path[WHERE_PATH_MAX + 4];   /* the file name for texts */
	tr_report_fn report;             /* check mode: every problem here */
	void *report_arg;
	int nerr;                        /* check mode: problems reported */
};

/* Check mode: report the problem in *st and go on (returns OK). */
static tlsrelay_cat go_on(tr_policy_map *m, tlsrelay_cat rc,
                          const tlsrelay_status *st)
{
	if (rc != TLSRELAY_CONFIG || m->report == NULL)
		return rc;
	m->report(m->report_arg, st->text);
	m->nerr++;
	return TLSRELAY_OK;
}

/* The entry being collected from its first line and continuations. */
struct pending {
	char text[TR_POLICY_LINE_MAX + 1];
	size_t len;                /* 0: none */
	unsigned long line;
};

static int add_entry(tr_policy_map *m, const char *key, const char *value,
                     unsigned long line)
{
	size_t kl = strlen(key), vl = strlen(value);
	struct entry *nv;
	char *mem;

	if (m->n == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		if ((nv = realloc(m->v, ncap * sizeof *nv)) == NULL)
			return -1;
		m->v = nv;
		m->cap = ncap;
	}
	if ((mem = malloc(kl + vl + 2)) == NULL)
		return -1;
	memcpy(mem, key, kl + 1);
	memcpy(mem + kl + 1, value, vl + 1);
	m->v[m->n++] = (struct entry){ mem, mem + kl + 1, line };
	return 0;
}

/* The pending entry "KEY POLICY" (trimmed, not empty), if there is one. */
static tlsrelay_cat flush(tr_policy_map *m, struct pending *pe,
                          tlsrelay_status *st)
{
	char where[WHERE_MAX], key[KEY_MAX], why[256], q[TR_QUOTE_MAX + 4];
	char *text = pe->text, *value = text + strcspn(text, " \t");
	tlsrelay_cat rc;
	tr_policy p;

	if (pe->len == 0)
		return TLSRELAY_OK;
	pe->len = 0;
	snprintf(where, sizeof where, "%s:%lu", m->path, pe->line);
	if (*value != '\0')
		*value++ = '\0';
	value += strspn(value, " \t");
	if (*value == '\0')
		return tr_config_error(st, where, "no policy after key \"%s\"",
		                 tr_quote(text, q));
	if (normalise_key(text, key, why, sizeof why) != 0)
		return tr_config_error(st, where, "bad key \"%s\": %s", tr_quote(text, q), why);
	if ((rc = tr_policy_parse_value(value, where, &p, st)) != TLSRELAY_OK)
		return rc;
	if (m->n >= TR_POLICY_MAX_ENTRIES)
		return tr_config_error(st, where, "more than %d entries",
		                 TR_POLICY_MAX_ENTRIES);
	return add_entry(m, key, value, pe->line) ? no_memory(st) : TLSRELAY_OK;
}

/* One physical line: comment, blank, continuation or a new entry. */
static tlsrelay_cat take_line(tr_policy_map *m, struct pending *pe, char *line,
                              const char *where, unsigned long lineno,
                              tlsrelay_status *st)
{
	char *p = line + strspn(line, " \t");
	size_t n = strlen(p);
	tlsrelay_cat rc;

	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		p[--n] = '\0';
	if (n == 0 || *p == '#')
		return TLSRELAY_OK;
	if (p != line) {
		if (pe->len == 0)
			return tr_config_error(st, where, "continuation line (starting with "
			                 "white space) without an entry before it");
		if (pe->len + 1 + n > TR_POLICY_LINE_MAX)
			return tr_config_error(st, where, "entry longer than %d bytes",
			                 TR_POLICY_LINE_MAX);
		pe->text[pe->len++] = ' ';
		memcpy(pe->text + pe->len, p, n + 1);
		pe->len += n;
		return TLSRELAY_OK;
	}
	rc = flush(m, pe, st);   /* its error is returned after this line is */
	memcpy(pe->text, p, n + 1);   /* kept, so that check mode goes on */
	pe->len = n;
	pe->line = lineno;
	return rc;
}

/* Every line of fp (LF or CRLF ends), then the last entry. */
static tlsrelay_cat load_lines(tr_policy_map *m, FILE *fp, tlsrelay_status *st)
{
	char where[WHERE_MAX], *line = NULL;
	struct pending *pe = calloc(1, sizeof *pe);
	unsigned long lineno = 0;
	tlsrelay_cat rc = pe ? TLSRELAY_OK : no_memory(st);
	size_t lcap = 0;
	ssize_t n;

	while (rc == TLSRELAY_OK && (n = getline(&line, &lcap, fp)) >= 0) {
		snprintf(where, sizeof where, "%s:%lu", m->path, ++lineno);
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (memchr(line, '\0', (size_t)n) != NULL)
			rc = tr_config_error(st, where, "NUL byte in line (not a text file?)");
		else if (n > TR_POLICY_LINE_MAX)
			rc = tr_config_error(st, where, "line longer than %d bytes",
			               TR_POLICY_LINE_MAX);
		else
			rc = take_line(m, pe, line, where, lineno, st);
		rc = go_on(m, rc, st);
	}
	if (rc == TLSRELAY_OK && !feof(fp))
		rc = tr_config_error(st, m->path, "read error: %s", strerror(errno));
	else if (rc == TLSRELAY_OK)
		rc = go_on(m, flush(m, pe, st), st);
	free(line);
	free(pe);
	return rc;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* m sorted: report the duplicate key found first in the file, if any. */
static tlsrelay_cat check_duplicates(const tr_policy_map *m,
                                     tlsrelay_status *st)
{
	const struct entry *dup = NULL;
	char where[WHERE_MAX], q[TR_QUOTE_MAX + 4];

	for (size_t i = 1; i < m->n; i++) {
		if (strcmp(m->v[i].key, m->v[i - 1].key) != 0)
			continue;
		if (m->report) {   /* check mode: every one */
			snprintf(where, sizeof where, "%s:%lu", m->path, m->v[i].line);
			go_on((tr_policy_map *)m, tr_config_error(st, where,
			      "duplicate key \"%s\" (first at line %lu)",
			      tr_quote(m->v[i].key, q), m->v[i - 1].line), st);
		} else if (dup == NULL || m->v[i].line < dup->line) {
			dup = &m->v[i];
		}
	}
	if (dup == NULL)
		return tr_status_ok(st);
	snprintf(where, sizeof where, "%s:%lu", m->path, dup->line);
	return tr_config_error(st, where, "duplicate key \"%s\" (first at line %lu)",
	                 tr_quote(dup->key, q), dup[-1].line);
}

static tr_policy_map *map_load(const char *path, tr_report_fn fn, void *arg,
                               tlsrelay_status *st);

tr_policy_map *tr_policy_map_load(const char *path, tlsrelay_status *st)
{
	return map_load(path, NULL, NULL, st);
}

int tr_policy_map_check(const char *path, tr_report_fn fn, void *arg)
{
	tlsrelay_status st;
	tr_policy_map *m = map_load(path, fn, arg, &st);
	int nerr;

	if (m == NULL) {   /* cannot open, out of memory */
		fn(arg, st.text);
		return 1;
	}
	nerr = m->nerr;
	for (size_t i = 0; i < m->n; i++) {
		char where[WHERE_MAX];
		tr_policy p;

		snprintf(where, sizeof where, "%s:%lu", m->path, m->v[i].line);
		if (tr_policy_parse_value(m->v[i].value, where, &p, &st) == TLSRELAY_OK &&
		    !tr_tls_level_supported(p.level)) {
			tr_config_error(&st, where, "level %s is not supported by this build "
			                "(mail for %s would be deferred)",
			                tr_tls_level_name(p.level), m->v[i].key);
			fn(arg, st.text);
			nerr++;
		}
	}
	tr_policy_map_free(m);
	return nerr;
}

static tr_policy_map *map_load(const char *path, tr_report_fn fn, void *arg,
                               tlsrelay_status *st)
{
	tr_policy_map *m;
	tlsrelay_cat rc;
	size_t len;
	FILE *fp;

	if (path == NULL || *path == '\0') {
		tr_config_error(st, NULL, "no policy table file name");
		return NULL;
	}
	if ((m = calloc(1, sizeof *m)) == NULL) {
		no_memory(st);
		return NULL;
	}
	m->report = fn;
	m->report_arg = arg;
	len = strlen(path);
	snprintf(m->path, sizeof m->path, "%s%s", len > WHERE_PATH_MAX ? "..." : "",
	         path + (len > WHERE_PATH_MAX ? len - WHERE_PATH_MAX : 0));
	if ((fp = fopen(path, "r")) == NULL) {
		rc = tr_config_error(st, m->path, "cannot open: %s", strerror(errno));
	} else {
		rc = load_lines(m, fp, st);
		fclose(fp);
	}
	if (rc == TLSRELAY_OK && m->n > 1)
		qsort(m->v, m->n, sizeof *m->v, cmp_entry);
	if (rc == TLSRELAY_OK)
		rc = check_duplicates(m, st);
	if (rc != TLSRELAY_OK) {
		tr_policy_map_free(m);
		return NULL;
	}
	return m;
}

void tr_policy_map_free(tr_policy_map *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].key);
	free(m->v);
	free(m);
}

size_t tr_policy_map_size(const tr_policy_map *m)
{
	return m ? m->n : 0;
}

/* ---------------------------------------------------------------- lookup */

static int cmp_key(const void *key, const void *e)
{
	return strcmp(key, ((const struct entry *)e)->key);
}

static const struct entry *find(const tr_policy_map *m, const char *key)
{
	return m->n ? bsearch(key, m->v, m->n, sizeof *m->v, cmp_key) : NULL;
}

/* ".b.example.com", ".example.com", ".com" for "a.b.example.com". */
static const struct entry *find_parent(const tr_policy_map *m,
                                       const char *host)
{
	const struct entry *e = NULL;
	char h[256];

	canon_host(host, h);
	for (const char *p = strchr(h, '.'); p != NULL && e == NULL;
	     p = strchr(p + 1, '.'))
		e = find(m, p);
	return e;
}

int tr_policy_lookup(const tr_policy_map *m, const tr_nexthop *nh,
                     tr_policy *out)
{
	const struct entry *e = NULL;
	int bracket, dflt;
	char key[KEY_MAX];
	tr_policy p;

	if (m == NULL || nh == NULL || out == NULL)
		return 0;
	bracket = !nh->mx_lookup;
	dflt = nh->port == (nh->implicit_tls ? 465 : 25);
	if (dflt) {
		make_key(nh->host, bracket, 0, key);
		e = find(m, key);
	}
	if (e == NULL) {
		make_key(nh->host, bracket, nh->port, key);
		e = find(m, key);
	}
	if (e == NULL && !bracket && dflt)
		e = find_parent(m, nh->host);
	if (e == NULL ||
	    tr_policy_parse_value(e->value, NULL, &p, NULL) != TLSRELAY_OK)
		return 0;
	if (snprintf(p.source, sizeof p.source, "%s:%lu key %s", m->path,
	             e->line, e->key) >= (int)sizeof p.source)
		strcpy(p.source + sizeof p.source - 4, "...");   /* cut short */
	*out = p;
	return 1;
}

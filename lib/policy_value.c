/*
 * policy_value.c - one TLS policy value, "LEVEL attr=value ...": parsing
 * (match=, protocols=, ciphers=, servername=), the defaults of a level, and
 * the one-line form that tlsrelay -q prints (see policy.h). The table file
 * and its lookups are in policy.c.
 *
 * Error texts never quote the value or a part of it: they say which
 * attribute, which word of the policy or which item of a list is wrong,
 * and why. The value may come from a file that is not a policy map at all
 * (a password map given by mistake), and the texts go to logs and to the
 * MTA.
 */
#include "config.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/ssl.h>
#include "buf.h"
#include "policy.h"
#include "status.h"

#define WHERE_PATH_MAX 200       /* bytes of a file name kept in "file:line" */
#define WHERE_MAX      (WHERE_PATH_MAX + 32)
#define KEY_MAX        TR_NEXTHOP_TEXT_MAX
#define TOKEN_SEPS     " \t,"    /* between the level and attributes */
#define CIPHERS_HIGH   "HIGH:!aNULL:!eNULL"
#define CIPHERS_MEDIUM "HIGH:MEDIUM:!aNULL:!eNULL"

/* ------------------------------------------------------------ error texts */

/* ------------------------------------------------------------- text bits */

/* ASCII lower-case copy, truncated to cap - 1 bytes (src NULL: ""). */
void tr_policy_lower(char *dst, const char *src, size_t cap)
{
	size_t i;

	for (i = 0; src != NULL && src[i] != '\0' && i + 1 < cap; i++)
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
	char norm[96];
	tlsrelay_cat rc;
	char *d;

	for (int i = 1; (d = strsep(&val, "|")) != NULL; i++) {
		if (normalise_digest(d, norm) != 0)
			return tr_config_error(st, where, "bad fingerprint (match= item %d): "
			                 "expected a SHA-256 digest, 32 hex byte pairs "
			                 "separated by \":\"", i);
		if ((rc = add_match(p, norm, where, st)) != TLSRELAY_OK)
			return rc;
	}
	return tr_status_ok(st);
}

static tlsrelay_cat add_names(char *val, tr_policy *p, const char *where,
                              tlsrelay_status *st)
{
	static const char *const words[] = { "hostname", "nexthop", "dot-nexthop" };
	char low[256];
	tlsrelay_cat rc;
	char *n;

	for (int i = 1; (n = strsep(&val, ":")) != NULL; i++) {
		if (strlen(n) > 255 || (!is_one_of(n, words, 3) &&
		                        !dns_name_ok(n[0] == '.' ? n + 1 : n)))
			return tr_config_error(st, where, "bad match name (match= item %d): "
			                 "expected hostname, nexthop, dot-nexthop, a DNS "
			                 "name or .domain", i);
		tr_policy_lower(low, n, sizeof low);
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
	unsigned set;
	int open;
	char *bad;

	if (proto_set(val, &set, &open, &bad) != 0)
		return tr_config_error(st, where, "bad protocols=: unknown protocol "
		                 "(expected SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2 or "
		                 "TLSv1.3, each maybe after !, >= or <=)");
	if (set == 0)
		return tr_config_error(st, where, "bad protocols=: allows no protocol "
		                 "this client uses (TLSv1.2, TLSv1.3)");
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

	for (size_t i = 0; i < sizeof grades / sizeof grades[0]; i++) {
		if (strcasecmp(val, grades[i].grade) == 0) {
			strcpy(p->grade, grades[i].grade);
			strcpy(p->ciphers, grades[i].list);
			return tr_status_ok(st);
		}
	}
	return tr_config_error(st, where, "bad ciphers=: expected high or medium");
}

static tlsrelay_cat parse_servername(char *val, tr_policy *p,
                                     const char *where, tlsrelay_status *st)
{
	static const char *const words[] = { "hostname", "nexthop" };

	if (!is_one_of(val, words, 2) && !dns_name_ok(val))
		return tr_config_error(st, where, "bad servername=: expected "
		                 "hostname, nexthop or a DNS name");
	tr_policy_lower(p->servername, val, sizeof p->servername);
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

/* One "name=value" token, word nword of the policy; *seen: bit i =
 * attrs[i] given already. */
static tlsrelay_cat parse_attr(char *tok, int nword, tr_policy *p, unsigned *seen,
                               const char *where, tlsrelay_status *st)
{
	char *eq = strchr(tok, '=');
	const struct attr *a = NULL;
	unsigned bit;

	if (eq == NULL || eq == tok)
		return tr_config_error(st, where, "malformed attribute (word %d of the "
		                 "policy): expected name=value", nword);
	*eq = '\0';
	for (size_t i = 0; i < NATTRS && a == NULL; i++)
		if (strcasecmp(tok, attrs[i].name) == 0)
			a = &attrs[i];
	if (a == NULL)
		return tr_config_error(st, where, "unknown attribute (word %d of the policy; "
		                 "known: match, protocols, ciphers, servername, exclude, "
		                 "tafile, connection_reuse, enable_rpk)", nword);
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
	if (strlen(value) > TR_POLICY_LINE_MAX)
		return tr_config_error(st, where, "policy longer than %d bytes",
		                 TR_POLICY_LINE_MAX);
	for (const char *c = value; *c != '\0'; c++)
		if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
			return tr_config_error(st, where, "control character in policy");
	strcpy(buf, value);
	return tr_status_ok(st);
}

tlsrelay_cat tr_policy_parse_value(const char *value, const char *where,
                                   tr_policy *out, tlsrelay_status *st)
{
	char buf[TR_POLICY_LINE_MAX + 1], names[128];
	char *cur, *tok;
	unsigned seen = 0;
	int nword = 1;
	tlsrelay_cat rc;
	tr_policy p;

	if ((rc = policy_text(value ? value : "", where, buf, st)) != TLSRELAY_OK)
		return rc;
	if ((tok = strtok_r(buf, TOKEN_SEPS, &cur)) == NULL)
		return tr_config_error(st, where, "empty policy: expected a security level");
	memset(&p, 0, sizeof p);
	if ((p.level = tr_tls_level_from_name(tok)) == TR_TLS_INVALID)
		return tr_config_error(st, where, "unknown security level (the first word "
		                 "of the policy; expected one of: %s)",
		                 tr_tls_level_list(names, sizeof names));
	while ((tok = strtok_r(NULL, TOKEN_SEPS, &cur)) != NULL)
		if ((rc = parse_attr(tok, ++nword, &p, &seen, where, st)) != TLSRELAY_OK)
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
static const char *version_name(int v)
{
	return v == TLS1_3_VERSION ? "TLSv1.3" : v == TLS1_2_VERSION ? "TLSv1.2" : "?";
}

char *tr_policy_format(const tr_policy *p, char *out, size_t cap)
{
	const char *sep = p->level == TR_TLS_FINGERPRINT ? "|" : ":";
	const char *lo = version_name(p->min_proto);
	const char *hi = version_name(p->max_proto);
	tr_buf b;

	if (out == NULL || cap == 0)
		return out;
	tr_buf_fixed(&b, out, cap);
	tr_buf_puts(&b, tr_tls_level_name(p->level));
	if (p->floor > TR_TLS_NONE)
		tr_buf_printf(&b, " floor=%s", tr_tls_level_name(p->floor));
	for (int i = 0; i < p->nmatch && i < TR_POLICY_MAX_MATCH; i++)
		tr_buf_printf(&b, "%s%s", i ? sep : " match=", p->match[i]);
	if (p->min_proto && p->max_proto == p->min_proto)
		tr_buf_printf(&b, " protocols=%s", lo);
	else if (p->min_proto && p->max_proto)
		tr_buf_printf(&b, " protocols=>=%s:<=%s", lo, hi);
	else if (p->min_proto || p->max_proto)
		tr_buf_printf(&b, " protocols=%s%s", p->min_proto ? ">=" : "<=",
		              p->min_proto ? lo : hi);
	if (p->grade[0] != '\0')
		tr_buf_printf(&b, " ciphers=%s", p->grade);
	if (p->servername[0] != '\0' && strcmp(p->servername, "hostname") != 0)
		tr_buf_printf(&b, " servername=%s", p->servername);
	if (p->source[0] != '\0')
		tr_buf_printf(&b, " (from %s)", p->source);
	return out;
}


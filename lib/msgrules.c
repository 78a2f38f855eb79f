/*
 * msgrules.c - per-message TLS requirement rules: load, check, match (see
 * msgrules.h for the file syntax and the matching rules).
 *
 * Decisions:
 * - Patterns are stored lower case (addresses, domains, header names and
 *   substrings alike): every comparison is case-insensitive ASCII. An
 *   address's local part is compared case-insensitively too; mail systems
 *   that make Alice and alice different mailboxes are rare, and a rule that
 *   misses because of case would quietly weaken the requirement.
 * - An address is normalised before it is compared, as the MTA does
 *   before it delivers: the trailing dots of its domain are dropped
 *   (RCPT TO:<user@example.test.> is delivered to user@example.test, and a
 *   rule for example.test must not miss it), and case is ignored (above).
 *   The MTA's other rewriting (aliases, virtual and canonical maps) cannot
 *   be undone here: that is why the transport applies the from/to rules
 *   itself to the addresses it delivers (message_rules, msgreq.h).
 * - A header value is matched unfolded: CR and LF are skipped, the white
 *   space of the continuation line stays.
 * - The file is read whole (at most TR_MSGRULES_MAX lines of
 *   TR_MSGRULES_LINE_MAX bytes) and checked whole: one bad line refuses
 *   the table, so a typo never leaves a rule silently out.
 * - Error texts name file:line, the field and the problem, never the text
 *   of the line: the file may be another one given by mistake, and the
 *   texts go to logs.
 */
#include "config.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "msgrules.h"
#include "status.h"

#define FILE_MAX ((size_t)TR_MSGRULES_MAX * (TR_MSGRULES_LINE_MAX + 2))
#define WHERE_MAX 300

/* How an address pattern matches. */
enum addr_kind { A_ADDRESS, A_DOMAIN, A_SUBDOMAINS };

typedef struct rule {
	tr_rule_type type;
	tr_tls_level level;
	int line;
	enum addr_kind akind;   /* from, to */
	char *pat;              /* address or domain; header: field name */
	char *text;             /* header: substring ("" = any value) */
} rule;

struct tr_msgrules {
	rule *rules;
	size_t n, cap;
};

static const struct { const char *name; tr_rule_type type; } types[] = {
	{ "from", TR_RULE_FROM }, { "to", TR_RULE_TO }, { "header", TR_RULE_HEADER },
};

/* ---------------------------------------------------------------- helpers */

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* A DNS-ish domain: letters, digits, '-', '.', no empty label at the ends;
 * also an address literal [...]. Kept loose: the MTA checked the syntax
 * of the addresses we compare with. */
static int good_domain(const char *d)
{
	size_t n = strlen(d);

	if (n == 0 || n > 255)
		return 0;
	if (d[0] == '[')
		return d[n - 1] == ']' && strcspn(d, " \t") == n;
	if (d[0] == '.' || d[n - 1] == '.' || strstr(d, "..") != NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)d[i]) && d[i] != '-' && d[i] != '.' &&
		    d[i] != '_' && (unsigned char)d[i] < 0x80)
			return 0;
	return 1;
}

/* ------------------------------------------------------------- parsing */

/* The level field: TLSRELAY_OK or a config error. */
static tlsrelay_cat parse_level(const char *word, const char *where,
                                tr_tls_level *out, tlsrelay_status *st)
{
	tr_tls_level lv = tr_tls_level_from_name(word);

	switch (lv) {
	case TR_TLS_ENCRYPT: case TR_TLS_DANE: case TR_TLS_DANE_ONLY:
	case TR_TLS_VERIFY: case TR_TLS_SECURE:
		*out = lv;
		return TLSRELAY_OK;
	case TR_TLS_NONE: case TR_TLS_MAY:
		return tr_config_error(st, where, "level %s requires nothing: use "
		                       "encrypt, dane, dane-only, verify or secure",
		                       tr_tls_level_name(lv));
	case TR_TLS_FINGERPRINT:
		return tr_config_error(st, where, "level fingerprint needs digests: "
		                       "pin them in the destination's tls_policy_map entry");
	default:
		return tr_config_error(st, where, "unknown level (the last field; expected "
		                       "encrypt, dane, dane-only, verify or secure)");
	}
}

/* from/to pattern into r (pat is lower-cased in place, then copied). */
static tlsrelay_cat parse_addr(char *pat, const char *where, rule *r,
                               tlsrelay_status *st)
{
	char *at = strrchr(pat, '@');
	const char *dom;

	lower(pat);
	if (at != NULL && at != pat) {          /* user@domain */
		r->akind = A_ADDRESS;
		dom = at + 1;
	} else {
		dom = at ? pat + 1 : pat;           /* @domain, domain, .domain */
		r->akind = A_DOMAIN;
		if (*dom == '.') {
			r->akind = A_SUBDOMAINS;
			dom++;
		}
	}
	if (strchr(pat, '@') != at || strpbrk(pat, "<> \t\"") || !good_domain(dom))
		return tr_config_error(st, where, "bad address pattern (expected "
		                       "user@domain, @domain, domain or .domain)");
	r->pat = strdup(r->akind == A_ADDRESS ? pat : dom);
	if (r->pat == NULL)
		return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
	return TLSRELAY_OK;
}

/* header pattern "Name: text" into r. */
static tlsrelay_cat parse_header(char *pat, const char *where, rule *r,
                                 tlsrelay_status *st)
{
	char *colon = strchr(pat, ':'), *text;

	if (colon == NULL || colon == pat)
		return tr_config_error(st, where, "bad header pattern (expected "
		                       "\"Name: text\")");
	*colon = '\0';
	for (char *p = pat; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return tr_config_error(st, where, "bad header name (printable "
			                       "characters but space and \":\")");
	for (text = colon + 1; is_wsp(*text); text++)
		;
	if (strlen(text) > TR_MSGRULES_TEXT_MAX)
		return tr_config_error(st, where, "header text longer than %d bytes",
		                       TR_MSGRULES_TEXT_MAX);
	lower(pat);
	lower(text);
	r->pat = strdup(pat);
	r->text = strdup(text);
	if (r->pat == NULL || r->text == NULL)
		return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
	return TLSRELAY_OK;
}

/* One non-comment line (NUL-terminated, no line end, trimmed). */
static tlsrelay_cat parse_line(char *s, const char *where, rule *r,
                               tlsrelay_status *st)
{
	size_t tlen = strcspn(s, " \t");
	char *last, *pat, *pend;
	size_t i;

	for (i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strlen(types[i].name) == tlen && strncasecmp(s, types[i].name, tlen) == 0)
			break;
	if (i == sizeof types / sizeof types[0]) {
		return tr_config_error(st, where, "unknown rule type (the first field; "
		                       "expected from, to or header)");
	}
	r->type = types[i].type;
	last = s + strlen(s);
	while (last > s + tlen && !is_wsp(last[-1]))
		last--;
	for (pat = s + tlen; is_wsp(*pat); pat++)
		;
	if (last <= pat)
		return tr_config_error(st, where, "expected \"%s PATTERN LEVEL\"", types[i].name);
	for (pend = last; pend > pat && is_wsp(pend[-1]); pend--)
		;
	*pend = '\0';
	if (parse_level(last, where, &r->level, st) != TLSRELAY_OK)
		return st->cat;
	return r->type == TR_RULE_HEADER ? parse_header(pat, where, r, st)
	                                 : parse_addr(pat, where, r, st);
}

static void rule_free(rule *r)
{
	free(r->pat);
	free(r->text);
}

static tlsrelay_cat add_rule(tr_msgrules *t, const rule *r, tlsrelay_status *st)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		rule *p = realloc(t->rules, cap * sizeof *p);
		if (p == NULL)
			return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		t->rules = p;
		t->cap = cap;
	}
	t->rules[t->n++] = *r;
	return TLSRELAY_OK;
}

/* One physical line [s, e) (line end excluded) numbered ln. */
static tlsrelay_cat do_line(tr_msgrules *t, char *s, char *e, const char *name,
                            int ln, tlsrelay_status *st)
{
	char where[WHERE_MAX + 16];
	rule r;

	snprintf(where, sizeof where, "%s:%d", name, ln);
	if (e > s && e[-1] == '\r')
		e--;
	if ((size_t)(e - s) > TR_MSGRULES_LINE_MAX)
		return tr_config_error(st, where, "line longer than %d bytes", TR_MSGRULES_LINE_MAX);
	*e = '\0';
	if (memchr(s, '\r', (size_t)(e - s)) != NULL)
		return tr_config_error(st, where, "control character in line");
	for (char *p = s; p < e; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return tr_config_error(st, where, "control character in line");
	while (is_wsp(*s))
		s++;
	while (e > s && is_wsp(e[-1]))
		*--e = '\0';
	if (*s == '\0' || *s == '#')
		return TLSRELAY_OK;
	if (t->n >= TR_MSGRULES_MAX)
		return tr_config_error(st, where, "more than %d rules", TR_MSGRULES_MAX);
	memset(&r, 0, sizeof r);
	r.line = ln;
	if (parse_line(s, where, &r, st) != TLSRELAY_OK || add_rule(t, &r, st) != TLSRELAY_OK) {
		rule_free(&r);
		return st->cat;
	}
	return TLSRELAY_OK;
}

/* Parse text of len bytes (modified in place). */
static tr_msgrules *parse_buf(char *text, size_t len, const char *name,
                              tlsrelay_status *st)
{
	tr_msgrules *t = calloc(1, sizeof *t);
	char *s = text, *end = text + len;
	int ln = 0;

	if (t == NULL) {
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		return NULL;
	}
	if (memchr(text, '\0', len) != NULL) {
		for (char *p = text; p < end && p < (char *)memchr(text, '\0', len); p++)
			ln += *p == '\n';
		char where[WHERE_MAX + 16];
		snprintf(where, sizeof where, "%s:%d", name, ln + 1);
		tr_config_error(st, where, "NUL byte in line");
		tr_msgrules_free(t);
		return NULL;
	}
	while (s < end) {
		char *e = memchr(s, '\n', (size_t)(end - s));
		if (e == NULL)
			e = end;
		if (do_line(t, s, e, name, ++ln, st) != TLSRELAY_OK) {
			tr_msgrules_free(t);
			return NULL;
		}
		s = e + 1;
	}
	tr_status_ok(st);
	return t;
}

/* A path for error texts: the last WHERE_MAX bytes of a long one. */
static const char *short_path(const char *path, char *buf, size_t cap)
{
	size_t n = strlen(path);

	if (n <= WHERE_MAX)
		snprintf(buf, cap, "%s", path);
	else
		snprintf(buf, cap, "...%s", path + n - WHERE_MAX);
	return buf;
}

/* --------------------------------------------------------------- public */

tr_msgrules *tr_msgrules_parse(const char *text, const char *where,
                               tlsrelay_status *st)
{
	size_t len = strlen(text);
	char *copy = malloc(len + 1);
	tr_msgrules *t;

	if (copy == NULL) {
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		return NULL;
	}
	memcpy(copy, text, len + 1);
	t = parse_buf(copy, len, where ? where : "rules", st);
	free(copy);
	return t;
}

/* Read the whole of fd (a regular file, at most FILE_MAX bytes). */
static char *read_all(int fd, const char *name, size_t *len, tlsrelay_status *st)
{
	struct stat sb;
	char *buf;
	size_t got = 0;

	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		tr_config_error(st, name, "cannot open: not a regular file");
		return NULL;
	}
	if ((unsigned long long)sb.st_size > FILE_MAX) {
		tr_config_error(st, name, "file larger than %zu bytes", FILE_MAX);
		return NULL;
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
		return NULL;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			tr_config_error(st, name, "read error: %s", r < 0 ? strerror(errno) : "file shrank");
			free(buf);
			return NULL;
		}
		got += (size_t)r;
	}
	buf[got] = '\0';
	*len = got;
	return buf;
}

tr_msgrules *tr_msgrules_load(const char *path, tlsrelay_status *st)
{
	char name[WHERE_MAX + 8];
	tr_msgrules *t = NULL;
	size_t len = 0;
	char *buf;
	int fd;

	short_path(path, name, sizeof name);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		char user[TR_AS_USER_MAX];
		tr_config_error(st, name, "cannot open: %s%s", strerror(errno), tr_as_user(user));
		return NULL;
	}
	buf = read_all(fd, name, &len, st);
	close(fd);
	if (buf != NULL)
		t = parse_buf(buf, len, name, st);
	free(buf);
	return t;
}

void tr_msgrules_free(tr_msgrules *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		rule_free(&t->rules[i]);
	free(t->rules);
	free(t);
}

size_t tr_msgrules_size(const tr_msgrules *t)
{
	return t ? t->n : 0;
}

/* -------------------------------------------------------------- matching */

/* The bare address of a, normalised as the MTA does before it delivers:
 * brackets and a source route removed, lower case, the trailing dots of
 * the domain removed ("user@Example.TEST." -> "user@example.test"). At
 * most cap-1 bytes: "" when a does not fit (it then matches nothing). */
static void bare_address(const char *a, char *out, size_t cap)
{
	const char *at;
	size_t n;

	while (is_wsp(*a))
		a++;
	if (*a == '<')
		a++;
	if (*a == '@' && strchr(a, ':') != NULL)
		a = strchr(a, ':') + 1;
	n = strcspn(a, ">");
	if (n >= cap)
		n = 0;
	memcpy(out, a, n);
	out[n] = '\0';
	lower(out);
	if ((at = strrchr(out, '@')) != NULL)
		while (n > (size_t)(at - out) + 1 && out[n - 1] == '.')
			out[--n] = '\0';
}

static int match_addr(const rule *r, const char *addr)
{
	const char *at = strrchr(addr, '@');
	const char *dom = at ? at + 1 : "";
	size_t dl = strlen(dom), pl = strlen(r->pat);

	switch (r->akind) {
	case A_ADDRESS:
		return strcmp(addr, r->pat) == 0;
	case A_DOMAIN:
		return at != NULL && strcmp(dom, r->pat) == 0;
	case A_SUBDOMAINS:
		return at != NULL && dl > pl + 1 && dom[dl - pl - 1] == '.' &&
		       strcmp(dom + dl - pl, r->pat) == 0;
	}
	return 0;
}

/* Does value (folded: CR/LF skipped) contain needle (lower case)? */
static int contains(const char *value, const char *needle)
{
	size_t nl = strlen(needle);

	if (nl == 0)
		return 1;
	for (const char *v = value; *v; v++) {
		const char *p = v;
		size_t k = 0;

		while (*p && k < nl) {
			if (*p == '\r' || *p == '\n') {
				p++;
				continue;
			}
			if (tolower((unsigned char)*p) != (unsigned char)needle[k])
				break;
			p++;
			k++;
		}
		if (k == nl)
			return 1;
	}
	return 0;
}

tr_tls_level tr_msgrules_match(const tr_msgrules *t, tr_rule_type type,
                               const char *a, const char *b, int *line)
{
	tr_tls_level best = TR_TLS_INVALID;
	char addr[1024];

	if (t == NULL || a == NULL)
		return TR_TLS_INVALID;
	if (type != TR_RULE_HEADER) {
		bare_address(a, addr, sizeof addr);
		if (addr[0] == '\0')
			return TR_TLS_INVALID;
	}
	for (size_t i = 0; i < t->n; i++) {
		const rule *r = &t->rules[i];
		int hit;

		if (r->type != type || r->level <= best)
			continue;
		if (type == TR_RULE_HEADER)
			hit = strcasecmp(a, r->pat) == 0 && contains(b ? b : "", r->text);
		else
			hit = match_addr(r, addr);
		if (hit) {
			best = r->level;
			if (line)
				*line = r->line;
		}
	}
	return best;
}

char *tr_msgrules_describe(const tr_msgrules *t, int line, char *out, size_t cap)
{
	if (cap == 0)
		return out;
	out[0] = '\0';
	for (size_t i = 0; t != NULL && i < t->n; i++) {
		const rule *r = &t->rules[i];

		if (r->line != line)
			continue;
		if (r->type == TR_RULE_HEADER)
			snprintf(out, cap, "header %s:%s%s", r->pat, r->text[0] ? " " : "", r->text);
		else
			snprintf(out, cap, "%s %s%s", r->type == TR_RULE_FROM ? "from" : "to",
			         r->akind == A_SUBDOMAINS ? "." : "", r->pat);
		break;
	}
	return out;
}

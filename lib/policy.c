/*
 * policy.c - the per-destination policy table (see policy.h): keys, the
 * table file, check mode, lookups. One policy value is parsed by
 * policy_value.c.
 *
 * Error texts quote a key only once it is a valid key (bounded, made
 * printable by tr_quote), never a policy value or a malformed key: the
 * file may be another one given by mistake (a password map, whose lines
 * have no spaces in the secret and would be all "key"), and the texts go
 * to logs and to the MTA.
 *
 * A table is an array of (key, policy text, line) sorted by key for binary
 * search. Each policy text is parsed when the table is loaded, to report
 * errors with their line, and again on lookup: parsing is cheap and it keeps
 * an entry small (a parsed tr_policy is about 5 KB).
 */
#include "config.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "policy.h"
#include "status.h"

#define WHERE_PATH_MAX 200       /* bytes of a file name kept in "file:line" */
#define WHERE_MAX      (WHERE_PATH_MAX + 32)
#define KEY_MAX        TR_NEXTHOP_TEXT_MAX

static tlsrelay_cat no_memory(tlsrelay_status *st)
{
	return tr_status_set(st, TLSRELAY_INTERNAL, "4.3.0", "out of memory");
}

/* ------------------------------------------------------------------ keys */

/* Lower case; IPv6 addresses in inet_ntop form. out: 256 bytes. */
static void canon_host(const char *host, char *out)
{
	struct in6_addr a6;

	if (strchr(host, ':') != NULL && inet_pton(AF_INET6, host, &a6) == 1 &&
	    inet_ntop(AF_INET6, &a6, out, 256) != NULL)
		return;
	tr_policy_lower(out, host, 256);
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
	if (normalise_key(text, key, why, sizeof why) != 0)
		return tr_config_error(st, where, "bad key (the first field): %s", why);
	if (*value == '\0')
		return tr_config_error(st, where, "no policy after key \"%s\"",
		                 tr_quote(text, q));
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
		char user[TR_AS_USER_MAX];
		rc = tr_config_error(st, m->path, "cannot open: %s%s", strerror(errno),
		                     tr_as_user(user));
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

int tr_policy_map_first_dane(const tr_policy_map *m, char *where, size_t cap)
{
	const struct entry *first = NULL;

	for (size_t i = 0; m != NULL && i < m->n; i++) {
		tr_policy p;

		if (tr_policy_parse_value(m->v[i].value, NULL, &p, NULL) == TLSRELAY_OK &&
		    (p.level == TR_TLS_DANE || p.level == TR_TLS_DANE_ONLY) &&
		    (first == NULL || m->v[i].line < first->line))
			first = &m->v[i];
	}
	if (first == NULL)
		return 0;
	snprintf(where, cap, "%s:%lu key %s", m->path, first->line, first->key);
	return 1;
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

int tr_policy_for_nexthop(const tr_policy_map *m, const tr_nexthop *nh,
                          tr_tls_level level, tr_policy *out)
{
	if (tr_policy_lookup(m, nh, out))
		return 1;
	tr_policy_from_level(level, out);
	snprintf(out->source, sizeof out->source, "tls_security_level");
	return 0;
}

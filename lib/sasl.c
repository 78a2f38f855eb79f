/*
 * sasl.c - the SMTP AUTH password map and the SASL encoders (see sasl.h).
 *
 * The file is read whole into one allocation and parsed in place: keys,
 * users and passwords are NUL-terminated inside that buffer, and the
 * entries only point into it. So there is exactly one place holding
 * secrets, and it is wiped (OPENSSL_cleanse) before it is freed, on
 * success and on every error path. stdio is not used: its buffers would
 * keep a copy of the file that nobody wipes.
 *
 * Entries are sorted by key once loaded; that finds duplicate keys and
 * lets lookups use bsearch.
 */
#include "config.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "sasl.h"
#include "status.h"

#define CONFIG_DSN "4.3.5"
#define NOMEM_DSN  "4.3.0"
#define B64_IN_MAX (1024 * 1024)   /* tr_sasl_b64: far above any use */

struct entry {
	const char *key;      /* as written, NUL-terminated inside buf */
	const char *host;     /* inside key, hlen bytes, no brackets or tag */
	size_t hlen;
	int bracketed;
	int port;             /* 0 = none */
	const char *user, *pass;
	size_t line;
};

struct tr_sasl_map {
	char *buf;            /* the file, parsed in place: all secrets */
	size_t size;          /* bytes allocated for buf */
	struct entry *ents;
	size_t n, cap;
	tr_report_fn report;  /* check mode: every line problem goes here */
	void *report_arg;
	int nerr;
};

static const struct {
	const char *name;
	int port;
} port_names[] = {
	{ "smtp", 25 }, { "submission", 587 }, { "smtps", 465 }, { "submissions", 465 },
};

/* ------------------------------------------------------------ errors */

static int map_error(tlsrelay_status *st, const char *path, size_t line,
                     const char *fmt, ...) TR_PRINTF(4, 5);

/* TLSRELAY_CONFIG "path:line: reason" ("path: reason" when line is 0).
 * Returns -1. */
static int map_error(tlsrelay_status *st, const char *path, size_t line,
                     const char *fmt, ...)
{
	char reason[TLSRELAY_TEXT_MAX], where[32] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(where, sizeof where, ":%zu", line);
	tr_status_set(st, TLSRELAY_CONFIG, CONFIG_DSN, "%s%s: %s", path, where, reason);
	return -1;
}

static int no_memory(tlsrelay_status *st)
{
	tr_status_set(st, TLSRELAY_INTERNAL, NOMEM_DSN, "out of memory");
	return -1;
}

/* ------------------------------------------------------------ reading */

static int check_file(const struct stat *sb, const char *path,
                      tlsrelay_status *st)
{
	if (!S_ISREG(sb->st_mode))
		return map_error(st, path, 0, "is not a regular file");
	if (sb->st_mode & 007)
		return map_error(st, path, 0, "is accessible by other users (mode %04o): chmod o-rwx %s",
		                 (unsigned)(sb->st_mode & 07777), path);
	if (sb->st_size < 0 || sb->st_size > TR_SASL_FILE_MAX)
		return map_error(st, path, 0, "larger than %d bytes", TR_SASL_FILE_MAX);
	return 0;
}

/* Read fd into m->buf (st_size + 1 bytes: one more than expected shows a
 * file that grew while being read). */
static int read_all(int fd, tr_sasl_map *m, off_t expect, size_t *len,
                    const char *path, tlsrelay_status *st)
{
	size_t got = 0;

	m->size = (size_t)expect + 1;
	if ((m->buf = malloc(m->size)) == NULL)
		return no_memory(st);
	while (got < m->size) {
		ssize_t r = read(fd, m->buf + got, m->size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return map_error(st, path, 0, "read error: %s", strerror(errno));
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got == m->size)
		return map_error(st, path, 0, "changed while being read");
	*len = got;
	return 0;
}

static int read_file(const char *path, tr_sasl_map *m, size_t *len,
                     tlsrelay_status *st)
{
	struct stat sb;
	char user[TR_AS_USER_MAX];
	int fd, r;

	/* O_NONBLOCK: opening a FIFO must not hang (it is refused below). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return map_error(st, path, 0, "cannot open: %s%s", strerror(errno),
		                 tr_as_user(user));
	if (fstat(fd, &sb) < 0)
		r = map_error(st, path, 0, "cannot stat: %s%s", strerror(errno), tr_as_user(user));
	else if ((r = check_file(&sb, path, st)) < 0 && m->report &&
	         S_ISREG(sb.st_mode) && (sb.st_mode & 007) != 0 &&
	         sb.st_size >= 0 && sb.st_size <= TR_SASL_FILE_MAX) {
		m->report(m->report_arg, st->text);   /* check mode: permissions */
		m->nerr++;                            /* reported, lines still read */
		r = 0;
	}
	if (r == 0)
		r = read_all(fd, m, sb.st_size, len, path, st);
	close(fd);
	return r;
}

/* ------------------------------------------------------------ keys */

static int parse_port(const char *s, int *port)
{
	long v = 0;
	const char *p;

	for (size_t i = 0; i < sizeof port_names / sizeof port_names[0]; i++)
		if (strcasecmp(s, port_names[i].name) == 0) {
			*port = port_names[i].port;
			return 0;
		}
	for (p = s; *p >= '0' && *p <= '9' && v <= 65535; p++)
		v = v * 10 + (*p - '0');
	if (p == s || *p != '\0' || v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/* A host name (letters, digits, '-', '_', '.') or, in brackets, also an
 * IPv6 address. */
static int host_ok(const char *h, size_t n, int bracketed)
{
	char v6[256];
	unsigned char bin[16];

	if (n == 0 || n > 255)
		return 0;
	if (bracketed && memchr(h, ':', n) != NULL) {
		memcpy(v6, h, n);
		v6[n] = '\0';
		return inet_pton(AF_INET6, v6, bin) == 1;
	}
	for (size_t i = 0; i < n; i++)
		if (!(h[i] >= 'a' && h[i] <= 'z') && !(h[i] >= 'A' && h[i] <= 'Z') &&
		    !(h[i] >= '0' && h[i] <= '9') && h[i] != '-' && h[i] != '_' &&
		    h[i] != '.')
			return 0;
	return 1;
}

/* Fill e from the key text. The reason for a bad key never quotes it (a
 * key may be a misplaced "user:password"). */
static int parse_key(const char *key, struct entry *e, const char **why)
{
	const char *close;

	e->key = key;
	e->port = 0;
	e->bracketed = key[0] == '[';
	*why = "bad host name in key (letters, digits, \"-\", \"_\" and \".\", "
	       "or an address in brackets)";
	if (!e->bracketed) {
		e->host = key;
		e->hlen = strlen(key);
		if (strchr(key, ':') != NULL) {
			*why = "bad key: \":\" needs brackets (write [host]:port or "
			       "[IPv6 address]; a host name alone matches any port)";
			return -1;
		}
		return host_ok(e->host, e->hlen, 0) ? 0 : -1;
	}
	if ((close = strchr(key, ']')) == NULL) {
		*why = "bad key: \"[\" without \"]\"";
		return -1;
	}
	e->host = key + 1;
	e->hlen = (size_t)(close - e->host);
	if (e->hlen >= 5 && strncasecmp(e->host, "ipv6:", 5) == 0) {
		e->host += 5;
		e->hlen -= 5;
	}
	if (close[1] != '\0' && (close[1] != ':' || parse_port(close + 2, &e->port) < 0)) {
		*why = "bad key: expected \":port\" (1-65535, smtp, submission, "
		       "smtps or submissions) after \"]\"";
		return -1;
	}
	return host_ok(e->host, e->hlen, 1) ? 0 : -1;
}

/* ------------------------------------------------------------ lines */

static int add_entry(tr_sasl_map *m, const struct entry *e, const char *path,
                     tlsrelay_status *st)
{
	if (m->n == TR_SASL_ENTRIES_MAX)
		return map_error(st, path, e->line, "more than %d entries", TR_SASL_ENTRIES_MAX);
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct entry *ents = realloc(m->ents, cap * sizeof *ents);
		if (ents == NULL)
			return no_memory(st);
		m->ents = ents;
		m->cap = cap;
	}
	m->ents[m->n++] = *e;
	return 0;
}

/* Split "user:password" (trimmed, NUL-terminated) into e. Reasons quote
 * the key (already checked), never the value. */
static int parse_value(char *value, struct entry *e, const char *path,
                       tlsrelay_status *st)
{
	char *colon = strchr(value, ':');
	size_t ulen, plen;

	if (colon == NULL)
		return map_error(st, path, e->line, "expected user:password for key \"%s\" (no \":\" in the value)",
		                 e->key);
	*colon = '\0';
	ulen = (size_t)(colon - value);
	plen = strlen(colon + 1);
	if (ulen == 0)
		return map_error(st, path, e->line, "empty user name for key \"%s\"", e->key);
	if (ulen > TR_SASL_USER_MAX)
		return map_error(st, path, e->line, "user name for key \"%s\" is longer than %d bytes",
		                 e->key, TR_SASL_USER_MAX);
	if (plen == 0)
		return map_error(st, path, e->line, "empty password for key \"%s\"", e->key);
	if (plen > TR_SASL_PASS_MAX)
		return map_error(st, path, e->line, "password for key \"%s\" is longer than %d bytes",
		                 e->key, TR_SASL_PASS_MAX);
	e->user = value;
	e->pass = colon + 1;
	return 0;
}

/* 0 when the n bytes of line hold no NUL or control byte other than TAB. */
static int line_clean(const char *line, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return -1;
	}
	return 0;
}

/* One line (n bytes; line[n] may be written). */
static int parse_line(tr_sasl_map *m, char *line, size_t n, size_t lineno,
                      const char *path, tlsrelay_status *st)
{
	struct entry e = { .line = lineno };
	const char *why;
	size_t skip, klen;
	char *value, *end;

	if (n > TR_SASL_LINE_MAX)
		return map_error(st, path, lineno, "line longer than %d bytes", TR_SASL_LINE_MAX);
	if (line_clean(line, n) < 0)
		return map_error(st, path, lineno, "NUL or control byte in line");
	line[n] = '\0';
	skip = strspn(line, " \t");
	if (line[skip] == '\0' || line[skip] == '#')
		return 0;
	if (skip > 0)
		return map_error(st, path, lineno, "line starts with white space (continuation lines are not supported)");
	klen = strcspn(line, " \t");
	value = line + klen + strspn(line + klen, " \t");
	line[klen] = '\0';
	if (parse_key(line, &e, &why) < 0)
		return map_error(st, path, lineno, "%s", why);
	if (*value == '\0')
		return map_error(st, path, lineno, "missing user:password after key \"%s\"", e.key);
	for (end = value + strlen(value); end[-1] == ' ' || end[-1] == '\t'; end--)
		;
	*end = '\0';
	if (parse_value(value, &e, path, st) < 0)
		return -1;
	return add_entry(m, &e, path, st);
}

static int parse_file(tr_sasl_map *m, size_t len, const char *path,
                      tlsrelay_status *st)
{
	char *p = m->buf, *end = m->buf + len;
	size_t lineno = 0;

	while (p < end) {
		char *lf = memchr(p, '\n', (size_t)(end - p));
		char *eol = lf ? lf : end;

		lineno++;
		if (eol > p && eol[-1] == '\r')
			eol--;
		if (parse_line(m, p, (size_t)(eol - p), lineno, path, st) < 0) {
			if (m->report == NULL || st->cat != TLSRELAY_CONFIG)
				return -1;
			m->report(m->report_arg, st->text);   /* check mode: go on */
			m->nerr++;
		}
		p = lf ? lf + 1 : end;
	}
	return 0;
}

/* ------------------------------------------------------------ order */

static int key_cmp(const struct entry *a, const struct entry *b)
{
	int c;

	if (a->bracketed != b->bracketed)
		return a->bracketed - b->bracketed;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	if (a->hlen != b->hlen)
		return a->hlen < b->hlen ? -1 : 1;
	c = strncasecmp(a->host, b->host, a->hlen);
	return c < 0 ? -1 : c > 0;
}

static int key_cmp_void(const void *a, const void *b)
{
	return key_cmp(a, b);
}

/* The same order, then file order: duplicates end up side by side, the
 * first one written first. */
static int sort_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = key_cmp(x, y);

	if (c != 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Sort; a key written twice is an error at the earliest repeat. */
static int sort_entries(tr_sasl_map *m, const char *path, tlsrelay_status *st)
{
	const struct entry *dup = NULL, *first = NULL;

	if (m->n == 0)
		return 0;
	qsort(m->ents, m->n, sizeof *m->ents, sort_cmp);
	for (size_t i = 1; i < m->n; i++)
		if (key_cmp(&m->ents[i - 1], &m->ents[i]) == 0 &&
		    (dup == NULL || m->ents[i].line < dup->line)) {
			dup = &m->ents[i];
			first = &m->ents[i - 1];
		}
	if (dup == NULL)
		return 0;
	return map_error(st, path, dup->line, "duplicate key \"%s\" (first at line %zu)",
	                 dup->key, first->line);
}

/* ------------------------------------------------------------ map API */

tr_sasl_map *tr_sasl_map_load(const char *path, tlsrelay_status *st)
{
	tr_sasl_map *m;
	size_t len = 0;

	if (path == NULL || *path == '\0') {
		tr_status_set(st, TLSRELAY_CONFIG, CONFIG_DSN, "sasl_password_map: no file name");
		return NULL;
	}
	if ((m = calloc(1, sizeof *m)) == NULL) {
		no_memory(st);
		return NULL;
	}
	if (read_file(path, m, &len, st) < 0 || parse_file(m, len, path, st) < 0 ||
	    sort_entries(m, path, st) < 0) {
		tr_sasl_map_free(m);
		return NULL;
	}
	tr_status_ok(st);
	return m;
}

int tr_sasl_map_check(const char *path, tr_report_fn fn, void *arg)
{
	tlsrelay_status st;
	tr_sasl_map *m = calloc(1, sizeof *m);
	size_t len = 0;
	int nerr;

	if (m == NULL) {
		fn(arg, "out of memory");
		return 1;
	}
	m->report = fn;
	m->report_arg = arg;
	if (read_file(path, m, &len, &st) < 0 || parse_file(m, len, path, &st) < 0 ||
	    sort_entries(m, path, &st) < 0) {
		fn(arg, st.text);
		m->nerr++;
	}
	nerr = m->nerr;
	tr_sasl_map_free(m);
	return nerr;
}

void tr_sasl_map_free(tr_sasl_map *m)
{
	if (m == NULL)
		return;
	if (m->buf != NULL)
		OPENSSL_cleanse(m->buf, m->size);
	free(m->buf);
	free(m->ents);
	free(m);
}

size_t tr_sasl_map_count(const tr_sasl_map *m)
{
	return m ? m->n : 0;
}

/* Look up one key form; fills out when found. */
static int find(const tr_sasl_map *m, const char *host, int bracketed,
                int port, tr_sasl_cred *out)
{
	struct entry want = { .host = host, .hlen = strlen(host),
	                      .bracketed = bracketed, .port = port };
	const struct entry *e;

	if (m->n == 0)
		return 0;
	e = bsearch(&want, m->ents, m->n, sizeof *m->ents, key_cmp_void);
	if (e == NULL)
		return 0;
	out->user = e->user;
	out->pass = e->pass;
	snprintf(out->key, sizeof out->key, "%s", e->key);
	return 1;
}

int tr_sasl_lookup(const tr_sasl_map *m, const char *host, int port,
                   const tr_nexthop *nh, tr_sasl_cred *out)
{
	memset(out, 0, sizeof *out);
	if (m == NULL)
		return 0;
	if (host != NULL && *host != '\0') {
		if (port > 0 && find(m, host, 1, port, out))
			return 1;
		if (find(m, host, 1, 0, out) || find(m, host, 0, 0, out))
			return 1;
	}
	if (nh == NULL || nh->host[0] == '\0')
		return 0;
	if (!nh->mx_lookup)
		return find(m, nh->host, 1, nh->port, out);
	return find(m, nh->host, 0, 0, out);
}

/* ------------------------------------------------------------ base64 */

int tr_sasl_b64(const char *in, size_t n, char *out, size_t cap)
{
	if (out != NULL && cap > 0)
		out[0] = '\0';
	if (out == NULL || (in == NULL && n > 0) || n > B64_IN_MAX ||
	    cap < TR_SASL_B64_LEN(n) + 1)
		return -1;
	return EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)n);
}

int tr_sasl_plain(const char *user, const char *pass, char *out, size_t cap)
{
	char raw[2 + TR_SASL_USER_MAX + TR_SASL_PASS_MAX];
	size_t ulen, plen;
	int r;

	if (out != NULL && cap > 0)
		out[0] = '\0';
	if (user == NULL || pass == NULL)
		return -1;
	ulen = strnlen(user, TR_SASL_USER_MAX + 1);
	plen = strnlen(pass, TR_SASL_PASS_MAX + 1);
	if (ulen == 0 || ulen > TR_SASL_USER_MAX || plen > TR_SASL_PASS_MAX)
		return -1;
	raw[0] = '\0';                    /* no authorization identity */
	memcpy(raw + 1, user, ulen);
	raw[1 + ulen] = '\0';
	memcpy(raw + 2 + ulen, pass, plen);
	r = tr_sasl_b64(raw, 2 + ulen + plen, out, cap);
	OPENSSL_cleanse(raw, sizeof raw);
	return r;
}

static int b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int tr_sasl_b64_decode(const char *in, char *out, size_t cap, size_t *outlen)
{
	size_t len, pad = 0;
	int r;

	if (outlen != NULL)
		*outlen = 0;
	if (out != NULL && cap > 0)
		out[0] = '\0';
	if (in == NULL || out == NULL)
		return -1;
	len = strnlen(in, B64_IN_MAX + 1);
	if (len > B64_IN_MAX || len % 4 != 0 || cap < len / 4 * 3 + 1)
		return -1;
	if (len == 0)
		return 0;
	pad = in[len - 1] == '=' ? (in[len - 2] == '=' ? 2 : 1) : 0;
	for (size_t i = 0; i < len - pad; i++)
		if (!b64_char(in[i]))
			return -1;
	r = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)in, (int)len);
	if (r < 0 || (size_t)r < pad) {
		OPENSSL_cleanse(out, cap);
		out[0] = '\0';
		return -1;
	}
	out[(size_t)r - pad] = '\0';
	if (outlen != NULL)
		*outlen = (size_t)r - pad;
	return 0;
}

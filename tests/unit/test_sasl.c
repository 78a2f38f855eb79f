/*
 * test_sasl.c - the SMTP AUTH password map, the SASL encoders (sasl.c) and
 * the AUTH dialogue (smtp_auth.c) against a scripted peer on a socketpair.
 *
 * Table-driven: every case names itself and states its exact outcome. The
 * password in every error case is "s3cr3t"; no error text may contain it.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ctx.h"
#include "nexthop.h"
#include "sasl.h"
#include "smtp_session.h"
#include "status.h"
#include "tap.h"
#include "testutil.h"

#define SECRET "s3cr3t"
#define NUL_TEXT "a.example u:p\nb.example u:" SECRET "\0x\n"

/* ------------------------------------------------------------- helpers */

/* Write len bytes to tmpdir/name with mode; the path into path. */
static int write_file(const char *name, const char *data, size_t len,
                      mode_t mode, char *path, size_t cap)
{
	int fd;

	snprintf(path, cap, "%s/%s", tmpdir, name);
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		return -1;
	if (write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Load a map from text (len 0: strlen) written with mode 0600. */
static tr_sasl_map *load_text(const char *text, size_t len, char *path,
                              size_t cap, tlsrelay_status *st)
{
	if (write_file("map", text, len ? len : strlen(text), 0600, path, cap) < 0) {
		tr_status_set(st, TLSRELAY_INTERNAL, "", "cannot write test file");
		return NULL;
	}
	return tr_sasl_map_load(path, st);
}

/* ------------------------------------------------------------- parsing */

static const struct parse_case {
	const char *name;
	const char *text;
	size_t len;              /* 0 = strlen(text) */
	const char *err;         /* NULL: loads; else the exact error ("FILE") */
	size_t count;            /* entries when it loads */
	const char *host;        /* then look up this host and port ... */
	int port;
	const char *user, *pass; /* ... and expect these */
} parse_cases[] = {
	{ "[host]:port entry", "[relay.example]:587 alice:secret\n", 0, NULL, 1,
	  "relay.example", 587, "alice", "secret" },
	{ "password with ':' splits at the first ':'", "relay.example alice:pa:ss:word\n", 0,
	  NULL, 1, "relay.example", 0, "alice", "pa:ss:word" },
	{ "tab separator, inner space kept, trailing blanks trimmed",
	  "relay.example\t alice:pass word \t\n", 0, NULL, 1, "relay.example", 0, "alice", "pass word" },
	{ "comments and blank lines", "# comment\n\n   \n\t# indented comment\n[r.example] u:p\n# end\n",
	  0, NULL, 1, "r.example", 25, "u", "p" },
	{ "CRLF line ends", "a.example u1:p1\r\nb.example u2:p2\r\n", 0, NULL, 2,
	  "b.example", 0, "u2", "p2" },
	{ "last line without a line end", "a.example u1:p1\nb.example u2:p2", 0, NULL, 2,
	  "b.example", 0, "u2", "p2" },
	{ "empty file", "", 0, NULL, 0, "a.example", 0, NULL, NULL },
	{ "only comments", "# nothing\n#\n", 0, NULL, 0, "a.example", 0, NULL, NULL },
	{ "[ipv6:...] key, tag dropped", "[IPv6:2001:db8::1]:587 u:p\n", 0, NULL, 1,
	  "2001:db8::1", 587, "u", "p" },
	{ "port given by service name", "[relay.example]:submission u:p\n", 0, NULL, 1,
	  "relay.example", 587, "u", "p" },
	{ "user with '@', password with '#'", "relay.example a@b.example:#x#\n", 0, NULL, 1,
	  "relay.example", 0, "a@b.example", "#x#" },
	{ "empty user", "relay.example :" SECRET "\n", 0,
	  "FILE:1: empty user name for key \"relay.example\"", 0, NULL, 0, NULL, NULL },
	{ "missing value", "relay.example\n", 0,
	  "FILE:1: missing user:password after key \"relay.example\"", 0, NULL, 0, NULL, NULL },
	{ "missing value, trailing blanks", "relay.example  \t\n", 0,
	  "FILE:1: missing user:password after key \"relay.example\"", 0, NULL, 0, NULL, NULL },
	{ "value without ':' is not quoted", "relay.example " SECRET "\n", 0,
	  "FILE:1: expected user:password for key \"relay.example\" (no \":\" in the value)",
	  0, NULL, 0, NULL, NULL },
	{ "empty password", "relay.example " SECRET ":\n", 0,
	  "FILE:1: empty password for key \"relay.example\"", 0, NULL, 0, NULL, NULL },
	{ "error names its line", "# c\n\nrelay.example alice:ok\nother.example " SECRET "\n", 0,
	  "FILE:4: expected user:password for key \"other.example\" (no \":\" in the value)",
	  0, NULL, 0, NULL, NULL },
	{ "user:password without key is not quoted", "a.example u:p\nalice:" SECRET "\n", 0,
	  "FILE:2: bad key: \":\" needs brackets (write [host]:port or [IPv6 address]; a host name alone matches any port)",
	  0, NULL, 0, NULL, NULL },
	{ "host:port without brackets", "relay.example:587 u:" SECRET "\n", 0,
	  "FILE:1: bad key: \":\" needs brackets (write [host]:port or [IPv6 address]; a host name alone matches any port)",
	  0, NULL, 0, NULL, NULL },
	{ "bare IPv6 address", "2001:db8::1 u:" SECRET "\n", 0,
	  "FILE:1: bad key: \":\" needs brackets (write [host]:port or [IPv6 address]; a host name alone matches any port)",
	  0, NULL, 0, NULL, NULL },
	{ "port 0", "[relay.example]:0 u:" SECRET "\n", 0,
	  "FILE:1: bad key: expected \":port\" (1-65535, smtp, submission, smtps or submissions) after \"]\"",
	  0, NULL, 0, NULL, NULL },
	{ "port 65536", "[relay.example]:65536 u:" SECRET "\n", 0,
	  "FILE:1: bad key: expected \":port\" (1-65535, smtp, submission, smtps or submissions) after \"]\"",
	  0, NULL, 0, NULL, NULL },
	{ "empty port", "[relay.example]: u:" SECRET "\n", 0,
	  "FILE:1: bad key: expected \":port\" (1-65535, smtp, submission, smtps or submissions) after \"]\"",
	  0, NULL, 0, NULL, NULL },
	{ "text after ]", "[relay.example]x u:" SECRET "\n", 0,
	  "FILE:1: bad key: expected \":port\" (1-65535, smtp, submission, smtps or submissions) after \"]\"",
	  0, NULL, 0, NULL, NULL },
	{ "[ without ]", "[relay.example u:" SECRET "\n", 0,
	  "FILE:1: bad key: \"[\" without \"]\"", 0, NULL, 0, NULL, NULL },
	{ "bad host byte", "rel@y.example u:" SECRET "\n", 0,
	  "FILE:1: bad host name in key (letters, digits, \"-\", \"_\" and \".\", or an address in brackets)",
	  0, NULL, 0, NULL, NULL },
	{ "empty brackets", "[] u:" SECRET "\n", 0,
	  "FILE:1: bad host name in key (letters, digits, \"-\", \"_\" and \".\", or an address in brackets)",
	  0, NULL, 0, NULL, NULL },
	{ "bad IPv6 address", "[2001:zz::1] u:" SECRET "\n", 0,
	  "FILE:1: bad host name in key (letters, digits, \"-\", \"_\" and \".\", or an address in brackets)",
	  0, NULL, 0, NULL, NULL },
	{ "continuation line", "a.example u:p\n  b.example u:" SECRET "\n", 0,
	  "FILE:2: line starts with white space (continuation lines are not supported)",
	  0, NULL, 0, NULL, NULL },
	{ "control byte", "a.example u:" SECRET "\x01x\n", 0,
	  "FILE:1: NUL or control byte in line", 0, NULL, 0, NULL, NULL },
	{ "CR inside a line", "a.example u:" SECRET "\rx\n", 0,
	  "FILE:1: NUL or control byte in line", 0, NULL, 0, NULL, NULL },
	{ "NUL byte", NUL_TEXT, sizeof NUL_TEXT - 1,
	  "FILE:2: NUL or control byte in line", 0, NULL, 0, NULL, NULL },
	{ "duplicate key, other spelling", "[Relay.Example]:587 a:b\nx.example c:d\n[relay.example]:submission e:" SECRET "\n",
	  0, "FILE:3: duplicate key \"[relay.example]:submission\" (first at line 1)", 0, NULL, 0, NULL, NULL },
	{ "duplicate domain key, any case", "x.example a:b\nX.EXAMPLE c:" SECRET "\n",
	  0, "FILE:2: duplicate key \"X.EXAMPLE\" (first at line 1)", 0, NULL, 0, NULL, NULL },
	{ "earliest duplicate reported", "b.example a:b\na.example a:b\nb.example a:b\na.example a:" SECRET "\n",
	  0, "FILE:3: duplicate key \"b.example\" (first at line 1)", 0, NULL, 0, NULL, NULL },
	{ "[host] and host are different keys", "[x.example] a:b\nx.example c:d\n", 0, NULL, 2,
	  "x.example", 0, "a", "b" },
};

static void check_entry(const struct parse_case *c, const tr_sasl_map *m)
{
	tr_sasl_cred cred;
	char name[200];
	int found = tr_sasl_lookup(m, c->host, c->port, NULL, &cred);

	snprintf(name, sizeof name, "%s: lookup", c->name);
	TAP_INT(found, c->user != NULL, name);
	snprintf(name, sizeof name, "%s: user", c->name);
	check_str(cred.user, c->user, name);
	snprintf(name, sizeof name, "%s: password", c->name);
	check_str(cred.pass, c->pass, name);
}

static void test_parse(void)
{
	for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
		const struct parse_case *c = &parse_cases[i];
		tlsrelay_status st;
		char path[128], want[1024], name[200];
		tr_sasl_map *m;

		tap_expect(c->err == NULL ? 2 + 3 : 3);   /* check_entry: 3 */
		m = load_text(c->text, c->len, path, sizeof path, &st);

		if (c->err == NULL) {
			snprintf(name, sizeof name, "%s: loads", c->name);
			tap_ok(m != NULL, name, st.text);
			snprintf(name, sizeof name, "%s: %zu entries", c->name, c->count);
			TAP_INT(tr_sasl_map_count(m), c->count, name);
			if (m != NULL)
				check_entry(c, m);
		} else {
			expand(c->err, path, want, sizeof want);
			snprintf(name, sizeof name, "%s: error text", c->name);
			check_str(m ? "(loaded)" : st.text, want, name);
			snprintf(name, sizeof name, "%s: TLSRELAY_CONFIG 4.3.5", c->name);
			tap_ok(m == NULL && st.cat == TLSRELAY_CONFIG && strcmp(st.dsn, "4.3.5") == 0,
			       name, st.dsn);
			snprintf(name, sizeof name, "%s: no password in the error", c->name);
			tap_ok(strstr(st.text, SECRET) == NULL, name, st.text);
		}
		tr_sasl_map_free(m);
	}
}

/* ---------------------------------------------------------- permissions */

static const struct {
	const char *name;
	mode_t mode;
	const char *err;   /* NULL = loads */
} perm_cases[] = {
	{ "mode 0600 loads", 0600, NULL },
	{ "mode 0400 loads", 0400, NULL },
	{ "mode 0640 loads (group may read)", 0640, NULL },
	{ "mode 0644 refused", 0644, "FILE: is accessible by other users (mode 0644): chmod o-rwx FILE" },
	{ "mode 0604 refused", 0604, "FILE: is accessible by other users (mode 0604): chmod o-rwx FILE" },
	{ "mode 0666 refused", 0666, "FILE: is accessible by other users (mode 0666): chmod o-rwx FILE" },
	{ "mode 0602 refused (write)", 0602, "FILE: is accessible by other users (mode 0602): chmod o-rwx FILE" },
	{ "mode 0601 refused (execute)", 0601, "FILE: is accessible by other users (mode 0601): chmod o-rwx FILE" },
};

static void check_load_error(const char *path, const char *err, const char *name)
{
	tlsrelay_status st;
	tr_sasl_map *m = tr_sasl_map_load(path, &st);
	char want[1024];

	expand(err, path, want, sizeof want);
	check_str(m ? "(loaded)" : st.text, want, name);
	tr_sasl_map_free(m);
}

static void test_permissions(void)
{
	static const char text[] = "relay.example u:" SECRET "\n";
	char path[128], other[160];
	tlsrelay_status st;
	tr_sasl_map *m;

	tap_expect(NROWS(perm_cases) + 5);
	for (size_t i = 0; i < sizeof perm_cases / sizeof perm_cases[0]; i++) {
		if (write_file("perm", text, sizeof text - 1, perm_cases[i].mode, path, sizeof path) < 0) {
			tap_ok(0, perm_cases[i].name, "cannot write the test file");
			continue;
		}
		if (perm_cases[i].err == NULL) {
			m = tr_sasl_map_load(path, &st);
			tap_ok(m != NULL && st.cat == TLSRELAY_OK, perm_cases[i].name, st.text);
			tr_sasl_map_free(m);
		} else
			check_load_error(path, perm_cases[i].err, perm_cases[i].name);
	}
	check_load_error(tmpdir, "FILE: is not a regular file", "a directory is refused");
	snprintf(other, sizeof other, "%s/fifo", tmpdir);
	if (mkfifo(other, 0600) == 0)
		check_load_error(other, "FILE: is not a regular file", "a FIFO is refused (no hang)");
	else
		tap_ok(0, "a FIFO is refused (no hang)", strerror(errno));
	snprintf(other, sizeof other, "%s/missing", tmpdir);
	{
		char as[TR_AS_USER_MAX], err[200];
		snprintf(err, sizeof err, "FILE: cannot open: No such file or directory%s", tr_as_user(as));
		check_load_error(other, err, "a missing file (the text names the user)");
	}
	write_file("perm", text, sizeof text - 1, 0600, path, sizeof path);
	snprintf(other, sizeof other, "%s/link", tmpdir);
	if (symlink(path, other) == 0) {
		m = tr_sasl_map_load(other, &st);
		tap_ok(m != NULL, "a symbolic link to a 0600 file loads", st.text);
		tr_sasl_map_free(m);
	} else {
		tap_ok(0, "a symbolic link to a 0600 file loads", strerror(errno));
	}
	m = tr_sasl_map_load(NULL, &st);
	tap_ok(m == NULL && st.cat == TLSRELAY_CONFIG, "NULL path refused", st.text);
}

/* -------------------------------------------------------------- lookup */

static const char lookup_map[] =
	"[relay.example]:587        u1:p1\n"
	"[relay.example]            u2:p2\n"
	"relay.example              u3:p3\n"
	"example.org                u4:p4\n"
	"[smarthost.example]:2525   u5:p5\n"
	"domain-only.example        u6:p6\n"
	"[2001:db8::25]:587         u7:p7\n";

static const struct {
	const char *name;
	const char *host;
	int port;
	const char *nexthop;    /* tr_nexthop_parse syntax; NULL = none */
	const char *user;       /* NULL = not found */
	const char *key;
} lookup_cases[] = {
	{ "host [host]:port first", "relay.example", 587, "example.org", "u1", "[relay.example]:587" },
	{ "host name case-insensitive", "RELAY.Example", 587, NULL, "u1", "[relay.example]:587" },
	{ "host [host] when the port differs", "relay.example", 25, NULL, "u2", "[relay.example]" },
	{ "host [host] when the port is unknown", "relay.example", 0, NULL, "u2", "[relay.example]" },
	{ "host forms before the nexthop", "relay.example", 2525, "[smarthost.example]:2525", "u2", "[relay.example]" },
	{ "nexthop domain", "mx1.example.org", 25, "example.org", "u4", "example.org" },
	{ "nexthop domain, case-insensitive", "mx1.example.org", 25, "EXAMPLE.ORG:587", "u4", "example.org" },
	{ "nexthop [host]:port verbatim", NULL, 0, "[SmartHost.example]:2525", "u5", "[smarthost.example]:2525" },
	{ "nexthop [host]:port, other port", NULL, 0, "[smarthost.example]:25", NULL, "" },
	{ "bracketed nexthop does not match a domain key", NULL, 0, "[domain-only.example]", NULL, "" },
	{ "host name matches an unbracketed key", "domain-only.example", 25, NULL, "u6", "domain-only.example" },
	{ "unbracketed key as the MX domain", "mx.other.example", 25, "domain-only.example", "u6", "domain-only.example" },
	{ "IPv6 server address", "2001:DB8::25", 587, NULL, "u7", "[2001:db8::25]:587" },
	{ "not found", "nowhere.example", 25, "nowhere.example", NULL, "" },
	{ "no host, no nexthop", NULL, 0, NULL, NULL, "" },
	{ "empty host", "", 587, NULL, NULL, "" },
};

static void test_lookup(void)
{
	tlsrelay_status st;
	char path[128], name[200], err[128];
	tr_sasl_map *m = load_text(lookup_map, 0, path, sizeof path, &st);
	tr_sasl_cred cred;

	tap_expect(2 + NROWS(lookup_cases) * 3 + 2);
	tap_ok(m != NULL, "lookup map loads", st.text);
	TAP_INT(tr_sasl_map_count(m), 7, "lookup map has 7 entries");
	for (size_t i = 0; m && i < sizeof lookup_cases / sizeof lookup_cases[0]; i++) {
		tr_nexthop nh;
		const tr_nexthop *nhp = NULL;
		int found;

		if (lookup_cases[i].nexthop) {
			if (tr_nexthop_parse(lookup_cases[i].nexthop, &nh, err, sizeof err) < 0)
				tap_ok(0, lookup_cases[i].name, err);
			nhp = &nh;
		}
		found = tr_sasl_lookup(m, lookup_cases[i].host, lookup_cases[i].port, nhp, &cred);
		snprintf(name, sizeof name, "%s: found", lookup_cases[i].name);
		TAP_INT(found, lookup_cases[i].user != NULL, name);
		snprintf(name, sizeof name, "%s: user", lookup_cases[i].name);
		check_str(cred.user, lookup_cases[i].user, name);
		snprintf(name, sizeof name, "%s: key", lookup_cases[i].name);
		check_str(cred.key, lookup_cases[i].key, name);
	}
	tap_ok(tr_sasl_lookup(NULL, "relay.example", 587, NULL, &cred) == 0 && cred.user == NULL,
	       "lookup in a NULL map", NULL);
	tr_sasl_map_free(m);
	tr_sasl_map_free(NULL);
	TAP_INT(tr_sasl_map_count(NULL), 0, "count of a NULL map; free(NULL) harmless");
}

/* ---------------------------------------------------------- encoders */

static const struct {
	const char *name;
	const char *in;
	size_t n;
	const char *want;
} b64_cases[] = {
	{ "b64 of LOGIN user \"test\"", "test", 4, "dGVzdA==" },
	{ "b64 of LOGIN password \"secret\"", "secret", 6, "c2VjcmV0" },
	{ "b64 of 5 bytes (one '=')", "hello", 5, "aGVsbG8=" },
	{ "b64 of nothing", "", 0, "" },
	{ "b64 of bytes with NUL", "\0a\0", 3, "AGEA" },
};

static const struct {
	const char *name;
	const char *in;
	int ok;
	const char *want;
	size_t wlen;
} dec_cases[] = {
	{ "decode Username:", "VXNlcm5hbWU6", 1, "Username:", 9 },
	{ "decode Password:", "UGFzc3dvcmQ6", 1, "Password:", 9 },
	{ "decode with == padding", "dGVzdA==", 1, "test", 4 },
	{ "decode with = padding", "aGVsbG8=", 1, "hello", 5 },
	{ "decode PLAIN response (NULs)", "AHRlc3QAc2VjcmV0", 1, "\0test\0secret", 12 },
	{ "decode empty", "", 1, "", 0 },
	{ "decode: length not a multiple of 4", "dGVzd", 0, "", 0 },
	{ "decode: '=' inside", "dG=zdA==", 0, "", 0 },
	{ "decode: three '='", "d===", 0, "", 0 },
	{ "decode: white space", "dGVz dA==", 0, "", 0 },
	{ "decode: bad byte", "dGVz#A==", 0, "", 0 },
	{ "decode: CR LF", "dGVzdA==\r\n", 0, "", 0 },
};

static void test_encoders(void)
{
	char out[TR_SASL_PLAIN_B64_MAX], user[300], pass[300];
	size_t len;
	int r;

	tap_expect(2 + NROWS(b64_cases) + NROWS(dec_cases) + 8);
	r = tr_sasl_plain("test", "secret", out, sizeof out);
	check_str(out, "AHRlc3QAc2VjcmV0", "PLAIN test/secret known vector");
	TAP_INT(r, 16, "PLAIN returns the text length");
	for (size_t i = 0; i < sizeof b64_cases / sizeof b64_cases[0]; i++) {
		r = tr_sasl_b64(b64_cases[i].in, b64_cases[i].n, out, sizeof out);
		check_str(r == (int)strlen(b64_cases[i].want) ? out : "(bad length)",
		          b64_cases[i].want, b64_cases[i].name);
	}
	for (size_t i = 0; i < sizeof dec_cases / sizeof dec_cases[0]; i++) {
		memset(out, 'x', sizeof out);
		r = tr_sasl_b64_decode(dec_cases[i].in, out, sizeof out, &len);
		tap_ok(r == (dec_cases[i].ok ? 0 : -1) && len == dec_cases[i].wlen &&
		       memcmp(out, dec_cases[i].want, len + 1) == 0, dec_cases[i].name, NULL);
	}
	memset(user, 'u', 256);
	memset(pass, 'p', 256);
	user[255] = pass[255] = '\0';
	tap_ok(tr_sasl_plain(user, pass, out, sizeof out) == (int)TR_SASL_B64_LEN(512),
	       "PLAIN with 255-byte user and password fits TR_SASL_PLAIN_B64_MAX", NULL);
	user[255] = 'u';
	user[256] = '\0';
	tap_ok(tr_sasl_plain(user, "p", out, sizeof out) == -1 && out[0] == '\0',
	       "PLAIN refuses a 256-byte user", NULL);
	pass[255] = 'p';
	pass[256] = '\0';
	tap_ok(tr_sasl_plain("u", pass, out, sizeof out) == -1, "PLAIN refuses a 256-byte password", NULL);
	tap_ok(tr_sasl_plain("", "p", out, sizeof out) == -1, "PLAIN refuses an empty user", NULL);
	tap_ok(tr_sasl_plain("test", "secret", out, 16) == -1, "PLAIN: cap one short", NULL);
	tap_ok(tr_sasl_plain("test", "secret", out, 17) == 16, "PLAIN: exact cap", NULL);
	tap_ok(tr_sasl_b64("test", 4, out, 8) == -1 && tr_sasl_b64("test", 4, out, 9) == 8,
	       "b64: cap boundary", NULL);
	tap_ok(tr_sasl_b64_decode("dGVzdA==", out, 6, &len) == -1 &&
	       tr_sasl_b64_decode("dGVzdA==", out, 7, &len) == 0, "decode: cap boundary", NULL);
}

/* ---------------------------------------------------------- size bounds */

/* text: "relay.example " + user:pass with the given lengths. */
static void check_lengths(size_t ulen, size_t plen, const char *err, const char *name)
{
	char text[700], path[128], want[1024];
	tlsrelay_status st;
	tr_sasl_map *m;
	size_t n = (size_t)snprintf(text, sizeof text, "relay.example ");

	memset(text + n, 'u', ulen);
	text[n + ulen] = ':';
	memset(text + n + ulen + 1, 'p', plen);
	memcpy(text + n + ulen + 1 + plen, "\n", 2);
	m = load_text(text, 0, path, sizeof path, &st);
	if (err == NULL) {
		tap_ok(m != NULL && tr_sasl_map_count(m) == 1, name, st.text);
	} else {
		expand(err, path, want, sizeof want);
		check_str(m ? "(loaded)" : st.text, want, name);
		tap_ok(strstr(st.text, "ppppp") == NULL, "length error does not quote the password", st.text);
	}
	tr_sasl_map_free(m);
}

/* count entries "hN.example u:p", a line of line_len bytes first. */
static char *big_map(size_t count, size_t line_len, size_t *len)
{
	size_t cap = count * 40 + line_len + 16, n = 0;
	char *t = malloc(cap);

	if (t == NULL)
		return NULL;
	if (line_len > 0) {
		t[0] = '#';
		memset(t + 1, 'c', line_len - 1);
		t[line_len] = '\n';
		n = line_len + 1;
	}
	for (size_t i = 1; i <= count; i++)
		n += (size_t)snprintf(t + n, cap - n, "h%zu.example u:p\n", i);
	*len = n;
	return t;
}

static void check_big(size_t count, size_t line_len, const char *err, const char *name)
{
	char path[128] = "", want[256];
	tlsrelay_status st;
	size_t len = 0;
	char *text = big_map(count, line_len, &len);
	tr_sasl_map *m = text ? load_text(text, len, path, sizeof path, &st) : NULL;

	if (err == NULL) {
		tap_ok(m != NULL && tr_sasl_map_count(m) == count, name, m ? "" : st.text);
	} else {
		expand(err, path, want, sizeof want);
		check_str(m ? "(loaded)" : st.text, want, name);
	}
	tr_sasl_map_free(m);
	free(text);
}

static void test_bounds(void)
{
	tap_expect(1 + 2 + 2 + 4);  /* check_lengths: 1 (loads) or 2; check_big: 1 */
	check_lengths(255, 255, NULL, "255-byte user and password load");
	check_lengths(256, 5, "FILE:1: user name for key \"relay.example\" is longer than 255 bytes",
	              "256-byte user refused");
	check_lengths(5, 256, "FILE:1: password for key \"relay.example\" is longer than 255 bytes",
	              "256-byte password refused");
	check_big(1, 4096, NULL, "4096-byte line loads");
	check_big(1, 4097, "FILE:1: line longer than 4096 bytes", "4097-byte line refused");
	check_big(TR_SASL_ENTRIES_MAX, 0, NULL, "10000 entries load");
	check_big(TR_SASL_ENTRIES_MAX + 1, 0, "FILE:10001: more than 10000 entries",
	          "10001 entries refused");
}

/* ------------------------------------------------------- AUTH dialogue */

#define HOST "relay.example[192.0.2.1]:587"

static const struct auth_case {
	const char *name;
	int tls;
	unsigned flags, auth;        /* caps */
	const char *replies[5];      /* peer's replies, one per line read;
	                              * "" = read a line, then hang up */
	int want_r;
	const char *want_sent;       /* exact bytes the peer received */
	tlsrelay_cat want_cat;
	const char *want_dsn, *want_text;
} auth_cases[] = {
	{ "PLAIN: 235", 1, TR_CAP_AUTH, TR_AUTH_PLAIN,
	  { "235 2.7.0 Authentication successful\r\n" }, 0,
	  "AUTH PLAIN AHRlc3QAc2VjcmV0\r\n", TLSRELAY_OK, "2.0.0", "" },
	{ "PLAIN preferred over LOGIN", 1, TR_CAP_AUTH, TR_AUTH_LOGIN | TR_AUTH_PLAIN | TR_AUTH_CRAM_MD5,
	  { "235 ok\r\n" }, 0, "AUTH PLAIN AHRlc3QAc2VjcmV0\r\n", TLSRELAY_OK, "2.0.0", "" },
	{ "PLAIN: 535 soft-bounces with class 4", 1, TR_CAP_AUTH, TR_AUTH_PLAIN,
	  { "535 5.7.8 Authentication credentials invalid\r\n" }, -1,
	  "AUTH PLAIN AHRlc3QAc2VjcmV0\r\n", TLSRELAY_TEMP, "4.7.8",
	  "SASL authentication failed; server " HOST " said: 535 5.7.8 Authentication credentials invalid" },
	{ "PLAIN: 535 without enhanced code", 1, TR_CAP_AUTH, TR_AUTH_PLAIN,
	  { "535 no\r\n" }, -1, "AUTH PLAIN AHRlc3QAc2VjcmV0\r\n", TLSRELAY_TEMP, "4.7.0",
	  "SASL authentication failed; server " HOST " said: 535 no" },
	{ "PLAIN: 534 5.7.9 (mechanism too weak)", 1, TR_CAP_AUTH, TR_AUTH_PLAIN,
	  { "534 5.7.9 Authentication mechanism is too weak\r\n" }, -1,
	  "AUTH PLAIN AHRlc3QAc2VjcmV0\r\n", TLSRELAY_TEMP, "4.7.9",
	  "SASL authentication failed; server " HOST " said: 534 5.7.9 Authentication mechanism is too weak" },
	{ "PLAIN: 454 temporary", 1, TR_CAP_AUTH, TR_AUTH_PLAIN,
	  { "454 4.7.0 Temporary authentication failure\r\n" }, -1,
	  "AUTH PLAIN AHRlc3QAc2VjcmV0\r\n", TLSRELAY_TEMP, "4.7.0",
	  "SASL authentication failed; server " HOST " said: 454 4.7.0 Temporary authentication failure" },
	{ "PLAIN: 334 challenge is cancelled with *", 1, TR_CAP_AUTH, TR_AUTH_PLAIN,
	  { "334 \r\n", "501 5.7.0 cancelled\r\n" }, -1,
	  "AUTH PLAIN AHRlc3QAc2VjcmV0\r\n*\r\n", TLSRELAY_TEMP, "4.7.0",
	  "SASL authentication failed; unexpected reply from server " HOST ": 334" },
	{ "PLAIN: 250 is unexpected (no cancel)", 1, TR_CAP_AUTH, TR_AUTH_PLAIN,
	  { "250 ok\r\n" }, -1, "AUTH PLAIN AHRlc3QAc2VjcmV0\r\n", TLSRELAY_TEMP, "4.7.0",
	  "SASL authentication failed; unexpected reply from server " HOST ": 250 ok" },
	{ "LOGIN: full dialogue", 1, TR_CAP_AUTH, TR_AUTH_LOGIN,
	  { "334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n", "235 2.7.0 ok\r\n" }, 0,
	  "AUTH LOGIN\r\ndGVzdA==\r\nc2VjcmV0\r\n", TLSRELAY_OK, "2.0.0", "" },
	{ "LOGIN: 535 after the password", 1, TR_CAP_AUTH, TR_AUTH_LOGIN | TR_AUTH_CRAM_MD5,
	  { "334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n", "535 5.7.8 bad\r\n" }, -1,
	  "AUTH LOGIN\r\ndGVzdA==\r\nc2VjcmV0\r\n", TLSRELAY_TEMP, "4.7.8",
	  "SASL authentication failed; server " HOST " said: 535 5.7.8 bad" },
	{ "LOGIN: 504 to AUTH LOGIN", 1, TR_CAP_AUTH, TR_AUTH_LOGIN,
	  { "504 5.5.4 Unrecognized authentication type\r\n" }, -1, "AUTH LOGIN\r\n",
	  TLSRELAY_TEMP, "4.5.4",
	  "SASL authentication failed; server " HOST " said: 504 5.5.4 Unrecognized authentication type" },
	{ "LOGIN: 535 after the user name", 1, TR_CAP_AUTH, TR_AUTH_LOGIN,
	  { "334 VXNlcm5hbWU6\r\n", "535 5.7.8 no such user\r\n" }, -1,
	  "AUTH LOGIN\r\ndGVzdA==\r\n", TLSRELAY_TEMP, "4.7.8",
	  "SASL authentication failed; server " HOST " said: 535 5.7.8 no such user" },
	{ "LOGIN: 334 after the password is cancelled", 1, TR_CAP_AUTH, TR_AUTH_LOGIN,
	  { "334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n", "334 what\r\n", "501 5.7.0 cancelled\r\n" }, -1,
	  "AUTH LOGIN\r\ndGVzdA==\r\nc2VjcmV0\r\n*\r\n", TLSRELAY_TEMP, "4.7.0",
	  "SASL authentication failed; unexpected reply from server " HOST ": 334 what" },
	{ "LOGIN: 235 without a prompt is unexpected", 1, TR_CAP_AUTH, TR_AUTH_LOGIN,
	  { "235 ok\r\n" }, -1, "AUTH LOGIN\r\n", TLSRELAY_TEMP, "4.7.0",
	  "SASL authentication failed; unexpected reply from server " HOST ": 235 ok" },
	{ "no TLS: nothing sent", 0, TR_CAP_AUTH, TR_AUTH_PLAIN | TR_AUTH_LOGIN,
	  { NULL }, -1, "", TLSRELAY_TEMP, "4.7.0",
	  "credentials for " HOST " are configured, but TLS is not active: AUTH refused" },
	{ "no supported mechanism", 1, TR_CAP_AUTH, TR_AUTH_CRAM_MD5 | TR_AUTH_XOAUTH2,
	  { NULL }, -1, "", TLSRELAY_TEMP, "4.7.0",
	  "credentials configured for " HOST ", but it offers no supported AUTH mechanism (offered: CRAM-MD5 XOAUTH2)" },
	{ "AUTH not offered", 1, TR_CAP_STARTTLS, 0,
	  { NULL }, -1, "", TLSRELAY_TEMP, "4.7.0",
	  "credentials configured for " HOST ", but it offers no supported AUTH mechanism (offered: none)" },
	{ "AUTH with unknown mechanisms only", 1, TR_CAP_AUTH, 0,
	  { NULL }, -1, "", TLSRELAY_TEMP, "4.7.0",
	  "credentials configured for " HOST ", but it offers no supported AUTH mechanism "
	  "(offered: only mechanisms unknown to tlsrelay)" },
	{ "connection lost", 1, TR_CAP_AUTH, TR_AUTH_PLAIN,
	  { "" }, -1, "AUTH PLAIN AHRlc3QAc2VjcmV0\r\n", TLSRELAY_TEMP, "4.4.2",
	  "lost connection with " HOST " while performing SASL authentication: connection closed by peer" },
};

/* The peer, in the child: per reply, read one line and answer; then read
 * to EOF. Everything received goes to out (the parent's pipe). */
static void peer(int fd, const struct auth_case *c, int out)
{
	char got[4096], ch;
	size_t n = 0;
	ssize_t r;

	alarm(10);
	for (size_t i = 0; i < 5 && c->replies[i] != NULL && fd >= 0; i++) {
		while (n < sizeof got && read(fd, &ch, 1) == 1) {
			got[n++] = ch;
			if (ch == '\n')
				break;
		}
		if (c->replies[i][0] == '\0') {
			close(fd);    /* hang up */
			fd = -1;
		} else if (write(fd, c->replies[i], strlen(c->replies[i])) < 0)
			break;
	}
	while (fd >= 0 && n < sizeof got && (r = read(fd, got + n, sizeof got - n)) > 0)
		n += (size_t)r;
	if (write(out, got, n) < 0)
		_exit(2);
	_exit(0);
}

static void log_line(void *arg, int priority, const char *line)
{
	char *buf = arg;
	size_t used = strlen(buf);

	snprintf(buf + used, 8192 - used, "%s\n", line);
}

static void session_setup(tr_session *s, struct tlsrelay_ctx *ctx,
                          const struct auth_case *c, int fd)
{
	static tr_conn conn;

	memset(s, 0, sizeof *s);
	memset(&conn, 0, sizeof conn);
	s->ctx = ctx;
	s->c = &conn;
	tr_io_init(&conn.io, tr_now_ms() + 8000);
	tr_io_set_timeout(&conn.io, 5000);
	conn.io.fd = fd;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	conn.tls_active = c->tls;
	conn.caps.flags = c->flags;
	conn.caps.auth = c->auth;
	snprintf(s->relay, sizeof s->relay, "%s", HOST);
	snprintf(conn.relay, sizeof conn.relay, "%s", HOST);
}

/* Run tr_auth_run against the scripted peer; *sent: what the peer got. */
static int run_auth(tr_session *s, struct tlsrelay_ctx *ctx,
                    const struct auth_case *c, const tr_sasl_cred *cred,
                    char *sent, size_t cap, tlsrelay_status *st)
{
	int sv[2], pp[2], r, status;
	size_t n = 0;
	ssize_t k;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(pp) < 0)
		return -2;
	if ((pid = fork()) < 0)
		return -2;
	if (pid == 0) {
		close(sv[0]);
		close(pp[0]);
		peer(sv[1], c, pp[1]);
	}
	close(sv[1]);
	close(pp[1]);
	session_setup(s, ctx, c, sv[0]);
	r = tr_auth_run(s, cred, st);
	close(sv[0]);
	while (n < cap - 1 && (k = read(pp[0], sent + n, cap - 1 - n)) > 0)
		n += (size_t)k;
	sent[n] = '\0';
	close(pp[0]);
	if (waitpid(pid, &status, WNOHANG) == 0) {
		usleep(200000);
		if (waitpid(pid, &status, WNOHANG) == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
	}
	return r;
}

/* No secret in what stayed behind: log, status text, write buffer. */
static void check_no_secret(const char *c_name, const char *log,
                            const tlsrelay_status *st, const tr_session *s)
{
	static const char *const secrets[] = { "secret", "c2VjcmV0", "AHRlc3QAc2VjcmV0", "dGVzdA==" };
	char name[200];
	int clean = 1;

	for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
		if (strstr(log, secrets[i]) || strstr(st->text, secrets[i]) ||
		    memmem(s->c->io.wbuf, sizeof s->c->io.wbuf, secrets[i], strlen(secrets[i])))
			clean = 0;
	snprintf(name, sizeof name, "%s: no secret in log, status or write buffer", c_name);
	tap_ok(clean, name, log);
}

static void test_auth(void)
{
	static tr_session s;
	static char log[8192];
	tr_sasl_cred cred = { "test", "secret", "[relay.example]:587" };
	struct tlsrelay_ctx *ctx = tlsrelay_ctx_new();
	char sent[4096], name[200];
	tlsrelay_status st;

	tap_expect(NROWS(auth_cases) * 6);  /* result, category, bytes sent, status, text, no secret */
	tlsrelay_ctx_set_logger(ctx, log_line, log, 2);
	for (size_t i = 0; i < NROWS(auth_cases); i++) {
		const struct auth_case *c = &auth_cases[i];
		int r;

		log[0] = '\0';
		memset(&st, 0, sizeof st);
		r = run_auth(&s, ctx, c, &cred, sent, sizeof sent, &st);
		snprintf(name, sizeof name, "%s: result", c->name);
		TAP_INT(r == TLSRELAY_OK ? 0 : -1, c->want_r, name);
		snprintf(name, sizeof name, "%s: returns the status's category", c->name);
		TAP_INT(r, c->want_cat, name);
		snprintf(name, sizeof name, "%s: bytes sent", c->name);
		check_str(sent, c->want_sent, name);
		snprintf(name, sizeof name, "%s: status", c->name);
		tap_ok(st.cat == c->want_cat && strcmp(st.dsn, c->want_dsn) == 0, name, st.dsn);
		snprintf(name, sizeof name, "%s: text", c->name);
		check_str(st.text, c->want_text, name);
		check_no_secret(c->name, log, &st, &s);
	}
	tlsrelay_ctx_free(ctx);
}

static const struct auth_case *find_case(const char *name)
{
	for (size_t i = 0; i < sizeof auth_cases / sizeof auth_cases[0]; i++)
		if (strcmp(auth_cases[i].name, name) == 0)
			return &auth_cases[i];
	abort();
}

/* The log at verbosity 2 shows the masked lines. */
static void test_auth_log(void)
{
	static tr_session s;
	static char log[8192];
	tr_sasl_cred cred = { "test", "secret", "[relay.example]:587" };
	struct tlsrelay_ctx *ctx = tlsrelay_ctx_new();
	char sent[4096];
	tlsrelay_status st;

	tap_expect(3);
	tlsrelay_ctx_set_logger(ctx, log_line, log, 2);
	log[0] = '\0';
	run_auth(&s, ctx, find_case("LOGIN: full dialogue"), &cred, sent, sizeof sent, &st);
	tap_ok(strstr(log, "> " HOST ": AUTH LOGIN\n") && strstr(log, "> " HOST ": ******** (user name)\n") &&
	       strstr(log, "> " HOST ": ******** (password)\n"), "LOGIN log lines are masked", log);
	log[0] = '\0';
	run_auth(&s, ctx, find_case("PLAIN: 235"), &cred, sent, sizeof sent, &st);
	tap_ok(strstr(log, "> " HOST ": AUTH PLAIN ********\n") != NULL, "PLAIN log line is masked", log);
	tap_ok(strstr(log, "SASL PLAIN authentication succeeded (credentials of key [relay.example]:587)") != NULL,
	       "success logged with the key, not the user", log);
	tlsrelay_ctx_free(ctx);
}

static void remove_tmpdir(void)
{
	static const char *const names[] = { "map", "perm", "fifo", "link" };
	char path[128];

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
		unlink(path);
	}
	if (rmdir(tmpdir) < 0)
		printf("# could not remove %s: %s\n", tmpdir, strerror(errno));
}

int main(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_sasl.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_parse();
	test_permissions();
	test_lookup();
	test_encoders();
	test_bounds();
	test_auth();
	test_auth_log();
	remove_tmpdir();
	return tap_done();
}

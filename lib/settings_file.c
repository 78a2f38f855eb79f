/*
 * settings_file.c - the reader of "key = value" configuration files (see
 * settings.h for the syntax): lines, comments, "file:line" in error texts,
 * all-or-nothing loading, and check mode (tlsrelay -t: every problem
 * reported, reading goes on). Values are validated by settings.c.
 *
 * In check mode a line that lowers a security setting given by an earlier
 * line of the same file ("last one wins": an appended block that says
 * tls_security_level = may under a secure one) is a warning, not an
 * error: the file is valid, but probably not what the admin meant. Only
 * lines of the file count; -o comes later on purpose (a dry run).
 *
 * Error texts name file:line and the problem, and quote a setting name
 * only once it is made of name characters: never a line, a value or a
 * malformed name. The file may be another one given by mistake (a
 * password map, with -c), and the texts go to logs and to the MTA.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "buf.h"
#include "settings.h"
#include "status.h"

#define WHERE_PATH_MAX 200     /* bytes of a file name kept in "file:line" */

/* ----------------------------------------------------------- file reader */

enum line_rc { LINE_OK, LINE_EOF, LINE_LONG, LINE_NUL, LINE_ERROR };

/* One line without its LF or CRLF into buf (TR_CONFIG_LINE_MAX + 2 bytes). */
static enum line_rc read_line(FILE *fp, char *buf)
{
	size_t n = 0;
	int c;

	while ((c = getc(fp)) != EOF && c != '\n') {
		if (c == '\0')
			return LINE_NUL;
		if (n > TR_CONFIG_LINE_MAX)   /* room for one CR more */
			return LINE_LONG;
		buf[n++] = (char)c;
	}
	if (c == EOF && ferror(fp))
		return LINE_ERROR;
	if (c == EOF && n == 0)
		return LINE_EOF;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return n > TR_CONFIG_LINE_MAX ? LINE_LONG : LINE_OK;
}

/* "path:line" (line 0: "path"), keeping the end of a very long path. */
static void format_where(char *buf, size_t cap, const char *path,
                         unsigned long line)
{
	size_t n = strlen(path);
	const char *dots = "";
	tr_buf b;

	if (n > WHERE_PATH_MAX) {
		path += n - WHERE_PATH_MAX;
		dots = "...";
	}
	tr_buf_fixed(&b, buf, cap);
	tr_buf_printf(&b, "%s%s", dots, path);
	if (line > 0)
		tr_buf_printf(&b, ":%lu", line);
}

static char *trim(char *s)
{
	char *end;

	s += strspn(s, " \t");
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	return s;
}

/* Check mode's warnings: where to send them. */
struct warner {
	tr_report_fn fn;
	void *arg;
};

/* Setting key at where (check mode): warn when its new value is weaker
 * than the one an earlier line of this file gave. */
static tlsrelay_cat set_checked(tr_config *cfg, const char *key, const char *value,
                                const char *where, const struct warner *w,
                                tlsrelay_status *st)
{
	int i = tr_config_key_index(key), before = tr_config_strength(cfg, i);
	char was[WHERE_PATH_MAX + 32], old[32], now[32], line[TLSRELAY_TEXT_MAX * 3];
	tlsrelay_cat rc;

	snprintf(was, sizeof was, "%.*s", WHERE_PATH_MAX + 24, tr_config_origin(cfg, i));
	tr_config_strength_text(cfg, i, old, sizeof old);
	if ((rc = tr_config_set(cfg, key, value, where, st)) != TLSRELAY_OK || before < 0 ||
	    cfg->origin[i] == NULL || strcmp(was, "default") == 0 ||
	    tr_config_strength(cfg, i) >= before)
		return rc;
	snprintf(line, sizeof line, "warning: %s: %s = %s lowers %s of %s (the last line wins): "
	         "remove one of the two lines", where, key,
	         tr_config_strength_text(cfg, i, now, sizeof now), old, was);
	w->fn(w->arg, line);
	return rc;
}

static tlsrelay_cat parse_line(tr_config *cfg, char *line, const char *where,
                               const struct warner *w, tlsrelay_status *st)
{
	char *key = trim(line), *eq, *value;
	size_t bad;

	if (*key == '\0' || *key == '#')
		return tr_status_ok(st);
	if ((eq = strchr(key, '=')) == NULL)
		return tr_config_error(st, where, "expected \"name = value\" (no \"=\" in the line)");
	*eq = '\0';
	value = trim(eq + 1);
	key = trim(key);
	if (*key == '\0')
		return tr_config_error(st, where, "missing setting name before \"=\"");
	if ((bad = strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_")) != strlen(key))
		return tr_config_error(st, where, "bad setting name (character %zu): use "
		                 "lowercase letters, digits and \"_\"", bad + 1);
	if (w != NULL && w->fn != NULL)
		return set_checked(cfg, key, value, where, w, st);
	return tr_config_set(cfg, key, value, where, st);
}

/* Every line of fp. Without fn the first error stops the reading; with fn
 * (check mode) each error goes to fn, is counted in *nerr and reading goes
 * on (a read error still stops it). */
static tlsrelay_cat load_lines(tr_config *cfg, FILE *fp, const char *path,
                               tlsrelay_status *st, tr_report_fn fn,
                               void *arg, int *nerr, const struct warner *w)
{
	char line[TR_CONFIG_LINE_MAX + 2], where[TLSRELAY_TEXT_MAX];
	unsigned long lineno;
	tlsrelay_cat rc;

	for (lineno = 1;; lineno++) {
		enum line_rc lr = read_line(fp, line);
		int err = errno;

		format_where(where, sizeof where, path, lineno);
		switch (lr) {
		case LINE_EOF:
			return tr_status_ok(st);
		case LINE_LONG:
			rc = tr_config_error(st, where, "line longer than %d bytes",
			                     TR_CONFIG_LINE_MAX);
			while (fn && (err = getc(fp)) != EOF && err != '\n')
				;   /* check mode: skip the rest of the line */
			break;
		case LINE_NUL:
			rc = tr_config_error(st, where,
			                     "NUL byte in line (not a text file?)");
			while (fn && (err = getc(fp)) != EOF && err != '\n')
				;
			break;
		case LINE_ERROR:
			format_where(where, sizeof where, path, 0);
			rc = tr_config_error(st, where, "read error: %s", strerror(err));
			if (fn) {
				fn(arg, st->text);
				++*nerr;
			}
			return rc;
		case LINE_OK:
		default:
			rc = parse_line(cfg, line, where, w, st);
		}
		if (rc != TLSRELAY_OK && fn == NULL)
			return rc;
		if (rc != TLSRELAY_OK) {
			fn(arg, st->text);
			++*nerr;
		}
	}
}

tlsrelay_cat tr_config_load(tr_config *cfg, const char *path, int must_exist,
                            tlsrelay_status *st)
{
	char where[TLSRELAY_TEXT_MAX], user[TR_AS_USER_MAX];
	tr_config tmp;
	tlsrelay_cat rc;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		int err = errno;
		if (err == ENOENT && !must_exist)
			return tr_status_ok(st);
		format_where(where, sizeof where, path, 0);
		return tr_config_error(st, where, "cannot open: %s%s", strerror(err), tr_as_user(user));
	}
	if (tr_config_copy(&tmp, cfg, st) != TLSRELAY_OK) {
		fclose(fp);
		return st->cat;
	}
	rc = load_lines(&tmp, fp, path, st, NULL, NULL, NULL, NULL);
	fclose(fp);
	if (rc != TLSRELAY_OK) {
		tr_config_free(&tmp);
		return rc;
	}
	tr_config_free(cfg);
	*cfg = tmp;
	return TLSRELAY_OK;
}

int tr_config_load_report(tr_config *cfg, const char *path, tr_report_fn fn,
                          void *arg, tr_report_fn warn, void *warn_arg)
{
	char where[TLSRELAY_TEXT_MAX], user[TR_AS_USER_MAX];
	struct warner w = { warn, warn_arg };
	tlsrelay_status st;
	int nerr = 0;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		format_where(where, sizeof where, path, 0);
		tr_config_error(&st, where, "cannot open: %s%s", strerror(errno), tr_as_user(user));
		fn(arg, st.text);
		return 1;
	}
	(void)load_lines(cfg, fp, path, &st, fn, arg, &nerr, &w);
	fclose(fp);
	return nerr;
}

/*
 * status.c - tlsrelay_status construction and the one place where a status
 * becomes a sysexits(3) exit code (the table is status_exit.h's).
 */
#include "config.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <pwd.h>
#include <unistd.h>
#include "status.h"
#include "status_exit.h"

/* The name is looked up only on an error path: "cannot open" texts say
 * whose rights were missing (a delivery runs as the MTA's pipe user, -t as
 * whoever ran it: the difference is the usual cause). */
const char *tr_as_user(char *buf)
{
	int saved = errno;          /* callers pass strerror(errno) beside it */
	struct passwd *pw = getpwuid(geteuid());

	if (pw != NULL && pw->pw_name != NULL && strlen(pw->pw_name) < TR_AS_USER_MAX - 16)
		snprintf(buf, TR_AS_USER_MAX, " (as user %s)", pw->pw_name);
	else
		snprintf(buf, TR_AS_USER_MAX, " (as uid %ld)", (long)geteuid());
	errno = saved;
	return buf;
}

void tr_sanitize_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

tlsrelay_cat tr_config_error(tlsrelay_status *st, const char *where,
                             const char *fmt, ...)
{
	char reason[TLSRELAY_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	return tr_status_set(st, TLSRELAY_CONFIG, "4.3.5", "%s%s%s",
	                     where ? where : "", where ? ": " : "", reason);
}

const char *tr_quote(const char *s, char *buf)
{
	size_t n = strlen(s), i;
	int cut = n > TR_QUOTE_MAX;

	if (cut) {
		n = TR_QUOTE_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	strcpy(buf + i, cut ? "..." : "");
	return buf;
}

tlsrelay_cat tr_status_set(tlsrelay_status *st, tlsrelay_cat cat,
                           const char *dsn, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (st == NULL)
		return cat;
	st->cat = cat;
	n = dsn ? strnlen(dsn, sizeof st->dsn - 1) : 0;   /* as snprintf "%s" */
	memcpy(st->dsn, dsn ? dsn : "", n);
	st->dsn[n] = '\0';
	va_start(ap, fmt);
	vsnprintf(st->text, sizeof st->text, fmt, ap);
	va_end(ap);
	tr_sanitize_line(st->text);
	return cat;
}

/* What tr_status_set(st, TLSRELAY_OK, "2.0.0", "%s", "") sets, without
 * the formatting (called a dozen times per delivery). */
tlsrelay_cat tr_status_ok(tlsrelay_status *st)
{
	if (st == NULL)
		return TLSRELAY_OK;
	st->cat = TLSRELAY_OK;
	memcpy(st->dsn, "2.0.0", sizeof "2.0.0");
	st->text[0] = '\0';
	return TLSRELAY_OK;
}

void tr_status_copy(tlsrelay_status *dst, const tlsrelay_status *src)
{
	if (dst != src)
		memcpy(dst, src, sizeof *dst);
}

int tlsrelay_status_exit_flags(const tlsrelay_status *st, unsigned flags)
{
	return tr_status_exit_code(st->cat, st->dsn, flags);
}

int tlsrelay_status_exit(const tlsrelay_status *st)
{
	return tlsrelay_status_exit_flags(st, 0);
}

const char *tlsrelay_cat_name(tlsrelay_cat cat)
{
	static const char *const names[] = {
		"ok", "temporary", "permanent", "usage", "data", "config", "internal"
	};
	if ((unsigned)cat < sizeof names / sizeof names[0])
		return names[cat];
	return "unknown";
}

const char *tlsrelay_version(void)
{
	return PACKAGE_VERSION;
}

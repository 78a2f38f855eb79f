/*
 * tls_level.c - name <-> code table for TLS security levels.
 */
#include "config.h"
#include <string.h>
#include "buf.h"
#include "tls_level.h"

static const struct {
	const char *name;
	tr_tls_level level;
} levels[] = {
	{ "none",        TR_TLS_NONE },
	{ "may",         TR_TLS_MAY },
	{ "encrypt",     TR_TLS_ENCRYPT },
	{ "dane",        TR_TLS_DANE },
	{ "dane-only",   TR_TLS_DANE_ONLY },
	{ "fingerprint", TR_TLS_FINGERPRINT },
	{ "verify",      TR_TLS_VERIFY },
	{ "secure",      TR_TLS_SECURE },
};

#define NLEVELS (sizeof levels / sizeof levels[0])

tr_tls_level tr_tls_level_from_name(const char *name)
{
	for (size_t i = 0; i < NLEVELS; i++)
		if (strcmp(levels[i].name, name) == 0)
			return levels[i].level;
	return TR_TLS_INVALID;
}

const char *tr_tls_level_name(tr_tls_level level)
{
	for (size_t i = 0; i < NLEVELS; i++)
		if (levels[i].level == level)
			return levels[i].name;
	return "invalid";
}

const char *tr_tls_level_list(char *buf, size_t cap)
{
	tr_buf b;

	tr_buf_fixed(&b, buf, cap);
	for (size_t i = 0; i < NLEVELS; i++)
		tr_buf_printf(&b, "%s%s", i ? ", " : "", levels[i].name);
	return buf;
}

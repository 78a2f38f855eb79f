/*
 * tls_level.c - name <-> code table for TLS security levels.
 */
#include "config.h"
#include <string.h>
#include "tls_level.h"

static const struct {
	const char *name;
	tr_tls_level level;
	int supported;
} levels[] = {
	{ "none",        TR_TLS_NONE,        1 },
	{ "may",         TR_TLS_MAY,         1 },
	{ "encrypt",     TR_TLS_ENCRYPT,     1 },
	{ "dane",        TR_TLS_DANE,        1 },
	{ "dane-only",   TR_TLS_DANE_ONLY,   1 },
	{ "fingerprint", TR_TLS_FINGERPRINT, 1 },
	{ "verify",      TR_TLS_VERIFY,      1 },
	{ "secure",      TR_TLS_SECURE,      1 },
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

int tr_tls_level_supported(tr_tls_level level)
{
	for (size_t i = 0; i < NLEVELS; i++)
		if (levels[i].level == level)
			return levels[i].supported;
	return 0;
}

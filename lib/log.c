/*
 * log.c - formatting log lines and handing them to the context's logger.
 */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include "ctx.h"
#include "log.h"

#define TR_LOG_LINE_MAX 2048

static void tr_vemit(struct tlsrelay_ctx *ctx, int priority, const char *fmt,
                     va_list ap) TR_PRINTF(3, 0);

static void tr_vemit(struct tlsrelay_ctx *ctx, int priority, const char *fmt,
                     va_list ap)
{
	char line[TR_LOG_LINE_MAX];
	size_t o = 0;

	/* "QUEUEID: ..." as Postfix's own lines, so that one grep follows a
	 * message through the MTA and tlsrelay */
	if (ctx->log_id[0])
		o = (size_t)snprintf(line, sizeof line, "%s: ", ctx->log_id);
	vsnprintf(line + o, sizeof line - o, fmt, ap);
	tr_sanitize_line(line);
	ctx->log_fn(ctx->log_arg, priority, line);
}

void tr_log(struct tlsrelay_ctx *ctx, int priority, const char *fmt, ...)
{
	va_list ap;

	if (ctx == NULL || ctx->log_fn == NULL)
		return;
	va_start(ap, fmt);
	tr_vemit(ctx, priority, fmt, ap);
	va_end(ap);
}

void tr_vlog(struct tlsrelay_ctx *ctx, int level, const char *fmt, ...)
{
	va_list ap;

	if (ctx == NULL || ctx->log_fn == NULL || ctx->verbose < level)
		return;
	va_start(ap, fmt);
	tr_vemit(ctx, LOG_DEBUG, fmt, ap);
	va_end(ap);
}

int tr_verbosity(const struct tlsrelay_ctx *ctx)
{
	return ctx ? ctx->verbose : 0;
}

_Noreturn void tr_panic(struct tlsrelay_ctx *ctx, const char *fmt, ...)
{
	char text[TR_LOG_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	tr_sanitize_line(text);
	if (ctx != NULL && ctx->log_fn != NULL)
		tr_log(ctx, LOG_CRIT, "internal error: %s", text);
	else
		fprintf(stderr, "internal error: %s\n", text);
	abort();
}

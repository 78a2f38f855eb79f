/*
 * milter.h - the libmilter callbacks of tlsrelay-milter (milter.c).
 *
 * Glue only: the rules (lib/msgrules.h) decide the level; these callbacks
 * feed them the envelope and the header fields, and at end of message
 * remove every incoming X-TLSRelay-Require field and add tlsrelay's own.
 */
#ifndef TR_MILTER_H
#define TR_MILTER_H

#include <libmilter/mfapi.h>
#include "tlsrelay_internal.h"

/* What the callbacks share; set once before smfi_main, read-only after. */
typedef struct milter_conf {
	const tr_msgrules *rules;
	int fail_alloc;         /* test hook: per-message allocation fails */
	void (*log)(int priority, const char *fmt, ...)
	        __attribute__((format(printf, 2, 3)));
} milter_conf;

/* Install conf (kept by pointer) and return the filter description for
 * smfi_register. */
struct smfiDesc *milter_desc(const milter_conf *conf);

#endif

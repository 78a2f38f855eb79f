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
	void (*log)(int priority, const char *fmt, ...)
	        __attribute__((format(printf, 2, 3)));
} milter_conf;

/* A message's private data, size bytes zeroed, or NULL (the message is
 * then tempfailed). A link-time test seam: tlsrelay-milter links
 * milter_alloc.c (calloc); the fault build that only "make check" makes
 * (tests/milter/tlsrelay-milter-allocfail) links tests/milter/alloc_fail.c
 * instead, whose allocation always fails, to test that path. The
 * installed milter has no fault switch. */
void *milter_msg_alloc(size_t size);

/* Install conf (kept by pointer) and return the filter description for
 * smfi_register. */
struct smfiDesc *milter_desc(const milter_conf *conf);

#endif

/*
 * alloc_fail.c - milter_msg_alloc() of tests/milter/tlsrelay-milter-allocfail,
 * the fault build of tlsrelay-milter that only "make check" makes (milter.h):
 * every message's allocation fails, so that test_milter.sh case h sees the
 * temporary failure (451 4.3.0) the real code gives.
 */
#include "config.h"
#include <stddef.h>
#include "milter.h"

void *milter_msg_alloc(size_t size)
{
	(void)size;
	return NULL;
}

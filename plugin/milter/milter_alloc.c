/*
 * milter_alloc.c - milter_msg_alloc() of the installed tlsrelay-milter:
 * calloc. A file of its own so that the fault build of the tests links
 * another one (milter.h).
 */
#include "config.h"
#include <stdlib.h>
#include "milter.h"

void *milter_msg_alloc(size_t size)
{
	return calloc(1, size);
}

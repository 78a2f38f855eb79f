/*
 * observe.c - the list of observers of a delivery and the one way events
 * reach them (see observe.h).
 */
#include "config.h"
#include "log.h"
#include "observe.h"

void tr_observe_add(tr_observers *obs, tr_observe_fn fn, void *arg)
{
	if (obs->n >= TR_OBSERVERS_MAX)
		tr_panic(NULL, "more than %d observers of a delivery", TR_OBSERVERS_MAX);
	obs->o[obs->n].fn = fn;
	obs->o[obs->n].arg = arg;
	obs->n++;
}

void tr_emit(const tr_observers *obs, const tr_event *ev)
{
	if (obs == NULL)
		return;
	for (int i = 0; i < obs->n; i++)
		obs->o[i].fn(obs->o[i].arg, ev);
}
